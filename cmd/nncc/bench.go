package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/spf13/cobra"

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
	_, inputs, sess, err := loadAndBind(opts.Model, opts.Inputs, opts.Shapes, opts.Seed, opts.Threads)
	if err != nil {
		return err
	}
	for i := 0; i < opts.Warmup; i++ {
		if _, err := sess.Run(inputs); err != nil {
			return err
		}
	}
	times := make([]float64, opts.Iters)
	for i := range times {
		start := time.Now()
		if _, err := sess.Run(inputs); err != nil {
			return err
		}
		times[i] = float64(time.Since(start).Nanoseconds()) / 1e6
	}
	slices.Sort(times)
	res := BenchResult{MedianMS: median(times), MinMS: times[0], MaxMS: times[len(times)-1], Iters: opts.Iters, Threads: opts.Threads}
	if opts.JSON {
		return json.NewEncoder(w).Encode(res)
	}
	_, err = fmt.Fprintf(w, "%s: median %.3f ms, min %.3f ms over %d runs (%d thread(s))\n", opts.Model, res.MedianMS, res.MinMS, res.Iters, opts.Threads)
	return err
}

func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}
