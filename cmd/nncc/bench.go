package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/onnx"
	"github.com/nncc/nncc/runtime"
	"github.com/nncc/nncc/split"
)

// BenchOptions are the flags of `nncc bench`.
type BenchOptions struct {
	Model   string
	Inputs  []string
	Shapes  []string
	Iters   int
	Warmup  int
	Threads int
	Seed    int64
	JSON    bool
	// NoOptimize runs the model as loaded, without the default pipeline.
	NoOptimize bool
	// Profile prints the time per operator type and the Top slowest
	// nodes; Trace writes a Chrome trace of the timed runs to that file.
	Profile bool
	Top     int
	Trace   string
}

func newBenchCmd() *cobra.Command {
	opts := &BenchOptions{}
	cmd := &cobra.Command{
		Use:   "bench MODEL",
		Short: "Measure a model's latency in nncc's runtime",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Model = args[0]
			return runBench(opts, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&opts.Inputs, "input", nil, "input tensor file, [NAME=]FILE (repeatable)")
	f.StringArrayVar(&opts.Shapes, "shape", nil, "input shape NAME=d0xd1x... or symbolic dim DIM=n")
	f.IntVar(&opts.Iters, "iters", 20, "timed runs")
	f.IntVar(&opts.Warmup, "warmup", 3, "untimed runs first")
	f.IntVar(&opts.Threads, "threads", 1, "threads (0: one per CPU)")
	f.Int64Var(&opts.Seed, "seed", 1, "seed for generated inputs")
	f.BoolVar(&opts.JSON, "json", false, `print {"median_ms": ..., "min_ms": ..., "iters": ...}`)
	f.BoolVar(&opts.NoOptimize, "no-optimize", false, "run the model as loaded, without the default inference pipeline in memory")
	f.BoolVar(&opts.Profile, "profile", false, "print the time per operator type and the slowest nodes of the timed runs")
	f.IntVar(&opts.Top, "top", 15, "slowest nodes --profile lists")
	f.StringVar(&opts.Trace, "trace", "", "write a Chrome trace (JSON, one event per node and run; chrome://tracing, Perfetto) of the timed runs to `FILE`")
	return cmd
}

// BenchResult is the JSON output of `nncc bench`.
type BenchResult struct {
	MedianMS float64 `json:"median_ms"`
	MinMS    float64 `json:"min_ms"`
	MaxMS    float64 `json:"max_ms"`
	Iters    int     `json:"iters"`
	Threads  int     `json:"threads"`
}

func runBench(opts *BenchOptions, w io.Writer) error {
	if split.IsDir(opts.Model) {
		return benchSplitDir(opts, w)
	}
	if opts.Iters < 1 {
		return usageError(errors.New("--iters must be at least 1"))
	}
	if opts.Trace != "" {
		if err := checkOutputPath(opts.Trace, opts.Model); err != nil {
			return err
		}
	}
	// Only the timed runs are profiled, not the warm-up.
	var prof *runtime.Profile
	var observe runtime.Observer
	watching := false
	if opts.Profile || opts.Trace != "" {
		prof = runtime.NewProfile()
		observe = func(n *ir.Node, ins, outs []*ir.Tensor, d time.Duration) {
			if watching {
				prof.Observe(n, ins, outs, d)
			}
		}
	}
	_, inputs, sess, err := loadAndBind(opts.Model, opts.Inputs, opts.Shapes, opts.Seed, opts.Threads, opts.NoOptimize, observe)
	if err != nil {
		return err
	}
	// Each result is given back to the session once done with (as a
	// serving loop would), so that runs reuse the outputs' storage.
	for i := 0; i < opts.Warmup; i++ {
		out, err := sess.Run(inputs)
		if err != nil {
			return err
		}
		sess.s.Recycle(out)
	}
	watching = true
	times := make([]float64, opts.Iters)
	for i := range times {
		start := time.Now()
		out, err := sess.Run(inputs)
		if err != nil {
			return err
		}
		times[i] = float64(time.Since(start).Nanoseconds()) / 1e6
		sess.s.Recycle(out)
		if prof != nil {
			prof.EndRun()
		}
	}
	slices.Sort(times)
	res := BenchResult{MedianMS: median(times), MinMS: times[0], MaxMS: times[len(times)-1], Iters: opts.Iters, Threads: opts.Threads}
	if opts.Trace != "" {
		var buf bytes.Buffer
		if err := prof.WriteTrace(&buf); err != nil {
			return err
		}
		if err := onnx.WriteFileAtomic(opts.Trace, buf.Bytes()); err != nil {
			return err
		}
	}
	if opts.JSON {
		return json.NewEncoder(w).Encode(res)
	}
	if _, err = fmt.Fprintf(w, "%s: median %.3f ms, min %.3f ms over %d runs (%d thread(s))\n", opts.Model, res.MedianMS, res.MinMS, res.Iters, opts.Threads); err != nil {
		return err
	}
	if opts.Profile {
		return prof.WriteTable(w, opts.Top)
	}
	return nil
}

func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}
