package main

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/nncc/nncc/backend/gosrc"
	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/onnx"
	"github.com/nncc/nncc/passes"
)

// addEmitFlags binds the back-end flags of `nncc compile`.
func addEmitFlags(f *pflag.FlagSet, opts *CompileOptions) {
	f.StringVar(&opts.Emit, "emit", "onnx", "back end: onnx (a model file) or go (a Go package in the directory -o names)")
	f.StringVar(&opts.GoPackage, "go-package", "", "package name for --emit go (default: the output directory's base name made an identifier)")
	f.StringArrayVar(&opts.Shapes, "shape", nil, "for --emit go: input shape NAME=d0xd1x... or symbolic dim DIM=n; an unbound leading (batch) dim stays symbolic")
}

// checkEmit validates the back-end flags before any work.
func checkEmit(opts *CompileOptions) error {
	switch opts.Emit {
	case "", "onnx":
		if opts.GoPackage != "" || len(opts.Shapes) > 0 {
			return usageError(fmt.Errorf("--go-package and --shape need --emit go"))
		}
		return nil
	case "go":
		if opts.ExternalData {
			return usageError(fmt.Errorf("--external-data applies to --emit onnx only"))
		}
		if _, _, err := parseShapes(opts.Shapes); err != nil {
			return err
		}
		return nil
	}
	return usageError(fmt.Errorf("--emit %q: want onnx or go", opts.Emit))
}

// emitGo generates the Go package for m into opts.Out (a directory),
// atomically: nothing is written when generation fails.
func emitGo(m *ir.Model, opts *CompileOptions, report *passes.Report, w io.Writer) error {
	shapes, syms, err := parseShapes(opts.Shapes)
	if err != nil {
		return err
	}
	pkg := opts.GoPackage
	if pkg == "" {
		abs, err := filepath.Abs(opts.Out)
		if err != nil {
			return err
		}
		pkg = gosrc.PackageName(filepath.Base(abs))
	}
	files, err := gosrc.Generate(m, gosrc.Options{Package: pkg, Shapes: shapes, Syms: syms, Source: filepath.Base(opts.Model)})
	if err != nil {
		return fmt.Errorf("%s: %w", opts.Model, err)
	}
	if err := gosrc.WriteDir(opts.Out, files); err != nil {
		return err
	}
	if opts.Report != "" {
		b, err := json.MarshalIndent(report, "", "  ")
		if err != nil {
			return err
		}
		if err := onnx.WriteFileAtomic(opts.Report, append(b, '\n')); err != nil {
			return err
		}
	}
	_, err = fmt.Fprintf(w, "%s -> %s: Go package %s (%s, %d bytes of weights)\n", opts.Model, opts.Out, pkg, gosrc.ModelFile, len(files[gosrc.WeightsFile]))
	return err
}
