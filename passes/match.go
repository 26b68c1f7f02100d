package passes

import "github.com/nncc/nncc/ir"

// Small pattern-matching helpers for the fusion passes. A matcher walks
// from an anchor node along producers and single readers, checking the
// cheap things (op types, use counts) before reading constants.

// producerOf returns the node of g producing v when it is the
// default-domain operator op.
func producerOf(ix *ir.Index, v *ir.Value, op string) *ir.Node {
	if v == nil {
		return nil
	}
	if p := ix.Producer[v]; is(p, op) {
		return p
	}
	return nil
}

// soleReader returns the node reading v when it is the only reader of v,
// reads it as an ordinary input, v is not a graph output, and the node
// is the default-domain operator op.
func soleReader(ix *ir.Index, v *ir.Value, op string) *ir.Node {
	if v == nil {
		return nil
	}
	if n := onlyUse(ix, v); is(n, op) {
		return n
	}
	return nil
}

// otherInput returns the input of the two-input node n that is not v, or
// nil when n does not read v (or reads it twice).
func otherInput(n *ir.Node, v *ir.Value) *ir.Value {
	if n == nil || len(n.Inputs) != 2 {
		return nil
	}
	switch {
	case n.Inputs[0] == v && n.Inputs[1] != v:
		return n.Inputs[1]
	case n.Inputs[1] == v && n.Inputs[0] != v:
		return n.Inputs[0]
	}
	return nil
}

// scalarNear reports whether v is a constant holding one element within
// relative tolerance rel of want. The constant must not widen the
// result: its rank is at most 1, or at most the rank of x when known.
func (c *Context) scalarNear(v, x *ir.Value, want, rel float64) bool {
	t := c.ConstOf(v)
	s, ok := scalarOf(t)
	if !ok || !near(s, want, rel) {
		return false
	}
	r := rankOf(x)
	return len(t.Dims) <= 1 && (r < 0 || len(t.Dims) <= r) || len(t.Dims) <= r
}

// out0 returns n's first output.
func out0(n *ir.Node) *ir.Value {
	if n == nil || len(n.Outputs) == 0 {
		return nil
	}
	return n.Outputs[0]
}
