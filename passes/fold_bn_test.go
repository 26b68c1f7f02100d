package passes_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/passes"
	"github.com/nncc/nncc/testmodels"
)

// constOf adds a seeded random constant of type dt.
func constOf(b *testmodels.Builder, name string, dt ir.DType, dims []int64, seed uint64, lo, hi float32) *ir.Value {
	n := int(ir.NumElements(dims))
	f := randF32(seed, n, lo, hi)
	d := make([]float64, n)
	for i, v := range f {
		d[i] = float64(v)
	}
	return b.Const(name, ir.FromFloat64(dt, dims, d))
}

// bn appends a BatchNormalization over C channels with seeded statistics
// (variances in [0.1, 1), so the fold scales weights by up to ~3).
func bn(b *testmodels.Builder, x *ir.Value, C int64, dt ir.DType, seed uint64) *ir.Value {
	c := []int64{C}
	return b.Node("BatchNormalization", []*ir.Value{x,
		constOf(b, "scale", dt, c, seed, 0.5, 1.5), constOf(b, "bias", dt, c, seed+1, -1, 1),
		constOf(b, "mean", dt, c, seed+2, -1, 1), constOf(b, "var", dt, c, seed+3, 0.1, 1)},
		ir.FloatAttr("epsilon", 1e-3))
}

func TestFoldBNIntoConv(t *testing.T) {
	for _, tc := range []struct {
		name       string
		dt         ir.DType
		cin, cout  int64
		group      int64
		bias       bool
		transpose  bool
		atol, rtol float64
	}{
		{"conv", ir.Float32, 3, 4, 1, true, false, 1e-5, 1e-4},
		{"conv-no-bias", ir.Float32, 3, 4, 1, false, false, 1e-5, 1e-4},
		{"grouped", ir.Float32, 4, 6, 2, true, false, 1e-5, 1e-4},
		{"depthwise", ir.Float32, 4, 4, 4, false, false, 1e-5, 1e-4},
		{"depthwise-multiplier", ir.Float32, 3, 6, 3, true, false, 1e-5, 1e-4},
		{"float64", ir.Float64, 3, 4, 1, true, false, 1e-12, 1e-10},
		// float16 weights are rounded once after folding: a few ulps of
		// float16 on outputs of magnitude ~10.
		{"float16", ir.Float16, 3, 4, 1, true, false, 2e-2, 1e-2},
		{"convtranspose", ir.Float32, 3, 4, 1, true, true, 1e-5, 1e-4},
		{"convtranspose-grouped", ir.Float32, 4, 6, 2, false, true, 1e-5, 1e-4},
		{"convtranspose-depthwise", ir.Float32, 4, 4, 4, true, true, 1e-5, 1e-4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := testmodels.NewBuilder("m", 15)
			x := b.Input("x", tc.dt, 2, tc.cin, 5, 5)
			var w *ir.Value
			op := "Conv"
			if tc.transpose {
				op = "ConvTranspose"
				w = constOf(b, "w", tc.dt, []int64{tc.cin, tc.cout / tc.group, 3, 3}, 1, -1, 1)
			} else {
				w = constOf(b, "w", tc.dt, []int64{tc.cout, tc.cin / tc.group, 3, 3}, 1, -1, 1)
			}
			ins := []*ir.Value{x, w}
			if tc.bias {
				ins = append(ins, constOf(b, "b", tc.dt, []int64{tc.cout}, 2, -1, 1))
			}
			y := b.Node(op, ins, ir.IntAttr("group", tc.group), ir.IntsAttr("pads", 1, 1, 1, 1))
			b.Output(b.Node("Relu", []*ir.Value{bn(b, y, tc.cout, tc.dt, 10)}))
			m := b.Model()
			var rep *passes.Report
			if tc.dt == ir.Float64 {
				// nncc's runtime has no float64 Conv: fold in float64, then
				// compare float32 copies of the model before and after.
				orig := clone(t, m)
				var err error
				if rep, err = mustParse(t, "fold-bn,eliminate-dead").Run(m, passes.RunOptions{}); err != nil {
					t.Fatal(err)
				}
				compareAsFloat32(t, orig, m, 1e-5, 1e-4)
			} else {
				rep = run(t, m, "fold-bn,eliminate-dead", tc.atol, tc.rtol)
			}
			if got := ops(m.Graph); got != op+" Relu" {
				t.Fatalf("nodes after: %s", got)
			}
			conv := m.Graph.Nodes[0]
			if len(conv.Inputs) != 3 || conv.Inputs[2] == nil || conv.Inputs[2].Const.DType != tc.dt || conv.Inputs[1].Const.DType != tc.dt {
				t.Errorf("folded %s inputs: %v", op, conv.Inputs)
			}
			if len(rep.Passes[0].Declined) != 0 {
				t.Errorf("declined: %v", rep.Passes[0].Declined)
			}
			// The model lost the 4·C statistics and kept one bias of C.
			before, after := rep.Passes[0].ParamsBefore, rep.Passes[1].ParamsAfter
			want := before - 4*tc.cout
			if !tc.bias {
				want += tc.cout
			}
			if after != want {
				t.Errorf("params %d → %d, want %d", before, after, want)
			}
		})
	}
}

func TestFoldBNIntoGemm(t *testing.T) {
	for _, tc := range []struct {
		name   string
		transB int64
		cdims  []int64 // nil: no C
		alpha  float32
		beta   float32
	}{
		{"transB0-noC", 0, nil, 1, 1},
		{"transB1-noC", 1, nil, 1, 1},
		{"transB0-C-N", 0, []int64{5}, 1, 1},
		{"transB1-C-1xN", 1, []int64{1, 5}, 2, 0.5},
		{"transB0-C-MxN", 0, []int64{3, 5}, 1, 3},
		{"transB1-C-Mx1", 1, []int64{3, 1}, 0.5, 1},
		{"transB0-C-scalar", 0, []int64{}, 1, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := testmodels.NewBuilder("m", 13)
			x := b.Input("x", ir.Float32, 3, 4)
			wd := []int64{4, 5}
			if tc.transB == 1 {
				wd = []int64{5, 4}
			}
			ins := []*ir.Value{x, constOf(b, "w", ir.Float32, wd, 1, -1, 1)}
			if tc.cdims != nil {
				ins = append(ins, constOf(b, "c", ir.Float32, tc.cdims, 2, -1, 1))
			}
			y := b.Node("Gemm", ins, ir.IntAttr("transB", tc.transB), ir.FloatAttr("alpha", tc.alpha), ir.FloatAttr("beta", tc.beta))
			b.Output(bn(b, y, 5, ir.Float32, 20))
			m := b.Model()
			run(t, m, "fold-bn,eliminate-dead")
			if got := ops(m.Graph); got != "Gemm" {
				t.Fatalf("nodes after: %s", got)
			}
			g := m.Graph.Nodes[0]
			if g.Attr("beta") != nil || g.AttrFloat("alpha", 1) != tc.alpha {
				t.Errorf("attributes after: %v", attrString(g))
			}
		})
	}
}

// A BatchNormalization after a MatMul folds its scale into the weight and
// becomes an Add; fuse-matmul-add then makes a Gemm of the pair.
func TestFoldBNIntoMatMul(t *testing.T) {
	b := testmodels.NewBuilder("m", 13)
	x := b.Input("x", ir.Float32, 3, 4)
	y := b.Node("MatMul", []*ir.Value{x, constOf(b, "w", ir.Float32, []int64{4, 5}, 1, -1, 1)})
	b.Output(bn(b, y, 5, ir.Float32, 30))
	m := b.Model()
	run(t, m, "fold-bn")
	if got := ops(m.Graph); got != "MatMul Add" {
		t.Fatalf("after fold-bn: %s", got)
	}
	run(t, m, "fuse-matmul-add,eliminate-dead")
	if got := ops(m.Graph); got != "Gemm" {
		t.Fatalf("after fuse-matmul-add: %s", got)
	}
	golden(t, "fold_bn_matmul", dump(m))

	// A rank-3 MatMul output has its channel axis elsewhere: Mul+Add.
	b = testmodels.NewBuilder("m", 13)
	x = b.Input("x", ir.Float32, 2, 5, 4)
	y = b.Node("MatMul", []*ir.Value{x, constOf(b, "w", ir.Float32, []int64{4, 3}, 1, -1, 1)})
	b.Output(bn(b, y, 5, ir.Float32, 30))
	m = b.Model()
	rep := run(t, m, "fold-bn")
	if got := ops(m.Graph); got != "MatMul Mul Add" {
		t.Fatalf("rank 3: %s", got)
	}
	if d := rep.Passes[0].Declined; len(d) != 1 || !strings.Contains(d[0].Reason, "rank 3") {
		t.Errorf("declines %v", d)
	}
}

// When the producer's output is read elsewhere or is a graph output, the
// BatchNormalization does not fold; it becomes Mul+Add, or stays with
// mul-add=false.
func TestFoldBNSharedProducer(t *testing.T) {
	for _, spec := range []string{"fold-bn", "fold-bn{mul-add=false}"} {
		for _, graphOutput := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/graph-output=%v", spec, graphOutput), func(t *testing.T) {
				b := testmodels.NewBuilder("m", 13)
				x := b.Input("x", ir.Float32, 1, 2, 4, 4)
				y := b.Node("Conv", []*ir.Value{x, constOf(b, "w", ir.Float32, []int64{3, 2, 1, 1}, 1, -1, 1)})
				z := bn(b, y, 3, ir.Float32, 40)
				if graphOutput {
					b.Output(z, y)
				} else {
					b.Output(z, b.Node("Relu", []*ir.Value{y}))
				}
				m := b.Model()
				rep := run(t, m, spec)
				want := "Conv Mul Add"
				if spec != "fold-bn" {
					want = "Conv BatchNormalization"
				}
				if !graphOutput {
					want += " Relu"
				}
				if got := ops(m.Graph); got != want {
					t.Fatalf("nodes after: %s, want %s", got, want)
				}
				if d := rep.Passes[0].Declined; len(d) != 1 || !strings.Contains(d[0].Reason, "also read elsewhere") {
					t.Errorf("declines %v", d)
				}
				if m.Graph.Outputs[0].Name != z.Name {
					t.Errorf("output renamed to %s", m.Graph.Outputs[0].Name)
				}
			})
		}
	}
}

// Mul+Add leaves out a factor of exactly 1 and a term of exactly 0.
func TestFoldBNMulAddOmitsNoops(t *testing.T) {
	for _, tc := range []struct {
		scale, bias float32
		want        string
	}{{1, 0.5, "Relu Add"}, {2, 0, "Relu Mul"}, {1, 0, "Relu"}} {
		b := testmodels.NewBuilder("m", 13)
		x := b.Input("x", ir.Float32, 1, 2, 3)
		r := b.Node("Relu", []*ir.Value{x})
		c := []int64{2}
		// var+ε = 1 exactly, mean 0.
		y := b.Node("BatchNormalization", []*ir.Value{r, b.F32("s", c, []float32{tc.scale, tc.scale}),
			b.F32("b", c, []float32{tc.bias, tc.bias}), b.F32("m", c, []float32{0, 0}), b.F32("v", c, []float32{0.75, 0.75})},
			ir.FloatAttr("epsilon", 0.25))
		b.Output(y)
		m := b.Model()
		run(t, m, "fold-bn,eliminate-dead")
		if got := ops(m.Graph); got != tc.want {
			t.Errorf("scale %v bias %v: %s, want %s", tc.scale, tc.bias, got, tc.want)
		}
		if m.Graph.Outputs[0].Name != y.Name {
			t.Errorf("output renamed")
		}
	}
}

func TestFoldBNDeclines(t *testing.T) {
	for _, tc := range []struct {
		name, why string
		opset     int64
		build     func(b *testmodels.Builder, x *ir.Value) *ir.Value
	}{
		{"training-mode", "training_mode=1", 15, func(b *testmodels.Builder, x *ir.Value) *ir.Value {
			n := bn(b, x, 2, ir.Float32, 1)
			b.Graph().Nodes[len(b.Graph().Nodes)-1].SetAttr(ir.IntAttr("training_mode", 1))
			return n
		}},
		{"stat-outputs-before-14", "training mode before opset 14", 9, func(b *testmodels.Builder, x *ir.Value) *ir.Value {
			c := []int64{2}
			outs := b.NodeN("BatchNormalization", []*ir.Value{x, b.F32("s", c, []float32{1, 1}), b.F32("b", c, []float32{0, 0}),
				b.F32("m", c, []float32{0, 0}), b.F32("v", c, []float32{1, 1})}, 5)
			return outs[0]
		}},
		{"non-constant-mean", "mean is not a constant", 15, func(b *testmodels.Builder, x *ir.Value) *ir.Value {
			c := []int64{2}
			return b.Node("BatchNormalization", []*ir.Value{x, b.F32("s", c, []float32{1, 1}), b.F32("b", c, []float32{0, 0}),
				b.Input("mean", ir.Float32, 2), b.F32("v", c, []float32{1, 1})})
		}},
		{"negative-variance", "var+epsilon", 15, func(b *testmodels.Builder, x *ir.Value) *ir.Value {
			c := []int64{2}
			return b.Node("BatchNormalization", []*ir.Value{x, b.F32("s", c, []float32{1, 1}), b.F32("b", c, []float32{0, 0}),
				b.F32("m", c, []float32{0, 0}), b.F32("v", c, []float32{1, -1})})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := testmodels.NewBuilder("m", tc.opset)
			x := b.Input("x", ir.Float32, 1, 2, 3)
			b.Output(tc.build(b, b.Node("Relu", []*ir.Value{x})))
			m := b.Model()
			before := dump(m)
			rep, err := mustParse(t, "fold-bn").Run(m, passes.RunOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if dump(m) != before {
				t.Errorf("graph changed:\n%s", dump(m))
			}
			if d := rep.Passes[0].Declined; len(d) != 1 || !strings.Contains(d[0].Reason, tc.why) {
				t.Errorf("declines %v, want %q", d, tc.why)
			}
		})
	}
}

// Weights shared by two Convs are not modified in place.
func TestFoldBNSharedWeights(t *testing.T) {
	b := testmodels.NewBuilder("m", 13)
	x := b.Input("x", ir.Float32, 1, 2, 4, 4)
	w := constOf(b, "w", ir.Float32, []int64{3, 2, 3, 3}, 1, -1, 1)
	y1 := b.Node("Conv", []*ir.Value{x, w})
	y2 := b.Node("Conv", []*ir.Value{x, w})
	b.Output(bn(b, y1, 3, ir.Float32, 5), y2)
	m := b.Model()
	before := w.Const.Clone()
	run(t, m, "fold-bn,eliminate-dead")
	if got := ops(m.Graph); got != "Conv Conv" {
		t.Fatalf("nodes after: %s", got)
	}
	if m.Graph.Nodes[1].Inputs[1] != w || string(w.Const.Data) != string(before.Data) {
		t.Error("the shared weight changed")
	}
}

// compareAsFloat32 converts float64 constants and inputs of both models to
// float32 and compares their outputs on seeded inputs.
func compareAsFloat32(t *testing.T, a, b *ir.Model, atol, rtol float64) {
	t.Helper()
	a, b = clone(t, a), clone(t, b)
	for _, m := range []*ir.Model{a, b} {
		m.Graph.Walk(func(g *ir.Graph) {
			for _, v := range g.Consts {
				if v.Const.DType == ir.Float64 {
					v.Const = ir.FromFloat32(v.Const.Dims, v.Const.Float32s())
					v.Type = ir.TensorType(ir.Float32, v.Const.Dims...)
				}
			}
			for _, v := range append(append([]*ir.Value{}, g.Inputs...), g.Outputs...) {
				if v.Type != nil && v.Type.DType == ir.Float64 {
					v.Type.DType = ir.Float32
				}
			}
		})
	}
	in := map[string]*ir.Tensor{}
	for i, v := range a.Graph.Inputs {
		dims, _ := v.Type.Shape.Static()
		in[v.Name] = ir.FromFloat32(dims, randF32(uint64(i+1), int(ir.NumElements(dims)), -1, 1))
	}
	wa, wb := outputs(t, a, in), outputs(t, b, in)
	for name, x := range wa {
		y := wb[name]
		if y == nil {
			t.Fatalf("output %s missing", name)
		}
		xv, yv := x.Float64s(), y.Float64s()
		for i := range xv {
			if d := xv[i] - yv[i]; d > atol+rtol*abs(xv[i]) || -d > atol+rtol*abs(xv[i]) {
				t.Fatalf("output %s[%d]: %g vs %g", name, i, xv[i], yv[i])
			}
		}
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
