package passes_test

import (
	"math"
	"testing"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/testmodels"
)

func scalar(b *testmodels.Builder, name string, v float64) *ir.Value {
	return b.F32(name, nil, []float32{float32(v)})
}

// geluTail multiplies x, 0.5 and p = 1 + t in the association order.
func geluTail(b *testmodels.Builder, x, p *ir.Value, order string) *ir.Value {
	half := scalar(b, "half", 0.5)
	switch order {
	case "x*p*0.5": // PyTorch's nn.GELU export
		return b.Node("Mul", []*ir.Value{b.Node("Mul", []*ir.Value{x, p}), half})
	case "(x*0.5)*p": // x * 0.5 * (1 + …) written left to right
		return b.Node("Mul", []*ir.Value{b.Node("Mul", []*ir.Value{x, half}), p})
	case "x*(p*0.5)":
		return b.Node("Mul", []*ir.Value{x, b.Node("Mul", []*ir.Value{p, half})})
	}
	panic(order)
}

func TestFuseGeluErf(t *testing.T) {
	for _, order := range []string{"x*p*0.5", "(x*0.5)*p", "x*(p*0.5)"} {
		for _, scaled := range []string{"div", "mul"} {
			b := testmodels.NewBuilder("m", 20)
			x := b.Node("Relu", []*ir.Value{b.Input("x", ir.Float32, 3, 7)})
			var u *ir.Value
			if scaled == "div" {
				u = b.Node("Div", []*ir.Value{x, scalar(b, "sqrt2", math.Sqrt2)})
			} else {
				u = b.Node("Mul", []*ir.Value{scalar(b, "inv_sqrt2", 1/math.Sqrt2), x})
			}
			p := b.Node("Add", []*ir.Value{b.Node("Erf", []*ir.Value{u}), scalar(b, "one", 1)})
			y := geluTail(b, x, p, order)
			b.Output(y)
			m := b.Model()
			run(t, m, "fuse-gelu,eliminate-dead")
			if got := ops(m.Graph); got != "Relu Gelu" {
				t.Fatalf("%s/%s: nodes after: %s", order, scaled, got)
			}
			g := m.Graph.Nodes[1]
			if g.Attr("approximate") != nil || g.Outputs[0] != y || g.Inputs[0] != x {
				t.Errorf("%s/%s: %s", order, scaled, dump(m))
			}
		}
	}
}

func TestFuseGeluTanh(t *testing.T) {
	for _, cube := range []string{"pow", "x*(x*x)", "(x*x)*x"} {
		b := testmodels.NewBuilder("m", 20)
		x := b.Node("Relu", []*ir.Value{b.Input("x", ir.Float32, 3, 7)})
		var x3 *ir.Value
		switch cube {
		case "pow":
			x3 = b.Node("Pow", []*ir.Value{x, scalar(b, "three", 3)})
		case "x*(x*x)":
			x3 = b.Node("Mul", []*ir.Value{x, b.Node("Mul", []*ir.Value{x, x})})
		case "(x*x)*x":
			x3 = b.Node("Mul", []*ir.Value{b.Node("Mul", []*ir.Value{x, x}), x})
		}
		inner := b.Node("Add", []*ir.Value{x, b.Node("Mul", []*ir.Value{scalar(b, "c", 0.044715), x3})})
		th := b.Node("Tanh", []*ir.Value{b.Node("Mul", []*ir.Value{inner, scalar(b, "k", math.Sqrt(2/math.Pi))})})
		p := b.Node("Add", []*ir.Value{scalar(b, "one", 1), th})
		b.Output(geluTail(b, x, p, "(x*0.5)*p"))
		m := b.Model()
		run(t, m, "fuse-gelu,eliminate-dead")
		if got := ops(m.Graph); got != "Relu Gelu" {
			t.Fatalf("%s: nodes after: %s", cube, got)
		}
		if a := m.Graph.Nodes[1].AttrString("approximate", ""); a != "tanh" {
			t.Errorf("%s: approximate=%q", cube, a)
		}
	}
}

// Wrong constants, shared intermediates and old opsets are left alone.
func TestFuseGeluLeavesAlone(t *testing.T) {
	build := func(opset int64, sqrt2, half float64, share bool) *ir.Model {
		b := testmodels.NewBuilder("m", opset)
		x := b.Input("x", ir.Float32, 3, 7)
		e := b.Node("Erf", []*ir.Value{b.Node("Div", []*ir.Value{x, scalar(b, "s", sqrt2)})})
		p := b.Node("Add", []*ir.Value{e, scalar(b, "one", 1)})
		b.Output(b.Node("Mul", []*ir.Value{b.Node("Mul", []*ir.Value{x, p}), scalar(b, "half", half)}))
		if share {
			b.Output(e)
		}
		return b.Model()
	}
	for name, m := range map[string]*ir.Model{
		"sqrt3":    build(20, math.Sqrt(3), 0.5, false),
		"half-0.6": build(20, math.Sqrt2, 0.6, false),
		"erf-read": build(20, math.Sqrt2, 0.5, true),
		"opset-19": build(19, math.Sqrt2, 0.5, false),
	} {
		before := dump(m)
		run(t, m, "fuse-gelu")
		if dump(m) != before {
			t.Errorf("%s: graph changed:\n%s", name, dump(m))
		}
	}
}
