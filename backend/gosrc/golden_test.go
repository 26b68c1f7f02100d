package gosrc

import (
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/runtime"
	"github.com/nncc/nncc/testmodels"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// seq returns n deterministic values in [-1, 1).
func seq(n int, seed float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(math.Sin(seed + float64(i)*0.731))
	}
	return v
}

// tinyModel is a MobileNetV3-style block: Conv → Add → hard-swish as
// Clip/Mul/Div, a squeeze-excitation (GlobalAveragePool → Conv → Relu →
// Conv → HardSigmoid → Mul), then Flatten → Gemm → Softmax, with a
// symbolic batch.
func tinyModel() *ir.Model {
	b := testmodels.NewBuilder("tiny", 13)
	x := b.InputShape("x", ir.Float32, ir.Shape{ir.Sym("N"), ir.D(2), ir.D(5), ir.D(5)})
	w := b.F32("w", []int64{4, 2, 3, 3}, seq(72, 1))
	c := b.Node("Conv", []*ir.Value{x, w}, ir.IntsAttr("pads", 1, 1, 1, 1), ir.IntsAttr("kernel_shape", 3, 3))
	c = b.Node("Add", []*ir.Value{c, b.F32("bias", []int64{4, 1, 1}, seq(4, 2))})
	three, zero, six := b.F32("three", nil, []float32{3}), b.F32("zero", nil, []float32{0}), b.F32("six", nil, []float32{6})
	hs := b.Node("Clip", []*ir.Value{b.Node("Add", []*ir.Value{c, three}), zero, six})
	hs = b.Node("Div", []*ir.Value{b.Node("Mul", []*ir.Value{c, hs}), six})
	se := b.Node("GlobalAveragePool", []*ir.Value{hs})
	se = b.Node("Relu", []*ir.Value{b.Node("Conv", []*ir.Value{se, b.F32("w1", []int64{2, 4, 1, 1}, seq(8, 3)), b.F32("b1", []int64{2}, seq(2, 4))})})
	se = b.Node("Conv", []*ir.Value{se, b.F32("w2", []int64{4, 2, 1, 1}, seq(8, 5)), b.F32("b2", []int64{4}, seq(4, 6))})
	se = b.Node("HardSigmoid", []*ir.Value{se}, ir.FloatAttr("alpha", 1.0/6), ir.FloatAttr("beta", 0.5))
	y := b.Node("Mul", []*ir.Value{hs, se})
	y = b.Node("Flatten", []*ir.Value{y})
	y = b.Node("Gemm", []*ir.Value{y, b.F32("wf", []int64{3, 100}, seq(300, 7)), b.F32("bf", []int64{3}, seq(3, 8))}, ir.IntAttr("transB", 1))
	b.Output(b.Node("Softmax", []*ir.Value{y}, ir.IntAttr("axis", 1)))
	return b.Model()
}

// TestGolden pins the generated code of tinyModel (go test -update
// rewrites it) and checks that it builds, passes go vet and computes what
// the runtime computes at batches 1 and 3.
func TestGolden(t *testing.T) {
	m := tinyModel()
	if err := ir.Verify(m); err != nil {
		t.Fatal(err)
	}
	files, err := Generate(m, Options{Package: "tiny", Source: "tiny.onnx"})
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "tiny.golden")
	if *update {
		if err := os.WriteFile(golden, files[ModelFile], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != string(files[ModelFile]) {
		t.Errorf("generated code differs from %s (go test -run TestGolden -update to accept)", golden)
	}
	h := buildGenerated(t, m, Options{Package: "tiny", Source: "tiny.onnx"})
	compareRuntime(t, m, h, []int64{2, 5, 5}, 1, 3, 1)
}

// compareRuntime runs the generated harness h and the runtime on m at
// each batch size (inputs of per-sample dims per) and compares outputs
// within 1e-5.
func compareRuntime(t *testing.T, m *ir.Model, h *Harness, per []int64, batches ...int) {
	t.Helper()
	sess, err := runtime.NewSession(m, runtime.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, batch := range batches {
		dims := append([]int64{int64(batch)}, per...)
		x := seq(int(ir.NumElements(dims)), float64(batch))
		outs, err := h.Run([][][]float32{{x}})
		if err != nil {
			t.Fatal(err)
		}
		res, err := sess.Run(map[string]*ir.Tensor{m.Graph.Inputs[0].Name: ir.FromFloat32(dims, x)})
		if err != nil {
			t.Fatal(err)
		}
		ref := res[sess.OutputNames()[0]].Float32s()
		got := outs[0][0]
		if len(got) != len(ref) {
			t.Fatalf("batch %d: %d outputs, want %d", batch, len(got), len(ref))
		}
		distinct := map[float32]bool{}
		for _, v := range ref {
			distinct[v] = true
		}
		if len(distinct) < min(3, len(ref)) {
			t.Errorf("batch %d: the reference output has only %d distinct values: a weak test", batch, len(distinct))
		}
		for i := range got {
			if d := math.Abs(float64(got[i] - ref[i])); !(d <= 1e-5) {
				t.Errorf("batch %d: output %d = %g, runtime %g", batch, i, got[i], ref[i])
			}
		}
	}
}
