//go:build !linux

package kernels

// osYield is sched_yield on Linux; elsewhere polling goroutines yield to
// the Go scheduler only.
func osYield() {}
