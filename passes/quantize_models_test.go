package passes_test

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/nncc/nncc/budget"
	"github.com/nncc/nncc/calib"
	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/npy"
	"github.com/nncc/nncc/onnx"
	"github.com/nncc/nncc/passes"
)

// ppocrData returns PaddleOCR's classifier, its first 32 calibration
// samples as a Dataset, and the evaluation files; it skips when absent.
func ppocrData(t *testing.T) (model string, cal calib.Dataset, x, y string) {
	dir := extraModels()
	model = filepath.Join(dir, "ppocr_cls.onnx")
	data := filepath.Join(dir, "ppocr_cls_data")
	if _, err := os.Stat(filepath.Join(data, "eval_y.npy")); err != nil {
		t.Skip("PaddleOCR's classifier or its data is absent (sh passes/testdata/models/fetch.sh)")
	}
	m, err := onnx.Load(model)
	if err != nil {
		t.Fatal(err)
	}
	all, err := calib.Load(m, []string{filepath.Join(data, "calib_x.npy")})
	if err != nil {
		t.Fatal(err)
	}
	if cal, err = all.Slice(0, 32); err != nil {
		t.Fatal(err)
	}
	return model, cal, filepath.Join(data, "eval_x.npy"), filepath.Join(data, "eval_y.npy")
}

// A real MobileNetV3 (PaddleOCR's classifier: hard-swish, squeeze-
// excitation, residuals), calibrated on 32 real samples, loses at most
// 0.5 points on its 400 held-out samples; with --max-drop 0 it loses
// nothing and keeps at least half of its weights in int8.
func TestQuantizePPOCR(t *testing.T) {
	model, cal, x, y := ppocrData(t)
	m, err := onnx.Load(model)
	if err != nil {
		t.Fatal(err)
	}
	mustParseRun(t, m, "upgrade-opset{to=13},default", passes.RunOptions{})
	ed, err := calib.Load(m, []string{x})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := budget.NewEvaluator(ed, mustNPY(t, y).Int64s())
	if err != nil {
		t.Fatal(err)
	}
	drops := []float64{100, 0}
	if testing.Short() {
		drops = drops[:1]
	}
	for _, maxDrop := range drops {
		b, err := budget.New(m, ev, maxDrop)
		if err != nil {
			t.Fatal(err)
		}
		q := m.Clone()
		rep := mustParseRun(t, q, "quantize", passes.RunOptions{Calib: cal, Budget: b, Threads: 1})
		d := rep.Passes[0].Details.(*passes.QuantizeDetails)
		s, err := ev.Score(q)
		if err != nil {
			t.Fatal(err)
		}
		drop := b.Drop(s)
		t.Logf("max-drop %g: float %.4f, int8 %.4f (drop %.2f points), %d layers int8, %d float, int8 share of weights %.3f",
			maxDrop, b.Base.Accuracy, s.Accuracy, drop, len(d.Layers), len(d.Float), d.Int8Weights)
		if drop > math.Min(maxDrop, 0.5)+1e-9 {
			t.Errorf("max-drop %g: loses %.2f points", maxDrop, drop)
		}
		if d.Int8Weights < 0.5 {
			t.Errorf("max-drop %g: only %.3f of the weights are int8", maxDrop, d.Int8Weights)
		}
		if maxDrop == 0 {
			if d.Budget == nil || !d.Budget.Holds {
				t.Errorf("budget record %+v", d.Budget)
			}
			if ortA := ortAccuracy(t, q, x, y); ortA < b.Base.Accuracy-0.005 {
				t.Errorf("onnxruntime accuracy %.4f", ortA)
			}
		}
	}
}

// Dynamic quantization reaches Silero VAD's Convs inside its If
// branches; the speech probability moves little, in nncc and onnxruntime.
func TestQuantizeSileroDynamic(t *testing.T) {
	path := filepath.Join(extraModels(), "silero_vad_v5.onnx")
	if _, err := os.Stat(path); err != nil {
		t.Skip("Silero VAD is absent")
	}
	f, err := onnx.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	q := f.Clone()
	rep := mustParseRun(t, q, "quantize{mode=dynamic,ops=Conv:MatMul:Gemm}", passes.RunOptions{})
	if d := rep.Passes[0].Details.(*passes.QuantizeDetails); len(d.Layers) < 10 {
		t.Fatalf("%d layers quantized, want the 12 Convs of both branches", len(d.Layers))
	}
	in := vadFeed(false)()
	want := outputs(t, f, in)["output"].Float64s()[0]
	got := outputs(t, q, in)["output"].Float64s()[0]
	ort := ortOutputs(t, q, in)[0].Float64s()[0]
	t.Logf("speech probability float %.4f, int8 nncc %.4f, onnxruntime %.4f", want, got, ort)
	if math.Abs(got-want) > 0.05 || math.Abs(ort-want) > 0.05 {
		t.Errorf("speech probability float %.4f, int8 nncc %.4f, onnxruntime %.4f", want, got, ort)
	}
	checkONNX(t, q)
}

func mustParseRun(t *testing.T, m *ir.Model, spec string, ro passes.RunOptions) *passes.Report {
	t.Helper()
	rep, err := mustParse(t, spec).Run(m, ro)
	if err != nil {
		t.Fatal(err)
	}
	if err := ir.Verify(m); err != nil {
		t.Fatal(err)
	}
	return rep
}

func mustNPY(t *testing.T, path string) *ir.Tensor {
	t.Helper()
	x, err := npy.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	return x
}
