package gosrc

import (
	"slices"

	"github.com/nncc/nncc/ir"
)

// A group is one step of the generated Run: a single operator, or a
// fused loop nest of element-wise operators, optionally led by an anchor
// (a convolution or matrix product) whose result the loop transforms in
// place. Groups run at their root's position in the graph's order.
type group struct {
	root    *ir.Node
	anchor  *ir.Node   // Conv, Gemm or MatMul feeding the element-wise members, or nil
	members []*ir.Node // element-wise nodes in graph order (root last)
	view    bool       // the root only reinterprets its input (Reshape, Flatten, ...)
	index   int
}

func (g *group) out() *ir.Value { return g.root.Outputs[0] }

// elementwise operators the loop fuser understands (one output).
var ewOps = map[string]bool{
	"Add": true, "Sub": true, "Mul": true, "Div": true, "Pow": true, "Max": true, "Min": true,
	"Relu": true, "Clip": true, "HardSigmoid": true, "HardSwish": true, "Sigmoid": true,
	"Tanh": true, "Exp": true, "Log": true, "Sqrt": true, "Neg": true, "Abs": true, "Erf": true,
	"Reciprocal": true, "LeakyRelu": true, "Elu": true, "Softplus": true, "Floor": true, "Ceil": true, "Round": true,
	"BatchNormalization": true, "QuantizeLinear": true, "DequantizeLinear": true, "PRelu": true,
}

// viewOps reinterpret their first input without moving data.
var viewOps = map[string]bool{
	"Reshape": true, "Flatten": true, "Squeeze": true, "Unsqueeze": true, "Identity": true,
	"Dropout": true, "Cast": true,
}

func (a *analysis) isEW(n *ir.Node) bool {
	if !ewOps[n.OpType] || len(n.Outputs) != 1 && n.OpType != "BatchNormalization" {
		return false
	}
	if n.OpType == "BatchNormalization" {
		for _, o := range n.Outputs[1:] {
			if o != nil && o.Name != "" {
				return false
			}
		}
	}
	return true
}

// isAnchor reports whether n is a convolution or matrix product with
// constant weights that can lead a fused group.
func (a *analysis) isAnchor(n *ir.Node) bool {
	switch n.OpType {
	case "Conv", "Gemm":
		return len(n.Inputs) > 1 && a.vals[n.Inputs[1]].isStatic()
	case "MatMul":
		w := a.vals[n.Inputs[1]]
		return w.isStatic() && len(w.dims) == 2
	}
	return false
}

// groups partitions the dynamic nodes. Walking backwards, each node not
// yet taken roots a group, which then absorbs the producers of its
// members' inputs while every use of the absorbed value stays inside the
// group: element-wise producers whose shape broadcasts to the root's
// become members (computed at the loop level where they vary), and one
// convolution or matrix product producing a value of the root's shape
// becomes the anchor.
func (a *analysis) groups() []*group {
	taken := map[*ir.Node]*group{}
	var gs []*group
	for i := len(a.nodes) - 1; i >= 0; i-- {
		n := a.nodes[i]
		if taken[n] != nil {
			continue
		}
		g := &group{root: n}
		taken[n] = g
		gs = append(gs, g)
		switch {
		case viewOps[n.OpType]:
			g.view = true
			continue
		case a.isAnchor(n):
			g.anchor = n
			continue
		case !a.isEW(n):
			continue
		}
		g.members = []*ir.Node{n}
		out := a.vals[n.Outputs[0]]
		in := map[*ir.Node]bool{n: true}
		for changed := true; changed; {
			changed = false
			for _, mem := range slices.Clone(g.members) {
				for _, v := range mem.Inputs {
					if v == nil {
						continue
					}
					vi := a.vals[v]
					p := vi.prod
					if p == nil || vi.isStatic() || vi.output || taken[p] != nil || p.Outputs[0] != v {
						continue
					}
					if !allIn(vi.uses, in) {
						continue
					}
					if p.OpType == "QuantizeLinear" {
						// its 8-bit result is materialized: an integer
						// kernel requantizes straight into it, and readers
						// take bytes
						continue
					}
					switch {
					case a.isEW(p) && broadcastsTo(vi, out) && (g.anchor == nil || !slices.Contains(g.anchor.Inputs, v)):
						g.members = append(g.members, p)
					case g.anchor == nil && a.isAnchor(p) && slices.Equal(vi.dims, out.dims) && vi.scaled == out.scaled && !a.readsAny(p, in):
						g.anchor = p
					default:
						continue
					}
					in[p] = true
					taken[p] = g
					changed = true
				}
			}
		}
		order := map[*ir.Node]int{}
		for i, n := range a.nodes {
			order[n] = i
		}
		slices.SortFunc(g.members, func(x, y *ir.Node) int { return order[x] - order[y] })
	}
	slices.Reverse(gs)
	for i, g := range gs {
		g.index = i
	}
	return gs
}

// readsAny reports whether n reads an output of a node in set (the
// anchor runs before the members, so it cannot read their results).
func (a *analysis) readsAny(n *ir.Node, set map[*ir.Node]bool) bool {
	for _, v := range n.Inputs {
		if v != nil && a.vals[v].prod != nil && set[a.vals[v].prod] {
			return true
		}
	}
	return false
}

func allIn(uses []*ir.Node, in map[*ir.Node]bool) bool {
	for _, u := range uses {
		if !in[u] {
			return false
		}
	}
	return true
}

// broadcastsTo reports whether v's shape broadcasts to out's without
// growing out.
func broadcastsTo(v, out *info) bool {
	if len(v.dims) > len(out.dims) {
		return false
	}
	off := len(out.dims) - len(v.dims)
	for i, d := range v.dims {
		o := out.dims[off+i]
		if d != o && d != 1 {
			return false
		}
		if off+i == 0 && out.scaled && !v.scaled && d != 1 {
			return false
		}
	}
	if v.scaled && (off != 0 || !out.scaled) {
		return false
	}
	return true
}
