package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// mv2Convs lists torchvision MobileNetV2's convolutions (224×224 input)
// with how many times each shape occurs.
func mv2Convs() (ps []Conv2DParams, counts []int) {
	add := func(n int, p Conv2DParams) {
		p.N, p.DilH, p.DilW = 1, 1, 1
		if p.Group == 0 {
			p.Group = 1
		}
		if p.StrideH == 0 {
			p.StrideH, p.StrideW = 1, 1
		}
		p.OH, p.OW = p.OutSize()
		for i, q := range ps {
			if q == p {
				counts[i] += n
				return
			}
		}
		ps, counts = append(ps, p), append(counts, n)
	}
	pw := func(c, m, hw int) {
		add(1, Conv2DParams{C: c, H: hw, W: hw, M: m, KH: 1, KW: 1})
	}
	dw := func(c, hw, s int) {
		add(1, Conv2DParams{C: c, H: hw, W: hw, M: c, KH: 3, KW: 3, StrideH: s, StrideW: s, PadT: 1, PadL: 1, PadB: 1, PadR: 1, Group: c})
	}
	add(1, Conv2DParams{C: 3, H: 224, W: 224, M: 32, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadT: 1, PadL: 1, PadB: 1, PadR: 1})
	dw(32, 112, 1)
	pw(32, 16, 112)
	in, hw := 16, 112
	for _, b := range []struct{ c, n, s int }{{24, 2, 2}, {32, 3, 2}, {64, 4, 2}, {96, 3, 1}, {160, 3, 2}, {320, 1, 1}} {
		for i := 0; i < b.n; i++ {
			s := 1
			if i == 0 {
				s = b.s
			}
			pw(in, 6*in, hw)
			dw(6*in, hw, s)
			hw = (hw-1)/s + 1
			pw(6*in, b.c, hw)
			in = b.c
		}
	}
	pw(320, 1280, 7)
	return ps, counts
}

// BenchmarkMV2Layers prints float32 and int8 (requantised) times of
// MobileNetV2's convolution shapes, one thread, and their sum weighted
// by occurrence: a profiling aid (go test ./kernels -run '^$' -bench
// MV2Layers -benchtime 1x).
func BenchmarkMV2Layers(b *testing.B) {
	ps, counts := mv2Convs()
	r := rand.New(rand.NewPCG(1, 2))
	var totF, totQ time.Duration
	for i, p := range ps {
		K := p.C / p.Group * p.KH * p.KW
		xf := randSlice(r, p.N*p.C*p.H*p.W)
		wf := randSlice(r, p.M*K)
		bias := randSlice(r, p.M)
		yf := make([]float32, p.N*p.M*p.OH*p.OW)
		pf := PackConv2D(&p, wf)
		xq := randBytes(r, len(xf))
		wq := q8Weights(r, p.M*K, true)
		yq := make([]byte, len(yf))
		pq := QPackConv2D(&p, wq, true, nil)
		rq := Requant{Bias: make([]int32, p.M), Scale: make([]float32, p.M), Zero: 3, Lo: 0, Hi: 255}
		for m := range rq.Scale {
			rq.Scale[m] = 0.001
		}
		// Interleaved short windows, minimum per call: the machine is
		// shared, and the minimum is the steadiest figure under load.
		tf, tq := time.Duration(1<<62), time.Duration(1<<62)
		for rep := 0; rep < 30; rep++ {
			for _, e := range []struct {
				f    func()
				best *time.Duration
			}{{func() { pf.Run(xf, bias, yf, Fused{Act: ActClip, Lo: 0, Hi: 6}) }, &tf}, {func() { pq.RunRequant(xq, false, 128, &rq, yq) }, &tq}} {
				for k := 0; k < 3; k++ {
					t0 := time.Now()
					e.f()
					*e.best = min(*e.best, time.Since(t0))
				}
			}
		}
		totF += tf * time.Duration(counts[i])
		totQ += tq * time.Duration(counts[i])
		fmt.Printf("%-40s ×%d  f32 %7.1fµs  q8 %7.1fµs  %.2f×\n", fmt.Sprintf("%dx%d %d→%d @%d s%d g%d", p.KH, p.KW, p.C, p.M, p.H, p.StrideH, p.Group), counts[i],
			float64(tf.Nanoseconds())/1e3, float64(tq.Nanoseconds())/1e3, float64(tq)/float64(tf))
	}
	fmt.Printf("total f32 %.2f ms, q8 %.2f ms, %.2f×\n", float64(totF.Nanoseconds())/1e6, float64(totQ.Nanoseconds())/1e6, float64(totQ)/float64(totF))
}
