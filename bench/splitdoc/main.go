// Command splitdoc writes docs/split.md: nncc split on MobileNetV2,
// ResNet-18, PP-OCRv4's DB text detector (an FPN: upsampling, concat and
// skip connections), a CNN + bidirectional LSTM text recogniser (CRNN)
// and Silero VAD (an If holding an LSTM), with each stage's FLOPs,
// weights, activations and latency, the bytes crossing each cut, the
// slowest stage against the mean, and the stages run in order checked
// against the whole model, in nncc's runtime and in onnxruntime.
//
//	go run ./bench/splitdoc [-models /tmp/nncc-models] [-out docs/split.md]
//
// Latencies: every stage is timed in rounds that visit all stages in turn
// (so a change in the machine's load falls on all of them), and a stage's
// figure is the least of its per-round medians. onnxruntime runs through
// internal/ortref (Node, onnxruntime-node, one thread); without it those
// columns say n/a.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/nncc/nncc/bench/internal/report"
	"github.com/nncc/nncc/check"
	"github.com/nncc/nncc/internal/ortref"
	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/npy"
	"github.com/nncc/nncc/onnx"
	"github.com/nncc/nncc/runtime"
	"github.com/nncc/nncc/split"
)

type docCase struct {
	Name, Model, Why string
	Stages           int
	Shapes           map[string][]int64
	Feed             map[string]*ir.Tensor
	Command          string
}

func cases(models string) []docCase {
	return []docCase{
		{Name: "MobileNetV2", Model: filepath.Join(models, "tv", "mobilenet_v2.onnx"), Stages: 4,
			Shapes: map[string][]int64{"input": {1, 3, 224, 224}}, Why: "inverted residuals (skip adds inside blocks)",
			Command: "--stages 4 --shape input=1x3x224x224"},
		{Name: "ResNet-18", Model: filepath.Join(models, "tv", "resnet18.onnx"), Stages: 4,
			Shapes: map[string][]int64{"input": {1, 3, 224, 224}}, Why: "residual blocks",
			Command: "--stages 4 --shape input=1x3x224x224"},
		{Name: "PP-OCRv4 DB detector", Model: filepath.Join(models, "ppocr_det.onnx"), Stages: 3,
			Shapes: map[string][]int64{"x": {1, 3, 640, 640}}, Why: "FPN: upsampling, concat, skip connections across the network",
			Command: "--stages 3 --shape x=1x3x640x640"},
		{Name: "CRNN (CNN + BiLSTM)", Model: "split/testdata/crnn.onnx", Stages: 4,
			Shapes: map[string][]int64{"image": {1, 1, 32, 128}}, Why: "recurrent: two bidirectional LSTM layers after a CNN",
			Command: "--stages 4 --shape N=1"},
		{Name: "Silero VAD v5", Model: filepath.Join(models, "silero_vad_v5.onnx"), Stages: 2,
			Shapes:  map[string][]int64{"input": {1, 512}, "state": {2, 1, 128}},
			Feed:    map[string]*ir.Tensor{"sr": ir.FromInt64(nil, []int64{16000})},
			Why:     "recurrent: the network (STFT, convolutions, LSTM) sits in an If on the sample rate, which is atomic",
			Command: "--stages 2 --shape input=1x512 --shape state=2x1x128 --input sr=SR.npy"},
	}
}

var (
	rounds = flag.Int("rounds", 3, "timing rounds")
	iters  = flag.Int("iters", 10, "timed runs per stage and round")
)

func main() {
	models := flag.String("models", filepath.Join(os.TempDir(), "nncc-models"), "directory of fetched models (passes/testdata/models/fetch.sh)")
	out := flag.String("out", "docs/split.md", "output file")
	flag.Parse()
	if err := run(*models, *out); err != nil {
		fmt.Fprintln(os.Stderr, "splitdoc:", err)
		os.Exit(1)
	}
}

// result is one split of one model.
type result struct {
	Balance  split.Balance
	Plan     *split.Plan
	Manifest *split.Manifest
	NNCCMS   []float64 // measured per stage
	ORTMS    []float64 // nil without onnxruntime
	NNCCErr  []string  // per output: max |stages - whole| / range
	ORTErr   []string
	NNCCOK   bool
	ORTOK    bool
}

func run(models, outPath string) error {
	machine := report.DescribeMachine()
	haveORT := ortref.Available()
	var b strings.Builder
	b.WriteString(header(machine, haveORT))
	var summary strings.Builder
	summary.WriteString("| model | balance | stages (nodes) | slowest/mean nncc | slowest/mean onnxruntime | bytes crossing cuts | chain = whole (nncc, onnxruntime) |\n|---|---|---|---|---|---|---|\n")
	var details strings.Builder
	var evenest []string
	for _, c := range cases(models) {
		if _, err := os.Stat(c.Model); err != nil {
			fmt.Fprintf(&details, "### %s\n\n%s is missing (run passes/testdata/models/fetch.sh); not measured.\n\n", c.Name, c.Model)
			continue
		}
		fmt.Fprintf(os.Stderr, "splitdoc: %s\n", c.Name)
		m, err := onnx.Load(c.Model)
		if err != nil {
			return err
		}
		var byBalance []*result
		for _, bal := range []split.Balance{split.FLOPs, split.Latency, split.Params} {
			r, err := measure(c, m, bal, haveORT)
			if err != nil {
				return fmt.Errorf("%s, %s: %w", c.Name, bal, err)
			}
			byBalance = append(byBalance, r)
			var ranges []string
			for _, st := range r.Plan.Stages {
				ranges = append(ranges, fmt.Sprintf("%d–%d", st.Start, st.End-1))
			}
			var cross int64
			for _, x := range r.Plan.CutBytes() {
				cross += x
			}
			fmt.Fprintf(&summary, "| %s | %s | %s | %s | %s | %s | %s, %s |\n", c.Name, bal, strings.Join(ranges, ", "),
				ratio(r.NNCCMS), ratio(r.ORTMS), human(cross), verdict(r.NNCCOK, true), verdict(r.ORTOK, r.ORTMS != nil))
		}
		details.WriteString(detail(c, m, byBalance[1]))
		if haveORT {
			best := byBalance[0]
			for _, r := range byBalance[1:] {
				if spread(r.ORTMS) < spread(best.ORTMS) {
					best = r
				}
			}
			evenest = append(evenest, fmt.Sprintf("%s: %s (%.2f)", c.Name, best.Balance, spread(best.ORTMS)))
		}
	}
	b.WriteString("## Summary\n\n")
	b.WriteString("Each model split three ways. *slowest/mean* is the slowest stage's time over the mean stage time (1.00 is a perfect balance; a pipeline runs at the pace of its slowest stage). *chain = whole*: the stages run in order, each fed by name from the graph inputs and earlier stages' outputs, give the whole model's outputs within 1e-5 of their range.\n\n")
	b.WriteString(summary.String())
	if len(evenest) > 0 {
		b.WriteString("\nThe most even split in onnxruntime per model came from: " + strings.Join(evenest, "; ") + ". `--balance latency` balances the engine it measures, nncc's runtime; engines differ in their per-operator speeds, so for a pipeline served by onnxruntime compare the flops and latency rows.\n")
	}
	b.WriteString("\n## Per model (balanced on latency)\n\n")
	b.WriteString(details.String())
	return onnx.WriteFileAtomic(outPath, []byte(b.String()))
}

func header(m report.Machine, haveORT bool) string {
	var b strings.Builder
	b.WriteString(`# Splitting models into pipeline stages

Generated by ` + "`go run ./bench/splitdoc`" + ` (do not edit by hand). ` + "`nncc split`" + ` cuts a
model into consecutive stages that minimise the slowest stage's cost, then
the bytes passed between stages, and writes stage models, a manifest and a
Triton ensemble repository (see docs/cli.md). The commands are
` + "`nncc split MODEL -o DIR --balance B ...`" + ` with the flags shown per model.

Costs: *flops* from shapes inferred after binding the inputs; *latency* from
timing every node in nncc's runtime (least of 5 runs, each step the lesser
of its wall and process CPU time, a fused step charged to its first node);
*params* balances the weight bytes each stage holds. Stage latencies below
are measured on the written stage files: in rounds visiting every stage in
turn, a stage's figure the least of its per-round medians (` + fmt.Sprint(*rounds) + ` rounds of ` + fmt.Sprint(*iters) + ` runs), one thread.
The *planned* column sums the node times the plan used (CPU time where the
machine was busy); the *nncc* and *onnxruntime* columns are wall-clock times
of the stage files, so on a loaded machine (see the load average) they run
above the plan; compare the ratios within a column.
*Bytes crossing a cut* are the tensors produced before it and read after
it, skip connections included, at the bound shapes (graph inputs, which go
to their readers straight from the caller, are not counted).

`)
	b.WriteString(m.Markdown())
	b.WriteString("\n")
	if !haveORT {
		b.WriteString("- onnxruntime: not available; its columns say n/a\n")
	} else {
		b.WriteString("- onnxruntime: onnxruntime-node via internal/ortref, one intra-op thread, all graph optimisations\n")
	}
	b.WriteString("\n")
	return b.String()
}

func detail(c docCase, m *ir.Model, r *result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### %s\n\n`%s`, %d nodes: %s. `nncc split %s -o DIR %s --balance latency`\n\n", c.Name, filepath.Base(c.Model), len(m.Graph.Nodes), c.Why, filepath.Base(c.Model), c.Command)
	b.WriteString("| stage | nodes | GFLOPs | weights | activations in | activations out | planned ms (node sum) | nncc ms | onnxruntime ms |\n|---|---|---|---|---|---|---|---|---|\n")
	for i, st := range r.Plan.Stages {
		ortMS := "n/a"
		if r.ORTMS != nil {
			ortMS = fmt.Sprintf("%.3f", r.ORTMS[i])
		}
		fmt.Fprintf(&b, "| %d | %d–%d | %.3f | %s | %s | %s | %.3f | %.3f | %s |\n", i, st.Start, st.End-1, float64(st.FLOPs)/1e9,
			human(st.ParamBytes), human(st.ActBytesIn), human(st.ActBytesOut), st.Cost, r.NNCCMS[i], ortMS)
	}
	b.WriteString("\n")
	var cuts []string
	for i, x := range r.Plan.CutBytes() {
		cuts = append(cuts, fmt.Sprintf("cut %d: %s (%d tensors)", i+1, human(x), cutTensors(r.Manifest, i)))
	}
	if len(cuts) > 0 {
		fmt.Fprintf(&b, "- bytes crossing each cut: %s\n", strings.Join(cuts, "; "))
	}
	fmt.Fprintf(&b, "- slowest / mean stage: nncc %s, onnxruntime %s\n", maxMean(r.NNCCMS), maxMean(r.ORTMS))
	fmt.Fprintf(&b, "- stages in order vs the whole model, max |difference| / output range: nncc %s; onnxruntime %s\n\n", strings.Join(r.NNCCErr, ", "), orNA(r.ORTErr))
	return b.String()
}

// cutTensors counts the distinct tensors crossing cut i: outputs of stages
// ≤ i read by stages > i.
func cutTensors(man *split.Manifest, i int) int {
	before := map[string]bool{}
	for _, st := range man.Stages[:i+1] {
		for _, o := range st.Outputs {
			before[o] = true
		}
	}
	seen := map[string]bool{}
	for _, st := range man.Stages[i+1:] {
		for _, in := range st.Inputs {
			if before[in] {
				seen[in] = true
			}
		}
	}
	return len(seen)
}

func measure(c docCase, m *ir.Model, bal split.Balance, haveORT bool) (*result, error) {
	p, err := split.Split(m, split.Options{Stages: c.Stages, Balance: bal, Shapes: c.Shapes, Feed: c.Feed, Runs: 5, Seed: 1})
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "splitdoc-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	dir := filepath.Join(tmp, "split")
	name := strings.TrimSuffix(filepath.Base(c.Model), ".onnx")
	if err := p.Write(dir, split.WriteOptions{Source: c.Model, Triton: split.TritonOptions{Name: name}}); err != nil {
		return nil, err
	}
	if err := split.CheckRepository(filepath.Join(dir, "triton")); err != nil {
		return nil, err
	}
	r := &result{Balance: bal, Plan: p}
	if r.Manifest, err = split.ReadManifest(dir); err != nil {
		return nil, err
	}
	feed, err := inputs(m, c)
	if err != nil {
		return nil, err
	}
	// nncc: the chain against the whole model, then the stage times.
	chain, err := split.OpenChain(dir)
	if err != nil {
		return nil, err
	}
	got, _, err := chain.Run(feed)
	if err != nil {
		return nil, err
	}
	whole, err := runtime.NewSession(m, runtime.Options{Threads: 1, Shapes: dimsOf(feed)})
	if err != nil {
		return nil, err
	}
	want, err := whole.Run(feed)
	if err != nil {
		return nil, err
	}
	r.NNCCErr, r.NNCCOK = compare(r.Manifest.Outputs, got, want)
	if r.NNCCMS, err = nnccTimes(chain, feed); err != nil {
		return nil, err
	}
	if !haveORT {
		return r, nil
	}
	files, stageIn, err := ortChain(tmp, dir, r.Manifest, feed)
	if err != nil {
		return nil, err
	}
	in := map[string]string{}
	for _, n := range r.Manifest.Inputs {
		in[n] = files[n]
	}
	res, err := ortref.Run([]ortref.Job{{Model: c.Model, Inputs: in, Out: filepath.Join(tmp, "whole")}})
	if err != nil {
		return nil, err
	}
	wt, err := res[0].Tensors()
	if err != nil {
		return nil, err
	}
	ortWant, ortGot := map[string]*ir.Tensor{}, map[string]*ir.Tensor{}
	for i, o := range r.Manifest.Outputs {
		ortWant[o] = wt[i]
		if ortGot[o], _, err = onnx.ReadTensorFile(files[o]); err != nil {
			return nil, err
		}
	}
	r.ORTErr, r.ORTOK = compare(r.Manifest.Outputs, ortGot, ortWant)
	r.ORTMS, err = ortTimes(dir, r.Manifest, stageIn)
	return r, err
}

func inputs(m *ir.Model, c docCase) (map[string]*ir.Tensor, error) {
	specs, err := check.InputSpecs(m.Graph, c.Shapes, nil)
	if err != nil {
		return nil, err
	}
	var draw []check.InputSpec
	for _, s := range specs {
		if c.Feed[s.Name] == nil {
			draw = append(draw, s)
		}
	}
	feed, err := check.RandomInputs(draw, 7)
	if err != nil {
		return nil, err
	}
	for k, v := range c.Feed {
		feed[k] = v
	}
	return feed, nil
}

func dimsOf(ts map[string]*ir.Tensor) map[string][]int64 {
	out := map[string][]int64{}
	for k, t := range ts {
		out[k] = t.Dims
	}
	return out
}

// compare reports max |got - want| / range(want) per output and whether
// all are within 1e-5.
func compare(names []string, got, want map[string]*ir.Tensor) ([]string, bool) {
	ok := true
	var out []string
	for _, n := range names {
		g, w := got[n], want[n]
		if g == nil || w == nil || !slices.Equal(g.Dims, w.Dims) {
			out = append(out, n+": shape differs")
			ok = false
			continue
		}
		gs, ws := g.Float64s(), w.Float64s()
		lo, hi, d := math.Inf(1), math.Inf(-1), 0.0
		for i := range ws {
			lo, hi = math.Min(lo, ws[i]), math.Max(hi, ws[i])
			d = math.Max(d, math.Abs(gs[i]-ws[i]))
		}
		rel := 0.0
		if hi > lo {
			rel = d / (hi - lo)
		} else if d > 0 {
			rel = math.Inf(1)
		}
		ok = ok && rel <= 1e-5
		out = append(out, fmt.Sprintf("%s %.2g", n, rel))
	}
	return out, ok
}

// nnccTimes is each stage's latency in nncc's runtime: rounds of iters
// chain runs, the least per-round median per stage.
func nnccTimes(c *split.Chain, feed map[string]*ir.Tensor) ([]float64, error) {
	best := make([]float64, len(c.Models))
	for i := range best {
		best[i] = math.Inf(1)
	}
	if _, _, err := c.Run(feed); err != nil { // warm-up
		return nil, err
	}
	for r := 0; r < *rounds; r++ {
		per := make([][]float64, len(c.Models))
		for it := 0; it < *iters; it++ {
			_, ts, err := c.Run(feed)
			if err != nil {
				return nil, err
			}
			for s, d := range ts {
				per[s] = append(per[s], float64(d)/float64(time.Millisecond))
			}
		}
		for s, ts := range per {
			best[s] = math.Min(best[s], median(ts))
		}
	}
	return best, nil
}

func median(xs []float64) float64 {
	xs = slices.Clone(xs)
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

// ortChain runs the stages in onnxruntime by the manifest alone: each is
// fed by name from the graph inputs and earlier stages' output files.
func ortChain(tmp, dir string, man *split.Manifest, feed map[string]*ir.Tensor) (map[string]string, []map[string]string, error) {
	files := map[string]string{}
	for name, x := range feed {
		var b bytes.Buffer
		if err := npy.Encode(&b, x); err != nil {
			return nil, nil, err
		}
		f := filepath.Join(tmp, fmt.Sprintf("in_%d.npy", len(files)))
		if err := os.WriteFile(f, b.Bytes(), 0o644); err != nil {
			return nil, nil, err
		}
		files[name] = f
	}
	stageIn := make([]map[string]string, len(man.Stages))
	for i, st := range man.Stages {
		in := map[string]string{}
		for _, n := range st.Inputs {
			if files[n] == "" {
				return nil, nil, fmt.Errorf("stage %d reads %q, which nothing before it provides", i, n)
			}
			in[n] = files[n]
		}
		stageIn[i] = in
		res, err := ortref.Run([]ortref.Job{{Model: filepath.Join(dir, st.File), Inputs: in, Out: filepath.Join(tmp, fmt.Sprintf("ort%d", i))}})
		if err != nil {
			return nil, nil, err
		}
		if res[0].Err != "" {
			return nil, nil, fmt.Errorf("stage %d in onnxruntime: %s", i, res[0].Err)
		}
		for _, o := range res[0].Outputs {
			files[o.Name] = o.File
		}
	}
	return files, stageIn, nil
}

func ortTimes(dir string, man *split.Manifest, stageIn []map[string]string) ([]float64, error) {
	best := make([]float64, len(man.Stages))
	for i := range best {
		best[i] = math.Inf(1)
	}
	for r := 0; r < *rounds; r++ {
		for i, st := range man.Stages {
			res, err := ortref.Bench(context.Background(), filepath.Join(dir, st.File), ortref.BenchOptions{Inputs: stageIn[i], Iters: *iters, Warmup: 2})
			if err != nil {
				return nil, err
			}
			best[i] = math.Min(best[i], res.MedianMS)
		}
	}
	return best, nil
}

// maxMean renders the slowest of xs over their mean, with both.
func maxMean(xs []float64) string {
	if len(xs) == 0 {
		return "n/a"
	}
	mx, mean := maxAndMean(xs)
	return fmt.Sprintf("%.3f / %.3f ms = %.2f", mx, mean, mx/mean)
}

// spread is the slowest over the mean of xs.
func spread(xs []float64) float64 {
	mx, mean := maxAndMean(xs)
	return mx / mean
}

// ratio renders spread(xs), or n/a without figures.
func ratio(xs []float64) string {
	if len(xs) == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", spread(xs))
}

// maxAndMean returns the largest of xs and their mean.
func maxAndMean(xs []float64) (mx, mean float64) {
	var sum float64
	for _, x := range xs {
		sum += x
		mx = math.Max(mx, x)
	}
	return mx, sum / float64(len(xs))
}

func verdict(ok, measured bool) string {
	switch {
	case !measured:
		return "n/a"
	case ok:
		return "yes"
	}
	return "**no**"
}

func orNA(xs []string) string {
	if xs == nil {
		return "n/a"
	}
	return strings.Join(xs, ", ")
}

func human(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
