package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// reportGFLOPS sets the benchmark's GFLOP/s metric for flops operations
// per iteration.
func reportGFLOPS(b *testing.B, flops float64) {
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

func BenchmarkSgemm(b *testing.B) {
	shapes := []struct {
		name    string
		M, N, K int
	}{
		{"square256", 256, 256, 256},
		{"square512", 512, 512, 512},
		{"square1024", 1024, 1024, 1024},
		{"gemv_1x1000x1024", 1, 1000, 1024},
		{"fc_8x1000x1280", 8, 1000, 1280},
		{"conv1x1_16x12544x32", 16, 12544, 32},
		{"conv_32x12544x27", 32, 12544, 27},
	}
	r := rand.New(rand.NewPCG(1, 1))
	for _, s := range shapes {
		A, B, C := randSlice(r, s.M*s.K), randSlice(r, s.K*s.N), randSlice(r, s.M*s.N)
		for _, th := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/t%d", s.name, th), func(b *testing.B) {
				SetThreads(th)
				defer SetThreads(1)
				for b.Loop() {
					Sgemm(false, false, s.M, s.N, s.K, 1, A, s.K, B, s.N, 0, C, s.N)
				}
				reportGFLOPS(b, 2*float64(s.M*s.N*s.K))
			})
		}
	}
}
