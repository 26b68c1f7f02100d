package passes

import (
	"fmt"
	"math"
	"sort"

	"github.com/nncc/nncc/ir"
)

// FuseLayerNorm merges decomposed layer normalization into
// LayerNormalization.
var FuseLayerNorm = &Pass{
	Name: "fuse-layernorm",
	Doc: `Merge the decomposed layer normalization exporters write into one LayerNormalization (opset 17 or newer).

The pattern is the one PyTorch, PaddlePaddle and Keras (through tf2onnx)
exports spell out, over the trailing axes of x:

  d = x − ReduceMean(x)
  y = d / √(ReduceMean(d²) + ε) · γ + β

with its variants: d² as Pow(d, 2) or Mul(d, d); √ as Sqrt or Pow(·, 0.5);
the division as Div, as Mul by Reciprocal, by Div(1, ·) or by Pow(·, −0.5);
operands of Add and Mul in either order; ε, γ and β on either side; γ, β or
both absent; and the Keras form y = x·g + (β − mean·g) with
g = γ / √(var + ε). ε must be a constant scalar added before the square
root (ε added after it is a different function and is left alone); γ and
β must be constants that broadcast to the normalized shape, which must be
static; every intermediate must be read only inside the pattern.

Run upgrade-opset{to=17} first on older models.`,
	Run: runFuseLayerNorm,
}

// lnMatch is a matched layer normalization.
type lnMatch struct {
	x             *ir.Value
	k             int // number of normalized (trailing) axes
	eps           float64
	gamma, beta   *ir.Value // nil when absent
	last          *ir.Node  // produces the result; becomes the LayerNormalization
	nodes         []*ir.Node
	normDims      []int64
	gammaT, betaT *ir.Tensor
}

func runFuseLayerNorm(c *Context) error {
	opset := c.Opset()
	if opset < 17 {
		c.Declinef(nil, "LayerNormalization needs opset 17, the model imports %d; run upgrade-opset{to=17} first", opset)
		return nil
	}
	c.inferShapes()
	c.Model.Graph.Walk(func(g *ir.Graph) {
		ix := g.BuildIndex()
		for _, n := range append([]*ir.Node{}, g.Nodes...) {
			if !is(n, "ReduceMean") {
				continue
			}
			m, err := matchLayerNorm(c, ix, n, opset)
			if m == nil {
				continue // not this pattern at all
			}
			if err != nil {
				c.Declinef(n, "layer normalization not fused: %v", err)
				continue
			}
			applyLayerNorm(c, g, m)
			c.Changed()
			ix = g.BuildIndex()
		}
	})
	return nil
}

// reduceAxes returns the axes of a ReduceMean (attribute before opset
// 18, input from 18), normalized against rank r when r ≥ 0, and whether
// it keeps dims. ok is false when the axes are not known.
func reduceAxes(c *Context, n *ir.Node, opset int64) (axes []int64, ok bool) {
	if opset >= 18 {
		if v := n.Input(1); v != nil {
			t := c.ConstOf(v)
			if t == nil || (t.DType != ir.Int64 && t.DType != ir.Int32) {
				return nil, false
			}
			return t.Int64s(), true
		}
		if n.AttrInt("noop_with_empty_axes", 0) != 0 {
			return nil, false
		}
		return nil, true
	}
	return n.AttrInts("axes"), true
}

// trailingAxes checks that axes are the last k axes of a rank-r tensor
// (r < 0: unknown, then axes must be negative) and returns k.
func trailingAxes(axes []int64, r int) (int, bool) {
	if len(axes) == 0 {
		if r < 0 {
			return 0, false
		}
		return r, r > 0 // reduce over everything
	}
	norm := make([]int64, len(axes))
	for i, a := range axes {
		switch {
		case a < 0 && r >= 0:
			a += int64(r)
		case a >= 0 && r < 0:
			return 0, false
		}
		norm[i] = a
	}
	sort.Slice(norm, func(i, j int) bool { return norm[i] < norm[j] })
	k := len(norm)
	last := int64(-1)
	if r >= 0 {
		last = int64(r - 1)
	}
	for i := range norm {
		if norm[i] != last-int64(k-1-i) {
			return 0, false
		}
	}
	if r >= 0 && (norm[0] < 0 || k > r) {
		return 0, false
	}
	return k, true
}

// matchLayerNorm tries the pattern anchored at the mean ReduceMean m1.
// It returns nil, nil when the graph around m1 is not a layer
// normalization at all, and a match with an error when it is one that
// cannot be fused (the reason is worth reporting).
func matchLayerNorm(c *Context, ix *ir.Index, m1 *ir.Node, opset int64) (*lnMatch, error) {
	x := m1.Input(0)
	mean := out0(m1)
	if x == nil || mean == nil {
		return nil, nil
	}
	// x − mean; in the Keras form mean is also read by mean·g.
	var sub *ir.Node
	for _, u := range ix.Uses[mean] {
		if is(u.Node, "Sub") && len(u.Node.Inputs) == 2 && u.Node.Inputs[0] == x && u.Node.Inputs[1] == mean {
			sub = u.Node
		}
	}
	if sub == nil {
		return nil, nil
	}
	d := out0(sub)
	// The variance: ReduceMean(d²).
	var sq *ir.Node
	for _, u := range ix.Uses[d] {
		n := u.Node
		if is(n, "Pow") && len(n.Inputs) == 2 && n.Inputs[0] == d && c.scalarNear(n.Inputs[1], d, 2, 0) {
			sq = n
		}
		if is(n, "Mul") && len(n.Inputs) == 2 && n.Inputs[0] == d && n.Inputs[1] == d {
			sq = n
		}
	}
	if sq == nil {
		return nil, nil
	}
	m2 := soleReader(ix, out0(sq), "ReduceMean")
	if m2 == nil {
		return nil, nil
	}
	addEps := soleReader(ix, out0(m2), "Add")
	if addEps == nil {
		return nil, nil
	}
	epsV := otherInput(addEps, out0(m2))
	// The denominator: √(var+ε) to divide by, or its inverse to multiply.
	ve := out0(addEps)
	var sd, inv *ir.Value
	var denom []*ir.Node
	if n := soleReader(ix, ve, "Sqrt"); n != nil {
		sd, denom = out0(n), append(denom, n)
	} else if n := soleReader(ix, ve, "Pow"); n != nil && n.Inputs[0] == ve {
		switch {
		case c.scalarNear(n.Input(1), ve, 0.5, 0):
			sd, denom = out0(n), append(denom, n)
		case c.scalarNear(n.Input(1), ve, -0.5, 0):
			inv, denom = out0(n), append(denom, n)
		}
	}
	if sd != nil {
		if n := soleReader(ix, sd, "Reciprocal"); n != nil {
			inv, denom = out0(n), append(denom, n)
		} else if n := soleReader(ix, sd, "Div"); n != nil && n.Inputs[1] == sd && c.scalarNear(n.Inputs[0], sd, 1, 0) {
			inv, denom = out0(n), append(denom, n)
		}
	}
	if sd == nil && inv == nil {
		return nil, nil
	}
	m := &lnMatch{x: x}
	m.nodes = append([]*ir.Node{m1, sub, sq, m2, addEps}, denom...)

	// Standard form: d / sd or d · inv, then · γ, then + β.
	var nrm *ir.Node
	if inv == nil {
		if n := soleReader(ix, sd, "Div"); n != nil && n.Inputs[0] == d && n.Inputs[1] == sd {
			nrm = n
		}
	} else if n := soleReader(ix, inv, "Mul"); n != nil && otherInput(n, inv) == d {
		nrm = n
	}
	if nrm != nil {
		if !usedOnlyBy(ix, d, sq, nrm) || !usedOnlyBy(ix, mean, sub) {
			return m, fmt.Errorf("x − mean or the mean is also read outside the pattern")
		}
		m.nodes = append(m.nodes, nrm)
		m.last = nrm
		if mul := soleReader(ix, out0(nrm), "Mul"); mul != nil {
			if gv := otherInput(mul, out0(nrm)); c.ConstOf(gv) != nil {
				m.gamma, m.last = gv, mul
				m.nodes = append(m.nodes, mul)
			}
		}
		if add := soleReader(ix, out0(m.last), "Add"); add != nil {
			if bv := otherInput(add, out0(m.last)); c.ConstOf(bv) != nil {
				m.beta, m.last = bv, add
				m.nodes = append(m.nodes, add)
			}
		}
	} else if inv != nil {
		// Keras: g = inv·γ; y = x·g + (β − mean·g).
		if !usedOnlyBy(ix, d, sq) {
			return m, fmt.Errorf("x − mean is also read outside the pattern")
		}
		gmul := soleReader(ix, inv, "Mul")
		if gmul == nil {
			return nil, nil
		}
		m.gamma = otherInput(gmul, inv)
		gv := out0(gmul)
		var xg, mg *ir.Node
		for _, u := range ix.Uses[gv] {
			if !is(u.Node, "Mul") {
				return nil, nil
			}
			switch otherInput(u.Node, gv) {
			case x:
				xg = u.Node
			case mean:
				mg = u.Node
			}
		}
		if xg == nil || mg == nil || len(ix.Uses[gv]) != 2 || !usedOnlyBy(ix, mean, sub, mg) {
			return nil, nil
		}
		bsub := soleReader(ix, out0(mg), "Sub")
		if bsub == nil || bsub.Inputs[1] != out0(mg) {
			return nil, nil
		}
		m.beta = bsub.Inputs[0]
		add := soleReader(ix, out0(xg), "Add")
		if add == nil || otherInput(add, out0(xg)) != out0(bsub) || onlyUse(ix, out0(bsub)) != add {
			return nil, nil
		}
		m.nodes = append(m.nodes, gmul, xg, mg, bsub, add)
		m.last = add
		if c.ConstOf(m.gamma) == nil || c.ConstOf(m.beta) == nil {
			return m, fmt.Errorf("γ or β is not a constant")
		}
	} else {
		return nil, nil
	}

	// Now the checks that read constants and shapes.
	r := rankOf(x)
	ax1, ok1 := reduceAxes(c, m1, opset)
	ax2, ok2 := reduceAxes(c, m2, opset)
	if !ok1 || !ok2 {
		return m, fmt.Errorf("the ReduceMean axes are not constant")
	}
	if m1.AttrInt("keepdims", 1) == 0 || m2.AttrInt("keepdims", 1) == 0 {
		return m, fmt.Errorf("a ReduceMean drops the reduced axes (keepdims=0)")
	}
	k1, t1 := trailingAxes(ax1, r)
	k2, t2 := trailingAxes(ax2, r)
	if !t1 || !t2 || k1 != k2 {
		return m, fmt.Errorf("the axes %v and %v are not the same trailing axes of a rank-%d input", ax1, ax2, r)
	}
	m.k = k1
	eps, ok := scalarOf(c.ConstOf(epsV))
	if !ok || eps < 0 || !c.scalarNear(epsV, x, eps, 0) {
		return m, fmt.Errorf("ε is not a constant non-negative scalar")
	}
	m.eps = eps
	dt := dtypeOf(x)
	if !isFloatType(dt) {
		return m, fmt.Errorf("element type %s is not a float type", dt)
	}
	s, _ := shapeOf(x)
	if r < 0 {
		return m, fmt.Errorf("the rank of %q is unknown", x.Name)
	}
	nd, static := s[r-m.k:].Static()
	if !static {
		return m, fmt.Errorf("the normalized dims %s of %q are not static", s[r-m.k:], x.Name)
	}
	m.normDims = nd
	var err error
	if m.gammaT, err = affineParam(c, m.gamma, nd, r, dt, 1); err != nil {
		return m, fmt.Errorf("γ: %v", err)
	}
	if m.beta != nil {
		if m.betaT, err = affineParam(c, m.beta, nd, r, dt, 0); err != nil {
			return m, fmt.Errorf("β: %v", err)
		}
	}
	return m, nil
}

// affineParam returns γ or β as a tensor of the normalized shape: v
// broadcast (it must not widen the rank-r result), or filled with fill
// when v is nil.
func affineParam(c *Context, v *ir.Value, nd []int64, r int, dt ir.DType, fill float64) (*ir.Tensor, error) {
	n := ir.NumElements(nd)
	if v == nil {
		data := make([]float64, n)
		for i := range data {
			data[i] = fill
		}
		return floatTensor(dt, nd, data), nil
	}
	t := c.ConstOf(v)
	if t == nil {
		return nil, fmt.Errorf("%q is not a constant", v.Name)
	}
	if t.DType != dt {
		return nil, fmt.Errorf("%q is %s, x is %s", v.Name, t.DType, dt)
	}
	if len(t.Dims) > r {
		return nil, fmt.Errorf("%q has rank %d, more than x's %d", v.Name, len(t.Dims), r)
	}
	// Leading dims beyond the normalized ones must be 1; the rest 1 or
	// equal to the normalized dim.
	k := len(nd)
	for i := range t.Dims {
		d := t.Dims[len(t.Dims)-1-i]
		if i >= k {
			if d != 1 {
				return nil, fmt.Errorf("%q has shape %v, which varies outside the normalized axes", v.Name, t.Dims)
			}
			continue
		}
		if d != 1 && d != nd[k-1-i] {
			return nil, fmt.Errorf("%q has shape %v, not broadcastable to %v", v.Name, t.Dims, nd)
		}
	}
	if len(t.Dims) == len(nd) && sameTrailing(t.Dims, nd) {
		return t, nil // already the normalized shape: reuse it
	}
	src := t.Float64s()
	if int64(len(src)) == n && sameTrailing(t.Dims, nd) {
		return floatTensor(dt, nd, src), nil
	}
	// Broadcast into the normalized shape.
	out := make([]float64, n)
	tdims := make([]int64, k)
	for i := range tdims {
		tdims[i] = 1
		if j := len(t.Dims) - k + i; j >= 0 {
			tdims[i] = t.Dims[j]
		}
	}
	idx := make([]int64, k)
	for i := range out {
		rem := int64(i)
		for a := k - 1; a >= 0; a-- {
			idx[a] = rem % nd[a]
			rem /= nd[a]
		}
		off := int64(0)
		for a := 0; a < k; a++ {
			ia := idx[a]
			if tdims[a] == 1 {
				ia = 0
			}
			off = off*tdims[a] + ia
		}
		out[i] = src[off]
	}
	return floatTensor(dt, nd, out), nil
}

func sameTrailing(dims, nd []int64) bool {
	if len(dims) < len(nd) {
		return false
	}
	for i := range nd {
		if dims[len(dims)-len(nd)+i] != nd[i] {
			return false
		}
	}
	return true
}

// applyLayerNorm turns m.last into the LayerNormalization and removes the
// rest of the pattern.
func applyLayerNorm(c *Context, g *ir.Graph, m *lnMatch) {
	base := m.last.Label()
	// γ and β are reused when they already have the normalized shape
	// (exporters share identical initializers between layers).
	param := func(v *ir.Value, t *ir.Tensor, suffix string) *ir.Value {
		if v != nil && v.Const == t {
			return v
		}
		return c.addConst(g, base+suffix, t)
	}
	inputs := []*ir.Value{m.x, param(m.gamma, m.gammaT, "_scale")}
	if m.betaT != nil {
		inputs = append(inputs, param(m.beta, m.betaT, "_bias"))
	}
	n := m.last
	n.OpType, n.Domain = "LayerNormalization", ""
	n.Inputs = inputs
	n.Outputs = n.Outputs[:1]
	n.Attrs = []*ir.Attribute{ir.IntAttr("axis", int64(-m.k)), ir.FloatAttr("epsilon", float32(m.eps))}
	if math.Abs(float64(float32(m.eps))-m.eps) > 1e-3*m.eps {
		c.Logf("  epsilon %g rounded to float32", m.eps)
	}
	dead := map[*ir.Node]bool{}
	for _, x := range m.nodes {
		if x != n {
			dead[x] = true
		}
	}
	g.RemoveNodes(dead)
}
