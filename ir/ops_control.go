package ir

// Inference for If, Loop and Scan. Their bodies are inferred (under
// InferShapes, not InferNode) before the node's own outputs: If's outputs
// are what the two branches' outputs have in common; loop-carried values
// are first assumed to keep the type of their initial values, and when
// the body's result does not bear that out the body is inferred again
// from weaker assumptions, so the types left in a body hold for every
// iteration.

func init() {
	setInfer(inferIf, "If")
	setInfer(inferLoop, "Loop")
	setInfer(inferScan, "Scan")
}

func graphAttr(n *Node, name string) *Graph {
	if a := n.Attr(name); a != nil && a.Type == AttrGraph {
		return a.G
	}
	return nil
}

func inferIf(c *inferCtx) ([]*Type, error) {
	th, el := graphAttr(c.n, "then_branch"), graphAttr(c.n, "else_branch")
	if th == nil || el == nil {
		return nil, c.errorf("missing then_branch or else_branch")
	}
	if len(th.Outputs) != len(el.Outputs) {
		return nil, c.errorf("then_branch has %d outputs, else_branch %d", len(th.Outputs), len(el.Outputs))
	}
	if len(c.n.Outputs) > len(th.Outputs) {
		return nil, c.errorf("%d outputs but the branches have %d", len(c.n.Outputs), len(th.Outputs))
	}
	if c.s != nil {
		c.s.graph(th)
		c.s.graph(el)
	}
	outs := make([]*Type, len(c.n.Outputs))
	cond, known := c.ints(0)
	for i := range outs {
		a, b := th.Outputs[i], el.Outputs[i]
		if a == nil || b == nil {
			continue
		}
		switch {
		case known && len(cond) == 1 && cond[0] != 0:
			outs[i] = a.Type
		case known && len(cond) == 1:
			outs[i] = b.Type
		default:
			outs[i] = joinTypes(a.Type, b.Type)
		}
	}
	return outs, nil
}

// typeSnapshot holds the types of the values a graph defines so that an
// inference made under assumptions can be undone.
type typeSnapshot struct {
	s     *shapeInferer
	types map[*Value]*Type
	nerr  int
}

func (s *shapeInferer) snapshot(g *Graph) *typeSnapshot {
	snap := &typeSnapshot{s: s, types: map[*Value]*Type{}, nerr: len(s.errs)}
	g.Walk(func(sg *Graph) {
		for _, v := range sg.Inputs {
			if v != nil {
				snap.types[v] = v.Type
			}
		}
		for _, n := range sg.Nodes {
			if n == nil {
				continue
			}
			for _, o := range n.Outputs {
				if o != nil {
					snap.types[o] = o.Type
				}
			}
		}
	})
	return snap
}

func (t *typeSnapshot) restore() {
	for v, ty := range t.types {
		v.Type = ty
		delete(t.s.vals, v)
	}
	t.s.errs = t.s.errs[:t.nerr]
}

// loopBody describes a body to infer: fixed input types (iteration
// number, condition, scan slices) and loop-carried inputs with the body
// outputs that feed them back.
type loopBody struct {
	g          *Graph
	fixed      map[int]*Type
	carriedIn  []int
	carriedOut []int
	init       []*Type
}

// infer infers the body, first assuming the carried values keep their
// initial types, then (if the body contradicts that) what the initial
// types and the first results share, then only the element types.
func (s *shapeInferer) inferBody(b *loopBody) error {
	snap := s.snapshot(b.g)
	cur := b.init
	for round := 0; ; round++ {
		set := func(idx int, t *Type) error {
			v := b.g.Inputs[idx]
			if v == nil {
				return nil
			}
			m, err := mergeTypes(v.Type, t)
			if err != nil {
				return errorf("body input %q: %v", v.Name, err)
			}
			v.Type = m
			return nil
		}
		for idx, t := range b.fixed {
			if err := set(idx, t); err != nil {
				snap.restore()
				return err
			}
		}
		for k, idx := range b.carriedIn {
			if err := set(idx, cur[k]); err != nil {
				snap.restore()
				return err
			}
		}
		s.graph(b.g)
		stable := true
		next := make([]*Type, len(cur))
		for k, idx := range b.carriedIn {
			in := b.g.Inputs[idx]
			out := b.g.Outputs[b.carriedOut[k]]
			if in == nil || out == nil {
				continue
			}
			if !sameType(joinTypes(in.Type, out.Type), in.Type) {
				stable = false
			}
			next[k] = joinTypes(cur[k], out.Type)
		}
		if stable || round == 2 {
			return nil
		}
		snap.restore()
		if round == 0 {
			cur = next
		} else {
			for k, t := range cur {
				if t.IsTensor() {
					cur[k] = unranked(t.DType)
				} else {
					cur[k] = nil
				}
			}
		}
	}
}

func inferLoop(c *inferCtx) ([]*Type, error) {
	body := graphAttr(c.n, "body")
	if body == nil {
		return nil, c.errorf("missing body")
	}
	nc := max(len(c.n.Inputs)-2, 0)
	if len(body.Inputs) != nc+2 {
		return nil, c.errorf("body has %d inputs, want %d (iteration, condition and %d carried values)", len(body.Inputs), nc+2, nc)
	}
	ns := len(body.Outputs) - 1 - nc
	if ns < 0 {
		return nil, c.errorf("body has %d outputs, want at least %d", len(body.Outputs), nc+1)
	}
	if len(c.n.Outputs) > nc+ns {
		return nil, c.errorf("%d outputs but the body yields %d", len(c.n.Outputs), nc+ns)
	}
	init := make([]*Type, nc)
	for i := range init {
		init[i] = c.in(2 + i)
	}
	if c.s != nil {
		b := &loopBody{g: body, fixed: map[int]*Type{0: tensor(Int64, Shape{}), 1: tensor(Bool, Shape{})}, init: init}
		for i := range nc {
			b.carriedIn = append(b.carriedIn, 2+i)
			b.carriedOut = append(b.carriedOut, 1+i)
		}
		if err := c.s.inferBody(b); err != nil {
			return nil, err
		}
	}
	trips := loopTrips(c, body)
	outs := make([]*Type, len(c.n.Outputs))
	for i := range outs {
		o := body.Outputs[1+i]
		if o == nil {
			continue
		}
		if i < nc {
			outs[i] = joinTypes(init[i], o.Type)
			continue
		}
		// Scan outputs stack one body result per iteration.
		if t := o.Type; t.IsTensor() {
			outs[i] = unranked(t.DType)
			if t.HasShape {
				outs[i] = tensor(t.DType, append(Shape{trips}, t.Shape...))
			}
		}
	}
	return outs, nil
}

// loopTrips is the number of iterations of a Loop when it is a plain
// for-loop: a known trip count and either no condition or a condition
// that starts true and that the body passes through unchanged.
func loopTrips(c *inferCtx, body *Graph) Dim {
	m, ok := c.values(0)
	if !ok || len(m) != 1 {
		return UnknownDim
	}
	if c.has(1) {
		cond, ok := c.ints(1)
		if !ok || len(cond) != 1 || cond[0] == 0 {
			return UnknownDim
		}
		out := body.Outputs[0]
		if out != body.Inputs[1] {
			// Allow one Identity between the body's condition input and
			// output.
			passed := false
			for _, n := range body.Nodes {
				if n != nil && n.OpType == "Identity" && len(n.Outputs) == 1 && n.Outputs[0] == out && len(n.Inputs) == 1 && n.Inputs[0] == body.Inputs[1] {
					passed = true
				}
			}
			if !passed {
				return UnknownDim
			}
		}
	}
	return m[0].dim()
}

func inferScan(c *inferCtx) ([]*Type, error) {
	body := graphAttr(c.n, "body")
	if body == nil {
		return nil, c.errorf("missing body")
	}
	if c.opset < 9 {
		return inferScan8(c, body)
	}
	m := int(c.n.AttrInt("num_scan_inputs", 0))
	nin := len(c.n.Inputs)
	if m <= 0 || m > nin {
		return nil, c.errorf("num_scan_inputs %d does not fit %d inputs", m, nin)
	}
	nState := nin - m
	if len(body.Inputs) != nin {
		return nil, c.errorf("body has %d inputs, want %d", len(body.Inputs), nin)
	}
	k := len(body.Outputs) - nState
	if k < 0 || len(c.n.Outputs) > nState+k {
		return nil, c.errorf("body has %d outputs for %d state values and %d node outputs", len(body.Outputs), nState, len(c.n.Outputs))
	}
	inAxes := attrIntsOr(c.n, "scan_input_axes", make([]int64, m))
	outAxes := attrIntsOr(c.n, "scan_output_axes", make([]int64, k))
	if len(inAxes) != m || len(outAxes) != k {
		return nil, c.errorf("scan_input_axes %v or scan_output_axes %v do not fit %d inputs and %d outputs", inAxes, outAxes, m, k)
	}
	seq := UnknownDim
	seqSet := false
	fixed := map[int]*Type{}
	for j := range m {
		t := c.in(nState + j)
		if !t.IsTensor() {
			continue
		}
		if !t.HasShape {
			fixed[nState+j] = unranked(t.DType)
			continue
		}
		a, err := normAxis(inAxes[j], len(t.Shape))
		if err != nil {
			return nil, c.errorf("scan input %d: %v", j, err)
		}
		if !seqSet {
			seq, seqSet = t.Shape[a], true
		} else if d, good := mergeDim(seq, t.Shape[a]); good {
			seq = d
		} else {
			return nil, c.errorf("scan inputs have sequence lengths %s and %s", seq, t.Shape[a])
		}
		slice := append(append(Shape{}, t.Shape[:a]...), t.Shape[a+1:]...)
		fixed[nState+j] = tensor(t.DType, slice)
	}
	init := make([]*Type, nState)
	for i := range init {
		init[i] = c.in(i)
	}
	if c.s != nil {
		b := &loopBody{g: body, fixed: fixed, init: init}
		for i := range nState {
			b.carriedIn = append(b.carriedIn, i)
			b.carriedOut = append(b.carriedOut, i)
		}
		if err := c.s.inferBody(b); err != nil {
			return nil, err
		}
	}
	outs := make([]*Type, len(c.n.Outputs))
	for i := range outs {
		o := body.Outputs[i]
		if o == nil {
			continue
		}
		if i < nState {
			outs[i] = joinTypes(init[i], o.Type)
			continue
		}
		t := o.Type
		if !t.IsTensor() {
			continue
		}
		if !t.HasShape {
			outs[i] = unranked(t.DType)
			continue
		}
		a, err := normAxis(outAxes[i-nState], len(t.Shape)+1)
		if err != nil {
			return nil, c.errorf("scan output %d: %v", i-nState, err)
		}
		s := append(append(append(Shape{}, t.Shape[:a]...), seq), t.Shape[a:]...)
		outs[i] = tensor(t.DType, s)
	}
	return outs, nil
}

// dropAxes returns t without the leading k axes, merging their sizes into
// *lead (batch, then sequence length).
func dropAxes(t *Type, lead []Dim) (*Type, error) {
	if !t.IsTensor() {
		return nil, nil
	}
	if !t.HasShape {
		return unranked(t.DType), nil
	}
	if len(t.Shape) < len(lead) {
		return nil, errorf("input %s lacks the batch and sequence axes", t)
	}
	for i := range lead {
		d, good := mergeDim(lead[i], t.Shape[i])
		if !good {
			return nil, errorf("inputs differ in batch or sequence length (%s and %s)", lead[i], t.Shape[i])
		}
		lead[i] = d
	}
	return tensor(t.DType, t.Shape[len(lead):]), nil
}

// inferScan8 handles Scan as defined in opset 8: an optional
// sequence_lens input first, then state and scan inputs that all carry a
// leading batch axis; scan inputs are scanned along axis 1.
func inferScan8(c *inferCtx, body *Graph) ([]*Type, error) {
	m := int(c.n.AttrInt("num_scan_inputs", 0))
	nin := len(c.n.Inputs) - 1
	if m <= 0 || m > nin {
		return nil, c.errorf("num_scan_inputs %d does not fit %d inputs", m, nin)
	}
	nState := nin - m
	if len(body.Inputs) != nin {
		return nil, c.errorf("body has %d inputs, want %d", len(body.Inputs), nin)
	}
	k := len(body.Outputs) - nState
	if k < 0 || len(c.n.Outputs) > nState+k {
		return nil, c.errorf("body has %d outputs for %d state values and %d node outputs", len(body.Outputs), nState, len(c.n.Outputs))
	}
	lead := []Dim{UnknownDim, UnknownDim} // batch, sequence
	fixed := map[int]*Type{}
	init := make([]*Type, nState)
	for i := range nState {
		t, err := dropAxes(c.in(1+i), lead[:1])
		if err != nil {
			return nil, c.errorf("state %d: %v", i, err)
		}
		init[i] = t
	}
	for j := range m {
		t, err := dropAxes(c.in(1+nState+j), lead)
		if err != nil {
			return nil, c.errorf("scan input %d: %v", j, err)
		}
		if t != nil {
			fixed[nState+j] = t
		}
	}
	if c.s != nil {
		b := &loopBody{g: body, fixed: fixed, init: init}
		for i := range nState {
			b.carriedIn = append(b.carriedIn, i)
			b.carriedOut = append(b.carriedOut, i)
		}
		if err := c.s.inferBody(b); err != nil {
			return nil, err
		}
	}
	outs := make([]*Type, len(c.n.Outputs))
	for i := range outs {
		o := body.Outputs[i]
		if o == nil {
			continue
		}
		t := o.Type
		if i < nState {
			t = joinTypes(init[i], t)
		}
		if !t.IsTensor() {
			continue
		}
		if !t.HasShape {
			outs[i] = unranked(t.DType)
			continue
		}
		pre := Shape{lead[0]}
		if i >= nState {
			pre = append(pre, lead[1])
		}
		outs[i] = tensor(t.DType, append(pre, t.Shape...))
	}
	return outs, nil
}
