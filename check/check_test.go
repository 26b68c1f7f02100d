package check

import (
	"math"
	"testing"

	"github.com/nncc/nncc/ir"
)

func TestCompare(t *testing.T) {
	want := ir.FromFloat32([]int64{2, 3}, []float32{1, 5, 2, 0, 0, 1})
	same := Compare("y", want, want, Tolerance{})
	if !same.Within || same.MaxAbsErr != 0 || same.Cosine < 0.999999 || same.Top1Agree != 1 {
		t.Errorf("identical tensors: %+v", same)
	}
	got := ir.FromFloat32([]int64{2, 3}, []float32{1, 5, 2, 0, 2, 1})
	s := Compare("y", want, got, Tolerance{Atol: 1e-3})
	if s.Within || s.OutOfTol != 1 || s.MaxAbsErr != 2 || s.Top1Agree != 0.5 {
		t.Errorf("one changed element: %+v", s)
	}
	if s.MaxRelErr != 0 {
		t.Errorf("a changed zero has no relative error (JSON cannot hold Inf), got %v", s.MaxRelErr)
	}
	if Compare("y", want, ir.FromFloat32([]int64{6}, make([]float32, 6)), Tolerance{Atol: 10}).Within {
		t.Error("different shapes compared equal")
	}
	nan := ir.FromFloat32([]int64{1}, []float32{float32(math.NaN())})
	if !Compare("y", nan, nan, Tolerance{}).Within {
		t.Error("NaN should match NaN")
	}
	if Compare("y", nan, ir.FromFloat32([]int64{1}, []float32{0}), Tolerance{Atol: 1}).Within {
		t.Error("NaN matched a number")
	}
}

func TestRandomInputsSeeded(t *testing.T) {
	g := &ir.Graph{Inputs: []*ir.Value{{Name: "x", Type: &ir.Type{Kind: ir.KindTensor, DType: ir.Float32, HasShape: true, Shape: ir.Shape{ir.Sym("N"), ir.D(3)}}}}}
	specs, err := InputSpecs(g, nil, map[string]int64{"N": 4})
	if err != nil {
		t.Fatal(err)
	}
	if len(specs) != 1 || specs[0].Dims[0] != 4 || specs[0].Dims[1] != 3 {
		t.Fatalf("specs %+v", specs)
	}
	a, _ := RandomInputs(specs, 7)
	b, _ := RandomInputs(specs, 7)
	c, _ := RandomInputs(specs, 8)
	if string(a["x"].Data) != string(b["x"].Data) {
		t.Error("same seed gave different inputs")
	}
	if string(a["x"].Data) == string(c["x"].Data) {
		t.Error("different seeds gave the same inputs")
	}
	for _, v := range a["x"].Float32s() {
		if v < -1 || v >= 1 {
			t.Errorf("value %v outside [-1,1)", v)
		}
	}
}
