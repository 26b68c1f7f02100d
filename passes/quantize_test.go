package passes_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nncc/nncc/budget"
	"github.com/nncc/nncc/calib"
	"github.com/nncc/nncc/internal/onnxcheck"
	"github.com/nncc/nncc/internal/ortref"
	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/npy"
	"github.com/nncc/nncc/onnx"
	"github.com/nncc/nncc/passes"
	"github.com/nncc/nncc/testmodels"
)

const digitsData = "../testmodels/data"

func loadNPY(t *testing.T, path string) *ir.Tensor {
	t.Helper()
	x, err := npy.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// quantizeModel runs spec over the model file with calibration data and
// returns the result and the report.
func quantizeModel(t *testing.T, model, spec, calibFile string, threads int, b *budget.Budget) (*ir.Model, *passes.Report) {
	t.Helper()
	m, err := onnx.Load(model)
	if err != nil {
		t.Fatal(err)
	}
	ro := passes.RunOptions{Threads: threads, Budget: b}
	if calibFile != "" {
		d, err := calib.Load(m, []string{calibFile})
		if err != nil {
			t.Fatal(err)
		}
		ro.Calib = d
	}
	rep, err := mustParse(t, spec).Run(m, ro)
	if err != nil {
		t.Fatal(err)
	}
	if err := ir.Verify(m); err != nil {
		t.Fatal(err)
	}
	return m, rep
}

func nnccAccuracy(t *testing.T, m *ir.Model, x, y string) float64 {
	t.Helper()
	d, err := calib.Load(m, []string{x})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := budget.NewEvaluator(d, loadNPY(t, y).Int64s())
	if err != nil {
		t.Fatal(err)
	}
	s, err := ev.Score(m)
	if err != nil {
		t.Fatal(err)
	}
	return s.Accuracy
}

// ortAccuracy runs m through onnxruntime (all optimizations, as users
// run it) on x and returns the top-1 accuracy against y.
func ortAccuracy(t *testing.T, m *ir.Model, x, y string) float64 {
	t.Helper()
	ortref.Require(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "model.onnx")
	if err := onnx.Save(m, path, onnx.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	res, err := ortref.Run([]ortref.Job{{Model: path, Inputs: map[string]string{m.Graph.Inputs[0].Name: x}, Out: filepath.Join(dir, "out")}})
	if err != nil {
		t.Fatal(err)
	}
	outs, err := res[0].Tensors()
	if err != nil {
		t.Fatalf("onnxruntime: %v", err)
	}
	return accuracy(outs[0], loadNPY(t, y))
}

func checkONNX(t *testing.T, m *ir.Model) {
	t.Helper()
	onnxcheck.Require(t)
	path := filepath.Join(t.TempDir(), "model.onnx")
	if err := onnx.Save(m, path, onnx.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	rs, err := onnxcheck.Check([]string{path})
	if err != nil {
		t.Fatal(err)
	}
	if !rs[0].OK {
		t.Fatalf("ONNX checker: %s", rs[0].Error)
	}
}

func weightBytes(m *ir.Model) int64 {
	_, b := m.Graph.ParamStats()
	return b
}

// The digits CNN quantized statically per channel in QDQ keeps its
// accuracy within 0.2 points in onnxruntime at ≤ 0.35× the weight bytes,
// and nncc's runtime agrees with onnxruntime.
func TestQuantizeDigitsCNN(t *testing.T) {
	cnn := "../testmodels/digits_cnn.onnx"
	x, y := filepath.Join(digitsData, "digits_test_x.npy"), filepath.Join(digitsData, "digits_test_y.npy")
	cx := filepath.Join(digitsData, "digits_calib_x.npy")
	f, _ := onnx.Load(cnn)
	q, rep := quantizeModel(t, cnn, "default,quantize", cx, 1, nil)
	if n := countOps(q, "DequantizeLinear"); n == 0 {
		t.Fatal("no DequantizeLinear in the result")
	}
	ratio := float64(weightBytes(q)) / float64(weightBytes(f))
	if ratio > 0.35 {
		t.Errorf("weight bytes %.3f× of float, want ≤ 0.35", ratio)
	}
	d := rep.Passes[len(rep.Passes)-1].Details.(*passes.QuantizeDetails)
	if len(d.Layers) != 3 {
		t.Errorf("%d layers quantized, want 3 (2 Conv, Gemm)", len(d.Layers))
	}
	for _, l := range d.Layers {
		if l.SQNR == nil || *l.SQNR < 25 {
			t.Errorf("layer %s: SQNR %v dB, want ≥ 25", l.ID, l.SQNR)
		}
	}
	fa := nnccAccuracy(t, f, x, y)
	na := nnccAccuracy(t, q, x, y)
	oa := ortAccuracy(t, q, x, y)
	t.Logf("float %.4f, int8 nncc %.4f, onnxruntime %.4f, weights %.3f×", fa, na, oa, ratio)
	if fa-oa > 0.002+1e-9 {
		t.Errorf("onnxruntime accuracy %.4f loses more than 0.2 points from %.4f", oa, fa)
	}
	if na != oa {
		t.Errorf("nncc accuracy %.4f, onnxruntime %.4f", na, oa)
	}
	checkONNX(t, q)
}

// The same in QOperator form, with s8 activations and the other
// calibration methods: loads and runs in onnxruntime, passes the checker.
func TestQuantizeFormats(t *testing.T) {
	cnn := "../testmodels/digits_cnn.onnx"
	x, y := filepath.Join(digitsData, "digits_test_x.npy"), filepath.Join(digitsData, "digits_test_y.npy")
	cx := filepath.Join(digitsData, "digits_calib_x.npy")
	f, _ := onnx.Load(cnn)
	fa := nnccAccuracy(t, f, x, y)
	for _, spec := range []string{
		"default,quantize{format=qop}",
		"default,quantize{format=qop,activations=s8,per-channel=false}",
		"default,quantize{method=entropy,bias-correction=true}",
		"default,quantize{method=percentile,percentile=99.99}",
		"default,quantize{method=mse,activations=s8}",
		"default,quantize{ops=Conv:Gemm:MaxPool:AveragePool}",
	} {
		t.Run(spec, func(t *testing.T) {
			q, _ := quantizeModel(t, cnn, spec, cx, 1, nil)
			if bytes.Contains([]byte(spec), []byte("qop")) && countOps(q, "QLinearConv") != 2 {
				t.Errorf("%d QLinearConv, want 2", countOps(q, "QLinearConv"))
			}
			na := nnccAccuracy(t, q, x, y)
			oa := ortAccuracy(t, q, x, y)
			t.Logf("float %.4f, nncc %.4f, onnxruntime %.4f", fa, na, oa)
			if fa-oa > 0.01 || fa-na > 0.01 {
				t.Errorf("accuracy nncc %.4f, onnxruntime %.4f; float %.4f", na, oa, fa)
			}
			checkONNX(t, q)
		})
	}
}

// Dynamic quantization of the MLP loses at most 0.5 points.
func TestQuantizeDynamicMLP(t *testing.T) {
	mlp := "../testmodels/digits_mlp.onnx"
	x, y := filepath.Join(digitsData, "digits_test_x_flat.npy"), filepath.Join(digitsData, "digits_test_y.npy")
	f, _ := onnx.Load(mlp)
	q, _ := quantizeModel(t, mlp, "default,quantize{mode=dynamic}", "", 1, nil)
	if countOps(q, "MatMulInteger") != 3 {
		t.Fatalf("%d MatMulInteger, want 3", countOps(q, "MatMulInteger"))
	}
	fa, na := nnccAccuracy(t, f, x, y), nnccAccuracy(t, q, x, y)
	oa := ortAccuracy(t, q, x, y)
	t.Logf("float %.4f, int8 nncc %.4f, onnxruntime %.4f", fa, na, oa)
	if fa-na > 0.005+1e-9 || fa-oa > 0.005+1e-9 {
		t.Errorf("dynamic int8 loses more than 0.5 points: nncc %.4f, onnxruntime %.4f, float %.4f", na, oa, fa)
	}
	checkONNX(t, q)
}

// The output is byte-identical across runs and thread counts.
func TestQuantizeDeterministic(t *testing.T) {
	cnn := "../testmodels/digits_cnn.onnx"
	cx := filepath.Join(digitsData, "digits_calib_x.npy")
	var first []byte
	for i, threads := range []int{1, 2, 1, 3} {
		q, _ := quantizeModel(t, cnn, "default,quantize{method=entropy,bias-correction=true}", cx, threads, nil)
		path := filepath.Join(t.TempDir(), "q.onnx")
		if err := onnx.Save(q, path, onnx.SaveOptions{}); err != nil {
			t.Fatal(err)
		}
		b := readFile(t, path)
		if i == 0 {
			first = b
		} else if !bytes.Equal(b, first) {
			t.Fatalf("run %d (threads %d) wrote different bytes", i, threads)
		}
	}
}

// A model with nothing quantizable is left unchanged, with the reason.
func TestQuantizeNothing(t *testing.T) {
	mlp := "../testmodels/digits_mlp.onnx"
	m, err := onnx.Load(mlp)
	if err != nil {
		t.Fatal(err)
	}
	before := dump(m)
	d, err := calib.Load(m, []string{filepath.Join(digitsData, "digits_calib_x_flat.npy")})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := mustParse(t, "quantize{ops=Conv}").Run(m, passes.RunOptions{Calib: d})
	if err != nil {
		t.Fatal(err)
	}
	if dump(m) != before {
		t.Error("the model changed")
	}
	if pr := rep.Passes[0]; pr.Changed || len(pr.Declined) == 0 {
		t.Errorf("changed %v, declined %v", pr.Changed, pr.Declined)
	}
	// Static without data is an error, not a silent no-op.
	if _, err := mustParse(t, "quantize").Run(m, passes.RunOptions{}); err == nil {
		t.Error("static quantization without calibration data did not fail")
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// MatMul with a constant weight becomes QLinearMatMul with per-column
// weight scales (qop), or stays QDQ; both run in onnxruntime, agree with
// nncc and pass the checker. A shared weight is quantized once.
func TestQuantizeMatMulShared(t *testing.T) {
	b := testmodels.NewBuilder("mm", 13)
	x := b.Input("x", ir.Float32, 16, 8)
	w := b.F32("w", []int64{8, 6}, randF32(3, 48, -1, 1))
	y1 := b.Node("MatMul", []*ir.Value{x, w})
	y2 := b.Node("MatMul", []*ir.Value{b.Node("Relu", []*ir.Value{x}), w})
	b.Output(y1, y2)
	xs := ir.FromFloat32([]int64{16, 8}, randF32(4, 128, -2, 2))
	d, err := calib.FromTensors(map[string]*ir.Tensor{"x": xs})
	if err != nil {
		t.Fatal(err)
	}
	for _, spec := range []string{"quantize", "quantize{format=qop}"} {
		m := b.Model().Clone()
		want := outputs(t, m, map[string]*ir.Tensor{"x": xs})
		if _, err := mustParse(t, spec).Run(m, passes.RunOptions{Calib: d}); err != nil {
			t.Fatal(err)
		}
		int8s := 0
		for _, v := range m.Graph.Consts {
			if v.Const.DType == ir.Int8 && len(v.Const.Dims) == 2 {
				int8s++
			}
		}
		if int8s != 1 {
			t.Errorf("%s: %d int8 weight constants, want 1 (shared)", spec, int8s)
		}
		if spec != "quantize" && countOps(m, "QLinearMatMul") != 2 {
			t.Errorf("%s: %d QLinearMatMul, want 2", spec, countOps(m, "QLinearMatMul"))
		}
		got := outputs(t, m, map[string]*ir.Tensor{"x": xs})
		ort := ortOutputs(t, m, map[string]*ir.Tensor{"x": xs})
		for i, o := range m.Graph.Outputs {
			diff, rng := maxDiff(t, got[o.Name], want[o.Name])
			odiff, _ := maxDiff(t, ort[i], want[o.Name])
			if diff > 0.05*rng || odiff > 0.05*rng {
				t.Errorf("%s: output %s off by %.4f (nncc), %.4f (onnxruntime) of range %.2f", spec, o.Name, diff, odiff, rng)
			}
		}
		checkONNX(t, m)
	}
}

// exclude= leaves the named node in float and says so; ops= adds op types.
func TestQuantizeExcludeOps(t *testing.T) {
	cnn := "../testmodels/digits_cnn.onnx"
	cx := filepath.Join(digitsData, "digits_calib_x.npy")
	q, rep := quantizeModel(t, cnn, "default,quantize{exclude=/features/features.0/Conv}", cx, 1, nil)
	d := rep.Passes[len(rep.Passes)-1].Details.(*passes.QuantizeDetails)
	if len(d.Layers) != 2 || len(d.Float) != 1 || d.Float[0].Node != "/features/features.0/Conv" || d.Float[0].Reason != "excluded" {
		t.Errorf("layers %d, float %+v", len(d.Layers), d.Float)
	}
	for _, n := range q.Graph.Nodes {
		if n.Name == "/features/features.0/Conv" && n.Inputs[1].Const == nil {
			t.Error("the excluded Conv reads a dequantized weight")
		}
	}
	_, rep = quantizeModel(t, cnn, "default,quantize{ops=Conv:Gemm:AveragePool}", cx, 1, nil)
	d = rep.Passes[len(rep.Passes)-1].Details.(*passes.QuantizeDetails)
	if len(d.Layers) != 4 {
		t.Errorf("%d layers with AveragePool added, want 4", len(d.Layers))
	}
}

// The accuracy budget returns the most damaging layers to float until
// the drop is within --max-drop, and says which and why. (Aggressive
// percentile clipping makes the first Conv cost accuracy.)
func TestQuantizeBudgetFallback(t *testing.T) {
	cnn := "../testmodels/digits_cnn.onnx"
	x, y := filepath.Join(digitsData, "digits_test_x.npy"), filepath.Join(digitsData, "digits_test_y.npy")
	f, _ := onnx.Load(cnn)
	mustParseRun(t, f, "default", passes.RunOptions{})
	ed, err := calib.Load(f, []string{x})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := budget.NewEvaluator(ed, loadNPY(t, y).Int64s())
	if err != nil {
		t.Fatal(err)
	}
	b, err := budget.New(f, ev, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	q, rep := quantizeModel(t, cnn, "default,quantize{method=percentile,percentile=95}", filepath.Join(digitsData, "digits_calib_x.npy"), 1, b)
	d := rep.Passes[len(rep.Passes)-1].Details.(*passes.QuantizeDetails)
	fb := d.Budget
	if fb == nil || fb.FirstDrop <= 0.5 || !fb.Holds || fb.FinalDrop > 0.5 || len(fb.Returned) == 0 || len(fb.Returned) == 3 {
		t.Fatalf("budget record %+v", fb)
	}
	if len(d.Float) != len(fb.Returned) || !strings.Contains(d.Float[0].Reason, "accuracy budget") {
		t.Errorf("float nodes %+v", d.Float)
	}
	s, err := ev.Score(q)
	if err != nil {
		t.Fatal(err)
	}
	if b.Drop(s) > 0.5 {
		t.Errorf("kept model loses %.2f points", b.Drop(s))
	}
	t.Logf("all int8 −%.2f points; returned %v; kept −%.2f points", fb.FirstDrop, fb.Returned, fb.FinalDrop)
}
