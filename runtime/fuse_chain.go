package runtime

import (
	"fmt"
	"math"
	"sync"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/kernels"
)

// Element-wise chains (fused epilogues).
//
// A node whose output is read by a chain of element-wise operators —
// Add, Sub, Mul, Div with a constant (scalar, per-channel or any operand
// that broadcasts onto the output without growing it) or with a value
// ready before the node runs; Relu, Clip, Sigmoid, HardSigmoid,
// HardSwish, LeakyRelu, BatchNormalization (inference, constant
// parameters: after a ConvTranspose, which fold-bn cannot fold into);
// and the hard-swish patterns x·Clip(x+c) that exporters spell Add,
// Clip, Mul and x·HardSigmoid(x) — absorbs the chain when each
// intermediate value has no other reader. The head is a Conv,
// ConvTranspose, Gemm or MatMul (after the activation and residual
// fusions of fuse.go, which it extends), or a chainable operator itself:
// a standalone chain then runs as one step. The step runs the head, then
// applies the whole chain block by block (4096 elements, in cache) in
// place on the head's output with the kernels' vector loops, the blocks
// split over threads; the absorbed nodes pass the result through.
//
// Every operation rounds as the unfused node does (a Mul then an Add is
// kernels.MulAdd, which rounds the product), so results are bit-identical
// to node-by-node evaluation, NaNs included, except that Relu/Clip may
// give -0 where the node gives +0. Where the fast path does not apply at
// run time (a dtype other than float32, an operand that would grow the
// output) the absorbed nodes' own kernels run one after the other.

// chainBlock is the number of elements one pass of the chain covers.
const chainBlock = 4096

type chainKind int

const (
	chBinary  chainKind = iota // x op operand (operand op x when rev)
	chMulAdd                   // x·a + b, scalars
	chClamp                    // min(max(x, lo), hi)
	chHswish                   // x·min(max(x+a, lo), hi)
	chHsigMul                  // x·min(max(x·a + b, 0), 1): x·HardSigmoid(x)
	chVec                      // vec(x, x)
	chChannel                  // x·a[c] + b[c] along axis 1 (BatchNormalization)
)

// chainOp is one step of a chain's fast path.
type chainOp struct {
	kind   chainKind
	op     kernels.BinOp
	rev    bool
	cst    *ir.Tensor // constant operand
	extra  int        // else the index of the operand among the extras
	a, b   float32
	lo, hi float32
	vec    func(d, x []float32)
	ca, cb []float32 // chChannel's per-channel factors
	// rank is the largest rank of the scalar constants folded into a
	// MulAdd or hard-swish step: they must not grow the output's rank.
	rank int
}

// chainPlan is what a head absorbs.
type chainPlan struct {
	nodes   []*ir.Node // absorbed, in order
	ops     []chainOp
	extras  []*ir.Value // run-time operands, appended to the head's inputs
	kernels []kernel    // the absorbed nodes' own kernels (fallback)
	// src maps each input of each absorbed node to where its value is:
	// >= 0 an extra, -1 a chain value, -2 a constant (in consts).
	src    [][]int
	consts [][]*ir.Tensor
	chainV map[*ir.Value]bool // the values the chain computes (head output included)
	start  *ir.Value          // the value the chain starts from
}

type chainFusions struct {
	heads    map[*ir.Node]*chainPlan
	absorbed map[*ir.Node]int // pass-through input of each absorbed node
}

// chainHeads are the operators, besides the chainable ones, whose output
// may start a chain.
var chainHeads = map[string]bool{"Conv": true, "ConvTranspose": true, "Gemm": true, "MatMul": true}

// noChains turns chain fusion off (tests compare with it).
var noChains = false

// findChains finds the chains of g (see above). fu holds the fusions of
// fuse.go: a chain continues after what a Conv already absorbed.
func findChains(g *ir.Graph, order []*ir.Node, opset int64, constOf func(*ir.Value) *ir.Tensor, fu *fusions) *chainFusions {
	cf := &chainFusions{heads: map[*ir.Node]*chainPlan{}, absorbed: map[*ir.Node]int{}}
	if noChains {
		return cf
	}
	ix := g.BuildIndex()
	pos := make(map[*ir.Node]int, len(order))
	for i, n := range order {
		pos[n] = i
	}
	isInput := map[*ir.Value]bool{}
	for _, v := range g.Inputs {
		isInput[v] = true
	}
	taken := func(n *ir.Node) bool {
		_, a := fu.absorbed[n]
		_, b := cf.absorbed[n]
		return a || b
	}
	readers := func(v *ir.Value) []*ir.Node {
		var rs []*ir.Node
		for _, u := range ix.Uses[v] {
			if u.Node == nil || u.Index < 0 || !isDefaultDomain(u.Node) {
				return nil // a graph output or a subgraph capture
			}
			rs = append(rs, u.Node)
		}
		return rs
	}
	// Nodes whose inputs are all fixed are folded when the plan is built
	// (foldNode), possibly after this runs: they head no chain.
	fixed := map[*ir.Value]bool{}
	isFixed := func(v *ir.Value) bool { return v == nil || fixed[v] || constOf(v) != nil }
	willFold := func(n *ir.Node) bool {
		if len(n.Subgraphs()) > 0 {
			return false
		}
		for _, v := range n.Inputs {
			if !isFixed(v) {
				return false
			}
		}
		return true
	}
	for _, n := range order {
		if willFold(n) {
			for _, o := range n.Outputs {
				if o != nil {
					fixed[o] = true
				}
			}
		}
	}
	oneOut := func(n *ir.Node) bool { return len(n.Outputs) == 1 && n.Outputs[0] != nil && n.Outputs[0].Name != "" }
	for _, head := range order {
		if taken(head) || !isDefaultDomain(head) || !oneOut(head) || willFold(head) {
			continue
		}
		if !chainHeads[head.OpType] {
			if _, ok := chainable(head, opset, constOf); !ok {
				continue
			}
		}
		// Continue after what fuse.go already absorbed into a Conv.
		cur := head.Outputs[0]
		for {
			rs := readers(cur)
			if len(rs) != 1 {
				break
			}
			if _, ok := fu.absorbed[rs[0]]; !ok || !oneOut(rs[0]) {
				break
			}
			cur = rs[0].Outputs[0]
		}
		p := &chainPlan{start: cur, chainV: map[*ir.Value]bool{cur: true}}
		// ready reports whether v is available before head runs.
		ready := func(v *ir.Value) bool {
			if v == nil || p.chainV[v] {
				return false
			}
			if constOf(v) != nil || isInput[v] {
				return true
			}
			pr := ix.Producer[v]
			return pr != nil && pos[pr] < pos[head]
		}
		absorb := func(n *ir.Node, at int) {
			p.nodes = append(p.nodes, n)
			cf.absorbed[n] = at
			cur = n.Outputs[0]
			p.chainV[cur] = true
		}
		for {
			rs := readers(cur)
			if len(rs) == 2 {
				// The hard-swish patterns: two readers of cur.
				ops, ns, ok := hswishPattern(cur, rs, readers, opset, constOf)
				if !ok {
					ops, ns, ok = hsigMulPattern(cur, rs, readers)
				}
				for _, n := range ns {
					ok = ok && !taken(n) && pos[n] > pos[head]
				}
				if ok {
					p.ops = append(p.ops, ops)
					for _, n := range ns {
						absorb(n, indexOf(n.Inputs, func(v *ir.Value) bool { return p.chainV[v] }))
					}
					continue
				}
			}
			if len(rs) != 1 {
				break
			}
			n := rs[0]
			if taken(n) || !oneOut(n) || pos[n] <= pos[head] {
				break
			}
			op, ok := chainable(n, opset, constOf)
			if !ok {
				break
			}
			at := indexOf(n.Inputs, func(v *ir.Value) bool { return v == cur })
			if op.kind == chBinary {
				if len(n.Inputs) != 2 || n.Inputs[0] == n.Inputs[1] {
					break
				}
				other := n.Inputs[1-at]
				op.rev = at == 1
				if c := constOf(other); c != nil {
					op.cst = c
				} else if ready(other) {
					op.extra = len(p.extras)
					p.extras = append(p.extras, other)
				} else {
					break
				}
			} else if at != 0 {
				break
			}
			p.ops = append(p.ops, op)
			absorb(n, at)
		}
		if len(p.nodes) == 0 {
			continue
		}
		p.ops = mergeMulAdd(p.ops)
		cf.heads[head] = p
	}
	return cf
}

func indexOf(vs []*ir.Value, f func(*ir.Value) bool) int {
	for i, v := range vs {
		if v != nil && f(v) {
			return i
		}
	}
	return 0
}

// chainable returns the fast-path step of an element-wise node.
func chainable(n *ir.Node, opset int64, constOf func(*ir.Value) *ir.Tensor) (chainOp, bool) {
	if !isDefaultDomain(n) {
		return chainOp{}, false
	}
	inf := float32(math.Inf(1))
	switch n.OpType {
	case "Add", "Sub", "Mul", "Div":
		if len(n.Inputs) != 2 || n.Inputs[0] == nil || n.Inputs[1] == nil {
			return chainOp{}, false
		}
		if opset < 7 && n.AttrInt("broadcast", 0) != 0 {
			return chainOp{}, false // legacy broadcasting by axis
		}
		return chainOp{kind: chBinary, op: binOps[n.OpType]}, true
	case "Relu":
		return chainOp{kind: chClamp, lo: 0, hi: inf}, true
	case "Clip":
		if lo, hi, ok := clipBounds(n, opset, constOf); ok {
			return chainOp{kind: chClamp, lo: lo, hi: hi}, true
		}
	case "Sigmoid":
		return chainOp{kind: chVec, vec: sigmoidVec}, true
	case "HardSigmoid":
		return chainOp{kind: chVec, vec: hardSigmoidVec(n.AttrFloat("alpha", 0.2), n.AttrFloat("beta", 0.5))}, true
	case "HardSwish":
		return chainOp{kind: chVec, vec: hardSwishVec}, true
	case "LeakyRelu":
		return chainOp{kind: chVec, vec: leakyReluVec(n.AttrFloat("alpha", 0.01))}, true
	case "BatchNormalization":
		return batchNormStep(n, opset, constOf)
	}
	return chainOp{}, false
}

// batchNormStep returns the step of an inference BatchNormalization with
// constant float32 parameters: y = x·a + b per channel with a and b
// folded in float64 as the node's kernel folds them (norm.go).
func batchNormStep(n *ir.Node, opset int64, constOf func(*ir.Value) *ir.Tensor) (chainOp, bool) {
	if len(n.Inputs) != 5 || len(n.Outputs) != 1 || opset >= 14 && n.AttrInt("training_mode", 0) != 0 || opset < 9 && n.AttrInt("spatial", 1) == 0 {
		return chainOp{}, false
	}
	var ps [4][]float32
	for i := range ps {
		c := constOf(n.Inputs[i+1])
		if c == nil || c.DType != ir.Float32 || len(c.Dims) != 1 {
			return chainOp{}, false
		}
		ps[i] = view[float32](c)
	}
	C := len(ps[0])
	for _, p := range ps {
		if len(p) != C {
			return chainOp{}, false
		}
	}
	eps := float64(n.AttrFloat("epsilon", 1e-5))
	o := chainOp{kind: chChannel, ca: make([]float32, C), cb: make([]float32, C)}
	for c := range C {
		a := float64(ps[0][c]) / math.Sqrt(float64(ps[3][c])+eps)
		o.ca[c], o.cb[c] = float32(a), float32(float64(ps[1][c])-float64(ps[2][c])*a)
	}
	return o, true
}

// hswishPattern matches x·Clip(x + c, lo, hi) on x = v read by exactly
// rs: an Add of a scalar constant, whose output only a Clip reads, whose
// output only the Mul by x reads. It returns the step and the nodes
// (Add, Clip, Mul).
func hswishPattern(v *ir.Value, rs []*ir.Node, readers func(*ir.Value) []*ir.Node, opset int64, constOf func(*ir.Value) *ir.Tensor) (chainOp, []*ir.Node, bool) {
	add, mul := rs[0], rs[1]
	if add.OpType != "Add" {
		add, mul = mul, add
	}
	if add.OpType != "Add" || mul.OpType != "Mul" || !isDefaultDomain(add) || !isDefaultDomain(mul) ||
		len(add.Inputs) != 2 || len(mul.Inputs) != 2 || len(add.Outputs) != 1 || len(mul.Outputs) != 1 || mul.Outputs[0] == nil {
		return chainOp{}, nil, false
	}
	ai := indexOf(add.Inputs, func(x *ir.Value) bool { return x == v })
	c := constOf(add.Inputs[1-ai])
	if add.Inputs[ai] != v || c == nil || c.DType != ir.Float32 || c.NumElements() != 1 {
		return chainOp{}, nil, false
	}
	cr := readers(add.Outputs[0])
	if len(cr) != 1 || cr[0].OpType != "Clip" || len(cr[0].Outputs) != 1 || cr[0].Inputs[0] != add.Outputs[0] {
		return chainOp{}, nil, false
	}
	clip := cr[0]
	lo, hi, ok := clipBounds(clip, opset, constOf)
	if !ok {
		return chainOp{}, nil, false
	}
	mr := readers(clip.Outputs[0])
	if len(mr) != 1 || mr[0] != mul || !(mul.Inputs[0] == v && mul.Inputs[1] == clip.Outputs[0] || mul.Inputs[1] == v && mul.Inputs[0] == clip.Outputs[0]) {
		return chainOp{}, nil, false
	}
	return chainOp{kind: chHswish, a: view[float32](c)[0], lo: lo, hi: hi, rank: len(c.Dims)}, []*ir.Node{add, clip, mul}, true
}

// hsigMulPattern matches x·HardSigmoid(x) on x = v read by exactly rs
// (the hard-swish of torchvision's exports at opsets without
// HardSwish): a HardSigmoid of v whose output only a Mul by v reads. It
// returns the step and the nodes (HardSigmoid, Mul).
func hsigMulPattern(v *ir.Value, rs []*ir.Node, readers func(*ir.Value) []*ir.Node) (chainOp, []*ir.Node, bool) {
	hs, mul := rs[0], rs[1]
	if hs.OpType != "HardSigmoid" {
		hs, mul = mul, hs
	}
	if hs.OpType != "HardSigmoid" || mul.OpType != "Mul" || !isDefaultDomain(hs) || !isDefaultDomain(mul) ||
		len(hs.Inputs) != 1 || hs.Inputs[0] != v || len(hs.Outputs) != 1 || hs.Outputs[0] == nil ||
		len(mul.Inputs) != 2 || len(mul.Outputs) != 1 || mul.Outputs[0] == nil {
		return chainOp{}, nil, false
	}
	h := hs.Outputs[0]
	if r := readers(h); len(r) != 1 || r[0] != mul || !(mul.Inputs[0] == v && mul.Inputs[1] == h || mul.Inputs[1] == v && mul.Inputs[0] == h) {
		return chainOp{}, nil, false
	}
	return chainOp{kind: chHsigMul, a: hs.AttrFloat("alpha", 0.2), b: hs.AttrFloat("beta", 0.5)}, []*ir.Node{hs, mul}, true
}

// mergeMulAdd turns a multiplication by a scalar constant followed by an
// addition of one into a single MulAdd step (the same roundings).
func mergeMulAdd(ops []chainOp) []chainOp {
	scalar := func(o chainOp, op kernels.BinOp) (float32, bool) {
		if o.kind != chBinary || o.op != op || o.cst == nil || o.cst.DType != ir.Float32 || o.cst.NumElements() != 1 {
			return 0, false
		}
		return view[float32](o.cst)[0], true
	}
	var res []chainOp
	for i := 0; i < len(ops); i++ {
		if m, ok := scalar(ops[i], kernels.OpMul); ok && i+1 < len(ops) {
			if b, ok := scalar(ops[i+1], kernels.OpAdd); ok {
				rank := max(len(ops[i].cst.Dims), len(ops[i+1].cst.Dims))
				res = append(res, chainOp{kind: chMulAdd, a: m, b: b, extra: -1, rank: rank})
				i++
				continue
			}
		}
		res = append(res, ops[i])
	}
	return res
}

// prepare builds the absorbed nodes' own kernels and input maps for the
// fallback path.
func (p *chainPlan) prepare(opset int64, visible func(*ir.Value) bool, constOf func(*ir.Value) *ir.Tensor) error {
	extra := map[*ir.Value]int{}
	for i, v := range p.extras {
		extra[v] = i
	}
	for _, n := range p.nodes {
		k, err := buildWith(&buildCtx{n: n, opset: opset, visible: visible, constOf: constOf})
		if err != nil {
			return err
		}
		p.kernels = append(p.kernels, k)
		src := make([]int, len(n.Inputs))
		cs := make([]*ir.Tensor, len(n.Inputs))
		for i, v := range n.Inputs {
			switch j, ok := extra[v]; {
			case v == nil:
				src[i] = -2
			case ok:
				src[i] = j
			case p.chainV[v]:
				src[i] = -1
			default:
				src[i], cs[i] = -2, constOf(v)
			}
		}
		p.src = append(p.src, src)
		p.consts = append(p.consts, cs)
	}
	return nil
}

// chainKernel runs a head kernel and then its chain.
type chainKernel struct {
	head kernel
	p    *chainPlan
}

// withChain wraps the kernel of a chain's head; ins are the head step's
// inputs, to which the chain's run-time operands are appended.
func (cf *chainFusions) withChain(n *ir.Node, k kernel, ins []*ir.Value, opset int64, visible func(*ir.Value) bool, constOf func(*ir.Value) *ir.Tensor) (kernel, []*ir.Value, error) {
	p := cf.heads[n]
	if p == nil {
		return k, ins, nil
	}
	if err := p.prepare(opset, visible, constOf); err != nil {
		return nil, nil, err
	}
	return &chainKernel{head: k, p: p}, append(ins[:len(ins):len(ins)], p.extras...), nil
}

func (k *chainKernel) run(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
	nx := len(k.p.extras)
	headIn, extras := in[:len(in)-nx], in[len(in)-nx:]
	outs, err := k.head.run(e, headIn)
	if err != nil {
		return nil, err
	}
	if len(outs) != 1 || outs[0] == nil {
		return outs, nil // the session reports the missing output
	}
	y := outs[0]
	if !k.fits(y.Dims, y.DType, extras, k.p.ops) {
		if z := k.grow(e, y, in, extras); z != nil {
			return []*ir.Tensor{z}, nil
		}
		return k.p.unfused(e, y, extras)
	}
	if !fresh(e, y, in) {
		c, err := e.alloc(y.DType, y.Dims)
		if err != nil {
			return nil, err
		}
		copy(c.Data, y.Data)
		y = c
	}
	k.p.apply(e, view[float32](y), y.Dims, extras, k.p.ops)
	return []*ir.Tensor{y}, nil
}

// grow handles a chain whose value is broadcast onto a larger operand
// part way (squeeze-excitation: the scale, N×C×1×1, times the feature
// map): the steps before that binary operator run in place on y, the
// operator writes a new tensor of the operand's shape (the broadcast
// loop arith uses, so the same roundings), and the rest runs on that. It
// returns nil where this does not apply.
func (k *chainKernel) grow(e *env, y *ir.Tensor, in, extras []*ir.Tensor) *ir.Tensor {
	ops := k.p.ops
	if y.DType != ir.Float32 {
		return nil
	}
	g := -1
	for i := range ops {
		if !k.fits(y.Dims, y.DType, extras, ops[i:i+1]) {
			g = i
			break
		}
	}
	if g < 0 || ops[g].kind != chBinary {
		return nil
	}
	t := ops[g].operand(extras)
	if t == nil || t.DType != ir.Float32 || !k.fits(y.Dims, y.DType, extras, ops[:g]) || !k.fits(t.Dims, t.DType, extras, ops[g+1:]) {
		return nil
	}
	inner, period, ok := operandPattern(t.Dims, y.Dims)
	if !ok {
		return nil
	}
	if g > 0 {
		if !fresh(e, y, in) {
			c, err := e.alloc(y.DType, y.Dims)
			if err != nil {
				return nil
			}
			copy(c.Data, y.Data)
			y = c
		}
		k.p.apply(e, view[float32](y), y.Dims, extras, ops[:g])
	}
	z, err := e.alloc(ir.Float32, t.Dims)
	if err != nil {
		return nil
	}
	zv, tv, yv := view[float32](z), view[float32](t), view[float32](y)
	o := ops[g]
	// Element i is y[(i/inner)%period] op t[i] (t[i] op y[...] when rev).
	e.parallel((len(zv)+chainBlock-1)/chainBlock, max(1, elementGrain/chainBlock), func(b0, b1 int) {
		for lo := b0 * chainBlock; lo < min(b1*chainBlock, len(zv)); {
			hi := min(lo+chainBlock, len(zv))
			if inner == 1 && period > 1 {
				for i := lo; i < hi; {
					j := i % period
					end := min(hi, i+period-j)
					if o.rev {
						kernels.BinaryVV(o.op, zv[i:end], tv[i:end], yv[j:j+end-i])
					} else {
						kernels.BinaryVV(o.op, zv[i:end], yv[j:j+end-i], tv[i:end])
					}
					i = end
				}
			} else {
				for i := lo; i < hi; {
					end := min(hi, (i/inner+1)*inner)
					kernels.BinaryVS(o.op, zv[i:end], tv[i:end], yv[(i/inner)%period], !o.rev)
					i = end
				}
			}
			lo = hi
		}
	})
	e.release(y)
	k.p.apply(e, zv, z.Dims, extras, ops[g+1:])
	return z
}

// fresh reports whether y is storage the step may overwrite: lent by the
// arena during this run, read by no slot, and no input of the step.
func fresh(e *env, y *ir.Tensor, in []*ir.Tensor) bool {
	p := dataPtr(y)
	if p == nil || e == nil || e.arena == nil {
		return false
	}
	if _, lent := e.arena.lent[p]; !lent {
		return false
	}
	if _, held := e.arena.refs[p]; held {
		return false
	}
	for _, t := range in {
		if dataPtr(t) == p {
			return false
		}
	}
	return true
}

// fits reports whether ops can run on a value of dims and dt in place:
// float32 throughout, and every operand broadcasts onto it without
// growing it.
func (k *chainKernel) fits(dims []int64, dt ir.DType, extras []*ir.Tensor, ops []chainOp) bool {
	if dt != ir.Float32 {
		return false
	}
	for _, o := range ops {
		switch o.kind {
		case chBinary:
			t := o.operand(extras)
			if t == nil || t.DType != ir.Float32 {
				return false
			}
			if _, _, ok := operandPattern(dims, t.Dims); !ok {
				return false
			}
		case chMulAdd, chHswish:
			if o.rank > len(dims) {
				return false
			}
		case chChannel:
			if len(dims) < 2 || int(dims[1]) != len(o.ca) {
				return false
			}
		}
	}
	return true
}

func (o *chainOp) operand(extras []*ir.Tensor) *ir.Tensor {
	if o.cst != nil {
		return o.cst
	}
	if o.extra >= 0 && o.extra < len(extras) {
		return extras[o.extra]
	}
	return nil
}

// operandPattern describes how an operand of dims od broadcasts onto an
// output of dims out: element i of the output reads operand element
// (i / inner) % period. It fails when the operand would grow the output
// or its broadcast axes are not a contiguous run of whole axes.
func operandPattern(out, od []int64) (inner, period int, ok bool) {
	if len(od) > len(out) {
		return 0, 0, false
	}
	off := len(out) - len(od)
	first, last := -1, -1
	for i, d := range od {
		o := out[off+i]
		switch {
		case d == o && o != 1:
			if first < 0 {
				first = off + i
			}
			last = off + i
		case d == 1:
		default:
			return 0, 0, false
		}
	}
	if first < 0 {
		return 1, 1, true
	}
	period, inner = 1, 1
	for a := first; a <= last; a++ {
		if a < off || od[a-off] != out[a] && out[a] != 1 {
			return 0, 0, false // a broadcast axis inside the run
		}
		period *= int(out[a])
	}
	for _, d := range out[last+1:] {
		inner *= int(d)
	}
	return inner, period, true
}

// apply runs ops in place on y.
func (p *chainPlan) apply(e *env, y []float32, dims []int64, extras []*ir.Tensor, ops []chainOp) {
	if len(ops) == 0 {
		return
	}
	type prepared struct {
		o             *chainOp
		t             []float32
		inner, period int
	}
	ps := make([]prepared, len(ops))
	for i := range ops {
		o := &ops[i]
		ps[i].o = o
		switch o.kind {
		case chBinary:
			t := o.operand(extras)
			ps[i].t = view[float32](t)
			ps[i].inner, ps[i].period, _ = operandPattern(dims, t.Dims)
		case chChannel:
			ps[i].inner, ps[i].period = numel(dims[2:]), int(dims[1])
		}
	}
	nb := (len(y) + chainBlock - 1) / chainBlock
	e.parallel(nb, max(1, elementGrain/chainBlock), func(b0, b1 int) {
		var tmp *[chainBlock]float32 // chHsigMul's HardSigmoid(x), a block
		defer func() {
			if tmp != nil {
				chainTmp.Put(tmp)
			}
		}()
		for b := b0; b < b1; b++ {
			lo, hi := b*chainBlock, min((b+1)*chainBlock, len(y))
			blk := y[lo:hi]
			for _, q := range ps {
				o := q.o
				switch o.kind {
				case chBinary:
					applyBinary(o.op, o.rev, y, lo, hi, q.t, q.inner, q.period)
				case chMulAdd:
					kernels.MulAdd(blk, blk, o.a, o.b)
				case chClamp:
					kernels.Clamp(blk, blk, o.lo, o.hi)
				case chHswish:
					kernels.HardSwishPattern(blk, blk, o.a, o.lo, o.hi)
				case chHsigMul:
					// The HardSigmoid node's operations (hardSigmoidVec),
					// then the Mul's.
					if tmp == nil {
						tmp = chainTmp.Get().(*[chainBlock]float32)
					}
					t := tmp[:len(blk)]
					kernels.MulAdd(t, blk, o.a, o.b)
					kernels.Clamp(t, t, 0, 1)
					kernels.BinaryVV(kernels.OpMul, blk, blk, t)
				case chVec:
					o.vec(blk, blk)
				case chChannel:
					for i := lo; i < hi; {
						end := min(hi, (i/q.inner+1)*q.inner)
						c := (i / q.inner) % q.period
						kernels.MulAdd(y[i:end], y[i:end], o.ca[c], o.cb[c])
						i = end
					}
				}
			}
		}
	})
}

// chainTmp holds blocks of scratch for the steps that need one.
var chainTmp = sync.Pool{New: func() any { return new([chainBlock]float32) }}

// applyBinary sets y[i] = y[i] op t[(i/inner)%period] (t[...] op y[i]
// when rev) for lo ≤ i < hi.
func applyBinary(op kernels.BinOp, rev bool, y []float32, lo, hi int, t []float32, inner, period int) {
	switch {
	case period == 1:
		kernels.BinaryVS(op, y[lo:hi], y[lo:hi], t[0], rev)
	case inner == 1:
		for i := lo; i < hi; {
			j := i % period
			end := min(hi, i+period-j)
			if rev {
				kernels.BinaryVV(op, y[i:end], t[j:j+end-i], y[i:end])
			} else {
				kernels.BinaryVV(op, y[i:end], y[i:end], t[j:j+end-i])
			}
			i = end
		}
	default:
		for i := lo; i < hi; {
			end := min(hi, (i/inner+1)*inner)
			kernels.BinaryVS(op, y[i:end], y[i:end], t[(i/inner)%period], rev)
			i = end
		}
	}
}

// unfused runs the absorbed nodes' own kernels one after another on the
// head's output y.
func (p *chainPlan) unfused(e *env, y *ir.Tensor, extras []*ir.Tensor) ([]*ir.Tensor, error) {
	vals := map[*ir.Value]*ir.Tensor{p.start: y}
	made := []*ir.Tensor{y}
	var cur *ir.Tensor
	for i, k := range p.kernels {
		n := p.nodes[i]
		ins := make([]*ir.Tensor, len(p.src[i]))
		for j, s := range p.src[i] {
			switch {
			case s >= 0:
				ins[j] = extras[s]
			case s == -1:
				ins[j] = vals[n.Inputs[j]]
			default:
				ins[j] = p.consts[i][j]
			}
		}
		outs, err := runKernel(k, e, ins)
		if err != nil {
			return nil, &NodeError{Node: n.Name, Op: n.OpType, Err: err}
		}
		if len(outs) < 1 || outs[0] == nil {
			return nil, &NodeError{Node: n.Name, Op: n.OpType, Err: fmt.Errorf("no output")}
		}
		cur = outs[0]
		vals[n.Outputs[0]] = cur
		made = append(made, cur)
	}
	final := dataPtr(cur)
	for _, t := range made[:len(made)-1] {
		if dataPtr(t) != final {
			e.release(t)
		}
	}
	return []*ir.Tensor{cur}, nil
}
