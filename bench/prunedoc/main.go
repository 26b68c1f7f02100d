// Command prunedoc measures pruning on the bundled and fetched models and
// writes docs/pruning.md:
//
//	go run ./bench/prunedoc [-models /tmp/nncc-models] [-out docs/pruning.md]
//
// For each model and setting it reports parameters (all and non-zero),
// dense multiply-accumulates at batch 1, the file size written with
// sparse initializers (raw and gzip), the score without and with the
// layer-wise re-fit, torch's global L1 (mask-only) pruning at the same
// sparsity for the digits models (bench/prunedoc/torch_prune.py, on the
// same weights and held-out set), and the median latency of nncc's
// runtime and of onnxruntime at batch 1 on one thread. The torchvision
// exports have random weights: their score is top-1 agreement with the
// unpruned model on seeded random inputs, a numerics figure, never an
// accuracy. Models that are not fetched are skipped.
package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/nncc/nncc/budget"
	"github.com/nncc/nncc/calib"
	"github.com/nncc/nncc/cost"
	"github.com/nncc/nncc/internal/ortref"
	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/npy"
	"github.com/nncc/nncc/onnx"
	"github.com/nncc/nncc/passes"
	"github.com/nncc/nncc/runtime"
)

type model struct {
	name, path, input string
	shape             []int64 // one sample
	calib, evalX      string
	evalY             string // "" → agreement on random inputs
	torch             string // key in torch_prune.py's output
	specs             []string
	refit             bool
}

type row struct {
	Model, Spec       string
	Params, NonZero   int64
	MACs              int64
	Raw, Gzip         int64
	Score, ScoreRefit float64
	ScoreBN           float64
	Torch             float64
	NNCCms, ORTms     float64
	Metric            string
	RefitSeconds      float64
}

func main() {
	models := flag.String("models", "/tmp/nncc-models", "fetched models (passes/testdata/models/fetch.sh)")
	out := flag.String("out", "docs/pruning.md", "the generated page")
	flag.Parse()
	if err := run(*models, *out); err != nil {
		fmt.Fprintln(os.Stderr, "prunedoc:", err)
		os.Exit(1)
	}
}

func run(dir, out string) error {
	td := "testmodels/data/"
	tv := filepath.Join(dir, "tv")
	pc := filepath.Join(dir, "ppocr_cls_data")
	ms := []model{
		{name: "digits CNN", path: "testmodels/digits_cnn.onnx", input: "input", shape: []int64{1, 1, 8, 8}, calib: td + "digits_calib_x.npy",
			evalX: td + "digits_test_x.npy", evalY: td + "digits_test_y.npy", torch: "digits_cnn", refit: true,
			specs: []string{"prune-magnitude{sparsity=0.5}", "prune-magnitude{sparsity=0.8}", "prune-magnitude{sparsity=0.9}",
				"prune-channels{ratio=0.3}", "prune-channels{ratio=0.5}"}},
		{name: "digits MLP", path: "testmodels/digits_mlp.onnx", input: "input", shape: []int64{1, 64}, calib: td + "digits_calib_x_flat.npy",
			evalX: td + "digits_test_x_flat.npy", evalY: td + "digits_test_y.npy", torch: "digits_mlp", refit: true,
			specs: []string{"prune-magnitude{sparsity=0.5}", "prune-magnitude{sparsity=0.8}", "prune-magnitude{sparsity=0.9}"}},
		{name: "PP-OCR cls (MobileNetV3, trained)", path: filepath.Join(dir, "ppocr_cls.onnx"), input: "x", shape: []int64{1, 3, 48, 192},
			calib: filepath.Join(pc, "calib_x.npy"), evalX: filepath.Join(pc, "eval_x.npy"), evalY: filepath.Join(pc, "eval_y.npy"), refit: true,
			specs: []string{"prune-magnitude{sparsity=0.5}", "prune-channels{ratio=0.2}", "prune-channels{ratio=0.3}"}},
		{name: "MobileNetV2 (random weights)", path: filepath.Join(tv, "mobilenet_v2.onnx"), input: "input", shape: []int64{1, 3, 224, 224},
			specs: []string{"prune-magnitude{sparsity=0.5}", "eliminate-identity,prune-channels{ratio=0.2}"}},
		{name: "MobileNetV3-small (random weights)", path: filepath.Join(tv, "mobilenet_v3_small.onnx"), input: "input", shape: []int64{1, 3, 224, 224},
			specs: []string{"prune-magnitude{sparsity=0.5}", "eliminate-identity,prune-channels{ratio=0.2}"}},
		{name: "ResNet-18 (random weights)", path: filepath.Join(tv, "resnet18.onnx"), input: "input", shape: []int64{1, 3, 224, 224},
			specs: []string{"prune-magnitude{sparsity=0.5}", "eliminate-identity,prune-channels{ratio=0.2}"}},
	}
	torch := map[string]map[string]float64{}
	if b, err := exec.Command("/usr/bin/python3", "bench/prunedoc/torch_prune.py", ".", "0.5", "0.8", "0.9").Output(); err == nil {
		_ = json.Unmarshal(b, &torch)
	} else {
		fmt.Fprintln(os.Stderr, "prunedoc: torch reference unavailable:", err)
	}
	tmp, err := os.MkdirTemp("", "prunedoc")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	var rows []row
	var skipped []string
	for _, m := range ms {
		if _, err := os.Stat(m.path); err != nil {
			skipped = append(skipped, m.name)
			continue
		}
		rs, err := measure(m, torch[m.torch], tmp)
		if err != nil {
			return fmt.Errorf("%s: %w", m.name, err)
		}
		rows = append(rows, rs...)
	}
	return os.WriteFile(out, []byte(render(rows, skipped)), 0o644)
}

func measure(m model, torch map[string]float64, tmp string) ([]row, error) {
	orig, err := onnx.Load(m.path)
	if err != nil {
		return nil, err
	}
	var cal calib.Dataset
	if m.calib != "" {
		if cal, err = calib.Load(orig, []string{m.calib}); err != nil {
			return nil, err
		}
	}
	ev, metric, err := evaluator(orig, m)
	if err != nil {
		return nil, err
	}
	sample := filepath.Join(tmp, "sample.npy")
	if err := writeSample(sample, m.shape); err != nil {
		return nil, err
	}
	var rows []row
	for _, spec := range append([]string{"none"}, m.specs...) {
		fmt.Fprintf(os.Stderr, "prunedoc: %s %s\n", m.name, spec)
		r := row{Model: m.name, Spec: spec, Metric: metric, Score: -1, ScoreRefit: -1, ScoreBN: -1, Torch: -1}
		plain, err := compile(orig, spec, nil)
		if err != nil {
			return nil, err
		}
		final := plain
		if r.Score, err = score(ev, plain); err != nil {
			return nil, err
		}
		if m.refit && spec != "none" {
			bn, err := compile(orig, strings.TrimSuffix(spec, "}")+",bn-stats=true}", cal)
			if err != nil {
				return nil, err
			}
			if r.ScoreBN, err = score(ev, bn); err != nil {
				return nil, err
			}
			start := time.Now()
			rf, err := compile(orig, strings.TrimSuffix(spec, "}")+",reconstruct=true}", cal)
			if err != nil {
				return nil, err
			}
			r.RefitSeconds = time.Since(start).Seconds()
			if r.ScoreRefit, err = score(ev, rf); err != nil {
				return nil, err
			}
			final = rf
		}
		if s := sparsityOf(spec); s != "" && torch != nil {
			if v, ok := torch[s]; ok {
				r.Torch = v
			}
		} else if spec == "none" && torch != nil {
			r.Torch = torch["0"]
		}
		r.Params, r.NonZero = params(final)
		rep, err := cost.Analyze(final, map[string][]int64{m.input: m.shape}, nil)
		if err != nil {
			return nil, err
		}
		r.MACs = rep.MACs()
		b, _, _, err := onnx.Marshal(final, "m.onnx", onnx.SaveOptions{Sparse: true})
		if err != nil {
			return nil, err
		}
		r.Raw = int64(len(b))
		var gz bytes.Buffer
		w := gzip.NewWriter(&gz)
		w.Write(b)
		w.Close()
		r.Gzip = int64(gz.Len())
		path := filepath.Join(tmp, "m.onnx")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return nil, err
		}
		r.NNCCms, r.ORTms = latency(final, path, m, sample)
		rows = append(rows, r)
	}
	return rows, nil
}

func compile(orig *ir.Model, spec string, cal calib.Dataset) (*ir.Model, error) {
	m := orig.Clone()
	p, err := passes.Parse(spec)
	if err != nil {
		return nil, err
	}
	if _, err := p.Run(m, passes.RunOptions{Calib: cal, Threads: 1}); err != nil {
		return nil, err
	}
	return m, nil
}

func evaluator(orig *ir.Model, m model) (*budget.Evaluator, string, error) {
	if m.evalY != "" {
		d, err := calib.Load(orig, []string{m.evalX})
		if err != nil {
			return nil, "", err
		}
		y, err := npy.Read(m.evalY)
		if err != nil {
			return nil, "", err
		}
		ev, err := budget.NewEvaluator(d, y.Int64s())
		if err != nil {
			return nil, "", err
		}
		ev.Threads = 1
		return ev, "accuracy", nil
	}
	// Random weights: agreement with the original on seeded inputs.
	n := int64(16)
	dims := append([]int64{n}, m.shape[1:]...)
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, ir.NumElements(dims))
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	d, err := calib.FromTensors(map[string]*ir.Tensor{m.input: ir.FromFloat32(dims, x)})
	if err != nil {
		return nil, "", err
	}
	ev, err := budget.NewEvaluator(d, nil)
	if err != nil {
		return nil, "", err
	}
	ev.Threads = 1
	if _, err := ev.SetReference(orig); err != nil {
		return nil, "", err
	}
	return ev, "agreement", nil
}

func score(ev *budget.Evaluator, m *ir.Model) (float64, error) {
	s, err := ev.Score(m)
	if err != nil {
		return 0, err
	}
	return s.Metric(), nil
}

func sparsityOf(spec string) string {
	_, v, ok := strings.Cut(spec, "sparsity=")
	if !ok || !strings.HasPrefix(spec, "prune-magnitude") {
		return ""
	}
	return strings.TrimSuffix(v, "}")
}

func params(m *ir.Model) (all, nonzero int64) {
	for _, v := range m.Graph.Consts {
		n := v.Const.NumElements()
		all += n
		if v.Const.DType != ir.Float32 {
			nonzero += n
			continue
		}
		for _, x := range v.Const.Float32View() {
			if x != 0 {
				nonzero++
			}
		}
	}
	return all, nonzero
}

func writeSample(path string, shape []int64) error {
	rng := rand.New(rand.NewPCG(3, 4))
	x := make([]float32, ir.NumElements(shape))
	for i := range x {
		x[i] = float32(rng.Float64())
	}
	var b bytes.Buffer
	if err := npy.Encode(&b, ir.FromFloat32(shape, x)); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// latency returns the median of nncc's and onnxruntime's batch-1 run
// times on one thread, measured in alternating rounds.
func latency(m *ir.Model, path string, mc model, sample string) (float64, float64) {
	t, err := npy.Read(sample)
	if err != nil {
		return -1, -1
	}
	sess, err := runtime.NewSession(m, runtime.Options{Threads: 1, Shapes: map[string][]int64{mc.input: mc.shape}})
	if err != nil {
		return -1, -1
	}
	in := map[string]*ir.Tensor{mc.input: t}
	var nn, ort []float64
	for round := 0; round < 3; round++ {
		for i := 0; i < 3; i++ {
			sess.Run(in)
		}
		var ts []float64
		for i := 0; i < 20; i++ {
			start := time.Now()
			if _, err := sess.Run(in); err != nil {
				return -1, -1
			}
			ts = append(ts, float64(time.Since(start).Microseconds())/1000)
		}
		nn = append(nn, median(ts))
		if !ortref.Available() {
			continue
		}
		r, err := ortref.Bench(context.Background(), path, ortref.BenchOptions{Inputs: map[string]string{mc.input: sample}, Iters: 20, Warmup: 3, Threads: 1})
		if err == nil {
			ort = append(ort, r.MedianMS)
		}
	}
	o := -1.0
	if len(ort) > 0 {
		o = median(ort)
	}
	return median(nn), o
}

func median(xs []float64) float64 {
	s := append([]float64{}, xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func pct(x float64) string {
	if x < 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f", 100*x)
}

func ms(x float64) string {
	if x < 0 {
		return "—"
	}
	return fmt.Sprintf("%.3f", x)
}

func kib(b int64) string { return fmt.Sprintf("%.1f", float64(b)/1024) }

func render(rows []row, skipped []string) string {
	var b strings.Builder
	b.WriteString(`# Pruning

<!-- Generated by ` + "`go run ./bench/prunedoc`" + `; do not edit. -->

What ` + "`prune-magnitude`" + ` and ` + "`prune-channels`" + ` do to each model (see
docs/passes.md for the passes and package prune for how the re-fit works).
Columns: parameters (all constant elements, and the non-zero ones),
dense multiply-accumulates at batch 1 (zeros count: they measure what a
dense kernel does), the file written with ` + "`--sparse-weights`" + ` (raw and
gzip -6, KiB), the score without the re-fit and with ` + "`reconstruct=true`" + `
(the layer-wise least-squares re-fit to the original's activations on the
calibration data; size, parameters and latency are of the re-fitted model
where there is one), with ` + "`bn-stats=true`" + ` alone (BatchNormalization
statistics re-estimated on the calibration data, no re-fit), torch's global L1 mask-only pruning
(torch.nn.utils.prune, same weights, same held-out set) at the same
sparsity, and the median latency at batch 1 on one thread of nncc's
runtime and of onnxruntime, measured in alternating rounds on a shared
2-core machine (compare within a row group, not across runs).

The digits models are scored on their 450 held-out images (calibration:
64 training samples); PP-OCR's text-orientation classifier on 400
held-out labelled lines (calibration: 64 other lines). The torchvision
exports have random weights: their "score" is top-1 agreement with the
unpruned model on 16 seeded random inputs — a numerics figure, not an
accuracy — and they are not re-fitted here.

| model | pipeline | metric | params | non-zero | MACs | file KiB | gzip KiB | score | with bn-stats | with re-fit | torch L1 | nncc ms | ORT ms |
|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
`)
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | `%s` | %s | %d | %d | %d | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			r.Model, r.Spec, r.Metric, r.Params, r.NonZero, r.MACs, kib(r.Raw), kib(r.Gzip),
			pct(r.Score), pct(r.ScoreBN), pct(r.ScoreRefit), pct(r.Torch), ms(r.NNCCms), ms(r.ORTms))
	}
	if len(skipped) > 0 {
		fmt.Fprintf(&b, "\nNot measured (model not fetched): %s.\n", strings.Join(skipped, ", "))
	}
	b.WriteString(`
Notes:

- Unstructured zeros do not make a dense kernel faster; they shrink the
  file (sparse initializers, gzip) and prepare for sparse kernels.
  Channel pruning removes MACs, parameters and latency.
- ` + "`prune-channels`" + ` leaves groups that reach a graph output, a reshape or
  a Concat along channels whole (the report's details list them with the
  reason), so inputs and outputs keep their shapes.
`)
	return b.String()
}
