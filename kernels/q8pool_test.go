package kernels

import (
	"math/rand/v2"
	"testing"
)

// TestMaxPool2DU8 checks the 8-bit max pooling against the window
// maximum written out, for both signednesses, kernel sizes, strides,
// dilations and paddings, rows wider and narrower than a vector, and
// two threads.
func TestMaxPool2DU8(t *testing.T) {
	r := rand.New(rand.NewPCG(91, 92))
	defer SetThreads(1)
	for it := 0; it < 300; it++ {
		p := Pool2DParams{N: 1 + r.IntN(2), C: 1 + r.IntN(4), H: 1 + r.IntN(20), W: 1 + r.IntN(80),
			KH: 1 + r.IntN(3), KW: 1 + r.IntN(4), StrideH: 1 + r.IntN(2), StrideW: 1 + r.IntN(3), DilH: 1 + r.IntN(2), DilW: 1 + r.IntN(2)}
		p.PadT, p.PadB = r.IntN(p.KH), r.IntN(p.KH)
		p.PadL, p.PadR = r.IntN(p.KW), r.IntN(p.KW)
		p.OH = (p.H+p.PadT+p.PadB-(p.KH-1)*p.DilH-1)/p.StrideH + 1
		p.OW = (p.W+p.PadL+p.PadR-(p.KW-1)*p.DilW-1)/p.StrideW + 1
		if p.OH <= 0 || p.OW <= 0 || p.Check() != nil {
			continue
		}
		signed := it%2 == 1
		x := randBytes(r, p.N*p.C*p.H*p.W)
		y := make([]byte, p.N*p.C*p.OH*p.OW+1)
		y[len(y)-1] = 0x5a
		SetThreads(1 + it%2)
		MaxPool2DU8(&p, x, signed, y[:len(y)-1])
		if y[len(y)-1] != 0x5a {
			t.Fatalf("%+v: wrote past the end", p)
		}
		for pl := 0; pl < p.N*p.C; pl++ {
			for oh := 0; oh < p.OH; oh++ {
				for ow := 0; ow < p.OW; ow++ {
					best, found := 0, false
					for kh := 0; kh < p.KH; kh++ {
						for kw := 0; kw < p.KW; kw++ {
							ih, iw := oh*p.StrideH-p.PadT+kh*p.DilH, ow*p.StrideW-p.PadL+kw*p.DilW
							if ih < 0 || ih >= p.H || iw < 0 || iw >= p.W {
								continue
							}
							v := int(x[pl*p.H*p.W+ih*p.W+iw])
							if signed {
								v = int(int8(v))
							}
							if !found || v > best {
								best, found = v, true
							}
						}
					}
					if !found {
						best = 0
						if signed {
							best = -128
						}
					}
					got := int(y[(pl*p.OH+oh)*p.OW+ow])
					if signed {
						got = int(int8(got))
					}
					if got != best {
						t.Fatalf("%+v signed=%v: y[%d,%d,%d] = %d, want %d", p, signed, pl, oh, ow, got, best)
					}
				}
			}
		}
	}
}
