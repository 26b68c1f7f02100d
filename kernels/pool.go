package kernels

import (
	"fmt"
	"math"
	"sync"
)

// Pool2DParams describes 2-D NCHW max or average pooling. Pads are (top,
// left, bottom, right). OH and OW may exceed the floor-mode size by one
// (ONNX ceil_mode) as long as every window starts inside the input or its
// leading padding.
type Pool2DParams struct {
	N, C, H, W int
	KH, KW     int
	StrideH    int
	StrideW    int
	DilH, DilW int
	PadT, PadL int
	PadB, PadR int
	OH, OW     int
	// CountIncludePad makes average pooling divide by the number of
	// window positions inside the padded input instead of those inside
	// the input.
	CountIncludePad bool
}

// OutSize returns the output size in floor mode or, when ceil is set,
// in ceil mode (ONNX ceil_mode), where a last partial window is kept if
// it starts inside the input or its leading padding.
func (p *Pool2DParams) OutSize(ceil bool) (oh, ow int) {
	out := func(in, padLo, padHi, k, dil, stride int) int {
		n := convOut(in, padLo+padHi, k, dil, stride)
		if n < 1 || !ceil || (in+padLo+padHi-dil*(k-1)-1)%stride == 0 {
			return n
		}
		if n*stride < in+padLo {
			n++
		}
		return n
	}
	return out(p.H, p.PadT, p.PadB, p.KH, p.DilH, p.StrideH), out(p.W, p.PadL, p.PadR, p.KW, p.DilW, p.StrideW)
}

// Check reports whether p describes valid pooling (see Pool2DParams).
func (p *Pool2DParams) Check() error {
	switch {
	case p.N < 0 || p.C < 1 || p.H < 1 || p.W < 1 || p.KH < 1 || p.KW < 1:
		return fmt.Errorf("kernels: pool: bad sizes N=%d C=%d H=%d W=%d KH=%d KW=%d", p.N, p.C, p.H, p.W, p.KH, p.KW)
	case p.StrideH < 1 || p.StrideW < 1 || p.DilH < 1 || p.DilW < 1:
		return fmt.Errorf("kernels: pool: strides (%d,%d) and dilations (%d,%d) must be ≥ 1", p.StrideH, p.StrideW, p.DilH, p.DilW)
	case p.PadT < 0 || p.PadL < 0 || p.PadB < 0 || p.PadR < 0:
		return fmt.Errorf("kernels: pool: negative pad (%d,%d,%d,%d)", p.PadT, p.PadL, p.PadB, p.PadR)
	}
	fh := convOut(p.H, p.PadT+p.PadB, p.KH, p.DilH, p.StrideH)
	fw := convOut(p.W, p.PadL+p.PadR, p.KW, p.DilW, p.StrideW)
	if fh < 1 || fw < 1 || p.OH < fh || p.OH > fh+1 || p.OW < fw || p.OW > fw+1 {
		return fmt.Errorf("kernels: pool: output %dx%d, want %dx%d or one more (ceil mode)", p.OH, p.OW, fh, fw)
	}
	if (p.OH-1)*p.StrideH-p.PadT >= p.H || (p.OW-1)*p.StrideW-p.PadL >= p.W {
		return fmt.Errorf("kernels: pool: last window of output %dx%d starts past the input", p.OH, p.OW)
	}
	return nil
}

func (p *Pool2DParams) mustCheck(fn string, x, y []float32) {
	if err := p.Check(); err != nil {
		panic(fn + ": " + err.Error())
	}
	if len(x) < p.N*p.C*p.H*p.W || len(y) < p.N*p.C*p.OH*p.OW {
		panic(fmt.Sprintf("kernels: %s: len(x)=%d, len(y)=%d, want ≥ %d, %d", fn, len(x), len(y), p.N*p.C*p.H*p.W, p.N*p.C*p.OH*p.OW))
	}
}

// MaxPool2D sets y to the maximum of each pooling window of x; padding
// never wins (a window entirely in the padding gives -Inf). It panics if p fails Check or a slice is too short.
func MaxPool2D(p *Pool2DParams, x, y []float32) {
	p.mustCheck("MaxPool2D", x, y)
	pool2D(p, x, y, true)
}

// AvgPool2D sets y to the mean of each pooling window of x (see
// CountIncludePad; a window entirely in the padding gives NaN unless
// CountIncludePad). It panics if p fails Check or a slice is too short.
func AvgPool2D(p *Pool2DParams, x, y []float32) {
	p.mustCheck("AvgPool2D", x, y)
	pool2D(p, x, y, false)
}

// poolArgs are a pooling loop's arguments (see forArgs).
type poolArgs struct {
	p              *Pool2DParams
	x, y           []float32
	planes, chunks int
	isMax          bool
	d              *dw3x3
	ps             *poolScratch
}

var poolLoops argsPool[poolArgs]

func pool2D(p *Pool2DParams, x, y []float32, isMax bool) {
	threads := Threads()
	planes := p.N * p.C
	chunks := min(planes, 4*threads)
	if isMax && p.KH == 3 && p.KW == 3 && p.OW >= 16 {
		// The 3×3 depthwise kernels, taking maxima.
		cp := Conv2DParams{N: 1, C: planes, H: p.H, W: p.W, M: planes, KH: 3, KW: 3,
			StrideH: p.StrideH, StrideW: p.StrideW, DilH: p.DilH, DilW: p.DilW,
			PadT: p.PadT, PadL: p.PadL, PadB: p.PadB, PadR: p.PadR, Group: planes, OH: p.OH, OW: p.OW}
		d := getDW(&cp)
		defer dwPool.Put(d)
		if d.ok {
			forArgs(&poolLoops, chunks, threads, poolArgs{p: p, x: x, y: y, planes: planes, chunks: chunks, d: d}, func(a *poolArgs, _, c int) {
				p, x, y, d, planes, chunks := a.p, a.x, a.y, a.d, a.planes, a.chunks
				hw, ohw := p.H*p.W, p.OH*p.OW
				var ninf *[]float32
				if d.zero {
					ninf = getPadded(p.W)
					defer padPool.Put(ninf)
					for i := range *ninf {
						(*ninf)[i] = float32(math.Inf(-1))
					}
				}
				var row []float32
				if ninf != nil {
					row = *ninf
				}
				p0, p1 := c*planes/chunks, (c+1)*planes/chunks
				d.runMax(y[p0*ohw:], x[p0*hw:], hw, p1-p0, row)
			})
			return
		}
	}
	if p.OW < 16 {
		// Rows shorter than a vector: run a gather program over whole
		// planes instead.
		ps := poolScratchPool.Get().(*poolScratch)
		defer poolScratchPool.Put(ps)
		if ps.build(p, isMax) {
			forArgs(&poolLoops, chunks, threads, poolArgs{p: p, x: x, y: y, planes: planes, chunks: chunks, isMax: isMax, ps: ps}, func(a *poolArgs, _, c int) {
				p, x, y, ps, planes, chunks, isMax := a.p, a.x, a.y, a.ps, a.planes, a.chunks, a.isMax
				hw, ohw := p.H*p.W, p.OH*p.OW
				p0, p1 := c*planes/chunks, (c+1)*planes/chunks
				ps.gp.poolPlanes(y[p0*ohw:], x[p0*hw:], p.KH*p.KW, p1-p0, hw, ohw, ps.div, isMax)
			})
			return
		}
	}
	if isMax && p.is2x2s2() {
		forArgs(&poolLoops, chunks, threads, poolArgs{p: p, x: x, y: y, planes: planes, chunks: chunks}, func(a *poolArgs, _, c int) {
			p, x, y, planes, chunks := a.p, a.x, a.y, a.planes, a.chunks
			hw, ohw := p.H*p.W, p.OH*p.OW
			p0, p1 := c*planes/chunks, (c+1)*planes/chunks
			maxPool2x2s2(x[p0*hw:p1*hw], y[p0*ohw:p1*ohw], p.H, p.W, p.OH, p.OW, p1-p0)
		})
		return
	}
	forArgs(&poolLoops, chunks, threads, poolArgs{p: p, x: x, y: y, planes: planes, chunks: chunks, isMax: isMax}, func(a *poolArgs, _, c int) {
		p, x, y, planes, chunks, isMax := a.p, a.x, a.y, a.planes, a.chunks, a.isMax
		hw, ohw := p.H*p.W, p.OH*p.OW
		p0, p1 := c*planes/chunks, (c+1)*planes/chunks
		if !isMax && p.OW < 8 && avgPoolSmall(p, x[p0*hw:p1*hw], y[p0*ohw:p1*ohw], p1-p0) {
			return
		}
		for pl := p0; pl < p1; pl++ {
			poolPlane(p, x[pl*hw:(pl+1)*hw], y[pl*ohw:(pl+1)*ohw], isMax)
		}
	})
}

// is2x2s2 reports whether p is the common 2×2, stride-2 window without
// padding or dilation whose windows all lie inside the input.
func (p *Pool2DParams) is2x2s2() bool {
	return p.KH == 2 && p.KW == 2 && p.StrideH == 2 && p.StrideW == 2 && p.DilH == 1 && p.DilW == 1 &&
		p.PadT == 0 && p.PadL == 0 && 2*p.OH <= p.H && 2*p.OW <= p.W
}

// maxPool2x2s2 takes the maximum of each 2×2 window (stride 2) of each
// of planes h×w planes of x into the oh×ow planes of y, one pass over
// the two input rows of every output row, with the generic path's
// comparisons (starting from -Inf, a value replaces the maximum only when
// greater, so NaNs are passed over): both give the same bits. With AVX2
// the vector kernel (maxPool2x2Avx2) does whole blocks of 8 outputs with
// the same comparisons in the same order.
func maxPool2x2s2(x, y []float32, h, w, oh, ow, planes int) {
	for pl := 0; pl < planes; pl++ {
		for r := 0; r < oh; r++ {
			base := pl*h*w + 2*r*w
			x0 := x[base : base+2*ow]
			x1 := x[base+w : base+w+2*ow]
			yr := y[(pl*oh+r)*ow : (pl*oh+r)*ow+ow]
			i := maxPool2x2Row(yr, x0, x1)
			if rem := len(yr) - i; rem > 0 && maxPool2x2Tail(yr[i:], x0[2*i:], x1[2*i:]) {
				continue
			}
			for ; i < len(yr); i++ {
				m := float32(math.Inf(-1))
				if v := x0[2*i]; v > m {
					m = v
				}
				if v := x0[2*i+1]; v > m {
					m = v
				}
				if v := x1[2*i]; v > m {
					m = v
				}
				if v := x1[2*i+1]; v > m {
					m = v
				}
				yr[i] = m
			}
		}
	}
}

// maxPool2x2Tail pools the last len(yr) < 8 outputs of a row on the
// vector kernel, through buffers padded with -Inf (which never wins), and
// reports whether it could. On random data the scalar loop's comparisons
// are mispredicted branches, 3 to 4 times slower for rows this short.
func maxPool2x2Tail(yr, x0, x1 []float32) bool {
	var b0, b1 [16]float32
	var o [8]float32
	n := 2 * len(yr)
	copy(b0[:], x0[:n])
	copy(b1[:], x1[:n])
	ninf := float32(math.Inf(-1))
	for j := n; j < 16; j++ {
		b0[j], b1[j] = ninf, ninf
	}
	if maxPool2x2Row(o[:], b0[:], b1[:]) != 8 {
		return false
	}
	copy(yr, o[:])
	return true
}

// avgPoolSmall average-pools planes whose output rows are shorter than a
// vector, output by output: per-tap row calls would cost more than the
// sums. It reports false, doing nothing, for windows over 64 taps.
func avgPoolSmall(p *Pool2DParams, x, y []float32, planes int) bool {
	if p.KH*p.KW > 64 {
		return false
	}
	hw, ohw := p.H*p.W, p.OH*p.OW
	// The input offsets of each output's taps inside the image, and the
	// divisor, are the same for every plane.
	var offs [64]int
	for q := 0; q < ohw; q++ {
		oh, ow := q/p.OW, q%p.OW
		n := 0
		for kh := 0; kh < p.KH; kh++ {
			ih := oh*p.StrideH - p.PadT + kh*p.DilH
			if ih < 0 || ih >= p.H {
				continue
			}
			for kw := 0; kw < p.KW; kw++ {
				iw := ow*p.StrideW - p.PadL + kw*p.DilW
				if iw >= 0 && iw < p.W {
					offs[n] = ih*p.W + iw
					n++
				}
			}
		}
		div := float32(poolCount(p.CountIncludePad, oh*p.StrideH-p.PadT, p.KH, p.DilH, p.H, p.PadT, p.PadB) *
			poolCount(p.CountIncludePad, ow*p.StrideW-p.PadL, p.KW, p.DilW, p.W, p.PadL, p.PadR))
		taps := offs[:n]
		for pl := 0; pl < planes; pl++ {
			xc := x[pl*hw : (pl+1)*hw]
			var sum float32
			for _, o := range taps {
				sum += xc[o]
			}
			y[pl*ohw+q] = sum / div
		}
	}
	return true
}

// poolScratch holds the gather program of a pooling and its divisors.
type poolScratch struct {
	gp  gatherProg
	div []float32
}

var poolScratchPool = sync.Pool{New: func() any { return new(poolScratch) }}

// build makes the vector-major gather program of p, and for average
// pooling the divisor of every output, and reports whether it could.
func (ps *poolScratch) build(p *Pool2DParams, isMax bool) bool {
	g := windowGeom{H: p.H, W: p.W, OH: p.OH, OW: p.OW, KH: p.KH, KW: p.KW,
		StrideH: p.StrideH, StrideW: p.StrideW, DilH: p.DilH, DilW: p.DilW, PadT: p.PadT, PadL: p.PadL}
	if !ps.gp.build(&g, true) {
		return false
	}
	if isMax {
		return true
	}
	n := ps.gp.nv * ps.gp.lanes
	if cap(ps.div) < n {
		ps.div = make([]float32, n)
	}
	ps.div = ps.div[:n]
	for q := range ps.div {
		c := 1
		if q < p.OH*p.OW {
			oh, ow := q/p.OW, q%p.OW
			c = poolCount(p.CountIncludePad, oh*p.StrideH-p.PadT, p.KH, p.DilH, p.H, p.PadT, p.PadB) *
				poolCount(p.CountIncludePad, ow*p.StrideW-p.PadL, p.KW, p.DilW, p.W, p.PadL, p.PadR)
		}
		ps.div[q] = float32(c)
	}
	return true
}

// windowCount returns how many of the k taps (spacing dil) of the window
// starting at s fall in [lo, hi).
func windowCount(s, k, dil, lo, hi int) int {
	n := 0
	for t := 0; t < k; t++ {
		if i := s + t*dil; i >= lo && i < hi {
			n++
		}
	}
	return n
}

// poolPlane pools one channel like depthwisePlane: each output row
// combines, tap by tap, shifted input rows over the columns whose input
// is inside the image.
func poolPlane(p *Pool2DParams, xc, out []float32, isMax bool) {
	W, OW, sw := p.W, p.OW, p.StrideW
	init := float32(0)
	if isMax {
		init = float32(math.Inf(-1))
	}
	// Average pooling divides by rowCount·colCount[ow].
	var colCount [1024]float32
	cc := colCount[:0]
	if !isMax && OW <= len(colCount) {
		cc = colCount[:OW]
		for ow := range cc {
			cc[ow] = float32(poolCount(p.CountIncludePad, ow*sw-p.PadL, p.KW, p.DilW, W, p.PadL, p.PadR))
		}
	}
	for oh := 0; oh < p.OH; oh++ {
		orow := out[oh*OW : oh*OW+OW]
		for i := range orow {
			orow[i] = init
		}
		for kh := 0; kh < p.KH; kh++ {
			ih := oh*p.StrideH - p.PadT + kh*p.DilH
			if ih < 0 || ih >= p.H {
				continue
			}
			xrow := xc[ih*W : ih*W+W]
			for kw := 0; kw < p.KW; kw++ {
				iw0 := kw*p.DilW - p.PadL
				lo := 0
				if iw0 < 0 {
					lo = (-iw0 + sw - 1) / sw
				}
				hi := 0
				if iw0 < W {
					hi = min(OW, (W-1-iw0)/sw+1)
				}
				if lo >= hi {
					continue
				}
				src := xrow[lo*sw+iw0:]
				dst := orow[lo:hi]
				switch {
				case isMax && sw == 1:
					vmax(src, dst)
				case isMax && sw == 2:
					vmax2(src, dst)
				case isMax:
					vmaxStrideGo(src, sw, dst)
				case sw == 1:
					axpy(1, src, dst)
				case sw == 2:
					axpy2(1, src, dst)
				default:
					axpyStrideGo(1, src, sw, dst)
				}
			}
		}
		if isMax {
			continue
		}
		rc := float32(poolCount(p.CountIncludePad, oh*p.StrideH-p.PadT, p.KH, p.DilH, p.H, p.PadT, p.PadB))
		for ow := range orow {
			c := rc
			if len(cc) > 0 {
				c *= cc[ow]
			} else {
				c *= float32(poolCount(p.CountIncludePad, ow*sw-p.PadL, p.KW, p.DilW, W, p.PadL, p.PadR))
			}
			orow[ow] /= c
		}
	}
}

// poolCount is the divisor contribution of one axis: the taps of the
// window starting at s inside the input, or inside the padded input when
// includePad.
func poolCount(includePad bool, s, k, dil, n, padLo, padHi int) int {
	if includePad {
		return windowCount(s, k, dil, -padLo, n+padHi)
	}
	return windowCount(s, k, dil, 0, n)
}
