//go:build amd64 && !purego

package kernels

//go:noescape
func axpyAvx512(a float32, x, y *float32, n int)

//go:noescape
func axpy2Avx512(a float32, x, y *float32, n int)

// axpy sets y[i] += a*x[i] for i < len(y); len(x) ≥ len(y).
func axpy(a float32, x, y []float32) {
	if hasAVX512 && len(y) > 0 {
		_ = x[len(y)-1]
		axpyAvx512(a, &x[0], &y[0], len(y))
		return
	}
	axpyGo(a, x, y)
}

// axpy2 sets y[i] += a*x[2i] for i < len(y); len(x) ≥ 2·len(y)-1.
func axpy2(a float32, x, y []float32) {
	if hasAVX512 && len(y) > 0 {
		_ = x[2*len(y)-2]
		axpy2Avx512(a, &x[0], &y[0], len(y))
		return
	}
	axpyStrideGo(a, x, 2, y)
}

//go:noescape
func biasClampAvx512(x *float32, n int, bias, lo, hi float32)

// biasClamp sets x[j] = min(max(x[j] + bias, lo), hi), keeping NaNs.
func biasClamp(x []float32, bias, lo, hi float32) {
	if hasAVX512 && len(x) > 0 {
		biasClampAvx512(&x[0], len(x), bias, lo, hi)
		return
	}
	biasClampGo(x, bias, lo, hi)
}

//go:noescape
func bytesToF32Avx512(dst *float32, src *byte, n int, flip uint64, sub float32)

//go:noescape
func f32ToI32Avx512(dst *int32, src *float32, n int)

// bytesToF32 sets dst[i] = float32(src[i] ^ flip) - sub for i < len(dst).
func bytesToF32(dst []float32, src []byte, flip byte, sub float32) {
	if hasAVX512 && len(dst) > 0 {
		_ = src[len(dst)-1]
		bytesToF32Avx512(&dst[0], &src[0], len(dst), uint64(flip), sub)
		return
	}
	bytesToF32Go(dst, src, flip, sub)
}

// f32ToI32 sets dst[i] = src[i] for integral src values.
func f32ToI32(dst []int32, src []float32) {
	if hasAVX512 && len(dst) > 0 {
		_ = src[len(dst)-1]
		f32ToI32Avx512(&dst[0], &src[0], len(dst))
		return
	}
	f32ToI32Go(dst, src)
}

//go:noescape
func vmaxAvx512(x, y *float32, n int)

//go:noescape
func vmax2Avx512(x, y *float32, n int)

// vmax sets y[i] = max(y[i], x[i]) for i < len(y).
func vmax(x, y []float32) {
	if hasAVX512 && len(y) > 0 {
		_ = x[len(y)-1]
		vmaxAvx512(&x[0], &y[0], len(y))
		return
	}
	if n := len(y) &^ 7; hasAVX2FMA && n > 0 {
		_ = x[n-1]
		vmaxAvx2(&x[0], &y[0], n)
		x, y = x[n:], y[n:]
	}
	vmaxStrideGo(x, 1, y)
}

// vmax2 sets y[i] = max(y[i], x[2i]) for i < len(y).
func vmax2(x, y []float32) {
	if hasAVX512 && len(y) > 0 {
		_ = x[2*len(y)-2]
		vmax2Avx512(&x[0], &y[0], len(y))
		return
	}
	// The AVX2 loop reads x[0:2n]: whole pairs only.
	if n := min(len(y), len(x)/2) &^ 7; hasAVX2FMA && n > 0 {
		vmax2Avx2(&x[0], &y[0], n)
		x, y = x[2*n:], y[n:]
	}
	vmaxStrideGo(x, 2, y)
}

//go:noescape
func requantAvx512(dst *byte, src *int32, n int, bias int32, scale float32, zero, lo, hi int32)

func requant(dst []byte, src []int32, bias int32, scale float32, zero, lo, hi int32) {
	if hasAVX512 && len(dst) > 0 {
		_ = src[len(dst)-1]
		requantAvx512(&dst[0], &src[0], len(dst), bias, scale, zero, lo, hi)
		return
	}
	requantGo(dst, src, bias, scale, zero, lo, hi)
}

//go:noescape
func copy2Avx512(x, y *float32, n int)

// copy2 sets y[i] = x[2i] for i < len(y).
func copy2(x, y []float32) {
	if hasAVX512 && len(y) > 0 {
		_ = x[2*len(y)-2]
		copy2Avx512(&x[0], &y[0], len(y))
		return
	}
	if n := min(len(y), len(x)/2) &^ 7; hasAVX2FMA && n > 0 {
		copyEvenAvx2(&y[0], &x[0], n)
		x, y = x[2*n:], y[n:]
	}
	copyStride(x, 2, y)
}

//go:noescape
func packA6Avx512(dst, src *float32, lda, blocks int)

// packA6 packs rows r0..r5 (each at least kc long, row r at src[r·lda])
// into dst[k·6+r] for k < kc, and reports how many columns it packed (a
// multiple of 8; the caller packs the rest).
func packA6(dst, src []float32, lda, kc int) int {
	blocks := kc / 8
	if !hasAVX512 || blocks == 0 {
		return 0
	}
	_, _ = src[5*lda+8*blocks-1], dst[48*blocks-1]
	packA6Avx512(&dst[0], &src[0], lda*4, blocks)
	return 8 * blocks
}

//go:noescape
func transpose8Avx2(dst, src *float32, lds, ldd, blocks int)

// transpose8 transposes the 8×n block at src (row stride lds) into the
// n×8 block at dst (row stride ldd) for the largest n ≤ cols that is a
// multiple of 8, and reports n; the caller handles the rest.
func transpose8(dst, src []float32, lds, ldd, cols int) int {
	blocks := cols / 8
	if !hasAVX2FMA || blocks == 0 {
		return 0
	}
	_, _ = src[7*lds+8*blocks-1], dst[(8*blocks-1)*ldd+7]
	transpose8Avx2(&dst[0], &src[0], lds*4, ldd*4, blocks)
	return 8 * blocks
}

// copyRows copies rows rows of n floats: dst[r·dstStride:][:n] =
// src[r·srcStride:][:n] for r < rows.
func copyRows(dst, src []float32, rows, n, dstStride, srcStride int) {
	if rows < 1 || n < 1 {
		return
	}
	_, _ = dst[(rows-1)*dstStride+n-1], src[(rows-1)*srcStride+n-1]
	if !hasAVX512 {
		copyRowsGo(dst, src, rows, n, dstStride, srcStride)
		return
	}
	copyRowsAvx512(&dst[0], &src[0], rows, n, 4*dstStride, 4*srcStride)
}
