package main

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"

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
		_, _, err := goShapes(opts.Shapes)
		return err
	}
	return usageError(fmt.Errorf("--emit %q: want onnx or go", opts.Emit))
}

// emitGo generates the Go package for m into opts.Out (a directory),
// atomically: nothing is written when generation fails.
func emitGo(m *ir.Model, opts *CompileOptions, report *passes.Report, w io.Writer) error {
	shapes, syms, err := goShapes(opts.Shapes)
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

// goShapes reads --shape flags like parseShapes, and also accepts a
// leading dim written as a name (x=Nx3x48x192) or "?": that batch dim
// stays symbolic in the generated code.
func goShapes(flags []string) (map[string][]int64, map[string]int64, error) {
	var plain []string
	symbolic := map[string]bool{}
	for _, f := range flags {
		name, spec, ok := strings.Cut(f, "=")
		if first, rest, cut := strings.Cut(spec, "x"); ok && cut && first != "" && (first == "?" || first[0] < '0' || first[0] > '9') {
			symbolic[name] = true
			f = name + "=1x" + rest
		}
		plain = append(plain, f)
	}
	shapes, syms, err := parseShapes(plain)
	if err != nil {
		return nil, nil, err
	}
	for name := range symbolic {
		shapes[name][0] = -1
	}
	return shapes, syms, nil
}
