//go:build !amd64 || purego

package kernels

func axpy(a float32, x, y []float32) { axpyGo(a, x, y) }

func axpy2(a float32, x, y []float32) { axpyStrideGo(a, x, 2, y) }

func biasClamp(x []float32, bias, lo, hi float32) { biasClampGo(x, bias, lo, hi) }

func bytesToF32(dst []float32, src []byte, flip byte, sub float32) { bytesToF32Go(dst, src, flip, sub) }

func f32ToI32(dst []int32, src []float32) { f32ToI32Go(dst, src) }

func vmax(x, y []float32) { vmaxStrideGo(x, 1, y) }

func vmax2(x, y []float32) { vmaxStrideGo(x, 2, y) }

func requant(dst []byte, src []int32, bias int32, scale float32, zero, lo, hi int32) {
	requantGo(dst, src, bias, scale, zero, lo, hi)
}

func copy2(x, y []float32) { copyStride(x, 2, y) }

func packA6(dst, src []float32, lda, kc int) int { return 0 }

func transpose8(dst, src []float32, lds, ldd, cols int) int { return 0 }

func copyRows(dst, src []float32, rows, n, dstStride, srcStride int) {
	copyRowsGo(dst, src, rows, n, dstStride, srcStride)
}
