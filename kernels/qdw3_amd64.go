//go:build amd64 && !purego

package kernels

//go:noescape
func qdw3RowAvx2(dst *byte, taps *[9]*float32, w *[9]float32, c *[8][8]int32, n, rows, tapStride, dstStride int, bias, scale float32)

// qdw3Fused reports whether qdw3Requant runs here (it needs AVX2 and FMA).
func qdw3Fused() bool { return hasAVX2FMA }

// qdw3Rows sets dst[i·dstStride+j], i < rows, j < n (a multiple of 8),
// to the requantised sum over t of w[t]·taps[t][i·tapStride+j] (see
// qdw3RowAvx2); c holds zero, lo, hi (qdw3Consts).
func qdw3Rows(dst []byte, taps *[9][]float32, w *[9]float32, c *[8][8]int32, n, rows, tapStride, dstStride int, bias, scale float32) {
	if rows <= 0 {
		return
	}
	_ = dst[(rows-1)*dstStride+n-1]
	var tp [9]*float32
	for t := range tp {
		_ = taps[t][(rows-1)*tapStride+n-1]
		tp[t] = &taps[t][0]
	}
	qdw3RowAvx2(&dst[0], &tp, w, c, n, rows, 4*tapStride, dstStride, bias, scale)
}

// qdw3Consts fills c for qdw3Rows (rows 0-3: zero, lo, hi and 0xff
// as int32 lanes) and qdw3Pairs1 (its saturating byte epilogue: row 4
// the zero point as 16 int16 lanes, row 5 lo and hi as 16 bytes each,
// row 6 16 bytes of xor and the byte order of two interleaved rows),
// all shifted by 128 for signed outputs (lo < 0) so that the clamp is
// on unsigned bytes, the xor shifting them back.
func qdw3Consts(c *[8][8]int32, zero, lo, hi int32) {
	for i := 0; i < 8; i++ {
		c[0][i], c[1][i], c[2][i], c[3][i] = zero, lo, hi, 0xff
	}
	var off int32
	if lo < 0 {
		off = 128
	}
	rep := func(b int32) int32 { return int32(uint32(byte(b)) * 0x01010101) }
	for i := 0; i < 8; i++ {
		c[4][i] = int32(uint32(uint16(zero+off)) * 0x00010001)
	}
	for i := 0; i < 4; i++ {
		c[5][i], c[5][4+i], c[6][i] = rep(lo+off), rep(hi+off), rep(off)
	}
	// bytes 0-3, 8-11, 4-7, 12-15
	c[6][4], c[6][5], c[6][6], c[6][7] = 0x03020100, 0x0b0a0908, 0x07060504, 0x0f0e0d0c
	// row 7: the column order of qdw3S1Rows' even and odd bytes
	c[7] = [8]int32{0x05010400, 0x07030602, 0x0d090c08, 0x0f0b0e0a}
}

//go:noescape
func splitF32Avx2(even, odd *float32, src *byte, n int, xor uint64, zero float32)

// splitF32Vec sets even[k] and odd[k] to the values of src[2k] and
// src[2k+1] minus zero, for a prefix of k that is a multiple of 8, and
// returns its length.
func splitF32Vec(even, odd []float32, src []byte, zero float32, signed bool) int {
	k := min(len(even), len(odd), len(src)/2) &^ 7
	if !hasAVX2FMA || k == 0 {
		return 0
	}
	var xor uint64
	if signed {
		xor, zero = 0x8080808080808080, zero+128
	}
	splitF32Avx2(&even[0], &odd[0], &src[0], 2*k, xor, zero)
	return k
}

//go:noescape
func evenBytesAvx2(dst, src *byte, n int)

// evenBytesVec sets y[i] = x[2i] for a prefix of y that is a multiple of
// 8 long and returns its length.
func evenBytesVec(x, y []byte) int {
	n := min(len(y), len(x)/2) &^ 7
	if !hasAVX2FMA || n == 0 {
		return 0
	}
	evenBytesAvx2(&y[0], &x[0], n)
	return n
}

//go:noescape
func qdw3Pairs1Avx2(dst *byte, rows *[4]*float32, w *[9]float32, c *[8][8]int32, n, pairs, rowStride, dstStride int, bias, scale float32)

// qdw3Pairs1 is qdw3Rows for stride 1 and 2·pairs output rows, two at a
// time (see qdw3Pairs1Avx2): in holds the padded input rows, rowStride
// floats apart.
func qdw3Pairs1(dst []byte, in []float32, w *[9]float32, c *[8][8]int32, n, pairs, rowStride, dstStride int, bias, scale float32) {
	if pairs <= 0 {
		return
	}
	_ = dst[(2*pairs-1)*dstStride+n-1]
	_ = in[(2*pairs+1)*rowStride+n+1]
	rows := [4]*float32{&in[0], &in[rowStride], &in[2*rowStride], &in[3*rowStride]}
	qdw3Pairs1Avx2(&dst[0], &rows, w, c, n, pairs, 4*rowStride, dstStride, bias, scale)
}

//go:noescape
func q8ToF32RowsAvx2(dst *float32, dstStride int, src *byte, n, rows int, zero float32, signed bool)

// q8ToF32Rows converts rows of n bytes of src (contiguous) into rows of
// dst dstStride floats apart, minus zero: q8ToF32 for a whole plane into
// a padded buffer in one call.
func q8ToF32Rows(dst []float32, dstStride int, src []byte, n, rows int, zero float32, signed bool) {
	if rows <= 0 || n <= 0 {
		return
	}
	_, _ = dst[(rows-1)*dstStride+n-1], src[rows*n-1]
	q8ToF32RowsAvx2(&dst[0], 4*dstStride, &src[0], n, rows, zero, signed)
}

//go:noescape
func splitF32RowsAvx2(even, odd *float32, stride int, src *byte, n, rows int, xor uint64, zero float32)

// splitF32Rows converts rows rows of n bytes of src (contiguous), minus
// zero, into their even and odd columns: row r's go to buf[r·stride +
// evenOff + k] and buf[r·stride + oddOff + k]. It is the per-row split
// of a stride-2 plane into a padded buffer in one call.
func splitF32Rows(buf []float32, stride, evenOff, oddOff int, src []byte, n, rows int, zero float32, signed bool) {
	if rows <= 0 || n <= 0 {
		return
	}
	last := (rows - 1) * stride
	_, _ = buf[last+evenOff+(n+1)/2-1], src[rows*n-1]
	if n >= 2 {
		_ = buf[last+oddOff+n/2-1]
	}
	if evenOff+(n+1)/2 > stride || oddOff+n/2 > stride || evenOff < 0 || oddOff < 0 {
		panic("kernels: splitF32Rows: phases overrun a row")
	}
	var xor uint64
	if signed {
		xor, zero = 0x8080808080808080, zero+128
	}
	splitF32RowsAvx2(&buf[evenOff], &buf[oddOff], 4*stride, &src[0], n, rows, xor, zero)
}
