//go:build amd64 && !purego

package kernels

//go:noescape
func q8ToI16RowsAvx2(dst *int16, dstStride int, src *byte, n, rows int, zero int32, signed bool)

//go:noescape
func qdw3S2RowAvx2(dst *byte, in *int16, w *[6]int32, c *[8][8]int32, n, rows, rowStride, dstStride int, bias, scale float32)

//go:noescape
func qdw3S1RowAvx2(dst *byte, in *int16, w *[6]int32, c *[8][8]int32, n, rows, rowStride, dstStride int, bias, scale float32)

// qdw3S1Rows is qdw3S2Rows for stride 1: output row i reads rows i to
// i+2, n is a multiple of 16 (in holding n+3 values per row) and dst
// is written 16 bytes at a time.
func qdw3S1Rows(dst []byte, in []int16, w *[6]int32, c *[8][8]int32, n, rows, rowStride, dstStride int, bias, scale float32) {
	if rows <= 0 {
		return
	}
	_ = dst[(rows-1)*dstStride+n-1]
	_ = in[(rows+1)*rowStride+n+2]
	if rowStride < n+3 || n%16 != 0 {
		panic("kernels: qdw3S1Rows: bad geometry")
	}
	qdw3S1RowAvx2(&dst[0], &in[0], w, c, n, rows, 2*rowStride, dstStride, bias, scale)
}

// qdw3S1On: stride-1 planes with output rows of at least qdw3S1MinOW
// take the int16 route (qdw3S1Rows) instead of the float32 one.
var qdw3S1On = true

// q8ToI16Rows widens rows of n bytes of src (contiguous), minus zero,
// into rows of dst dstStride values apart (a stride-2 plane into the
// int16 padded buffer of qdw3S2Rows, in one call).
func q8ToI16Rows(dst []int16, dstStride int, src []byte, n, rows int, zero int32, signed bool) {
	if rows <= 0 || n <= 0 {
		return
	}
	_, _ = dst[(rows-1)*dstStride+n-1], src[rows*n-1]
	q8ToI16RowsAvx2(&dst[0], 2*dstStride, &src[0], n, rows, zero, signed)
}

// qdw3S2Rows computes rows output rows of a stride-2 3×3 depthwise plane
// from in, its zero-padded int16 rows rowStride values apart (output row
// i reads rows 2i to 2i+2), n columns (a multiple of 8, in holding 2n+2
// values per row), requantised into dst rows dstStride bytes apart (8
// bytes at a time); w holds the tap pairs (qdw3S2Weights) and c the
// constants of qdw3Consts.
func qdw3S2Rows(dst []byte, in []int16, w *[6]int32, c *[8][8]int32, n, rows, rowStride, dstStride int, bias, scale float32) {
	if rows <= 0 {
		return
	}
	_ = dst[(rows-1)*dstStride+n-1]
	_ = in[2*rows*rowStride+2*n+1]
	if rowStride < 2*n+2 {
		panic("kernels: qdw3S2Rows: rows too short")
	}
	qdw3S2RowAvx2(&dst[0], &in[0], w, c, n, rows, 2*rowStride, dstStride, bias, scale)
}

// qdw3S2Weights packs the nine taps of wf as the int16 pairs of
// qdw3S2Rows and qdw3S1Rows (broadcast there): w[kh] = (wf[3kh],
// wf[3kh+1]) and w[3+kh] = (wf[3kh+2], 0).
func qdw3S2Weights(w *[6]int32, wf []float32) {
	_ = wf[8]
	for kh := 0; kh < 3; kh++ {
		w[kh] = int32(uint32(uint16(int16(wf[3*kh]))) | uint32(uint16(int16(wf[3*kh+1])))<<16)
		w[3+kh] = int32(uint16(int16(wf[3*kh+2])))
	}
}

// qdw3S2On: stride-2 planes take the int16 route (qdw3S2Rows) instead of
// the float32 one (benchmarks and tests compare).
var qdw3S2On = true
