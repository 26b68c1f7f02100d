package quant

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/nncc/nncc/ir"
)

func gaussian(n int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 1))
	xs := make([]float32, n)
	for i := range xs {
		xs[i] = float32(r.NormFloat64())
	}
	return xs
}

// The histogram methods clip a heavy tail that min/max keeps, in a way
// that does not depend on how the values were split into batches.
func TestObserverMethods(t *testing.T) {
	xs := gaussian(100000, 1)
	xs[0] = 40 // one outlier
	mm := NewObserver(0)
	mm.Add(xs)
	a := math.Max(-mm.Min, mm.Max)
	whole, split := NewObserver(a), NewObserver(a)
	whole.Add(xs)
	for i := 0; i < len(xs); i += 777 {
		split.Add(xs[i:min(i+777, len(xs))])
	}
	lo, hi, _ := mm.Range(MinMax, 0, ir.Uint8)
	if hi != 40 || lo > -3 {
		t.Fatalf("minmax range [%v, %v]", lo, hi)
	}
	for _, method := range []string{Percentile, Entropy, MSE} {
		l1, h1, err := whole.Range(method, 99.9, ir.Uint8)
		if err != nil {
			t.Fatal(err)
		}
		l2, h2, _ := split.Range(method, 99.9, ir.Uint8)
		if l1 != l2 || h1 != h2 {
			t.Errorf("%s: [%v, %v] whole, [%v, %v] in batches", method, l1, h1, l2, h2)
		}
		limit := 20.0
		if method == MSE {
			limit = 40 // one outlier in 1e5 may be worth keeping in squared error
		}
		if h1 > limit || h1 < 2 || l1 > -2 {
			t.Errorf("%s: range [%v, %v] does not clip the outlier sensibly", method, l1, h1)
		}
	}
	// Percentile 99.9 of a standard normal: |x| ≈ 3.29 per tail at 0.05%.
	_, h, _ := whole.Range(Percentile, 99.9, ir.Uint8)
	if math.Abs(h-3.29) > 0.1 {
		t.Errorf("percentile 99.9 upper bound %v, want ≈ 3.29", h)
	}
}

// Quantization parameters keep 0 exact and cover the range.
func TestActParams(t *testing.T) {
	for _, c := range []struct {
		lo, hi float64
		dt     ir.DType
	}{{0, 6, ir.Uint8}, {-1, 3, ir.Uint8}, {-2, 2, ir.Int8}, {0.5, 1, ir.Int8}, {0, 0, ir.Uint8}} {
		p := ActParams(c.lo, c.hi, c.dt)
		if p.fake(0) != 0 {
			t.Errorf("%+v: 0 is not exact", c)
		}
		for _, x := range []float64{c.lo, c.hi} {
			if math.Abs(p.fake(x)-x) > float64(p.Scale)/2+1e-7 {
				t.Errorf("%+v: %v quantizes to %v (scale %v)", c, x, p.fake(x), p.Scale)
			}
		}
	}
}
