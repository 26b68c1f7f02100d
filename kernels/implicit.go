package kernels

import "sync"

// Implicit-GEMM convolution. Split the zero-padded input into s_h×s_w
// phase planes, phase (py, px) holding the padded positions (i·s_h + py,
// j·s_w + px) at (i, j), all Hq×Wq (Hq = ⌈Hp/s_h⌉, Wq = ⌈Wp/s_w⌉). Tap
// (kh, kw) of output (oh, ow) then reads phase ((kh·d_h) mod s_h,
// (kw·d_w) mod s_w) at (oh + ⌊kh·d_h/s_h⌋, ow + ⌊kw·d_w/s_w⌋). So with
// the output positions laid out on the phase grid (oh·Wq + ow), row k =
// (c, kh, kw) of the im2col matrix is a contiguous run of one phase
// plane, and the micro-kernel reads B straight from the phase planes
// through a table of row offsets: no im2col matrix is ever built. The
// price is the phase copy (one pass over the input; with stride 1 it is
// just the padded input), the columns OW..Wq-1 of each grid row
// (computed and dropped: a few percent for 3×3 kernels) and copying the
// result out of the grid.

// implicitConv reports whether conv2DImplicit runs p: not depthwise,
// not a 1×1 stride-1 product (which reads its input in place), and
// indirect micro-kernels available (AVX-512, or AVX2 with full 16-column
// tiles: the grid is then computed up to a multiple of 16 columns, the
// extra ones reading the zeroed slack after the phase planes).
func (p *Conv2DParams) implicitConv() bool {
	return hasImplicitKernels() && !p.pointwise() && !p.depthwise()
}

// implicitSplitCopy is the size of the phase planes (floats) from which
// their fill and the copy out of the grid are split between goroutines.
const implicitSplitCopy = 1 << 16

// implicitBandPlanes is the size of the phase planes (floats) from
// which a one-goroutine implicit GEMM fills them block by block of grid
// columns (well beyond the L2 cache: the detector's 10 MB of planes ran
// 4–6% faster, 2.6 MB no faster).
const implicitBandPlanes = 1 << 20

// implicitScratch holds a job's phase planes and grid output.
var implicitScratch sync.Pool

// phaseGeom is the phase-plane layout of an implicit convolution.
type phaseGeom struct {
	hq, wq int      // phase plane size
	ng     int      // grid columns up to the last output: (OH-1)·wq + OW
	phases [][2]int // the phases some tap reads, (py, px)
	offs   []int64  // byte offset of B row k from the phase planes
	// reach is the largest offset (floats) of a tap's read from its
	// output's grid position within a phase plane.
	reach int
}

// newPhaseGeom lays out p's phase planes and B rows.
func newPhaseGeom(p *Conv2DParams) *phaseGeom {
	g := new(phaseGeom)
	g.init(p)
	return g
}

// phasePool holds layouts for convolutions without a PackedConv2D.
var phasePool = sync.Pool{New: func() any { return new(phaseGeom) }}

// init lays out p's phase planes and B rows, reusing g's slices.
func (g *phaseGeom) init(p *Conv2DParams) {
	sh, sw := p.StrideH, p.StrideW
	hp, wp := p.H+p.PadT+p.PadB, p.W+p.PadL+p.PadR
	g.hq, g.wq = (hp+sh-1)/sh, (wp+sw-1)/sw
	g.ng = (p.OH-1)*g.wq + p.OW
	g.phases = g.phases[:0]
	// phaseOf returns the position of tap t's phase in g.phases.
	phaseOf := func(t int) int {
		py, px := t/p.KW*p.DilH%sh, t%p.KW*p.DilW%sw
		for i, ph := range g.phases {
			if ph == [2]int{py, px} {
				return i
			}
		}
		g.phases = append(g.phases, [2]int{py, px})
		return len(g.phases) - 1
	}
	khw := p.KH * p.KW
	for t := 0; t < khw; t++ {
		phaseOf(t)
	}
	plane := g.hq * g.wq
	K := p.C / p.Group * khw
	if cap(g.offs) < K {
		g.offs = make([]int64, K)
	}
	g.offs = g.offs[:K]
	g.reach = 0
	for t := 0; t < khw; t++ {
		ph := phaseOf(t)
		kh, kw := t/p.KW*p.DilH, t%p.KW*p.DilW
		g.reach = max(g.reach, kh/sh*g.wq+kw/sw)
		for ci := 0; ci < p.C/p.Group; ci++ {
			g.offs[ci*khw+t] = 4 * int64((ci*len(g.phases)+ph)*plane+kh/sh*g.wq+kw/sw)
		}
	}
}

// fill writes the phase planes of the cg channels x (H×W each) to xq;
// everything in xq that is not input (the padding, and any slack after
// the planes) is zeroed.
func (g *phaseGeom) fill(p *Conv2DParams, xq, x []float32, cg int) {
	clear(xq[cg*len(g.phases)*g.hq*g.wq:])
	g.fillChannels(p, xq, x, 0, cg)
}

// fillChannels writes the phase planes of channels [c0, c1) of x, and
// the padding around them, to xq (laid out as by fill).
func (g *phaseGeom) fillChannels(p *Conv2DParams, xq, x []float32, c0, c1 int) {
	g.fillRows(p, xq, x, c0, c1, 0, g.hq)
}

// fillRows writes rows [r0, r1) of the phase planes of channels [c0, c1)
// of x, padding included, to xq (laid out as by fill).
func (g *phaseGeom) fillRows(p *Conv2DParams, xq, x []float32, c0, c1, r0, r1 int) {
	sh, sw := p.StrideH, p.StrideW
	wq := g.wq
	plane := g.hq * wq
	for c := c0; c < c1; c++ {
		xc := x[c*p.H*p.W : (c+1)*p.H*p.W]
		for f, ph := range g.phases {
			dst := xq[(c*len(g.phases)+f)*plane : (c*len(g.phases)+f+1)*plane]
			// Rows i with input row i·sh + py - PadT in [0, H), columns
			// j with input column j·sw + px - PadL in [0, W).
			py, px := ph[0], ph[1]
			i0 := max(0, (p.PadT-py+sh-1)/sh)
			i1 := min(g.hq, (p.H-1+p.PadT-py)/sh+1)
			j0 := max(0, (p.PadL-px+sw-1)/sw)
			j1 := min(wq, (p.W-1+p.PadL-px)/sw+1)
			if i0 >= i1 || j0 >= j1 || p.H-1+p.PadT-py < 0 || p.W-1+p.PadL-px < 0 {
				clear(dst[r0*wq : r1*wq])
				continue
			}
			a, b := max(i0, r0), min(i1, r1) // rows of input in [r0, r1)
			if a >= b {
				clear(dst[r0*wq : r1*wq])
				continue
			}
			// Zero the padding around the rectangle of input.
			clear(dst[r0*wq : a*wq+j0])
			if j1-j0 < wq {
				for i := a; i < b-1; i++ {
					clear(dst[i*wq+j1 : (i+1)*wq+j0])
				}
			}
			clear(dst[(b-1)*wq+j1 : r1*wq])
			src := xc[(a*sh+py-p.PadT)*p.W+j0*sw+px-p.PadL:]
			if sw == 1 {
				copyRows(dst[a*wq+j0:], src, b-a, j1-j0, wq, sh*p.W)
				continue
			}
			for i := a; i < b; i++ {
				row, s := dst[i*wq+j0:i*wq+j1], src[(i-a)*sh*p.W:]
				if sw == 2 {
					copy2(s, row)
				} else {
					copyStride(s, sw, row)
				}
			}
		}
	}
}

// conv2DImplicit computes the convolution p (see implicitConv) with the
// weights packed in pa (one per group) or, when pa is nil, w; g is p's
// phase layout (nil: made here).
func conv2DImplicit(p *Conv2DParams, g *phaseGeom, pa []*PackedA, x, w, bias, res, y []float32, f Fused) {
	if g == nil {
		g = phasePool.Get().(*phaseGeom)
		defer phasePool.Put(g)
		g.init(p)
	}
	jobs := p.N * p.Group
	outer, inner := Threads(), 1
	if jobs < outer {
		outer, inner = 1, outer
	}
	forArgs(&implicitLoops, jobs, outer, implicitArgs{p: p, g: g, pa: pa, x: x, w: w, bias: bias, res: res, y: y, f: f, inner: inner}, func(arg *implicitArgs, _, job int) {
		p, g, pa, x, w, bias, res, y, f, inner := arg.p, arg.g, arg.pa, arg.x, arg.w, arg.bias, arg.res, arg.y, arg.f, arg.inner
		cg, mg := p.C/p.Group, p.M/p.Group
		K := cg * p.KH * p.KW
		hw, ohw := p.H*p.W, p.OH*p.OW
		nq := cg * len(g.phases) * g.hq * g.wq
		// Grid columns computed (and row stride of the grid): unmasked
		// kernels compute whole tiles, reading up to nr-1 columns past
		// the last plane (slack, zeroed with the planes).
		k := sk
		ldg, slack := g.ng, 0
		if !k.masked {
			ldg, slack = roundUp(g.ng, k.nr), k.nr
		}
		lo, hi := f.bounds()
		epi := bias != nil || f.Act != ActNone
		n, gr := job/p.Group, job%p.Group
		nqs := nq + slack
		sp := getImplicitScratch(nqs + mg*ldg)
		defer implicitScratch.Put(sp)
		xq, cm := (*sp)[:nqs], (*sp)[nqs:nqs+mg*ldg]
		xn := x[(n*p.C+gr*cg)*hw:]
		// Large planes are copied in and out by all inner goroutines
		// (a serial copy of the detector's 10 MB of planes held back
		// its two-thread speed-up); on one goroutine, the rows of the
		// planes that each block of grid columns reads are copied just
		// before the block is computed, while they stay in cache.
		panels := (ldg + k.nr - 1) / k.nr
		parts := min(inner, panels)
		banded := ldg > k.nc && nq >= implicitBandPlanes
		var bands [implicitMaxBandParts + 1]int
		if parts > 1 {
			// Each goroutine fills the rows it alone reads; the few
			// rows two of them read are filled first.
			banded = banded && parts <= implicitMaxBandParts && g.bandRows(&bands, ldg, panels, parts, k.nr)
		}
		split := inner > 1 && nq >= implicitSplitCopy && !banded
		switch {
		case split:
			clear(xq[nq:])
			g.fillParallel(p, xq, xn, cg, min(inner, cg))
		case banded:
			clear(xq[nq:])
			if parts > 1 {
				g.fillShared(p, xq, xn, cg, &bands, ldg, panels, parts, k.nr)
			}
		default:
			g.fill(p, xq, xn, cg)
		}
		if res != nil {
			// The grid starts as the residual.
			for m := 0; m < mg; m++ {
				copyRows(cm[m*ldg:], res[(n*p.M+gr*mg+m)*ohw:], p.OH, p.OW, g.wq, p.OW)
			}
		}
		acc := res != nil
		a := sgemmA{a: w, lda: K, row0: gr * mg}
		if pa != nil {
			a = sgemmA{pk: pa[gr]}
		}
		var gbias []float32
		if bias != nil {
			gbias = bias[gr*mg : (gr+1)*mg]
		}
		// Column panels are split between inner goroutines.
		if parts <= 1 {
			wk := getWork(k)
			if banded {
				g.blocks(p, k, wk, mg, K, &a, xq, xn, cg, cm, ldg, 0, ldg, 0, g.hq, acc, epi, gbias, lo, hi)
			} else {
				implicitBlocked(k, wk, mg, 0, ldg, K, &a, xq, g.offs, cm, ldg, acc, epi, gbias, lo, hi)
			}
			sgemmWorkPool.Put(wk)
		} else {
			forArgs(&implicitParts, parts, parts, implicitPartArgs{p: p, k: k, g: g, a: a, mg: mg, K: K, panels: panels, parts: parts, cg: cg, ldg: ldg,
				xq: xq, x: xn, cm: cm, gbias: gbias, acc: acc, epi: epi, banded: banded, bands: bands, lo: lo, hi: hi}, implicitPart)
		}
		yg := y[(n*p.M+gr*mg)*ohw:]
		if inner > 1 && nq >= implicitSplitCopy && mg > 1 {
			g.copyOutParallel(p, yg, cm, mg, ldg, min(inner, mg))
		} else {
			g.copyOut(p, yg, cm, 0, mg, ldg)
		}
	})
}

// fillParallel is fill's plane copies (not the slack) split by channel
// between parts goroutines.
func (g *phaseGeom) fillParallel(p *Conv2DParams, xq, x []float32, cg, parts int) {
	forArgs(&phaseCopies, parts, parts, phaseCopyArgs{g: g, p: p, dst: xq, src: x, n: cg, parts: parts}, func(a *phaseCopyArgs, _, t int) {
		a.g.fillChannels(a.p, a.dst, a.src, t*a.n/a.parts, (t+1)*a.n/a.parts)
	})
}

// phaseCopyArgs are the arguments of fillParallel's and
// copyOutParallel's loops: n channels (rows of the grid) split in parts.
type phaseCopyArgs struct {
	g             *phaseGeom
	p             *Conv2DParams
	dst, src      []float32
	n, parts, ldg int
}

var phaseCopies argsPool[phaseCopyArgs]

// copyOut copies rows [m0, m1) of the output grid cm (row stride ldg)
// into their output planes in y.
func (g *phaseGeom) copyOut(p *Conv2DParams, y, cm []float32, m0, m1, ldg int) {
	ohw := p.OH * p.OW
	for m := m0; m < m1; m++ {
		copyRows(y[m*ohw:], cm[m*ldg:], p.OH, p.OW, p.OW, g.wq)
	}
}

// copyOutParallel is copyOut of the mg rows split between parts
// goroutines.
func (g *phaseGeom) copyOutParallel(p *Conv2DParams, y, cm []float32, mg, ldg, parts int) {
	forArgs(&phaseCopies, parts, parts, phaseCopyArgs{g: g, p: p, dst: y, src: cm, n: mg, parts: parts, ldg: ldg}, func(a *phaseCopyArgs, _, t int) {
		a.g.copyOut(a.p, a.dst, a.src, t*a.n/a.parts, (t+1)*a.n/a.parts, a.ldg)
	})
}

// implicitMaxBandParts bounds the goroutines that fill their own bands
// of phase-plane rows.
const implicitMaxBandParts = 16

// needRows returns the number of leading rows of every phase plane that
// grid columns below je read (columns past ng read the next plane's
// first rows, or the slack, only for results that are dropped).
func (g *phaseGeom) needRows(je int) int {
	return min(g.hq, (min(je, g.ng)-1+g.reach)/g.wq+1)
}

// partCols returns the grid columns [j0, j1) of part t of parts (whole
// panels of nr columns).
func partCols(t, parts, panels, nr, ldg int) (j0, j1 int) {
	return t * panels / parts * nr, min(ldg, (t+1)*panels/parts*nr)
}

// bandRows sets bands[t] (t < parts) to the first plane row that part t
// fills itself and bands[parts] to the rows filled before the parts
// start (the first rows, read past the end of every plane), and reports
// whether the parts' own rows are disjoint and in order: part t fills
// rows [bands[t], first row of part t+1's columns), the rows between
// that and bands[t+1] being read by both and filled first (fillShared).
func (g *phaseGeom) bandRows(bands *[implicitMaxBandParts + 1]int, ldg, panels, parts, nr int) bool {
	pre := min(g.hq, (nr-1)/g.wq+1)
	bands[parts] = pre
	for t := 0; t < parts; t++ {
		lo := pre
		if t > 0 {
			_, j1 := partCols(t-1, parts, panels, nr, ldg)
			lo = max(pre, g.needRows(j1))
		}
		hi := g.hq
		if t+1 < parts {
			j0, _ := partCols(t+1, parts, panels, nr, ldg)
			hi = j0 / g.wq
		}
		if lo > hi {
			return false
		}
		bands[t] = lo
	}
	return true
}

// fillShared fills the rows more than one part reads (see bandRows).
func (g *phaseGeom) fillShared(p *Conv2DParams, xq, x []float32, cg int, bands *[implicitMaxBandParts + 1]int, ldg, panels, parts, nr int) {
	pre := bands[parts]
	g.fillRows(p, xq, x, 0, cg, 0, pre)
	for t := 0; t+1 < parts; t++ {
		j0, _ := partCols(t+1, parts, panels, nr, ldg)
		if r0 := max(pre, j0/g.wq); r0 < bands[t+1] {
			g.fillRows(p, xq, x, 0, cg, r0, bands[t+1])
		}
	}
}

// blocks computes grid columns [j0, j1) block by block, filling before
// each block the plane rows it reads from filled up to limit (rows
// outside [filled, limit) are filled by others).
func (g *phaseGeom) blocks(p *Conv2DParams, k *sgemmKernel, wk *sgemmWork, mg, K int, a *sgemmA, xq, x []float32, cg int, cm []float32, ldg, j0, j1, filled, limit int, acc, epi bool, bias []float32, lo, hi float32) {
	for jc := j0; jc < j1; jc += k.nc {
		je := min(j1, jc+k.nc)
		if need := min(limit, g.needRows(je)); need > filled {
			g.fillRows(p, xq, x, 0, cg, filled, need)
			filled = need
		}
		implicitBlocked(k, wk, mg, jc, je, K, a, xq, g.offs, cm, ldg, acc, epi, bias, lo, hi)
	}
}

// implicitArgs are the arguments of conv2DImplicit's loop over images
// and groups, implicitPartArgs those of its split of one GEMM's column
// panels (see forArgs).
type implicitArgs struct {
	p                  *Conv2DParams
	g                  *phaseGeom
	pa                 []*PackedA
	x, w, bias, res, y []float32
	f                  Fused
	inner              int
}

type implicitPartArgs struct {
	p                             *Conv2DParams
	k                             *sgemmKernel
	g                             *phaseGeom
	a                             sgemmA
	mg, K, panels, parts, cg, ldg int
	xq, x, cm, gbias              []float32
	acc, epi, banded              bool
	bands                         [implicitMaxBandParts + 1]int
	lo, hi                        float32
}

var (
	implicitLoops argsPool[implicitArgs]
	implicitParts argsPool[implicitPartArgs]
)

// implicitPart computes part t of the grid's column panels; when banded,
// it fills its own rows of the planes as its blocks need them (bands
// from bandRows).
func implicitPart(arg *implicitPartArgs, _, t int) {
	p, k, g := arg.p, arg.k, arg.g
	j0, j1 := partCols(t, arg.parts, arg.panels, k.nr, arg.ldg)
	wk := getWork(k)
	defer sgemmWorkPool.Put(wk)
	if !arg.banded {
		implicitBlocked(k, wk, arg.mg, j0, j1, arg.K, &arg.a, arg.xq, g.offs, arg.cm, arg.ldg, arg.acc, arg.epi, arg.gbias, arg.lo, arg.hi)
		return
	}
	limit := g.hq
	if t+1 < arg.parts {
		n0, _ := partCols(t+1, arg.parts, arg.panels, k.nr, arg.ldg)
		limit = n0 / g.wq
	}
	g.blocks(p, k, wk, arg.mg, arg.K, &arg.a, arg.xq, arg.x, arg.cg, arg.cm, arg.ldg, j0, j1, arg.bands[t], limit, arg.acc, arg.epi, arg.gbias, arg.lo, arg.hi)
}

// implicitBlocked computes columns [j0, j1) of the M×ng grid product C =
// A·B, where row k of B is xp[offs[k]/4:], blocked like sgemmBlocked,
// (added to C's contents when acc), then, when epi is set, adds bias
// (nil: none) and clamps to [lo, hi].
func implicitBlocked(k *sgemmKernel, w *sgemmWork, M, j0, j1, K int, a *sgemmA, xp []float32, offs []int64, C []float32, ldc int, acc, epi bool, bias []float32, lo, hi float32) {
	mr, nr := k.mr, k.nr
	for jc := j0; jc < j1; jc += k.nc {
		ncb := min(k.nc, j1-jc)
		for pc := 0; pc < K; pc += k.kc {
			kcb := min(k.kc, K-pc)
			last := pc+kcb == K
			for ic := 0; ic < M; ic += k.mc {
				mcb := min(k.mc, M-ic)
				var ablk []float32
				if a.pk != nil {
					ablk = a.pk.block(pc, a.row0+ic)
				} else {
					packA(w.a, a, ic, mcb, pc, kcb, mr)
					ablk = w.a
				}
				for ir := 0; ir < mcb; ir += mr {
					mrb := min(mr, mcb-ir)
					flags := 0
					if pc > 0 || acc {
						flags |= sgemmLoadC
					}
					bp := &zeroBias[0]
					if last && epi {
						flags |= sgemmEpilogue
						if bias != nil {
							bp = &bias[ic+ir]
						}
					}
					ap := ablk[ir*kcb:]
					if !k.masked {
						// Whole strips (ncb is a multiple of nr here):
						// the row panel's sweep in one call.
						tileIndirect(mrb, ncb, kcb, ap, xp[jc:], offs[pc:], C[(ic+ir)*ldc+jc:], ldc, flags, bp, lo, hi)
						continue
					}
					for jr := 0; jr < ncb; jr += nr {
						nrb := min(nr, ncb-jr)
						c := C[(ic+ir)*ldc+jc+jr:]
						tileIndirect(mrb, nrb, kcb, ap, xp[jc+jr:], offs[pc:], c, ldc, flags, bp, lo, hi)
					}
				}
			}
		}
	}
}

// getImplicitScratch returns a pooled slice of at least n floats.
func getImplicitScratch(n int) *[]float32 {
	if v, ok := implicitScratch.Get().(*[]float32); ok && len(*v) >= n {
		return v
	}
	s := alignedFloats(n)
	return &s
}
