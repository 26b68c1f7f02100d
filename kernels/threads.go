package kernels

import (
	"sync"
	"sync/atomic"
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
// The helpers are long-lived worker goroutines that wait for loops, and a
// loop's state (its task and, with forArgs, its arguments) comes from
// pools: in steady state a parallel loop allocates nothing, whatever the
// thread count, which is what lets a caller (the generated Go code, the
// runtime) promise allocation-free inference.
//
// A loop never waits for a helper to become free: it hands its task to
// idle workers only, starts a new one while there are fewer than
// maxWorkers, and otherwise does the remaining items itself. So loops may
// nest (an item may run a parallel loop of its own) and run from many
// goroutines at once without deadlock.

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
	// idle hands tasks to the worker goroutines waiting on it.
	idle    = make(chan *task)
	workers atomic.Int32
)

// maxWorkers bounds the worker goroutines; beyond it a loop's caller does
// the items no idle worker took.
const maxWorkers = 256

// worker runs the tasks it is handed, starting with first.
func worker(first *task) {
	for t := first; t != nil; t = <-idle {
		t.work(int(t.tid.Add(1)))
		t.wg.Done()
	}
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
	for k := 1; k < threads; k++ {
		t.wg.Add(1)
		select {
		case idle <- t:
		default:
			if workers.Add(1) <= maxWorkers {
				go worker(t)
			} else {
				workers.Add(-1)
				t.wg.Done()
			}
		}
	}
	t.work(0)
	t.wg.Wait()
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

// workerJob adapts a closure that wants its worker index to a job.
type workerJob func(t, i int)

func (f workerJob) run(t, i int) { f(t, i) }

// parallelFor runs body(i) for i in [0, n) on up to threads workers. The
// closure is a heap object per call; loops on the inference path use
// forArgs instead.
func parallelFor(n, threads int, body func(i int)) {
	parallelRun(n, threads, funcJob(body))
}

// parallelWorkers is parallelFor that also tells body which of the
// workers runs it (0 ≤ t < threads), for per-worker scratch.
func parallelWorkers(n, threads int, body func(t, i int)) {
	parallelRun(n, threads, workerJob(body))
}
