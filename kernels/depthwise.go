package kernels

import "sync"

// depthwiseConv computes a convolution whose groups each read one input
// channel (Group == C); output channel m reads input channel m/(M/C). It
// works one output row at a time: the row starts at the bias and each
// kernel tap adds a scaled, shifted input row (a vector axpy over the
// columns whose input is inside the image), so padding costs nothing and
// any kernel size, stride and dilation works.
func depthwiseConv(p *Conv2DParams, x, w, bias, y []float32, f Fused) {
	mg := p.M / p.C
	khw := p.KH * p.KW
	hw, ohw := p.H*p.W, p.OH*p.OW
	fast := hasDW3x3(p)
	hp, wp := p.H+p.PadT+p.PadB, p.W+p.PadL+p.PadR
	threads := Threads()
	// Planes are handed out in chunks, one padded scratch plane per chunk.
	chunks := min(p.N*p.M, 4*threads)
	parallelFor(chunks, threads, func(c int) {
		var pad *[]float32
		if fast {
			pad = getPadded(hp * wp)
			defer padPool.Put(pad)
		}
		for plane := c * p.N * p.M / chunks; plane < (c+1)*p.N*p.M/chunks; plane++ {
			n, m := plane/p.M, plane%p.M
			ci := n*p.C + m/mg
			var b float32
			if bias != nil {
				b = bias[m]
			}
			xc, wc, out := x[ci*hw:(ci+1)*hw], w[m*khw:(m+1)*khw], y[plane*ohw:(plane+1)*ohw]
			if !fast {
				depthwisePlane(p, xc, wc, b, out, f)
				continue
			}
			// Copy the channel into the middle of the zero-bordered
			// scratch plane; the borders stay zero across planes.
			in := *pad
			for ih := 0; ih < p.H; ih++ {
				copy(in[(ih+p.PadT)*wp+p.PadL:], xc[ih*p.W:ih*p.W+p.W])
			}
			lo, hi := f.bounds()
			dw3x3Plane(p, out, in, wp, wc, b, lo, hi)
		}
	})
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
