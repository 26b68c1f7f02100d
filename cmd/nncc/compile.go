package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/onnx"
	"github.com/nncc/nncc/passes"
)

// CompileOptions are the flags of `nncc compile`.
type CompileOptions struct {
	Model        string
	Out          string
	Passes       string
	PassesSet    bool // --passes was given (otherwise the default pipeline runs)
	VerifyEach   bool
	Report       string
	ExternalData bool
	Samples      int
	Seed         int64
	Atol, Rtol   float64
}

func newCompileCmd() *cobra.Command {
	opts := &CompileOptions{}
	cmd := &cobra.Command{
		Use:   "compile MODEL -o OUT",
		Short: "Run a pass pipeline over a model and write the result",
		Long: `compile loads MODEL, runs the pass pipeline (the default inference
clean-up pipeline unless --passes is given; --passes none runs nothing, a
pure round trip) and writes the result to OUT atomically.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Model = args[0]
			opts.PassesSet = cmd.Flags().Changed("passes")
			return runCompile(opts, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.Out, "out", "o", "", "output model path (required)")
	f.StringVar(&opts.Passes, "passes", "", `pass pipeline, e.g. 'remove-dropout,fold-bn,upgrade-opset{to=20}'; 'none' runs no pass`)
	f.BoolVar(&opts.VerifyEach, "verify-each", false, "verify the IR and compare outputs after every pass that changes the graph")
	f.StringVar(&opts.Report, "report", "", "write a JSON report of the passes to this file")
	f.BoolVar(&opts.ExternalData, "external-data", false, "store large weights in OUT.data beside the model")
	f.IntVar(&opts.Samples, "samples", 2, "random input samples for --verify-each")
	f.Int64Var(&opts.Seed, "seed", 1, "seed for the random inputs of --verify-each")
	f.Float64Var(&opts.Atol, "atol", 1e-4, "absolute tolerance for --verify-each")
	f.Float64Var(&opts.Rtol, "rtol", 1e-3, "relative tolerance for --verify-each")
	return cmd
}

// checkOutputPath refuses to write over an input.
func checkOutputPath(out string, inputs ...string) error {
	if out == "" {
		return usageError(errors.New("no output path: use -o OUT"))
	}
	for _, in := range inputs {
		if onnx.SameFile(in, out) || filepath.Clean(in) == filepath.Clean(out) {
			return usageError(fmt.Errorf("output %s is the input file; refusing to overwrite an input", out))
		}
	}
	return nil
}

func runCompile(opts *CompileOptions, w io.Writer) error {
	if err := checkOutputPath(opts.Out, opts.Model); err != nil {
		return err
	}
	if opts.Report != "" {
		if err := checkOutputPath(opts.Report, opts.Model); err != nil {
			return err
		}
	}
	m, err := onnx.Load(opts.Model)
	if err != nil {
		return err
	}
	var pl *passes.Pipeline
	if opts.PassesSet {
		if pl, err = passes.Parse(opts.Passes); err != nil {
			return usageError(err)
		}
	} else {
		pl = passes.Default(m)
	}
	before := summarize(m)
	report, err := pl.Run(m, passes.RunOptions{
		VerifyEach: opts.VerifyEach, Samples: opts.Samples, Seed: opts.Seed,
		Atol: opts.Atol, Rtol: opts.Rtol,
	})
	if err != nil {
		return failedError(err)
	}
	if err := ir.Verify(m); err != nil {
		return fmt.Errorf("internal error: the pipeline left an invalid graph: %w", err)
	}
	if err := onnx.Save(m, opts.Out, onnx.SaveOptions{ExternalData: opts.ExternalData}); err != nil {
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
	after := summarize(m)
	_, err = fmt.Fprintf(w, "%s -> %s: %d -> %d nodes, %s -> %s of parameters\n",
		opts.Model, opts.Out, before.NodeCount, after.NodeCount, humanBytes(before.ParamBytes), humanBytes(after.ParamBytes))
	return err
}
