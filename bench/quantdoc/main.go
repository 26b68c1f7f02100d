// Command quantdoc quantizes the reference models, measures what it cost
// and what it saved, and writes docs/quantization.md.
//
//	go run ./bench/quantdoc [-models /tmp/nncc-models] [-photos /tmp/nncc-photos] [-out docs/quantization.md]
//
// For each model it runs a float pipeline (upgrade-opset, the default
// clean-up), then quantize with the options the row shows, and measures:
// top-1 accuracy on labelled held-out data, or top-1 agreement with the
// float model where the weights are random (torchvision's exports) —
// in nncc's runtime and in onnxruntime; the file size; and the single-
// thread, batch-1 latency of float32 and int8 in both engines (nncc: the
// median of alternating float/int8 runs in one process; onnxruntime: the
// median of its bench harness, float and int8 runs interleaved in
// rounds). The ImageNet-class inputs are crops of scikit-learn's two
// sample photographs (bench/quantdoc/photos.py renders them into
// -photos when missing). Models that are absent are listed as skipped.
package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/nncc/nncc/budget"
	"github.com/nncc/nncc/calib"
	"github.com/nncc/nncc/internal/ortref"
	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/npy"
	"github.com/nncc/nncc/onnx"
	"github.com/nncc/nncc/passes"
	"github.com/nncc/nncc/quant"
	"github.com/nncc/nncc/runtime"
)

type qcase struct {
	name, model   string
	float, qspec  string // pipelines: float baseline, then quantize on its result
	calib         string
	evalX, evalY  string
	maxDrop       float64 // <0: no budget
	data, note    string
	dynamicInputs bool
}

type result struct {
	c                   qcase
	err                 string
	metric              string
	fN, qN, fO, qO      float64 // float/int8 metric in nncc and onnxruntime
	fBytes, qBytes      int64
	fParam, qParam      map[string]int64
	nF, nQ, oF, oQ      float64 // latency ms
	layers, floatLayers int
	budget              *quant.Fallback
	int8Frac            float64
}

func main() {
	models := flag.String("models", "/tmp/nncc-models", "directory of fetched models")
	photos := flag.String("photos", "/tmp/nncc-photos", "directory for the rendered photo crops")
	out := flag.String("out", "docs/quantization.md", "output markdown file")
	only := flag.String("only", "", "run only the rows whose name contains this")
	flag.Parse()
	if _, err := os.Stat(filepath.Join(*photos, "eval_x.npy")); err != nil {
		cmd := exec.Command("/usr/bin/python3", "bench/quantdoc/photos.py", *photos)
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "quantdoc: rendering photos:", err)
		}
	}
	td := "testmodels/data/"
	pp := filepath.Join(*models, "ppocr_cls_data")
	photoNote := "crops of scikit-learn's 2 sample photos (32 calibration, 64 held-out); random weights: top-1 agreement with float"
	cases := []qcase{
		{name: "digits CNN", model: "testmodels/digits_cnn.onnx", float: "default", qspec: "quantize",
			calib: td + "digits_calib_x.npy", evalX: td + "digits_test_x.npy", evalY: td + "digits_test_y.npy", maxDrop: -1,
			data: "64 training-split images; 450 held-out, labelled"},
		{name: "digits MLP", model: "testmodels/digits_mlp.onnx", float: "default", qspec: "quantize{mode=dynamic}",
			evalX: td + "digits_test_x_flat.npy", evalY: td + "digits_test_y.npy", maxDrop: -1,
			data: "none (dynamic); 450 held-out, labelled"},
		{name: "ppocr_cls (MobileNetV3)", model: filepath.Join(*models, "ppocr_cls.onnx"), float: "upgrade-opset{to=13},default", qspec: "quantize",
			calib: "ppocr32", evalX: filepath.Join(pp, "eval_x.npy"), evalY: filepath.Join(pp, "eval_y.npy"), maxDrop: -1,
			data: "32 real rendered text lines; 400 held-out, labelled"},
		{name: "ppocr_cls --max-drop 0", model: filepath.Join(*models, "ppocr_cls.onnx"), float: "upgrade-opset{to=13},default", qspec: "quantize",
			calib: "ppocr32", evalX: filepath.Join(pp, "eval_x.npy"), evalY: filepath.Join(pp, "eval_y.npy"), maxDrop: 0,
			data: "as above; the budget returns layers to float"},
		{name: "MobileNetV2", model: filepath.Join(*models, "tv/mobilenet_v2.onnx"), float: "default", qspec: "quantize",
			calib: filepath.Join(*photos, "calib_x.npy"), evalX: filepath.Join(*photos, "eval_x.npy"), maxDrop: -1, data: photoNote},
		{name: "MobileNetV3-small", model: filepath.Join(*models, "tv/mobilenet_v3_small.onnx"), float: "default", qspec: "quantize",
			calib: filepath.Join(*photos, "calib_x.npy"), evalX: filepath.Join(*photos, "eval_x.npy"), maxDrop: -1, data: photoNote},
		{name: "ResNet-18", model: filepath.Join(*models, "tv/resnet18.onnx"), float: "default", qspec: "quantize",
			calib: filepath.Join(*photos, "calib_x.npy"), evalX: filepath.Join(*photos, "eval_x.npy"), maxDrop: -1, data: photoNote},
		{name: "Silero VAD v5", model: filepath.Join(*models, "silero_vad_v5.onnx"), float: "default", qspec: "quantize{mode=dynamic}",
			maxDrop: -1, data: "none (dynamic)"},
	}
	tmp, err := os.MkdirTemp("", "quantdoc")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer os.RemoveAll(tmp)
	// 32 of PaddleOCR's 64 calibration samples.
	if x, err := npy.Read(filepath.Join(pp, "calib_x.npy")); err == nil {
		per := len(x.Data) / int(x.Dims[0])
		t := &ir.Tensor{DType: x.DType, Dims: append([]int64{32}, x.Dims[1:]...), Data: x.Data[:32*per]}
		writeNPY(filepath.Join(tmp, "ppocr32.npy"), t)
	}
	var rs []result
	for i, c := range cases {
		if *only != "" && !strings.Contains(c.name, *only) {
			continue
		}
		if c.calib == "ppocr32" {
			c.calib = filepath.Join(tmp, "ppocr32.npy")
		}
		start := time.Now()
		r := measure(c, filepath.Join(tmp, fmt.Sprint(i)))
		fmt.Fprintf(os.Stderr, "%s: %.0fs %s\n", c.name, time.Since(start).Seconds(), r.err)
		rs = append(rs, r)
	}
	if err := onnx.WriteFileAtomic(*out, []byte(render(rs))); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func writeNPY(path string, t *ir.Tensor) {
	f, err := os.Create(path)
	if err != nil {
		return
	}
	defer f.Close()
	_ = npy.Encode(f, t)
}

func measure(c qcase, dir string) (r result) {
	r.c = c
	fail := func(err error) result { r.err = err.Error(); return r }
	if _, err := os.Stat(c.model); err != nil {
		return fail(fmt.Errorf("skipped: %s is absent (sh passes/testdata/models/fetch.sh)", c.model))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fail(err)
	}
	m, err := onnx.Load(c.model)
	if err != nil {
		return fail(err)
	}
	fp, err := passes.Parse(c.float)
	if err != nil {
		return fail(err)
	}
	if _, err := fp.Run(m, passes.RunOptions{}); err != nil {
		return fail(err)
	}
	q := m.Clone()
	ro := passes.RunOptions{Threads: 1}
	if c.calib != "" {
		d, err := calib.Load(m, []string{c.calib})
		if err != nil {
			return fail(err)
		}
		ro.Calib = d
	}
	var ev *budget.Evaluator
	var labels []int64
	if c.evalX != "" {
		d, err := calib.Load(m, []string{c.evalX})
		if err != nil {
			return fail(err)
		}
		if c.evalY != "" {
			y, err := npy.Read(c.evalY)
			if err != nil {
				return fail(err)
			}
			labels = y.Int64s()
		}
		if ev, err = budget.NewEvaluator(d, labels); err != nil {
			return fail(err)
		}
		ev.Threads = 1
		md := c.maxDrop
		if md < 0 {
			md = 100
		}
		b, err := budget.New(m, ev, md)
		if err != nil {
			return fail(err)
		}
		ro.Budget = b
		r.fN = b.Base.Metric()
	}
	qp, err := passes.Parse(c.qspec)
	if err != nil {
		return fail(err)
	}
	rep, err := qp.Run(q, ro)
	if err != nil {
		return fail(err)
	}
	pr := rep.Passes[len(rep.Passes)-1]
	if d, ok := pr.Details.(*passes.QuantizeDetails); ok {
		r.layers, r.floatLayers, r.budget, r.int8Frac = len(d.Layers), len(d.Float), d.Budget, d.Int8Weights
	}
	if !pr.Changed {
		var why []string
		for _, d := range pr.Declined {
			why = append(why, d.String())
		}
		return fail(fmt.Errorf("quantize declined: %s", strings.Join(why, "; ")))
	}
	fpath, qpath := filepath.Join(dir, "float.onnx"), filepath.Join(dir, "int8.onnx")
	for _, x := range []struct {
		m *ir.Model
		p string
	}{{m, fpath}, {q, qpath}} {
		if err := onnx.Save(x.m, x.p, onnx.SaveOptions{}); err != nil {
			return fail(err)
		}
	}
	r.fBytes, r.qBytes = fileSize(fpath), fileSize(qpath)
	r.fParam, r.qParam = quant.WeightBytes(m), quant.WeightBytes(q)
	r.metric = "agreement"
	if labels != nil {
		r.metric = "accuracy"
	}
	if ev != nil {
		s, err := ev.Score(q)
		if err != nil {
			return fail(err)
		}
		r.qN = s.Metric()
		// onnxruntime on the same files.
		var preds [2][]int64
		for i, p := range []string{fpath, qpath} {
			out := filepath.Join(dir, fmt.Sprint("ort", i))
			res, err := ortref.Run([]ortref.Job{{Model: p, Inputs: map[string]string{m.Graph.Inputs[0].Name: c.evalX}, Out: out}})
			if err != nil {
				return fail(err)
			}
			ts, err := res[0].Tensors()
			if err != nil {
				return fail(fmt.Errorf("onnxruntime: %v", err))
			}
			preds[i] = argmaxRows(ts[0])
		}
		ref := labels
		if ref == nil {
			// agreement with nncc's float predictions
			ref, _, err = ev.Predict(m)
			if err != nil {
				return fail(err)
			}
		}
		r.fO, r.qO = agree(preds[0], ref), agree(preds[1], ref)
	}
	// Latency, batch 1, one thread.
	feeds, shapes, err := oneSample(m, c, dir)
	if err != nil {
		return fail(err)
	}
	r.nF, r.nQ, err = nnccLatency(m, q, feeds, shapes)
	if err != nil {
		r.err = "nncc latency: " + err.Error()
	}
	r.oF, r.oQ, err = ortLatency(fpath, qpath, dir, feeds)
	if err != nil {
		r.err = "onnxruntime latency: " + err.Error()
	}
	return r
}

func fileSize(p string) int64 {
	st, err := os.Stat(p)
	if err != nil {
		return 0
	}
	return st.Size()
}

func argmaxRows(t *ir.Tensor) []int64 {
	rows := int(t.Dims[0])
	cols := int(t.NumElements()) / rows
	v := t.Float64s()
	out := make([]int64, rows)
	for i := range rows {
		best := 0
		for j := 1; j < cols; j++ {
			if v[i*cols+j] > v[i*cols+best] {
				best = j
			}
		}
		out[i] = int64(best)
	}
	return out
}

func agree(a, b []int64) float64 {
	if len(a) != len(b) || len(a) == 0 {
		return math.NaN()
	}
	n := 0
	for i := range a {
		if a[i] == b[i] {
			n++
		}
	}
	return float64(n) / float64(len(a))
}

// oneSample returns one input set (batch 1) and writes it as .npy files
// for onnxruntime.
func oneSample(m *ir.Model, c qcase, dir string) (map[string]*ir.Tensor, map[string][]int64, error) {
	feeds := map[string]*ir.Tensor{}
	if c.evalX != "" {
		d, err := calib.Load(m, []string{c.evalX})
		if err != nil {
			return nil, nil, err
		}
		b, err := d.Batch(0, 1)
		if err != nil {
			return nil, nil, err
		}
		for k, v := range b {
			feeds[k] = v
		}
	} else {
		// Silero VAD: 512 samples of a seeded tone plus noise, zero state.
		xs := make([]float32, 512)
		for i := range xs {
			xs[i] = float32(0.3*math.Sin(float64(i)*0.07) + 0.01*math.Sin(float64(i*i)))
		}
		feeds["input"] = ir.FromFloat32([]int64{1, 512}, xs)
		feeds["state"] = ir.FromFloat32([]int64{2, 1, 128}, make([]float32, 256))
		feeds["sr"] = ir.FromInt64(nil, []int64{16000})
	}
	shapes := map[string][]int64{}
	for k, v := range feeds {
		shapes[k] = v.Dims
		writeNPY(filepath.Join(dir, k+".npy"), v)
	}
	return feeds, shapes, nil
}

func nnccLatency(f, q *ir.Model, feeds map[string]*ir.Tensor, shapes map[string][]int64) (float64, float64, error) {
	var sess [2]*runtime.Session
	for i, m := range []*ir.Model{f, q} {
		s, err := runtime.NewSession(m, runtime.Options{Threads: 1, Shapes: shapes})
		if err != nil {
			return 0, 0, err
		}
		sess[i] = s
	}
	var times [2][]float64
	deadline := time.Now().Add(6 * time.Second)
	for it := 0; it < 400 && (it < 6 || time.Now().Before(deadline)); it++ {
		for k := range 2 {
			i := (it + k) % 2
			t0 := time.Now()
			if _, err := sess[i].Run(feeds); err != nil {
				return 0, 0, err
			}
			if it >= 2 {
				times[i] = append(times[i], float64(time.Since(t0).Microseconds())/1000)
			}
		}
	}
	return med(times[0]), med(times[1]), nil
}

func med(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	slices.Sort(xs)
	return xs[len(xs)/2]
}

func ortLatency(fpath, qpath, dir string, feeds map[string]*ir.Tensor) (float64, float64, error) {
	in := map[string]string{}
	for k := range feeds {
		in[k] = filepath.Join(dir, k+".npy")
	}
	var rounds [2][]float64
	for round := range 3 {
		for k := range 2 {
			i := (round + k) % 2
			p := []string{fpath, qpath}[i]
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			res, err := ortref.Bench(ctx, p, ortref.BenchOptions{Inputs: in, Iters: 20, Warmup: 3, Threads: 1})
			cancel()
			if err != nil {
				return 0, 0, err
			}
			rounds[i] = append(rounds[i], res.MedianMS)
		}
	}
	return med(rounds[0]), med(rounds[1]), nil
}

func pct(x float64) string {
	if math.IsNaN(x) {
		return "—"
	}
	return fmt.Sprintf("%.2f%%", 100*x)
}

func kib(b int64) string { return fmt.Sprintf("%.1f KiB", float64(b)/1024) }

func render(rs []result) string {
	var b strings.Builder
	b.WriteString(`# Quantization

<!-- Generated by ` + "`go run ./bench/quantdoc`" + `; do not edit by hand. -->

nncc's ` + "`quantize`" + ` pass (see docs/passes.md) on the reference models:
static per-channel QDQ int8 (uint8 activations, min/max ranges, 7-bit
weights by default — ` + "`reduce-range`" + `) unless the row says otherwise, calibrated
with nncc's runtime. "nncc" columns are nncc's runtime, "ORT" onnxruntime
1.30 (CPU, all graph optimizations) on the same files. Latency: batch 1,
one thread, median ms, float32 and int8 measured interleaved on the same
machine (a shared 2-core AMD Zen with AVX-512 VNNI; absolute figures
vary with its load, compare within a row). Until the runtime's int8
kernels land (DequantizeLinear → Conv → QuantizeLinear as one int8
kernel), nncc runs a QDQ model as float math on dequantized tensors, so
its int8 column shows that cost, not int8 speed.

| model | quantize | data (calibration; evaluation) | metric | float nncc | int8 nncc | float ORT | int8 ORT | file float → int8 | weights float → int8 | nncc fp32 / int8 ms | ORT fp32 / int8 ms |
|---|---|---|---|---|---|---|---|---|---|---|---|
`)
	for _, r := range rs {
		if r.err != "" && r.metric == "" {
			fmt.Fprintf(&b, "| %s | `%s` | %s | — | — | — | — | — | — | — | — | %s |\n", r.c.name, r.c.qspec, r.c.data, strings.ReplaceAll(r.err, "|", "/"))
			continue
		}
		spec := r.c.qspec
		if r.c.maxDrop >= 0 {
			spec += fmt.Sprintf(" --max-drop %g", r.c.maxDrop)
		}
		fmt.Fprintf(&b, "| %s | `%s` | %s | %s | %s | %s | %s | %s | %s → %s (%.2f×) | %s → %s (%.2f×) | %.3f / %.3f (%.2f×) | %.3f / %.3f (%.2f×) |\n",
			r.c.name, spec, r.c.data, r.metric, pct(r.fN), pct(r.qN), pct(r.fO), pct(r.qO),
			kib(r.fBytes), kib(r.qBytes), float64(r.qBytes)/float64(r.fBytes),
			kib(sum(r.fParam)), kib(sum(r.qParam)), float64(sum(r.qParam))/float64(sum(r.fParam)),
			r.nF, r.nQ, r.nQ/r.nF, r.oF, r.oQ, r.oQ/r.oF)
	}
	b.WriteString("\n## Layers and the budget\n\n| model | layers int8 | layers left float | int8 share of weights | budget |\n|---|---|---|---|---|\n")
	for _, r := range rs {
		if r.metric == "" {
			continue
		}
		bud := "—"
		if f := r.budget; f != nil && r.c.maxDrop >= 0 {
			bud = fmt.Sprintf("all int8 %s (−%.2f points) → %d layers returned to float (%s) → %s (−%.2f points), %d candidates measured",
				pct(f.First.Metric()), f.FirstDrop, len(f.Returned), strings.Join(f.Returned, ", "), pct(f.Final.Metric()), f.FinalDrop, f.Measured)
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %.1f%% | %s |\n", r.c.name, r.layers, r.floatLayers, 100*r.int8Frac, bud)
	}
	b.WriteString(`
## Notes

- The torchvision models have random weights (with calibrated BatchNorm):
  the agreement columns say how often int8 picks the same class as float
  on the photo crops, not accuracy. Their calibration and evaluation crops
  come from the same two photographs (different random crops).
- ppocr_cls is PaddleOCR's trained text-orientation classifier (a real
  MobileNetV3 with hard-swish and squeeze-excitation); its data are text
  lines rendered by testmodels/ocr_data.py with labels.
- ` + "`--max-drop 0`" + ` ranks the quantized layers by the damage each does alone
  (output SQNR against float with only that layer quantized, on the
  calibration data) and returns the fewest most damaging ones to float
  (doubling, then bisection) until the held-out accuracy is no lower than
  float's.
- Regenerate with ` + "`go run ./bench/quantdoc`" + ` (needs the fetched models,
  onnxruntime's Node harness and /usr/bin/python3 with scikit-learn for
  the photo crops).
`)
	return b.String()
}

func sum(m map[string]int64) int64 {
	var s int64
	for _, v := range m {
		s += v
	}
	return s
}
