package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestQSteadyStateAllocs checks that the integer convolutions, GEMMs
// and max pooling, once their pools are warm, allocate nothing, with one thread and with
// several.
func TestQSteadyStateAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	defer SetThreads(Threads())
	r := rand.New(rand.NewPCG(61, 62))
	bytes := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.IntN(128))
		}
		return b
	}
	type tc struct {
		name string
		f    func()
	}
	var cases []tc
	for _, p := range []Conv2DParams{
		{N: 1, C: 32, H: 28, W: 28, M: 64, KH: 1, KW: 1, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, Group: 1},
		{N: 1, C: 16, H: 20, W: 20, M: 32, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, Group: 1},
		{N: 1, C: 16, H: 21, W: 21, M: 32, KH: 3, KW: 3, StrideH: 2, StrideW: 2, DilH: 1, DilW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, Group: 1},
		{N: 64, C: 16, H: 4, W: 4, M: 32, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, Group: 1},
		{N: 1, C: 32, H: 28, W: 28, M: 32, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, Group: 32},
		{N: 1, C: 32, H: 28, W: 28, M: 32, KH: 5, KW: 5, StrideH: 2, StrideW: 2, DilH: 1, DilW: 1, PadT: 2, PadL: 2, PadB: 2, PadR: 2, Group: 32},
	} {
		p.OH, p.OW = p.OutSize()
		x := bytes(p.N * p.C * p.H * p.W)
		w := bytes(p.M * p.C / p.Group * p.KH * p.KW)
		for i := range w {
			w[i] -= 64 // signed 7-bit weights
		}
		pc := QPackConv2D(&p, w, true, []byte{0})
		rq := &Requant{Bias: make([]int32, p.M), Scale: make([]float32, p.M), Zero: 3, Lo: 0, Hi: 255}
		for m := range rq.Scale {
			rq.Scale[m] = 0.001
		}
		y := make([]byte, p.N*p.M*p.OH*p.OW)
		cases = append(cases, tc{"RunRequant " + convString(&p), func() { pc.RunRequant(x, false, 7, rq, y) }})
	}
	const M, K, N = 64, 96, 80
	a, b := bytes(M*K), bytes(K*N)
	pb := QPackB(K, N, b, N, false, []byte{5})
	c, az := make([]int32, M*N), []byte{9}
	cases = append(cases, tc{"QGemmPackedB", func() { QGemmPackedB(M, a, K, false, az, pb, c, N) }})
	// Max pooling on bytes: rows of at least a vector (stride 1 and 2)
	// and short ones.
	for _, pp := range []Pool2DParams{
		{N: 1, C: 16, H: 40, W: 40, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadT: 1, PadL: 1, PadB: 1, PadR: 1, DilH: 1, DilW: 1},
		{N: 1, C: 16, H: 40, W: 40, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, DilH: 1, DilW: 1},
		{N: 1, C: 16, H: 8, W: 8, KH: 2, KW: 2, StrideH: 2, StrideW: 2, DilH: 1, DilW: 1},
	} {
		pp.OH, pp.OW = pp.OutSize(false)
		px, py := bytes(pp.N*pp.C*pp.H*pp.W), make([]byte, pp.N*pp.C*pp.OH*pp.OW)
		cases = append(cases, tc{fmt.Sprintf("MaxPool2DU8 %dx%d/%d", pp.H, pp.W, pp.StrideW), func() { MaxPool2DU8(&pp, px, true, py) }})
	}
	for _, threads := range []int{1, 2} {
		SetThreads(threads)
		for _, c := range cases {
			if n := testing.AllocsPerRun(20, c.f); n > 0 {
				t.Errorf("threads=%d: %s allocates %v times per call", threads, c.name, n)
			}
		}
	}
}
