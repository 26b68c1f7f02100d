package kernels

// Channel-interleaved depthwise convolution of small planes. On small
// planes the per-plane kernels pay a call, a padded copy and short rows
// for every channel (MobileNetV2's 960 channels of 7×7 ran at a quarter
// of the outputs per second of its 112×112 planes). Here eight channels
// at a time are transposed into one zero-padded plane of pixels holding
// a vector of eight channels each, convolved a row at a time by
// dwc8Avx2 (kernels/internal/asmgen/dwc8.go) with a vector of weights
// per tap, and transposed back into their planes: the call, the copies
// and the loop overhead are shared by eight channels, and every tap of a
// pixel is one load. The sums are the portable row updates' bit for bit.

// dwc8MaxWidth and dwc8MaxPlane bound the output planes that run
// interleaved: wider rows or larger planes keep the per-plane kernels,
// which run them as fast or faster (BenchmarkConv2D and one-off
// measurements: 960 channels of 7×7 0.12–0.18 → 0.07–0.09 ms, 192 of
// 28×28 0.16–0.18 → 0.13–0.17 ms, the detector's 5×5 on 192 channels of
// 20×20 0.18 → 0.14 ms; 96 of 40×40 0.12–0.14 → 0.17–0.18 ms and 200
// of 4×48 0.027–0.032 → 0.033–0.038 ms, so those keep the per-plane
// kernels).
const (
	dwc8MaxWidth = 28
	dwc8MaxPlane = 28 * 28
)

// dwc8Applies reports whether depthwiseC8 runs the channels of p (the
// first C &^ 7 of each image; the rest run per plane).
func dwc8Applies(p *Conv2DParams) bool {
	return dwc8Asm() && p.M == p.C && p.C >= 8 && p.OW <= dwc8MaxWidth && p.OH*p.OW <= dwc8MaxPlane && p.KH*p.KW <= dwc8MaxTaps
}

// dwc8MaxTaps bounds the window (8×8 and under), whose tap offsets are
// an array in the loop's arguments.
const dwc8MaxTaps = 64

// dwc8Args are the arguments of depthwiseC8's loop over groups of eight
// channels (see forArgs).
type dwc8Args struct {
	p             *Conv2DParams
	g             *dwkGeom
	x, w, bias, y []float32
	lo, hi        float32
	wp            int // padded plane width (pixels)
	// offs[t] is the byte offset of tap t (kh-major) from an output's
	// first tap in the padded plane.
	offs [dwc8MaxTaps]int64
}

var dwc8Loops argsPool[dwc8Args]

// depthwiseC8 runs channels [0, C &^ 7) of every image of the depthwise
// convolution p (see dwc8Applies), in groups of eight split across
// threads; g (set from p) gives the padded plane's geometry.
func depthwiseC8(p *Conv2DParams, g *dwkGeom, x, w, bias, y []float32, lo, hi float32) {
	groups := p.N * (p.C / 8)
	args := dwc8Args{p: p, g: g, x: x, w: w, bias: bias, y: y, lo: lo, hi: hi}
	// The padded plane is g.hp rows of wp pixels (g.wr is the stride-1
	// padded width only: the k×k geometry splits stride-2 rows into
	// even and odd columns, which interleaved pixels do not need).
	args.wp = max(p.PadL+p.W, (p.OW-1)*p.StrideW+(p.KW-1)*p.DilW+1)
	for kh := 0; kh < p.KH; kh++ {
		for kw := 0; kw < p.KW; kw++ {
			args.offs[kh*p.KW+kw] = 32 * int64(kh*p.DilH*args.wp+kw*p.DilW)
		}
	}
	forArgs(&dwc8Loops, groups, min(Threads(), groups), args, func(a *dwc8Args, _, item int) {
		p, g := a.p, a.g
		n, c0 := item/(p.C/8), item%(p.C/8)*8
		khw := p.KH * p.KW
		hw, ohw := p.H*p.W, p.OH*p.OW
		wp := a.wp
		planeF := g.hp * wp * 8
		sp := getImplicitScratch(planeF + max(ohw, hw)*8 + khw*8 + 8)
		defer implicitScratch.Put(sp)
		s := *sp
		pad, out := s[:planeF], s[planeF:planeF+max(ohw, hw)*8]
		w8, b8 := s[planeF+max(ohw, hw)*8:][:khw*8], s[planeF+max(ohw, hw)*8+khw*8:][:8]
		// The eight planes, interleaved (in out, free until the kernel
		// runs), then row by row into the zeroed padded plane.
		transposeIn(out, a.x[(n*p.C+c0)*hw:], hw, 8, 8)
		clear(pad)
		for ih := 0; ih < p.H; ih++ {
			copy(pad[((ih+p.PadT)*wp+p.PadL)*8:], out[ih*p.W*8:(ih+1)*p.W*8])
		}
		// The eight channels' weights, interleaved: w8[8t + c].
		wg := a.w[c0*khw:]
		for t := transpose8(w8, wg, khw, 8, khw); t < khw; t++ {
			for c := 0; c < 8; c++ {
				w8[t*8+c] = wg[c*khw+t]
			}
		}
		if a.bias != nil {
			copy(b8, a.bias[c0:c0+8])
		} else {
			clear(b8)
		}
		offs := &a.offs
		for oh := 0; oh < p.OH; oh++ {
			row := pad[oh*p.StrideH*wp*8:]
			// The row's last output reads up to here.
			_ = row[((p.OW-1)*p.StrideW+int(offs[khw-1]/32))*8+7]
			dwc8Avx2(&out[oh*p.OW*8], &row[0], p.OW, 32*p.StrideW, &offs[0], khw, &w8[0], &b8[0], a.lo, a.hi)
		}
		transposeOut(a.y[(n*p.C+c0)*ohw:], out, ohw, 8, 8)
	})
}
