package kernels

import (
	"math/rand/v2"
	"testing"
)

// TestSteadyStateAllocs checks that convolutions and pooling, once their
// pools are warm, allocate at most the closure handed to parallelFor.
func TestSteadyStateAllocs(t *testing.T) {
	r := rand.New(rand.NewPCG(51, 52))
	convs := []Conv2DParams{
		{N: 1, C: 16, H: 20, W: 20, M: 24, KH: 1, KW: 1, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, Group: 1},
		{N: 1, C: 8, H: 20, W: 20, M: 16, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, Group: 1},
		{N: 1, C: 8, H: 21, W: 21, M: 16, KH: 3, KW: 3, StrideH: 2, StrideW: 2, DilH: 1, DilW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, Group: 1},
		{N: 1, C: 8, H: 20, W: 20, M: 8, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, Group: 8},
		{N: 8, C: 4, H: 6, W: 6, M: 8, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, Group: 1},
	}
	for _, p := range convs {
		p.OH, p.OW = p.OutSize()
		x := randSlice(r, p.N*p.C*p.H*p.W)
		w := randSlice(r, p.M*p.C/p.Group*p.KH*p.KW)
		bias := randSlice(r, p.M)
		y := make([]float32, p.N*p.M*p.OH*p.OW)
		pc := PackConv2D(&p, w)
		f := Fused{Act: ActRelu}
		if n := testing.AllocsPerRun(20, func() { pc.Run(x, bias, y, f) }); n > 1 {
			t.Errorf("%s: PackedConv2D.Run allocates %v times per call", convString(&p), n)
		}
		if n := testing.AllocsPerRun(20, func() { Conv2DFused(&p, x, w, bias, y, f) }); n > 1 {
			t.Errorf("%s: Conv2DFused allocates %v times per call", convString(&p), n)
		}
	}
	for _, p := range []Pool2DParams{
		{N: 2, C: 3, H: 8, W: 8, KH: 2, KW: 2, StrideH: 2, StrideW: 2, DilH: 1, DilW: 1},
		{N: 1, C: 3, H: 40, W: 40, KH: 3, KW: 3, StrideH: 2, StrideW: 2, DilH: 1, DilW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1},
	} {
		p.OH, p.OW = p.OutSize(false)
		x := randSlice(r, p.N*p.C*p.H*p.W)
		y := make([]float32, p.N*p.C*p.OH*p.OW)
		if n := testing.AllocsPerRun(20, func() { MaxPool2D(&p, x, y) }); n > 1 {
			t.Errorf("%+v: MaxPool2D allocates %v times per call", p, n)
		}
		if n := testing.AllocsPerRun(20, func() { AvgPool2D(&p, x, y) }); n > 1 {
			t.Errorf("%+v: AvgPool2D allocates %v times per call", p, n)
		}
	}
}
