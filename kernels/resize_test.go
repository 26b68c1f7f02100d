package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// randNearestMap returns out source indices into [0, in): integer
// upsampling (the fast runs), identity, or arbitrary.
func randNearestMap(r *rand.Rand, in, out int) []int32 {
	m := make([]int32, out)
	kind := r.IntN(3)
	for o := range m {
		switch {
		case kind == 0 && out%in == 0:
			m[o] = int32(o / (out / in))
		case kind == 1 && out == in:
			m[o] = int32(o)
		default:
			m[o] = int32(r.IntN(in))
		}
	}
	return m
}

// TestResizeNearest2D checks nearest resampling exactly against its
// definition: integer upsampling (2×, 3×), identity, shrinking and
// arbitrary maps, repeated rows, one and two threads, several row
// blocks; bit-exact, −0 and NaN payloads included.
func TestResizeNearest2D(t *testing.T) {
	r := rand.New(rand.NewPCG(61, 62))
	for it := 0; it < 300; it++ {
		planes, H, W := 1+r.IntN(4), 1+r.IntN(12), 1+r.IntN(20)
		s := []int{1, 2, 2, 3}[r.IntN(4)]
		OH, OW := H*s, W*s
		if it%4 == 3 {
			OH, OW = 1+r.IntN(40), 1+r.IntN(40)
		}
		rows, cols := randNearestMap(r, H, OH), randNearestMap(r, W, OW)
		if it%2 == 0 && OW%W == 0 {
			for j := range cols {
				cols[j] = int32(j / (OW / W))
			}
		}
		x := randSlice(r, planes*H*W)
		for k := 0; k < 3; k++ { // copies must keep −0 and NaN payloads
			x[r.IntN(len(x))] = float32(math.Copysign(0, -1))
			x[r.IntN(len(x))] = math.Float32frombits(0x7fc01234)
		}
		y := nanSlice(planes * OH * OW)
		SetThreads(1 + r.IntN(2))
		ResizeNearest2D(x, y, planes, H, W, rows, cols)
		for p := 0; p < planes; p++ {
			for o := 0; o < OH; o++ {
				for j := 0; j < OW; j++ {
					got, want := y[(p*OH+o)*OW+j], x[(p*H+int(rows[o]))*W+int(cols[j])]
					if math.Float32bits(got) != math.Float32bits(want) {
						t.Fatalf("%d planes %dx%d → %dx%d: y[%d,%d,%d] = %g, want %g", planes, H, W, OH, OW, p, o, j, got, want)
					}
				}
			}
		}
	}
	SetThreads(1)
}

// randTaps returns out random taps of n indices into [0, in) with
// weights summing to 1.
func randTaps(r *rand.Rand, in, out, n int) *ResizeTaps {
	t := &ResizeTaps{N: n}
	for o := 0; o < out; o++ {
		var sum float32
		ws := make([]float32, n)
		for k := range ws {
			ws[k] = r.Float32()
			sum += ws[k]
		}
		for k := range ws {
			t.Idx = append(t.Idx, int32(r.IntN(in)))
			t.W = append(t.W, ws[k]/sum)
		}
	}
	return t
}

// TestResize2D checks separable interpolation with 1 to 4 taps per axis
// against a float64 evaluation of the same taps, within 4 float32
// roundings per tap (relative to Σ|w·x|).
func TestResize2D(t *testing.T) {
	r := rand.New(rand.NewPCG(63, 64))
	for it := 0; it < 200; it++ {
		planes, H, W := 1+r.IntN(3), 1+r.IntN(10), 1+r.IntN(20)
		OH, OW := 1+r.IntN(40), 1+r.IntN(40)
		rows, cols := randTaps(r, H, OH, 1+r.IntN(4)), randTaps(r, W, OW, []int{2, 2, 1, 3, 4}[r.IntN(5)])
		x := randSlice(r, planes*H*W)
		y := nanSlice(planes * OH * OW)
		SetThreads(1 + r.IntN(2))
		Resize2D(x, y, planes, H, W, rows, cols)
		for p := 0; p < planes; p++ {
			for o := 0; o < OH; o++ {
				for j := 0; j < OW; j++ {
					var want, mag float64
					for a := 0; a < rows.N; a++ {
						for b := 0; b < cols.N; b++ {
							v := float64(rows.W[o*rows.N+a]) * float64(cols.W[j*cols.N+b]) *
								float64(x[(p*H+int(rows.Idx[o*rows.N+a]))*W+int(cols.Idx[j*cols.N+b])])
							want += v
							mag += math.Abs(v)
						}
					}
					got := y[(p*OH+o)*OW+j]
					tol := 4 * float64(rows.N+cols.N) * 0x1p-24 * mag
					if d := math.Abs(float64(got) - want); !(d <= tol+1e-30) {
						t.Fatalf("%d planes %dx%d → %dx%d taps %d,%d: y[%d,%d,%d] = %g, want %g", planes, H, W, OH, OW, rows.N, cols.N, p, o, j, got, want)
					}
				}
			}
		}
	}
	SetThreads(1)
}
