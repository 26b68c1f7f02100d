// Package check compares the outputs of two models, or of one model
// before and after a change: the evidence behind nncc's promise that a
// compiled model still computes the same thing.
//
// Inputs are either given or drawn from a seeded generator, so a check is
// repeatable. Comparisons report, per output, the largest absolute and
// relative errors, the cosine similarity and the top-1 agreement along
// the last axis; a tensor is within tolerance when every element satisfies
// |got - want| <= Atol + Rtol*|want| (NaN matches only NaN).
package check

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/nncc/nncc/ir"
)

// Tolerance bounds element-wise differences.
type Tolerance struct {
	Atol, Rtol float64
}

// Within reports whether got is close enough to want.
func (tol Tolerance) Within(got, want float64) bool {
	if math.IsNaN(want) || math.IsNaN(got) {
		return math.IsNaN(want) && math.IsNaN(got)
	}
	if math.IsInf(want, 0) || math.IsInf(got, 0) {
		return got == want
	}
	return math.Abs(got-want) <= tol.Atol+tol.Rtol*math.Abs(want)
}

// Stats summarise the difference between two tensors.
type Stats struct {
	Name        string  `json:"name"`
	Elements    int64   `json:"elements"`
	MaxAbsErr   float64 `json:"max_abs_err"`
	MaxRelErr   float64 `json:"max_rel_err"`
	Cosine      float64 `json:"cosine"`
	Top1Agree   float64 `json:"top1_agreement"` // fraction of rows whose argmax matches; -1 if not applicable
	OutOfTol    int64   `json:"out_of_tolerance"`
	Within      bool    `json:"within_tolerance"`
	ShapeDiffer bool    `json:"shape_differs,omitempty"`
}

// Compare computes the Stats of got against want. Tensors of different
// dtypes or shapes are not within tolerance.
func Compare(name string, want, got *ir.Tensor, tol Tolerance) Stats {
	s := Stats{Name: name, Top1Agree: -1, Cosine: 1}
	if want.DType != got.DType || !slices.Equal(want.Dims, got.Dims) || want.DType == ir.String {
		s.ShapeDiffer = true
		if want.DType == ir.String && got.DType == ir.String && slices.Equal(want.Dims, got.Dims) {
			s.ShapeDiffer = false
			s.Within = true
			for i := range want.Strings {
				if string(want.Strings[i]) != string(got.Strings[i]) {
					s.Within = false
					s.OutOfTol++
				}
			}
		}
		return s
	}
	w, g := want.Float64s(), got.Float64s()
	s.Elements = int64(len(w))
	var dot, nw, ng float64
	for i := range w {
		a, b := w[i], g[i]
		if !tol.Within(b, a) {
			s.OutOfTol++
		}
		if !math.IsNaN(a) && !math.IsNaN(b) && !math.IsInf(a, 0) && !math.IsInf(b, 0) {
			d := math.Abs(a - b)
			s.MaxAbsErr = math.Max(s.MaxAbsErr, d)
			if a != 0 { // elements expected to be 0 have no relative error; MaxAbsErr covers them
				s.MaxRelErr = math.Max(s.MaxRelErr, d/math.Abs(a))
			}
			dot += a * b
			nw += a * a
			ng += b * b
		}
	}
	switch {
	case nw > 0 && ng > 0:
		s.Cosine = dot / math.Sqrt(nw*ng)
	case nw != ng:
		s.Cosine = 0
	}
	if len(want.Dims) >= 1 && want.DType.IsFloat() {
		last := int(want.Dims[len(want.Dims)-1])
		if last > 1 {
			rows, agree := len(w)/last, 0
			for r := 0; r < rows; r++ {
				if Argmax(w[r*last:(r+1)*last]) == Argmax(g[r*last:(r+1)*last]) {
					agree++
				}
			}
			if rows > 0 {
				s.Top1Agree = float64(agree) / float64(rows)
			}
		}
	}
	s.Within = s.OutOfTol == 0
	return s
}

// Argmax returns the index of the largest of xs, the first on ties (0
// for an empty slice); NaNs are never chosen over a number before them.
func Argmax(xs []float64) int {
	best := 0
	for i, x := range xs {
		if x > xs[best] {
			best = i
		}
	}
	return best
}

// InputSpec describes one graph input to generate.
type InputSpec struct {
	Name  string
	DType ir.DType
	Dims  []int64
}

// InputSpecs returns the graph inputs of g that have no default value,
// with symbolic or unknown dims bound from shapes (by input name) or
// sym (by dim name); unbound dims are an error naming the input.
func InputSpecs(g *ir.Graph, shapes map[string][]int64, sym map[string]int64) ([]InputSpec, error) {
	var specs []InputSpec
	for _, v := range g.Inputs {
		if v.Const != nil {
			continue
		}
		if v.Type == nil || v.Type.Kind != ir.KindTensor {
			return nil, fmt.Errorf("input %q is not a tensor of known type", v.Name)
		}
		spec := InputSpec{Name: v.Name, DType: v.Type.DType}
		if dims, ok := shapes[v.Name]; ok {
			if v.Type.HasShape && len(dims) != len(v.Type.Shape) {
				return nil, fmt.Errorf("input %q has rank %d, --shape gives %d dims", v.Name, len(v.Type.Shape), len(dims))
			}
			spec.Dims = dims
			specs = append(specs, spec)
			continue
		}
		if !v.Type.HasShape {
			return nil, fmt.Errorf("input %q has unknown rank; give its shape", v.Name)
		}
		for i, d := range v.Type.Shape {
			switch {
			case d.Known():
				spec.Dims = append(spec.Dims, d.Value)
			case d.Param != "" && sym[d.Param] > 0:
				spec.Dims = append(spec.Dims, sym[d.Param])
			case i == 0:
				spec.Dims = append(spec.Dims, 1) // an unbound leading (batch) dim defaults to 1
			default:
				return nil, fmt.Errorf("input %q: dim %d (%s) is not known; give it with --shape %s=...", v.Name, i, d, v.Name)
			}
		}
		specs = append(specs, spec)
	}
	return specs, nil
}

// RandomInputs draws one tensor per spec from a generator seeded with
// seed: floats uniform in [-1, 1), integers in [0, 10), bools fair.
func RandomInputs(specs []InputSpec, seed int64) (map[string]*ir.Tensor, error) {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x6e6e6363))
	out := map[string]*ir.Tensor{}
	for _, s := range specs {
		n := ir.NumElements(s.Dims)
		if n < 0 || n > 1<<28 {
			return nil, fmt.Errorf("input %q: %v elements is too many to generate", s.Name, s.Dims)
		}
		var t *ir.Tensor
		switch {
		case s.DType.IsFloat() && s.DType.Bits() >= 16:
			vals := make([]float64, n)
			for i := range vals {
				vals[i] = rng.Float64()*2 - 1
			}
			switch s.DType {
			case ir.Float32, ir.Float64, ir.Float16, ir.BFloat16:
				t = ir.FromFloat64(s.DType, s.Dims, vals)
			default:
				return nil, fmt.Errorf("input %q: cannot generate %s", s.Name, s.DType)
			}
		case s.DType == ir.Bool:
			t = ir.NewTensor(ir.Bool, s.Dims...)
			for i := range t.Data {
				t.Data[i] = byte(rng.IntN(2))
			}
		case s.DType == ir.String || s.DType.Bits() < 8 || s.DType.IsFloat():
			return nil, fmt.Errorf("input %q: cannot generate %s", s.Name, s.DType)
		default:
			t = ir.NewTensor(s.DType, s.Dims...)
			es := s.DType.Bits() / 8
			for i := int64(0); i < n; i++ {
				t.Data[i*int64(es)] = byte(rng.IntN(10))
			}
		}
		out[s.Name] = t
	}
	return out, nil
}
