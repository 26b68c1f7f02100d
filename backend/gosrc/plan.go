package gosrc

import (
	"slices"

	"github.com/nncc/nncc/ir"
)

// A storage is one buffer of the arena, shared by a value and the views
// of it (and by the result of an in-place group).
type storage struct {
	id        int
	size      int64 // float32 elements (per sample when scaled)
	scaled    bool
	def, last int   // first and last group using it
	off       int64 // offset in its region (per sample when scaled)
	input     int   // graph input index, or -1
	output    bool  // holds a graph output: lives to the end, never reused
	scratch   bool
	bytes     bool // in the byte arena (8-bit values; size in bytes)
}

const align = 16 // float32 elements: 64 bytes

// plan assigns storages to values and places them in the arena: a fixed
// region first, then a region whose size is per-sample × batch.
type plan struct {
	of           map[*ir.Value]*storage
	all          []*storage
	fixed, per   int64 // region sizes of the float32 arena (per is per sample)
	bfixed, bper int64 // the same for the byte arena
	inPlace      map[*group]*ir.Value
	// anchorTmp is the float32 buffer a convolution or GEMM writes when
	// its group's result is 8-bit and the kernel does not requantize.
	anchorTmp map[*group]*storage
}

func (p *plan) newStorage(size int64, scaled bool, def int) *storage {
	s := &storage{id: len(p.all), size: size, scaled: scaled, def: def, last: def, input: -1}
	p.all = append(p.all, s)
	return s
}

// makePlan runs after grouping: views share their input's storage, a
// fused group may write over a full-shape operand that dies in it, and
// first-fit by decreasing size places what is live at the same time
// apart.
func (gn *gen) makePlan() {
	a := gn.a
	p := &plan{of: map[*ir.Value]*storage{}, inPlace: map[*group]*ir.Value{}, anchorTmp: map[*group]*storage{}}
	gn.plan = p
	for i, v := range a.inputs {
		s := p.newStorage(a.vals[v].size(), a.vals[v].scaled, -1)
		s.input = i
		p.of[v] = s
	}
	groupOf := map[*ir.Node]*group{}
	for _, g := range gn.groups {
		groupOf[g.root] = g
		if g.anchor != nil {
			groupOf[g.anchor] = g
		}
		for _, m := range g.members {
			groupOf[m] = g
		}
	}
	// last use of every value, in group indices
	lastUse := func(v *ir.Value) int {
		in := a.vals[v]
		last := -1
		for _, u := range in.uses {
			if g := groupOf[u]; g != nil && g.index > last {
				last = g.index
			}
		}
		if in.output {
			last = len(gn.groups)
		}
		return last
	}
	for _, g := range gn.groups {
		o := g.out()
		oi := a.vals[o]
		if g.view {
			src := g.root.Inputs[0]
			if s := p.of[src]; s != nil {
				p.of[o] = s
				if l := lastUse(o); l > s.last {
					s.last = l
				}
				if oi.output {
					s.output = true
				}
				continue
			}
		}
		var s *storage
		if cand := gn.inPlaceCandidate(g); cand != nil {
			s = p.of[cand]
			p.inPlace[g] = cand
		} else {
			s = p.newStorage(oi.size(), oi.scaled, g.index)
			s.bytes = gn.isByte(o)
		}
		p.of[o] = s
		if g.anchor != nil && s.bytes && gn.qRequant(g) == nil {
			ai := a.vals[g.anchor.Outputs[0]]
			p.anchorTmp[g] = p.newStorage(ai.size(), ai.scaled, g.index)
		}
		if l := lastUse(o); l > s.last {
			s.last = l
		}
		if oi.output {
			s.output = true
		}
		// the operands' storages live at least until here
		for _, v := range gn.groupInputs(g) {
			if st := p.of[v]; st != nil && st.last < g.index {
				st.last = g.index
			}
		}
		if sz := gn.scratchSize(g); sz > 0 {
			sc := p.newStorage(sz, false, g.index)
			sc.scratch = true
			gn.scratch[g] = sc
		}
	}
	for _, s := range p.all {
		if s.output {
			s.last = len(gn.groups)
		}
	}
	for region := 0; region < 4; region++ {
		scaled, bytes := region&1 == 1, region >= 2
		var list []*storage
		for _, s := range p.all {
			if s.input < 0 && s.scaled == scaled && s.bytes == bytes {
				list = append(list, s)
			}
		}
		slices.SortStableFunc(list, func(x, y *storage) int {
			if x.size != y.size {
				if x.size > y.size {
					return -1
				}
				return 1
			}
			return x.def - y.def
		})
		var placed []*storage
		var top int64
		for _, s := range list {
			var off int64
			for {
				moved := false
				for _, q := range placed {
					if q.last < s.def || s.last < q.def {
						continue // not live together
					}
					if off < q.off+roundUp(q.size) && q.off < off+roundUp(s.size) {
						off = q.off + roundUp(q.size)
						moved = true
					}
				}
				if !moved {
					break
				}
			}
			s.off = off
			placed = append(placed, s)
			top = max(top, off+roundUp(s.size))
		}
		switch region {
		case 0:
			p.fixed = top
		case 1:
			p.per = top
		case 2:
			p.bfixed = top
		case 3:
			p.bper = top
		}
	}
}

func roundUp(n int64) int64 { return (n + align - 1) / align * align }

// inPlaceCandidate returns an operand whose storage the group's result
// may take over: a full-shape value of the group's own type that dies in
// it (element-wise loops read each element before writing it; a
// convolution may write over its residual operand).
func (gn *gen) inPlaceCandidate(g *group) *ir.Value {
	a, p := gn.a, gn.plan
	if g.view || g.members == nil {
		return nil
	}
	oi := a.vals[g.out()]
	inside := map[*ir.Value]bool{}
	for _, n := range gn.nodesOf(g) {
		inside[n.Outputs[0]] = true
	}
	var cands []*ir.Value
	if g.anchor != nil {
		// the residual, unless it is also the convolution's input (the
		// kernel's output may alias its residual, never its input)
		if r := gn.residualOf(g); r != nil && gn.base(r) != gn.base(g.anchor.Inputs[0]) {
			cands = append(cands, r)
		}
	} else {
		for _, m := range g.members {
			for _, v := range m.Inputs {
				if v != nil && !inside[v] {
					cands = append(cands, v)
				}
			}
		}
	}
	for _, v := range cands {
		vi := a.vals[v]
		s := p.of[v]
		if s == nil || s.input >= 0 || s.output || vi.isStatic() || !slices.Equal(vi.dims, oi.dims) || vi.scaled != oi.scaled || s.bytes != gn.isByte(g.out()) {
			continue
		}
		if s.size != oi.size() || s.last > g.index {
			continue
		}
		// every use of the storage (views included) must end here
		if !gn.diesAt(v, g) {
			continue
		}
		return v
	}
	return nil
}

// diesAt reports whether no group after g reads x or a view of it, and
// neither is a graph output.
func (gn *gen) diesAt(x *ir.Value, g *group) bool {
	b := gn.base(x)
	for _, h := range gn.groups[g.index+1:] {
		for _, v := range gn.groupInputs(h) {
			if gn.base(v) == b {
				return false
			}
		}
	}
	for _, v := range gn.a.g.Outputs {
		if gn.base(v) == b {
			return false
		}
	}
	return true
}

// base follows views back to the value that owns the data.
func (gn *gen) base(v *ir.Value) *ir.Value {
	for {
		p := gn.a.vals[v].prod
		if p == nil || !viewOps[p.OpType] || gn.a.vals[v].isStatic() {
			return v
		}
		v = p.Inputs[0]
	}
}

// nodesOf lists a group's nodes in order.
func (gn *gen) nodesOf(g *group) []*ir.Node {
	var ns []*ir.Node
	if g.anchor != nil {
		ns = append(ns, g.anchor)
	}
	ns = append(ns, g.members...)
	if g.members == nil && g.anchor != g.root {
		ns = append(ns, g.root)
	}
	return ns
}

// groupInputs lists the values a group reads: its nodes' inputs and a
// zero point an integer kernel reads at run time.
func (gn *gen) groupInputs(g *group) []*ir.Value {
	var vs []*ir.Value
	for _, n := range gn.nodesOf(g) {
		for _, v := range n.Inputs {
			if v != nil {
				vs = append(vs, v)
			}
		}
		if qi := gn.q[n]; qi != nil && qi.xZeroV != nil {
			vs = append(vs, qi.xZeroV)
		}
	}
	return vs
}
