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

// parallelFor runs body(i) for i in [0, n) on up to threads goroutines
// (the caller's included). Each goroutine takes the next undone index, so
// uneven items balance out. With threads ≤ 1 or n ≤ 1 it runs inline.
func parallelFor(n, threads int, body func(i int)) {
	if threads > n {
		threads = n
	}
	if threads <= 1 {
		for i := 0; i < n; i++ {
			body(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	work := func() {
		for {
			i := int(next.Add(1) - 1)
			if i >= n {
				return
			}
			body(i)
		}
	}
	wg.Add(threads - 1)
	for t := 1; t < threads; t++ {
		go func() {
			defer wg.Done()
			work()
		}()
	}
	work()
	wg.Wait()
}
