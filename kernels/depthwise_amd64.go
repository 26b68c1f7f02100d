//go:build amd64 && !purego

package kernels

import "math"

// dw3x3 is the geometry of a 3×3 depthwise convolution in the form the
// assembly plane kernels take (see kernels/internal/asmgen/dw.go): the
// block layout of an output row and the row table, which gives for each
// output row, or pair of rows, the byte offsets of the output row and
// of its input rows (-1 for a row in the padding).
type dw3x3 struct {
	p    *Conv2DParams
	pv   Conv2DParams // p's storage in pooled geometries (see getDW)
	geom [22]int64
	rows []int64
	pair bool // two output rows per table entry (equal strides, no vertical dilation)
	zero bool // some row reads the padding
	ok   bool // the kernels apply (the rest is unset otherwise)
}

// dwRowsLen is the length of the row table for an output height oh.
func dwRowsLen(oh int) int { return 4 * oh }

// newDW3x3 describes p for the assembly kernels, using rows
// (dwRowsLen(OH) long) for the row table, or reports false if they
// cannot run it: no AVX-512, another kernel size, horizontal dilation or
// stride above 2, or a left or right padding reaching past the first or
// last block of 16 outputs.
func newDW3x3(p *Conv2DParams, rows []int64) (d dw3x3, ok bool) {
	if !hasAVX512 || p.KH != 3 || p.KW != 3 || p.DilW != 1 || p.StrideW > 2 || len(rows) < dwRowsLen(p.OH) {
		return d, false
	}
	n, s, W := p.OW, p.StrideW, p.W
	// Outputs [jl, jr) read inputs inside the row with all three taps.
	jl := min(n, (p.PadL+s-1)/s)
	jr := min(n, max(jl, (W+p.PadL-2+s-1)/s))
	// Block 0 covers the first 16 outputs if any reads the left
	// padding, block 2 the last ones from jr, the unmasked blocks and
	// block 1 what lies between.
	a, b := 0, n
	if jl > 0 {
		a = min(n, 16)
	}
	if jr < n {
		b = max(a, n-16)
	}
	if a < jl || b > jr && b < n || n-b > 16 {
		return d, false
	}
	d = dw3x3{p: p, ok: true}
	d.geom[0] = -4 * int64(p.PadL)
	// Stride 2 reads one input past the last of an unmasked block, so
	// there a masked block always ends the run.
	full, mid := (b-a)/16, (b-a)%16
	if s == 2 && full > 0 && mid == 0 {
		full, mid = full-1, 16
	}
	d.geom[1] = int64(full)
	d.setBlock(0, 0, a)
	d.setBlock(1, b-mid, mid)
	d.setBlock(2, b, n-b)
	d.geom[20] = 4 * int64(n)
	d.geom[21] = 4 * int64(n*p.OH)
	// inRow returns the byte offset of input row ih, -1 in the padding.
	inRow := func(ih int) int64 {
		if ih < 0 || ih >= p.H {
			d.zero = true
			return -1
		}
		return 4 * int64(ih*W)
	}
	d.pair = p.StrideH == s && p.DilH == 1 && p.OH >= 2
	if !d.pair {
		d.rows = rows[:4*p.OH]
		for oh := 0; oh < p.OH; oh++ {
			e := d.rows[4*oh : 4*oh+4]
			e[0] = int64(oh) * d.geom[20]
			for r := 0; r < 3; r++ {
				e[1+r] = inRow(oh*p.StrideH - p.PadT + r*p.DilH)
			}
		}
		return d, true
	}
	// Pairs of rows 0-1, 2-3, ...; with an odd height the last pair
	// overlaps the one before (its first row is written twice, with the
	// same values). A pair reads input rows oh·s - PadT … oh·s - PadT +
	// s + 2.
	np, ne := (p.OH+1)/2, 4+s
	d.rows = rows[:ne*np]
	for i := 0; i < np; i++ {
		oh := min(2*i, p.OH-2)
		e := d.rows[ne*i : ne*i+ne]
		e[0] = int64(oh) * d.geom[20]
		for r := 0; r < 3+s; r++ {
			e[1+r] = inRow(oh*s - p.PadT + r)
		}
	}
	return d, true
}

// setBlock fills masked block i of the geometry: count outputs from
// output j0.
func (d *dw3x3) setBlock(i, j0, count int) {
	g := d.geom[2+6*i : 8+6*i]
	if count == 0 {
		return
	}
	p := d.p
	s := p.StrideW
	// lanes returns the mask of the lanes l < 16 for which input
	// first + step·l lies in the row and l < max.
	lanes := func(first, step, max int) int64 {
		var m int64
		for l := 0; l < min(16, max); l++ {
			if i := first + step*l; i >= 0 && i < p.W {
				m |= 1 << l
			}
		}
		return m
	}
	g[0] = int64(count)
	g[1] = lanes(0, 0, count) // every lane < count: input 0 is in the row
	base := s*j0 - p.PadL     // input of the block's first tap
	if s == 1 {
		// Inputs 0..count (taps 0 and 1) and 2..count+1 (tap 2).
		g[2] = lanes(base, 1, count+1)
		g[3] = lanes(base+2, 1, count)
		return
	}
	// Raw inputs base+i for i ≤ 2·count are needed (taps 0..2 of the
	// count outputs).
	need := 2*count + 1
	for k, off := range []int{0, 16, 2, 18} {
		g[2+k] = lanes(base+off, 1, need-off)
	}
}

// run convolves nch channels: channel c reads the H×W plane at
// in[c·inStride:], weights w[9c:9c+9] and bias[c·biasStep] (biasStep 0
// or 1; bias may be nil), and writes its OH×OW plane to
// out[c·OH·OW:]. zero must hold at least W zeros when d.zero is set.
func (d *dw3x3) run(out, in []float32, inStride, nch int, w, bias []float32, biasStep int, zero []float32, lo, hi float32) {
	p := d.p
	if nch < 1 {
		return
	}
	hw := p.H * p.W
	_, _, _ = in[(nch-1)*inStride+hw-1], out[nch*p.OH*p.OW-1], w[9*nch-1]
	zb := &zeroBias[0]
	if bias != nil {
		_ = bias[(nch-1)*biasStep]
		zb = &bias[0]
	} else {
		biasStep = 0
	}
	var zp *float32
	if d.zero {
		_ = zero[p.W-1]
		zp = &zero[0]
	}
	// Direct calls: through a func value, the arguments would escape.
	switch {
	case d.pair && p.StrideW == 1:
		dw3x3s1x2Avx512(&out[0], &in[0], 4*inStride, nch, &d.rows[0], len(d.rows)/5, zp, &d.geom[0], &w[0], zb, 4*biasStep, lo, hi)
	case d.pair:
		dw3x3s2x2Avx512(&out[0], &in[0], 4*inStride, nch, &d.rows[0], len(d.rows)/6, zp, &d.geom[0], &w[0], zb, 4*biasStep, lo, hi)
	case p.StrideW == 1:
		dw3x3s1Avx512(&out[0], &in[0], 4*inStride, nch, &d.rows[0], p.OH, zp, &d.geom[0], &w[0], zb, 4*biasStep, lo, hi)
	default:
		dw3x3s2Avx512(&out[0], &in[0], 4*inStride, nch, &d.rows[0], p.OH, zp, &d.geom[0], &w[0], zb, 4*biasStep, lo, hi)
	}
}

// runMax max-pools nch planes with the 3×3 window of d: plane c is read
// from in[c·inStride:] and written to out[c·OH·OW:]. ninf must hold at
// least W values of -Inf when d.zero is set.
func (d *dw3x3) runMax(out, in []float32, inStride, nch int, ninf []float32) {
	p := d.p
	if nch < 1 {
		return
	}
	_, _ = in[(nch-1)*inStride+p.H*p.W-1], out[nch*p.OH*p.OW-1]
	var np *float32
	if d.zero {
		_ = ninf[p.W-1]
		np = &ninf[0]
	}
	inf := float32(math.Inf(1))
	switch {
	case d.pair && p.StrideW == 1:
		max3x3s1x2Avx512(&out[0], &in[0], 4*inStride, nch, &d.rows[0], len(d.rows)/5, np, &d.geom[0], nil, nil, 0, -inf, inf)
	case d.pair:
		max3x3s2x2Avx512(&out[0], &in[0], 4*inStride, nch, &d.rows[0], len(d.rows)/6, np, &d.geom[0], nil, nil, 0, -inf, inf)
	case p.StrideW == 1:
		max3x3s1Avx512(&out[0], &in[0], 4*inStride, nch, &d.rows[0], p.OH, np, &d.geom[0], nil, nil, 0, -inf, inf)
	default:
		max3x3s2Avx512(&out[0], &in[0], 4*inStride, nch, &d.rows[0], p.OH, np, &d.geom[0], nil, nil, 0, -inf, inf)
	}
}
