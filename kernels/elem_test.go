package kernels

import (
	"math"
	"math/rand"
	"testing"
)

// sameF reports whether a and b are the same float32, NaN equal to NaN
// and -0 to +0 (max(-0, 0) may give either).
func sameF(a, b float32) bool {
	return a == b || a != a && b != b
}

func elemInputs(r *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64() * 4)
	}
	if n > 5 {
		x[1], x[3], x[5] = float32(math.NaN()), float32(math.Inf(1)), 0
	}
	return x
}

// Every element-wise kernel gives exactly the scalar loop's result, for
// lengths around the vector and unroll sizes, at odd offsets and in place.
func TestElementwiseMatchesScalar(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	ops := []BinOp{OpAdd, OpSub, OpMul, OpDiv}
	for _, n := range []int{0, 1, 7, 8, 9, 31, 32, 33, 40, 71, 200, 1029} {
		for _, off := range []int{0, 1, 3} {
			x := elemInputs(r, n+off)[off:]
			y := elemInputs(r, n+off)[off:]
			s := float32(r.NormFloat64())
			check := func(name string, got, want []float32) {
				t.Helper()
				for i := range want {
					if !sameF(got[i], want[i]) {
						t.Fatalf("%s n=%d off=%d: [%d] = %g, want %g (x %g, y %g)", name, n, off, i, got[i], want[i], x[i], y[i])
					}
				}
			}
			for _, op := range ops {
				for _, rev := range []bool{false, true} {
					want := make([]float32, n)
					binaryVSGo(op, want, x, s, rev)
					got := make([]float32, n)
					BinaryVS(op, got, x, s, rev)
					check("BinaryVS", got, want)
					inPlace := append([]float32(nil), x...)
					BinaryVS(op, inPlace, inPlace, s, rev)
					check("BinaryVS in place", inPlace, want)
				}
				want := make([]float32, n)
				binaryVVGo(op, want, x, y)
				got := make([]float32, n)
				BinaryVV(op, got, x, y)
				check("BinaryVV", got, want)
			}
			want, got := make([]float32, n), make([]float32, n)
			for i, v := range x {
				want[i] = min(max(v, -1), 2)
			}
			Clamp(got, x, -1, 2)
			check("Clamp", got, want)
			for i, v := range x {
				want[i] = float32(v*s) + 0.25
			}
			MulAdd(got, x, s, 0.25)
			check("MulAdd", got, want)
			for i, v := range x {
				want[i] = v * min(max(v+3, 0), 6)
			}
			HardSwishPattern(got, x, 3, 0, 6)
			check("HardSwishPattern", got, want)
		}
	}
}

func BenchmarkElementwise(b *testing.B) {
	const n = 1 << 16
	x, y, d := make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range x {
		x[i], y[i] = float32(i%17)-8, float32(i%5)+1
	}
	for _, c := range []struct {
		name string
		f    func()
	}{
		{"addVS", func() { BinaryVS(OpAdd, d, x, 3, false) }},
		{"divVS", func() { BinaryVS(OpDiv, d, x, 6, false) }},
		{"mulVV", func() { BinaryVV(OpMul, d, x, y) }},
		{"clamp", func() { Clamp(d, x, 0, 6) }},
		{"hswish", func() { HardSwishPattern(d, x, 3, 0, 6) }},
		{"goAddVS", func() { binaryVSGo(OpAdd, d, x, 3, false) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(8 * n)
			for i := 0; i < b.N; i++ {
				c.f()
			}
		})
	}
}

// The vector paths of Exp and Sigmoid (inputs of 8 or more) meet NaN,
// the infinities, overflow, underflow and the subnormal range as the
// scalar ones do.
func TestExpSigmoidSpecialVector(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	in := []float32{nan, inf, -inf, 100, -200, 88.3, -87.5, -100, 0, -0.0, 1, -1, 20, -20, 89.5, -103}
	for _, tc := range []struct {
		name string
		f    func(dst, src []float32)
		ref  func(float64) float64
	}{
		{"Exp", Exp, math.Exp},
		{"Sigmoid", Sigmoid, func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }},
	} {
		got := make([]float32, len(in))
		tc.f(got, in)
		for i, x := range in {
			w := float32(tc.ref(float64(x)))
			g := got[i]
			switch {
			case w != w || g != g:
				if (w != w) != (g != g) {
					t.Errorf("%s(%v) = %v, want %v", tc.name, x, g, w)
				}
			case math.IsInf(float64(w), 0) || w == 0:
				if g != w && !(w == 0 && math.Abs(float64(g)) < 1e-38) {
					t.Errorf("%s(%v) = %v, want %v", tc.name, x, g, w)
				}
			case math.Abs(float64(g-w)) > 4e-7*math.Abs(float64(w)) && math.Abs(float64(w)) > 1e-37:
				t.Errorf("%s(%v) = %v, want %v", tc.name, x, g, w)
			}
		}
	}
}
