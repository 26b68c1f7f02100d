package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestQConvRunRequant checks the fused int8 convolution with
// requantisation against the exact int64 reference followed by the
// float32 requantisation, for depthwise (strides, dilations, padding,
// channel multipliers, signedness) and other convolutions: every output
// byte must be equal.
func TestQConvRunRequant(t *testing.T) {
	for _, k := range append(testQKernels(), q8EmuParent()) {
		withQKernel(t, k, func(t *testing.T) {
			r := rand.New(rand.NewPCG(41, 42))
			for it := 0; it < 200; it++ {
				p := randConv(r)
				if it%3 == 0 { // more depthwise cases, bigger planes
					p.C = 1 + r.IntN(6)
					p.Group, p.M = p.C, p.C*(1+r.IntN(2))
					p.H, p.W = 1+r.IntN(40), 1+r.IntN(40)
					p.KH, p.KW = 1+r.IntN(5), 1+r.IntN(5)
					p.OH, p.OW = p.OutSize()
					if p.OH <= 0 || p.OW <= 0 {
						continue
					}
				}
				if it%10 == 4 { // column stride 2 on wide rows: the split-phase im2col
					g := 1 + r.IntN(2)
					p = Conv2DParams{N: 1, C: g * (1 + r.IntN(4)), H: 1 + r.IntN(12), W: 16 + r.IntN(50), M: g * (1 + r.IntN(8)),
						KH: 1 + r.IntN(4), KW: 2 + r.IntN(4), StrideH: 1 + r.IntN(2), StrideW: 2, DilH: 1, DilW: 1,
						PadT: r.IntN(3), PadL: r.IntN(4), PadB: r.IntN(3), PadR: r.IntN(4), Group: g}
					p.OH, p.OW = p.OutSize()
					if p.OH <= 0 || p.OW <= 0 {
						continue
					}
				}
				if it%10 == 6 || it%10 == 7 { // stride 1: the padded-input GEMM (runPadded)
					g := 1 + r.IntN(2)
					p = Conv2DParams{N: 1, C: g * (1 + r.IntN(12)), H: 1 + r.IntN(20), W: 1 + r.IntN(40), M: g * (1 + r.IntN(14)),
						KH: 1 + r.IntN(4), KW: 2 + r.IntN(3), StrideH: 1, StrideW: 1, DilH: 1, DilW: 1,
						PadT: r.IntN(3), PadL: r.IntN(3), PadB: r.IntN(3), PadR: r.IntN(3), Group: g}
					if it%10 == 7 { // K beyond one k-block
						p.C, p.Group, p.M, p.KH, p.KW = 120+r.IntN(20), 1, 1+r.IntN(10), 3, 3
					}
					p.OH, p.OW = p.OutSize()
					if p.OH <= 0 || p.OW <= 0 {
						continue
					}
				}
				if it%10 == 9 { // K beyond one k-block of the int8 kernels
					p = Conv2DParams{N: 1, C: q8KC + 1 + r.IntN(100), H: 1 + r.IntN(9), W: 1 + r.IntN(9), M: 1 + r.IntN(20),
						KH: 1, KW: 1, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, Group: 1}
					p.OH, p.OW = p.OutSize()
				}
				xS, wS := r.IntN(2) == 0, r.IntN(2) == 0
				x := randBytes(r, p.N*p.C*p.H*p.W)
				w := randBytes(r, p.M*p.C/p.Group*p.KH*p.KW)
				if it%2 == 1 { // 7-bit weights: the q8 kernels' requantising tiles
					w = q8Weights(r, len(w), wS)
				}
				xz := byte(r.Uint32())
				wz := randZeros(r, p.M)
				acc := qconvRef(&p, x, xS, xz, w, wS, wz)
				rq := Requant{Bias: make([]int32, p.M), Scale: make([]float32, p.M), Zero: int32(r.IntN(256)), Lo: 0, Hi: 255}
				if r.IntN(2) == 0 {
					rq.Zero, rq.Lo, rq.Hi = int32(r.IntN(256))-128, -128, 127
				}
				if r.IntN(3) == 0 { // a fused Relu or Clip
					rq.Lo = min(rq.Hi, rq.Lo+int32(r.IntN(100)))
				}
				for m := range rq.Bias {
					rq.Bias[m] = int32(r.IntN(20001)) - 10000
					rq.Scale[m] = float32(r.Float64()*0.002 + 1e-4)
				}
				want := make([]byte, len(acc))
				ohw := p.OH * p.OW
				for i, a := range acc {
					m := (i / ohw) % p.M
					q := math.RoundToEven(float64(float32(a+rq.Bias[m])*rq.Scale[m])) + float64(rq.Zero)
					want[i] = byte(int32(min(max(q, float64(rq.Lo)), float64(rq.Hi))))
				}
				SetThreads(1 + it%2)
				for _, viaFloat := range []bool{true, false} { // both depthwise paths
					qdwViaFloat = viaFloat
					got := make([]byte, len(want)+1)
					got[len(want)] = 0x5a
					QPackConv2D(&p, w, wS, wz).RunRequant(x, xS, xz, &rq, got[:len(want)])
					for i := range want {
						if got[i] != want[i] {
							t.Fatalf("%s xS=%v wS=%v xz=%d viaFloat=%v: y[%d] = %d, want %d (sum %d)", convString(&p), xS, wS, xz, viaFloat, i, got[i], want[i], acc[i])
						}
					}
					if got[len(want)] != 0x5a {
						t.Fatalf("%s: wrote past the end", convString(&p))
					}
				}
				qdwViaFloat = true
			}
			SetThreads(1)
		})
	}
}

// TestQuantize8 checks Quantize8 against float64 arithmetic on the
// float32 quotient, with ties, saturation and both output types.
func TestQuantize8(t *testing.T) {
	r := rand.New(rand.NewPCG(43, 44))
	for n := 0; n < 70; n++ {
		src := make([]float32, n)
		scale := float32(0.05 + r.Float64())
		for i := range src {
			switch i % 5 {
			case 0:
				src[i] = (float32(r.IntN(600)) - 300 + 0.5) * scale // near ties
			default:
				src[i] = float32(r.NormFloat64() * 100)
			}
		}
		for _, s := range []struct{ zero, lo, hi int32 }{{128, 0, 255}, {-5, -128, 127}, {0, 10, 200}} {
			dst := make([]byte, n+1)
			dst[n] = 0x77
			Quantize8(dst[:n], src, scale, s.zero, s.lo, s.hi)
			for i, v := range src {
				q := math.RoundToEven(float64(v/scale)) + float64(s.zero)
				want := byte(int32(min(max(q, float64(s.lo)), float64(s.hi))))
				if dst[i] != want {
					t.Fatalf("n=%d %v: Quantize8(%g / %g) = %d, want %d", n, s, v, scale, dst[i], want)
				}
			}
			if dst[n] != 0x77 {
				t.Fatal("wrote past the end")
			}
		}
	}
}

// BenchmarkQDepthwise times MobileNetV2's depthwise layers as int8
// (RunRequant) and as float32 (Conv2D) on one thread.
func BenchmarkQDepthwise(b *testing.B) {
	SetThreads(1)
	for _, s := range []struct{ C, H, S int }{{32, 112, 1}, {96, 112, 2}, {144, 56, 1}, {144, 56, 2}, {192, 28, 1}, {192, 28, 2}, {576, 14, 1}, {576, 14, 2}, {960, 7, 1}} {
		p := Conv2DParams{N: 1, C: s.C, H: s.H, W: s.H, M: s.C, KH: 3, KW: 3, StrideH: s.S, StrideW: s.S, DilH: 1, DilW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, Group: s.C}
		p.OH, p.OW = p.OutSize()
		r := rand.New(rand.NewPCG(1, 2))
		x := randBytes(r, p.C*p.H*p.W)
		w := make([]byte, p.M*9)
		for i := range w {
			w[i] = byte(r.IntN(127) - 63)
		}
		rq := Requant{Bias: make([]int32, p.M), Scale: make([]float32, p.M), Zero: 0, Lo: 0, Hi: 255}
		for m := range rq.Scale {
			rq.Scale[m] = 0.001
		}
		pc := QPackConv2D(&p, w, true, make([]byte, p.M))
		y := make([]byte, p.M*p.OH*p.OW)
		b.Run(fmt.Sprintf("int8/%dx%dx%d_s%d", s.C, s.H, s.H, s.S), func(b *testing.B) {
			for range b.N {
				pc.RunRequant(x, false, 128, &rq, y)
			}
		})
		b.Run(fmt.Sprintf("int8viaF32/%dx%dx%d_s%d", s.C, s.H, s.H, s.S), func(b *testing.B) {
			qdw3Enabled = false
			defer func() { qdw3Enabled = true }()
			for range b.N {
				pc.RunRequant(x, false, 128, &rq, y)
			}
		})
		xf := make([]float32, len(x))
		wf := make([]float32, len(w))
		yf := make([]float32, len(y))
		b.Run(fmt.Sprintf("fp32/%dx%dx%d_s%d", s.C, s.H, s.H, s.S), func(b *testing.B) {
			for range b.N {
				Conv2D(&p, xf, wf, nil, yf)
			}
		})
	}
}
