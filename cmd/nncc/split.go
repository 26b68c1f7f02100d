package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/onnx"
	"github.com/nncc/nncc/passes"
	"github.com/nncc/nncc/split"
)

// SplitOptions are the flags of `nncc split`.
type SplitOptions struct {
	Model         string
	Out           string
	Stages        int
	Shapes        []string
	Inputs        []string
	Balance       string
	MaxStageBytes string
	Passes        string
	PassesSet     bool // --passes was given (otherwise no pass runs)
	Calib         []string
	Replicas      int
	GPUs          bool
	Force         bool
	Name          string
	MaxBatchSize  int
	Runs          int
	Threads       int
	Seed          int64
}

func newSplitCmd() *cobra.Command {
	opts := &SplitOptions{}
	cmd := &cobra.Command{
		Use:   "split MODEL -o DIR --stages N",
		Short: "Cut a model into cost-balanced pipeline stages and a Triton ensemble",
		Long: `split cuts MODEL into N consecutive stages (in topological order) whose
largest cost is as small as possible, then whose crossing tensors are as
few bytes as possible, and writes DIR/manifest.json, DIR/stage_<i>.onnx
and a Triton model repository DIR/triton/ (one onnxruntime model per
stage and an ensemble chaining them). Any --passes pipeline runs first.

Costs (--balance): flops from shapes inferred after --shape binds the
inputs, latency from timing every node in nncc's runtime, params (weight
bytes) for memory-bound splits. --max-stage-bytes B instead picks the
fewest stages whose weights each fit B. nncc run, verify and bench accept
DIR and run the stages in order.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Model = args[0]
			opts.PassesSet = cmd.Flags().Changed("passes")
			return runSplit(opts, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.Out, "out", "o", "", "output directory (required)")
	f.IntVar(&opts.Stages, "stages", 0, "number of stages")
	f.StringArrayVar(&opts.Shapes, "shape", nil, "input shape NAME=d0xd1x... or symbolic dim DIM=n (repeatable)")
	f.StringArrayVar(&opts.Inputs, "input", nil, "input tensor for the --balance latency runs, NAME=FILE (.npy or .pb; repeatable); others are random")
	f.StringVar(&opts.Balance, "balance", "flops", "cost to balance: flops, latency or params")
	f.StringVar(&opts.MaxStageBytes, "max-stage-bytes", "", "instead of --stages: the fewest stages whose weights each fit this many bytes (suffixes K, M, G: powers of 1024)")
	f.StringVar(&opts.Passes, "passes", "", "pass pipeline to run before splitting (see nncc passes); default none")
	f.StringArrayVar(&opts.Calib, "calib", nil, "calibration samples for lossy passes in --passes (as nncc compile --calib)")
	f.IntVar(&opts.Replicas, "replicas", 0, "instances to spread over the stages in proportion to their cost (default one per stage)")
	f.BoolVar(&opts.GPUs, "gpus", false, "instance groups of kind KIND_GPU instead of KIND_CPU")
	f.BoolVar(&opts.Force, "force", false, "write into a non-empty DIR (removes only files an earlier split wrote)")
	f.StringVar(&opts.Name, "name", "", "Triton model name (default: the model file's base name)")
	f.IntVar(&opts.MaxBatchSize, "max-batch-size", 0, "Triton max_batch_size; > 0 needs a symbolic leading batch dim on every stage tensor")
	f.IntVar(&opts.Runs, "runs", 5, "timed runs per node for --balance latency (median)")
	f.IntVar(&opts.Threads, "threads", 1, "runtime threads for --balance latency")
	f.Int64Var(&opts.Seed, "seed", 1, "seed of the random inputs --balance latency runs on")
	return cmd
}

func runSplit(opts *SplitOptions, w io.Writer) error {
	if err := checkOutputPath(opts.Out, opts.Model); err != nil {
		return err
	}
	limit, err := parseBytes(opts.MaxStageBytes)
	if err != nil {
		return usageError(fmt.Errorf("--max-stage-bytes %q: %v", opts.MaxStageBytes, err))
	}
	if opts.Stages == 0 && limit == 0 {
		return usageError(errors.New("give --stages N (N ≥ 1) or --max-stage-bytes B"))
	}
	if opts.Stages < 0 {
		return usageError(fmt.Errorf("--stages %d: want at least 1", opts.Stages))
	}
	name := opts.Name
	if name == "" {
		name = modelName(opts.Model)
	}
	if !validName(name) {
		return usageError(fmt.Errorf("--name %q: use letters, digits, '_' and '-'", name))
	}
	shapes, syms, err := parseShapes(opts.Shapes)
	if err != nil {
		return err
	}
	m, err := onnx.Load(opts.Model)
	if err != nil {
		return err
	}
	if opts.PassesSet {
		if err := runSplitPasses(m, opts); err != nil {
			return err
		}
	}
	feed := map[string]*ir.Tensor{}
	for _, in := range opts.Inputs {
		name, file, ok := strings.Cut(in, "=")
		if !ok || name == "" {
			return usageError(fmt.Errorf("--input %q: want NAME=FILE", in))
		}
		t, err := readTensor(file)
		if err != nil {
			return err
		}
		feed[name] = t
		if _, given := shapes[name]; !given {
			shapes[name] = t.Dims
		}
	}
	plan, err := split.Split(m, split.Options{
		Stages: opts.Stages, Balance: split.Balance(opts.Balance), MaxStageBytes: limit,
		Shapes: shapes, Dims: syms, Runs: opts.Runs, Threads: opts.Threads, Seed: opts.Seed, Feed: feed,
	})
	if err != nil {
		if errors.Is(err, split.ErrUsage) {
			return usageError(fmt.Errorf("%s: %w", opts.Model, err))
		}
		return fmt.Errorf("%s: %w", opts.Model, err)
	}
	err = plan.Write(opts.Out, split.WriteOptions{
		Source: opts.Model, Force: opts.Force,
		Triton: split.TritonOptions{Name: name, Replicas: opts.Replicas, GPUs: opts.GPUs, MaxBatchSize: opts.MaxBatchSize},
	})
	if errors.Is(err, split.ErrUsage) || errors.Is(err, split.ErrNotEmpty) {
		return usageError(err)
	}
	if err != nil {
		return err
	}
	for _, warn := range plan.Warnings {
		fmt.Fprintf(w, "warning: %s\n", warn)
	}
	return printPlan(w, plan, opts)
}

// runSplitPasses runs --passes over m as nncc compile does.
func runSplitPasses(m *ir.Model, opts *SplitOptions) error {
	pl, err := passes.Parse(opts.Passes)
	if err != nil {
		return usageError(err)
	}
	ro := passes.RunOptions{Threads: opts.Threads, Seed: opts.Seed}
	if err := lossyData(m, &CompileOptions{Model: opts.Model, Calib: opts.Calib, MaxDrop: -1, Threads: opts.Threads}, &ro); err != nil {
		return err
	}
	if _, err := pl.Run(m, ro); err != nil {
		return failedError(err)
	}
	if err := ir.Verify(m); err != nil {
		return fmt.Errorf("internal error: the pipeline left an invalid graph: %w", err)
	}
	return nil
}

func printPlan(w io.Writer, p *split.Plan, opts *SplitOptions) error {
	unit := map[split.Balance]string{split.FLOPs: "FLOPs", split.Latency: "ms", split.Params: "bytes"}[p.Balance]
	fmt.Fprintf(w, "%s -> %s: %d stages balanced on %s\n", opts.Model, opts.Out, len(p.Stages), p.Balance)
	fmt.Fprintf(w, "  %-5s %-11s %12s %12s %12s %12s %14s\n", "stage", "nodes", "GFLOPs", "params", "act in", "act out", "cost ("+unit+")")
	for _, st := range p.Stages {
		fmt.Fprintf(w, "  %-5d %-11s %12.3f %12s %12s %12s %14.4g\n", st.Index, fmt.Sprintf("%d..%d", st.Start, st.End-1),
			float64(st.FLOPs)/1e9, humanBytes(st.ParamBytes), humanBytes(st.ActBytesIn), humanBytes(st.ActBytesOut), st.Cost)
	}
	_, err := fmt.Fprintf(w, "  slowest stage: %.4g %s\n", p.Bound, unit)
	return err
}

// parseBytes reads a byte count with an optional K, M or G suffix
// (powers of 1024); "" is 0.
func parseBytes(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	mult := int64(1)
	u := strings.ToUpper(strings.TrimSuffix(strings.TrimSuffix(s, "B"), "b"))
	switch {
	case strings.HasSuffix(u, "K"), strings.HasSuffix(u, "KI"):
		mult = 1 << 10
	case strings.HasSuffix(u, "M"), strings.HasSuffix(u, "MI"):
		mult = 1 << 20
	case strings.HasSuffix(u, "G"), strings.HasSuffix(u, "GI"):
		mult = 1 << 30
	}
	u = strings.TrimRight(u, "KMGI")
	n, err := strconv.ParseInt(u, 10, 64)
	if err != nil || n <= 0 {
		return 0, errors.New("want a positive byte count, e.g. 4000000 or 64M")
	}
	return n * mult, nil
}

// modelName derives a Triton model name from a model path.
func modelName(path string) string {
	base := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	var b strings.Builder
	for _, r := range base {
		if r < 128 && (r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "model"
	}
	return b.String()
}

func validName(s string) bool {
	return s != "" && modelName(s+".x") == s
}
