package kernels

import "sync"

// dwkGeom is the geometry of the k×k depthwise kernel (dwkAvx512, see
// kernels/internal/asmgen/dwk.go), which covers the depthwise
// convolutions the 3×3 plane kernels do not: any window, horizontal
// stride 1 or 2, any vertical stride and dilation. Each input plane is
// copied into a zero-padded scratch plane of hp rows of wr floats in
// which output column j of tap (kh, kw) reads column j + (column
// offset of the tap): for horizontal stride 1 the padded row as is, for
// stride 2 its even columns (we of them) followed by its odd ones. The
// padding stays zero from one plane to the next, so a plane costs one
// copy of its inputs, and every tap of 16 outputs is one load.
type dwkGeom struct {
	p      Conv2DParams
	wr, hp int
	we     int     // stride 2: even columns per row, where the odd ones start
	offs   []int64 // byte offset of each tap (kh-major) from an output row's first input
	ok     bool
}

// dwkSlack is the number of floats after the last padded row that the
// kernel may read (the masked lanes of the last row's last block).
const dwkSlack = 64

// set describes p, reporting false where the kernel does not apply: no
// assembly, or a horizontal stride above 2.
func (g *dwkGeom) set(p *Conv2DParams) bool {
	g.p, g.ok = *p, false
	if !dwkAsm() || p.StrideW > 2 || p.OH < 1 || p.OW < 1 {
		return false
	}
	s := p.StrideW
	wp := max(p.PadL+p.W, (p.OW-1)*s+(p.KW-1)*p.DilW+1)
	g.hp = max(p.PadT+p.H, (p.OH-1)*p.StrideH+(p.KH-1)*p.DilH+1)
	g.wr, g.we = wp, 0
	if s == 2 {
		g.we = (wp + 1) / 2
		g.wr = g.we + wp/2
	}
	g.offs = g.offs[:0]
	for kh := 0; kh < p.KH; kh++ {
		for kw := 0; kw < p.KW; kw++ {
			c := kw * p.DilW
			if s == 2 {
				c = c/2 + g.we*(c&1)
			}
			g.offs = append(g.offs, 4*int64(kh*p.DilH*g.wr+c))
		}
	}
	g.ok = true
	return true
}

// planeLen is the length of the scratch plane.
func (g *dwkGeom) planeLen() int { return g.hp*g.wr + dwkSlack }

// fill copies the input plane xc into the scratch plane buf, whose
// padding must be zero.
func (g *dwkGeom) fill(xc, buf []float32) {
	p := &g.p
	W := p.W
	if p.StrideW == 2 && p.H > 0 {
		// The whole plane's pairs in one call where they allow (see
		// the row loop below for the layout).
		row := buf[p.PadT*g.wr:]
		first, second := row[p.PadL/2:], row[g.we+p.PadL/2:]
		if p.PadL&1 == 1 {
			first, second = row[g.we+p.PadL/2:], row[(p.PadL+1)/2:]
		}
		if splitPairRows(first, second, xc, W/2, p.H, W, g.wr) {
			if W&1 == 1 {
				for ih := 0; ih < p.H; ih++ {
					first[ih*g.wr+W/2] = xc[ih*W+W-1]
				}
			}
			return
		}
	}
	for ih := 0; ih < p.H; ih++ {
		row := buf[(ih+p.PadT)*g.wr : (ih+p.PadT+1)*g.wr]
		src := xc[ih*W : ih*W+W]
		if p.StrideW == 1 {
			copy(row[p.PadL:], src)
			continue
		}
		// Input column iw lands in padded column c = iw + padL: the
		// even ones at c/2, the odd ones at we + c/2. Pairs of inputs
		// (2k, 2k+1) go to k of two runs: even then odd columns when
		// padL is even, odd then even when it is odd.
		first := row[p.PadL/2:]
		second := row[g.we+p.PadL/2:]
		if p.PadL&1 == 1 {
			first, second = row[g.we+p.PadL/2:], row[(p.PadL+1)/2:]
		}
		splitPairs(first, second, src[:W&^1])
		if W&1 == 1 {
			first[W/2] = src[W-1]
		}
	}
}

// plane convolves the scratch plane buf with weights wc into the OH×OW
// plane out. 3×3 windows without vertical dilation run their groups of
// four rows and whole vectors on the sliding-row kernel where it exists
// (dw3rCall), the rest on the k×k kernel.
func (g *dwkGeom) plane(buf, wc []float32, bias float32, out []float32, lo, hi float32) {
	p := &g.p
	_, _ = buf[g.planeLen()-1], out[p.OH*p.OW-1]
	_ = wc[len(g.offs)-1]
	inRow := 4 * p.StrideH * g.wr // bytes from one output row's inputs to the next's
	r0 := 0
	if p.KH == 3 && p.KW == 3 && p.DilH == 1 && p.StrideH <= 2 {
		rows, vecs := p.OH&^3, p.OW/8
		if rows > 0 && vecs > 0 && dw3rCall(&out[0], &buf[0], rows, vecs, 4*g.wr, 4*p.OW, &g.offs[0], &wc[0], bias, lo, hi, p.StrideH) {
			if c := 8 * vecs; c < p.OW {
				dwkCall(&out[c], &buf[c], rows, p.OW-c, inRow, 4*p.OW, &g.offs[0], len(g.offs), &wc[0], bias, lo, hi)
			}
			r0 = rows
		}
	}
	if r0 < p.OH {
		dwkCall(&out[r0*p.OW], &buf[r0*p.StrideH*g.wr], p.OH-r0, p.OW, inRow, 4*p.OW, &g.offs[0], len(g.offs), &wc[0], bias, lo, hi)
	}
}

// dwkPool holds k×k geometries (their tap tables), so that steady-state
// calls do not allocate.
var dwkPool = sync.Pool{New: func() any { return new(dwkGeom) }}

// depthwiseKArgs are the arguments of depthwiseK's loop over chunks of
// planes (see forArgs).
type depthwiseKArgs struct {
	p             *Conv2DParams
	g             *dwkGeom
	x, w, bias, y []float32
	lo, hi        float32
	chunks        int
	c0            int // channels before c0 (channel multiplier 1) are done
}

var depthwiseKLoops argsPool[depthwiseKArgs]

// depthwiseK runs the depthwise convolution (no residual) on the k×k
// kernel, planes split across threads like depthwiseConv. g must have
// been set from p.
func depthwiseK(p *Conv2DParams, g *dwkGeom, x, w, bias, y []float32, lo, hi float32) {
	c0 := 0 // channels of each image done interleaved
	if dwc8Applies(p) {
		depthwiseC8(p, g, x, w, bias, y, lo, hi)
		if c0 = p.C &^ 7; c0 == p.C {
			return
		}
	}
	threads := Threads()
	chunks := min(p.N*p.M, 4*threads)
	args := depthwiseKArgs{p: p, g: g, x: x, w: w, bias: bias, y: y, lo: lo, hi: hi, chunks: chunks, c0: c0}
	forArgs(&depthwiseKLoops, chunks, threads, args, func(arg *depthwiseKArgs, _, c int) {
		p, g, x, w, bias, y, lo, hi, chunks := arg.p, arg.g, arg.x, arg.w, arg.bias, arg.y, arg.lo, arg.hi, arg.chunks
		mg := p.M / p.C
		khw := p.KH * p.KW
		hw, ohw := p.H*p.W, p.OH*p.OW
		planes := p.N * p.M
		sp := getPadded(g.planeLen())
		defer padPool.Put(sp)
		buf := *sp
		last := -1
		for pl, end := c*planes/chunks, (c+1)*planes/chunks; pl < end; pl++ {
			n, m := pl/p.M, pl%p.M
			if m < arg.c0 {
				continue // done interleaved
			}
			ci := n*p.C + m/mg
			if ci != last {
				g.fill(x[ci*hw:(ci+1)*hw], buf)
				last = ci
			}
			var b float32
			if bias != nil {
				b = bias[m]
			}
			g.plane(buf, w[m*khw:(m+1)*khw], b, y[pl*ohw:(pl+1)*ohw], lo, hi)
		}
	})
}

// splitPairsGo sets first[k] = src[2k], second[k] = src[2k+1].
func splitPairsGo(first, second, src []float32) {
	n := len(src) / 2
	first, second = first[:n], second[:n]
	for k := range first {
		first[k] = src[2*k]
		second[k] = src[2*k+1]
	}
}
