package kernels

import "math"

// Activation selects an element-wise function fused into the end of a
// GEMM or convolution, applied after the bias is added.
type Activation int

const (
	ActNone Activation = iota // identity
	ActRelu                   // max(x, 0)
	ActClip                   // min(max(x, lo), hi); Relu6 is Clip(0, 6)
)

// bounds returns the clamp interval [lo, hi] equivalent to f.
func (f Fused) bounds() (lo, hi float32) {
	inf := float32(math.Inf(1))
	switch f.Act {
	case ActRelu:
		return 0, inf
	case ActClip:
		return f.Lo, f.Hi
	}
	return -inf, inf
}

// activate sets row[j] = act(row[j] + bias).
func activate(row []float32, bias float32, f Fused) {
	lo, hi := f.bounds()
	biasClamp(row, bias, lo, hi)
}

// biasClampGo sets x[j] = min(max(x[j] + bias, lo), hi), leaving NaNs
// as they are.
func biasClampGo(x []float32, bias, lo, hi float32) {
	for j, v := range x {
		v += bias
		if v < lo {
			v = lo
		}
		if v > hi {
			v = hi
		}
		x[j] = v
	}
}
