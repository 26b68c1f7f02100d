package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSumRows checks row sums and means over widths that cover every
// tail of the vector loops (and a GlobalAveragePool-sized plane) on one
// and two threads, against float64 sums. Tolerance: the error bound of
// recursive float32 summation over chains of at most cols/8 + 4 terms
// (every path keeps at least eight partial sums), relative to Σ|x|.
func TestSumRows(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	widths := []int{0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 127, 128, 129, 400, 1600, 25600}
	for _, cols := range widths {
		for _, rows := range []int{1, 3, 96} {
			if rows*cols > 1<<20 {
				rows = 8
			}
			x := randSlice(r, rows*cols)
			for i := range x {
				x[i] += 0.5 // not centred, so the sums grow
			}
			SetThreads(1 + r.IntN(2))
			got := nanSlice(rows)
			scale := float32(1)
			if cols > 0 && r.IntN(2) == 0 {
				scale = 1 / float32(cols)
			}
			SumRows(got, x, cols, scale)
			for i := 0; i < rows; i++ {
				var s, mag float64
				for _, v := range x[i*cols : (i+1)*cols] {
					s += float64(v)
					mag += math.Abs(float64(v))
				}
				s *= float64(scale)
				mag *= float64(scale)
				tol := float64(cols/8+4) * 0x1p-24 * mag
				if d := math.Abs(float64(got[i]) - s); !(d <= tol+1e-30) {
					t.Fatalf("%d×%d scale %g: row %d sum %g, want %g (tol %g)", rows, cols, scale, i, got[i], s, tol)
				}
			}
		}
	}
	SetThreads(1)
}

// TestMaxMinRows checks row maxima and minima exactly, with infinities,
// NaNs (which win) and empty rows.
func TestMaxMinRows(t *testing.T) {
	r := rand.New(rand.NewPCG(43, 44))
	for _, cols := range []int{0, 1, 3, 4, 5, 8, 17, 100, 6400} {
		rows := 5
		x := randSlice(r, rows*cols)
		if cols > 0 {
			x[r.IntN(cols)] = float32(math.Inf(1))                 // row 0
			x[cols+r.IntN(cols)] = float32(math.Inf(-1))           // row 1
			x[2*cols+r.IntN(cols)] = float32(math.NaN())           // row 2
			x[3*cols+r.IntN(cols)] = float32(math.Copysign(0, -1)) // row 3
		}
		SetThreads(1 + r.IntN(2))
		mx, mn := nanSlice(rows), nanSlice(rows)
		MaxRows(mx, x, cols)
		MinRows(mn, x, cols)
		for i := 0; i < rows; i++ {
			wmx, wmn := math.Inf(-1), math.Inf(1)
			for _, v := range x[i*cols : (i+1)*cols] {
				if v != v {
					wmx, wmn = math.NaN(), math.NaN()
					break
				}
				wmx, wmn = math.Max(wmx, float64(v)), math.Min(wmn, float64(v))
			}
			same := func(a float32, b float64) bool { return a == float32(b) || a != a && b != b }
			if !same(mx[i], wmx) || !same(mn[i], wmn) {
				t.Fatalf("cols %d row %d: max %g min %g, want %g %g", cols, i, mx[i], mn[i], wmx, wmn)
			}
		}
	}
	SetThreads(1)
}
