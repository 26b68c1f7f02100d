package kernels

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// checkJob records which items ran and checks that no two items run on
// the same worker index at once.
type checkJob struct {
	threads int
	ran     []atomic.Int32
	busy    []atomic.Bool
	bad     atomic.Int32
	inner   func(i int) // optional nested work
}

func (j *checkJob) run(t, i int) {
	if t < 0 || t >= j.threads || !j.busy[t].CompareAndSwap(false, true) {
		j.bad.Add(1)
		return
	}
	j.ran[i].Add(1)
	if j.inner != nil {
		j.inner(i)
	}
	j.busy[t].Store(false)
}

func runChecked(t *testing.T, n, threads int, inner func(int)) {
	t.Helper()
	j := &checkJob{threads: max(threads, 1), ran: make([]atomic.Int32, n), busy: make([]atomic.Bool, max(threads, 1)), inner: inner}
	parallelRun(n, threads, j)
	if b := j.bad.Load(); b != 0 {
		t.Errorf("n=%d threads=%d: %d items ran on a bad or busy worker index", n, threads, b)
	}
	for i := range j.ran {
		if c := j.ran[i].Load(); c != 1 {
			t.Errorf("n=%d threads=%d: item %d ran %d times", n, threads, i, c)
		}
	}
}

func TestParallelRunEachItemOnce(t *testing.T) {
	for _, n := range []int{0, 1, 2, 5, 100, 1000} {
		for _, threads := range []int{0, 1, 2, 3, 8} {
			runChecked(t, n, threads, nil)
		}
	}
}

// TestParallelRunNestedAndConcurrent runs loops inside loop items and
// from many goroutines at once: a loop never waits for a busy worker, so
// this must finish, with every item run once.
func TestParallelRunNestedAndConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				runChecked(t, 16, 4, func(int) { runChecked(t, 8, 3, nil) })
			}
		}()
	}
	wg.Wait()
}

func TestForArgsPassesArguments(t *testing.T) {
	type sumArgs struct {
		x    []int
		sums []atomic.Int64
	}
	var pool argsPool[sumArgs]
	for _, threads := range []int{1, 2, 4} {
		x := make([]int, 1000)
		for i := range x {
			x[i] = i
		}
		sums := make([]atomic.Int64, 1)
		forArgs(&pool, len(x), threads, sumArgs{x: x, sums: sums}, func(a *sumArgs, _, i int) {
			a.sums[0].Add(int64(a.x[i]))
		})
		if got, want := sums[0].Load(), int64(999*1000/2); got != want {
			t.Errorf("threads=%d: sum %d, want %d", threads, got, want)
		}
	}
}

// TestParallelRunWaitsForSlowItems runs loops whose items outlast
// spinFor (so the caller parks instead of polling), loops in quick
// succession (handed to polling workers) and loops after pauses longer
// than spinFor (handed to parked workers): every item must have finished
// when its loop returns.
func TestParallelRunWaitsForSlowItems(t *testing.T) {
	for _, c := range []struct {
		item, pause time.Duration
	}{
		{0, 0},
		{3 * spinFor, 0},
		{0, 3 * spinFor},
		{spinFor / 2, spinFor / 2},
	} {
		for range 10 {
			var finished atomic.Int32
			parallelFor(4, 2, func(int) {
				time.Sleep(c.item)
				finished.Add(1)
			})
			if f := finished.Load(); f != 4 {
				t.Fatalf("item %v, pause %v: loop returned with %d of 4 items finished", c.item, c.pause, f)
			}
			time.Sleep(c.pause)
		}
	}
}

func TestParallelRangeCoversEachIndexOnce(t *testing.T) {
	for _, n := range []int{0, 1, 7, 100, 1 << 12, 100003} {
		for _, grain := range []int{0, 1, 64, 1 << 15} {
			for _, threads := range []int{1, 2, 3} {
				seen := make([]atomic.Int32, n)
				var short atomic.Int32
				var calls atomic.Int32
				ParallelRange(n, grain, threads, func(lo, hi int) {
					calls.Add(1)
					if hi-lo < grain {
						short.Add(1)
					}
					for i := lo; i < hi; i++ {
						seen[i].Add(1)
					}
				})
				for i := range seen {
					if c := seen[i].Load(); c != 1 {
						t.Fatalf("n=%d grain=%d threads=%d: index %d covered %d times", n, grain, threads, i, c)
					}
				}
				if calls.Load() > 1 && short.Load() > 0 {
					t.Errorf("n=%d grain=%d threads=%d: %d of %d ranges shorter than the grain", n, grain, threads, short.Load(), calls.Load())
				}
				if threads == 1 && calls.Load() != 1 {
					t.Errorf("n=%d grain=%d: one thread made %d ranges, want 1", n, grain, calls.Load())
				}
			}
		}
	}
}
