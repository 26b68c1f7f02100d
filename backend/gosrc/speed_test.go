package gosrc

import (
	"strings"
	"testing"

	"github.com/nncc/nncc/calib"
	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/onnx"
	"github.com/nncc/nncc/passes"
	"github.com/nncc/nncc/testmodels"
)

// residualSelf adds a convolution's input to its output (the residual is
// the convolution's own input, which the output must not overwrite).
func residualSelf() *ir.Model {
	b := testmodels.NewBuilder("resself", 13)
	x := b.InputShape("x", ir.Float32, ir.Shape{ir.Sym("N"), ir.D(3), ir.D(4), ir.D(4)})
	r := b.Node("Relu", []*ir.Value{x})
	c := b.Node("Conv", []*ir.Value{r, b.F32("w", []int64{3, 3, 3, 3}, seq(81, 2))}, ir.IntsAttr("pads", 1, 1, 1, 1))
	b.Output(b.Node("Relu", []*ir.Value{b.Node("Add", []*ir.Value{c, r})}))
	return b.Model()
}

// TestResidualOfOwnInput: Relu(Conv(r) + r) keeps r intact while the
// convolution reads it.
func TestResidualOfOwnInput(t *testing.T) {
	m := residualSelf()
	h := buildGenerated(t, m, Options{Package: "resself"})
	compareRuntime(t, m, h, []int64{3, 4, 4}, 1, 2)
}

// plainModel uses only operators the generated code computes itself
// (no kernels calls): element-wise chains with broadcasting, Transpose,
// ReduceMean, Concat and Softmax.
func plainModel() *ir.Model {
	b := testmodels.NewBuilder("plain", 13)
	x := b.InputShape("x", ir.Float32, ir.Shape{ir.Sym("N"), ir.D(3), ir.D(4)})
	y := b.Node("Mul", []*ir.Value{x, b.F32("s", []int64{3, 1}, []float32{1, 2, 3})})
	y = b.Node("Sigmoid", []*ir.Value{b.Node("Add", []*ir.Value{y, b.F32("c", []int64{4}, []float32{0.5, -1, 2, 0})})})
	t := b.Node("Transpose", []*ir.Value{y}, ir.IntsAttr("perm", 0, 2, 1))
	r := b.Node("ReduceMean", []*ir.Value{t}, ir.IntsAttr("axes", 2))
	c := b.Node("Concat", []*ir.Value{t, r}, ir.IntAttr("axis", 2))
	b.Output(b.Node("Softmax", []*ir.Value{c}, ir.IntAttr("axis", -1)))
	return b.Model()
}

// TestRunDoesNotAllocate checks with testing.AllocsPerRun, inside the
// generated harness, that Run allocates nothing once its batch size is
// prepared, with package kernels on one thread and on two: a model whose
// code is all generated, the digits CNN (convolutions, pooling, GEMM),
// transposed convolutions and linear Resize. The int8 digits CNN is held
// to the allocations of package kernels' integer entry points
// (QPackedConv2D.RunRequant and QGemmPackedB still allocate a few
// objects per call inside kernels; the generated code adds none).
func TestRunDoesNotAllocate(t *testing.T) {
	checkAt := func(name string, h *Harness, per int, limit float64, batches ...int) {
		t.Helper()
		for _, threads := range []int{1, 2} {
			for _, batch := range batches {
				allocs, err := h.AllocsPerRun([][]float32{seq(per*batch, 1)}, 50, threads)
				if err != nil {
					t.Fatal(err)
				}
				if allocs > limit {
					t.Errorf("%s, batch %d, %d thread(s): Run allocates %.1f times per call, want ≤ %g", name, batch, threads, allocs, limit)
				}
			}
		}
	}
	check := func(name string, h *Harness, per int, batches ...int) {
		t.Helper()
		checkAt(name, h, per, 0, batches...)
	}
	h := buildGenerated(t, plainModel(), Options{Package: "plain"})
	compareRuntime(t, plainModel(), h, []int64{3, 4}, 1, 4)
	check("plain model", h, 12, 1, 7)
	check("digits CNN", buildGenerated(t, compileForGo(t, "../../testmodels/digits_cnn.onnx"), Options{Package: "digits"}), 64, 1, 5)
	q, err := onnx.Load("../../testmodels/digits_cnn.onnx")
	if err != nil {
		t.Fatal(err)
	}
	pl, err := passes.Parse("default,quantize")
	if err != nil {
		t.Fatal(err)
	}
	d, err := calib.Load(q, []string{"../../testmodels/data/digits_calib_x.npy"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pl.Run(q, passes.RunOptions{Calib: d}); err != nil {
		t.Fatal(err)
	}
	files, err := Generate(q, Options{Package: "digits8"})
	if err != nil {
		t.Fatal(err)
	}
	src := string(files[ModelFile])
	intCalls := strings.Count(src, ".RunRequant(") + strings.Count(src, "kernels.QGemmPackedB(")
	if intCalls != 3 {
		t.Fatalf("%d integer kernel calls in the int8 digits CNN, want 3", intCalls)
	}
	checkAt("int8 digits CNN", buildGenerated(t, q, Options{Package: "digits8"}), 64, float64(10*intCalls), 1, 5)
	check("ConvTranspose", buildGenerated(t, convTransposeModel(), Options{Package: "ct"}), 100, 1, 3)
	check("Resize", buildGenerated(t, resizeModel(), Options{Package: "resize"}), 60, 1, 3)
}

// broadcastModel mixes element-wise operands of many broadcast shapes
// against a (N,3,4,5) value, constant and computed (a per-channel pool
// and a per-row reduction), with a symbolic batch.
func broadcastModel() *ir.Model {
	b := testmodels.NewBuilder("bcast", 13)
	x := b.InputShape("x", ir.Float32, ir.Shape{ir.Sym("N"), ir.D(3), ir.D(4), ir.D(5)})
	y := b.Node("Mul", []*ir.Value{x, b.F32("c5", []int64{5}, seq(5, 1))})
	y = b.Node("Add", []*ir.Value{y, b.F32("c41", []int64{4, 1}, seq(4, 2))})
	y = b.Node("Sub", []*ir.Value{b.F32("c311", []int64{3, 1, 1}, seq(3, 3)), y})
	y = b.Node("Div", []*ir.Value{y, b.F32("c1315", []int64{1, 3, 1, 5}, []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})})
	y = b.Node("Add", []*ir.Value{y, b.F32("c341", []int64{3, 4, 1}, seq(12, 4))})
	s := b.Node("Sigmoid", []*ir.Value{b.Node("GlobalAveragePool", []*ir.Value{x})})             // (N,3,1,1)
	r := b.Node("ReduceMean", []*ir.Value{x}, ir.IntsAttr("axes", 3), ir.IntAttr("keepdims", 1)) // (N,3,4,1)
	z := b.Node("Mul", []*ir.Value{y, s})
	z = b.Node("Sub", []*ir.Value{z, b.Node("Tanh", []*ir.Value{r})})
	z = b.Node("Max", []*ir.Value{z, b.Node("Neg", []*ir.Value{x})})
	b.Output(b.Node("Clip", []*ir.Value{z, b.F32("lo", nil, []float32{-2}), b.F32("hi", nil, []float32{2})}))
	return b.Model()
}

// TestBroadcastPatterns checks the fused loop nests on many broadcast
// shapes against the runtime at batches 1, 2 and 5.
func TestBroadcastPatterns(t *testing.T) {
	m := broadcastModel()
	h := buildGenerated(t, m, Options{Package: "bcast"})
	compareRuntime(t, m, h, []int64{3, 4, 5}, 1, 2, 5)
}

// TestRunRejectsBadInputs: a wrong input count or length is an error
// from Run, not a panic.
func TestRunRejectsBadInputs(t *testing.T) {
	h := buildGenerated(t, plainModel(), Options{Package: "plain"})
	for _, c := range []struct {
		set  [][]float32
		want string
	}{
		{[][]float32{make([]float32, 13)}, "has 13 elements, want batch×12"},
		{[][]float32{{}}, "empty input"},
		{[][]float32{make([]float32, 12), make([]float32, 12)}, "takes 1 input(s), got 2"},
	} {
		_, err := h.Run([][][]float32{c.set})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want an error containing %q", err, c.want)
		}
	}
}

// TestHostileNames: node and value names from the model cannot break out
// of the comments and string literals they appear in.
func TestHostileNames(t *testing.T) {
	b := testmodels.NewBuilder("hostile", 13)
	x := b.InputShape("x\"\n}\nfunc init() { panic(1) }\n//", ir.Float32, ir.Shape{ir.Sym("N"), ir.D(3)})
	y := b.Node("Relu", []*ir.Value{x})
	m := b.Model()
	m.Graph.Nodes[0].Name = "n\n}\nfunc init() { panic(2) } // %v \\ `"
	b.Output(y)
	if err := ir.Verify(m); err != nil {
		t.Fatal(err)
	}
	h := buildGenerated(t, m, Options{Package: "hostile", Source: "evil\n}\n.onnx"})
	compareRuntime(t, m, h, []int64{3}, 2)
}
