package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func BenchmarkTmpConv(b *testing.B) {
	r := rand.New(rand.NewPCG(2, 2))
	for _, c := range []struct {
		name string
		p    Conv2DParams
	}{
		{"1x1_192_40", Conv2DParams{N: 1, C: 192, H: 40, W: 40, M: 192, KH: 1, KW: 1, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, Group: 1}},
		{"1x1_96_80", Conv2DParams{N: 1, C: 96, H: 80, W: 80, M: 96, KH: 1, KW: 1, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, Group: 1}},
		{"1x1_48_160", Conv2DParams{N: 1, C: 48, H: 160, W: 160, M: 48, KH: 1, KW: 1, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, Group: 1}},
		{"3x3_96to24_80", Conv2DParams{N: 1, C: 96, H: 80, W: 80, M: 24, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, Group: 1}},
		{"1x1_384_20", Conv2DParams{N: 1, C: 384, H: 20, W: 20, M: 384, KH: 1, KW: 1, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, Group: 1}},
	} {
		p := c.p
		p.OH, p.OW = p.OutSize()
		x := randSlice(r, p.N*p.C*p.H*p.W)
		w := randSlice(r, p.M*p.C/p.Group*p.KH*p.KW)
		bias := randSlice(r, p.M)
		y := make([]float32, p.N*p.M*p.OH*p.OW)
		pc := PackConv2D(&p, w)
		flops := 2 * float64(p.N*p.M*p.OH*p.OW*p.C/p.Group*p.KH*p.KW)
		for _, th := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/t%d", c.name, th), func(b *testing.B) {
				SetThreads(th)
				defer SetThreads(1)
				for b.Loop() {
					pc.Run(x, bias, y, Fused{Act: ActRelu})
				}
				reportGFLOPS(b, flops)
			})
		}
	}
}
