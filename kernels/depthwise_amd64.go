//go:build amd64 && !purego

package kernels

// hasDW3x3 reports whether the assembly 3×3 plane kernels cover p.
func hasDW3x3(p *Conv2DParams) bool {
	return hasAVX512 && p.KH == 3 && p.KW == 3 && p.DilW == 1 &&
		(p.StrideW == 1 || p.StrideW == 2)
}

// dw3x3Plane computes the OH×OW output plane out of a 3×3 depthwise
// convolution from the zero-padded input plane in (row stride wp).
func dw3x3Plane(p *Conv2DParams, out, in []float32, wp int, w []float32, bias, lo, hi float32) {
	n, s := p.OW, p.StrideW
	// Bounds: the last output row reads up to padded row
	// (OH-1)·sh + 2·dh, column s·(OW-1)+2.
	_ = in[((p.OH-1)*p.StrideH+2*p.DilH)*wp+s*(n-1)+2]
	_, _ = out[p.OH*n-1], w[8]
	r := n - (n-1)/16*16 // outputs in each row's final, masked block: 1..16
	lanes := func(k int) uint64 { return uint64(1)<<min(max(k, 0), 16) - 1 }
	rowStep, tapStep := p.StrideH*wp*4, p.DilH*wp*4
	if s == 1 {
		dw3x3s1Avx512(&out[0], &in[0], n, p.OH, rowStep, tapStep, &w[0], bias, lo, hi, lanes(r))
		return
	}
	// The last block reads inputs 0..2r-1 as an even/odd pair of vectors
	// and 2..2r as a pair shifted by two.
	masks := lanes(r) | lanes(2*r)<<16 | lanes(2*r-16)<<32 | lanes(2*r-1)<<48
	dw3x3s2Avx512(&out[0], &in[0], n, p.OH, rowStep, tapStep, &w[0], bias, lo, hi, masks)
}
