package passes

import (
	"fmt"

	"github.com/nncc/nncc/ir"
)

// FuseMatMulAdd merges MatMul followed by Add into Gemm.
var FuseMatMulAdd = &Pass{
	Name: "fuse-matmul-add",
	Doc: `Merge a MatMul and the Add of a bias into one Gemm where that computes the same thing.

Gemm multiplies matrices only, so the MatMul's inputs must both have rank
2 (known from the declared types or shape inference), and the other Add
operand must broadcast to the (M, N) result in Gemm's one-directional way:
rank at most 2, each dimension 1 or equal to the result's. The MatMul's
result must be read by the Add alone, and the element type must be
float16, float32, float64 (or bfloat16 from opset 13). Before opset 7 the
Gemm gets broadcast=1.`,
	Run: runFuseMatMulAdd,
}

func runFuseMatMulAdd(c *Context) error {
	c.inferShapes()
	opset := c.Opset()
	c.Model.Graph.Walk(func(g *ir.Graph) {
		ix := g.BuildIndex()
		for _, n := range append([]*ir.Node{}, g.Nodes...) {
			if !is(n, "MatMul") || len(n.Inputs) != 2 || len(n.Outputs) != 1 || n.Outputs[0] == nil {
				continue
			}
			add := onlyUse(ix, n.Outputs[0])
			if !is(add, "Add") || len(add.Inputs) != 2 {
				continue
			}
			if err := fuseMatMulAdd(c, g, n, add, opset); err != nil {
				c.Declinef(n, "not fused with %s: %v", add.Label(), err)
				continue
			}
			c.Changed()
			ix = g.BuildIndex()
		}
	})
	return nil
}

func fuseMatMulAdd(c *Context, g *ir.Graph, mm, add *ir.Node, opset int64) error {
	a, b := mm.Inputs[0], mm.Inputs[1]
	if a == nil || b == nil {
		return fmt.Errorf("malformed MatMul")
	}
	bias := add.Inputs[1]
	if add.Inputs[1] == mm.Outputs[0] {
		bias = add.Inputs[0]
	}
	if bias == nil || bias == mm.Outputs[0] {
		return fmt.Errorf("the Add adds the product to itself")
	}
	sa, okA := shapeOf(a)
	sb, okB := shapeOf(b)
	switch {
	case !okA || !okB:
		return fmt.Errorf("the rank of %q or %q is unknown", a.Name, b.Name)
	case len(sa) != 2 || len(sb) != 2:
		return fmt.Errorf("Gemm needs rank-2 operands, got %s × %s", sa, sb)
	}
	dt := dtypeOf(a)
	switch {
	case dt == ir.Float16, dt == ir.Float32, dt == ir.Float64:
	case dt == ir.BFloat16 && opset >= 13:
	default:
		return fmt.Errorf("element type %s", dt)
	}
	if dtypeOf(bias) != dt {
		return fmt.Errorf("bias %q is %s, the product %s", bias.Name, dtypeOf(bias), dt)
	}
	sc, ok := shapeOf(bias)
	if !ok {
		return fmt.Errorf("the shape of bias %q is unknown", bias.Name)
	}
	out := ir.Shape{sa[0], sb[1]}
	if len(sc) > 2 {
		return fmt.Errorf("bias %q has rank %d, more than the product's 2", bias.Name, len(sc))
	}
	full := len(sc) == 2
	for i := range sc {
		d, o := sc[len(sc)-1-i], out[1-i]
		switch {
		case d.Known() && d.Value == 1:
			full = full && o.Known() && o.Value == 1
		case sameDim(d, o):
		default:
			return fmt.Errorf("bias shape %s does not broadcast to the product's %s in Gemm's one-directional way", sc, out)
		}
	}
	// The Add becomes the Gemm: it comes after everything both read.
	add.OpType = "Gemm"
	add.Inputs = []*ir.Value{a, b, bias}
	add.Attrs = nil
	if opset < 7 && !full {
		add.SetAttr(ir.IntAttr("broadcast", 1))
	}
	g.RemoveNodes(map[*ir.Node]bool{mm: true})
	return nil
}

// sameDim reports whether two dimensions are certainly equal: the same
// known size or the same symbol.
func sameDim(a, b ir.Dim) bool {
	if a.Known() && b.Known() {
		return a.Value == b.Value
	}
	return a.Param != "" && a.Param == b.Param
}
