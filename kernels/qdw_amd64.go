//go:build amd64 && !purego

package kernels

//go:noescape
func dwRow3Avx2(acc, a, b, c *float32, w *float32, n int)

//go:noescape
func q8ToF32Avx2(dst *float32, src *byte, n int, zero float32, signed bool)

//go:noescape
func requantF32Avx2(dst *byte, src *float32, n int, bias, scale float32, zero, lo, hi int32)

//go:noescape
func requantAvx2(dst *byte, src *int32, n int, bias int32, scale float32, zero, lo, hi int32)

// The *Vec functions run the AVX2 loops on a prefix of their operands
// that is a multiple of 8 long and return its length (0 without AVX2).

func dwRow3Vec(acc, a, b, c []float32, w *[3]float32) int {
	n := len(acc) &^ 7
	if !hasAVX2FMA || n == 0 {
		return 0
	}
	_, _, _ = a[n-1], b[n-1], c[n-1]
	dwRow3Avx2(&acc[0], &a[0], &b[0], &c[0], &w[0], n)
	return n
}

func q8ToF32Vec(dst []float32, src []byte, zero float32, signed bool) int {
	n := len(dst) &^ 7
	if !hasAVX2FMA || n == 0 {
		return 0
	}
	_ = src[n-1]
	q8ToF32Avx2(&dst[0], &src[0], n, zero, signed)
	return n
}

func requantF32Vec(dst []byte, src []float32, bias, scale float32, zero, lo, hi int32) int {
	n := len(dst) &^ 7
	if !hasAVX2FMA || n == 0 {
		return 0
	}
	_ = src[n-1]
	requantF32Avx2(&dst[0], &src[0], n, bias, scale, zero, lo, hi)
	return n
}

func requantVec(dst []byte, src []int32, bias int32, scale float32, zero, lo, hi int32) int {
	n := len(dst) &^ 7
	if !hasAVX2FMA || n == 0 {
		return 0
	}
	_ = src[n-1]
	requantAvx2(&dst[0], &src[0], n, bias, scale, zero, lo, hi)
	return n
}

//go:noescape
func quantF32Avx2(dst *byte, src *float32, n int, scale float32, zero, lo, hi int32)

func quantF32Vec(dst []byte, src []float32, scale float32, zero, lo, hi int32) int {
	n := len(dst) &^ 7
	if !hasAVX2FMA || n == 0 {
		return 0
	}
	_ = src[n-1]
	quantF32Avx2(&dst[0], &src[0], n, scale, zero, lo, hi)
	return n
}

//go:noescape
func deint2Avx2(even, odd, src *float32, n int)

//go:noescape
func pack16PairsAvx2(dst *int16, r0, r1 *byte, zero int32, signed bool)

// deint2Vec sets even[i] = src[2i] and odd[i] = src[2i+1] for a prefix
// of i that is a multiple of 8 and returns its length.
func deint2Vec(even, odd, src []float32) int {
	n := min(len(even), len(odd), len(src)/2) &^ 7
	if !hasAVX2FMA || n == 0 {
		return 0
	}
	deint2Avx2(&even[0], &odd[0], &src[0], n)
	return n
}

// pack16Pairs interleaves 16 columns of two rows minus zero into dst (32
// int16); it reports false without AVX2.
func pack16Pairs(dst []int16, r0, r1 []byte, zero int32, signed bool) bool {
	if !hasAVX2FMA {
		return false
	}
	_, _, _ = dst[31], r0[15], r1[15]
	pack16PairsAvx2(&dst[0], &r0[0], &r1[0], zero, signed)
	return true
}

//go:noescape
func dequantAvx2(dst *float32, src *byte, n int, zero int32, scale float32, signed bool)

// dequantVec runs dequantAvx2 on a prefix of dst that is a multiple of
// 8 long and returns its length (0 without AVX2).
func dequantVec(dst []float32, src []byte, signed bool, scale float32, zero int32) int {
	n := len(dst) &^ 7
	if !hasAVX2FMA || n == 0 {
		return 0
	}
	_ = src[n-1]
	dequantAvx2(&dst[0], &src[0], n, zero, scale, signed)
	return n
}
