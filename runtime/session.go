package runtime

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/kernels"
)

// Options configure a Session.
type Options struct {
	// Threads bounds the goroutines kernels use; 0 means one per CPU.
	// Package kernels' setting (kernels.SetThreads) is process-wide, so
	// sessions with different Threads running at once share the last
	// one set.
	Threads int
	// Shapes fixes the shape of graph inputs by name. Each entry must
	// agree with the input's declared shape on every known dimension; Run
	// then rejects inputs of any other shape. Symbolic dimensions of
	// inputs without an entry are bound by the first input that uses them
	// and must agree across inputs.
	Shapes map[string][]int64
	// Observe, when set, is called after every step Run executes (see
	// Observer); it is how profilers and calibration watch a run.
	Observe Observer
}

// An Observer is called after each step of a run with the node that ran,
// its input and output tensors and how long it took. Where the session
// fused several nodes into one step (a Conv and the Relu after it), n is
// the first of them and outs are the fused step's outputs, which stand
// for the last node's; the nodes it absorbed are not observed apart.
// Nodes inside If/Loop/Scan bodies are observed too.
// The tensors are valid only during the call and must not be modified.
// Timing costs two clock reads per step, nothing when Observe is nil.
type Observer func(n *ir.Node, ins, outs []*ir.Tensor, d time.Duration)

// Session executes one model. Build it once with NewSession and call Run
// for each set of inputs. Runs of one Session are serialised; use several
// Sessions to run in parallel.
type Session struct {
	model  *ir.Model
	opset  int64
	opts   Options
	plan   *plan
	inputs []*ir.Value // inputs without a default, in graph order

	mu    sync.Mutex
	arena *arena
}

// NewSession checks that every node of m is supported, prepares constant
// operands and plans buffer reuse.
func NewSession(m *ir.Model, opts Options) (*Session, error) {
	if m == nil || m.Graph == nil {
		return nil, fmt.Errorf("runtime: model has no graph")
	}
	if !littleEndian() {
		return nil, unsupportedf("runtime: big-endian hosts are not supported")
	}
	opset := m.Opset("")
	if opset == 0 {
		opset = 1
	}
	s := &Session{model: m, opset: opset, opts: opts, arena: newArena()}
	for _, v := range append(append([]*ir.Value{}, m.Graph.Inputs...), m.Graph.Outputs...) {
		if v != nil && v.Type != nil && v.Type.Kind != ir.KindTensor && v.Type.Kind != ir.KindUnknown {
			return nil, fmt.Errorf("runtime: graph value %q has type %s; only tensors are supported", v.Name, v.Type)
		}
	}
	if err := s.checkShapes(); err != nil {
		return nil, err
	}
	p, err := compile(m.Graph, opset, nil)
	if err != nil {
		return nil, err
	}
	if len(p.captures) > 0 {
		return nil, fmt.Errorf("runtime: graph reads %q, which nothing defines", p.captures[0].Name)
	}
	s.plan = p
	for _, in := range m.Graph.Inputs {
		if in.Const == nil && !constOf(m.Graph, in) {
			s.inputs = append(s.inputs, in)
		}
	}
	return s, nil
}

// constOf reports whether v is listed among g's constants (an input with
// a default value).
func constOf(g *ir.Graph, v *ir.Value) bool {
	for _, c := range g.Consts {
		if c == v {
			return true
		}
	}
	return false
}

func (s *Session) checkShapes() error {
	for name, dims := range s.opts.Shapes {
		var in *ir.Value
		for _, v := range s.model.Graph.Inputs {
			if v.Name == name {
				in = v
			}
		}
		if in == nil {
			return fmt.Errorf("runtime: Options.Shapes names %q, which is not a graph input", name)
		}
		for _, d := range dims {
			if d < 0 {
				return fmt.Errorf("runtime: Options.Shapes[%q] = %v has a negative dimension", name, dims)
			}
		}
		if in.Type != nil && in.Type.HasShape {
			if len(in.Type.Shape) != len(dims) {
				return fmt.Errorf("runtime: Options.Shapes[%q] = %v, but the input has rank %d", name, dims, len(in.Type.Shape))
			}
			for i, d := range in.Type.Shape {
				if d.Known() && d.Value != dims[i] {
					return fmt.Errorf("runtime: Options.Shapes[%q] = %v disagrees with declared shape %s", name, dims, in.Type.Shape)
				}
			}
		}
	}
	return nil
}

// InputNames returns the names of the graph inputs a Run must supply
// (those without a default value), in graph order.
func (s *Session) InputNames() []string {
	names := make([]string, len(s.inputs))
	for i, v := range s.inputs {
		names[i] = v.Name
	}
	return names
}

// OutputNames returns the graph output names in graph order.
func (s *Session) OutputNames() []string {
	names := make([]string, len(s.model.Graph.Outputs))
	for i, v := range s.model.Graph.Outputs {
		names[i] = v.Name
	}
	return names
}

// Run executes the graph on inputs (by graph input name; inputs with a
// default value may be omitted) and returns the graph outputs by name.
// The returned tensors belong to the caller; Run does not keep or modify
// the inputs.
func (s *Session) Run(inputs map[string]*ir.Tensor) (map[string]*ir.Tensor, error) {
	g := s.model.Graph
	bound := make([]*ir.Tensor, len(s.plan.bound))
	known := map[string]bool{}
	syms := map[string]int64{}
	for i, v := range s.plan.bound {
		known[v.Name] = true
		t, ok := inputs[v.Name]
		if !ok || t == nil {
			if v.Const == nil {
				return nil, fmt.Errorf("runtime: missing input %q", v.Name)
			}
			bound[i] = v.Const
			continue
		}
		if err := s.checkInput(v, t, syms); err != nil {
			return nil, err
		}
		bound[i] = t
	}
	for name := range inputs {
		if !known[name] {
			return nil, fmt.Errorf("runtime: %q is not an input of graph %q", name, g.Name)
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.arena.endRun()
	e := newEnv(s.arena, s.opts.Threads)
	e.observe = s.opts.Observe
	// The kernels' thread count is process-wide: the last Run to start
	// sets it.
	kernels.SetThreads(e.threads)
	outs, err := s.plan.run(e, bound)
	if err != nil {
		return nil, err
	}
	res := make(map[string]*ir.Tensor, len(outs))
	for i, t := range outs {
		p := dataPtr(t)
		if _, fresh := s.arena.lent[p]; fresh && !s.arena.hold[p] {
			s.arena.hold[p] = true
		} else {
			t = t.Clone() // aliases an input, a constant or another output
		}
		res[g.Outputs[i].Name] = t
	}
	return res, nil
}

// Recycle gives the outputs of the last Run back to the session, which
// may then reuse their storage in later runs instead of allocating (and
// page-faulting) fresh memory for every output, as a serving or
// benchmark loop that is done with each result can. The caller must not
// use the tensors, or any slice of their data, afterwards. Tensors that
// did not come from the last Run are ignored.
func (s *Session) Recycle(outs map[string]*ir.Tensor) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range outs {
		s.arena.recycle(t)
	}
}

func (s *Session) checkInput(v *ir.Value, t *ir.Tensor, syms map[string]int64) error {
	if err := t.Check(); err != nil {
		return fmt.Errorf("runtime: input %q: %v", v.Name, err)
	}
	if v.Type == nil || !v.Type.IsTensor() {
		return nil
	}
	if v.Type.DType != ir.Undefined && v.Type.DType != t.DType {
		return fmt.Errorf("runtime: input %q is %s, want %s", v.Name, t.DType, v.Type.DType)
	}
	if want, ok := s.opts.Shapes[v.Name]; ok {
		if !sameDims(want, t.Dims) {
			return fmt.Errorf("runtime: input %q has shape %v, want %v (Options.Shapes)", v.Name, t.Dims, want)
		}
		return nil
	}
	if !v.Type.HasShape {
		return nil
	}
	if len(v.Type.Shape) != len(t.Dims) {
		return fmt.Errorf("runtime: input %q has shape %v, want %s", v.Name, t.Dims, v.Type.Shape)
	}
	for i, d := range v.Type.Shape {
		switch {
		case d.Param != "":
			if b, ok := syms[d.Param]; ok && b != t.Dims[i] {
				return fmt.Errorf("runtime: input %q dimension %d (%s) is %d, but %s = %d elsewhere", v.Name, i, d.Param, t.Dims[i], d.Param, b)
			}
			syms[d.Param] = t.Dims[i]
		case d.Known() && d.Value != t.Dims[i]:
			return fmt.Errorf("runtime: input %q has shape %v, want %s", v.Name, t.Dims, v.Type.Shape)
		}
	}
	return nil
}

// plan is a compiled graph: nodes in execution order with their kernels,
// values mapped to slots, and the slots each step releases.
type plan struct {
	g        *ir.Graph
	nslots   int
	bound    []*ir.Value // slots 0..len-1: graph inputs, supplied per run
	captures []*ir.Value // next slots: outer-scope values (subgraphs)
	consts   []constSlot
	steps    []step
	outputs  []int
	// produced marks slots written by steps (the ones a run retains).
	produced []bool
}

type constSlot struct {
	slot int
	t    *ir.Tensor
}

type step struct {
	node *ir.Node
	k    kernel
	in   []int // -1 for an omitted input
	out  []int // -1 for an omitted output
	dead []int // slots no later step reads
	// absorbed marks the step of a node fused into an earlier step: it
	// passes a value through and is not observed.
	absorbed bool
}

// compile plans g. outer lists the values visible from enclosing graphs
// (nil for a main graph); values g reads but does not define become
// captures, bound after its inputs.
func compile(g *ir.Graph, opset int64, outer func(*ir.Value) bool) (*plan, error) {
	p := &plan{g: g}
	slot := map[*ir.Value]int{}
	define := func(v *ir.Value) int {
		if s, ok := slot[v]; ok {
			return s
		}
		s := p.nslots
		p.nslots++
		slot[v] = s
		return s
	}
	for _, v := range g.Inputs {
		if v == nil {
			return nil, fmt.Errorf("runtime: graph %q has a nil input", g.Name)
		}
		define(v)
		p.bound = append(p.bound, v)
	}
	// Captures come next so that bound = inputs ++ captures.
	caps := g.Captures()
	capList := make([]*ir.Value, 0, len(caps))
	for v := range caps {
		capList = append(capList, v)
	}
	slices.SortFunc(capList, func(a, b *ir.Value) int {
		if a.Name < b.Name {
			return -1
		} else if a.Name > b.Name {
			return 1
		}
		return 0
	})
	for _, v := range capList {
		if v.Const != nil && (outer == nil || !outer(v)) {
			continue // a constant value without an owner graph: use it as is
		}
		define(v)
		p.captures = append(p.captures, v)
	}
	// constVal holds the values fixed when the plan is built: constants
	// (not inputs with defaults, which a run may override) and the
	// outputs of nodes folded below.
	constVal := map[*ir.Value]*ir.Tensor{}
	addConst := func(v *ir.Value, t *ir.Tensor) {
		p.consts = append(p.consts, constSlot{define(v), t})
		constVal[v] = t
	}
	for _, c := range g.Consts {
		if c == nil || c.Const == nil {
			return nil, fmt.Errorf("runtime: graph %q has a constant without a value", g.Name)
		}
		if _, isInput := slot[c]; isInput {
			continue // input with a default: bound per run
		}
		if err := c.Const.Check(); err != nil {
			return nil, fmt.Errorf("runtime: constant %q: %v", c.Name, err)
		}
		addConst(c, c.Const)
	}
	for _, v := range capList {
		if _, ok := slot[v]; !ok {
			addConst(v, v.Const)
		}
	}
	constOf := func(v *ir.Value) *ir.Tensor { return constVal[v] }

	order, err := execOrder(g)
	if err != nil {
		return nil, err
	}
	visible := func(v *ir.Value) bool {
		if _, ok := slot[v]; ok {
			return true
		}
		return outer != nil && outer(v)
	}
	lastUse := map[int]int{}
	order, qfused := fuseQDQ(g, order, opset, constOf) // int8 steps of QDQ graphs (qfuse.go)
	fu := findFusions(g, order, opset, constOf)
	ch := findChains(g, order, opset, constOf, fu)
	for _, n := range order {
		k := qfused[n]
		if k == nil {
			if err := Supported(n.Domain, n.OpType, opset); err != nil {
				return nil, &NodeError{Node: n.Name, Op: n.OpType, Err: err}
			}
			if k, err = buildWith(&buildCtx{n: n, opset: opset, visible: visible, fused: fu.conv[n], residual: fu.residual[n] != nil, constOf: constOf}); err != nil {
				return nil, &NodeError{Node: n.Name, Op: n.OpType, Opset: opset, Err: err}
			}
		}
		if at, ok := fu.absorbed[n]; ok {
			k = passThrough(at)
		}
		if at, ok := ch.absorbed[n]; ok {
			k = passThrough(at)
		}
		if outs := foldNode(n, k, constOf); outs != nil {
			for j, o := range n.Outputs {
				if o != nil && o.Name != "" {
					if _, dup := slot[o]; dup {
						return nil, fmt.Errorf("runtime: value %q is assigned twice (node %q)", o.Name, n.Name)
					}
					addConst(o, outs[j])
				}
			}
			continue
		}
		i := len(p.steps)
		st := step{node: n, k: k}
		_, st.absorbed = fu.absorbed[n]
		if _, ok := ch.absorbed[n]; ok {
			st.absorbed = true
		}
		ins := n.Inputs
		if c, ok := k.(capturer); ok {
			ins = append(slices.Clip(ins), c.captures()...)
		}
		if res := fu.residual[n]; res != nil {
			ins = append(slices.Clip(ins), res) // read last by the Conv kernel
		}
		if st.k, ins, err = ch.withChain(n, k, ins, opset, visible, constOf); err != nil {
			return nil, &NodeError{Node: n.Name, Op: n.OpType, Opset: opset, Err: err}
		}
		for _, v := range ins {
			if v == nil {
				st.in = append(st.in, -1)
				continue
			}
			s, ok := slot[v]
			if !ok {
				return nil, fmt.Errorf("runtime: node %q (%s) reads %q, which is not defined before it", n.Name, n.OpType, v.Name)
			}
			st.in = append(st.in, s)
			lastUse[s] = i
		}
		for _, v := range n.Outputs {
			if v == nil || v.Name == "" {
				st.out = append(st.out, -1)
				continue
			}
			if _, dup := slot[v]; dup {
				return nil, fmt.Errorf("runtime: value %q is assigned twice (node %q)", v.Name, n.Name)
			}
			s := define(v)
			st.out = append(st.out, s)
			lastUse[s] = i // an output nobody reads dies at once
		}
		p.steps = append(p.steps, st)
	}
	p.produced = make([]bool, p.nslots)
	for _, st := range p.steps {
		for _, s := range st.out {
			if s >= 0 {
				p.produced[s] = true
			}
		}
	}
	pinned := map[int]bool{}
	for _, v := range g.Outputs {
		s, ok := slot[v]
		if !ok {
			return nil, fmt.Errorf("runtime: graph output %q is not defined", v.Name)
		}
		p.outputs = append(p.outputs, s)
		pinned[s] = true
	}
	for s, i := range lastUse {
		if !pinned[s] && p.produced[s] {
			p.steps[i].dead = append(p.steps[i].dead, s)
		}
	}
	for i := range p.steps {
		slices.Sort(p.steps[i].dead)
	}
	return p, nil
}

// foldNode evaluates n when the plan is built if every input is fixed
// (a DequantizeLinear of constant weights, a Shape of a constant, a
// Constant node): its outputs become constants, computed once. It returns
// nil to leave n to run time: some input varies, n has subgraphs,
// evaluation fails (the error then surfaces when a run reaches n), or
// the results would be much larger than the inputs.
func foldNode(n *ir.Node, k kernel, constOf func(*ir.Value) *ir.Tensor) []*ir.Tensor {
	if len(n.Subgraphs()) > 0 || len(n.Outputs) == 0 {
		return nil
	}
	ins := make([]*ir.Tensor, len(n.Inputs))
	var inBytes int64
	for i, v := range n.Inputs {
		if v == nil {
			continue
		}
		if ins[i] = constOf(v); ins[i] == nil {
			return nil
		}
		inBytes += ins[i].Bytes()
	}
	outs, err := runKernel(k, newEnv(nil, 1), ins)
	if err != nil || len(outs) < len(n.Outputs) {
		return nil
	}
	var outBytes int64
	for j, o := range n.Outputs {
		if o != nil && o.Name != "" {
			if outs[j] == nil {
				return nil
			}
			outBytes += outs[j].Bytes()
		}
	}
	if outBytes > 4*inBytes+1<<20 {
		return nil
	}
	return outs
}

// execOrder returns g's nodes in an order where each follows the
// producers of what it reads, leaving g untouched.
func execOrder(g *ir.Graph) ([]*ir.Node, error) {
	for _, n := range g.Nodes {
		if n == nil {
			return nil, fmt.Errorf("runtime: graph %q has a nil node", g.Name)
		}
	}
	tmp := &ir.Graph{Name: g.Name, Inputs: g.Inputs, Consts: g.Consts, Outputs: g.Outputs, Nodes: slices.Clone(g.Nodes)}
	if err := tmp.TopoSort(); err != nil {
		return nil, fmt.Errorf("runtime: %v", err)
	}
	return tmp.Nodes, nil
}

// run executes the plan. bound holds the values of p.bound then
// p.captures. The outputs float: the caller retains or keeps them.
func (p *plan) run(e *env, bound []*ir.Tensor) ([]*ir.Tensor, error) {
	if len(bound) != len(p.bound)+len(p.captures) {
		return nil, fmt.Errorf("runtime: internal error: %d bound values for %d slots", len(bound), len(p.bound)+len(p.captures))
	}
	vals := make([]*ir.Tensor, p.nslots)
	copy(vals, bound)
	// The frame holds its bound values while it runs, so that an alias
	// of one (a Reshape of an input, say) dying inside cannot recycle it.
	for _, t := range bound {
		e.retain(t)
	}
	for _, c := range p.consts {
		vals[c.slot] = c.t
	}
	var ins []*ir.Tensor
	for i := range p.steps {
		st := &p.steps[i]
		ins = ins[:0]
		for _, s := range st.in {
			if s < 0 {
				ins = append(ins, nil)
			} else {
				ins = append(ins, vals[s])
			}
		}
		var t0 time.Time
		observe := e.observe != nil && !st.absorbed
		if observe {
			t0 = time.Now()
		}
		outs, err := runKernel(st.k, e, ins)
		if err != nil {
			return nil, &NodeError{Node: st.node.Name, Op: st.node.OpType, Err: err}
		}
		if observe {
			e.observe(st.node, ins, outs, time.Since(t0))
		}
		for j, s := range st.out {
			if s < 0 {
				continue
			}
			if j >= len(outs) || outs[j] == nil {
				return nil, fmt.Errorf("runtime: node %q (%s) did not produce output %d", st.node.Name, st.node.OpType, j)
			}
			vals[s] = outs[j]
			e.retain(outs[j])
		}
		for j, t := range outs {
			if j >= len(st.out) || st.out[j] < 0 {
				e.release(t)
			}
		}
		for _, s := range st.dead {
			e.drop(vals[s])
			vals[s] = nil
		}
	}
	// Outputs float to the caller: the frame gives up its references to
	// them without recycling; bound values that are not outputs are
	// released.
	res := make([]*ir.Tensor, len(p.outputs))
	disowned := map[int]bool{}
	for i, s := range p.outputs {
		res[i] = vals[s]
		if (p.produced[s] || s < len(bound)) && !disowned[s] {
			disowned[s] = true
			e.disown(vals[s])
		}
	}
	returned := map[*byte]bool{}
	for _, t := range res {
		returned[dataPtr(t)] = true
	}
	for s, t := range bound {
		switch {
		case disowned[s]:
		case returned[dataPtr(t)]:
			e.disown(t) // an output aliases it (an Identity of an input)
		default:
			e.drop(t)
		}
	}
	return res, nil
}

// runKernel runs k, turning a panic inside a kernel (a bug, since kernels
// validate their inputs) into an error so bad input never crashes the
// caller.
func runKernel(k kernel, e *env, ins []*ir.Tensor) (outs []*ir.Tensor, err error) {
	defer func() {
		if r := recover(); r != nil {
			outs, err = nil, fmt.Errorf("internal error: %v", r)
		}
	}()
	return k.run(e, ins)
}
