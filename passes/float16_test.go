package passes_test

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/onnx"
	"github.com/nncc/nncc/testmodels"
)

// Float16 output keeps accuracy within 0.2 points in onnxruntime (and in
// nncc's runtime) at ≤ 0.55× the weight bytes, and passes the checker;
// keep-io leaves the interface float32.
func TestConvertFloat16Digits(t *testing.T) {
	for _, c := range []struct{ model, x string }{
		{"digits_cnn", "digits_test_x.npy"},
		{"digits_mlp", "digits_test_x_flat.npy"},
	} {
		t.Run(c.model, func(t *testing.T) {
			path := "../testmodels/" + c.model + ".onnx"
			x, y := filepath.Join(digitsData, c.x), filepath.Join(digitsData, "digits_test_y.npy")
			f, err := onnx.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			h, _ := quantizeModel(t, path, "default,convert-float16", "", 1, nil)
			if h.Graph.Inputs[0].Type.DType != ir.Float32 || h.Graph.Outputs[0].Type.DType != ir.Float32 {
				t.Errorf("keep-io: interface is %s → %s", h.Graph.Inputs[0].Type, h.Graph.Outputs[0].Type)
			}
			for _, v := range h.Graph.Consts {
				if v.Const.DType == ir.Float32 && v.Const.NumElements() > 1 {
					t.Errorf("constant %s is still float32", v.Name)
				}
			}
			ratio := float64(weightBytes(h)) / float64(weightBytes(f))
			if ratio > 0.55 {
				t.Errorf("weight bytes %.3f× of float32, want ≤ 0.55", ratio)
			}
			fa, na := nnccAccuracy(t, f, x, y), nnccAccuracy(t, h, x, y)
			oa := ortAccuracy(t, h, x, y)
			t.Logf("float32 %.4f, float16 nncc %.4f, onnxruntime %.4f, weights %.3f×", fa, na, oa, ratio)
			if math.Abs(fa-oa) > 0.002+1e-9 || math.Abs(fa-na) > 0.002+1e-9 {
				t.Errorf("float16 accuracy nncc %.4f, onnxruntime %.4f; float32 %.4f", na, oa, fa)
			}
			checkONNX(t, h)
		})
	}
}

// lower-float64 computes a float64 graph in float32, to float32 accuracy.
func TestLowerFloat64(t *testing.T) {
	b := testmodels.NewBuilder("f64", 17)
	x := b.Input("x", ir.Float64, 2, 3)
	w := b.Const("w", ir.FromFloat64(ir.Float64, []int64{3, 4}, []float64{1, -2, 3, 0.5, 0.25, 1e-3, -1, 2, 7, 1, 0, -0.125}))
	bias := b.Const("b", ir.FromFloat64(ir.Float64, []int64{4}, []float64{0.1, 0.2, -0.3, 1e-7}))
	y := b.Node("Relu", []*ir.Value{b.Node("Add", []*ir.Value{b.Node("MatMul", []*ir.Value{x, w}), bias})})
	b.Output(y)
	in := map[string]*ir.Tensor{"x": ir.FromFloat64(ir.Float64, []int64{2, 3}, []float64{1, 2, 3, -4, 0.5, 6})}
	for _, keep := range []bool{false, true} {
		m := b.Model().Clone()
		want := outputs(t, m, in)[y.Name].Float64s()
		spec := "lower-float64"
		if keep {
			spec += "{keep-io=true}"
		}
		run(t, m, spec, 1e-5)
		for _, v := range m.Graph.Consts {
			if v.Const.DType == ir.Float64 {
				t.Errorf("constant %s is still float64", v.Name)
			}
		}
		feed := in
		if !keep {
			feed = map[string]*ir.Tensor{"x": ir.FromFloat64(ir.Float32, []int64{2, 3}, in["x"].Float64s())}
		}
		got := outputs(t, m, feed)[y.Name]
		wantDT := ir.Float32
		if keep {
			wantDT = ir.Float64
		}
		if got.DType != wantDT || m.Graph.Outputs[0].Type.DType != wantDT {
			t.Errorf("keep-io=%v: output is %s, want %s", keep, got.DType, wantDT)
		}
		if countOps(m, "MatMul") != 1 {
			t.Errorf("MatMul lost")
		}
		for i, g := range got.Float64s() {
			if math.Abs(g-want[i]) > 1e-5*math.Max(1, math.Abs(want[i])) {
				t.Errorf("keep-io=%v: element %d = %v, want %v", keep, i, g, want[i])
			}
		}
	}
}
