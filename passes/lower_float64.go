package passes

import (
	"github.com/nncc/nncc/ir"
)

// LowerFloat64 turns a float64 model into a float32 one.
var LowerFloat64 = &Pass{
	Name: "lower-float64",
	Doc: `Turn float64 constants, values and computation into float32.

Every float64 constant (initializers, Constant nodes, tensor attributes
such as ConstantOfShape's value) becomes float32, every float64 value is
retyped, and Casts to double cast to float instead. Graph inputs and
outputs become float32 too unless keep-io is set, in which case Casts at
the edges keep their float64 interface. Nodes inside If/Loop/Scan bodies
are lowered as well. Values beyond the float32 range become ±Inf; the
budget (--max-drop) or --verify-each shows what the precision costs.`,
	Options: []Option{
		{Name: "keep-io", Type: Bool, Default: false, Doc: "keep float64 graph inputs and outputs (Casts at the edges)"},
	},
	Lossy: true,
	Run:   runLowerFloat64,
}

func toF32(t *ir.Tensor) *ir.Tensor {
	return ir.FromFloat64(ir.Float32, t.Dims, t.Float64s())
}

func runLowerFloat64(c *Context) error {
	m := c.Model
	_ = ir.InferShapes(m)
	found := false
	is64 := func(v *ir.Value) bool {
		return v != nil && v.Type != nil && v.Type.IsTensor() && v.Type.DType == ir.Float64
	}
	m.Graph.Walk(func(g *ir.Graph) {
		for _, v := range g.Consts {
			found = found || v.Const.DType == ir.Float64
		}
		for _, n := range g.Nodes {
			for _, o := range n.Outputs {
				found = found || is64(o)
			}
			for _, a := range n.Attrs {
				found = found || a.T != nil && a.T.DType == ir.Float64
			}
			found = found || n.OpType == "Cast" && n.AttrInt("to", 0) == int64(ir.Float64)
		}
		for _, v := range g.Inputs {
			found = found || is64(v)
		}
	})
	if !found {
		c.Declinef(nil, "no float64 in the model")
		return nil
	}
	keepIO := c.Bool("keep-io")
	main := m.Graph
	fresh := func(base string) string { return c.NewName(main, base) }
	var pre, post []*ir.Node
	if keepIO {
		for _, v := range main.Inputs {
			if is64(v) && v.Const == nil {
				out := &ir.Value{Name: fresh(v.Name + "_fp32"), Type: retype(v.Type, ir.Float32)}
				main.ReplaceUses(v, out)
				pre = append(pre, castNode(fresh(v.Name+"_Cast"), v, out, ir.Float32))
			}
		}
		for i, o := range main.Outputs {
			if is64(o) {
				name := o.Name
				o.Name = fresh(name + "_fp32")
				out := &ir.Value{Name: name, Type: o.Type.Clone(), DocString: o.DocString}
				post = append(post, castNode(fresh(name+"_Cast"), o, out, ir.Float64))
				main.Outputs[i] = out
				o.Type = retype(o.Type, ir.Float32)
			}
		}
	}
	skip := map[*ir.Value]bool{}
	for _, n := range post {
		skip[n.Outputs[0]] = true
	}
	for _, n := range pre {
		skip[n.Inputs[0]] = true
	}
	m.Graph.Walk(func(g *ir.Graph) {
		for _, v := range g.Consts {
			if v.Const.DType == ir.Float64 {
				v.Const = toF32(v.Const)
				v.Type = retype(v.Type, ir.Float32)
			}
		}
		retypeAll := func(vs []*ir.Value) {
			for _, v := range vs {
				if is64(v) && !skip[v] {
					v.Type = retype(v.Type, ir.Float32)
					if v.Const != nil && v.Const.DType == ir.Float64 {
						v.Const = toF32(v.Const)
					}
				}
			}
		}
		retypeAll(g.Inputs)
		retypeAll(g.Outputs)
		retypeAll(g.ValueInfo)
		for _, n := range g.Nodes {
			retypeAll(n.Outputs)
			for _, a := range n.Attrs {
				if a.T != nil && a.T.DType == ir.Float64 {
					a.T = toF32(a.T)
				}
			}
			if n.OpType == "Cast" && n.AttrInt("to", 0) == int64(ir.Float64) {
				n.SetAttr(ir.IntAttr("to", int64(ir.Float32)))
			}
		}
	})
	main.Nodes = append(append(pre, main.Nodes...), post...)
	c.Changed()
	return nil
}
