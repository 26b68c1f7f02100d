package runtime

import (
	"fmt"
	"math/rand"
	"path/filepath"
	"testing"

	"github.com/nncc/nncc/internal/ortref"
	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/onnx"
)

// ortCase is a one-node model checked against onnxruntime.
type ortCase struct {
	name  string
	opset int64
	op    string
	nout  int
	ins   []*ir.Tensor
	attrs []*ir.Attribute
	tol   float64 // absolute and relative; 0 means 1e-4
}

func randInts(rng *rand.Rand, dt ir.DType, lo, hi int, d ...int64) *ir.Tensor {
	t := ir.NewTensor(dt, d...)
	v := make([]float64, ir.NumElements(d))
	for i := range v {
		v[i] = float64(lo + rng.Intn(hi-lo+1))
	}
	if err := putFloat64s(t, v); err != nil {
		panic(err)
	}
	return t
}

func posF32(rng *rand.Rand, d ...int64) *ir.Tensor {
	t := randF32(rng, d...)
	v := view[float32](t)
	for i := range v {
		v[i] = 0.01 + float32(rng.Float64())*0.05
	}
	return t
}

func scalarOf(dt ir.DType, v float64) *ir.Tensor {
	t := ir.NewTensor(dt)
	if err := putFloat64s(t, []float64{v}); err != nil {
		panic(err)
	}
	return t
}

func ortCases() []ortCase {
	rng := rand.New(rand.NewSource(7))
	r := func(d ...int64) *ir.Tensor { return randF32(rng, d...) }
	s, i, f := ir.StringAttr, ir.IntAttr, ir.FloatAttr
	is := ir.IntsAttr
	var cs []ortCase
	add := func(name string, opset int64, op string, nout int, ins []*ir.Tensor, attrs ...*ir.Attribute) {
		cs = append(cs, ortCase{name: name, opset: opset, op: op, nout: nout, ins: ins, attrs: attrs})
	}
	img := r(1, 3, 9, 11)

	// Resize-10 (no nearest_mode: onnxruntime rounds up along shrinking
	// axes and down along growing ones).
	add("resize10_nearest_mixed", 10, "Resize", 1, []*ir.Tensor{img, f32(dims(4), 1, 1, 0.6, 1.7)})
	add("resize10_nearest_down", 10, "Resize", 1, []*ir.Tensor{img, f32(dims(4), 1, 1, 0.45, 0.75)})
	add("resize10_linear", 10, "Resize", 1, []*ir.Tensor{img, f32(dims(4), 1, 1, 0.6, 1.7)}, s("mode", "linear"))
	// Resize at opsets 18 and 19.
	for _, mode := range []string{"linear", "cubic"} {
		add("resize_antialias_"+mode, 18, "Resize", 1, []*ir.Tensor{img, nil, f32(dims(4), 1, 1, 0.5, 0.6)}, s("mode", mode), i("antialias", 1))
		add("resize_antialias_sizes_"+mode, 18, "Resize", 1, []*ir.Tensor{img, nil, nil, i64(dims(2), 4, 3)}, s("mode", mode), i("antialias", 1), is("axes", 2, 3))
	}
	add("resize_cubic_exclude", 18, "Resize", 1, []*ir.Tensor{img, nil, f32(dims(4), 1, 1, 1.7, 0.8)}, s("mode", "cubic"), i("exclude_outside", 1), f("cubic_coeff_a", -0.5))
	// Where in·scale is not an integer, align_corners and
	// tf_crop_and_resize differ between the ONNX reference (which the
	// runtime follows) and onnxruntime, so those cases use sizes or
	// integral products.
	add("resize_crop", 13, "Resize", 1, []*ir.Tensor{img, f32(dims(8), 0, 0, 0.2, -0.1, 1, 1, 0.9, 1.2), nil, i64(dims(4), 1, 3, 12, 9)},
		s("mode", "linear"), s("coordinate_transformation_mode", "tf_crop_and_resize"), f("extrapolation_value", -7))
	add("resize_symmetric", 19, "Resize", 1, []*ir.Tensor{img, nil, f32(dims(4), 1, 1, 0.7, 1.45)}, s("mode", "linear"), s("coordinate_transformation_mode", "half_pixel_symmetric"))
	img2 := r(1, 2, 8, 10)
	for _, cm := range []string{"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "half_pixel_symmetric"} {
		in, sc1, sc2 := img, f32(dims(4), 1, 1, 1.5, 0.7), f32(dims(4), 1, 1, 2.5, 0.45)
		if cm == "align_corners" {
			in, sc1, sc2 = img2, f32(dims(4), 1, 1, 1.5, 0.7), f32(dims(4), 1, 1, 2.5, 0.4)
		}
		for _, nm := range []string{"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"} {
			add("resize_nearest_"+cm+"_"+nm, 19, "Resize", 1, []*ir.Tensor{in, nil, sc1}, s("coordinate_transformation_mode", cm), s("nearest_mode", nm))
		}
		add("resize_linear_"+cm, 19, "Resize", 1, []*ir.Tensor{in, nil, sc2}, s("mode", "linear"), s("coordinate_transformation_mode", cm))
		add("resize_cubic_"+cm, 19, "Resize", 1, []*ir.Tensor{in, nil, sc1}, s("mode", "cubic"), s("coordinate_transformation_mode", cm))
	}

	// Padding, reductions, splitting at 18+.
	x := r(2, 3, 4)
	for _, mode := range []string{"constant", "reflect", "edge", "wrap"} {
		add("pad_axes_"+mode, 19, "Pad", 1, []*ir.Tensor{x, i64(dims(4), 1, 2, -1, 1), nil, i64(dims(2), 2, 1)}, s("mode", mode))
		add("pad_crop_"+mode, 19, "Pad", 1, []*ir.Tensor{x, i64(dims(6), 0, -1, 2, 1, 1, -1)}, s("mode", mode))
	}
	for _, op := range []string{"ReduceLogSumExp", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceSumSquare", "ReduceProd", "ReduceMin", "ReduceMean"} {
		in := x
		if op == "ReduceLogSum" {
			in = posF32(rng, 2, 3, 4)
		}
		add(op+"_18", 18, op, 1, []*ir.Tensor{in, i64(dims(2), 0, -1)}, i("keepdims", 0))
	}
	add("split_num_outputs", 18, "Split", 4, []*ir.Tensor{r(10, 3)}, i("num_outputs", 4))
	add("gelu", 20, "Gelu", 1, []*ir.Tensor{x})
	add("gelu_tanh", 20, "Gelu", 1, []*ir.Tensor{x}, s("approximate", "tanh"))

	// Pooling.
	add("avgpool_dilated", 19, "AveragePool", 1, []*ir.Tensor{img}, is("kernel_shape", 3, 2), is("dilations", 2, 3), is("strides", 2, 1), is("pads", 1, 0, 2, 1), i("ceil_mode", 1))
	add("avgpool_count_pad", 19, "AveragePool", 1, []*ir.Tensor{img}, is("kernel_shape", 3, 3), is("strides", 2, 2), is("pads", 1, 1, 1, 1), i("count_include_pad", 1), i("ceil_mode", 1))
	add("avgpool_same", 19, "AveragePool", 1, []*ir.Tensor{img}, is("kernel_shape", 3, 2), is("strides", 2, 3), s("auto_pad", "SAME_LOWER"))
	vol := r(1, 2, 5, 6, 7)
	add("maxpool_3d", 13, "MaxPool", 2, []*ir.Tensor{vol}, is("kernel_shape", 2, 3, 2), is("dilations", 2, 1, 2), is("strides", 1, 2, 2), i("ceil_mode", 1))
	add("maxpool_2d_pads", 12, "MaxPool", 2, []*ir.Tensor{img}, is("kernel_shape", 3, 3), is("strides", 2, 2), is("pads", 1, 0, 1, 2))
	add("lppool_like_global", 13, "GlobalMaxPool", 1, []*ir.Tensor{vol})

	// Convolutions.
	add("conv3d_groups", 13, "Conv", 1, []*ir.Tensor{r(1, 4, 5, 6, 7), r(6, 2, 2, 3, 2), r(6)}, i("group", 2), is("dilations", 1, 2, 1), is("strides", 2, 1, 2), is("pads", 1, 0, 1, 0, 2, 1))
	add("conv1d_same_lower", 13, "Conv", 1, []*ir.Tensor{r(2, 3, 10), r(4, 3, 4)}, s("auto_pad", "SAME_LOWER"), is("strides", 3))
	add("conv2d_depthwise", 13, "Conv", 1, []*ir.Tensor{img, r(3, 1, 3, 3), r(3)}, i("group", 3), is("pads", 0, 1, 2, 1), is("strides", 2, 1))
	add("conv2d_dilated", 13, "Conv", 1, []*ir.Tensor{img, r(5, 3, 3, 2)}, is("pads", 2, 1, 3, 2), is("dilations", 2, 3))
	add("conv2d_same_upper", 13, "Conv", 1, []*ir.Tensor{img, r(5, 3, 3, 2)}, s("auto_pad", "SAME_UPPER"), is("strides", 2, 3))
	add("convT2d_groups", 13, "ConvTranspose", 1, []*ir.Tensor{r(1, 4, 4, 5), r(4, 3, 3, 2), r(6)}, i("group", 2), is("strides", 2, 3), is("output_padding", 1, 2), is("dilations", 1, 2), is("pads", 1, 0, 0, 1))
	add("convT1d_same", 13, "ConvTranspose", 1, []*ir.Tensor{r(2, 3, 6), r(3, 2, 3)}, s("auto_pad", "SAME_UPPER"), is("strides", 2))
	add("convT3d", 13, "ConvTranspose", 1, []*ir.Tensor{r(1, 2, 3, 4, 3), r(2, 3, 2, 2, 3)}, is("strides", 2, 1, 2))
	add("convT_output_shape", 13, "ConvTranspose", 1, []*ir.Tensor{r(1, 2, 3, 3), r(2, 2, 3, 3)}, is("strides", 2, 2), is("output_shape", 8, 7))

	// Quantisation at 21 and the QLinear operators.
	qx := randInts(rng, ir.Uint8, 0, 255, 1, 3, 7, 6)
	// 7-bit weights: onnxruntime's u8·s8 kernels without VNNI add pairs of
	// products in 16 bits and saturate on full-range weights (the reason
	// quantizers use reduce-range), while nncc accumulates exactly; within
	// 7 bits both are exact, so the comparison tests the operator.
	qw := randInts(rng, ir.Int8, -64, 63, 4, 3, 3, 3)
	add("qlinearconv_per_channel", 13, "QLinearConv", 1, []*ir.Tensor{qx, scalarOf(ir.Float32, 0.02), scalarOf(ir.Uint8, 128),
		qw, posF32(rng, 4), &ir.Tensor{DType: ir.Int8, Dims: []int64{4}, Data: make([]byte, 4)}, scalarOf(ir.Float32, 0.1), scalarOf(ir.Uint8, 120),
		randInts(rng, ir.Int32, -500, 500, 4)}, is("pads", 1, 1, 1, 1), is("strides", 1, 2))
	qa := randInts(rng, ir.Uint8, 0, 255, 2, 3, 5)
	qb := randInts(rng, ir.Uint8, 0, 255, 5, 4)
	add("qlinearmatmul", 21, "QLinearMatMul", 1, []*ir.Tensor{qa, scalarOf(ir.Float32, 0.03), scalarOf(ir.Uint8, 110), qb, scalarOf(ir.Float32, 0.02), scalarOf(ir.Uint8, 130), scalarOf(ir.Float32, 0.5), scalarOf(ir.Uint8, 100)})
	add("matmulinteger", 10, "MatMulInteger", 1, []*ir.Tensor{qa, qb, scalarOf(ir.Uint8, 3), scalarOf(ir.Uint8, 200)})
	add("convinteger", 10, "ConvInteger", 1, []*ir.Tensor{qx, randInts(rng, ir.Uint8, 0, 255, 2, 3, 2, 2), scalarOf(ir.Uint8, 7)}, is("pads", 0, 1, 1, 0))
	add("quantize21_axis", 21, "QuantizeLinear", 1, []*ir.Tensor{r(3, 4), posF32(rng, 4), randInts(rng, ir.Uint8, 100, 150, 4)}, i("axis", 1))
	add("dequantize21_axis", 21, "DequantizeLinear", 1, []*ir.Tensor{randInts(rng, ir.Int8, -128, 127, 3, 4), posF32(rng, 3), randInts(rng, ir.Int8, -5, 5, 3)}, i("axis", 0))
	add("dynamicquantize", 11, "DynamicQuantizeLinear", 3, []*ir.Tensor{r(3, 5)})

	// Normalisation.
	add("layernorm_axis1", 17, "LayerNormalization", 3, []*ir.Tensor{r(2, 3, 4), r(3, 4), r(4)}, i("axis", 1), f("epsilon", 1e-3))
	add("instancenorm", 13, "InstanceNormalization", 1, []*ir.Tensor{r(2, 3, 4, 5), r(3), r(3)})
	add("batchnorm15", 15, "BatchNormalization", 1, []*ir.Tensor{r(2, 3, 4), r(3), r(3), r(3), posF32(rng, 3)})

	// Linear algebra and data movement.
	add("gemm_trans_bias_row", 13, "Gemm", 1, []*ir.Tensor{r(4, 3), r(5, 4), r(5)}, i("transA", 1), i("transB", 1), f("alpha", 0.5), f("beta", 2))
	add("matmul_batched", 13, "MatMul", 1, []*ir.Tensor{r(2, 1, 3, 4), r(3, 4, 5)})
	add("matmul_vec", 13, "MatMul", 1, []*ir.Tensor{r(4), r(2, 4, 3)})
	add("matmul_f64", 13, "MatMul", 1, []*ir.Tensor{widenTo(r(3, 4), ir.Float64), widenTo(r(4, 2), ir.Float64)})
	add("transpose4d", 13, "Transpose", 1, []*ir.Tensor{r(2, 3, 4, 5)}, is("perm", 2, 0, 3, 1))
	add("slice_neg_steps", 13, "Slice", 1, []*ir.Tensor{r(5, 6, 7), i64(dims(2), -1, 5), i64(dims(2), -100, 0), i64(dims(2), 0, 2), i64(dims(2), -2, -3)})
	add("gather_neg", 13, "Gather", 1, []*ir.Tensor{r(3, 4, 2), i64(dims(2, 2), -1, 0, 3, -4)}, i("axis", 1))
	add("where_bcast", 16, "Where", 1, []*ir.Tensor{randInts(rng, ir.Bool, 0, 1, 3, 1), r(1, 4), r(2, 3, 1)})
	add("tile", 13, "Tile", 1, []*ir.Tensor{r(2, 3), i64(dims(2), 2, 3)})
	add("expand", 13, "Expand", 1, []*ir.Tensor{r(3, 1), i64(dims(3), 2, 1, 4)})
	add("cast_f2i8", 19, "Cast", 1, []*ir.Tensor{f32(dims(4), -3.7, 2.2, 100.9, -0.5)}, i("to", int64(ir.Int8)))
	add("cast_f2f16", 19, "Cast", 1, []*ir.Tensor{r(5)}, i("to", int64(ir.Float16)))
	for _, op := range []string{"HardSwish", "Softplus", "Selu", "Elu", "Celu", "HardSigmoid", "Softsign", "Erf", "Sigmoid", "Tanh"} {
		add("act_"+op, 22, op, 1, []*ir.Tensor{x})
	}
	add("prelu_bcast", 16, "PRelu", 1, []*ir.Tensor{r(2, 3, 4), r(3, 1)})
	add("pow_int_exp", 15, "Pow", 1, []*ir.Tensor{r(3, 2), i64(dims(2), 2, 3)})
	add("mod_int", 13, "Mod", 1, []*ir.Tensor{i64(dims(4), -7, 7, -7, 7), i64(dims(4), 3, -3, -3, 3)})
	add("mod_fmod", 13, "Mod", 1, []*ir.Tensor{r(4), f32(dims(4), 0.3, -0.3, 0.7, -0.7)}, i("fmod", 1))
	// Recurrent networks.
	seqLens := &ir.Tensor{DType: ir.Int32, Dims: []int64{3}, Data: []byte{4, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0}}
	add("lstm_bidi_peep", 14, "LSTM", 3, []*ir.Tensor{r(4, 3, 5), r(2, 4*6, 5), r(2, 4*6, 6), r(2, 8*6), seqLens, r(2, 3, 6), r(2, 3, 6), r(2, 3*6)},
		i("hidden_size", 6), s("direction", "bidirectional"))
	add("lstm_clip_input_forget", 14, "LSTM", 3, []*ir.Tensor{r(3, 4, 5), r(1, 4*6, 5), r(1, 4*6, 6), r(1, 8*6)}, i("hidden_size", 6), f("clip", 0.5), i("input_forget", 1))
	add("gru_linear_reset", 14, "GRU", 2, []*ir.Tensor{r(4, 3, 5), r(1, 3*6, 5), r(1, 3*6, 6), r(1, 6*6), seqLens, r(1, 3, 6)}, i("hidden_size", 6), i("linear_before_reset", 1))
	add("gru_reverse", 14, "GRU", 2, []*ir.Tensor{r(4, 3, 5), r(1, 3*6, 5), r(1, 3*6, 6), r(1, 6*6)}, i("hidden_size", 6), s("direction", "reverse"))
	add("rnn_bidi_acts", 14, "RNN", 2, []*ir.Tensor{r(4, 2, 5), r(2, 6, 5), r(2, 6, 6), r(2, 12)}, i("hidden_size", 6), s("direction", "bidirectional"),
		&ir.Attribute{Name: "activations", Type: ir.AttrStrings, Strings: [][]byte{[]byte("Relu"), []byte("Tanh")}})

	// Indexing, selection and the other extra operators.
	add("einsum_attention", 12, "Einsum", 1, []*ir.Tensor{r(2, 3, 4, 5), r(2, 3, 6, 5)}, s("equation", "bhqd,bhkd->bhqk"))
	add("einsum_ellipsis", 12, "Einsum", 1, []*ir.Tensor{r(2, 3, 4), r(4, 5)}, s("equation", "...ij,jk"))
	add("einsum_trace", 12, "Einsum", 1, []*ir.Tensor{r(3, 3)}, s("equation", "ii"))
	add("topk_smallest", 11, "TopK", 2, []*ir.Tensor{r(3, 7), i64(dims(1), 3)}, i("largest", 0), i("axis", 1))
	add("gathernd_batch", 13, "GatherND", 1, []*ir.Tensor{r(2, 3, 4), i64(dims(2, 2, 1), 1, 0, 2, 1)}, i("batch_dims", 1))
	add("scatternd_add", 16, "ScatterND", 1, []*ir.Tensor{r(4, 3), i64(dims(3, 1), 1, 3, 1), r(3, 3)}, s("reduction", "add"))
	add("scatterelements_max", 18, "ScatterElements", 1, []*ir.Tensor{r(3, 4), i64(dims(2, 2), 0, 3, 2, 1), r(2, 2)}, i("axis", 1), s("reduction", "max"))
	add("gatherelements", 13, "GatherElements", 1, []*ir.Tensor{r(3, 4), i64(dims(3, 2), 0, -1, 2, 1, 3, 3)}, i("axis", 1))
	add("cumsum_rev_excl", 14, "CumSum", 1, []*ir.Tensor{r(3, 4), i64(nil, 1)}, i("reverse", 1), i("exclusive", 1))
	add("trilu_lower", 14, "Trilu", 1, []*ir.Tensor{r(2, 4, 5), i64(nil, -1)}, i("upper", 0))
	add("depthtospace_crd", 13, "DepthToSpace", 1, []*ir.Tensor{r(1, 8, 2, 3)}, i("blocksize", 2), s("mode", "CRD"))
	add("spacetodepth", 13, "SpaceToDepth", 1, []*ir.Tensor{r(1, 2, 4, 6)}, i("blocksize", 2))
	add("onehot_axis0", 11, "OneHot", 1, []*ir.Tensor{i64(dims(2, 2), 1, -1, 3, 0), i64(nil, 4), f32(dims(2), -1, 5)}, i("axis", 0))
	add("lrn", 13, "LRN", 1, []*ir.Tensor{r(2, 5, 3, 3)}, i("size", 3), f("alpha", 0.01))
	add("nms", 11, "NonMaxSuppression", 1, []*ir.Tensor{
		f32(dims(1, 5, 4), 0, 0, 1, 1, 0, 0.1, 1, 1.1, 0, -0.1, 1, 0.9, 0, 10, 1, 11, 0, 10.1, 1, 11.1),
		f32(dims(1, 2, 5), 0.9, 0.75, 0.6, 0.95, 0.5, 0.1, 0.8, 0.3, 0.2, 0.7),
		i64(nil, 2), f32(nil, 0.5), f32(nil, 0.25)})
	gridIn := r(1, 2, 5, 6)
	grid := randF32(rng, 1, 4, 3, 2)
	for i, v := range view[float32](grid) {
		view[float32](grid)[i] = v * 0.8 // mostly inside, some outside [-1, 1]
	}
	for _, pm := range []string{"zeros", "border", "reflection"} {
		add("gridsample_bicubic_"+pm, 16, "GridSample", 1, []*ir.Tensor{gridIn, grid}, s("mode", "bicubic"), s("padding_mode", pm))
		add("gridsample_nearest_align_"+pm, 16, "GridSample", 1, []*ir.Tensor{gridIn, grid}, s("mode", "nearest"), s("padding_mode", pm), i("align_corners", 1))
		add("gridsample20_linear_"+pm, 20, "GridSample", 1, []*ir.Tensor{gridIn, grid}, s("mode", "linear"), s("padding_mode", pm))
	}
	roiX := r(2, 3, 8, 9)
	rois := f32(dims(3, 4), 0.5, 1, 6.2, 7.1, 2, 2, 4, 3, -1, 0.5, 10, 9)
	bidx := i64(dims(3), 0, 1, 1)
	add("roialign_avg", 16, "RoiAlign", 1, []*ir.Tensor{roiX, rois, bidx}, i("output_height", 3), i("output_width", 2), f("spatial_scale", 0.9))
	add("roialign_max_legacy", 16, "RoiAlign", 1, []*ir.Tensor{roiX, rois, bidx}, s("mode", "max"), i("sampling_ratio", 2), s("coordinate_transformation_mode", "output_half_pixel"))
	// Scan: a running sum over the columns of X, scanned backwards, with
	// the partial sums stacked along axis 1.
	sIn, xIn := &ir.Value{Name: "s", Type: ir.TensorType(ir.Float32, 2)}, &ir.Value{Name: "xs", Type: ir.TensorType(ir.Float32, 2)}
	sOut, yOut := &ir.Value{Name: "s_out", Type: ir.TensorType(ir.Float32, 2)}, &ir.Value{Name: "y", Type: ir.TensorType(ir.Float32, 2)}
	scanBody := &ir.Graph{Name: "scan_body", Inputs: []*ir.Value{sIn, xIn}, Outputs: []*ir.Value{sOut, yOut}, Nodes: []*ir.Node{
		{Name: "acc", OpType: "Add", Inputs: []*ir.Value{sIn, xIn}, Outputs: []*ir.Value{sOut}},
		{Name: "copy", OpType: "Identity", Inputs: []*ir.Value{sOut}, Outputs: []*ir.Value{yOut}},
	}}
	add("scan_reverse_axis1", 16, "Scan", 2, []*ir.Tensor{r(2), r(2, 5)}, ir.GraphAttr("body", scanBody), i("num_scan_inputs", 1),
		is("scan_input_axes", 1), is("scan_input_directions", 1), is("scan_output_axes", 1))
	return cs
}

func widenTo(t *ir.Tensor, dt ir.DType) *ir.Tensor {
	out := ir.NewTensor(dt, t.Dims...)
	if err := putFloat64s(out, t.Float64s()); err != nil {
		panic(err)
	}
	return out
}

// TestAgainstOnnxruntime runs one-node models, many in opset forms the
// conformance data does not cover, through both the runtime and
// onnxruntime and compares the outputs.
func TestAgainstOnnxruntime(t *testing.T) {
	ortref.Require(t)
	dir := t.TempDir()
	cases := ortCases()
	var jobs []ortref.Job
	mine := make([][]*ir.Tensor, len(cases))
	for k, c := range cases {
		m, feeds := singleModel(c.opset, c.op, c.nout, c.ins, c.attrs...)
		switch {
		case c.opset >= 21:
			m.IRVersion = 10
		case c.opset >= 19:
			m.IRVersion = 9
		}
		out, err := run1(m, feeds)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		for _, v := range m.Graph.Outputs {
			o := out[v.Name]
			v.Type = ir.TensorType(o.DType, o.Dims...)
			mine[k] = append(mine[k], o)
		}
		path := filepath.Join(dir, c.name+".onnx")
		if err := onnx.Save(m, path, onnx.SaveOptions{}); err != nil {
			t.Fatal(err)
		}
		job := ortref.Job{Model: path, Out: filepath.Join(dir, c.name), Opt: ortref.OptDisabled, Inputs: map[string]string{}}
		for name, tv := range feeds {
			p := filepath.Join(dir, fmt.Sprintf("%s_%s.pb", c.name, name))
			if err := onnx.WriteTensorFile(p, tv, name); err != nil {
				t.Fatal(err)
			}
			job.Inputs[name] = p
		}
		jobs = append(jobs, job)
	}
	res, err := ortref.Run(jobs)
	if err != nil {
		t.Fatal(err)
	}
	j := 0
	for k, c := range cases {
		if mine[k] == nil {
			continue
		}
		r := res[j]
		j++
		want, err := r.Tensors()
		if err != nil {
			t.Errorf("%s: onnxruntime: %v", c.name, err)
			continue
		}
		tol := c.tol
		if tol == 0 {
			tol = 1e-4
		}
		for o := range want {
			if err := ortref.Compare(mine[k][o], want[o], ortref.Tolerance{Abs: tol, Rel: tol}); err != nil {
				t.Errorf("%s (%s, opset %d) output %d: %v", c.name, c.op, c.opset, o, err)
			}
		}
	}
}
