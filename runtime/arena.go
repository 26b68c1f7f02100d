package runtime

import (
	goruntime "runtime"
	"slices"
	"unsafe"

	"github.com/nncc/nncc/ir"
)

// arena recycles tensor storage within and across runs of a Session.
//
// Every buffer it hands out is "lent" until the run ends. Graph slots hold
// references to lent buffers (refs); when the last slot reading a buffer
// is released the buffer goes back to the free list and the next
// allocation of a similar size reuses it. A buffer shared by several
// slots (Reshape and Identity outputs alias their input's storage) is
// freed only when all of them are released. A kernel output no slot has
// retained yet is "floating": its refs entry is absent.
type arena struct {
	free [][]byte         // idle buffers, full capacity
	lent map[*byte][]byte // buffers handed out during this run
	refs map[*byte]int    // slot references to lent buffers
	hold map[*byte]bool   // handed to the caller of Run: never reused
	// runBytes counts the capacity handed out during the current run; the
	// free list is trimmed to about this much when the run ends, so that
	// runs of varying shapes do not hoard memory.
	runBytes int
	// given records the buffers the last run handed to its caller
	// (address and capacity; an address does not keep the buffer
	// alive), which recycle takes back.
	given []givenBuf
}

// givenBuf is a buffer handed to the caller of a run.
type givenBuf struct {
	p   uintptr
	cap int
}

func newArena() *arena {
	return &arena{lent: map[*byte][]byte{}, refs: map[*byte]int{}, hold: map[*byte]bool{}}
}

// get returns a buffer of n bytes, reusing an idle one whose capacity is
// at least n and at most twice n (best fit) when possible. The contents
// are unspecified.
func (a *arena) get(n int) []byte {
	if n == 0 {
		return []byte{}
	}
	best := -1
	for i, b := range a.free {
		if cap(b) >= n && cap(b) <= 2*n && (best < 0 || cap(b) < cap(a.free[best])) {
			best = i
		}
	}
	var b []byte
	if best >= 0 {
		b = a.free[best][:n]
		last := len(a.free) - 1
		a.free[best] = a.free[last]
		a.free = a.free[:last]
	} else {
		b = alignedBytes(n)
	}
	a.lent[&b[0]] = b[:cap(b)]
	a.runBytes += cap(b)
	return b
}

// put returns the lent buffer starting at p to the free list.
func (a *arena) put(p *byte) {
	b, ok := a.lent[p]
	if !ok {
		return
	}
	delete(a.lent, p)
	delete(a.refs, p)
	if poisonFreed {
		for i := range b {
			b[i] = 0xff
		}
	}
	a.free = append(a.free, b)
}

// poisonFreed fills recycled buffers with 0xff bytes (NaN as floats, -1 as
// integers) so that tests catch a buffer reused while still read.
var poisonFreed = false

// endRun reclaims every buffer still lent except those given to the
// caller.
func (a *arena) endRun() {
	a.given = a.given[:0]
	for p, b := range a.lent {
		if !a.hold[p] {
			a.free = append(a.free, b)
		} else {
			a.given = append(a.given, givenBuf{uintptr(unsafe.Pointer(p)), cap(b)})
		}
	}
	clear(a.lent)
	clear(a.refs)
	clear(a.hold)
	// Keep the smallest buffers up to twice what this run used.
	slices.SortFunc(a.free, func(x, y []byte) int { return cap(x) - cap(y) })
	kept := 0
	for i, b := range a.free {
		if kept += cap(b); kept > 2*a.runBytes {
			clear(a.free[i:])
			a.free = a.free[:i]
			break
		}
	}
	a.runBytes = 0
}

// recycle takes back the storage of t, a tensor the last run handed to
// its caller, for later runs (a large output otherwise costs fresh
// memory, and the page faults of touching it, on every run). Tensors
// with other storage are ignored.
func (a *arena) recycle(t *ir.Tensor) {
	p := dataPtr(t)
	if p == nil {
		return
	}
	for i, g := range a.given {
		if g.p == uintptr(unsafe.Pointer(p)) && cap(t.Data) == g.cap {
			a.free = append(a.free, t.Data[:g.cap])
			a.given = append(a.given[:i], a.given[i+1:]...)
			return
		}
	}
}

// env is what kernels see of the run they are part of.
type env struct {
	arena   *arena // nil: allocate from the heap (EvalNode)
	threads int
	observe Observer // nil: nobody watches
}

func newEnv(a *arena, threads int) *env {
	if threads <= 0 {
		threads = goruntime.NumCPU()
	}
	return &env{arena: a, threads: threads}
}

// alloc returns a tensor of dt and dims whose contents are unspecified
// (recycled storage is not cleared). Kernels must write every element.
func (e *env) alloc(dt ir.DType, dims []int64) (*ir.Tensor, error) {
	size, err := tensorBytes(dt, dims)
	if err != nil {
		return nil, err
	}
	if e == nil || e.arena == nil {
		return &ir.Tensor{DType: dt, Dims: cloneDims(dims), Data: alignedBytes(size)}, nil
	}
	return &ir.Tensor{DType: dt, Dims: cloneDims(dims), Data: e.arena.get(size)}, nil
}

// zeros returns a zero-filled tensor.
func (e *env) zeros(dt ir.DType, dims []int64) (*ir.Tensor, error) {
	t, err := e.alloc(dt, dims)
	if err == nil && e != nil && e.arena != nil {
		clear(t.Data)
	}
	return t, err
}

// retain records that a graph slot now reads t.
func (e *env) retain(t *ir.Tensor) {
	if p := dataPtr(t); p != nil && e.arena != nil {
		if _, ok := e.arena.lent[p]; ok {
			e.arena.refs[p]++
		}
	}
}

// drop records that a slot reading t has been released, recycling the
// storage when no slot reads it any more.
func (e *env) drop(t *ir.Tensor) {
	if p := dataPtr(t); p != nil && e.arena != nil {
		if _, ok := e.arena.lent[p]; ok {
			if e.arena.refs[p]--; e.arena.refs[p] <= 0 {
				e.arena.put(p)
			}
		}
	}
}

// disown removes a slot's reference to t without recycling it: the
// tensor floats until its new holder retains it.
func (e *env) disown(t *ir.Tensor) {
	if p := dataPtr(t); p != nil && e.arena != nil {
		if r, ok := e.arena.refs[p]; ok {
			if r <= 1 {
				delete(e.arena.refs, p)
			} else {
				e.arena.refs[p] = r - 1
			}
		}
	}
}

// release recycles a floating tensor no slot holds: a kernel's scratch
// tensor or an output nobody reads. Tensors that slots still read are left
// alone.
func (e *env) release(t *ir.Tensor) {
	if p := dataPtr(t); p != nil && e != nil && e.arena != nil {
		if _, held := e.arena.refs[p]; !held {
			e.arena.put(p)
		}
	}
}
