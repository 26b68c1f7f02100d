package ir

import (
	"fmt"
	"sort"
)

// Use is one place a value is read: input Index of Node, or graph output
// Index when Node is nil.
type Use struct {
	Node  *Node
	Index int
}

// Index maps each value of a graph to its producer and its uses. It is a
// snapshot: rebuild it after editing the graph.
type Index struct {
	Producer map[*Value]*Node
	Uses     map[*Value][]Use
}

// BuildIndex computes producers and uses in g. Uses from inside
// subgraphs (captured outer values) are recorded against the node that
// owns the subgraph, with Index -1.
func (g *Graph) BuildIndex() *Index {
	ix := &Index{Producer: map[*Value]*Node{}, Uses: map[*Value][]Use{}}
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			if o != nil {
				ix.Producer[o] = n
			}
		}
		for i, in := range n.Inputs {
			if in != nil {
				ix.Uses[in] = append(ix.Uses[in], Use{n, i})
			}
		}
		for _, sg := range n.Subgraphs() {
			for v := range sg.Captures() {
				ix.Uses[v] = append(ix.Uses[v], Use{n, -1})
			}
		}
	}
	for i, o := range g.Outputs {
		ix.Uses[o] = append(ix.Uses[o], Use{nil, i})
	}
	return ix
}

// IsGraphOutput reports whether v is read as a graph output.
func (ix *Index) IsGraphOutput(v *Value) bool {
	for _, u := range ix.Uses[v] {
		if u.Node == nil {
			return true
		}
	}
	return false
}

// Captures returns the values g reads that it does not define itself
// (including those read by nested subgraphs): the outer-scope values a
// body uses.
func (g *Graph) Captures() map[*Value]bool {
	defined := map[*Value]bool{}
	for _, v := range g.Inputs {
		defined[v] = true
	}
	for _, v := range g.Consts {
		defined[v] = true
	}
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			if o != nil {
				defined[o] = true
			}
		}
	}
	out := map[*Value]bool{}
	see := func(v *Value) {
		if v != nil && !defined[v] {
			out[v] = true
		}
	}
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			see(in)
		}
		for _, sg := range n.Subgraphs() {
			for v := range sg.Captures() {
				see(v)
			}
		}
	}
	for _, o := range g.Outputs {
		see(o)
	}
	return out
}

// ReplaceUses makes every reader of old (node inputs in g and its
// subgraphs, and graph outputs) read new instead. When old is a graph
// output the output list is changed to new; callers that must keep the
// output's name should rename new.
func (g *Graph) ReplaceUses(old, new *Value) {
	for _, n := range g.Nodes {
		for i, in := range n.Inputs {
			if in == old {
				n.Inputs[i] = new
			}
		}
		for _, sg := range n.Subgraphs() {
			sg.ReplaceUses(old, new)
		}
	}
	for i, o := range g.Outputs {
		if o == old {
			g.Outputs[i] = new
		}
	}
}

// RemoveNodes deletes the given nodes from g, keeping the order of the
// rest.
func (g *Graph) RemoveNodes(dead map[*Node]bool) {
	if len(dead) == 0 {
		return
	}
	kept := g.Nodes[:0]
	for _, n := range g.Nodes {
		if !dead[n] {
			kept = append(kept, n)
		}
	}
	for i := len(kept); i < len(g.Nodes); i++ {
		g.Nodes[i] = nil
	}
	g.Nodes = kept
}

// AddConst adds a constant value named name (made unique) to g.
func (g *Graph) AddConst(name string, t *Tensor) *Value {
	v := &Value{Name: g.UniqueName(name), Const: t, Type: &Type{Kind: KindTensor, DType: t.DType, HasShape: true, Shape: ShapeOf(t.Dims...)}}
	g.Consts = append(g.Consts, v)
	return v
}

// UniqueName returns name, or name with a numeric suffix, such that no
// value or node output in g (or its subgraphs) already uses it.
func (g *Graph) UniqueName(name string) string {
	used := g.ValueNames()
	if !used[name] && name != "" {
		return name
	}
	for i := 1; ; i++ {
		c := fmt.Sprintf("%s_%d", name, i)
		if !used[c] {
			return c
		}
	}
}

// ValueNames returns the set of names of the values g and its subgraphs
// define: inputs, constants and node outputs.
func (g *Graph) ValueNames() map[string]bool {
	used := map[string]bool{}
	g.Walk(func(sg *Graph) {
		for _, v := range sg.Inputs {
			used[v.Name] = true
		}
		for _, v := range sg.Consts {
			used[v.Name] = true
		}
		for _, n := range sg.Nodes {
			for _, o := range n.Outputs {
				if o != nil {
					used[o.Name] = true
				}
			}
		}
	})
	return used
}

// Walk calls f for g and every subgraph nested in it, outermost first.
func (g *Graph) Walk(f func(*Graph)) {
	f(g)
	for _, n := range g.Nodes {
		for _, sg := range n.Subgraphs() {
			sg.Walk(f)
		}
	}
}

// TopoSort reorders g.Nodes so every node follows the producers of its
// inputs (and of the values its subgraphs capture), keeping the original
// order where it is free to. It returns an error naming a node on a cycle.
func (g *Graph) TopoSort() error {
	ix := g.BuildIndex()
	pos := map[*Node]int{}
	for i, n := range g.Nodes {
		pos[n] = i
	}
	deps := func(n *Node) []*Node {
		var ds []*Node
		add := func(v *Value) {
			if p := ix.Producer[v]; p != nil {
				ds = append(ds, p)
			}
		}
		for _, in := range n.Inputs {
			add(in)
		}
		for _, sg := range n.Subgraphs() {
			caps := sg.Captures()
			vs := make([]*Value, 0, len(caps))
			for v := range caps {
				vs = append(vs, v)
			}
			sort.Slice(vs, func(i, j int) bool { return vs[i].Name < vs[j].Name })
			for _, v := range vs {
				add(v)
			}
		}
		return ds
	}
	indeg := map[*Node]int{}
	users := map[*Node][]*Node{}
	for _, n := range g.Nodes {
		seen := map[*Node]bool{}
		for _, d := range deps(n) {
			if !seen[d] && d != n {
				seen[d] = true
				indeg[n]++
				users[d] = append(users[d], n)
			} else if d == n {
				return fmt.Errorf("node %s (%s) reads its own output", n.Name, n.OpType)
			}
		}
	}
	// Kahn's algorithm with a min-heap on original position keeps the
	// order stable and deterministic.
	ready := &nodeHeap{pos: pos}
	for _, n := range g.Nodes {
		if indeg[n] == 0 {
			ready.push(n)
		}
	}
	out := make([]*Node, 0, len(g.Nodes))
	for ready.len() > 0 {
		n := ready.pop()
		out = append(out, n)
		for _, u := range users[n] {
			indeg[u]--
			if indeg[u] == 0 {
				ready.push(u)
			}
		}
	}
	if len(out) != len(g.Nodes) {
		for _, n := range g.Nodes {
			if indeg[n] > 0 {
				return fmt.Errorf("graph %q has a cycle through node %q (%s)", g.Name, n.Name, n.OpType)
			}
		}
	}
	g.Nodes = out
	return nil
}

type nodeHeap struct {
	pos   map[*Node]int
	items []*Node
}

func (h *nodeHeap) len() int { return len(h.items) }
func (h *nodeHeap) less(i, j int) bool {
	return h.pos[h.items[i]] < h.pos[h.items[j]]
}
func (h *nodeHeap) push(n *Node) {
	h.items = append(h.items, n)
	i := len(h.items) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(i, p) {
			break
		}
		h.items[i], h.items[p] = h.items[p], h.items[i]
		i = p
	}
}
func (h *nodeHeap) pop() *Node {
	top := h.items[0]
	last := len(h.items) - 1
	h.items[0] = h.items[last]
	h.items = h.items[:last]
	i := 0
	for {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(h.items) && h.less(l, m) {
			m = l
		}
		if r < len(h.items) && h.less(r, m) {
			m = r
		}
		if m == i {
			return top
		}
		h.items[i], h.items[m] = h.items[m], h.items[i]
		i = m
	}
}

// ParamStats returns the number of constant elements and their bytes in
// g and its subgraphs.
func (g *Graph) ParamStats() (count, bytes int64) {
	g.Walk(func(sg *Graph) {
		for _, v := range sg.Consts {
			count += v.Const.NumElements()
			bytes += v.Const.Bytes()
		}
	})
	return count, bytes
}
