package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

var numThreads atomic.Int32

func init() { numThreads.Store(1) }

// SetThreads sets how many goroutines large kernels (GEMM, convolution,
// pooling) split their work across. n < 1 means 1, the default. It is safe
// to call concurrently with running kernels; calls already running keep
// the value they started with.
func SetThreads(n int) {
	if n < 1 {
		n = 1
	}
	numThreads.Store(int32(n))
}

// Threads reports the value set by SetThreads.
func Threads() int { return int(numThreads.Load()) }

// Parallel loops.
//
// Every kernel that splits its work runs one *parallel loop*: n items,
// handed out one at a time through an atomic counter to the calling
// goroutine and up to threads−1 helpers, so uneven items balance out.
// The helpers are long-lived worker goroutines, and a loop's state (its
// task and, with forArgs, its arguments) comes from pools: in steady
// state a parallel loop allocates nothing, whatever the thread count,
// which is what lets a caller (the generated Go code, the runtime)
// promise allocation-free inference.
//
// A worker that finishes a task polls its slot in spinners for spinFor
// before it parks on idle, and a loop hands its task to polling workers
// first: one inference runs tens of loops in quick succession, and
// waking a parked goroutine costs about as much as a small loop's work.
// Likewise the caller polls for its helpers to finish before it parks.
// Both yield every few polls, to the Go scheduler and (on Linux, with
// sched_yield) to the operating system, so a polling goroutine holds up
// another goroutine or process that has work for a moment at most.
//
// A loop never waits for a helper to become free: it hands its task to
// polling or parked workers only, starts a new one while there are fewer
// than maxWorkers, and otherwise does the remaining items itself. So
// loops may nest (an item may run a parallel loop of its own) and run
// from many goroutines at once without deadlock.

// A job is the body of a parallel loop: run does item i on worker t
// (0 ≤ t < threads; the caller is worker 0), for per-worker scratch.
type job interface{ run(t, i int) }

// task is one parallel loop in flight.
type task struct {
	j    job
	n    int
	next atomic.Int64 // the next item to hand out
	tid  atomic.Int32 // the last worker index handed out
	wg   sync.WaitGroup
	// done counts the helpers that have finished, each after its
	// wg.Done: the caller spins on it before parking in wg.Wait.
	done atomic.Int32
}

func (t *task) work(w int) {
	for {
		i := int(t.next.Add(1) - 1)
		if i >= t.n {
			return
		}
		t.j.run(w, i)
	}
}

var (
	taskPool = sync.Pool{New: func() any { return new(task) }}
	// idle hands tasks to the worker goroutines parked on it.
	idle    = make(chan *task)
	workers atomic.Int32
	// spinners holds a slot per worker goroutine (by index), through
	// which a worker that has just finished a task can be handed the next
	// one while it spins, without the cost of waking a parked goroutine.
	spinners [maxWorkers]spinSlot
)

// maxWorkers bounds the worker goroutines; beyond it a loop's caller does
// the items no idle worker took.
const maxWorkers = 256

// spinFor is how long a worker polls for its next task after finishing
// one before it parks, and how long a loop's caller polls for its
// helpers to finish before it parks. Waking a parked goroutine on an
// idle CPU took 130 µs on average on the two-CPU VM of
// docs/performance.md (the detector's 64 parallel loops per inference
// lost 8 ms to it); the gaps between one inference's loops are mostly
// shorter than spinFor.
const spinFor = 300 * time.Microsecond

// A spinSlot is a worker's mailbox: nil while the worker is busy or
// parked, &spinning while it polls, the task when one was handed over.
type spinSlot struct {
	mail atomic.Pointer[task]
	_    [56]byte // one cache line per slot
}

// spinning marks a slot whose worker is polling.
var spinning task

// worker runs the tasks it is handed, starting with first: between
// tasks it polls its slot, spinners[id], then parks on idle.
func worker(id int, first *task) {
	slot := &spinners[id]
	for t := first; ; {
		t.work(int(t.tid.Add(1)))
		t.wg.Done()
		t.done.Add(1)
		t = spin(slot)
		if t == nil {
			t = <-idle
		}
	}
}

// spin polls slot for a task for spinFor and returns it, or nil (the
// slot withdrawn) when none came.
func spin(slot *spinSlot) *task {
	slot.mail.Store(&spinning)
	for p := newPoller(); ; {
		if t := slot.mail.Load(); t != &spinning {
			slot.mail.Store(nil)
			return t
		}
		if p.expired() && slot.mail.CompareAndSwap(&spinning, nil) {
			return nil
		} // else a task arrived meanwhile
	}
}

// await returns once the helpers of t have finished: it polls for spinFor
// (a helper that is still running usually finishes within it, and the
// caller then goes on without being parked and woken), then parks.
func await(t *task, helpers int32) {
	for p := newPoller(); t.done.Load() < helpers; {
		if p.expired() {
			t.wg.Wait()
			// Each helper's done.Add follows its wg.Done at once; wait
			// for it so that t can be reused.
			for t.done.Load() < helpers {
			}
			return
		}
	}
}

// A poller paces a polling loop: every 64 polls it checks the clock
// against spinFor and yields, to the Go scheduler and to the operating
// system, so that the poll holds up no other goroutine or process for
// long.
type poller struct {
	i        int
	deadline time.Time
}

func newPoller() poller { return poller{deadline: time.Now().Add(spinFor)} }

// expired counts one poll and reports whether spinFor has passed.
func (p *poller) expired() bool {
	if p.i++; p.i%64 != 0 {
		return false
	}
	if time.Now().After(p.deadline) {
		return true
	}
	runtime.Gosched()
	osYield()
	return false
}

// handOff gives t to a spinning worker, if there is one.
func handOff(t *task) bool {
	n := int(workers.Load())
	for i := 0; i < n; i++ {
		if spinners[i].mail.CompareAndSwap(&spinning, t) {
			return true
		}
	}
	return false
}

// parallelRun runs j.run(t, i) for every i in [0, n) on up to threads
// workers, the caller's goroutine included, and returns when all are done.
func parallelRun(n, threads int, j job) {
	threads = min(threads, n)
	if threads <= 1 {
		for i := 0; i < n; i++ {
			j.run(0, i)
		}
		return
	}
	t := taskPool.Get().(*task)
	t.j, t.n = j, n
	t.next.Store(0)
	t.tid.Store(0)
	t.done.Store(0)
	helpers := int32(0)
	for k := 1; k < threads; k++ {
		t.wg.Add(1)
		helpers++
		if handOff(t) {
			continue
		}
		select {
		case idle <- t:
		default:
			if id := workers.Add(1) - 1; id < maxWorkers {
				go worker(int(id), t)
			} else {
				workers.Add(-1)
				t.wg.Done()
				helpers--
			}
		}
	}
	t.work(0)
	await(t, helpers)
	t.j = nil
	taskPool.Put(t)
}

// argsJob is a pooled parallel loop body: the loop's arguments and a
// function of them that captures nothing.
type argsJob[A any] struct {
	args A
	body func(a *A, t, i int)
}

func (j *argsJob[A]) run(t, i int) { j.body(&j.args, t, i) }

// argsPool recycles the argument blocks of one kind of parallel loop.
// Declare one per loop site as a package variable.
type argsPool[A any] struct{ p sync.Pool }

// forArgs runs body(&args, t, i) for i in [0, n) like parallelRun. body
// must be a function literal that captures nothing (so it is a static
// value) and read everything it needs from its *A: then the loop
// allocates nothing in steady state, where a closure handed to
// parallelFor is a heap object per call.
func forArgs[A any](pool *argsPool[A], n, threads int, args A, body func(a *A, t, i int)) {
	j, _ := pool.p.Get().(*argsJob[A])
	if j == nil {
		j = new(argsJob[A])
	}
	j.args, j.body = args, body
	parallelRun(n, threads, j)
	*j = argsJob[A]{}
	pool.p.Put(j)
}

// funcJob adapts a closure to a job.
type funcJob func(i int)

func (f funcJob) run(_, i int) { f(i) }

// parallelFor runs body(i) for i in [0, n) on up to threads workers. The
// closure is a heap object per call; loops on the inference path use
// forArgs instead.
func parallelFor(n, threads int, body func(i int)) {
	parallelRun(n, threads, funcJob(body))
}

// ParallelRange calls body on disjoint ranges [lo, hi) covering [0, n),
// at least grain long, one per goroutine on up to threads of the
// kernels' workers (the caller's goroutine included), and returns when
// all are done. It is for callers outside this package (the runtime's
// element-wise loops); body is a closure, so each call allocates.
func ParallelRange(n, grain, threads int, body func(lo, hi int)) {
	grain = max(grain, 1)
	parts := min(threads, n/grain)
	if parts <= 1 {
		body(0, n)
		return
	}
	forArgs(&rangeLoops, parts, parts, rangeArgs{n: n, parts: parts, body: body}, func(a *rangeArgs, _, i int) {
		a.body(i*a.n/a.parts, (i+1)*a.n/a.parts)
	})
}

type rangeArgs struct {
	n, parts int
	body     func(lo, hi int)
}

var rangeLoops argsPool[rangeArgs]
