package passes

import (
	"github.com/nncc/nncc/ir"
)

// RemoveDropout removes Dropout nodes, which compute the identity at
// inference.
var RemoveDropout = &Pass{
	Name: "remove-dropout",
	Doc: `Remove Dropout nodes, which pass their input through at inference.

Every opset's form is handled: the ratio as an attribute (opsets 1-11) or
an input (12 and later), and the training_mode input (12 and later), which
must be absent or a constant false; a Dropout in training mode is left
alone. Before opset 7 a Dropout with is_test=0 nominally asks for training
behaviour; nncc compiles for inference and removes it too.

When the optional mask output is read, it becomes a constant of all ones
(float of the input's type before opset 10, bool from 10 on); that needs
the input's shape to be static, and the Dropout is kept otherwise. When
the Dropout's output is a graph output whose name its input cannot take
(the input is itself a graph input or output), the Dropout becomes an
Identity.`,
	Run: runRemoveDropout,
}

func runRemoveDropout(c *Context) error {
	opset := c.Opset()
	c.Model.Graph.Walk(func(g *ir.Graph) {
		ix := g.BuildIndex()
		dead := map[*ir.Node]bool{}
		for _, n := range g.Nodes {
			if !is(n, "Dropout") || len(n.Outputs) == 0 {
				continue
			}
			if removeDropout(c, g, ix, n, opset) {
				dead[n] = true
				c.Changed()
				ix = g.BuildIndex()
			}
		}
		g.RemoveNodes(dead)
	})
	return nil
}

// removeDropout rewires the readers of n's outputs and reports whether n
// can now be deleted. It may instead turn n into an Identity (and report
// false).
func removeDropout(c *Context, g *ir.Graph, ix *ir.Index, n *ir.Node, opset int64) bool {
	x := n.Input(0)
	if x == nil {
		c.Declinef(n, "Dropout has no data input")
		return false
	}
	if opset >= 12 {
		if tm := n.Input(2); tm != nil {
			t := c.ConstOf(tm)
			v, ok := scalarOf(t)
			switch {
			case t == nil:
				c.Declinef(n, "training_mode %q is not a constant", tm.Name)
				return false
			case !ok:
				c.Declinef(n, "training_mode %q is not a scalar", tm.Name)
				return false
			case v != 0:
				c.Declinef(n, "training_mode is true: this Dropout drops values")
				return false
			}
		}
	}
	// The mask, when read, becomes a constant: check that first so a
	// decline leaves everything as it was.
	var mask *ir.Value
	var maskT *ir.Tensor
	if len(n.Outputs) > 1 && n.Outputs[1] != nil && len(ix.Uses[n.Outputs[1]]) > 0 {
		mask = n.Outputs[1]
		s, ok := shapeOf(x)
		dims, static := s.Static()
		if !ok || !static {
			c.Declinef(n, "mask output %q is read and the shape of input %q is not static (%s), so it cannot become a constant", mask.Name, x.Name, shapeString(x))
			return false
		}
		if opset >= 10 {
			maskT = ir.NewTensor(ir.Bool, dims...)
			for i := range maskT.Data {
				maskT.Data[i] = 1
			}
		} else {
			dt := dtypeOf(x)
			if !isFloatType(dt) {
				c.Declinef(n, "mask output %q is read and the input's element type (%s) is unknown", mask.Name, dt)
				return false
			}
			ones := make([]float64, ir.NumElements(dims))
			for i := range ones {
				ones[i] = 1
			}
			maskT = floatTensor(dt, dims, ones)
		}
	}
	out := n.Outputs[0]
	keepAsIdentity := false
	if out != nil {
		if !bypass(g, ix, out, x) {
			keepAsIdentity = true
		}
	}
	if mask != nil {
		// The mask value itself becomes the constant, so its readers and
		// its name stay as they are.
		mask.Const = maskT
		mask.Type = &ir.Type{Kind: ir.KindTensor, DType: maskT.DType, HasShape: true, Shape: ir.ShapeOf(maskT.Dims...)}
		g.Consts = append(g.Consts, mask)
		n.Outputs = n.Outputs[:1]
	}
	if keepAsIdentity {
		n.OpType = "Identity"
		n.Inputs = []*ir.Value{x}
		n.Outputs = n.Outputs[:1]
		n.Attrs = nil
		c.Changed()
		return false
	}
	return true
}

func shapeString(v *ir.Value) string {
	if s, ok := shapeOf(v); ok {
		return s.String()
	}
	return "unknown rank"
}
