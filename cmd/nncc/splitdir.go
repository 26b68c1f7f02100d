package main

// Running, checking and timing a split directory (nncc split's output):
// nncc run DIR, nncc verify MODEL DIR and nncc bench DIR dispatch here
// when DIR holds a manifest.json.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/nncc/nncc/check"
	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/onnx"
	"github.com/nncc/nncc/split"
)

// openChain opens a split directory; a stage file that does not match
// the manifest is bad input (3), or a failed check (1) for verify.
func openChain(dir string, threads int, mismatchFails bool) (*split.Chain, error) {
	c, err := split.OpenChain(dir)
	switch {
	case err == nil:
		c.Threads = threads
		return c, nil
	case mismatchFails && errors.Is(err, split.ErrMismatch):
		return nil, failedError(err)
	case errors.Is(err, split.ErrMismatch), errors.Is(err, split.ErrBadManifest):
		return nil, badInputError(err)
	}
	return nil, err
}

// chainInputs is a model whose graph inputs are the chain's, typed as the
// stages that read them declare, so inputs bind as for one model.
func chainInputs(c *split.Chain) *ir.Model {
	g := &ir.Graph{}
	for _, name := range c.Manifest.Inputs {
		var v *ir.Value
		for _, m := range c.Models {
			for _, in := range m.Graph.Inputs {
				if in.Name == name && v == nil {
					v = in
				}
			}
		}
		if v == nil {
			v = &ir.Value{Name: name} // read by no stage; bindInputs reports it
		}
		g.Inputs = append(g.Inputs, v)
	}
	return &ir.Model{Graph: g}
}

// StageTime is one stage's latency in a split directory's report.
type StageTime struct {
	Name     string  `json:"name"`
	MedianMS float64 `json:"median_ms"`
}

func runSplitDir(opts *RunOptions, w io.Writer) error {
	c, err := openChain(opts.Model, opts.Threads, false)
	if err != nil {
		return err
	}
	inputs, err := bindInputs(chainInputs(c), opts.Inputs, opts.Shapes, opts.Seed)
	if err != nil {
		return err
	}
	outs, times, err := c.Run(inputs)
	if err != nil {
		return err
	}
	if opts.Out != "" {
		if err := os.MkdirAll(opts.Out, 0o755); err != nil {
			return err
		}
	}
	if err := writeOutputs(w, c.Manifest.Outputs, outs, opts.Out); err != nil {
		return err
	}
	for i, st := range c.Manifest.Stages {
		fmt.Fprintf(w, "stage %d %s: %.3f ms\n", i, st.Name, ms(times[i]))
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

// SplitVerifyReport is the JSON output of `nncc verify MODEL DIR`.
type SplitVerifyReport struct {
	VerifyReport
	Stages []StageTime `json:"stages"`
}

func verifySplitDir(opts *VerifyOptions, w io.Writer) error {
	ref, err := onnx.Load(opts.Reference)
	if err != nil {
		return err
	}
	c, err := openChain(opts.Candidate, opts.Threads, true)
	if err != nil {
		return err
	}
	var refOuts []string
	for _, v := range ref.Graph.Outputs {
		refOuts = append(refOuts, v.Name)
	}
	var refIns []string
	for _, v := range ref.Graph.Inputs {
		if v.Const == nil {
			refIns = append(refIns, v.Name)
		}
	}
	for _, name := range c.Manifest.Inputs {
		if !slices.Contains(refIns, name) {
			return failedError(fmt.Errorf("the split in %s takes input %q, which %s does not have (inputs %q)", opts.Candidate, name, opts.Reference, refIns))
		}
	}
	if !slices.Equal(refOuts, c.Manifest.Outputs) {
		return failedError(fmt.Errorf("%s has outputs %q, the split in %s %q", opts.Reference, refOuts, opts.Candidate, c.Manifest.Outputs))
	}
	base, tol, err := newVerifyReport(opts)
	if err != nil {
		return err
	}
	samples := base.Samples
	rep := &SplitVerifyReport{VerifyReport: *base}
	times := make([][]float64, len(c.Models))
	for s := 0; s < samples; s++ {
		inputs, want, err := referenceSample(opts, ref, s)
		if err != nil {
			return err
		}
		got, ts, err := c.Run(inputs)
		if errors.Is(err, split.ErrMismatch) {
			return failedError(err)
		}
		if err != nil {
			return err
		}
		for i, d := range ts {
			times[i] = append(times[i], ms(d))
		}
		for i, name := range refOuts {
			rep.add(s, i, check.Compare(name, want[i], got[name], tol))
		}
	}
	rep.finish()
	rep.Stages = stageTimes(c, times)
	if opts.JSON {
		if err := writeJSON(w, rep); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(w, "%d sample(s) through %d stages, tolerance atol %g rtol %g\n", samples, len(c.Models), opts.Atol, opts.Rtol)
		rep.print(w, false)
		printStages(w, rep.Stages)
	}
	if !rep.Pass {
		return failedError(errors.New("the stages' outputs differ from the original's beyond tolerance"))
	}
	return nil
}

func stageTimes(c *split.Chain, times [][]float64) []StageTime {
	out := make([]StageTime, len(times))
	for i, ts := range times {
		ts = slices.Clone(ts)
		slices.Sort(ts)
		out[i] = StageTime{Name: c.Manifest.Stages[i].Name}
		if len(ts) > 0 {
			out[i].MedianMS = median(ts)
		}
	}
	return out
}

func printStages(w io.Writer, stages []StageTime) {
	var worst float64
	for i, st := range stages {
		fmt.Fprintf(w, "  stage %d %-24s %.3f ms\n", i, st.Name, st.MedianMS)
		worst = max(worst, st.MedianMS)
	}
	if worst > 0 {
		fmt.Fprintf(w, "  pipeline bound: slowest stage %.3f ms, at most %.1f inferences/s\n", worst, 1000/worst)
	}
}

// SplitBenchResult is the JSON output of `nncc bench DIR`.
type SplitBenchResult struct {
	BenchResult
	Stages []StageTime `json:"stages"`
	// BoundMS is the slowest stage's median: a pipeline with one worker
	// per stage completes one inference per BoundMS at best.
	BoundMS       float64 `json:"bound_ms"`
	ThroughputMax float64 `json:"throughput_max_per_s"`
}

func benchSplitDir(opts *BenchOptions, w io.Writer) error {
	if opts.Iters < 1 {
		return usageError(errors.New("--iters must be at least 1"))
	}
	c, err := openChain(opts.Model, opts.Threads, false)
	if err != nil {
		return err
	}
	inputs, err := bindInputs(chainInputs(c), opts.Inputs, opts.Shapes, opts.Seed)
	if err != nil {
		return err
	}
	for i := 0; i < opts.Warmup; i++ {
		if _, _, err := c.Run(inputs); err != nil {
			return err
		}
	}
	total := make([]float64, opts.Iters)
	per := make([][]float64, len(c.Models))
	for i := range total {
		start := time.Now()
		_, ts, err := c.Run(inputs)
		if err != nil {
			return err
		}
		total[i] = ms(time.Since(start))
		for s, d := range ts {
			per[s] = append(per[s], ms(d))
		}
	}
	slices.Sort(total)
	res := SplitBenchResult{
		BenchResult: BenchResult{MedianMS: median(total), MinMS: total[0], MaxMS: total[len(total)-1], Iters: opts.Iters, Threads: opts.Threads},
		Stages:      stageTimes(c, per),
	}
	for _, st := range res.Stages {
		res.BoundMS = max(res.BoundMS, st.MedianMS)
	}
	if res.BoundMS > 0 {
		res.ThroughputMax = 1000 / res.BoundMS
	}
	if opts.JSON {
		return json.NewEncoder(w).Encode(res)
	}
	fmt.Fprintf(w, "%s: %d stages in sequence: median %.3f ms, min %.3f ms over %d runs (%d thread(s))\n", opts.Model, len(c.Models), res.MedianMS, res.MinMS, res.Iters, opts.Threads)
	printStages(w, res.Stages)
	return nil
}
