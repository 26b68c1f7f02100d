package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// ulpErr returns |got - want| in units of float32 ulps at want (with
// a floor of the smallest normal, so values near 0 are judged in
// absolute terms).
func ulpErr(got float32, want float64) float64 {
	ulp := math.Max(math.Abs(want), 1.1754943508222875e-38) * (1.0 / (1 << 23))
	return math.Abs(float64(got)-want) / ulp
}

// mathCases are the inputs each function is checked on: a dense sweep,
// random values over several magnitudes, and special values.
func mathCases(lo, hi float64) []float32 {
	var xs []float32
	for x := lo; x <= hi; x += (hi - lo) / 20000 {
		xs = append(xs, float32(x))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		xs = append(xs, float32((rng.Float64()*2-1)*math.Pow(10, rng.Float64()*4-3)))
	}
	return append(xs, 0, float32(math.Copysign(0, -1)), 1e-30, -1e-30, 1e-6, -1e-6)
}

func TestMathf(t *testing.T) {
	for _, tc := range []struct {
		name    string
		f       func(dst, src []float32)
		ref     func(float64) float64
		lo, hi  float64
		maxUlps float64
		absTol  float64 // absolute error allowed per unit of |x| (GELU's 1+erf cancels for x << 0, as in every float32 GELU)
	}{
		{"Exp", Exp, math.Exp, -87, 88, 3, 0},
		{"Erf", Erf, math.Erf, -6, 6, 4, 0},
		{"Tanh", Tanh, math.Tanh, -12, 12, 6, 0},
		{"Sigmoid", Sigmoid, func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }, -80, 80, 6, 0},
		{"Gelu", Gelu, func(x float64) float64 { return 0.5 * x * (1 + math.Erf(x/math.Sqrt2)) }, -10, 10, 8, 2e-7},
		{"GeluTanh", GeluTanh, func(x float64) float64 {
			return 0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x)))
		}, -10, 10, 8, 2e-7},
	} {
		xs := mathCases(tc.lo, tc.hi)
		got := make([]float32, len(xs))
		tc.f(got, xs)
		worst, at := 0.0, float32(0)
		for i, x := range xs {
			want := tc.ref(float64(x))
			if math.Abs(float64(got[i])-want) <= tc.absTol*math.Max(1, math.Abs(float64(x))) {
				continue
			}
			if e := ulpErr(got[i], want); e > worst {
				worst, at = e, x
			}
		}
		if worst > tc.maxUlps {
			t.Errorf("%s: %.1f ulps at x=%g (limit %g)", tc.name, worst, at, tc.maxUlps)
		}
		t.Logf("%s: worst %.2f ulps", tc.name, worst)
	}
}

func TestMathfSpecial(t *testing.T) {
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	for _, tc := range []struct {
		name string
		f    func(dst, src []float32)
		in   []float32
		want []float32
	}{
		{"Exp", Exp, []float32{nan, inf, -inf, 100, -200}, []float32{nan, inf, 0, inf, 0}},
		{"Erf", Erf, []float32{nan, inf, -inf}, []float32{nan, 1, -1}},
		{"Tanh", Tanh, []float32{nan, inf, -inf}, []float32{nan, 1, -1}},
		{"Sigmoid", Sigmoid, []float32{inf, -inf, 0}, []float32{1, 0, 0.5}},
	} {
		got := make([]float32, len(tc.in))
		tc.f(got, tc.in)
		for i := range got {
			w, g := tc.want[i], got[i]
			if (w != w) != (g != g) || (w == w && w != g) {
				t.Errorf("%s(%v) = %v, want %v", tc.name, tc.in[i], g, w)
			}
		}
	}
}

func BenchmarkMathf(b *testing.B) {
	src := make([]float32, 4096)
	for i := range src {
		src[i] = float32(i%200)/20 - 5
	}
	dst := make([]float32, len(src))
	for _, bc := range []struct {
		name string
		f    func(dst, src []float32)
	}{{"Exp", Exp}, {"Erf", Erf}, {"Tanh", Tanh}, {"Sigmoid", Sigmoid}, {"Gelu", Gelu}, {"GeluTanh", GeluTanh}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(4 * len(src)))
			for i := 0; i < b.N; i++ {
				bc.f(dst, src)
			}
		})
	}
	b.Run("math.Erf", func(b *testing.B) {
		b.SetBytes(int64(4 * len(src)))
		for i := 0; i < b.N; i++ {
			for j, x := range src {
				dst[j] = float32(math.Erf(float64(x)))
			}
		}
	})
}

// TestMathfLengths checks every length up to 50 (the vector loops'
// remainders) against one-element calls, in place, and that nothing
// past len(dst) is written.
func TestMathfLengths(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    func(dst, src []float32)
	}{{"Exp", Exp}, {"Erf", Erf}, {"Tanh", Tanh}, {"Sigmoid", Sigmoid}, {"Gelu", Gelu}, {"GeluTanh", GeluTanh}} {
		for n := 0; n <= 50; n++ {
			src := make([]float32, n)
			for i := range src {
				src[i] = float32(i)*0.37 - 6
			}
			dst := make([]float32, n+1)
			dst[n] = 42
			tc.f(dst[:n], src)
			in := append([]float32(nil), src...)
			tc.f(in, in)
			for i, x := range src {
				var one [1]float32
				tc.f(one[:], []float32{x})
				if dst[i] != one[0] || in[i] != one[0] {
					t.Fatalf("%s n=%d: [%d] = %v (in place %v), alone %v", tc.name, n, i, dst[i], in[i], one[0])
				}
			}
			if dst[n] != 42 {
				t.Fatalf("%s n=%d wrote past the end", tc.name, n)
			}
		}
	}
}
