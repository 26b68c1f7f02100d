//go:build !amd64 || purego

package kernels

func dwRow3Vec(acc, a, b, c []float32, w *[3]float32) int { return 0 }

func q8ToF32Vec(dst []float32, src []byte, zero float32, signed bool) int { return 0 }

func requantF32Vec(dst []byte, src []float32, bias, scale float32, zero, lo, hi int32) int {
	return 0
}

func requantVec(dst []byte, src []int32, bias int32, scale float32, zero, lo, hi int32) int {
	return 0
}

func quantF32Vec(dst []byte, src []float32, scale float32, zero, lo, hi int32) int { return 0 }

func deint2Vec(even, odd, src []float32) int { return 0 }

func pack16Pairs(dst []int16, r0, r1 []byte, zero int32, signed bool) bool { return false }

func dequantVec(dst []float32, src []byte, signed bool, scale float32, zero int32) int { return 0 }
