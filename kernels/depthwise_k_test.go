package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestDepthwiseKxK sweeps the k×k depthwise kernel over windows 2 to 7
// (square and not), both horizontal strides, vertical strides 1 to 3,
// dilations, pads up to the window, widths covering every tail of the 32-,
// 16- and masked column blocks, heights covering the four-row groups and
// their remainders, batches, channel multipliers, missing biases,
// activations, residuals and two threads, against the reference
// convolution (tolerance: checkConv's, the GEMM one relative to the
// convolution of magnitudes), and bit for bit against the portable row
// updates (zeros of either sign equal).
func TestDepthwiseKxK(t *testing.T) {
	t.Run("best", testDepthwiseKxK)
	if dwkHasAVX512() {
		dwkNoAVX512 = true
		defer func() { dwkNoAVX512 = false }()
		t.Run("avx2", testDepthwiseKxK)
	}
}

func testDepthwiseKxK(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	ran := 0
	ks := [][2]int{{5, 5}, {7, 7}, {3, 3}, {2, 2}, {4, 4}, {5, 3}, {1, 7}, {6, 5}}
	for W := 1; W <= 70; W++ {
		for s := 1; s <= 2; s++ {
			for it := 0; it < 3; it++ {
				k := ks[(W+it)%len(ks)]
				p := Conv2DParams{N: 1 + r.IntN(2), C: 1 + r.IntN(3), H: 1 + r.IntN(11), W: W, KH: k[0], KW: k[1],
					StrideH: 1 + r.IntN(3), StrideW: s, DilH: 1 + r.IntN(2), DilW: 1 + r.IntN(2),
					PadT: r.IntN(k[0] + 1), PadL: r.IntN(k[1] + 1), PadB: r.IntN(k[0] + 1), PadR: r.IntN(k[1] + 1)}
				if it == 0 { // the detector's form: same pads, equal strides, no dilation
					p.StrideH, p.DilH, p.DilW = s, 1, 1
					p.PadT, p.PadL, p.PadB, p.PadR = k[0]/2, k[1]/2, k[0]/2, k[1]/2
				}
				p.Group = p.C
				p.M = p.C * (1 + r.IntN(2))
				p.OH, p.OW = p.OutSize()
				if p.Check() != nil {
					continue
				}
				var g dwkGeom
				if _, ok := newDW3x3(&p, make([]int64, dwRowsLen(p.OH))); !ok && g.set(&p) {
					ran++
				}
				x := randSlice(r, p.N*p.C*p.H*p.W)
				w := randSlice(r, p.M*p.KH*p.KW)
				var bias []float32
				if r.IntN(3) > 0 {
					bias = randSlice(r, p.M)
				}
				f := Fused{Act: Activation(r.IntN(3)), Lo: -1, Hi: 1}
				SetThreads(1 + r.IntN(2))
				y := nanSlice(p.N * p.M * p.OH * p.OW)
				Conv2DFused(&p, x, w, bias, y, f)
				checkConv(t, &p, x, w, bias, f, y)
				// Bit for bit the portable row updates' result.
				ohw, mg := p.OH*p.OW, p.M/p.C
				for pl := 0; pl < p.N*p.M && p.depthwise(); pl++ {
					n, m := pl/p.M, pl%p.M
					ci := n*p.C + m/mg
					var b float32
					if bias != nil {
						b = bias[m]
					}
					ref := make([]float32, ohw)
					depthwisePlane(&p, x[ci*p.H*p.W:(ci+1)*p.H*p.W], w[m*p.KH*p.KW:(m+1)*p.KH*p.KW], b, ref, f)
					for i, v := range ref {
						if got := y[pl*ohw+i]; math.Float32bits(got) != math.Float32bits(v) && !(v == 0 && got == 0) {
							t.Fatalf("%s: plane %d y[%d] = %g, portable %g", convString(&p), pl, i, got, v)
						}
					}
				}
				pc := PackConv2D(&p, w)
				y = nanSlice(len(y))
				pc.Run(x, bias, y, f)
				checkConv(t, &p, x, w, bias, f, y)
				if it == 1 {
					checkConvAdd(t, r, &p, x, w, bias, f, func(res, y []float32) { pc.RunAdd(x, bias, res, y, f) })
				}
			}
		}
	}
	SetThreads(1)
	if dwkAsm() && ran < 250 {
		t.Errorf("only %d cases ran the k×k kernel", ran)
	}
}

// TestCopy2 checks the stride-2 copy of strided im2col rows (vector
// kernels where present) against the scalar loop for every length up to
// a few vectors, with the source exactly as long as needed (2n-1) or
// longer, so vector blocks never read past the source.
func TestCopy2(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for n := 1; n <= 70; n++ {
		for extra := 0; extra < 3; extra++ {
			x := randSlice(r, 2*n-1+extra)
			y := nanSlice(n + 1)
			copy2(x, y[:n])
			for i := 0; i < n; i++ {
				if math.Float32bits(y[i]) != math.Float32bits(x[2*i]) {
					t.Fatalf("n=%d extra=%d: y[%d] = %g, want x[%d] = %g", n, extra, i, y[i], 2*i, x[2*i])
				}
			}
			if !math.IsNaN(float64(y[n])) {
				t.Fatalf("n=%d: wrote past y", n)
			}
		}
	}
}

// TestDepthwiseInterleaved covers the channel-interleaved kernel of
// small planes (depthwise_c8.go): windows 1 to 7, both strides, vertical
// and horizontal dilation, pads, channel counts with and without a
// remainder past the groups of eight, batches, missing biases,
// activations and two threads, bit for bit against the portable row
// updates.
func TestDepthwiseInterleaved(t *testing.T) {
	if !dwc8Asm() {
		if !dwkHasAVX512() {
			t.Skip("no AVX2")
		}
		dwkNoAVX512 = true
		defer func() { dwkNoAVX512 = false }()
	}
	r := rand.New(rand.NewPCG(31, 32))
	ran := 0
	for it := 0; it < 300; it++ {
		k := 1 + r.IntN(7)
		p := Conv2DParams{N: 1 + r.IntN(2), C: 8 * (1 + r.IntN(3)), H: 1 + r.IntN(20), W: 1 + r.IntN(20), KH: k, KW: 1 + r.IntN(7),
			StrideH: 1 + r.IntN(2), StrideW: 1 + r.IntN(2), DilH: 1 + r.IntN(2), DilW: 1 + r.IntN(2),
			PadT: r.IntN(k + 1), PadB: r.IntN(k + 1)}
		p.PadL, p.PadR = r.IntN(p.KW+1), r.IntN(p.KW+1)
		if it%3 == 0 {
			p.C += 1 + r.IntN(7) // channels past the last group of eight
		}
		if it%4 == 0 { // MobileNet's form
			p.KH, p.KW, p.DilH, p.DilW, p.PadT, p.PadL, p.PadB, p.PadR = 3, 3, 1, 1, 1, 1, 1, 1
			p.StrideW = p.StrideH
		}
		p.Group, p.M = p.C, p.C
		p.OH, p.OW = p.OutSize()
		if p.Check() != nil {
			continue
		}
		var g dwkGeom
		if !g.set(&p) || !dwc8Applies(&p) {
			continue
		}
		ran++
		x := randSlice(r, p.N*p.C*p.H*p.W)
		w := randSlice(r, p.M*p.KH*p.KW)
		var bias []float32
		if it%5 > 0 {
			bias = randSlice(r, p.M)
		}
		f := Fused{Act: Activation(it % 3), Lo: -0.5, Hi: 0.75}
		SetThreads(1 + it%2)
		y := nanSlice(p.N * p.M * p.OH * p.OW)
		Conv2DFused(&p, x, w, bias, y, f)
		ohw := p.OH * p.OW
		for pl := 0; pl < p.N*p.M; pl++ {
			n, m := pl/p.M, pl%p.M
			var b float32
			if bias != nil {
				b = bias[m]
			}
			ref := make([]float32, ohw)
			depthwisePlane(&p, x[(n*p.C+m)*p.H*p.W:(n*p.C+m+1)*p.H*p.W], w[m*p.KH*p.KW:(m+1)*p.KH*p.KW], b, ref, f)
			for i, v := range ref {
				if got := y[pl*ohw+i]; math.Float32bits(got) != math.Float32bits(v) && !(v == 0 && got == 0) {
					t.Fatalf("%s: plane %d y[%d] = %g, portable %g", convString(&p), pl, i, got, v)
				}
			}
		}
	}
	SetThreads(1)
	if ran < 150 {
		t.Errorf("only %d cases ran interleaved", ran)
	}
}
