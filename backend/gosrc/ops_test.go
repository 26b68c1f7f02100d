package gosrc

import (
	"strings"
	"testing"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/runtime"
	"github.com/nncc/nncc/testmodels"
)

// flatCat flattens each value after the batch and concatenates them, so
// that one output checks several operators.
func flatCat(b *testmodels.Builder, vs ...*ir.Value) *ir.Value {
	var fs []*ir.Value
	for _, v := range vs {
		fs = append(fs, b.Node("Flatten", []*ir.Value{v}, ir.IntAttr("axis", 1)))
	}
	return b.Node("Concat", fs, ir.IntAttr("axis", 1))
}

// resizeModel resizes one input by linear and cubic interpolation with
// several coordinate transformation modes, up and down, with a symbolic
// batch.
func resizeModel() *ir.Model {
	b := testmodels.NewBuilder("resize", 13)
	x := b.InputShape("x", ir.Float32, ir.Shape{ir.Sym("N"), ir.D(2), ir.D(5), ir.D(6)})
	roi := b.F32("roi", []int64{0}, nil)
	sc := func(name string, s ...float32) *ir.Value { return b.F32(name, []int64{4}, s) }
	var outs []*ir.Value
	for i, c := range []struct {
		mode, coord string
		scales      []float32
		extra       []*ir.Attribute
	}{
		{"linear", "half_pixel", []float32{1, 1, 2, 1.5}, nil},
		{"linear", "align_corners", []float32{1, 1, 1.6, 0.5}, nil},
		{"linear", "asymmetric", []float32{1, 1, 3, 2}, nil},
		{"linear", "pytorch_half_pixel", []float32{1, 1, 0.4, 1}, nil},
		{"cubic", "half_pixel", []float32{1, 1, 2, 2}, nil},
		{"cubic", "asymmetric", []float32{1, 1, 1.4, 0.7}, []*ir.Attribute{ir.FloatAttr("cubic_coeff_a", -0.5), ir.IntAttr("exclude_outside", 1)}},
	} {
		attrs := append([]*ir.Attribute{ir.StringAttr("mode", c.mode), ir.StringAttr("coordinate_transformation_mode", c.coord)}, c.extra...)
		outs = append(outs, b.Node("Resize", []*ir.Value{x, roi, sc("s"+string(rune('a'+i)), c.scales...)}, attrs...))
	}
	b.Output(flatCat(b, outs...))
	return b.Model()
}

// TestResizeInterp: linear and cubic Resize give nncc's runtime's
// outputs at batches 1 and 3.
func TestResizeInterp(t *testing.T) {
	m := resizeModel()
	h := buildGenerated(t, m, Options{Package: "resize"})
	compareRuntime(t, m, h, []int64{2, 5, 6}, 1, 3)
}

// splitGatherModel splits along a channel axis with given sizes and in
// equal parts, and gathers data with constant indices (negative ones
// included) and a scalar index.
func splitGatherModel() *ir.Model {
	b := testmodels.NewBuilder("splitgather", 13)
	x := b.InputShape("x", ir.Float32, ir.Shape{ir.Sym("N"), ir.D(6), ir.D(4)})
	s := b.NodeN("Split", []*ir.Value{x, b.I64("sizes", []int64{2}, []int64{2, 4})}, 2, ir.IntAttr("axis", 1))
	r := b.Node("Relu", []*ir.Value{s[1]})
	g1 := b.Node("Gather", []*ir.Value{r, b.I64("ix", []int64{3}, []int64{3, -1, 0})}, ir.IntAttr("axis", 1))
	g2 := b.Node("Gather", []*ir.Value{s[0], b.I64("two", nil, []int64{2})}, ir.IntAttr("axis", 2))
	e := b.NodeN("Split", []*ir.Value{x}, 2, ir.IntAttr("axis", 2))
	sum := b.Node("Sub", []*ir.Value{e[0], e[1]})
	b.Output(flatCat(b, g1, g2, sum))
	return b.Model()
}

// TestSplitGather: Split (sizes given and equal parts) and Gather of
// data give nncc's runtime's outputs.
func TestSplitGather(t *testing.T) {
	m := splitGatherModel()
	h := buildGenerated(t, m, Options{Package: "splitgather"})
	compareRuntime(t, m, h, []int64{6, 4}, 1, 2)
}

// TestGatherComputedIndices gathers rows of a constant table with
// indices that are a graph input (int64, passed to Run as float32
// values), negative ones included.
func TestGatherComputedIndices(t *testing.T) {
	b := testmodels.NewBuilder("embed", 13)
	ids := b.InputShape("ids", ir.Int64, ir.Shape{ir.Sym("N"), ir.D(4)})
	y := b.Node("Gather", []*ir.Value{b.F32("table", []int64{12, 3}, seq(36, 2)), ids}, ir.IntAttr("axis", 0))
	b.Output(b.Node("Relu", []*ir.Value{y}))
	m := b.Model()
	h := buildGenerated(t, m, Options{Package: "embed"})
	idx := []int64{0, 11, -1, 3, 2, -12, 5, 1}
	f := make([]float32, len(idx))
	for i, v := range idx {
		f[i] = float32(v)
	}
	outs, err := h.Run([][][]float32{{f}})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := runtime.NewSession(m, runtime.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	res, err := sess.Run(map[string]*ir.Tensor{"ids": ir.FromInt64([]int64{2, 4}, idx)})
	if err != nil {
		t.Fatal(err)
	}
	ref := res[sess.OutputNames()[0]].Float32s()
	got := outs[0][0]
	if len(got) != len(ref) {
		t.Fatalf("%d outputs, want %d", len(got), len(ref))
	}
	for i := range ref {
		if got[i] != ref[i] {
			t.Fatalf("output %d = %v, want %v", i, got[i], ref[i])
		}
	}
}

// convTransposeModel has grouped transposed convolutions: groups of 2
// with stride 2, pads and output_padding; one group per channel with
// output_shape; and a 1-D one.
func convTransposeModel() *ir.Model {
	b := testmodels.NewBuilder("ct", 13)
	x := b.InputShape("x", ir.Float32, ir.Shape{ir.Sym("N"), ir.D(4), ir.D(5), ir.D(5)})
	y := b.Node("ConvTranspose", []*ir.Value{x, b.F32("w1", []int64{4, 3, 3, 3}, seq(108, 1)), b.F32("b1", []int64{6}, seq(6, 2))},
		ir.IntAttr("group", 2), ir.IntsAttr("strides", 2, 2), ir.IntsAttr("pads", 1, 1, 1, 1), ir.IntsAttr("output_padding", 1, 1))
	z := b.Node("ConvTranspose", []*ir.Value{y, b.F32("w2", []int64{6, 1, 2, 2}, seq(24, 3))},
		ir.IntAttr("group", 6), ir.IntsAttr("strides", 2, 2), ir.IntsAttr("output_shape", 19, 21), ir.StringAttr("auto_pad", "SAME_UPPER"))
	r := b.Node("Reshape", []*ir.Value{x, b.I64("shp", []int64{3}, []int64{0, 4, 25})})
	o := b.Node("ConvTranspose", []*ir.Value{r, b.F32("w3", []int64{4, 1, 3}, seq(12, 4))}, ir.IntAttr("group", 2), ir.IntsAttr("strides", 3), ir.IntsAttr("dilations", 2))
	b.Output(flatCat(b, y, z, o))
	return b.Model()
}

// TestConvTransposeGroups: grouped, per-channel and 1-D ConvTranspose
// give nncc's runtime's outputs.
func TestConvTransposeGroups(t *testing.T) {
	m := convTransposeModel()
	files, err := Generate(m, Options{Package: "ct"})
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(files[ModelFile]), "kernels.PackConvTranspose2D(&"); n != 3 {
		t.Errorf("%d transposed convolutions packed for kernels.PackedConvTranspose2D, want 3", n)
	}
	h := buildGenerated(t, m, Options{Package: "ct"})
	compareRuntime(t, m, h, []int64{4, 5, 5}, 1, 2)
}

// bytePathsModel exercises the 8-bit paths outside the quantize pass's
// usual forms: a float convolution whose QuantizeLinear result is int8
// (the kernel writes float32 scratch, the loop quantizes into bytes),
// max pooling of int8 bytes (DequantizeLinear → MaxPool → QuantizeLinear
// with equal parameters), per-axis QuantizeLinear and DequantizeLinear
// of activations, a Cast of bytes read by a float loop, and residual
// int8 bytes added with kernels.QAdd behind a Relu.
func bytePathsModel() *ir.Model {
	b := testmodels.NewBuilder("bytepaths", 13)
	x := b.InputShape("x", ir.Float32, ir.Shape{ir.Sym("N"), ir.D(2), ir.D(6), ir.D(6)})
	c := b.Node("Relu", []*ir.Value{b.Node("Conv", []*ir.Value{x, b.F32("w", []int64{3, 2, 3, 3}, seq(54, 1))}, ir.IntsAttr("pads", 1, 1, 1, 1))})
	s, z := b.F32("s", nil, []float32{0.05}), b.Const("z", i8(-3))
	q := b.Node("QuantizeLinear", []*ir.Value{c, s, z})
	p := b.Node("MaxPool", []*ir.Value{b.Node("DequantizeLinear", []*ir.Value{q, s, z})}, ir.IntsAttr("kernel_shape", 2, 2), ir.IntsAttr("strides", 2, 2))
	pq := b.Node("QuantizeLinear", []*ir.Value{p, s, z})
	m := b.Node("Mul", []*ir.Value{b.Node("DequantizeLinear", []*ir.Value{pq, s, z}), b.F32("k", []int64{3, 1, 1}, []float32{0.5, -1, 2})})
	as, az := b.F32("as", []int64{3}, []float32{0.02, 0.03, 0.05}), b.Const("az", ints(ir.Uint8, 100, 140, 3))
	aq := b.Node("QuantizeLinear", []*ir.Value{m, as, az}, ir.IntAttr("axis", 1))
	ad := b.Node("DequantizeLinear", []*ir.Value{aq, as, az}, ir.IntAttr("axis", 1))
	cast := b.Node("Cast", []*ir.Value{pq}, ir.IntAttr("to", int64(ir.Float32)))
	r1 := b.Node("QuantizeLinear", []*ir.Value{b.Node("Sigmoid", []*ir.Value{ad}), s, z})
	r2 := b.Node("QuantizeLinear", []*ir.Value{b.Node("Mul", []*ir.Value{cast, b.F32("t", nil, []float32{0.01})}), s, z})
	sum := b.Node("Relu", []*ir.Value{b.Node("Add", []*ir.Value{b.Node("DequantizeLinear", []*ir.Value{r1, s, z}), b.Node("DequantizeLinear", []*ir.Value{r2, s, z})})})
	ys, yz := b.F32("ys", nil, []float32{0.04}), b.Const("yz", i8(5))
	y := b.Node("DequantizeLinear", []*ir.Value{b.Node("QuantizeLinear", []*ir.Value{sum, ys, yz}), ys, yz})
	b.Output(flatCat(b, y, ad))
	return b.Model()
}

// TestBytePaths: the model above gives nncc's runtime's outputs, and the
// generated code takes the byte paths it is meant to.
func TestBytePaths(t *testing.T) {
	m := bytePathsModel()
	files, err := Generate(m, Options{Package: "bytepaths"})
	if err != nil {
		t.Fatal(err)
	}
	src := string(files[ModelFile])
	for _, want := range []string{"kernels.MaxPool2D8(", "kernels.QAdd(", "float32(int8(", "kernels.Quantize8(", "kernels.DequantizeBlock("} {
		if !strings.Contains(src, want) {
			t.Errorf("the generated code does not contain %s", want)
		}
	}
	h := buildGenerated(t, m, Options{Package: "bytepaths"})
	compareRuntime(t, m, h, []int64{2, 6, 6}, 1, 3)
}

// TestByteOutput: a graph output that is 8-bit (QuantizeLinear, uint8
// and int8) comes back as float32 values of its integers, as nncc's
// runtime computes them.
func TestByteOutput(t *testing.T) {
	b := testmodels.NewBuilder("byteout", 13)
	x := b.InputShape("x", ir.Float32, ir.Shape{ir.Sym("N"), ir.D(5)})
	u := b.Node("QuantizeLinear", []*ir.Value{x, b.F32("s", nil, []float32{0.01}), b.Const("z", u8(120))})
	s := b.Node("QuantizeLinear", []*ir.Value{x, b.F32("t", nil, []float32{0.02}), b.Const("y", i8(-7))})
	b.Output(u, s)
	m := b.Model()
	h := buildGenerated(t, m, Options{Package: "byteout"})
	in := seq(10, 3)
	outs, err := h.Run([][][]float32{{in}})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := runtime.NewSession(m, runtime.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	res, err := sess.Run(map[string]*ir.Tensor{"x": ir.FromFloat32([]int64{2, 5}, in)})
	if err != nil {
		t.Fatal(err)
	}
	for k, name := range sess.OutputNames() {
		ref := res[name].Float64s()
		got := outs[0][k]
		if len(got) != len(ref) {
			t.Fatalf("output %d: %d values, want %d", k, len(got), len(ref))
		}
		for i := range ref {
			if float64(got[i]) != ref[i] {
				t.Errorf("output %d [%d] = %v, want %v", k, i, got[i], ref[i])
			}
		}
	}
}

// TestResizeSizes: linear and cubic Resize given output sizes (not
// scales), with a fixed batch, give nncc's runtime's outputs.
func TestResizeSizes(t *testing.T) {
	b := testmodels.NewBuilder("resizesizes", 13)
	x := b.Input("x", ir.Float32, 2, 3, 7, 5)
	roi, none := b.F32("roi", []int64{0}, nil), b.F32("none", []int64{0}, nil)
	l := b.Node("Resize", []*ir.Value{x, roi, none, b.I64("s1", []int64{4}, []int64{2, 3, 11, 4})},
		ir.StringAttr("mode", "linear"), ir.StringAttr("coordinate_transformation_mode", "half_pixel"))
	c := b.Node("Resize", []*ir.Value{x, roi, none, b.I64("s2", []int64{4}, []int64{2, 3, 4, 9})},
		ir.StringAttr("mode", "cubic"), ir.StringAttr("coordinate_transformation_mode", "align_corners"))
	b.Output(flatCat(b, l, c))
	m := b.Model()
	h := buildGenerated(t, m, Options{Package: "resizesizes"})
	compareRuntime(t, m, h, []int64{3, 7, 5}, 2)
}
