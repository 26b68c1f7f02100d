package passes

import (
	"fmt"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/runtime"
)

// FoldConstants evaluates nodes whose inputs are all constant.
var FoldConstants = &Pass{
	Name: "fold-constants",
	Doc: `Evaluate nodes whose inputs are all constant and replace them by their results.

Nodes are evaluated with nncc's runtime in graph order, so chains of
constant nodes fold in one run. Shape and Size of a value whose shape is
static (declared or found by shape inference) fold too, so the
Shape→Gather→Concat→Reshape chains exporters write collapse to a constant
shape. Random operators, nodes with subgraphs and operators outside the
default domain are never folded, and a graph input with a default value
is not a constant (the caller may override it).

A result larger than max-bytes that is also larger than the constant
inputs it replaces is not folded, so folding never blows up the model
(ConstantOfShape, Expand, Tile and Range are sized before they are run).
A node the runtime cannot evaluate is left as it is, with the reason.`,
	Options: []Option{
		{Name: "max-bytes", Type: Int, Default: int64(1 << 20),
			Doc: "largest folded result, in bytes, allowed to exceed the size of the inputs it replaces"},
		{Name: "shapes", Type: Bool, Default: true,
			Doc: "fold Shape and Size of values with a static shape"},
	},
	Run: runFoldConstants,
}

// nondeterministic lists operators whose result is not a function of
// their inputs.
var nondeterministic = map[string]bool{
	"RandomNormal": true, "RandomNormalLike": true, "RandomUniform": true,
	"RandomUniformLike": true, "Multinomial": true, "Bernoulli": true,
}

func runFoldConstants(c *Context) error {
	maxBytes := c.Int("max-bytes")
	if maxBytes < 0 {
		return fmt.Errorf("max-bytes must not be negative")
	}
	shapes := c.Bool("shapes")
	if shapes {
		c.inferShapes()
	}
	opset := c.Opset()
	c.Model.Graph.Walk(func(g *ir.Graph) {
		dead := map[*ir.Node]bool{}
		for _, n := range g.Nodes {
			if !isDefault(n) || nondeterministic[n.OpType] || len(n.Subgraphs()) > 0 || len(n.Inputs) == 0 {
				continue
			}
			if shapes && (n.OpType == "Shape" || n.OpType == "Size") {
				if t := foldShape(n, opset); t != nil {
					if setConstOutputs(c, g, n, []*ir.Tensor{t}) {
						dead[n] = true
					}
					continue
				}
			}
			ins := make([]*ir.Tensor, len(n.Inputs))
			inBytes := int64(0)
			all := true
			for i, v := range n.Inputs {
				if v == nil {
					continue
				}
				if ins[i] = c.ConstOf(v); ins[i] == nil {
					all = false
					break
				}
				inBytes += ins[i].Bytes()
			}
			if !all {
				continue
			}
			if est, ok := estimateBytes(n, ins); ok && est > maxBytes && est > inBytes {
				c.Declinef(n, "result would take %d bytes (max-bytes %d, inputs %d bytes)", est, maxBytes, inBytes)
				continue
			}
			outs, err := runtime.EvalNode(n, ins, opset)
			if err != nil {
				c.Declinef(n, "cannot evaluate: %v", err)
				continue
			}
			outBytes := int64(0)
			for _, t := range outs {
				if t != nil {
					outBytes += t.Bytes()
				}
			}
			if outBytes > maxBytes && outBytes > inBytes {
				c.Declinef(n, "result takes %d bytes (max-bytes %d, inputs %d bytes)", outBytes, maxBytes, inBytes)
				continue
			}
			if setConstOutputs(c, g, n, outs) {
				dead[n] = true
			}
		}
		g.RemoveNodes(dead)
	})
	return nil
}

// setConstOutputs turns n's outputs into constants holding outs and
// reports whether it did (n is then dead).
func setConstOutputs(c *Context, g *ir.Graph, n *ir.Node, outs []*ir.Tensor) bool {
	for i, o := range n.Outputs {
		if o == nil {
			continue
		}
		if i >= len(outs) || outs[i] == nil {
			c.Declinef(n, "the runtime computed no value for output %q", o.Name)
			return false
		}
		t := outs[i]
		if err := t.Check(); err != nil {
			c.Declinef(n, "output %q: %v", o.Name, err)
			return false
		}
		if o.Type != nil && o.Type.IsTensor() && o.Type.DType != ir.Undefined && o.Type.DType != t.DType {
			c.Declinef(n, "output %q is declared %s but evaluates to %s", o.Name, o.Type.DType, t.DType)
			return false
		}
		if o.Type != nil && !o.Type.IsTensor() && o.Type.Kind != ir.KindUnknown {
			c.Declinef(n, "output %q is a %s, not a tensor", o.Name, o.Type)
			return false
		}
	}
	for i, o := range n.Outputs {
		if o == nil {
			continue
		}
		t := outs[i]
		o.Const = t
		o.Type = &ir.Type{Kind: ir.KindTensor, DType: t.DType, HasShape: true, Shape: ir.ShapeOf(t.Dims...)}
		o.FromConstantNode = false
		g.Consts = append(g.Consts, o)
	}
	c.Changed()
	return true
}

// foldShape computes Shape (with start and end from opset 15) or Size of
// a value whose shape is static, or returns nil.
func foldShape(n *ir.Node, opset int64) *ir.Tensor {
	x := n.Input(0)
	s, ok := shapeOf(x)
	if !ok {
		return nil
	}
	dims, static := s.Static()
	if !static {
		return nil
	}
	if n.OpType == "Size" {
		return ir.FromInt64(nil, []int64{ir.NumElements(dims)})
	}
	r := int64(len(dims))
	start, end := int64(0), r
	if opset >= 15 {
		start = n.AttrInt("start", 0)
		end = n.AttrInt("end", r)
	}
	clamp := func(v int64) int64 {
		if v < 0 {
			v += r
		}
		return max(0, min(v, r))
	}
	start, end = clamp(start), clamp(end)
	if end < start {
		end = start
	}
	sel := append([]int64{}, dims[start:end]...)
	return ir.FromInt64([]int64{int64(len(sel))}, sel)
}

// estimateBytes sizes the result of the operators whose output can be
// far larger than their inputs, before they are run.
func estimateBytes(n *ir.Node, ins []*ir.Tensor) (int64, bool) {
	size := func(dt ir.DType, numel int64) (int64, bool) {
		if numel < 0 {
			return 1 << 62, true
		}
		b, ok := dt.ByteSize(numel)
		if !ok {
			return 1 << 62, true
		}
		return b, true
	}
	switch n.OpType {
	case "ConstantOfShape":
		if ins[0] == nil {
			return 0, false
		}
		dt := ir.Float32
		if a := n.Attr("value"); a != nil && a.T != nil {
			dt = a.T.DType
		}
		return size(dt, ir.NumElements(ins[0].Int64s()))
	case "Expand":
		if len(ins) < 2 || ins[0] == nil || ins[1] == nil {
			return 0, false
		}
		a, b := ins[0].Dims, ins[1].Int64s()
		r := max(len(a), len(b))
		out := make([]int64, r)
		for i := range r {
			da, db := int64(1), int64(1)
			if j := i - (r - len(a)); j >= 0 {
				da = a[j]
			}
			if j := i - (r - len(b)); j >= 0 {
				db = b[j]
			}
			out[i] = max(da, db)
		}
		return size(ins[0].DType, ir.NumElements(out))
	case "Tile":
		if len(ins) < 2 || ins[0] == nil || ins[1] == nil {
			return 0, false
		}
		reps := ins[1].Int64s()
		total := ins[0].NumElements()
		for _, r := range reps {
			if r < 0 || (r > 0 && total > (1<<62)/r) {
				return 1 << 62, true
			}
			total *= r
		}
		return size(ins[0].DType, total)
	case "Range":
		if len(ins) < 3 || ins[0] == nil || ins[1] == nil || ins[2] == nil {
			return 0, false
		}
		start, ok1 := scalarOf(ins[0])
		limit, ok2 := scalarOf(ins[1])
		delta, ok3 := scalarOf(ins[2])
		if !ok1 || !ok2 || !ok3 || delta == 0 {
			return 0, false
		}
		cnt := (limit - start) / delta
		if cnt > 1<<50 {
			return 1 << 62, true
		}
		return size(ins[0].DType, max(0, int64(cnt)+1))
	}
	return 0, false
}
