package passes_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/nncc/nncc/budget"
	"github.com/nncc/nncc/calib"
	"github.com/nncc/nncc/cost"
	"github.com/nncc/nncc/internal/ortref"
	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/npy"
	"github.com/nncc/nncc/onnx"
	"github.com/nncc/nncc/passes"
)

// pruneRun runs spec over the model at path with calibration data
// (may be "") and returns the model and the pass's report.
func pruneRun(t *testing.T, path, spec, calibFile string) (*ir.Model, *passes.Report) {
	t.Helper()
	m, err := onnx.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	var ro passes.RunOptions
	if calibFile != "" {
		d, err := calib.Load(m, []string{calibFile})
		if err != nil {
			t.Fatal(err)
		}
		ro.Calib = d
	}
	p, err := passes.Parse(spec)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := p.Run(m, ro)
	if err != nil {
		t.Fatal(err)
	}
	if err := ir.Verify(m); err != nil {
		t.Fatal(err)
	}
	return m, rep
}

// ortAccuracy saves m, runs it in onnxruntime on the samples in x and
// returns the top-1 accuracy against the labels in y.
func pruneORTAccuracy(t *testing.T, m *ir.Model, input, x, y string) float64 {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "m.onnx")
	if err := onnx.Save(m, path, onnx.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	res, err := ortref.Run([]ortref.Job{{Model: path, Inputs: map[string]string{input: x}, Out: filepath.Join(dir, "out")}})
	if err != nil {
		t.Fatalf("onnxruntime: %v", err)
	}
	outs, err := res[0].Tensors()
	if err != nil {
		t.Fatalf("onnxruntime: %v", err)
	}
	out := outs[0]
	labels, err := npy.Read(y)
	if err != nil {
		t.Fatal(err)
	}
	return top1(t, out, labels.Int64s())
}

func top1(t *testing.T, out *ir.Tensor, labels []int64) float64 {
	t.Helper()
	v := out.Float64s()
	k := int(out.Dims[len(out.Dims)-1])
	if len(v)/k != len(labels) {
		t.Fatalf("%d predictions for %d labels", len(v)/k, len(labels))
	}
	right := 0
	for i, l := range labels {
		best := 0
		for j := 1; j < k; j++ {
			if v[i*k+j] > v[i*k+best] {
				best = j
			}
		}
		if int64(best) == l {
			right++
		}
	}
	return float64(right) / float64(len(labels))
}

const (
	digitsY     = "../testmodels/data/digits_test_y.npy"
	digitsX     = "../testmodels/data/digits_test_x.npy"
	digitsXFlat = "../testmodels/data/digits_test_x_flat.npy"
	digitsCal   = "../testmodels/data/digits_calib_x.npy"
	digitsCalF  = "../testmodels/data/digits_calib_x_flat.npy"
)

func weightSparsity(m *ir.Model) float64 {
	var z, n int
	for _, nd := range m.Graph.Nodes {
		switch nd.OpType {
		case "Conv", "Gemm", "MatMul":
		default:
			continue
		}
		w := nd.Input(1)
		if w == nil || w.Const == nil {
			continue
		}
		for _, x := range w.Const.Float32View() {
			n++
			if x == 0 {
				z++
			}
		}
	}
	return float64(z) / float64(n)
}

// The targets for magnitude pruning of the digits models,
// measured in onnxruntime on the 450 held-out images.
func TestPruneMagnitudeDigits(t *testing.T) {
	ortref.Require(t)
	base := map[string]float64{"cnn": 0.9911, "mlp": 0.98}
	for _, tc := range []struct {
		name, model, x, cal, spec string
		maxDrop, minSparsity      float64
	}{
		{"mlp-50", "../testmodels/digits_mlp.onnx", digitsXFlat, "", "prune-magnitude{sparsity=0.5}", 0.005, 0.5},
		{"cnn-50-refit", "../testmodels/digits_cnn.onnx", digitsX, digitsCal, "prune-magnitude{sparsity=0.5,reconstruct=true}", 0.005, 0.5},
		{"cnn-80-refit", "../testmodels/digits_cnn.onnx", digitsX, digitsCal, "prune-magnitude{sparsity=0.8,reconstruct=true}", 0.03, 0.8},
		{"mlp-80-refit", "../testmodels/digits_mlp.onnx", digitsXFlat, digitsCalF, "prune-magnitude{sparsity=0.8,reconstruct=true}", 0.03, 0.8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, _ := pruneRun(t, tc.model, tc.spec, tc.cal)
			if s := weightSparsity(m); s < tc.minSparsity-0.01 {
				t.Errorf("weight sparsity %.3f, want ≥ %.2f", s, tc.minSparsity)
			}
			acc := pruneORTAccuracy(t, m, "input", tc.x, digitsY)
			b := base[tc.name[:3]]
			t.Logf("%s: accuracy %.4f (original %.4f)", tc.spec, acc, b)
			if acc < b-tc.maxDrop-1e-9 {
				t.Errorf("accuracy %.4f loses more than %.1f points", acc, 100*tc.maxDrop)
			}
		})
	}
	// Mask-only at 80% is what the re-fit rescues: it must be far worse.
	m, _ := pruneRun(t, "../testmodels/digits_cnn.onnx", "prune-magnitude{sparsity=0.8}", "")
	if acc := pruneORTAccuracy(t, m, "input", digitsX, digitsY); acc > 0.9 {
		t.Errorf("mask-only 80%% keeps %.4f: the test no longer shows what the re-fit does", acc)
	}
}

func macsParams(t *testing.T, m *ir.Model) (int64, int64) {
	r, err := cost.Analyze(m, map[string][]int64{"input": {1, 1, 8, 8}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := m.Graph.ParamStats()
	return r.MACs(), p
}

func TestPruneChannelsDigits(t *testing.T) {
	orig, err := onnx.Load("../testmodels/digits_cnn.onnx")
	if err != nil {
		t.Fatal(err)
	}
	m, rep := pruneRun(t, "../testmodels/digits_cnn.onnx", "prune-channels{ratio=0.3,reconstruct=true}", digitsCal)
	mac0, p0 := macsParams(t, orig)
	mac1, p1 := macsParams(t, m)
	t.Logf("MACs %d → %d, parameters %d → %d", mac0, mac1, p0, p1)
	if float64(mac1) > 0.75*float64(mac0) || float64(p1) > 0.75*float64(p0) {
		t.Errorf("MACs %d → %d, parameters %d → %d: want ≥ 25%% fewer of each", mac0, mac1, p0, p1)
	}
	if rep.Passes[0].ParamBytesAfter >= rep.Passes[0].ParamBytesBefore {
		t.Errorf("parameter bytes did not shrink: %+v", rep.Passes[0])
	}
	ortref.Require(t)
	acc := pruneORTAccuracy(t, m, "input", digitsX, digitsY)
	t.Logf("accuracy %.4f", acc)
	if acc < 0.9911-0.015 {
		t.Errorf("accuracy %.4f loses more than 1.5 points", acc)
	}
}

// ppocr_cls is a real MobileNetV3 (squeeze-excitation, residual Adds,
// hard-swish) with labelled held-out data.
func TestPruneChannelsMobileNetV3(t *testing.T) {
	if testing.Short() {
		t.Skip("long")
	}
	dir := extraModels()
	path, data := filepath.Join(dir, "ppocr_cls.onnx"), filepath.Join(dir, "ppocr_cls_data")
	if _, err := os.Stat(filepath.Join(data, "eval_y.npy")); err != nil {
		t.Skip("ppocr_cls and its data are not fetched")
	}
	ortref.Require(t)
	orig, err := onnx.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := pruneRun(t, path, "prune-channels{ratio=0.2,reconstruct=true}", filepath.Join(data, "calib_x.npy"))
	p0, _ := orig.Graph.ParamStats()
	p1, _ := m.Graph.ParamStats()
	if float64(p1) > 0.9*float64(p0) {
		t.Errorf("parameters %d → %d: want ≥ 10%% fewer", p0, p1)
	}
	acc := pruneORTAccuracy(t, m, "x", filepath.Join(data, "eval_x.npy"), filepath.Join(data, "eval_y.npy"))
	t.Logf("parameters %d → %d, accuracy %.4f (original 0.9675)", p0, p1, acc)
	if acc < 0.9675-0.12 {
		t.Errorf("accuracy %.4f loses more than 12 points", acc)
	}
}

func TestPruneBadOptions(t *testing.T) {
	for _, spec := range []string{
		"prune-magnitude{sparsity=1}", "prune-magnitude{sparsity=-0.5}", "prune-magnitude",
		"prune-magnitude{sparsity=0.5,threshold=0.1}", "prune-channels{ratio=1}", "prune-channels",
		"prune-magnitude{sparsity=0.5,reconstruct=true}", "prune-channels{ratio=0.2,reconstruct=true}",
	} {
		m, err := onnx.Load("../testmodels/digits_cnn.onnx")
		if err != nil {
			t.Fatal(err)
		}
		before, _, _, _ := onnx.Marshal(m, "", onnx.SaveOptions{})
		p, err := passes.Parse(spec)
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.Run(m, passes.RunOptions{})
		if !errors.Is(err, passes.ErrBadOption) {
			t.Errorf("%s: err = %v, want ErrBadOption", spec, err)
		}
		after, _, _, _ := onnx.Marshal(m, "", onnx.SaveOptions{})
		if string(before) != string(after) {
			t.Errorf("%s changed the model on error", spec)
		}
	}
}

// Deliver 7: fold-bn must not leave the folded parameters behind.
func TestFoldBNWritesNoMoreBytes(t *testing.T) {
	for _, path := range []string{"../testmodels/digits_cnn_constnodes.onnx", "../testmodels/digits_cnn.onnx"} {
		m, rep := pruneRun(t, path, "fold-bn", "")
		pr := rep.Passes[0]
		if !pr.Changed || pr.ParamBytesAfter > pr.ParamBytesBefore {
			t.Errorf("%s: fold-bn parameter bytes %d → %d", path, pr.ParamBytesBefore, pr.ParamBytesAfter)
		}
		out := filepath.Join(t.TempDir(), "o.onnx")
		if err := onnx.Save(m, out, onnx.SaveOptions{}); err != nil {
			t.Fatal(err)
		}
		a, _ := os.Stat(path)
		b, _ := os.Stat(out)
		if b.Size() > a.Size() {
			t.Errorf("%s: %d bytes in, %d out", path, a.Size(), b.Size())
		}
	}
}

// With a budget and no sparsity, prune-magnitude searches per-layer
// sparsities: the result holds the budget, prunes more than nothing, and
// the sensitivity curves are reported and drawn.
func TestPruneMagnitudeBudget(t *testing.T) {
	m, err := onnx.Load("../testmodels/digits_cnn.onnx")
	if err != nil {
		t.Fatal(err)
	}
	ev := digitsEvaluator(t, m)
	b, err := budget.New(m, ev, 1)
	if err != nil {
		t.Fatal(err)
	}
	cal, err := calib.Load(m, []string{digitsCal})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := passes.Parse("prune-magnitude{reconstruct=true}")
	dir := t.TempDir()
	rep, err := p.Run(m, passes.RunOptions{Calib: cal, Budget: b, Plots: passes.DirPlots(dir)})
	if err != nil {
		t.Fatal(err)
	}
	det := rep.Passes[0].Details.(*passes.MagnitudeDetails)
	if det.Sensitivity == nil || len(det.Sensitivity.Layers) != 3 || len(det.Sensitivity.Model) == 0 {
		t.Fatalf("sensitivity %+v", det.Sensitivity)
	}
	s, holds, err := b.Measure(m)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("sparsity %.3f, accuracy %.4f", det.Sparsity, s.Accuracy)
	if !holds || det.Sparsity < 0.5 {
		t.Errorf("sparsity %.3f at accuracy %.4f (base %.4f, budget 1 point)", det.Sparsity, s.Accuracy, b.Base.Accuracy)
	}
	for _, f := range []string{"prune-magnitude-layers.png", "prune-magnitude-model.png"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() < 1000 {
			t.Errorf("plot %s: %v", f, err)
		}
	}
}

func digitsEvaluator(t *testing.T, m *ir.Model) *budget.Evaluator {
	t.Helper()
	d, err := calib.Load(m, []string{digitsX})
	if err != nil {
		t.Fatal(err)
	}
	y, err := npy.Read(digitsY)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := budget.NewEvaluator(d, y.Int64s())
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// torchvision's MobileNetV3-small (random weights: structure only) pruned
// structurally runs in onnxruntime with the original's output shape.
func TestPruneChannelsTorchvisionMobileNetV3(t *testing.T) {
	path := filepath.Join(extraModels(), "tv", "mobilenet_v3_small.onnx")
	if _, err := os.Stat(path); err != nil {
		t.Skip("torchvision exports are not fetched")
	}
	orig, err := onnx.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	m, rep := pruneRun(t, path, "eliminate-identity,prune-channels{ratio=0.2}", "")
	det := rep.Passes[1].Details.(*passes.ChannelDetails)
	p0, _ := orig.Graph.ParamStats()
	p1, _ := m.Graph.ParamStats()
	t.Logf("parameters %d → %d, %d channels removed", p0, p1, det.Removed)
	if float64(p1) > 0.9*float64(p0) {
		t.Errorf("parameters %d → %d: want ≥ 10%% fewer", p0, p1)
	}
	ortref.Require(t)
	dir := t.TempDir()
	pruned := filepath.Join(dir, "p.onnx")
	if err := onnx.Save(m, pruned, onnx.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	x := make([]float32, 3*224*224)
	for i := range x {
		x[i] = float32(i%17)/17 - 0.5
	}
	var buf bytes.Buffer
	if err := npy.Encode(&buf, ir.FromFloat32([]int64{1, 3, 224, 224}, x)); err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(dir, "x.npy")
	if err := os.WriteFile(in, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	feed := map[string]string{"input": in}
	res, err := ortref.Run([]ortref.Job{
		{Model: path, Out: filepath.Join(dir, "a"), Inputs: feed},
		{Model: pruned, Out: filepath.Join(dir, "b"), Inputs: feed},
	})
	if err != nil {
		t.Fatal(err)
	}
	a, err := res[0].Tensors()
	if err != nil {
		t.Fatal(err)
	}
	b, err := res[1].Tensors()
	if err != nil {
		t.Fatalf("onnxruntime on the pruned model: %v", err)
	}
	if len(a) != len(b) || len(a) == 0 || fmt.Sprint(a[0].Dims) != fmt.Sprint(b[0].Dims) {
		t.Errorf("outputs %v, original %v", b[0].Dims, a[0].Dims)
	}
}

// Pruning then quantize: every pruned zero is still exactly zero after
// dequantization (its int8 value equals the zero point).
func TestPruneThenQuantizeKeepsZeros(t *testing.T) {
	m, _ := pruneRun(t, "../testmodels/digits_cnn.onnx", "prune-magnitude{sparsity=0.8,reconstruct=true}", digitsCal)
	zeros := map[string][]bool{}
	for _, v := range m.Graph.Consts {
		if v.Const.DType != ir.Float32 || len(v.Const.Dims) < 2 {
			continue
		}
		z := make([]bool, v.Const.NumElements())
		for i, x := range v.Const.Float32View() {
			z[i] = x == 0
		}
		zeros[v.Name] = z
	}
	cal, err := calib.Load(m, []string{digitsCal})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := passes.Parse("quantize")
	if _, err := p.Run(m, passes.RunOptions{Calib: cal}); err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, n := range m.Graph.Nodes {
		if n.OpType != "DequantizeLinear" || n.Input(0) == nil || n.Input(0).Const == nil {
			continue
		}
		q := n.Input(0).Const
		var zp int64
		if z := n.Input(2); z != nil && z.Const != nil {
			zs := z.Const.Int64s()
			zp = zs[0]
			same := true
			for _, x := range zs {
				same = same && x == zp
			}
			if !same {
				t.Fatalf("%s: per-channel zero points differ (%v); the check needs the axis", n.Input(0).Name, zs)
			}
		}
		for name, z := range zeros {
			if n.Input(0).Name != name+"_quantized" {
				continue
			}
			vals := q.Int64s()
			for i, isZero := range z {
				if isZero && vals[i] != zp {
					t.Fatalf("%s[%d] was pruned to 0 but quantizes to %d (zero point %d)", name, i, vals[i], zp)
				}
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no quantized weight matched a pruned one")
	}
	ortref.Require(t)
	acc := pruneORTAccuracy(t, m, "input", digitsX, digitsY)
	t.Logf("80%% sparse, re-fitted, int8: accuracy %.4f (%d weights checked)", acc, checked)
	if acc < 0.9911-0.04 {
		t.Errorf("accuracy %.4f after prune and quantize", acc)
	}
}

// bn-stats re-estimates BatchNormalization after pruning: without a
// re-fit it recovers most of what channel removal costs on the digits CNN
// (58% → above 95% here).
func TestPruneBNStats(t *testing.T) {
	for _, tc := range []struct {
		spec string
		lo   float64
	}{
		{"prune-channels{ratio=0.3}", 0},
		{"prune-channels{ratio=0.3,bn-stats=true}", 0.95},
	} {
		m, rep := pruneRun(t, "../testmodels/digits_cnn.onnx", tc.spec, digitsCal)
		ev := digitsEvaluator(t, m)
		s, err := ev.Score(m)
		if err != nil {
			t.Fatal(err)
		}
		det := rep.Passes[0].Details.(*passes.ChannelDetails)
		t.Logf("%s: accuracy %.4f, BN re-estimated: %v", tc.spec, s.Accuracy, det.BNStats)
		if tc.lo == 0 && s.Accuracy > 0.9 {
			t.Errorf("%s keeps %.4f: the test no longer shows what bn-stats does", tc.spec, s.Accuracy)
		}
		if tc.lo > 0 && (s.Accuracy < tc.lo || len(det.BNStats) != 2) {
			t.Errorf("%s: accuracy %.4f, BN %v", tc.spec, s.Accuracy, det.BNStats)
		}
	}
}

// With a budget and no ratio, prune-channels searches per-group ratios:
// the result holds the budget and removes far more than the fixed 0.3.
func TestPruneChannelsBudget(t *testing.T) {
	m, err := onnx.Load("../testmodels/digits_cnn.onnx")
	if err != nil {
		t.Fatal(err)
	}
	mac0, _ := macsParams(t, m)
	b, err := budget.New(m, digitsEvaluator(t, m), 1.5)
	if err != nil {
		t.Fatal(err)
	}
	cal, err := calib.Load(m, []string{digitsCal})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := passes.Parse("prune-channels{reconstruct=true}")
	rep, err := p.Run(m, passes.RunOptions{Calib: cal, Budget: b})
	if err != nil {
		t.Fatal(err)
	}
	det := rep.Passes[0].Details.(*passes.ChannelDetails)
	if det.Sensitivity == nil || len(det.Sensitivity.Layers) != 2 {
		t.Fatalf("sensitivity %+v", det.Sensitivity)
	}
	mac1, _ := macsParams(t, m)
	s, holds, err := b.Measure(m)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("MACs %d → %d, accuracy %.4f", mac0, mac1, s.Accuracy)
	if !holds || float64(mac1) > 0.6*float64(mac0) {
		t.Errorf("MACs %d → %d at accuracy %.4f (base %.4f, budget 1.5 points)", mac0, mac1, s.Accuracy, b.Base.Accuracy)
	}
}

// The same input gives the same bytes, whatever the thread count.
func TestPruneDeterministic(t *testing.T) {
	var outs [][]byte
	for _, threads := range []int{1, 2} {
		m, err := onnx.Load("../testmodels/digits_cnn.onnx")
		if err != nil {
			t.Fatal(err)
		}
		cal, err := calib.Load(m, []string{digitsCal})
		if err != nil {
			t.Fatal(err)
		}
		p, _ := passes.Parse("prune-channels{ratio=0.3,reconstruct=true},prune-magnitude{sparsity=0.5,reconstruct=true}")
		if _, err := p.Run(m, passes.RunOptions{Calib: cal, Threads: threads}); err != nil {
			t.Fatal(err)
		}
		b, _, _, err := onnx.Marshal(m, "m.onnx", onnx.SaveOptions{Sparse: true})
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, b)
	}
	if !bytes.Equal(outs[0], outs[1]) {
		t.Error("1 and 2 threads give different models")
	}
}
