package passes

import (
	"fmt"
	"math"

	"github.com/nncc/nncc/ir"
)

// FuseGelu merges decomposed GELU into Gelu.
var FuseGelu = &Pass{
	Name: "fuse-gelu",
	Doc: `Merge decomposed GELU into one Gelu (opset 20 or newer).

Two forms are recognized, with the operands of Add and Mul in either
order and the three factors of the final product associated either way
(x·0.5·(1+…), (x·0.5)·(1+…), x·((1+…)·0.5)):

  exact:  x · 0.5 · (1 + erf(x / √2))        (x/√2 also as x · (1/√2))
  tanh:   x · 0.5 · (1 + tanh(√(2/π) · (x + 0.044715·x³)))
          → Gelu approximate="tanh"       (x³ as Pow(x, 3), x·x·x)

Constants must be scalars within a relative 1e-4 of the exact values (so
float16 constants match) that do not widen x's shape, and every
intermediate must be read only inside the pattern.

Run upgrade-opset{to=20} first on older models.`,
	Run: runFuseGelu,
}

const geluTol = 1e-4

// geluMatch is a matched GELU: the node producing the result (it becomes
// the Gelu), the rest of the pattern, and the approximation.
type geluMatch struct {
	x     *ir.Value
	last  *ir.Node
	nodes []*ir.Node
	tanh  bool
}

func runFuseGelu(c *Context) error {
	opset := c.Opset()
	if opset < 20 {
		c.Declinef(nil, "Gelu needs opset 20, the model imports %d; run upgrade-opset{to=20} first", opset)
		return nil
	}
	c.inferShapes()
	c.Model.Graph.Walk(func(g *ir.Graph) {
		ix := g.BuildIndex()
		for _, n := range append([]*ir.Node{}, g.Nodes...) {
			var m *geluMatch
			var err error
			switch {
			case is(n, "Erf"):
				m, err = matchGeluErf(c, ix, n)
			case is(n, "Tanh"):
				m, err = matchGeluTanh(c, ix, n)
			default:
				continue
			}
			if m == nil {
				continue
			}
			if err != nil {
				c.Declinef(n, "GELU not fused: %v", err)
				continue
			}
			l := m.last
			l.OpType, l.Domain = "Gelu", ""
			l.Inputs = []*ir.Value{m.x}
			l.Outputs = l.Outputs[:1]
			l.Attrs = nil
			if m.tanh {
				l.Attrs = []*ir.Attribute{ir.StringAttr("approximate", "tanh")}
			}
			dead := map[*ir.Node]bool{}
			for _, d := range m.nodes {
				if d != l {
					dead[d] = true
				}
			}
			g.RemoveNodes(dead)
			c.Changed()
			ix = g.BuildIndex()
		}
	})
	return nil
}

// matchGeluErf matches x·0.5·(1 + erf(x/√2)) around the Erf node.
func matchGeluErf(c *Context, ix *ir.Index, erf *ir.Node) (*geluMatch, error) {
	u := erf.Input(0)
	var x *ir.Value
	scale := ix.Producer[u]
	switch {
	case is(scale, "Div") && len(scale.Inputs) == 2 && c.scalarNear(scale.Inputs[1], scale.Inputs[0], math.Sqrt2, geluTol):
		x = scale.Inputs[0]
	case is(scale, "Mul") && len(scale.Inputs) == 2:
		for i := range 2 {
			if c.scalarNear(scale.Inputs[i], scale.Inputs[1-i], 1/math.Sqrt2, geluTol) {
				x = scale.Inputs[1-i]
			}
		}
	}
	if x == nil || onlyUse(ix, u) != erf {
		return nil, nil
	}
	return geluTail(c, ix, x, out0(erf), []*ir.Node{scale, erf}, false)
}

// matchGeluTanh matches x·0.5·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
func matchGeluTanh(c *Context, ix *ir.Index, th *ir.Node) (*geluMatch, error) {
	w := th.Input(0)
	outer := producerOf(ix, w, "Mul")
	if outer == nil || onlyUse(ix, w) != th || len(outer.Inputs) != 2 {
		return nil, nil
	}
	var q *ir.Value
	for i := range 2 {
		if c.scalarNear(outer.Inputs[i], outer.Inputs[1-i], math.Sqrt(2/math.Pi), geluTol) {
			q = outer.Inputs[1-i]
		}
	}
	add := producerOf(ix, q, "Add")
	if add == nil || onlyUse(ix, q) != outer || len(add.Inputs) != 2 {
		return nil, nil
	}
	// x + 0.044715·x³, the sum in either order.
	for i := range 2 {
		x, r := add.Inputs[i], add.Inputs[1-i]
		cube := producerOf(ix, r, "Mul")
		if cube == nil || onlyUse(ix, r) != add || len(cube.Inputs) != 2 {
			continue
		}
		for j := range 2 {
			if !c.scalarNear(cube.Inputs[j], x, 0.044715, geluTol) {
				continue
			}
			x3 := cube.Inputs[1-j]
			if cn := cubeOf(c, ix, x3, x); cn != nil && onlyUse(ix, x3) == cube {
				nodes := append([]*ir.Node{outer, add, cube, th}, cn...)
				return geluTail(c, ix, x, out0(th), nodes, true)
			}
		}
	}
	return nil, nil
}

// cubeOf returns the nodes computing v = x³ (Pow(x, 3), x·(x·x) or
// (x·x)·x), or nil.
func cubeOf(c *Context, ix *ir.Index, v, x *ir.Value) []*ir.Node {
	p := ix.Producer[v]
	switch {
	case is(p, "Pow") && len(p.Inputs) == 2 && p.Inputs[0] == x && c.scalarNear(p.Inputs[1], x, 3, 0):
		return []*ir.Node{p}
	case is(p, "Mul") && len(p.Inputs) == 2:
		sqV := otherInput(p, x)
		sq := producerOf(ix, sqV, "Mul")
		if sq != nil && len(sq.Inputs) == 2 && sq.Inputs[0] == x && sq.Inputs[1] == x && onlyUse(ix, sqV) == p {
			return []*ir.Node{p, sq}
		}
	}
	return nil
}

// geluTail matches (1 + t)·x·0.5, where t is the Erf or Tanh output and
// nodes the part of the pattern matched so far.
func geluTail(c *Context, ix *ir.Index, x, t *ir.Value, nodes []*ir.Node, tanh bool) (*geluMatch, error) {
	one := soleReader(ix, t, "Add")
	if one == nil || !c.scalarNear(otherInput(one, t), x, 1, geluTol) {
		return nil, nil
	}
	p := out0(one)
	m1 := soleReader(ix, p, "Mul")
	if m1 == nil {
		return nil, nil
	}
	o := otherInput(m1, p)
	nodes = append(nodes, one, m1)
	var last *ir.Node
	switch {
	case o == x: // (x·(1+t))·0.5
		m2 := soleReader(ix, out0(m1), "Mul")
		if m2 != nil && c.scalarNear(otherInput(m2, out0(m1)), x, 0.5, geluTol) {
			last = m2
		}
	case c.scalarNear(o, x, 0.5, geluTol): // ((1+t)·0.5)·x
		m2 := soleReader(ix, out0(m1), "Mul")
		if m2 != nil && otherInput(m2, out0(m1)) == x {
			last = m2
		}
	default: // (x·0.5)·(1+t)
		h := producerOf(ix, o, "Mul")
		if h != nil && onlyUse(ix, o) == m1 && otherInput(h, x) != nil && c.scalarNear(otherInput(h, x), x, 0.5, geluTol) {
			nodes = append(nodes, h)
			last = m1
		}
	}
	if last == nil {
		return nil, nil
	}
	if last != m1 {
		nodes = append(nodes, last)
	}
	m := &geluMatch{x: x, last: last, nodes: nodes, tanh: tanh}
	if dt := dtypeOf(x); dt != ir.Undefined && !isFloatType(dt) {
		return m, fmt.Errorf("element type %s is not a float type", dt)
	}
	return m, nil
}
