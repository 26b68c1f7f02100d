package runtime

import (
	"math"
	"math/rand"
	"strings"
	"testing"

	"github.com/nncc/nncc/ir"
)

// Hand-checked cases for operator forms newer than the conformance data
// (which stops at opset 17), and for semantics that changed between
// opsets.

func TestReduceAxesInput(t *testing.T) {
	x := f32(dims(2, 3), 1, 2, 3, 4, 5, 6)
	// Opset 18: axes are an input.
	y := single(t, 18, "ReduceMean", 1, []*ir.Tensor{x, i64(dims(1), 1)}, ir.IntAttr("keepdims", 0))
	wantF32(t, y[0], dims(2), []float64{2, 5}, 1e-6)
	y = single(t, 18, "ReduceMax", 1, []*ir.Tensor{x, i64(dims(1), -2)})
	wantF32(t, y[0], dims(1, 3), []float64{4, 5, 6}, 0)
	// No axes: reduce everything, or nothing with noop_with_empty_axes.
	y = single(t, 18, "ReduceSumSquare", 1, []*ir.Tensor{x})
	wantF32(t, y[0], dims(1, 1), []float64{91}, 0)
	y = single(t, 18, "ReduceL2", 1, []*ir.Tensor{x}, ir.IntAttr("noop_with_empty_axes", 1))
	wantF32(t, y[0], dims(2, 3), []float64{1, 2, 3, 4, 5, 6}, 0)
	// Opset 17: axes are an attribute.
	y = single(t, 17, "ReduceProd", 1, []*ir.Tensor{x}, ir.IntsAttr("axes", 0))
	wantF32(t, y[0], dims(1, 3), []float64{4, 10, 18}, 0)
	// Integers reduce exactly.
	y = single(t, 18, "ReduceSum", 1, []*ir.Tensor{i64(dims(2, 2), 1<<60, 1, 2, 3), i64(dims(1), 1)})
	wantInts(t, y[0], ir.Int64, dims(2, 1), 1<<60+1, 5)
}

func TestSplitNumOutputs(t *testing.T) {
	x := f32(dims(7), 0, 1, 2, 3, 4, 5, 6)
	y := single(t, 18, "Split", 3, []*ir.Tensor{x}, ir.IntAttr("num_outputs", 3))
	wantF32(t, y[0], dims(3), []float64{0, 1, 2}, 0)
	wantF32(t, y[1], dims(3), []float64{3, 4, 5}, 0)
	wantF32(t, y[2], dims(1), []float64{6}, 0)
	// Before 18 an uneven split without sizes is an error.
	m, feeds := singleModel(17, "Split", 3, []*ir.Tensor{x})
	if _, err := run1(m, feeds); err == nil || !strings.Contains(err.Error(), "equal parts") {
		t.Errorf("uneven split at opset 17: error %v", err)
	}
	// Opset 13: sizes are an input; 11: an attribute.
	y = single(t, 13, "Split", 2, []*ir.Tensor{x, i64(dims(2), 2, 5)})
	wantF32(t, y[1], dims(5), []float64{2, 3, 4, 5, 6}, 0)
	y = single(t, 11, "Split", 2, []*ir.Tensor{x}, ir.IntsAttr("split", 6, 1))
	wantF32(t, y[1], dims(1), []float64{6}, 0)
}

func TestPadNewForms(t *testing.T) {
	x := f32(dims(2, 2), 1, 2, 3, 4)
	// Opset 18: axes input.
	y := single(t, 18, "Pad", 1, []*ir.Tensor{x, i64(dims(2), 1, 2), f32(nil, 9), i64(dims(1), 1)})
	wantF32(t, y[0], dims(2, 5), []float64{9, 1, 2, 9, 9, 9, 3, 4, 9, 9}, 0)
	// Opset 19: wrap.
	r := f32(dims(1, 3), 1, 2, 3)
	y = single(t, 19, "Pad", 1, []*ir.Tensor{r, i64(dims(4), 0, 2, 0, 1)}, ir.StringAttr("mode", "wrap"))
	wantF32(t, y[0], dims(1, 6), []float64{2, 3, 1, 2, 3, 1}, 0)
	singleErr(t, 18, "Pad", []*ir.Tensor{r, i64(dims(4), 0, 2, 0, 1)}, "opset 19", ir.StringAttr("mode", "wrap"))
	// Reflect and edge; negative pads crop.
	y = single(t, 13, "Pad", 1, []*ir.Tensor{r, i64(dims(4), 0, 2, 0, 2)}, ir.StringAttr("mode", "reflect"))
	wantF32(t, y[0], dims(1, 7), []float64{3, 2, 1, 2, 3, 2, 1}, 0)
	y = single(t, 13, "Pad", 1, []*ir.Tensor{r, i64(dims(4), 0, -1, 0, 2)}, ir.StringAttr("mode", "edge"))
	wantF32(t, y[0], dims(1, 4), []float64{2, 3, 3, 3}, 0)
	// Opset 2: attributes.
	y = single(t, 2, "Pad", 1, []*ir.Tensor{r}, ir.IntsAttr("pads", 0, 1, 0, 0), ir.FloatAttr("value", -1))
	wantF32(t, y[0], dims(1, 4), []float64{-1, 1, 2, 3}, 0)
}

func TestGelu(t *testing.T) {
	xs := []float32{-3, -1, 0, 0.5, 2}
	x := f32(dims(5), xs...)
	exact := single(t, 20, "Gelu", 1, []*ir.Tensor{x})
	approx := single(t, 20, "Gelu", 1, []*ir.Tensor{x}, ir.StringAttr("approximate", "tanh"))
	var we, wa []float64
	for _, v := range xs {
		f := float64(v)
		we = append(we, f*0.5*(1+math.Erf(f/math.Sqrt2)))
		wa = append(wa, 0.5*f*(1+math.Tanh(math.Sqrt(2/math.Pi)*(f+0.044715*f*f*f))))
	}
	wantF32(t, exact[0], dims(5), we, 1e-6)
	wantF32(t, approx[0], dims(5), wa, 1e-6)
	singleErr(t, 20, "Gelu", []*ir.Tensor{x}, "approximate", ir.StringAttr("approximate", "fast"))
}

func TestResizeNewForms(t *testing.T) {
	x := f32(dims(1, 1, 2, 2), 1, 2, 3, 4)
	// Opset 18: axes with sizes.
	y := single(t, 18, "Resize", 1, []*ir.Tensor{x, nil, nil, i64(dims(2), 4, 4)},
		ir.IntsAttr("axes", 2, 3), ir.StringAttr("coordinate_transformation_mode", "asymmetric"), ir.StringAttr("nearest_mode", "floor"))
	wantF32(t, y[0], dims(1, 1, 4, 4), []float64{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}, 0)
	// keep_aspect_ratio_policy: the smaller scale (1.5) wins.
	y = single(t, 18, "Resize", 1, []*ir.Tensor{x, nil, nil, i64(dims(2), 3, 6)},
		ir.IntsAttr("axes", 2, 3), ir.StringAttr("keep_aspect_ratio_policy", "not_larger"))
	if !sameDims(y[0].Dims, dims(1, 1, 3, 3)) {
		t.Errorf("not_larger: dims %v, want [1 1 3 3]", y[0].Dims)
	}
	y = single(t, 18, "Resize", 1, []*ir.Tensor{x, nil, nil, i64(dims(2), 3, 6)},
		ir.IntsAttr("axes", 2, 3), ir.StringAttr("keep_aspect_ratio_policy", "not_smaller"))
	if !sameDims(y[0].Dims, dims(1, 1, 6, 6)) {
		t.Errorf("not_smaller: dims %v, want [1 1 6 6]", y[0].Dims)
	}
	// Opset 19: half_pixel_symmetric. in=3, scale 0.5: out 1 reads input
	// coordinate 0.5 + 0.5/0.5 - 0.5 = 1 (half_pixel would read 0.5).
	r := f32(dims(3), 0, 10, 20)
	y = single(t, 19, "Resize", 1, []*ir.Tensor{r, nil, f32(dims(1), 0.5)},
		ir.StringAttr("mode", "linear"), ir.StringAttr("coordinate_transformation_mode", "half_pixel_symmetric"))
	wantF32(t, y[0], dims(1), []float64{10}, 1e-6)
	y = single(t, 19, "Resize", 1, []*ir.Tensor{r, nil, f32(dims(1), 0.5)}, ir.StringAttr("mode", "linear"))
	wantF32(t, y[0], dims(1), []float64{5}, 1e-6)
	singleErr(t, 18, "Resize", []*ir.Tensor{r, nil, f32(dims(1), 0.5)}, "opset 19", ir.StringAttr("coordinate_transformation_mode", "half_pixel_symmetric"))
	singleErr(t, 18, "Resize", []*ir.Tensor{r, nil, f32(dims(1), 0.5)}, "removed", ir.StringAttr("coordinate_transformation_mode", "tf_half_pixel_for_nn"))
}

func TestAveragePoolDilations(t *testing.T) {
	x := f32(dims(1, 1, 5), 1, 2, 3, 4, 5)
	y := single(t, 19, "AveragePool", 1, []*ir.Tensor{x}, ir.IntsAttr("kernel_shape", 2), ir.IntsAttr("dilations", 2))
	wantF32(t, y[0], dims(1, 1, 3), []float64{2, 3, 4}, 1e-6)
	singleErr(t, 18, "AveragePool", []*ir.Tensor{x}, "opset 19", ir.IntsAttr("kernel_shape", 2), ir.IntsAttr("dilations", 2))
	// ceil_mode with count_include_pad: the last window is clipped to the
	// padded input.
	y = single(t, 19, "AveragePool", 1, []*ir.Tensor{x}, ir.IntsAttr("kernel_shape", 2), ir.IntsAttr("strides", 2),
		ir.IntAttr("ceil_mode", 1), ir.IntsAttr("pads", 1, 0), ir.IntAttr("count_include_pad", 1))
	wantF32(t, y[0], dims(1, 1, 3), []float64{0.5, 2.5, 4.5}, 1e-6)
}

func TestSoftmaxOpsetSemantics(t *testing.T) {
	x := f32(dims(1, 2, 2), 0, 1, 2, 3)
	// Opset 11, axis 1: one softmax over the 4 trailing elements.
	y := single(t, 11, "Softmax", 1, []*ir.Tensor{x}, ir.IntAttr("axis", 1))
	var s float64
	for _, v := range []float64{0, 1, 2, 3} {
		s += math.Exp(v)
	}
	wantF32(t, y[0], dims(1, 2, 2), []float64{1 / s, math.E / s, math.Exp(2) / s, math.Exp(3) / s}, 1e-6)
	// Opset 13, axis 1: softmax along axis 1 alone (pairs 0,2 and 1,3).
	y = single(t, 13, "Softmax", 1, []*ir.Tensor{x}, ir.IntAttr("axis", 1))
	a := 1 / (1 + math.Exp(2))
	wantF32(t, y[0], dims(1, 2, 2), []float64{a, a, 1 - a, 1 - a}, 1e-6)
	// Default axis: 1 before 13, -1 from 13.
	y = single(t, 13, "LogSoftmax", 1, []*ir.Tensor{x})
	l := math.Log(1 + math.E)
	wantF32(t, y[0], dims(1, 2, 2), []float64{-l, 1 - l, -l, 1 - l}, 1e-6)
}

func TestQuantizePerAxis(t *testing.T) {
	x := f32(dims(2, 2), 1, 2, 3, 4)
	scale := f32(dims(2), 1, 2)
	zp := &ir.Tensor{DType: ir.Int8, Dims: []int64{2}, Data: []byte{0, 1}}
	for _, opset := range []int64{13, 19, 21} {
		q := single(t, opset, "QuantizeLinear", 1, []*ir.Tensor{x, scale, zp}, ir.IntAttr("axis", 1))
		wantInts(t, q[0], ir.Int8, dims(2, 2), 1, 2, 3, 3)
		d := single(t, opset, "DequantizeLinear", 1, []*ir.Tensor{q[0], scale, zp}, ir.IntAttr("axis", 1))
		wantF32(t, d[0], dims(2, 2), []float64{1, 2, 3, 4}, 0)
	}
	// Saturation and round-half-to-even.
	q := single(t, 13, "QuantizeLinear", 1, []*ir.Tensor{f32(dims(4), 2.5, 3.5, -300, 300), f32(nil, 1)})
	wantInts(t, q[0], ir.Uint8, dims(4), 2, 4, 0, 255)
	singleErr(t, 21, "QuantizeLinear", []*ir.Tensor{x, scale}, "block_size", ir.IntAttr("block_size", 2))
}

func TestClipForms(t *testing.T) {
	x := f32(dims(4), -2, -0.5, 0.5, 2)
	y := single(t, 6, "Clip", 1, []*ir.Tensor{x}, ir.FloatAttr("min", -1), ir.FloatAttr("max", 1))
	wantF32(t, y[0], dims(4), []float64{-1, -0.5, 0.5, 1}, 0)
	y = single(t, 13, "Clip", 1, []*ir.Tensor{x, nil, f32(nil, 0)})
	wantF32(t, y[0], dims(4), []float64{-2, -0.5, 0, 0}, 0)
	xi := &ir.Tensor{DType: ir.Int32, Dims: []int64{3}, Data: []byte{0xfb, 0xff, 0xff, 0xff, 3, 0, 0, 0, 9, 0, 0, 0}}
	lo := &ir.Tensor{DType: ir.Int32, Data: []byte{0, 0, 0, 0}}
	hi := &ir.Tensor{DType: ir.Int32, Data: []byte{5, 0, 0, 0}}
	y = single(t, 12, "Clip", 1, []*ir.Tensor{xi, lo, hi})
	wantInts(t, y[0], ir.Int32, dims(3), 0, 3, 5)
}

func TestDropoutInference(t *testing.T) {
	x := f32(dims(3), 1, 2, 3)
	ratio := f32(nil, 0.5)
	off := &ir.Tensor{DType: ir.Bool, Data: []byte{0}}
	y := single(t, 13, "Dropout", 2, []*ir.Tensor{x, ratio, off})
	wantF32(t, y[0], dims(3), []float64{1, 2, 3}, 0)
	wantInts(t, y[1], ir.Bool, dims(3), 1, 1, 1)
	on := &ir.Tensor{DType: ir.Bool, Data: []byte{1}}
	singleErr(t, 13, "Dropout", []*ir.Tensor{x, ratio, on}, "training-mode")
	y = single(t, 7, "Dropout", 1, []*ir.Tensor{x}, ir.FloatAttr("ratio", 0.3))
	wantF32(t, y[0], dims(3), []float64{1, 2, 3}, 0)
}

// TestRecurrentLayout checks layout=1 (batch first, opset 14) against
// layout 0 on transposed data: onnxruntime has no layout=1.
func TestRecurrentLayout(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	x := randF32(rng, 4, 3, 5) // [seq, batch, input]
	w, r, b := randF32(rng, 2, 4*6, 5), randF32(rng, 2, 4*6, 6), randF32(rng, 2, 8*6)
	h0 := randF32(rng, 2, 3, 6) // [dirs, batch, hidden]
	tr := func(v *ir.Tensor, perm ...int) *ir.Tensor {
		y, err := transposeTensor(nil, v, perm)
		if err != nil {
			t.Fatal(err)
		}
		return y
	}
	attrs := []*ir.Attribute{ir.IntAttr("hidden_size", 6), ir.StringAttr("direction", "bidirectional")}
	ref := single(t, 14, "LSTM", 2, []*ir.Tensor{x, w, r, b, nil, h0}, attrs...)
	got := single(t, 14, "LSTM", 2, []*ir.Tensor{tr(x, 1, 0, 2), w, r, b, nil, tr(h0, 1, 0, 2)}, append(attrs, ir.IntAttr("layout", 1))...)
	// Y: [seq, dirs, batch, hidden] vs [batch, seq, dirs, hidden].
	if msg := compareTensors(got[0], tr(ref[0], 2, 0, 1, 3), 1e-6, 1e-6); msg != "" {
		t.Errorf("Y: %s", msg)
	}
	if msg := compareTensors(got[1], tr(ref[1], 1, 0, 2), 1e-6, 1e-6); msg != "" {
		t.Errorf("Y_h: %s", msg)
	}
}
