// Command latency times nncc's runtime against onnxruntime on the same
// models, at each of -threads (1 and 2 by default), and writes the
// comparison to a JSON file and to a marked block of docs/performance.md.
// bench/run.sh (make bench) runs it.
//
// The two engines are measured in alternating rounds — nncc then
// onnxruntime, then onnxruntime then nncc, and so on (with -before, an
// older nncc build takes its turn too), every thread count of a model in
// the same rounds — each round a fresh process timing a number of runs
// after a warm-up, so that a change in the machine's load during the
// benchmark falls on both sides of a ratio, the speed-up over one thread
// included. An
// engine's figure is the median of its round medians; the spread is the
// range of the round medians relative to that figure. Each engine's runs
// per round are calibrated to take about -round-ms.
//
// Models the runtime cannot run (an operator not yet supported) are
// reported with the error and the onnxruntime figure alone. nncc runs
// optimise models in memory (see docs/cli.md); with -optimized, each
// model is also compiled with `nncc compile` (the default
// pipeline after upgrade-opset; see pipeline) and the result timed in both
// engines. Last, `nncc bench --profile` of the slowest model at one
// thread is added below the table.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nncc/nncc/bench/internal/report"
	"github.com/nncc/nncc/internal/ortref"
	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/onnx"
)

// A benchCase is one model with its symbolic dimensions bound.
type benchCase struct {
	Name  string
	Model string
	Dims  map[string]int64 // symbolic dimension -> value (others are 1)
}

// batch binds the symbolic "batch" dimension.
func batch(n int64) map[string]int64 { return map[string]int64{"batch": n} }

// paddle binds the dynamic dimensions of PaddleOCR's exports (batch,
// height, width in that order).
func paddle(h, w int64) map[string]int64 {
	return map[string]int64{"p2o.DynamicDimension.0": 1, "p2o.DynamicDimension.1": h, "p2o.DynamicDimension.2": w}
}

func cases(models, ocr string) []benchCase {
	return []benchCase{
		{"digits_cnn", "testmodels/digits_cnn.onnx", batch(1)},
		{"digits_cnn", "testmodels/digits_cnn.onnx", batch(64)},
		{"digits_mlp", "testmodels/digits_mlp.onnx", batch(1)},
		{"digits_mlp", "testmodels/digits_mlp.onnx", batch(64)},
		{"mobilenet_v2", filepath.Join(models, "mobilenet_v2.onnx"), batch(1)},
		{"resnet18", filepath.Join(models, "resnet18.onnx"), batch(1)},
		{"mobilenet_v3_small", filepath.Join(models, "mobilenet_v3_small.onnx"), batch(1)},
		// PaddleOCR's models as shipped (the recogniser's height is fixed
		// at 48, so its width is DynamicDimension.1).
		{"ppocr_cls", filepath.Join(ocr, "ppocr_cls.onnx"), paddle(48, 192)},
		{"ppocr_rec", filepath.Join(ocr, "ppocr_rec.onnx"), map[string]int64{"p2o.DynamicDimension.0": 1, "p2o.DynamicDimension.1": 320}},
		{"ppocr_det", filepath.Join(ocr, "ppocr_det.onnx"), paddle(640, 640)},
	}
}

// dimNames returns the keys of dims in order.
func dimNames(dims map[string]int64) []string {
	return slices.Sorted(maps.Keys(dims))
}

// Timing is one engine's figure for one row.
type Timing struct {
	MedianMS     float64   `json:"median_ms"`        // median of the round medians
	MinMS        float64   `json:"min_ms"`           // fastest single run seen
	SpreadPct    float64   `json:"spread_pct"`       // (max - min round median) / median, in percent
	RoundsMS     []float64 `json:"round_medians_ms"` // each round's median
	ItersPerRnd  int       `json:"iters_per_round"`  // timed runs per round
	WarmupPerRnd int       `json:"warmup_per_round"` // untimed runs per round
	Error        string    `json:"error,omitempty"`  // why there is no figure
	roundMins    []float64
}

// Row is one line of the results table.
type Row struct {
	Model   string  `json:"model"`
	Variant string  `json:"variant"` // "original" or "optimized"
	File    string  `json:"file"`
	Input   string  `json:"input"` // the input shape, e.g. 1x3x224x224
	Nodes   int     `json:"nodes"`
	Threads int     `json:"threads"`
	NNCC    *Timing `json:"nncc"`
	ORT     *Timing `json:"onnxruntime"`
	// Before is the -before binary (nncc before a change), when given.
	Before      *Timing `json:"nncc_before,omitempty"`
	BeforeRatio float64 `json:"nncc_before_over_ort,omitempty"`
	Ratio       float64 `json:"nncc_over_ort,omitempty"`         // NNCC.MedianMS / ORT.MedianMS
	MinRat      float64 `json:"nncc_over_ort_fastest,omitempty"` // NNCC.MinMS / ORT.MinMS
	// NNCCSpeedup and ORTSpeedup divide each engine's one-thread figure
	// (timed in the same rounds) by this row's; 0 at one thread.
	NNCCSpeedup float64 `json:"nncc_speedup_over_1_thread,omitempty"`
	ORTSpeedup  float64 `json:"ort_speedup_over_1_thread,omitempty"`
}

// Results is what -out receives.
type Results struct {
	Machine  report.Machine `json:"machine"`
	LoadEnd  string         `json:"load_avg_end,omitempty"`
	Settings Settings       `json:"settings"`
	Rows     []Row          `json:"rows"`
	Compiles []Compile      `json:"compiles,omitempty"`
	Notes    []string       `json:"notes,omitempty"`
	// Profile is `nncc bench --profile` of the slowest model at one
	// thread.
	Profile *Profile `json:"profile,omitempty"`
}

// Profile is the profiler's output for one model.
type Profile struct {
	Model string `json:"model"`
	Input string `json:"input"`
	Text  string `json:"text"`
}

// Compile records one `nncc compile` of a model with pipeline.
type Compile struct {
	Model   string  `json:"model"`
	Seconds float64 `json:"seconds,omitempty"`
	Error   string  `json:"error,omitempty"`
}

// Settings record how the figures were taken.
type Settings struct {
	Threads     []int  `json:"threads"`
	Before      string `json:"nncc_before,omitempty"`
	Rounds      int    `json:"rounds"`
	RoundMS     int    `json:"round_ms"`
	ORTVersion  string `json:"onnxruntime_version,omitempty"`
	NodeVersion string `json:"node_version,omitempty"`
	ORTOpt      string `json:"onnxruntime_graph_optimization"`
}

type config struct {
	nncc      string
	models    string
	out       string
	doc       string
	rounds    int
	roundMS   int
	optimized bool
	budget    time.Duration
	only      string
	ocr       string
	threads   []int
	before    string
	profile   bool
}

func main() {
	var c config
	flag.StringVar(&c.nncc, "nncc", "bin/nncc", "the nncc binary")
	flag.StringVar(&c.models, "models", "bench/models", "directory holding mobilenet_v2.onnx, resnet18.onnx and mobilenet_v3_small.onnx")
	flag.StringVar(&c.ocr, "ocr", "/tmp/nncc-models", "directory holding PaddleOCR's ppocr_cls/rec/det.onnx (passes/testdata/models/fetch.sh)")
	threads := flag.String("threads", "1,2", "comma-separated thread counts, one row each")
	flag.StringVar(&c.before, "before", "", "another nncc binary (nncc before a change) to time alongside, in the same rounds")
	flag.BoolVar(&c.profile, "profile", true, "add `nncc bench --profile` of the slowest model at one thread")
	flag.StringVar(&c.out, "out", "bench/results/latest.json", "JSON results file ('' for none)")
	flag.StringVar(&c.doc, "doc", "docs/performance.md", "Markdown file whose bench block is regenerated ('' for none)")
	flag.IntVar(&c.rounds, "rounds", 7, "alternating rounds per engine and row")
	flag.IntVar(&c.roundMS, "round-ms", 600, "target timed milliseconds per round")
	flag.BoolVar(&c.optimized, "optimized", false, "also time each model after `nncc compile` (nncc optimises in memory anyway)")
	flag.DurationVar(&c.budget, "budget", 20*time.Minute, "stop starting new rows after this long")
	flag.StringVar(&c.only, "only", "", "time only models whose name contains one of these comma-separated strings (prints the table; the files change only with explicit -out or -doc)")
	flag.Parse()
	for _, f := range strings.Split(*threads, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			fatal(fmt.Errorf("-threads %q: want positive integers", *threads))
		}
		c.threads = append(c.threads, n)
	}
	if c.only != "" {
		// A partial run must not replace the full table unless asked to.
		set := map[string]bool{}
		flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["out"] {
			c.out = ""
		}
		if !set["doc"] {
			c.doc = ""
		}
	}
	if c.rounds < 1 || c.roundMS < 1 {
		fatal(errors.New("-rounds and -round-ms must be positive"))
	}
	if err := run(c); err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "latency:", err)
	os.Exit(1)
}

func run(c config) error {
	if _, err := os.Stat(c.nncc); err != nil {
		return fmt.Errorf("nncc binary: %v (build it with `make build`)", err)
	}
	if !ortref.Available() {
		return errors.New("onnxruntime harness unavailable: need node on PATH and `cd tools/ort && npm ci --ignore-scripts`")
	}
	res := Results{
		Machine: report.DescribeMachine(),
		Settings: Settings{
			Threads: c.threads, Before: c.before, Rounds: c.rounds, RoundMS: c.roundMS, ORTOpt: ortref.OptAll,
			ORTVersion:  ortVersion(),
			NodeVersion: commandLine("node", "--version"),
		},
	}
	start := time.Now()
	tmp, err := os.MkdirTemp("", "nncc-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	compiled := map[string]string{} // original model -> optimized file, "" when compile failed
	for _, bc := range cases(c.models, c.ocr) {
		if c.only != "" && !matchesAny(bc.Name, c.only) {
			continue
		}
		variants := []struct{ name, file string }{{"original", bc.Model}}
		if c.optimized {
			opt, ok := compiled[bc.Model]
			if !ok {
				t0 := time.Now()
				opt, err = compile(c.nncc, bc, tmp)
				rec := Compile{Model: bc.Name, Seconds: time.Since(t0).Seconds()}
				if err != nil {
					rec = Compile{Model: bc.Name, Error: err.Error()}
					fmt.Fprintf(os.Stderr, "%s: compile: %v\n", bc.Name, err)
				}
				res.Compiles = append(res.Compiles, rec)
				compiled[bc.Model] = opt
			}
			if opt != "" {
				variants = append(variants, struct{ name, file string }{"optimized", opt})
			}
		}
		for _, v := range variants {
			if time.Since(start) > c.budget {
				res.Notes = append(res.Notes, fmt.Sprintf("%s %v (%s): skipped, the %v time budget was spent", bc.Name, bc.Dims, v.name, c.budget))
				continue
			}
			rows, err := measure(c, bc, v.name, v.file, c.threads)
			if err != nil {
				res.Notes = append(res.Notes, fmt.Sprintf("%s %v (%s): not measured: %v", bc.Name, bc.Dims, v.name, err))
				fmt.Fprintf(os.Stderr, "%s: %v\n", bc.Name, err)
				continue
			}
			for _, row := range rows {
				if v.name == "optimized" {
					row.File = "nncc compile " + bc.Model // the compiled file was temporary
				}
				res.Rows = append(res.Rows, row)
				fmt.Fprintln(os.Stderr, row.summary())
			}
		}
	}
	if c.profile {
		if p, err := profileSlowest(c, res.Rows); err != nil {
			res.Notes = append(res.Notes, "profile: "+err.Error())
		} else {
			res.Profile = p
		}
	}
	if len(res.Rows) == 0 {
		return fmt.Errorf("nothing was measured: %s", strings.Join(res.Notes, "; "))
	}
	res.LoadEnd = report.LoadAvg()
	fmt.Fprintf(os.Stderr, "took %v\n", time.Since(start).Round(time.Second))

	if c.out != "" {
		if err := os.MkdirAll(filepath.Dir(c.out), 0o755); err != nil {
			return err
		}
		b, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(c.out, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	md := res.markdown()
	if c.doc != "" {
		if err := report.ReplaceBlock(c.doc, "bench", md); err != nil {
			return err
		}
	} else {
		fmt.Print(md)
	}
	return nil
}

// pipeline is what the optimized rows are compiled with: the default
// clean-up after raising the opset, so that LayerNorm and GELU fuse.
const pipeline = "upgrade-opset{to=21},default"

// compile runs `nncc compile` with pipeline and returns the
// optimized file.
func compile(nncc string, bc benchCase, dir string) (string, error) {
	out := filepath.Join(dir, bc.Name+".opt.onnx")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, nncc, "compile", bc.Model, "-o", out, "--passes", pipeline)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("nncc compile failed (%v): %s", err, firstLine(stderr.String()))
	}
	return out, nil
}

// measure times one model file in both engines at each thread count,
// all in the same alternating rounds, and returns a row per thread count.
func measure(c config, bc benchCase, variant, file string, threads []int) ([]Row, error) {
	m, err := onnx.Load(file)
	if err != nil {
		return nil, err
	}
	type engine struct {
		t   **Timing
		run func(iters, warmup int) (median, min float64, err error)
	}
	rows := make([]Row, len(threads))
	var engines []engine
	for i, th := range threads {
		row := &rows[i]
		*row = Row{Model: bc.Name, Variant: variant, File: file, Input: inputShape(m, bc.Dims), Nodes: len(m.Graph.Nodes), Threads: th}
		engines = append(engines,
			engine{&row.NNCC, func(iters, warmup int) (float64, float64, error) {
				return benchNNCC(c.nncc, file, bc.Dims, th, iters, warmup)
			}},
			engine{&row.ORT, func(iters, warmup int) (float64, float64, error) {
				return benchORT(file, bc.Dims, th, iters, warmup)
			}})
		if c.before != "" {
			engines = append(engines, engine{&row.Before, func(iters, warmup int) (float64, float64, error) {
				return benchNNCC(c.before, file, bc.Dims, th, iters, warmup)
			}})
		}
	}
	// Calibrate: one timed run after one warm-up says how many runs fill a round.
	for _, e := range engines {
		t := &Timing{}
		*e.t = t
		est, _, err := e.run(1, 1)
		if err != nil {
			t.Error = err.Error()
			continue
		}
		t.ItersPerRnd = int(math.Round(float64(c.roundMS) / math.Max(est, 1e-3)))
		t.ItersPerRnd = min(max(t.ItersPerRnd, 3), 2000)
		t.WarmupPerRnd = min(max(t.ItersPerRnd/10, 1), 20)
	}
	for r := 0; r < c.rounds; r++ {
		for k := range engines {
			i := (k + r) % len(engines) // each engine goes first in turn
			t := *engines[i].t
			if t.Error != "" {
				continue
			}
			med, mn, err := engines[i].run(t.ItersPerRnd, t.WarmupPerRnd)
			if err != nil {
				t.Error = fmt.Sprintf("round %d: %v", r+1, err)
				continue
			}
			t.RoundsMS = append(t.RoundsMS, med)
			t.roundMins = append(t.roundMins, mn)
		}
	}
	for _, e := range engines {
		(*e.t).summarize()
	}
	var one *Row // the one-thread row, if measured
	for i := range rows {
		if rows[i].Threads == 1 {
			one = &rows[i]
		}
	}
	for i := range rows {
		row := &rows[i]
		if row.NNCC.Error == "" && row.ORT.Error == "" && row.ORT.MedianMS > 0 {
			row.Ratio = row.NNCC.MedianMS / row.ORT.MedianMS
			row.MinRat = row.NNCC.MinMS / row.ORT.MinMS
		}
		if row.Before != nil && row.Before.Error == "" && row.ORT.Error == "" && row.ORT.MedianMS > 0 {
			row.BeforeRatio = row.Before.MedianMS / row.ORT.MedianMS
		}
		if one != nil && row != one {
			row.NNCCSpeedup = speedup(one.NNCC, row.NNCC)
			row.ORTSpeedup = speedup(one.ORT, row.ORT)
		}
	}
	return rows, nil
}

// speedup returns one's figure over t's, 0 when either has none.
func speedup(one, t *Timing) float64 {
	if one.Error != "" || t.Error != "" || t.MedianMS <= 0 {
		return 0
	}
	return one.MedianMS / t.MedianMS
}

func (t *Timing) summarize() {
	if t.Error != "" || len(t.RoundsMS) == 0 {
		t.RoundsMS = nil
		return
	}
	s := slices.Sorted(slices.Values(t.RoundsMS))
	t.MedianMS = median(s)
	t.MinMS = slices.Min(t.roundMins)
	if t.MedianMS > 0 {
		t.SpreadPct = 100 * (s[len(s)-1] - s[0]) / t.MedianMS
	}
}

func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// inputShape renders the model's input shapes with dims bound.
func inputShape(m *ir.Model, bound map[string]int64) string {
	var shapes []string
	for _, in := range m.Graph.Inputs {
		if in.Type == nil || !in.Type.HasShape {
			shapes = append(shapes, "?")
			continue
		}
		var dims []string
		for _, d := range in.Type.Shape {
			switch {
			case bound[d.Param] > 0:
				dims = append(dims, strconv.FormatInt(bound[d.Param], 10))
			case d.Param != "":
				dims = append(dims, "1") // both engines bind other symbolic dims to 1
			default:
				dims = append(dims, strconv.FormatInt(d.Value, 10))
			}
		}
		shapes = append(shapes, strings.Join(dims, "x"))
	}
	return strings.Join(shapes, ", ")
}

const runTimeout = 3 * time.Minute

func benchNNCC(nncc, model string, dims map[string]int64, threads, iters, warmup int) (median, min float64, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	args := []string{"bench", model}
	for _, k := range dimNames(dims) {
		args = append(args, "--shape", k+"="+strconv.FormatInt(dims[k], 10))
	}
	args = append(args, "--iters", strconv.Itoa(iters), "--warmup", strconv.Itoa(warmup),
		"--threads", strconv.Itoa(threads), "--json")
	cmd := exec.CommandContext(ctx, nncc, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := firstLine(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return 0, 0, errors.New(msg)
	}
	var r struct {
		MedianMS float64 `json:"median_ms"`
		MinMS    float64 `json:"min_ms"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		return 0, 0, fmt.Errorf("nncc bench answered %q: %v", out, err)
	}
	return r.MedianMS, r.MinMS, nil
}

func benchORT(model string, dims map[string]int64, threads, iters, warmup int) (median, min float64, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	if warmup == 0 {
		warmup = -1 // ortref: negative means none
	}
	r, err := ortref.Bench(ctx, model, ortref.BenchOptions{
		Dims:  dims,
		Iters: iters, Warmup: warmup, Threads: threads, Opt: ortref.OptAll,
	})
	if err != nil {
		return 0, 0, err
	}
	return r.MedianMS, r.MinMS, nil
}

// firstLine returns the first non-empty line of s, without nncc's
// "nncc: " prefix, cut to a table cell's length.
func firstLine(s string) string {
	for l := range strings.SplitSeq(s, "\n") {
		l = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "nncc:"))
		if l != "" {
			if len(l) > 160 {
				l = l[:160] + "…"
			}
			return l
		}
	}
	return ""
}

func ortVersion() string {
	b, err := os.ReadFile(filepath.Join(filepath.Dir(ortref.Script()), "node_modules", "onnxruntime-node", "package.json"))
	if err != nil {
		return ""
	}
	var p struct{ Version string }
	if json.Unmarshal(b, &p) != nil {
		return ""
	}
	return p.Version
}

func commandLine(name string, args ...string) string {
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

func (r Row) summary() string {
	s := fmt.Sprintf("%-18s %-9s %-14s t%d nncc %s  ort %s  ratio %s", r.Model, r.Variant, r.Input, r.Threads, r.NNCC.cell(), r.ORT.cell(), r.ratioCell())
	if r.Before != nil {
		s += "  before " + r.Before.cell()
	}
	if r.NNCCSpeedup > 0 || r.ORTSpeedup > 0 {
		s += fmt.Sprintf("  speed-up over 1 thread: nncc %s, ort %s", times(r.NNCCSpeedup), times(r.ORTSpeedup))
	}
	return s
}

func (t *Timing) cell() string {
	if t.Error != "" {
		return "— (" + t.Error + ")"
	}
	return fmt.Sprintf("%s ±%.0f%%", ms(t.MedianMS), t.SpreadPct/2)
}

func (r Row) ratioCell() string {
	if r.Ratio == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f×", r.Ratio)
}

// ms formats milliseconds with three significant digits.
func ms(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	case v >= 1:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3f", v)
	}
}

func (res *Results) markdown() string {
	var b strings.Builder
	b.WriteString("<!-- generated by `make bench` (bench/run.sh → bench/latency); edits here are overwritten -->\n\n")
	b.WriteString(res.Machine.Markdown())
	if res.LoadEnd != "" {
		fmt.Fprintf(&b, "- load average at the end: %s\n", res.LoadEnd)
	}
	s := res.Settings
	ort := "onnxruntime"
	if s.ORTVersion != "" {
		ort += " " + s.ORTVersion
	}
	fmt.Fprintf(&b, "- %s (onnxruntime-node, CPU execution provider, graph optimization `%s`), node %s\n", ort, s.ORTOpt, orDash(s.NodeVersion))
	fmt.Fprintf(&b, "- the same thread count in both engines (the table's column); %d alternating rounds per engine and thread count, each ≈%d ms of timed runs after a warm-up, each first in turn, every thread count of a model in the same rounds; figures are the median of the round medians, ± half the range of the round medians\n", s.Rounds, s.RoundMS)
	if s.Before != "" {
		fmt.Fprintf(&b, "- \"before\": `%s`, an nncc build from before the change, timed in the same rounds\n", s.Before)
	}
	b.WriteString("\n")
	before := s.Before != ""
	if before {
		b.WriteString("| model | variant | input | threads | nodes | nncc (ms) | onnxruntime (ms) | nncc / ort | fastest runs' ratio | before (ms) | before / ort |\n")
		b.WriteString("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	} else {
		b.WriteString("| model | variant | input | threads | nodes | nncc (ms) | onnxruntime (ms) | nncc / ort | fastest runs' ratio |\n")
		b.WriteString("|---|---|---|---:|---:|---:|---:|---:|---:|\n")
	}
	var errs []string // footnotes, one per distinct error
	for _, r := range res.Rows {
		ts := []*Timing{r.NNCC, r.ORT}
		if before {
			bt := r.Before
			if bt == nil {
				bt = &Timing{Error: "not timed"}
			}
			ts = append(ts, bt)
		}
		cells := make([]string, len(ts))
		for i, t := range ts {
			if t.Error != "" {
				n := slices.Index(errs, t.Error)
				if n < 0 {
					errs = append(errs, t.Error)
					n = len(errs) - 1
				}
				cells[i] = fmt.Sprintf("—[^%d]", n+1)
				continue
			}
			cells[i] = fmt.Sprintf("%s ±%.0f%%", ms(t.MedianMS), t.SpreadPct/2)
		}
		minRatio := "—"
		if r.MinRat > 0 {
			minRatio = fmt.Sprintf("%.2f×", r.MinRat)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %d | %d | %s | %s | %s | %s |", r.Model, r.Variant, r.Input, r.Threads, r.Nodes, cells[0], cells[1], r.ratioCell(), minRatio)
		if before {
			br := "—"
			if r.BeforeRatio > 0 {
				br = fmt.Sprintf("%.2f×", r.BeforeRatio)
			}
			fmt.Fprintf(&b, " %s | %s |", cells[2], br)
		}
		b.WriteString("\n")
	}
	res.speedupTable(&b)
	if len(res.Compiles) > 0 {
		b.WriteString("\n`nncc compile --passes '" + pipeline + "'` (wall time including process start):")
		for i, c := range res.Compiles {
			sep := ","
			if i == 0 {
				sep = ""
			}
			if c.Error != "" {
				fmt.Fprintf(&b, "%s %s failed (no optimized rows): %s", sep, c.Model, mdEscape(c.Error))
			} else {
				fmt.Fprintf(&b, "%s %s %.2f s", sep, c.Model, c.Seconds)
			}
		}
		b.WriteString(".\n")
	}
	if len(res.Notes) > 0 {
		b.WriteString("\n")
	}
	for _, n := range res.Notes {
		fmt.Fprintf(&b, "- %s\n", mdEscape(n))
	}
	if len(errs) > 0 {
		b.WriteString("\n")
	}
	for i, e := range errs {
		fmt.Fprintf(&b, "[^%d]: not measured: %s\n", i+1, mdEscape(e))
	}
	if p := res.Profile; p != nil {
		fmt.Fprintf(&b, "\nWhere the time goes in the slowest model, %s (%s, 1 thread), by `nncc bench --profile` (a step that fused nodes counts under its first: a Conv's time includes its element-wise epilogue):\n\n```\n%s```\n", p.Model, p.Input, p.Text)
	}
	return b.String()
}

// speedupTable writes each engine's speed-up over one thread, for the
// rows that have one.
func (res *Results) speedupTable(b *strings.Builder) {
	head := false
	for _, r := range res.Rows {
		if r.NNCCSpeedup == 0 && r.ORTSpeedup == 0 {
			continue
		}
		if !head {
			b.WriteString("\nSpeed-up over one thread (each engine's one-thread median over its median at the row's threads, from the same rounds):\n\n")
			b.WriteString("| model | variant | input | threads | nncc | onnxruntime |\n|---|---|---|---:|---:|---:|\n")
			head = true
		}
		fmt.Fprintf(b, "| %s | %s | %s | %d | %s | %s |\n", r.Model, r.Variant, r.Input, r.Threads, times(r.NNCCSpeedup), times(r.ORTSpeedup))
	}
}

// times formats a ratio as 1.23×, or — for none.
func times(v float64) string {
	if v == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f×", v)
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;", "\n", " ").Replace(s)
}

// profileSlowest runs `nncc bench --profile` on the model slowest in
// nncc at one thread.
func profileSlowest(c config, rows []Row) (*Profile, error) {
	var slow *Row
	for i := range rows {
		r := &rows[i]
		if r.Threads == 1 && r.Variant == "original" && r.NNCC.Error == "" && (slow == nil || r.NNCC.MedianMS > slow.NNCC.MedianMS) {
			slow = r
		}
	}
	if slow == nil {
		return nil, errors.New("no model was timed at one thread")
	}
	var bc benchCase
	for _, b := range cases(c.models, c.ocr) {
		if b.Name == slow.Model && inputShapeOf(b) == slow.Input {
			bc = b
		}
	}
	if bc.Model == "" {
		return nil, fmt.Errorf("no case for %s", slow.Model)
	}
	args := []string{"bench", bc.Model, "--profile", "--top", "15", "--iters", "5", "--warmup", "2", "--threads", "1"}
	for _, k := range dimNames(bc.Dims) {
		args = append(args, "--shape", k+"="+strconv.FormatInt(bc.Dims[k], 10))
	}
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, c.nncc, args...).Output()
	if err != nil {
		return nil, err
	}
	// The first line is the latency summary; the table follows.
	text := string(out)
	if i := strings.IndexByte(text, '\n'); i >= 0 {
		text = text[i+1:]
	}
	return &Profile{Model: slow.Model, Input: slow.Input, Text: text}, nil
}

func inputShapeOf(bc benchCase) string {
	m, err := onnx.Load(bc.Model)
	if err != nil {
		return ""
	}
	return inputShape(m, bc.Dims)
}

// matchesAny reports whether name contains one of the comma-separated
// strings in list.
func matchesAny(name, list string) bool {
	for _, s := range strings.Split(list, ",") {
		if s != "" && strings.Contains(name, s) {
			return true
		}
	}
	return false
}
