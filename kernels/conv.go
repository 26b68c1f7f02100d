package kernels

import (
	"fmt"
	"sync"
)

// Conv2DParams describes a 2-D NCHW convolution. Pads are
// (top, left, bottom, right). Weights are (M, C/Group, KH, KW).
type Conv2DParams struct {
	N, C, H, W int // input
	M          int // output channels
	KH, KW     int
	StrideH    int
	StrideW    int
	DilH, DilW int
	PadT, PadL int
	PadB, PadR int
	Group      int
	OH, OW     int // output size (callers compute it from the above)
}

// OutSize returns the output height and width implied by the other
// fields; a size below 1 means the padded input is smaller than the
// dilated kernel.
func (p *Conv2DParams) OutSize() (oh, ow int) {
	return convOut(p.H, p.PadT+p.PadB, p.KH, p.DilH, p.StrideH),
		convOut(p.W, p.PadL+p.PadR, p.KW, p.DilW, p.StrideW)
}

// convOut is the output length of a convolution or pooling window along
// one axis (0 when the window does not fit at all).
func convOut(in, pads, k, dil, stride int) int {
	span := in + pads - dil*(k-1) - 1
	if span < 0 || stride < 1 {
		return 0
	}
	return span/stride + 1
}

// Check reports whether p describes a valid convolution: positive sizes,
// strides and dilations, non-negative pads, channel counts divisible by
// Group, and OH, OW equal to OutSize. Kernels panic on parameters that
// fail Check, so callers facing untrusted input check first.
func (p *Conv2DParams) Check() error {
	switch {
	case p.N < 0 || p.C < 1 || p.H < 1 || p.W < 1 || p.M < 1 || p.KH < 1 || p.KW < 1:
		return fmt.Errorf("kernels: conv: bad sizes N=%d C=%d H=%d W=%d M=%d KH=%d KW=%d", p.N, p.C, p.H, p.W, p.M, p.KH, p.KW)
	case p.StrideH < 1 || p.StrideW < 1 || p.DilH < 1 || p.DilW < 1:
		return fmt.Errorf("kernels: conv: strides (%d,%d) and dilations (%d,%d) must be ≥ 1", p.StrideH, p.StrideW, p.DilH, p.DilW)
	case p.PadT < 0 || p.PadL < 0 || p.PadB < 0 || p.PadR < 0:
		return fmt.Errorf("kernels: conv: negative pad (%d,%d,%d,%d)", p.PadT, p.PadL, p.PadB, p.PadR)
	case p.Group < 1 || p.C%p.Group != 0 || p.M%p.Group != 0:
		return fmt.Errorf("kernels: conv: group %d does not divide C=%d and M=%d", p.Group, p.C, p.M)
	}
	oh, ow := p.OutSize()
	if oh < 1 || ow < 1 || p.OH != oh || p.OW != ow {
		return fmt.Errorf("kernels: conv: output %dx%d, want %dx%d (≥ 1)", p.OH, p.OW, oh, ow)
	}
	return nil
}

// mustCheck panics if p is invalid or a slice is too short for it.
func (p *Conv2DParams) mustCheck(fn string, x, w, bias, y []float32) {
	if err := p.Check(); err != nil {
		panic(fn + ": " + err.Error())
	}
	need := func(name string, s []float32, n int) {
		if len(s) < n {
			panic(fmt.Sprintf("kernels: %s: len(%s)=%d, want ≥ %d", fn, name, len(s), n))
		}
	}
	need("x", x, p.N*p.C*p.H*p.W)
	if w != nil {
		need("w", w, p.M*p.C/p.Group*p.KH*p.KW)
	}
	if bias != nil {
		need("bias", bias, p.M)
	}
	need("y", y, p.N*p.M*p.OH*p.OW)
}

// Fused is an element-wise activation applied to a kernel's output after
// the bias, while the output is still in cache.
type Fused struct {
	Act    Activation
	Lo, Hi float32 // bounds for ActClip
}

// Conv2D computes y = conv(x, w) + bias for float32 NCHW tensors; bias may
// be nil. y must have N*M*OH*OW elements. It panics if p fails Check or a
// slice is too short.
func Conv2D(p *Conv2DParams, x, w, bias, y []float32) {
	Conv2DFused(p, x, w, bias, y, Fused{})
}

// Conv2DFused is Conv2D followed by the activation f.
//
// Depthwise convolutions (one input channel per group) run direct plane
// kernels; the rest are GEMMs of the weights (M/Group × C/Group·KH·KW)
// with the im2col matrix of the input. 1×1 stride-1 unpadded
// convolutions use the input in place; with AVX-512 the others are
// implicit GEMMs whose micro-kernel reads the im2col rows straight from
// zero-padded phase planes of the input (see implicit.go), elsewhere
// im2col is expanded block by block into the GEMM's panels. Several
// images with small output planes run as one GEMM per batch of images
// (conv2DBatched). No full im2col matrix is built for one image, and
// scratch comes from per-goroutine pools: no allocation in steady state.
func Conv2DFused(p *Conv2DParams, x, w, bias, y []float32, f Fused) {
	Conv2DFusedAdd(p, x, w, bias, nil, y, f)
}

// Conv2DFusedAdd is Conv2DFused with res added before the activation:
// y = f(conv(x, w) + bias + res), the residual connection of ResNets and
// inverted residual blocks in one pass over y. res (nil: none) has y's
// shape and is either y itself or does not overlap it.
func Conv2DFusedAdd(p *Conv2DParams, x, w, bias, res, y []float32, f Fused) {
	p.mustCheck("Conv2D", x, w, bias, y)
	p.checkRes("Conv2DFusedAdd", res)
	switch {
	case p.depthwise():
		depthwiseConv(p, nil, x, w, bias, res, y, f)
	case p.batched():
		gp := gatherPool.Get().(*gatherProg)
		gp.build(p.window(), false)
		conv2DBatched(p, gp, nil, x, w, bias, res, y, f)
		gatherPool.Put(gp)
	case p.implicitConv():
		conv2DImplicit(p, nil, nil, x, w, bias, res, y, f)
	default:
		conv2DGemm(p, nil, x, w, bias, res, y, f)
	}
}

// checkRes panics unless res is nil or long enough to be added to the
// output.
func (p *Conv2DParams) checkRes(fn string, res []float32) {
	if res != nil && len(res) < p.N*p.M*p.OH*p.OW {
		panic(fmt.Sprintf("kernels: %s: len(res)=%d, want ≥ %d", fn, len(res), p.N*p.M*p.OH*p.OW))
	}
}

// PackedConv2D is a convolution with its weights prepacked for the GEMM
// micro-kernel; build it once per constant weight tensor with PackConv2D.
// It is read-only and safe for concurrent use.
type PackedConv2D struct {
	P  Conv2DParams
	w  []float32  // depthwise weights (copied)
	dw *dw3x3     // depthwise: the 3×3 kernels' geometry, if they apply
	pa []*PackedA // GEMM weights, one per group
	// gp is the im2col gather program of a batched convolution (see
	// conv2DBatched); gp.nv is 0 if there is none.
	gp gatherProg
	// ph is the phase layout of an implicit-GEMM convolution.
	ph *phaseGeom
	// sw is the swapped form of a convolution with small output planes
	// (pa is then unused).
	sw *swapConv
}

// PackConv2D packs the weights w (M, C/Group, KH, KW) of the convolution
// p, and prepares what depends on p's shape alone (depthwise and
// implicit-GEMM geometry, gather programs). Convolutions with small
// output planes and at least 64 output channels per group may be packed
// for a GEMM with the positions as rows (see swapped.go). It panics if p
// fails Check or w is too short.
func PackConv2D(p *Conv2DParams, w []float32) *PackedConv2D {
	if err := p.Check(); err != nil {
		panic("PackConv2D: " + err.Error())
	}
	K := p.C / p.Group * p.KH * p.KW
	if len(w) < p.M*K {
		panic(fmt.Sprintf("kernels: PackConv2D: len(w)=%d, want ≥ %d", len(w), p.M*K))
	}
	pc := &PackedConv2D{P: *p}
	if p.depthwise() {
		pc.w = append([]float32(nil), w[:p.M*K]...)
		if d, ok := newDW3x3(&pc.P, make([]int64, dwRowsLen(p.OH))); ok {
			pc.dw = &d
		}
		return pc
	}
	if pc.sw = newSwapConv(p, w); pc.sw != nil {
		return pc
	}
	mg := p.M / p.Group
	for g := 0; g < p.Group; g++ {
		pc.pa = append(pc.pa, PackA(false, mg, K, w[g*mg*K:(g+1)*mg*K], K))
	}
	switch {
	case p.batched():
		// Without gather programs, a gather table where the input plane
		// also fits conv2DBatched's plane buffer (padding reads the zero
		// after the plane).
		if !pc.gp.build(p.window(), false) && p.H*p.W <= gatherTabMax {
			pc.gp.tab = gatherTable(p.window(), int32(p.H*p.W))
		}
	case p.implicitConv():
		pc.ph = newPhaseGeom(p)
	}
	return pc
}

// Run computes y = f(conv(x, w) + bias) with the packed weights; bias may
// be nil.
func (c *PackedConv2D) Run(x, bias, y []float32, f Fused) {
	c.RunAdd(x, bias, nil, y, f)
}

// RunAdd computes y = f(conv(x, w) + bias + res) with the packed
// weights (see Conv2DFusedAdd); bias and res may be nil.
func (c *PackedConv2D) RunAdd(x, bias, res, y []float32, f Fused) {
	p := &c.P
	p.mustCheck("PackedConv2D.Run", x, nil, bias, y)
	p.checkRes("PackedConv2D.RunAdd", res)
	if c.w != nil {
		depthwiseConv(p, c.dw, x, c.w, bias, res, y, f)
		return
	}
	if c.sw != nil {
		for _, pb := range c.sw.pb {
			pb.check("PackedConv2D.Run")
		}
		conv2DSwapped(p, c.sw, x, bias, res, y, f)
		return
	}
	for _, pa := range c.pa {
		pa.check("PackedConv2D.Run")
	}
	switch {
	case p.batched():
		conv2DBatched(p, &c.gp, c.pa, x, nil, bias, res, y, f)
	case p.implicitConv():
		conv2DImplicit(p, c.ph, c.pa, x, nil, bias, res, y, f)
	default:
		conv2DGemm(p, c.pa, x, nil, bias, res, y, f)
	}
}

// depthwise reports whether every group has exactly one input channel.
func (p *Conv2DParams) depthwise() bool { return p.Group == p.C && p.Group > 1 }

// pointwise reports whether the convolution is a plain GEMM on the input
// as stored: 1×1 kernel, stride 1, no padding.
func (p *Conv2DParams) pointwise() bool {
	return p.KH == 1 && p.KW == 1 && p.StrideH == 1 && p.StrideW == 1 &&
		p.PadT == 0 && p.PadL == 0 && p.PadB == 0 && p.PadR == 0
}

// convBatchPlane is the output plane size below which a convolution of
// several images runs as one GEMM over a batch of them (conv2DBatched);
// per image, such GEMMs are too narrow to run well.
const convBatchPlane = 512

// convBatchCols is the number of GEMM columns (images times output
// positions) conv2DBatched aims for, and convBatchFloats bounds its
// im2col block.
const (
	convBatchCols   = 2048
	convBatchFloats = 1 << 20
)

// batched reports whether conv2DBatched runs p.
func (p *Conv2DParams) batched() bool {
	return p.N > 1 && p.OH*p.OW < convBatchPlane && !p.depthwise()
}

// window returns the geometry of p's window on one plane.
func (p *Conv2DParams) window() *windowGeom {
	return &windowGeom{H: p.H, W: p.W, OH: p.OH, OW: p.OW, KH: p.KH, KW: p.KW,
		StrideH: p.StrideH, StrideW: p.StrideW, DilH: p.DilH, DilW: p.DilW, PadT: p.PadT, PadL: p.PadL}
}

var gatherPool = sync.Pool{New: func() any { return new(gatherProg) }}

// convArgs are the arguments of a convolution's loop over images and
// groups (see forArgs).
type convArgs struct {
	p                  *Conv2DParams
	gp                 *gatherProg
	pa                 []*PackedA
	x, w, bias, res, y []float32
	f                  Fused
	nb, inner          int
}

var convLoops argsPool[convArgs]

// convScratch holds the im2col block and GEMM result of conv2DBatched.
var convScratch sync.Pool

// conv2DBatched runs a convolution with small output planes as one GEMM
// per group and batch of nb images: the im2col matrix of the batch, K ×
// nb·OH·OW with the images side by side, is built whole (by the gather
// program gp when it has entries, else row by row), multiplied by the
// weights into a scratch matrix with bias and activation applied, and
// the result copied into the images' planes (res, when set, is copied
// into the scratch matrix first, which the GEMM then accumulates onto).
func conv2DBatched(p *Conv2DParams, gp *gatherProg, pa []*PackedA, x, w, bias, res, y []float32, f Fused) {
	K := p.C / p.Group * p.KH * p.KW
	ohw := p.OH * p.OW
	nb := max(1, min(p.N, convBatchCols/ohw, convBatchFloats/(K*ohw)))
	batches := (p.N + nb - 1) / nb
	jobs := batches * p.Group
	outer, inner := Threads(), 1
	if jobs < outer {
		outer, inner = 1, outer
	}
	forArgs(&convLoops, jobs, outer, convArgs{p: p, gp: gp, pa: pa, x: x, w: w, bias: bias, res: res, y: y, f: f, nb: nb, inner: inner}, func(arg *convArgs, _, job int) {
		p, gp, pa, x, w, bias, res, y, f, nb, inner := arg.p, arg.gp, arg.pa, arg.x, arg.w, arg.bias, arg.res, arg.y, arg.f, arg.nb, arg.inner
		cg, mg := p.C/p.Group, p.M/p.Group
		khw := p.KH * p.KW
		K := cg * khw
		hw, ohw := p.H*p.W, p.OH*p.OW
		b, g := job/p.Group, job%p.Group
		n0 := b * nb
		ni := min(nb, p.N-n0)
		cols := ni * ohw
		ldb := roundUp(cols, 16)
		if ldb%256 == 0 {
			ldb += 16 // rows 4 KiB apart would share cache sets
		}
		sp := getScratch(K*ldb + mg*cols)
		defer convScratch.Put(sp)
		bm, cm := (*sp)[:K*ldb], (*sp)[K*ldb:K*ldb+mg*cols]
		xg := x[(n0*p.C+g*cg)*hw:]
		switch {
		case gp.nv > 0:
			for k := 0; k < K; k++ {
				gp.gatherRows(bm[k*ldb:k*ldb+cols], xg[k/khw*hw:], k%khw, ni, p.C*hw, ohw, hw, ohw)
			}
		case gp.tab != nil:
			// Each plane is copied once beside a zero, which the
			// table's padding entries read.
			var plane [gatherTabMax + 1]float32
			for ci := 0; ci < cg; ci++ {
				for i := 0; i < ni; i++ {
					xp := plane[:hw+1]
					copy(xp, xg[i*p.C*hw+ci*hw:][:hw])
					xp[hw] = 0
					for tap := 0; tap < khw; tap++ {
						k := ci*khw + tap
						gatherPadded(bm[k*ldb+i*ohw:][:ohw], xp, gp.tab[tap*ohw:(tap+1)*ohw])
					}
				}
			}
		default:
			for k := 0; k < K; k++ {
				for i := 0; i < ni; i++ {
					im2colRow(p, xg[i*p.C*hw:], bm[k*ldb+i*ohw:][:ohw], k, 0, 0, copy2)
				}
			}
		}
		a := sgemmA{a: w, lda: K, row0: g * mg}
		if pa != nil {
			a = sgemmA{pk: pa[g]}
		}
		bb := sgemmB{b: bm, ldb: ldb, direct: true} // just written: read in place
		var gbias []float32
		if bias != nil {
			gbias = bias[g*mg : (g+1)*mg]
		}
		beta := float32(0)
		if res != nil {
			// The result starts as the residual.
			beta = 1
			for m := 0; m < mg; m++ {
				copyRows(cm[m*cols:], res[(n0*p.M+g*mg+m)*ohw:], ni, ohw, ohw, p.M*ohw)
			}
		}
		sgemmDrive(mg, cols, K, 1, &a, &bb, beta, cm, cols, newEpilogue(gbias, f), inner)
		for m := 0; m < mg; m++ {
			copyRows(y[(n0*p.M+g*mg+m)*ohw:], cm[m*cols:], ni, ohw, p.M*ohw, ohw)
		}
	})
}

// getScratch returns a pooled slice of at least n floats, aligned to 64
// bytes; its contents are arbitrary.
func getScratch(n int) *[]float32 {
	if v, ok := convScratch.Get().(*[]float32); ok && len(*v) >= n {
		return v
	}
	s := alignedFloats(n)
	return &s
}

// conv2DGemm runs the convolution as one GEMM per image and group:
// y[n,g] (M/G × OH·OW) = W[g] (M/G × K) · im2col(x[n,g]) (K × OH·OW).
func conv2DGemm(p *Conv2DParams, pa []*PackedA, x, w, bias, res, y []float32, f Fused) {
	cg, mg := p.C/p.Group, p.M/p.Group
	K := cg * p.KH * p.KW
	N := p.OH * p.OW
	jobs := p.N * p.Group
	// Small GEMMs (grouped convolutions) parallelize over groups and
	// images instead of inside each GEMM.
	outer := 1
	if mg*N*K < 4*sgemmMinParallel {
		outer = Threads()
	}
	inner := Threads()
	if outer > 1 {
		inner = 1
	}
	forArgs(&convLoops, jobs, outer, convArgs{p: p, pa: pa, x: x, w: w, bias: bias, res: res, y: y, f: f, inner: inner}, func(arg *convArgs, _, job int) {
		p, pa, x, w, bias, res, y, f, inner := arg.p, arg.pa, arg.x, arg.w, arg.bias, arg.res, arg.y, arg.f, arg.inner
		cg, mg := p.C/p.Group, p.M/p.Group
		K := cg * p.KH * p.KW
		N := p.OH * p.OW
		hw := p.H * p.W
		n, g := job/p.Group, job%p.Group
		xg := x[(n*p.C+g*cg)*hw : (n*p.C+(g+1)*cg)*hw]
		yg := y[(n*p.M+g*mg)*N : (n*p.M+(g+1)*mg)*N]
		a := sgemmA{a: w, lda: K, row0: g * mg}
		if pa != nil {
			a = sgemmA{pk: pa[g]}
		}
		b := sgemmB{b: xg, ldb: N}
		if p.pointwise() {
			// The input is read in place: packing it costs more than
			// the strided reads (measured on MobileNetV2's 1×1 layers,
			// whose inputs fit in L2), except with the AVX2 kernel for
			// more than 24 output channels, where packed blocks swept
			// one row panel at a time (each sweep one call, see
			// sgemmKernel.strips) won on every layer measured: 12→96
			// channels at 160×160 1.15 against 2.4 ms in place, 16→32
			// at 320×320 3.2 against 4.5, 96→96 at 80×80 1.87 against
			// 2.06 (in place the stores scatter over all M rows of C).
			b.direct = mg <= 4*sk.mr || sk.masked
		} else {
			b.im = im2col{p: p, x: xg}
			b.direct = sgemmDirectB(mg, N)
		}
		var gbias []float32
		if bias != nil {
			gbias = bias[g*mg : (g+1)*mg]
		}
		epi := newEpilogue(gbias, f)
		beta := float32(0)
		if res != nil {
			// C starts as the residual.
			beta = 1
			if rg := res[(n*p.M+g*mg)*N : (n*p.M+(g+1)*mg)*N]; &rg[0] != &yg[0] {
				copy(yg, rg)
			}
		}
		sgemmDrive(mg, N, K, 1, &a, &b, beta, yg, N, epi, inner)
	})
}

// im2col is the virtual K×(OH·OW) matrix whose row (c, kh, kw) holds, for
// every output position, the input value under that kernel tap (0 in the
// padding). It is never stored whole: pack writes blocks of it in the
// GEMM's panel layout.
type im2col struct {
	p *Conv2DParams
	x []float32 // the group's input channels
}

// pack writes rows [k0, k0+kc) and columns [j0, j0+nc) in panels of nr
// columns (see packB). Each row is built whole (long runs of input
// copied at once) in scratch and then dealt into the panels: building
// it panel by panel cost more in per-call overhead than the copying.
func (m *im2col) pack(dst []float32, k0, kc, j0, nc, nr int) {
	sp := getPadded(nc)
	defer padPool.Put(sp)
	row := *sp
	for k := 0; k < kc; k++ {
		m.row(row, k0+k, j0)
		jp := 0
		if nr == 16 {
			// Whole panels as fixed-size copies (no memmove calls).
			for ; jp+16 <= nc; jp += 16 {
				*(*[16]float32)(dst[jp*kc+k*16:]) = *(*[16]float32)(row[jp:])
			}
		}
		for ; jp < nc; jp += nr {
			n := min(nr, nc-jp)
			d := dst[jp*kc+k*nr : jp*kc+k*nr+nr]
			copy(d, row[jp:jp+n])
			clear(d[n:])
		}
	}
}

// rows writes rows [k0, k0+kc) and columns [j0, j0+nc) row-major, row
// stride ld, into dst.
func (m *im2col) rows(dst []float32, k0, kc, j0, nc, ld int) {
	for k := 0; k < kc; k++ {
		m.row(dst[k*ld:k*ld+nc], k0+k, j0)
	}
}

// row writes columns [j0, j0+len(dst)) of row k into dst.
func (m *im2col) row(dst []float32, k, j0 int) {
	im2colRow(m.p, m.x, dst, k, j0, 0, copy2)
}

// im2colRow writes columns [j0, j0+len(dst)) of row k of the im2col
// matrix of the channels x into dst, with pad for positions in the
// padding; copy2 copies every second element (y[i] = x[2i]).
func im2colRow[T float32 | byte](p *Conv2DParams, x, dst []T, k, j0 int, pad T, copy2 func(x, y []T)) {
	khw := p.KH * p.KW
	ci, r := k/khw, k%khw
	kh, kw := r/p.KW, r%p.KW
	H, W, OW, sw := p.H, p.W, p.OW, p.StrideW
	xc := x[ci*H*W : (ci+1)*H*W]
	// Column ow reads input column ow·sw + iw0, inside the image for ow
	// in [lo, hi).
	iw0 := kw*p.DilW - p.PadL
	lo := 0
	if iw0 < 0 {
		lo = (-iw0 + sw - 1) / sw
	}
	hi := 0
	if iw0 < W {
		hi = min(OW, (W-1-iw0)/sw+1)
	}
	oh, ow := j0/OW, j0%OW
	for o := 0; o < len(dst); oh, ow = oh+1, 0 {
		seg := min(len(dst)-o, OW-ow)
		out := dst[o : o+seg]
		o += seg
		ih := oh*p.StrideH - p.PadT + kh*p.DilH
		a, b := min(max(lo-ow, 0), seg), min(max(hi-ow, 0), seg)
		if ih < 0 || ih >= H || b <= a {
			fill(out, pad)
			continue
		}
		fill(out[:a], pad)
		fill(out[b:], pad)
		src := xc[ih*W+(ow+a)*sw+iw0:]
		switch sw {
		case 1:
			copy(out[a:b], src)
		case 2:
			copy2(src, out[a:b])
		default:
			copyStride(src, sw, out[a:b])
		}
	}
}

// fill sets every element of s to v.
func fill[T float32 | byte](s []T, v T) {
	if v == 0 {
		clear(s)
		return
	}
	for i := range s {
		s[i] = v
	}
}
