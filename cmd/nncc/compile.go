package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/nncc/nncc/budget"
	"github.com/nncc/nncc/calib"
	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/onnx"
	"github.com/nncc/nncc/passes"
)

// CompileOptions are the flags of `nncc compile`.
type CompileOptions struct {
	Model         string
	Out           string
	Passes        string
	PassesSet     bool // --passes was given (otherwise the default pipeline runs)
	VerifyEach    bool
	Report        string
	ExternalData  bool
	SparseWeights bool
	ReportPlots   string
	Samples       int
	Seed          int64
	Atol, Rtol    float64

	// Data for lossy passes: calibration samples, and the held-out set
	// and budget they are measured against.
	Calib   []string
	Eval    string
	Labels  string
	MaxDrop float64
	Threads int
	Quiet   bool

	// Back end: "onnx" (default) or "go" (see emit_go.go).
	Emit      string
	GoPackage string
	Shapes    []string
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
	f.BoolVar(&opts.SparseWeights, "sparse-weights", false, "store mostly-zero (pruned) weights as ONNX sparse_initializer where that is smaller")
	f.IntVar(&opts.Samples, "samples", 2, "random input samples for --verify-each")
	f.Int64Var(&opts.Seed, "seed", 1, "seed for the random inputs of --verify-each")
	f.Float64Var(&opts.Atol, "atol", 1e-4, "absolute tolerance for --verify-each")
	f.Float64Var(&opts.Rtol, "rtol", 1e-3, "relative tolerance for --verify-each")
	f.StringArrayVar(&opts.Calib, "calib", nil, "calibration samples for lossy passes: X.npy, NAME=FILE (repeatable) or a directory of .npy files; first axis = samples")
	f.StringVar(&opts.Eval, "eval", "", "held-out inputs the accuracy budget is measured on (.npy, first axis = samples)")
	f.StringVar(&opts.Labels, "labels", "", "integer labels for --eval (without them the budget is on top-1 agreement with the original)")
	f.Float64Var(&opts.MaxDrop, "max-drop", -1, "accuracy budget: the most top-1 points lossy passes may lose on --eval (needs --eval)")
	f.IntVar(&opts.Threads, "threads", 0, "threads for calibration and evaluation (0: one per CPU); the output does not depend on it")
	f.BoolVar(&opts.Quiet, "quiet", false, "no progress output on stderr")
	addEmitFlags(f, opts)
	f.StringVar(&opts.ReportPlots, "report-plots", "", "write PNG charts of the lossy passes to this directory (quantize: per-layer SQNR, accuracy before/after; pruning: sensitivity curves)")
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
	if err := checkEmit(opts); err != nil {
		return err
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
	if err := needCalib(pl, opts); err != nil {
		return err
	}
	before := summarize(m)
	runOpts := passes.RunOptions{
		VerifyEach: opts.VerifyEach, Samples: opts.Samples, Seed: opts.Seed,
		Atol: opts.Atol, Rtol: opts.Rtol, Threads: opts.Threads,
	}
	if err := lossyData(m, opts, &runOpts); err != nil {
		return err
	}
	if !opts.Quiet {
		var done func()
		runOpts.Progress, done = progressBar(os.Stderr)
		defer done()
	}
	if opts.ReportPlots != "" {
		runOpts.Plots = passes.DirPlots(opts.ReportPlots)
	}
	report, err := pl.Run(m, runOpts)
	if errors.Is(err, passes.ErrOverBudget) {
		// The gate failed: nothing is written but the report, which says
		// what each pass did and how much accuracy went.
		if rerr := writeCompileReport(opts, report); rerr != nil {
			return rerr
		}
		return failedError(fmt.Errorf("%s: %w", opts.Model, err))
	}
	if err != nil {
		switch {
		case errors.Is(err, passes.ErrBadOption):
			return usageError(err)
		case errors.Is(err, calib.ErrBadData):
			return badInputError(err)
		}
		return failedError(err)
	}
	if err := ir.Verify(m); err != nil {
		return fmt.Errorf("internal error: the pipeline left an invalid graph: %w", err)
	}
	if opts.Emit == "go" {
		return emitGo(m, opts, report, w)
	}
	if err := onnx.Save(m, opts.Out, onnx.SaveOptions{ExternalData: opts.ExternalData, Sparse: opts.SparseWeights}); err != nil {
		return err
	}
	if err := writeCompileReport(opts, report); err != nil {
		return err
	}
	if opts.ReportPlots != "" {
		if err := writeReportPlots(report, opts.ReportPlots); err != nil {
			return err
		}
	}
	after := summarize(m)
	if _, err = fmt.Fprintf(w, "%s -> %s: %d -> %d nodes, %s -> %s of parameters\n",
		opts.Model, opts.Out, before.NodeCount, after.NodeCount, humanBytes(before.ParamBytes), humanBytes(after.ParamBytes)); err != nil {
		return err
	}
	if a := report.Accuracy; a != nil {
		_, err = fmt.Fprintf(w, "%s on %s: %s -> %s (%.2f points lost, budget %s)\n", a.Original.MetricName(), opts.Eval,
			percent(a.Original.Metric()), percent(a.Final.Metric()), a.DropPoints, budgetText(opts.MaxDrop))
	}
	return err
}

func percent(x float64) string { return fmt.Sprintf("%.2f%%", 100*x) }

func budgetText(maxDrop float64) string {
	if maxDrop < 0 {
		return "none"
	}
	return fmt.Sprintf("%g", maxDrop)
}

// writeCompileReport writes --report, if asked for.
func writeCompileReport(opts *CompileOptions, report *passes.Report) error {
	if opts.Report == "" || report == nil {
		return nil
	}
	b, err := json.MarshalIndent(report, "", "  ")
	if err != nil {
		return err
	}
	return onnx.WriteFileAtomic(opts.Report, append(b, '\n'))
}

// lossyData reads --calib, --eval and --labels, and measures the original
// model once for --max-drop.
func lossyData(m *ir.Model, opts *CompileOptions, ro *passes.RunOptions) error {
	if len(opts.Calib) > 0 {
		d, err := calib.Load(m, opts.Calib)
		if err != nil {
			return badInputError(err)
		}
		ro.Calib = d
	}
	if opts.Labels != "" && opts.Eval == "" {
		return usageError(errors.New("--labels needs --eval"))
	}
	if opts.MaxDrop >= 0 && opts.Eval == "" {
		return usageError(errors.New("--max-drop needs --eval (held-out data to measure the drop on)"))
	}
	if opts.Eval == "" {
		return nil
	}
	d, err := calib.Load(m, []string{opts.Eval})
	if err != nil {
		return badInputError(err)
	}
	var labels []int64
	if opts.Labels != "" {
		y, err := readTensor(opts.Labels)
		if err != nil {
			return err
		}
		if y.DType.IsFloat() || y.DType == ir.String {
			return badInputError(fmt.Errorf("%s: labels must be integers, not %s", opts.Labels, y.DType))
		}
		if labels = y.Int64s(); len(labels) != d.Len() {
			return badInputError(fmt.Errorf("%s: %d labels for %d samples in %s", opts.Labels, len(labels), d.Len(), opts.Eval))
		}
	}
	ev, err := budget.NewEvaluator(d, labels)
	if err != nil {
		return badInputError(err)
	}
	ev.Threads = opts.Threads
	maxDrop := opts.MaxDrop
	if maxDrop < 0 {
		maxDrop = 100 // measured and reported, but not limiting
	}
	b, err := budget.New(m, ev, maxDrop)
	if err != nil {
		return fmt.Errorf("%s: measuring the original on %s: %w", opts.Model, opts.Eval, err)
	}
	ro.Budget = b
	return nil
}
