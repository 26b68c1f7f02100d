//go:build !amd64 || purego

package kernels

func qdw3Fused() bool { return false }

func qdw3Rows(dst []byte, taps *[9][]float32, w *[9]float32, c *[8][8]int32, n, rows, tapStride, dstStride int, bias, scale float32) {
	panic("kernels: qdw3Rows without AVX2")
}

func qdw3Consts(c *[8][8]int32, zero, lo, hi int32) {}

func splitF32Vec(even, odd []float32, src []byte, zero float32, signed bool) int { return 0 }

func evenBytesVec(x, y []byte) int { return 0 }

func qdw3Pairs1(dst []byte, in []float32, w *[9]float32, c *[8][8]int32, n, pairs, rowStride, dstStride int, bias, scale float32) {
	panic("kernels: qdw3Pairs1 without AVX2")
}

func q8ToF32Rows(dst []float32, dstStride int, src []byte, n, rows int, zero float32, signed bool) {
	panic("kernels: q8ToF32Rows without AVX2")
}

func splitF32Rows(buf []float32, stride, evenOff, oddOff int, src []byte, n, rows int, zero float32, signed bool) {
	panic("kernels: splitF32Rows without AVX2")
}

func q8ToI16Rows(dst []int16, dstStride int, src []byte, n, rows int, zero int32, signed bool) {
	panic("kernels: q8ToI16Rows without AVX2")
}

func qdw3S2Rows(dst []byte, in []int16, w *[6]int32, c *[8][8]int32, n, rows, rowStride, dstStride int, bias, scale float32) {
	panic("kernels: qdw3S2Rows without AVX2")
}

func qdw3S2Weights(w *[6]int32, wf []float32) {}

var qdw3S2On = false

func qdw3S1Rows(dst []byte, in []int16, w *[6]int32, c *[8][8]int32, n, rows, rowStride, dstStride int, bias, scale float32) {
	panic("kernels: qdw3S1Rows without AVX2")
}

var qdw3S1On = false
