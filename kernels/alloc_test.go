package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestSteadyStateAllocs checks that convolutions and pooling, once their
// pools are warm, allocate nothing, with one thread and with several.
func TestSteadyStateAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	defer SetThreads(Threads())
	for _, threads := range []int{1, 2, 3} {
		SetThreads(threads)
		t.Run(fmt.Sprint("threads=", threads), steadyStateAllocs)
	}
}

func steadyStateAllocs(t *testing.T) {
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
		if n := testing.AllocsPerRun(20, func() { pc.Run(x, bias, y, f) }); n > 0 {
			t.Errorf("%s: PackedConv2D.Run allocates %v times per call", convString(&p), n)
		}
		if n := testing.AllocsPerRun(20, func() { Conv2DFused(&p, x, w, bias, y, f) }); n > 0 {
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
		if n := testing.AllocsPerRun(20, func() { MaxPool2D(&p, x, y) }); n > 0 {
			t.Errorf("%+v: MaxPool2D allocates %v times per call", p, n)
		}
		if n := testing.AllocsPerRun(20, func() { AvgPool2D(&p, x, y) }); n > 0 {
			t.Errorf("%+v: AvgPool2D allocates %v times per call", p, n)
		}
	}
}

// TestSteadyStateAllocsOthers checks GEMMs, a 5×5 depthwise convolution,
// row reductions and resizing the same way, sized so that they split
// over the threads.
func TestSteadyStateAllocsOthers(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	defer SetThreads(Threads())
	r := rand.New(rand.NewPCG(53, 54))
	const M, N, K = 96, 256, 128
	a, b, c := randSlice(r, M*K), randSlice(r, K*N), make([]float32, M*N)
	pb := PackB(false, K, N, b, N)
	pa := PackA(false, M, K, a, K)
	dw := Conv2DParams{N: 1, C: 32, H: 40, W: 40, M: 32, KH: 5, KW: 5, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, PadT: 2, PadL: 2, PadB: 2, PadR: 2, Group: 32}
	dw.OH, dw.OW = dw.OutSize()
	dx, dwt := randSlice(r, 32*40*40), randSlice(r, 32*25)
	dy := make([]float32, 32*dw.OH*dw.OW)
	pdw := PackConv2D(&dw, dwt)
	rows := make([]float32, 64)
	x := randSlice(r, 64*4096)
	ry := make([]float32, 64*80*80)
	idx := make([]int32, 80)
	for i := range idx {
		idx[i] = int32(i / 2)
	}
	cases := []struct {
		name string
		f    func()
	}{
		{"Sgemm", func() { Sgemm(false, false, M, N, K, 1, a, K, b, N, 0, c, N) }},
		{"SgemmPackedB", func() { SgemmPackedB(false, M, 1, a, K, pb, 0, c, N) }},
		{"SgemmPackedA", func() { SgemmPackedA(pa, false, N, 1, b, N, 0, c, N) }},
		{"depthwise 5×5", func() { pdw.Run(dx, nil, dy, Fused{}) }},
		{"SumRows", func() { SumRows(rows, x, 4096, 1) }},
		{"MaxRows", func() { MaxRows(rows, x, 4096) }},
		{"ResizeNearest2D", func() { ResizeNearest2D(x[:64*40*40], ry, 64, 40, 40, idx, idx) }},
	}
	for _, threads := range []int{1, 2, 3} {
		SetThreads(threads)
		for _, c := range cases {
			if n := testing.AllocsPerRun(20, c.f); n > 0 {
				t.Errorf("threads=%d: %s allocates %v times per call", threads, c.name, n)
			}
		}
	}
}
