package kernels

import "sync"

// qdw3Requant runs a 3×3 depthwise convolution (one output channel per
// input channel, stride 1 or 2, no dilation) of 8-bit input with
// requantisation, one plane at a time: the plane, minus its zero point,
// is converted once to float32 and laid out in a zero-padded buffer
// (each row split into its even and odd columns for stride 2, so that
// every tap of an output row is a unit-stride run), and the output rows
// are computed, requantised and stored as bytes in one vector pass
// (qdw3Rows). The products and sums are integers below 2²⁴ (see
// qdwMaxTaps), hence exact, and the requantisation is requantF32's:
// results equal qdwRequantFloat's.
func qdw3Requant(p *Conv2DParams, wf []float32, x []byte, xSigned bool, xZero byte, r *Requant, y []byte) {
	s := p.StrideW
	ow8 := (p.OW + 7) &^ 7
	PH := (p.OH-1)*s + 3
	var RL, E int // padded row length; for stride 2, the length of a phase
	if s == 1 {
		RL = max(ow8+2, p.PadL+p.W)
	} else {
		E = max(ow8+1, (p.PadL+p.W+1)/2)
		RL = 2 * E
	}
	zf := float32(int32(xZero))
	if xSigned {
		zf = float32(int8(xZero))
	}
	// Rows but the last are stored straight into y, 8 bytes at a time:
	// a row's overrun lands in the next row, which is written after it.
	// The last row's lands in the next plane's first row, so it is stored
	// straight too unless the plane is the last of its chunk.
	direct := p.OH - 1
	if p.OW < 4 {
		direct = 0 // the overrun would reach past the next row
	}
	threads := Threads()
	chunks := min(p.N*p.C, 4*threads)
	args := qdw3Args{p: p, wf: wf, x: x, y: y, r: r, xSigned: xSigned, chunks: chunks,
		ow8: ow8, PH: PH, RL: RL, E: E, direct: direct, zf: zf}
	forArgs(&qdw3Loops, chunks, threads, args, func(a *qdw3Args, _, ch int) {
		p, wf, x, y, r, xSigned, chunks := a.p, a.wf, a.x, a.y, a.r, a.xSigned, a.chunks
		ow8, PH, RL, E, direct, zf := a.ow8, a.PH, a.RL, a.E, a.direct, a.zf
		s := p.StrideW
		hw, ohw := p.H*p.W, p.OH*p.OW
		planes := p.N * p.C
		if s == 2 && qdw3S2On || s == 1 && qdw3S1On && p.OW >= qdw3S1MinOW {
			qdw3I16Planes(a, ch)
			return
		}
		sp := getPadded((PH + 1) * RL) // a spare zero row (odd rows in pairs)
		defer padPool.Put(sp)
		buf := (*sp)[:(PH+1)*RL]
		rowBuf := make([]byte, ow8*(p.OH-direct))
		var c [8][8]int32
		qdw3Consts(&c, r.Zero, r.Lo, r.Hi)
		var w [9]float32
		var taps [9][]float32
		end := (ch + 1) * planes / chunks
		for plane := ch * planes / chunks; plane < end; plane++ {
			m := plane % p.C
			xp := x[plane*hw : (plane+1)*hw]
			rows := min(p.H, PH-p.PadT)
			if s == 1 { // rows convert straight into place, in one call
				q8ToF32Rows(buf[p.PadT*RL+p.PadL:], RL, xp, p.W, rows, zf, xSigned)
			} else if rows > 0 {
				// Padded column c = PadL + iw goes to phase c%2 (the odd
				// phase starts at E), index c/2; all rows in one call.
				evenOff, oddOff := p.PadL/2, E+p.PadL/2
				if p.PadL%2 == 1 {
					evenOff, oddOff = E+p.PadL/2, 1+p.PadL/2
				}
				splitF32Rows(buf[p.PadT*RL:], RL, evenOff, oddOff, xp, p.W, rows, zf, xSigned)
			}
			copy(w[:], wf[m*9:m*9+9])
			bias, scale := float32(r.Bias[m]), r.Scale[m]
			// setTaps points taps at output row oh's nine input runs.
			setTaps := func(oh int) {
				for kh := 0; kh < 3; kh++ {
					rr := buf[(oh*s+kh)*RL:]
					if s == 1 {
						taps[3*kh], taps[3*kh+1], taps[3*kh+2] = rr, rr[1:], rr[2:]
					} else {
						taps[3*kh], taps[3*kh+1], taps[3*kh+2] = rr, rr[E:], rr[1:]
					}
				}
			}
			yp := y[plane*ohw : (plane+1)*ohw]
			d := direct
			if d > 0 && plane+1 < end {
				d, yp = p.OH, y[plane*ohw:]
			}
			done := 0
			if s == 1 && qdw3PairsOn {
				// Two rows at a time, each input row loaded once for both.
				pairs := d / 2
				if d == p.OH && d%2 == 1 && plane+1 < end {
					// An odd last row too, paired with one past the
					// plane (from the buffer's spare zero row) whose
					// bytes land in the next plane's, written after it.
					pairs++
				}
				qdw3Pairs1(yp, buf, &w, &c, ow8, pairs, RL, p.OW, bias, scale)
				done = 2 * pairs
			}
			if done < d {
				setTaps(done)
				qdw3Rows(yp[done*p.OW:], &taps, &w, &c, ow8, d-done, s*RL, p.OW, bias, scale)
			}
			if d < p.OH {
				setTaps(d)
				qdw3Rows(rowBuf, &taps, &w, &c, ow8, p.OH-d, s*RL, ow8, bias, scale)
				for oh := d; oh < p.OH; oh++ {
					copy(yp[oh*p.OW:(oh+1)*p.OW], rowBuf[(oh-d)*ow8:])
				}
			}
		}
	})
}

// qdw3I16Planes is qdw3Requant's loop body for a chunk of planes on
// the int16 route: each plane, minus its zero point, widened once into
// zero-padded int16 rows, then its output rows computed from tap pairs
// in exact int32 sums (qdw3S2Rows, qdw3S1Rows) and requantised as on the
// float32 route (the sums are the same integers, converted exactly).
// Stride 1 computes 16 columns at a time, so its rows are at least
// qdw3S1MinOW wide (a row's overrun stays within the next row).
func qdw3I16Planes(a *qdw3Args, ch int) {
	p, wf, x, y, r, xSigned, chunks := a.p, a.wf, a.x, a.y, a.r, a.xSigned, a.chunks
	PH, direct, s := a.PH, a.direct, p.StrideW
	hw, ohw := p.H*p.W, p.OH*p.OW
	planes := p.N * p.C
	n := a.ow8
	RL := max(2*n+2, p.PadL+p.W)
	if s == 1 {
		n = (p.OW + 15) &^ 15
		RL = max(n+3, p.PadL+p.W)
	}
	bp := getI16(PH * RL)
	defer i16Pool.Put(bp)
	buf := (*bp)[:PH*RL]
	var rb [128]byte
	rowBuf := rb[:]
	if k := n * (p.OH - direct); k > len(rb) {
		rowBuf = make([]byte, k)
	}
	var c [8][8]int32
	qdw3Consts(&c, r.Zero, r.Lo, r.Hi)
	zero := int32(byte(int32(a.zf)))
	if xSigned {
		zero = int32(a.zf)
	}
	var w [6]int32
	rows := min(p.H, PH-p.PadT)
	end := (ch + 1) * planes / chunks
	for plane := ch * planes / chunks; plane < end; plane++ {
		m := plane % p.C
		q8ToI16Rows(buf[p.PadT*RL+p.PadL:], RL, x[plane*hw:(plane+1)*hw], p.W, rows, zero, xSigned)
		qdw3S2Weights(&w, wf[m*9:m*9+9])
		bias, scale := float32(r.Bias[m]), r.Scale[m]
		yp := y[plane*ohw : (plane+1)*ohw]
		d := direct
		if d > 0 && plane+1 < end {
			d, yp = p.OH, y[plane*ohw:]
		}
		if s == 1 {
			qdw3S1Rows(yp, buf, &w, &c, n, d, RL, p.OW, bias, scale)
		} else {
			qdw3S2Rows(yp, buf, &w, &c, n, d, RL, p.OW, bias, scale)
		}
		if d < p.OH {
			if s == 1 {
				qdw3S1Rows(rowBuf, buf[d*RL:], &w, &c, n, p.OH-d, RL, n, bias, scale)
			} else {
				qdw3S2Rows(rowBuf, buf[2*d*RL:], &w, &c, n, p.OH-d, RL, n, bias, scale)
			}
			for oh := d; oh < p.OH; oh++ {
				copy(yp[oh*p.OW:(oh+1)*p.OW], rowBuf[(oh-d)*n:])
			}
		}
	}
}

// qdw3S1MinOW is the narrowest stride-1 output row of the int16 route
// (tests lower it to 8, the least for which a 16-byte store's overrun
// stays within the next row).
var qdw3S1MinOW = 14

var i16Pool sync.Pool

// getI16 returns a pooled, zeroed []int16 of length n.
func getI16(n int) *[]int16 {
	if v, ok := i16Pool.Get().(*[]int16); ok && cap(*v) >= n {
		s := (*v)[:n]
		clear(s)
		*v = s
		return v
	}
	s := make([]int16, n)
	return &s
}

// qdw3Args are the arguments of qdw3Requant's loop over chunks of
// planes (see forArgs), with the padded-row geometry it derived.
type qdw3Args struct {
	p                      *Conv2DParams
	wf                     []float32
	x, y                   []byte
	r                      *Requant
	xSigned                bool
	chunks                 int
	ow8, PH, RL, E, direct int
	zf                     float32
}

var qdw3Loops argsPool[qdw3Args]

// qdw3PairsOn lets stride-1 planes take qdw3Pairs1 (benchmarks compare).
var qdw3PairsOn = true

// qdw3Applies reports whether qdw3Requant handles p. Output rows of 7
// (MobileNets' 7×7 planes) fill 7 of a vector's 8 lanes; narrower rows
// go the float32 route (qdwRequantFloat).
func qdw3Applies(p *Conv2DParams) bool {
	return qdw3Fused() && p.depthwise() && p.M == p.C && p.KH == 3 && p.KW == 3 &&
		p.DilH == 1 && p.DilW == 1 && p.StrideH == p.StrideW && (p.StrideW == 1 || p.StrideW == 2) &&
		p.PadT >= 0 && p.PadL >= 0 && p.OH > 0 && p.OW >= qdw3MinOW
}

// qdw3MinOW is the narrowest output row qdw3Requant takes (tests lower it).
var qdw3MinOW = 7
