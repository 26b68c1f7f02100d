package runtime

import (
	"fmt"
	"slices"

	"github.com/nncc/nncc/ir"
)

// Control flow: If runs one of two subgraphs, which may read values of
// the enclosing graphs.

func init() {
	register("If", 1, buildIf)
}

type ifKernel struct {
	then, els *plan
	caps      []*ir.Value       // union of both branches' captures, sorted
	capIndex  map[*ir.Value]int // position in caps
}

func buildIf(b *buildCtx) (kernel, error) {
	tg, eg := b.n.Attr("then_branch"), b.n.Attr("else_branch")
	if tg == nil || tg.G == nil || eg == nil || eg.G == nil {
		return nil, fmt.Errorf("then_branch and else_branch are required")
	}
	k := &ifKernel{capIndex: map[*ir.Value]int{}}
	var err error
	if k.then, err = compile(tg.G, b.opset, b.visible); err != nil {
		return nil, fmt.Errorf("then_branch: %w", err)
	}
	if k.els, err = compile(eg.G, b.opset, b.visible); err != nil {
		return nil, fmt.Errorf("else_branch: %w", err)
	}
	for _, p := range []*plan{k.then, k.els} {
		if len(p.bound) > 0 {
			return nil, fmt.Errorf("If branches take no inputs")
		}
		if len(p.outputs) != len(b.n.Outputs) {
			return nil, fmt.Errorf("branch %q has %d outputs, the node %d", p.g.Name, len(p.outputs), len(b.n.Outputs))
		}
		for _, v := range p.captures {
			if _, ok := k.capIndex[v]; !ok {
				k.capIndex[v] = -1
				k.caps = append(k.caps, v)
			}
		}
	}
	slices.SortFunc(k.caps, func(a, b *ir.Value) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	for i, v := range k.caps {
		k.capIndex[v] = i
	}
	return k, nil
}

func (k *ifKernel) captures() []*ir.Value { return k.caps }

func (k *ifKernel) run(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
	nin := len(in) - len(k.caps)
	if nin < 1 || in[0] == nil {
		return nil, fmt.Errorf("condition is missing")
	}
	c := in[0]
	if c.DType != ir.Bool || numel(c.Dims) != 1 {
		return nil, fmt.Errorf("condition must be a single bool, is %s%v", c.DType, c.Dims)
	}
	p := k.els
	if c.Data[0] != 0 {
		p = k.then
	}
	bound := make([]*ir.Tensor, len(p.captures))
	for i, v := range p.captures {
		bound[i] = in[nin+k.capIndex[v]]
	}
	return p.run(e, bound)
}

func init() {
	register("Loop", 1, buildLoop)
}

// maxLoopIterations bounds a Loop, so that a hostile trip count (or a
// condition that never turns false) ends in an error rather than a hang.
// Tests lower it.
var maxLoopIterations int64 = 1 << 24

// loopKernel runs its body until the trip count or the condition stops
// it. Inputs: M, cond, v_initial…, then the captures; outputs: v_final…,
// then the scan outputs stacked along a new first axis.
type loopKernel struct {
	body   *plan
	nCarry int
	nScan  int
	caps   []*ir.Value
}

func buildLoop(b *buildCtx) (kernel, error) {
	a := b.n.Attr("body")
	if a == nil || a.G == nil {
		return nil, fmt.Errorf("body is required")
	}
	body, err := compile(a.G, b.opset, b.visible)
	if err != nil {
		return nil, fmt.Errorf("body: %w", err)
	}
	nCarry := len(b.n.Inputs) - 2
	if nCarry < 0 || len(body.bound) != nCarry+2 {
		return nil, fmt.Errorf("body takes %d inputs, want 2 + %d loop-carried", len(body.bound), max(nCarry, 0))
	}
	nScan := len(body.outputs) - 1 - nCarry
	if nScan < 0 || len(b.n.Outputs) > nCarry+nScan {
		return nil, fmt.Errorf("body has %d outputs for %d loop-carried values and %d node outputs", len(body.outputs), nCarry, len(b.n.Outputs))
	}
	return &loopKernel{body: body, nCarry: nCarry, nScan: nScan, caps: body.captures}, nil
}

func (k *loopKernel) captures() []*ir.Value { return k.caps }

func (k *loopKernel) run(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
	own := len(in) - len(k.caps)
	if own != 2+k.nCarry {
		return nil, fmt.Errorf("internal error: %d inputs", own)
	}
	trips := int64(-1)
	if m := in[0]; m != nil {
		if m.DType != ir.Int64 || numel(m.Dims) != 1 {
			return nil, fmt.Errorf("M must be an int64 scalar, is %s%v", m.DType, m.Dims)
		}
		trips = view[int64](m)[0]
	}
	cond := true
	if c := in[1]; c != nil {
		if c.DType != ir.Bool || numel(c.Dims) != 1 {
			return nil, fmt.Errorf("cond must be a bool scalar, is %s%v", c.DType, c.Dims)
		}
		cond = c.Data[0] != 0
	}
	carried := append([]*ir.Tensor(nil), in[2:own]...)
	for i, t := range carried {
		if t == nil {
			return nil, fmt.Errorf("loop-carried input %d is missing", i)
		}
		e.retain(t)
	}
	scans := make([][]*ir.Tensor, k.nScan)
	bound := make([]*ir.Tensor, 2+k.nCarry+len(k.caps))
	copy(bound[2+k.nCarry:], in[own:])
	for i := int64(0); (trips < 0 || i < trips) && cond; i++ {
		if i >= maxLoopIterations {
			return nil, fmt.Errorf("loop exceeds %d iterations", maxLoopIterations)
		}
		it, err := int64Tensor(e, nil, []int64{i})
		if err != nil {
			return nil, err
		}
		ct := &ir.Tensor{DType: ir.Bool, Data: []byte{b2u(cond)}}
		bound[0], bound[1] = it, ct
		copy(bound[2:], carried)
		outs, err := k.body.run(e, bound) // recycles it unless an output
		if err != nil {
			return nil, err
		}
		c := outs[0]
		if c == nil || c.DType != ir.Bool || numel(c.Dims) != 1 {
			return nil, fmt.Errorf("body condition must be a bool scalar")
		}
		cond = c.Data[0] != 0
		// Hold this iteration's outputs before letting go of the previous
		// values, which they may share storage with.
		next := outs[1 : 1+k.nCarry]
		for _, t := range next {
			e.retain(t)
		}
		for j, t := range outs[1+k.nCarry:] {
			e.retain(t)
			scans[j] = append(scans[j], t)
		}
		for _, t := range carried {
			e.drop(t)
		}
		carried = append(carried[:0], next...)
		e.release(c)
	}
	// Stack the scan outputs first: a part may share storage with a
	// final loop-carried value, which must stay alive.
	res := make([]*ir.Tensor, k.nCarry, k.nCarry+k.nScan)
	for j, parts := range scans {
		st, err := stack(e, parts, k.body.g.Outputs[1+k.nCarry+j])
		if err != nil {
			return nil, fmt.Errorf("scan output %d: %w", j, err)
		}
		for _, t := range parts {
			e.drop(t)
		}
		res = append(res, st)
	}
	for i, t := range carried {
		e.disown(t)
		res[i] = t
	}
	return res, nil
}

// stack joins same-shaped tensors along a new first axis. With no parts
// the result is empty, typed after the body output v when known.
func stack(e *env, parts []*ir.Tensor, v *ir.Value) (*ir.Tensor, error) {
	if len(parts) == 0 {
		dt, dims := ir.Float32, []int64{0}
		if v.Type != nil && v.Type.IsTensor() && v.Type.DType != ir.Undefined {
			dt = v.Type.DType
			if s, ok := v.Type.Shape.Static(); ok && v.Type.HasShape {
				dims = append(dims, s...)
			}
		}
		return e.alloc(dt, dims)
	}
	first := parts[0]
	for _, p := range parts[1:] {
		if p.DType != first.DType || !sameDims(p.Dims, first.Dims) {
			return nil, fmt.Errorf("iterations produce %s%v and %s%v", first.DType, first.Dims, p.DType, p.Dims)
		}
	}
	dims := append([]int64{int64(len(parts))}, first.Dims...)
	y, err := e.alloc(first.DType, dims)
	if err != nil {
		return nil, err
	}
	n := len(first.Data)
	for i, p := range parts {
		copy(y.Data[i*n:(i+1)*n], p.Data)
	}
	return y, nil
}

func init() {
	register("Scan", 9, buildScan)
}

// scanKernel iterates its body over slices of the scan inputs along their
// scan axes, threading the state values through.
type scanKernel struct {
	body              *plan
	nState, nIn, nOut int
	inDirs, outDirs   []int64
	inAxes, outAxes   []int64
	caps              []*ir.Value
}

func buildScan(b *buildCtx) (kernel, error) {
	a := b.n.Attr("body")
	if a == nil || a.G == nil {
		return nil, fmt.Errorf("body is required")
	}
	m := int(b.n.AttrInt("num_scan_inputs", 0))
	nState := len(b.n.Inputs) - m
	if m < 1 || nState < 0 {
		return nil, fmt.Errorf("num_scan_inputs %d does not fit %d inputs", m, len(b.n.Inputs))
	}
	body, err := compile(a.G, b.opset, b.visible)
	if err != nil {
		return nil, fmt.Errorf("body: %w", err)
	}
	nOut := len(body.outputs) - nState
	if len(body.bound) != nState+m || nOut < 0 {
		return nil, fmt.Errorf("body has %d inputs and %d outputs for %d states and %d scan inputs", len(body.bound), len(body.outputs), nState, m)
	}
	k := &scanKernel{body: body, nState: nState, nIn: m, nOut: nOut, caps: body.captures}
	list := func(name string, n int) ([]int64, error) {
		v := b.n.AttrInts(name)
		if v == nil {
			return make([]int64, n), nil
		}
		if len(v) != n {
			return nil, fmt.Errorf("%s has %d entries, want %d", name, len(v), n)
		}
		return v, nil
	}
	if k.inDirs, err = list("scan_input_directions", m); err != nil {
		return nil, err
	}
	if k.outDirs, err = list("scan_output_directions", nOut); err != nil {
		return nil, err
	}
	if k.inAxes, err = list("scan_input_axes", m); err != nil {
		return nil, err
	}
	if k.outAxes, err = list("scan_output_axes", nOut); err != nil {
		return nil, err
	}
	return k, nil
}

func (k *scanKernel) captures() []*ir.Value { return k.caps }

func (k *scanKernel) run(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
	own := k.nState + k.nIn
	state := append([]*ir.Tensor(nil), in[:k.nState]...)
	seqs := in[k.nState:own]
	steps := int64(-1)
	axes := make([]int, k.nIn)
	for j, s := range seqs {
		if s == nil {
			return nil, fmt.Errorf("scan input %d is missing", j)
		}
		ax, err := normAxis(k.inAxes[j], len(s.Dims))
		if err != nil {
			return nil, err
		}
		axes[j] = ax
		if steps >= 0 && s.Dims[ax] != steps {
			return nil, fmt.Errorf("scan inputs have %d and %d steps", steps, s.Dims[ax])
		}
		steps = s.Dims[ax]
	}
	for _, t := range state {
		if t == nil {
			return nil, fmt.Errorf("a state input is missing")
		}
		e.retain(t)
	}
	scans := make([][]*ir.Tensor, k.nOut)
	bound := make([]*ir.Tensor, own+len(k.caps))
	copy(bound[own:], in[own:])
	for t := int64(0); t < steps; t++ {
		copy(bound, state)
		for j, s := range seqs {
			i := t
			if k.inDirs[j] != 0 {
				i = steps - 1 - t
			}
			sl, err := slice(e, s, []int64{i}, []int64{i + 1}, []int64{int64(axes[j])}, nil)
			if err != nil {
				return nil, err
			}
			dims := append(cloneDims(sl.Dims[:axes[j]]), sl.Dims[axes[j]+1:]...)
			bound[k.nState+j] = aliasTensor(sl, dims)
		}
		outs, err := k.body.run(e, bound) // recycles the slices unless returned
		if err != nil {
			return nil, err
		}
		for j, o := range outs[k.nState:] {
			e.retain(o)
			scans[j] = append(scans[j], o)
		}
		for _, o := range outs[:k.nState] {
			e.retain(o)
		}
		for _, o := range state {
			e.drop(o)
		}
		copy(state, outs[:k.nState])
	}
	res := make([]*ir.Tensor, k.nState, k.nState+k.nOut)
	for j, parts := range scans {
		if k.outDirs[j] != 0 {
			for a, b := 0, len(parts)-1; a < b; a, b = a+1, b-1 {
				parts[a], parts[b] = parts[b], parts[a]
			}
		}
		st, err := stack(e, parts, k.body.g.Outputs[k.nState+j])
		if err != nil {
			return nil, fmt.Errorf("scan output %d: %w", j, err)
		}
		for _, p := range parts {
			e.drop(p)
		}
		if ax, err := normAxis(k.outAxes[j], len(st.Dims)); err != nil {
			return nil, err
		} else if ax != 0 {
			perm := make([]int, len(st.Dims))
			for i := range perm {
				perm[i] = i
			}
			// Move the new leading axis to position ax.
			copy(perm[:ax], perm[1:ax+1])
			perm[ax] = 0
			moved, err := transposeTensor(e, st, perm)
			if err != nil {
				return nil, err
			}
			e.release(st)
			st = moved
		}
		res = append(res, st)
	}
	for i, t := range state {
		e.disown(t)
		res[i] = t
	}
	return res, nil
}
