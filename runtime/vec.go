package runtime

import (
	"github.com/nncc/nncc/kernels"

	"math"
)

// Float32 slice loops for the common element-wise operators, and the
// helper that spreads element-wise work over threads.

// elementGrain is the smallest number of elements worth a goroutine.
const elementGrain = 1 << 15

// parallel calls f on disjoint ranges covering [0, n), on up to e.threads
// of the kernels' workers, each range at least grain long.
func (e *env) parallel(n, grain int, f func(lo, hi int)) {
	threads := 1
	if e != nil {
		threads = e.threads
	}
	kernels.ParallelRange(n, grain, threads, f)
}

// The clamping loops are kernels.Clamp (vector min and max, NaN kept).

func reluVec(d, x []float32) { kernels.Clamp(d[:len(x)], x, 0, float32(math.Inf(1))) }

// clampVec returns a loop computing min(max(x, lo), hi), NaN kept.
func clampVec(lo, hi float32) func(d, x []float32) {
	return func(d, x []float32) { kernels.Clamp(d[:len(x)], x, lo, hi) }
}

func negVec(d, x []float32) {
	for i, v := range x {
		d[i] = -v
	}
}

func absVec(d, x []float32) {
	for i, v := range x {
		d[i] = float32(math.Abs(float64(v)))
	}
}

func sqrtVec(d, x []float32) {
	for i, v := range x {
		d[i] = float32(math.Sqrt(float64(v)))
	}
}

func reciprocalVec(d, x []float32) {
	for i, v := range x {
		d[i] = 1 / v
	}
}

func expVec(d, x []float32) { kernels.Exp(d, x) }

func tanhVec(d, x []float32) { kernels.Tanh(d, x) }

func erfVec(d, x []float32) { kernels.Erf(d, x) }

func sigmoidVec(d, x []float32) { kernels.Sigmoid(d, x) }

func hardSwishVec(d, x []float32) {
	for i, v := range x {
		d[i] = v * min(max(v/6+0.5, 0), 1)
	}
}

func geluVec(d, x []float32) { kernels.Gelu(d, x) }

func geluTanhVec(d, x []float32) { kernels.GeluTanh(d, x) }

// hardSigmoidVec returns a loop computing min(max(alpha·x + beta, 0), 1),
// rounding the product before the sum.
func hardSigmoidVec(alpha, beta float32) func(d, x []float32) {
	return func(d, x []float32) {
		d = d[:len(x)]
		kernels.MulAdd(d, x, alpha, beta)
		kernels.Clamp(d, d, 0, 1)
	}
}

// leakyReluVec returns a loop computing max(x, 0) + alpha·min(x, 0).
func leakyReluVec(alpha float32) func(d, x []float32) {
	return func(d, x []float32) {
		d = d[:len(x)]
		for i, v := range x {
			d[i] = max(v, 0) + alpha*min(v, 0)
		}
	}
}
