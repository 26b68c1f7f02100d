package passes

import (
	"math"

	"github.com/nncc/nncc/ir"
)

// Graph helpers shared by the passes.

// ConstOf returns the constant tensor behind v, or nil when v is not a
// constant. A main-graph input with a default value (an initializer that
// is also listed as an input) is not constant from IR version 4 on: the
// caller may override it.
func (c *Context) ConstOf(v *ir.Value) *ir.Tensor {
	if v == nil || v.Const == nil {
		return nil
	}
	if c.Model.IRVersion >= 4 || c.Model.IRVersion == 0 {
		if c.inputs == nil {
			c.inputs = map[*ir.Value]bool{}
			for _, in := range c.Model.Graph.Inputs {
				c.inputs[in] = true
			}
		}
		if c.inputs[v] {
			return nil
		}
	}
	return v.Const
}

// onlyUse returns the node that reads v when exactly one node input of g
// reads it and v is not a graph output; otherwise nil.
func onlyUse(ix *ir.Index, v *ir.Value) *ir.Node {
	us := ix.Uses[v]
	if len(us) != 1 || us[0].Node == nil || us[0].Index < 0 {
		return nil
	}
	return us[0].Node
}

// usedOnlyBy reports whether every use of v is an input of one of the
// given nodes (so v dies with them). Graph outputs and captures by
// subgraphs count as other uses.
func usedOnlyBy(ix *ir.Index, v *ir.Value, nodes ...*ir.Node) bool {
	for _, u := range ix.Uses[v] {
		if u.Node == nil || u.Index < 0 {
			return false
		}
		found := false
		for _, n := range nodes {
			if u.Node == n {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// isGraphInput reports whether v is an input of g.
func isGraphInput(g *ir.Graph, v *ir.Value) bool {
	for _, in := range g.Inputs {
		if in == v {
			return true
		}
	}
	return false
}

// isGraphOutput reports whether v is an output of g.
func isGraphOutput(g *ir.Graph, v *ir.Value) bool {
	for _, o := range g.Outputs {
		if o == v {
			return true
		}
	}
	return false
}

// producedIn reports whether a node of g produces v.
func producedIn(ix *ir.Index, v *ir.Value) bool { return ix.Producer[v] != nil }

// bypass makes every reader of old read repl instead, so that the node
// producing old can be removed. Graph outputs keep their names: when old
// is an output of g, repl takes old's name, which is possible only when
// repl is produced by a node of g and is neither a graph input nor
// already a graph output. bypass reports whether it could do it; when it
// returns false the graph is unchanged.
func bypass(g *ir.Graph, ix *ir.Index, old, repl *ir.Value) bool {
	if !isGraphOutput(g, old) {
		g.ReplaceUses(old, repl)
		return true
	}
	if !producedIn(ix, repl) || isGraphOutput(g, repl) || isGraphInput(g, repl) {
		return false
	}
	g.ReplaceUses(old, repl)
	repl.Name = old.Name
	if old.Type != nil {
		repl.Type = old.Type
	}
	repl.DocString = old.DocString
	return true
}

// insertBefore inserts nodes into g just before anchor (at the end when
// anchor is not in g).
func insertBefore(g *ir.Graph, anchor *ir.Node, nodes ...*ir.Node) {
	at := len(g.Nodes)
	for i, n := range g.Nodes {
		if n == anchor {
			at = i
			break
		}
	}
	g.Nodes = append(g.Nodes[:at], append(append([]*ir.Node{}, nodes...), g.Nodes[at:]...)...)
}

// newNode builds a default-domain node with one fresh output named after
// base; insert it into g yourself.
func (c *Context) newNode(g *ir.Graph, op, base string, inputs []*ir.Value, attrs ...*ir.Attribute) *ir.Node {
	out := &ir.Value{Name: c.NewName(g, base)}
	return &ir.Node{Name: out.Name, OpType: op, Inputs: inputs, Outputs: []*ir.Value{out}, Attrs: attrs}
}

// addConst adds a constant to g under a fresh name based on base.
func (c *Context) addConst(g *ir.Graph, base string, t *ir.Tensor) *ir.Value {
	return g.AddConst(c.NewName(g, base), t)
}

// tidy drops value-info annotations of values the model no longer
// defines, and the constants that wasRead lists but nothing reads any
// more (a weight a pass replaced), in every graph. Constants that were
// unread before the pass stay (eliminate-dead removes those), and so do
// constants that are also graph inputs: they are part of the model's
// interface.
func tidy(m *ir.Model, wasRead map[*ir.Value]bool) {
	m.Graph.Walk(func(g *ir.Graph) { dropUnreadConsts(g, wasRead) })
	m.Graph.Walk(func(g *ir.Graph) {
		live := map[*ir.Value]bool{}
		for _, n := range g.Nodes {
			for _, o := range n.Outputs {
				live[o] = true
			}
		}
		kept := g.ValueInfo[:0]
		for _, v := range g.ValueInfo {
			if live[v] {
				kept = append(kept, v)
			}
		}
		for i := len(kept); i < len(g.ValueInfo); i++ {
			g.ValueInfo[i] = nil
		}
		g.ValueInfo = kept
	})
}

// shapeOf returns what is known of v's shape: the dims of a constant or
// the declared or inferred type. ok is false when the rank is unknown.
func shapeOf(v *ir.Value) (ir.Shape, bool) {
	if v == nil {
		return nil, false
	}
	if v.Const != nil {
		return ir.ShapeOf(v.Const.Dims...), true
	}
	if v.Type != nil && v.Type.IsTensor() && v.Type.HasShape {
		return v.Type.Shape, true
	}
	return nil, false
}

// rankOf returns v's rank, or -1 when unknown.
func rankOf(v *ir.Value) int {
	s, ok := shapeOf(v)
	if !ok {
		return -1
	}
	return len(s)
}

// dtypeOf returns v's element type, or Undefined.
func dtypeOf(v *ir.Value) ir.DType {
	if v == nil {
		return ir.Undefined
	}
	if v.Const != nil {
		return v.Const.DType
	}
	if v.Type != nil && v.Type.IsTensor() {
		return v.Type.DType
	}
	return ir.Undefined
}

// isFloatType reports whether dt is one of the float types the folding
// passes compute in: float16, float32, float64 and bfloat16.
func isFloatType(dt ir.DType) bool {
	switch dt {
	case ir.Float16, ir.Float32, ir.Float64, ir.BFloat16:
		return true
	}
	return false
}

// scalarOf returns the single element of a numeric tensor with one
// element (of any rank).
func scalarOf(t *ir.Tensor) (float64, bool) {
	if t == nil || t.NumElements() != 1 || t.DType == ir.String || t.DType.Bits() < 8 || !t.DType.Valid() {
		return 0, false
	}
	switch t.DType {
	case ir.Complex64, ir.Complex128, ir.Float8E4M3FN, ir.Float8E4M3FNUZ, ir.Float8E5M2, ir.Float8E5M2FNUZ:
		return 0, false
	}
	if t.Check() != nil {
		return 0, false
	}
	return t.Float64s()[0], true
}

// near reports whether x is within relative tolerance rel of want.
func near(x, want, rel float64) bool {
	return math.Abs(x-want) <= rel*math.Abs(want)
}

// floatTensor returns a tensor of dtype dt (a float type) holding data.
func floatTensor(dt ir.DType, dims []int64, data []float64) *ir.Tensor {
	return ir.FromFloat64(dt, dims, data)
}

// isDefault reports whether n is in the default ONNX domain.
func isDefault(n *ir.Node) bool { return n.Domain == "" || n.Domain == "ai.onnx" }

// is reports whether n is the default-domain operator op.
func is(n *ir.Node, op string) bool { return n != nil && n.OpType == op && isDefault(n) }

// inferShapes refreshes the types of the model's values with
// ir.InferShapes. Inconsistencies it meets (often types declared by the
// exporter that disagree with the graph) are logged, not fatal: the
// passes use only what inference could establish.
func (c *Context) inferShapes() {
	if err := ir.InferShapes(c.Model); err != nil {
		c.Logf("  shape inference: %v", err)
	}
}

// readConsts returns the constants of every graph of m that something
// reads.
func readConsts(m *ir.Model) map[*ir.Value]bool {
	all := map[*ir.Value]bool{}
	m.Graph.Walk(func(g *ir.Graph) {
		read := readValues(g)
		for _, v := range g.Consts {
			if read[v] {
				all[v] = true
			}
		}
	})
	return all
}

// dropUnreadConsts removes g's constants that were read before (wasRead)
// and that no node of g (or a subgraph of one), no graph output and no
// graph input list reads now.
func dropUnreadConsts(g *ir.Graph, wasRead map[*ir.Value]bool) {
	read := readValues(g)
	kept := g.Consts[:0]
	for _, v := range g.Consts {
		if read[v] || !wasRead[v] {
			kept = append(kept, v)
		}
	}
	for i := len(kept); i < len(g.Consts); i++ {
		g.Consts[i] = nil
	}
	g.Consts = kept
}

// readValues returns the values g's nodes, their subgraphs and g's
// outputs read, and g's inputs.
func readValues(g *ir.Graph) map[*ir.Value]bool {
	read := map[*ir.Value]bool{}
	for _, o := range g.Outputs {
		read[o] = true
	}
	for _, v := range g.Inputs {
		read[v] = true
	}
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			read[in] = true
		}
		for _, sg := range n.Subgraphs() {
			for v := range sg.Captures() {
				read[v] = true
			}
		}
	}
	return read
}
