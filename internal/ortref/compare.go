package ortref

import (
	"bytes"
	"fmt"
	"math"
	"slices"

	"github.com/nncc/nncc/ir"
)

// Tolerance bounds how far a floating-point element may be from its
// reference: |got - want| <= Abs + Rel*|want|.
type Tolerance struct {
	Abs, Rel float64
}

// Compare reports whether got matches want: same element type, same dims
// and, element by element, floating-point values within tol (NaN matches
// NaN, an infinity only the same infinity) and every other type exactly.
// The error names the number of mismatches and the worst one.
func Compare(got, want *ir.Tensor, tol Tolerance) error {
	if got == nil || want == nil {
		return fmt.Errorf("nil tensor (got %v, want %v)", got != nil, want != nil)
	}
	if got.DType != want.DType {
		return fmt.Errorf("dtype %v, want %v", got.DType, want.DType)
	}
	if !slices.Equal(got.Dims, want.Dims) {
		return fmt.Errorf("dims %v, want %v", got.Dims, want.Dims)
	}
	for _, t := range []*ir.Tensor{got, want} {
		if err := t.Check(); err != nil {
			return err
		}
	}
	switch {
	case got.DType == ir.String:
		for i := range want.Strings {
			if !bytes.Equal(got.Strings[i], want.Strings[i]) {
				return fmt.Errorf("element %v: %q, want %q", index(want.Dims, i), got.Strings[i], want.Strings[i])
			}
		}
		return nil
	case isFloat(got.DType):
		return compareFloats(got, want, tol)
	default:
		if bytes.Equal(got.Data, want.Data) {
			return nil
		}
		g, w := got.Int64s(), want.Int64s()
		bad, first := 0, -1
		for i := range w {
			if g[i] != w[i] {
				if first < 0 {
					first = i
				}
				bad++
			}
		}
		if first < 0 { // unsigned 64-bit values only differing above 2^63
			return fmt.Errorf("%v data differs", got.DType)
		}
		return fmt.Errorf("%d of %d elements differ; first at %v: %d, want %d", bad, len(w), index(want.Dims, first), g[first], w[first])
	}
}

func isFloat(d ir.DType) bool {
	switch d {
	case ir.Float32, ir.Float64, ir.Float16, ir.BFloat16:
		return true
	}
	return false
}

func compareFloats(got, want *ir.Tensor, tol Tolerance) error {
	g, w := got.Float64s(), want.Float64s()
	bad, worst := 0, -1
	worstExcess := 0.0
	for i := range w {
		a, b := g[i], w[i]
		if math.IsNaN(a) && math.IsNaN(b) || a == b {
			continue
		}
		excess := math.Abs(a-b) - (tol.Abs + tol.Rel*math.Abs(b))
		if math.IsNaN(excess) || math.IsInf(a, 0) || math.IsInf(b, 0) {
			excess = math.Inf(1)
		}
		if excess <= 0 {
			continue
		}
		bad++
		if worst < 0 || excess > worstExcess {
			worst, worstExcess = i, excess
		}
	}
	if bad == 0 {
		return nil
	}
	return fmt.Errorf("%d of %d elements out of tolerance (abs %g, rel %g); worst at %v: %g, want %g (|diff| %g)",
		bad, len(w), tol.Abs, tol.Rel, index(want.Dims, worst), g[worst], w[worst], math.Abs(g[worst]-w[worst]))
}

// MaxAbsDiff returns the largest |got - want| over two float tensors of
// the same dims, for reporting how close a match was.
func MaxAbsDiff(got, want *ir.Tensor) (float64, error) {
	if !slices.Equal(got.Dims, want.Dims) || !isFloat(got.DType) || !isFloat(want.DType) {
		return 0, fmt.Errorf("cannot diff %v%v against %v%v", got.DType, got.Dims, want.DType, want.Dims)
	}
	g, w := got.Float64s(), want.Float64s()
	m := 0.0
	for i := range w {
		if d := math.Abs(g[i] - w[i]); d > m || math.IsNaN(d) {
			m = d
		}
	}
	return m, nil
}

// index turns a flat row-major element number into coordinates.
func index(dims []int64, flat int) []int64 {
	idx := make([]int64, len(dims))
	f := int64(flat)
	for k := len(dims) - 1; k >= 0; k-- {
		if dims[k] > 0 {
			idx[k] = f % dims[k]
			f /= dims[k]
		}
	}
	return idx
}
