package kernels

// Activation selects an element-wise function fused into the end of a
// GEMM or convolution, applied after the bias is added.
type Activation int

const (
	ActNone Activation = iota // identity
	ActRelu                   // max(x, 0)
	ActClip                   // min(max(x, lo), hi); Relu6 is Clip(0, 6)
)

// activate sets row[j] = act(row[j] + bias).
func activate(row []float32, bias float32, act Activation, lo, hi float32) {
	switch act {
	case ActNone:
		if bias != 0 {
			for j := range row {
				row[j] += bias
			}
		}
	case ActRelu:
		for j, v := range row {
			v += bias
			if !(v > 0) && v == v { // keep NaN, as max(NaN, 0) in ONNX Relu
				v = 0
			}
			row[j] = v
		}
	case ActClip:
		for j, v := range row {
			v += bias
			if v < lo {
				v = lo
			} else if v > hi {
				v = hi
			}
			row[j] = v
		}
	}
}
