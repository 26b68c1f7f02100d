package runtime

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/testmodels"
)

// evalNodeByNode evaluates m's nodes one at a time with EvalNode (no
// fusion) and returns every value it computed.
func evalNodeByNode(t *testing.T, m *ir.Model, inputs map[string]*ir.Tensor) map[*ir.Value]*ir.Tensor {
	t.Helper()
	vals := map[*ir.Value]*ir.Tensor{}
	for _, v := range m.Graph.Inputs {
		vals[v] = inputs[v.Name]
	}
	for _, c := range m.Graph.Consts {
		vals[c] = c.Const
	}
	order, err := execOrder(m.Graph)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range order {
		ins := make([]*ir.Tensor, len(n.Inputs))
		for i, v := range n.Inputs {
			if v != nil {
				ins[i] = vals[v]
			}
		}
		outs, err := EvalNode(n, ins, m.Opset(""))
		if err != nil {
			t.Fatalf("%s: %v", n.Name, err)
		}
		for i, o := range n.Outputs {
			vals[o] = outs[i]
		}
	}
	return vals
}

func randT(r *rand.Rand, dims ...int64) *ir.Tensor {
	t := ir.NewTensor(ir.Float32, dims...)
	v := t.Float32View()
	for i := range v {
		v[i] = float32(r.NormFloat64() * 2)
	}
	return t
}

// chainModel builds a graph whose Conv (or Gemm) is followed by every
// kind of chain step; cut ends the chain after that many nodes (the
// value after the cut is the graph output), so that every node's value
// is checked.
type chainCase struct {
	name  string
	build func(b *testmodels.Builder, r *rand.Rand, cut int) (*ir.Value, int)
	in    map[string][]int64
}

func chainCases() []chainCase {
	const C = 8
	scalar := func(b *testmodels.Builder, name string, v float32) *ir.Value {
		return b.F32(name, nil, []float32{v})
	}
	return []chainCase{
		{"conv-epilogue", func(b *testmodels.Builder, r *rand.Rand, cut int) (*ir.Value, int) {
			x := b.Input("x", ir.Float32, 1, 3, 20, 23)
			res := b.Input("res", ir.Float32, 1, C, 20, 23)
			w := b.Const("w", randT(r, C, 3, 3, 3))
			bias := b.Const("bias", randT(r, C))
			y := b.Node("Conv", []*ir.Value{x, w, bias}, ir.IntsAttr("pads", 1, 1, 1, 1))
			steps := []func(v *ir.Value) *ir.Value{
				func(v *ir.Value) *ir.Value { return b.Node("Mul", []*ir.Value{scalar(b, "m0", 0.93), v}) },
				func(v *ir.Value) *ir.Value { return b.Node("Add", []*ir.Value{v, scalar(b, "a0", 0.5)}) },
				func(v *ir.Value) *ir.Value {
					// hard-swish as exporters write it: x·Clip(x+3, 0, 6), then /6
					t := b.Node("Add", []*ir.Value{v, scalar(b, "three", 3)})
					t = b.Node("Clip", []*ir.Value{t, scalar(b, "zero", 0), scalar(b, "six", 6)})
					return b.Node("Mul", []*ir.Value{v, t})
				},
				func(v *ir.Value) *ir.Value { return b.Node("Div", []*ir.Value{v, scalar(b, "six2", 6)}) },
				func(v *ir.Value) *ir.Value {
					// hard-swish as torchvision writes it below opset 14: x·HardSigmoid(x)
					h := b.Node("HardSigmoid", []*ir.Value{v}, ir.FloatAttr("alpha", 1.0/6), ir.FloatAttr("beta", 0.5))
					return b.Node("Mul", []*ir.Value{h, v})
				},
				func(v *ir.Value) *ir.Value {
					return b.Node("Mul", []*ir.Value{v, b.Const("pc", randT(r, 1, C, 1, 1))})
				},
				func(v *ir.Value) *ir.Value { return b.Node("Add", []*ir.Value{res, v}) },
				func(v *ir.Value) *ir.Value {
					return b.Node("Sub", []*ir.Value{b.Const("pc2", randT(r, C, 1, 1)), v})
				},
				func(v *ir.Value) *ir.Value {
					return b.Node("Div", []*ir.Value{v, b.Const("row", randT(r, 23))})
				},
				func(v *ir.Value) *ir.Value { return b.Node("LeakyRelu", []*ir.Value{v}, ir.FloatAttr("alpha", 0.1)) },
				func(v *ir.Value) *ir.Value {
					return b.Node("HardSigmoid", []*ir.Value{v}, ir.FloatAttr("alpha", 0.2), ir.FloatAttr("beta", 0.5))
				},
				func(v *ir.Value) *ir.Value {
					return b.Node("Mul", []*ir.Value{v, b.Const("full", randT(r, 1, C, 20, 23))})
				},
				func(v *ir.Value) *ir.Value { return b.Node("Sigmoid", []*ir.Value{v}) },
				func(v *ir.Value) *ir.Value { return b.Node("HardSwish", []*ir.Value{v}) },
				func(v *ir.Value) *ir.Value { return b.Node("Relu", []*ir.Value{v}) },
				func(v *ir.Value) *ir.Value {
					vr := randT(r, C)
					for i, x := range vr.Float32View() {
						vr.Float32View()[i] = x * x
					}
					return b.Node("BatchNormalization", []*ir.Value{v, b.Const("bs", randT(r, C)), b.Const("bb", randT(r, C)),
						b.Const("bm", randT(r, C)), b.Const("bv", vr)}, ir.FloatAttr("epsilon", 1e-3))
				},
			}
			n := min(cut, len(steps))
			for _, s := range steps[:n] {
				y = s(y)
			}
			return y, len(steps)
		}, map[string][]int64{"x": {1, 3, 20, 23}, "res": {1, C, 20, 23}}},
		{"gemm-rows", func(b *testmodels.Builder, r *rand.Rand, cut int) (*ir.Value, int) {
			x := b.Input("x", ir.Float32, 5, 16)
			y := b.Node("MatMul", []*ir.Value{x, b.Const("w", randT(r, 16, 37))})
			steps := []func(v *ir.Value) *ir.Value{
				func(v *ir.Value) *ir.Value { return b.Node("Add", []*ir.Value{v, b.Const("b", randT(r, 37))}) },
				func(v *ir.Value) *ir.Value { return b.Node("Mul", []*ir.Value{b.Const("col", randT(r, 5, 1)), v}) },
				func(v *ir.Value) *ir.Value {
					return b.Node("Clip", []*ir.Value{v, scalar(b, "lo", -1), scalar(b, "hi", 1)})
				},
			}
			n := min(cut, len(steps))
			for _, s := range steps[:n] {
				y = s(y)
			}
			return y, len(steps)
		}, map[string][]int64{"x": {5, 16}}},
		{"standalone", func(b *testmodels.Builder, r *rand.Rand, cut int) (*ir.Value, int) {
			x := b.Input("x", ir.Float32, 2, 3, 7, 9)
			y := b.Node("Mul", []*ir.Value{x, scalar(b, "s", 1.5)})
			steps := []func(v *ir.Value) *ir.Value{
				func(v *ir.Value) *ir.Value { return b.Node("Add", []*ir.Value{v, scalar(b, "t", -0.5)}) },
				func(v *ir.Value) *ir.Value {
					return b.Node("Sub", []*ir.Value{v, b.Const("pc", randT(r, 1, 3, 1, 1))})
				},
				func(v *ir.Value) *ir.Value { return b.Node("Relu", []*ir.Value{v}) },
			}
			n := min(cut, len(steps))
			for _, s := range steps[:n] {
				y = s(y)
			}
			return y, len(steps)
		}, map[string][]int64{"x": {2, 3, 7, 9}}},
		{"grows", func(b *testmodels.Builder, r *rand.Rand, cut int) (*ir.Value, int) {
			// Squeeze-excitation: the Conv's 1×C×1×1 output, through a
			// HardSigmoid, scales the 1×C×5×7 feature map: the chain
			// continues on a new tensor of the feature map's shape.
			x := b.Input("x", ir.Float32, 1, 3, 3, 3)
			fm := b.Input("res", ir.Float32, 1, C, 5, 7)
			y := b.Node("Conv", []*ir.Value{x, b.Const("w", randT(r, C, 3, 3, 3))})
			steps := []func(v *ir.Value) *ir.Value{
				func(v *ir.Value) *ir.Value {
					return b.Node("HardSigmoid", []*ir.Value{v}, ir.FloatAttr("alpha", 0.2), ir.FloatAttr("beta", 0.5))
				},
				func(v *ir.Value) *ir.Value { return b.Node("Mul", []*ir.Value{fm, v}) },
				func(v *ir.Value) *ir.Value { return b.Node("Add", []*ir.Value{v, b.Const("pc", randT(r, 1, C, 1, 1))}) },
				func(v *ir.Value) *ir.Value { return b.Node("Relu", []*ir.Value{v}) },
			}
			n := min(cut, len(steps))
			for _, s := range steps[:n] {
				y = s(y)
			}
			return y, len(steps)
		}, map[string][]int64{"x": {1, 3, 3, 3}, "res": {1, C, 5, 7}}},
		{"grows-fallback", func(b *testmodels.Builder, r *rand.Rand, cut int) (*ir.Value, int) {
			// The Conv's output is 1×C×1×1; the Mul broadcasts it up to
			// 1×C×3×3 and the Sub up again to 2×1×C×3×3, which no fast path
			// takes: the nodes' own kernels run.
			x := b.Input("x", ir.Float32, 1, 3, 3, 3)
			y := b.Node("Conv", []*ir.Value{x, b.Const("w", randT(r, C, 3, 3, 3))})
			steps := []func(v *ir.Value) *ir.Value{
				func(v *ir.Value) *ir.Value {
					return b.Node("Mul", []*ir.Value{v, b.Const("big", randT(r, 1, C, 3, 3))})
				},
				func(v *ir.Value) *ir.Value {
					return b.Node("Sub", []*ir.Value{v, b.Const("bigger", randT(r, 2, 1, C, 3, 3))})
				},
				func(v *ir.Value) *ir.Value { return b.Node("Relu", []*ir.Value{v}) },
			}
			n := min(cut, len(steps))
			for _, s := range steps[:n] {
				y = s(y)
			}
			return y, len(steps)
		}, map[string][]int64{"x": {1, 3, 3, 3}}},
	}
}

// Every chain, cut after each of its nodes, gives the value node-by-node
// evaluation gives. Tolerance: bit-identical (the fused steps round as
// the nodes do), -0 and +0 counted equal, NaN equal to NaN.
func TestChainFusionMatchesNodeByNode(t *testing.T) {
	for _, c := range chainCases() {
		for cut := 1; ; cut++ {
			r := rand.New(rand.NewSource(7))
			b := testmodels.NewBuilder("chain", 14)
			y, total := c.build(b, r, cut)
			b.Output(y)
			m := b.Model()
			inputs := map[string]*ir.Tensor{}
			for name, dims := range c.in {
				inputs[name] = randT(r, dims...)
			}
			// A NaN and an infinity travel through the chain too.
			xv := inputs["x"].Float32View()
			xv[0], xv[len(xv)-1] = float32(math.NaN()), float32(math.Inf(-1))
			for _, threads := range []int{1, 2} {
				s, err := NewSession(m, Options{Threads: threads})
				if err != nil {
					t.Fatalf("%s cut %d: %v", c.name, cut, err)
				}
				chained := 0
				for _, st := range s.plan.steps {
					if _, ok := st.k.(*chainKernel); ok {
						chained++
					}
				}
				if chained != 1 {
					t.Fatalf("%s cut %d: %d chain steps, want 1", c.name, cut, chained)
				}
				outs, err := s.Run(inputs)
				if err != nil {
					t.Fatalf("%s cut %d: %v", c.name, cut, err)
				}
				want := evalNodeByNode(t, m, inputs)[y]
				got := outs[y.Name]
				if fmt.Sprint(got.Dims) != fmt.Sprint(want.Dims) {
					t.Fatalf("%s cut %d: shape %v, want %v", c.name, cut, got.Dims, want.Dims)
				}
				g, w := got.Float32View(), want.Float32View()
				for i := range w {
					if g[i] != w[i] && !(g[i] != g[i] && w[i] != w[i]) {
						t.Fatalf("%s cut %d (%d threads): [%d] = %g, node by node %g", c.name, cut, threads, i, g[i], w[i])
					}
				}
			}
			if cut >= total {
				break
			}
		}
	}
}

// A chain value read by another node, or by the graph, ends the chain.
func TestChainStopsAtSharedValue(t *testing.T) {
	b := testmodels.NewBuilder("shared", 13)
	x := b.Input("x", ir.Float32, 4, 4)
	a := b.Node("Mul", []*ir.Value{x, b.F32("s", nil, []float32{2})})
	c := b.Node("Add", []*ir.Value{a, b.F32("t", nil, []float32{1})})
	d := b.Node("Relu", []*ir.Value{c})
	b.Output(d, c) // c is a graph output: Relu may not absorb it in place
	m := b.Model()
	s, err := NewSession(m, Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	in := map[string]*ir.Tensor{"x": randT(rand.New(rand.NewSource(1)), 4, 4)}
	outs, err := s.Run(in)
	if err != nil {
		t.Fatal(err)
	}
	want := evalNodeByNode(t, m, in)
	for _, v := range []*ir.Value{c, d} {
		g, w := outs[v.Name].Float32View(), want[v].Float32View()
		for i := range w {
			if g[i] != w[i] {
				t.Fatalf("%s[%d] = %g, want %g", v.Name, i, g[i], w[i])
			}
		}
	}
}
