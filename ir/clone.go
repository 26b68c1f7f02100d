package ir

import "slices"

// Clone returns a copy of m that can be rewritten without touching m:
// graphs, values, nodes and attributes are new, and a subgraph's reads of
// outer values point at the copies. Tensors are shared, since they are
// immutable (a pass that changes a weight makes a new Tensor); Types are
// copied.
func (m *Model) Clone() *Model {
	c := *m
	c.Opsets = slices.Clone(m.Opsets)
	c.Metadata = slices.Clone(m.Metadata)
	if m.Graph != nil {
		c.Graph = m.Graph.clone(map[*Value]*Value{})
	}
	return &c
}

// clone copies g, mapping values through vm (which holds the enclosing
// graphs' copies, so captured values resolve to them).
func (g *Graph) clone(vm map[*Value]*Value) *Graph {
	val := func(v *Value) *Value {
		if v == nil {
			return nil
		}
		if nv, ok := vm[v]; ok {
			return nv
		}
		nv := *v
		nv.Type = v.Type.Clone()
		vm[v] = &nv
		return &nv
	}
	vals := func(vs []*Value) []*Value {
		out := make([]*Value, len(vs))
		for i, v := range vs {
			out[i] = val(v)
		}
		return out
	}
	c := *g
	c.Inputs = vals(g.Inputs)
	c.Consts = vals(g.Consts)
	c.Nodes = make([]*Node, len(g.Nodes))
	for i, n := range g.Nodes {
		nn := *n
		nn.Inputs = vals(n.Inputs)
		nn.Outputs = vals(n.Outputs)
		nn.Attrs = make([]*Attribute, len(n.Attrs))
		for j, a := range n.Attrs {
			na := *a
			if a.G != nil {
				na.G = a.G.clone(vm)
			}
			if a.Graphs != nil {
				na.Graphs = make([]*Graph, len(a.Graphs))
				for k, sg := range a.Graphs {
					na.Graphs[k] = sg.clone(vm)
				}
			}
			na.Floats = slices.Clone(a.Floats)
			na.Ints = slices.Clone(a.Ints)
			nn.Attrs[j] = &na
		}
		c.Nodes[i] = &nn
	}
	c.Outputs = vals(g.Outputs)
	c.ValueInfo = vals(g.ValueInfo)
	return &c
}
