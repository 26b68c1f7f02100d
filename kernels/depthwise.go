package kernels

import "sync"

// depthwiseConv computes a convolution whose groups each read one input
// channel (Group == C); output channel m reads input channel m/(M/C).
//
// 3×3 kernels with horizontal stride 1 or 2 run the assembly plane
// kernels (see dw3x3) on the input as stored, several channels per call;
// dw is their geometry, built once per PackedConv2D (nil: built here).
// Other windows with horizontal stride 1 or 2 run the k×k assembly
// kernel on a padded copy of each plane (see dwkGeom). The rest work one
// output row at a time (depthwisePlane): the row starts
// at the bias and each kernel tap adds a scaled, shifted input row (a
// vector axpy over the columns whose input is inside the image), so
// padding costs nothing and any kernel size, stride and dilation works.
//
// With a residual res, the convolution (bias included) is written to y,
// or to scratch when res is y, and then res is added and f applied.
func depthwiseConv(p *Conv2DParams, dw *dw3x3, x, w, bias, res, y []float32, f Fused) {
	if res != nil {
		out := y
		if &res[0] == &y[0] {
			sp := getImplicitScratch(len(y))
			defer implicitScratch.Put(sp)
			out = (*sp)[:p.N*p.M*p.OH*p.OW]
		}
		depthwiseConv(p, dw, x, w, bias, nil, out, Fused{})
		lo, hi := f.bounds()
		addClamp(y[:len(out)], out, res, lo, hi)
		return
	}
	lo, hi := f.bounds()
	threads := Threads()
	// Planes are handed out in chunks; the assembly kernels take runs of
	// channels of one image at a time.
	planes := p.N * p.M
	chunks := min(planes, 4*threads)
	d := dw
	if d == nil {
		d = getDW(p)
		defer dwPool.Put(d)
	}
	fast := d.ok
	if !fast {
		// Other windows: the k×k kernel where it applies.
		g := dwkPool.Get().(*dwkGeom)
		defer dwkPool.Put(g)
		if g.set(p) {
			depthwiseK(p, g, x, w, bias, y, lo, hi)
			return
		}
	}
	forArgs(&depthwiseLoops, chunks, threads, depthwiseArgs{p: p, d: d, x: x, w: w, bias: bias, y: y, f: f, chunks: chunks}, func(arg *depthwiseArgs, _, c int) {
		p, d, x, w, bias, y, f, chunks := arg.p, arg.d, arg.x, arg.w, arg.bias, arg.y, arg.f, arg.chunks
		fast := d.ok
		mg := p.M / p.C
		khw := p.KH * p.KW
		hw, ohw := p.H*p.W, p.OH*p.OW
		lo, hi := f.bounds()
		planes := p.N * p.M
		var zero *[]float32
		if fast && d.zero {
			zero = getPadded(p.W)
			defer padPool.Put(zero)
		}
		for pl, end := c*planes/chunks, (c+1)*planes/chunks; pl < end; {
			n, m := pl/p.M, pl%p.M
			if !fast {
				ci := n*p.C + m/mg
				var b float32
				if bias != nil {
					b = bias[m]
				}
				depthwisePlane(p, x[ci*hw:(ci+1)*hw], w[m*khw:(m+1)*khw], b, y[pl*ohw:(pl+1)*ohw], f)
				pl++
				continue
			}
			// Channels m..m+run-1 of image n: with a channel
			// multiplier, the mg outputs of one input channel.
			run, inStride := min(end-pl, p.M-m), hw
			if mg > 1 {
				run, inStride = min(run, mg-m%mg), 0
			}
			ci := n*p.C + m/mg
			var bs []float32
			if bias != nil {
				bs = bias[m:]
			}
			var z []float32
			if zero != nil {
				z = *zero
			}
			d.run(y[pl*ohw:], x[ci*hw:], inStride, run, w[m*9:], bs, 1, z, lo, hi)
			pl += run
		}
	})
}

// depthwiseArgs are the arguments of depthwiseConv's loop over chunks
// of planes (see forArgs).
type depthwiseArgs struct {
	p             *Conv2DParams
	d             *dw3x3
	x, w, bias, y []float32
	f             Fused
	chunks        int
}

var depthwiseLoops argsPool[depthwiseArgs]

// addClamp sets y[i] = min(max(a[i] + b[i], lo), hi); y may be a or b.
func addClamp(y, a, b []float32, lo, hi float32) {
	a, b = a[:len(y)], b[:len(y)]
	for i := range y {
		v := a[i] + b[i]
		if v < lo {
			v = lo
		}
		if v > hi {
			v = hi
		}
		y[i] = v
	}
}

// depthwisePlane convolves one H×W channel xc with the KH×KW kernel wc
// into the OH×OW plane out.
func depthwisePlane(p *Conv2DParams, xc, wc []float32, bias float32, out []float32, f Fused) {
	W, OW, sw := p.W, p.OW, p.StrideW
	lo, hi := f.bounds()
	for oh := 0; oh < p.OH; oh++ {
		orow := out[oh*OW : oh*OW+OW]
		clear(orow)
		for kh := 0; kh < p.KH; kh++ {
			ih := oh*p.StrideH - p.PadT + kh*p.DilH
			if ih < 0 || ih >= p.H {
				continue
			}
			xrow := xc[ih*W : ih*W+W]
			for kw := 0; kw < p.KW; kw++ {
				// Column ow reads xrow[ow·sw + iw0]; keep it in [0, W).
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
				wv := wc[kh*p.KW+kw]
				src := xrow[lo*sw+iw0:]
				switch sw {
				case 1:
					axpy(wv, src, orow[lo:hi])
				case 2:
					axpy2(wv, src, orow[lo:hi])
				default:
					axpyStrideGo(wv, src, sw, orow[lo:hi])
				}
			}
		}
		biasClamp(orow, bias, lo, hi)
	}
}

// dwPool holds geometries of the 3×3 depthwise kernels, for
// convolutions without a PackedConv2D.
var dwPool sync.Pool

// getDW returns the geometry of p (with ok false when the 3×3 kernels do
// not apply), reusing a pooled row table.
func getDW(p *Conv2DParams) *dw3x3 {
	d, _ := dwPool.Get().(*dw3x3)
	if d == nil {
		d = new(dw3x3)
	}
	rows := d.rows[:cap(d.rows)]
	if len(rows) < dwRowsLen(p.OH) {
		rows = make([]int64, dwRowsLen(p.OH))
	}
	// The geometry refers to a copy of p kept in d, so that p does not
	// escape.
	d.pv = *p
	pv := d.pv
	if nd, ok := newDW3x3(&d.pv, rows); ok {
		*d = nd
	} else {
		*d = dw3x3{rows: rows}
	}
	d.pv = pv
	return d
}

// padPool holds zeroed scratch planes for the depthwise kernels.
var padPool sync.Pool

// getPadded returns a zeroed scratch plane of n floats.
func getPadded(n int) *[]float32 {
	if v, ok := padPool.Get().(*[]float32); ok && cap(*v) >= n {
		s := (*v)[:n]
		clear(s)
		*v = s
		return v
	}
	s := make([]float32, n)
	return &s
}
