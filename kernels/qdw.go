package kernels

import (
	"fmt"
	"sync"
)

// Requant is the output stage of a fused int8 convolution: output
// channel m maps its exact int32 sum a to
//
//	clamp(round((a + Bias[m]) · Scale[m]) + Zero, Lo, Hi)
//
// (rounding half to even), stored as a byte: uint8 values when Lo ≥ 0,
// else int8. [Lo, Hi] is the output type's range, narrowed by a fused
// Relu or Clip.
type Requant struct {
	Bias         []int32
	Scale        []float32
	Zero, Lo, Hi int32
}

func (r *Requant) check(fn string, M int) {
	if len(r.Bias) != M || len(r.Scale) != M {
		panic(fmt.Sprintf("kernels: %s: %d biases and %d scales for %d channels", fn, len(r.Bias), len(r.Scale), M))
	}
	if r.Lo > r.Hi || r.Lo < -128 || r.Hi > 255 || r.Lo < 0 && r.Hi > 127 {
		panic(fmt.Sprintf("kernels: %s: bad range [%d, %d]", fn, r.Lo, r.Hi))
	}
}

var i32Pool sync.Pool

// qdwViaFloat runs int8 depthwise convolutions on the float32 depthwise
// kernels (qdwRequantFloat) instead of qdwRequant's row loops.
var qdwViaFloat = true

// qdw3Enabled lets 3×3 depthwise convolutions take qdw3Requant where it
// applies (tests switch it off to compare).
var qdw3Enabled = true

// qdwRequantFloat converts the whole input, minus its zero point, to
// float32, runs the float32 depthwise convolution on it with the weights
// minus theirs (wf), and requantises each output plane. Every product
// and partial sum is an integer below 2²⁴ (see qdwMaxTaps), so the sums
// are exact whatever order the float kernels add in.
func qdwRequantFloat(p *Conv2DParams, wf []float32, x []byte, xSigned bool, xZero byte, r *Requant, y []byte) {
	hw, ohw := p.H*p.W, p.OH*p.OW
	mg := p.M / p.C
	// Channels go through in blocks whose float32 input and output fit
	// in the L2 cache together, so that each is converted, convolved and
	// requantised while it is still there (the whole tensor of an early
	// MobileNet layer is several MiB as float32).
	// Blocks hold two channels at least: the float kernels take a single
	// channel for a plain convolution.
	blk := max(2, qdwBlockFloats/(hw+mg*ohw), Threads())
	nb := max(1, p.C/blk) // blocks of blk to 2·blk−1 channels
	sp := getScratch((p.C/nb + 1) * (hw + mg*ohw))
	defer convScratch.Put(sp)
	zf := float32(int32(xZero))
	if xSigned {
		zf = float32(int8(xZero))
	}
	// The block's parameters are pooled: the float kernels hand them to
	// their threads, so a local copy would move to the heap.
	q := convParamsPool.Get().(*Conv2DParams)
	defer convParamsPool.Put(q)
	for n := 0; n < p.N; n++ {
		for b := 0; b < nb; b++ {
			c0 := b * p.C / nb
			nc := (b+1)*p.C/nb - c0
			*q = *p
			q.N, q.C, q.M, q.Group = 1, nc, nc*mg, nc
			xf, yf := (*sp)[:nc*hw], (*sp)[nc*hw:nc*(hw+mg*ohw)]
			xo := (n*p.C + c0) * hw
			q8ToF32(xf, x[xo:xo+nc*hw], zf, xSigned)
			Conv2D(q, xf, wf[c0*mg*p.KH*p.KW:(c0+nc)*mg*p.KH*p.KW], nil, yf)
			for j := 0; j < nc*mg; j++ {
				m := c0*mg + j
				yo := (n*p.M + m) * ohw
				requantF32(y[yo:yo+ohw], yf[j*ohw:(j+1)*ohw], float32(r.Bias[m]), r.Scale[m], r.Zero, r.Lo, r.Hi)
			}
		}
	}
}

var convParamsPool = sync.Pool{New: func() any { return new(Conv2DParams) }}

// qdwBlockFloats bounds the float32 input and output of one block of
// channels in qdwRequantFloat.
const qdwBlockFloats = 48 << 10

// RunRequant computes the convolution of x (see QConv2D) and requantises
// it with r into y (N·M·OH·OW bytes). Depthwise convolutions run in one
// pass over each plane (exact sums in float32, see qdwMaxTaps); the
// others compute the int32 sums first.
func (c *QPackedConv2D) RunRequant(x []byte, xSigned bool, xZero byte, r *Requant, y []byte) {
	p := &c.P
	r.check("QPackedConv2D.RunRequant", p.M)
	ohw := p.OH * p.OW
	if len(y) < p.N*p.M*ohw {
		panic(fmt.Sprintf("kernels: QPackedConv2D.RunRequant: len(y)=%d, want ≥ %d", len(y), p.N*p.M*ohw))
	}
	if c.dw != nil {
		if len(x) < p.N*p.C*p.H*p.W {
			panic(fmt.Sprintf("kernels: QConv2D: len(x)=%d, want ≥ %d", len(x), p.N*p.C*p.H*p.W))
		}
		switch {
		case qdw3Applies(p) && qdw3Enabled:
			qdw3Requant(p, c.dw, x, xSigned, xZero, r, y)
		case qdwViaFloat:
			qdwRequantFloat(p, c.dw, x, xSigned, xZero, r, y)
		default:
			qdwRequant(p, c.dw, x, xSigned, xZero, r, y)
		}
		return
	}
	n := p.N * p.M * ohw
	v, _ := i32Pool.Get().(*[]int32)
	if v == nil || cap(*v) < n {
		s := make([]int32, n)
		v = &s
	}
	acc := (*v)[:n]
	if !c.run(x, xSigned, xZero, acc, r, y) {
		for i := 0; i < p.N*p.M; i++ {
			m := i % p.M
			requant(y[i*ohw:(i+1)*ohw], acc[i*ohw:(i+1)*ohw], r.Bias[m], r.Scale[m], r.Zero, r.Lo, r.Hi)
		}
	}
	i32Pool.Put(v)
}

// qdwRequant runs an integer depthwise convolution with requantisation.
// Each input plane, minus its zero point, is written as float32 into a
// zero-padded plane big enough for every window (so the taps need no
// bounds checks), split by column phase when the stride is s > 1 (phase
// φ holds padded columns φ, φ+s, …), so that every tap of a row is a
// unit-stride run. Each output row accumulates three taps at a time, and
// the plane is requantised from the float32 sums, which are exact.
func qdwRequant(p *Conv2DParams, wf []float32, x []byte, xSigned bool, xZero byte, r *Requant, y []byte) {
	mg := p.M / p.C
	khw := p.KH * p.KW
	hw, ohw := p.H*p.W, p.OH*p.OW
	zf := float32(int32(xZero))
	if xSigned {
		zf = float32(int8(xZero))
	}
	sw := p.StrideW
	PH := (p.OH-1)*p.StrideH + (p.KH-1)*p.DilH + 1
	PW := (p.OW-1)*sw + (p.KW-1)*p.DilW + 1
	PL := (PW + sw - 1) / sw // phase length
	rowLen := sw * PL
	threads := Threads()
	chunks := min(p.N*p.M, 4*threads)
	parallelFor(chunks, threads, func(ch int) {
		pad := getPadded(PH*rowLen + ohw + PW + p.OH*PW + hw)
		defer padPool.Put(pad)
		buf := (*pad)[:PH*rowLen]
		acc := (*pad)[PH*rowLen : PH*rowLen+ohw]
		tmp := (*pad)[PH*rowLen+ohw : PH*rowLen+ohw+PW]
		xf := (*pad)[PH*rowLen+ohw+PW+p.OH*PW:][:hw]
		var ybuf []byte
		if sw == 1 && p.StrideH == 1 && p.KW > 1 {
			ybuf = make([]byte, p.OH*PW)
		}
		lastIn := -1
		for plane := ch * p.N * p.M / chunks; plane < (ch+1)*p.N*p.M/chunks; plane++ {
			n, m := plane/p.M, plane%p.M
			ci := n*p.C + m/mg
			if ci != lastIn {
				lastIn = ci
				q8ToF32(xf, x[ci*hw:(ci+1)*hw], zf, xSigned)
				fillPlane(p, buf, tmp, xf, PH, PW, PL)
			}
			wc := wf[m*khw : (m+1)*khw]
			if sw == 1 && p.StrideH == 1 {
				// Rows of the padded plane and of the accumulator are
				// both PW long, so each tap is one run over the plane;
				// columns past OW are computed and dropped.
				wide := (*pad)[PH*rowLen+ohw+PW:][:p.OH*PW]
				clear(wide)
				for kh := 0; kh < p.KH; kh++ {
					for kw := 0; kw < p.KW; kw += 3 {
						var w [3]float32
						var src [3][]float32
						for t := 0; t < 3; t++ {
							k := min(kw+t, p.KW-1)
							src[t] = buf[kh*p.DilH*PW+k*p.DilW:][:len(wide)-(p.KW-1)*p.DilW]
							if kw+t < p.KW {
								w[t] = wc[kh*p.KW+kw+t]
							}
						}
						dwRow3(wide[:len(wide)-(p.KW-1)*p.DilW], src[0], src[1], src[2], &w)
					}
				}
				yp := y[plane*ohw : (plane+1)*ohw]
				if ybuf == nil { // PW = OW: the rows are contiguous
					requantF32(yp, wide, float32(r.Bias[m]), r.Scale[m], r.Zero, r.Lo, r.Hi)
					continue
				}
				requantF32(ybuf, wide, float32(r.Bias[m]), r.Scale[m], r.Zero, r.Lo, r.Hi)
				for oh := 0; oh < p.OH; oh++ {
					copy(yp[oh*p.OW:(oh+1)*p.OW], ybuf[oh*PW:])
				}
				continue
			}
			clear(acc)
			for oh := 0; oh < p.OH; oh++ {
				out := acc[oh*p.OW : (oh+1)*p.OW]
				for kh := 0; kh < p.KH; kh++ {
					row := buf[(oh*p.StrideH+kh*p.DilH)*rowLen:][:rowLen]
					for kw := 0; kw < p.KW; kw += 3 {
						var w [3]float32
						var src [3][]float32
						for t := 0; t < 3; t++ {
							k := min(kw+t, p.KW-1)
							off := k * p.DilW
							src[t] = row[(off%sw)*PL+off/sw:][:p.OW]
							if kw+t < p.KW {
								w[t] = wc[kh*p.KW+kw+t]
							}
						}
						dwRow3(out, src[0], src[1], src[2], &w)
					}
				}
			}
			requantF32(y[plane*ohw:(plane+1)*ohw], acc, float32(r.Bias[m]), r.Scale[m], r.Zero, r.Lo, r.Hi)
		}
	})
}

// fillPlane writes the padded, phase-split float32 plane of one input
// channel xf (already converted, minus its zero point; see qdwRequant)
// into buf; tmp holds PW floats. buf and tmp start zeroed and fillPlane
// only ever writes the positions the input covers, so the padding stays
// zero from plane to plane without being cleared again.
func fillPlane(p *Conv2DParams, buf, tmp, xf []float32, PH, PW, PL int) {
	sw := p.StrideW
	rowLen := sw * PL
	lo := min(p.PadL, PW)
	hi := min(p.PadL+p.W, PW)
	if hi <= lo {
		return
	}
	for r := max(p.PadT, 0); r < min(PH, p.PadT+p.H); r++ {
		dst := buf[r*rowLen : (r+1)*rowLen]
		ih := r - p.PadT
		src := xf[ih*p.W : ih*p.W+hi-lo]
		if sw == 1 {
			copy(dst[lo:hi], src)
			continue
		}
		copy(tmp[lo:hi], src)
		if sw == 2 {
			even, odd := dst[:PL], dst[PL:2*PL]
			j := deint2Vec(even, odd, tmp[:PW])
			for ; j < PL; j++ {
				even[j], odd[j] = 0, 0
				if 2*j < PW {
					even[j] = tmp[2*j]
				}
				if 2*j+1 < PW {
					odd[j] = tmp[2*j+1]
				}
			}
			continue
		}
		for ph := 0; ph < sw; ph++ {
			d := dst[ph*PL : (ph+1)*PL]
			j := 0
			for c := ph; c < PW; c += sw {
				d[j] = tmp[c]
				j++
			}
			clear(d[j:])
		}
	}
}

// dwRow3 sets acc[i] += w[0]·a[i] + w[1]·b[i] + w[2]·c[i].
func dwRow3(acc, a, b, c []float32, w *[3]float32) {
	i := dwRow3Vec(acc, a, b, c, w)
	a, b, c = a[:len(acc)], b[:len(acc)], c[:len(acc)]
	for ; i < len(acc); i++ {
		acc[i] += w[0]*a[i] + w[1]*b[i] + w[2]*c[i]
	}
}

// q8ToF32 sets dst[i] = float32(src[i]) − zero.
func q8ToF32(dst []float32, src []byte, zero float32, signed bool) {
	i := q8ToF32Vec(dst, src, zero, signed)
	src = src[:len(dst)]
	for ; i < len(dst); i++ {
		v := float32(src[i])
		if signed {
			v = float32(int8(src[i]))
		}
		dst[i] = v - zero
	}
}

// requantF32 is requant for float32 sums: dst[i] = clamp(round((src[i] +
// bias)·scale) + zero, lo, hi).
func requantF32(dst []byte, src []float32, bias, scale float32, zero, lo, hi int32) {
	i := requantF32Vec(dst, src, bias, scale, zero, lo, hi)
	src = src[:len(dst)]
	z, l, h := float32(zero), float32(lo), float32(hi)
	for ; i < len(dst); i++ {
		q := rint32((src[i]+bias)*scale) + z
		dst[i] = byte(int32(min(max(q, l), h)))
	}
}
