package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestQAdd checks QAdd (the vector loop and the scalar tail) against
// float32 arithmetic written out element by element, on every pair of
// byte values, for each signedness of the inputs and of the output, and
// against the exact sum in float64 within one output step.
func TestQAdd(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	n := 256*256 + 5 // every pair, and a tail
	a, b := make([]byte, n), make([]byte, n)
	for i := range a {
		a[i], b[i] = byte(i), byte(i>>8)
	}
	for it := 0; it < 24; it++ {
		aS, bS := it&1 != 0, it&2 != 0
		fa := float32(r.Float64()*2 + 0.01)
		fb := float32(r.Float64()*2 + 0.01)
		za, zb := int32(r.IntN(256)), int32(r.IntN(256))
		if aS {
			za -= 128
		}
		if bS {
			zb -= 128
		}
		var zy, lo, hi int32 = int32(r.IntN(256)), 0, 255
		if it&4 != 0 {
			zy, lo, hi = zy-128, -128, 127
		}
		if it%3 == 0 { // a fused Relu
			lo = max(lo, zy)
		}
		c := float32(zy) - fa*float32(za) - fb*float32(zb)
		got := make([]byte, n+1)
		got[n] = 0x5a
		QAdd(got[:n], a, aS, b, bS, fa, fb, c, lo, hi)
		if got[n] != 0x5a {
			t.Fatal("QAdd wrote past the end")
		}
		val := func(x byte, signed bool) float32 {
			if signed {
				return float32(int8(x))
			}
			return float32(x)
		}
		for i := 0; i < n; i++ {
			x, y := val(a[i], aS), val(b[i], bS)
			s := float32(fa*x) + float32(float32(fb*y)+c)
			q := int32(math.RoundToEven(float64(s)))
			want := byte(min(max(q, lo), hi))
			if got[i] != want {
				t.Fatalf("it %d (aS=%v bS=%v lo=%d): a=%d b=%d: got %d, want %d", it, aS, bS, lo, a[i], b[i], got[i], want)
			}
			exact := float64(fa)*float64(x) + float64(fb)*float64(y) + float64(c)
			e := min(max(exact, float64(lo)), float64(hi))
			g := float64(int32(got[i]))
			if lo < 0 {
				g = float64(int8(got[i]))
			}
			if math.Abs(g-e) > 1 {
				t.Fatalf("it %d: a=%d b=%d: got %v, exact %v", it, a[i], b[i], g, exact)
			}
		}
	}
}
