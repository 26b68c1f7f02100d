package ir_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/testmodels"
)

// shape builds a shape from ints (known sizes), strings (symbols) and "?"
// (unknown).
func shape(dims ...any) ir.Shape {
	s := make(ir.Shape, len(dims))
	for i, d := range dims {
		switch d := d.(type) {
		case int:
			s[i] = ir.D(int64(d))
		case string:
			if d == "?" {
				s[i] = ir.UnknownDim
			} else {
				s[i] = ir.Sym(d)
			}
		default:
			panic("shape: bad dim")
		}
	}
	return s
}

// infer runs InferShapes and fails the test on error.
func infer(t *testing.T, b *testmodels.Builder) {
	t.Helper()
	if err := ir.InferShapes(b.Model()); err != nil {
		t.Fatalf("InferShapes: %v", err)
	}
}

// inferErr runs InferShapes and requires an error mentioning want.
func inferErr(t *testing.T, b *testmodels.Builder, want string) {
	t.Helper()
	err := ir.InferShapes(b.Model())
	if err == nil {
		t.Fatalf("InferShapes succeeded, want an error mentioning %q", want)
	}
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not mention %q", err, want)
	}
	var se *ir.ShapeError
	if !errors.As(err, &se) || se.Node == nil {
		t.Fatalf("error %v is not a *ShapeError naming a node", err)
	}
}

func want(t *testing.T, v *ir.Value, w string) {
	t.Helper()
	if got := v.Type.String(); got != w {
		t.Errorf("%s: got %s, want %s", v.Name, got, w)
	}
}

func ints(name string, v ...int64) *ir.Attribute { return ir.IntsAttr(name, v...) }

func TestElementwiseBroadcast(t *testing.T) {
	b := testmodels.NewBuilder("ew", 17)
	x := b.InputShape("x", ir.Float32, shape("N", 3, 1))
	y := b.InputShape("y", ir.Float32, shape(4))
	m := b.InputShape("m", ir.Float32, shape("M"))
	n1 := b.InputShape("n1", ir.Float32, shape("N", 1))
	add := b.Node("Add", []*ir.Value{x, y})
	relu := b.Node("Relu", []*ir.Value{add})
	two := b.Node("Mul", []*ir.Value{n1, m})
	eq := b.Node("Equal", []*ir.Value{x, y})
	where := b.Node("Where", []*ir.Value{eq, relu, b.F32("zero", nil, []float32{0})})
	sum := b.Node("Sum", []*ir.Value{x, y, n1})
	same := b.Node("Max", []*ir.Value{m, m})
	unk := b.InputShape("u", ir.Float32, shape("?"))
	symU := b.Node("Add", []*ir.Value{m, unk})
	infer(t, b)
	want(t, add, "float32[N,3,4]")
	want(t, relu, "float32[N,3,4]")
	want(t, two, "float32[N,M]")
	want(t, eq, "bool[N,3,4]")
	want(t, where, "float32[N,3,4]")
	want(t, sum, "float32[N,3,4]")
	want(t, same, "float32[M]")
	want(t, symU, "float32[?]")
}

func TestElementwiseMismatch(t *testing.T) {
	b := testmodels.NewBuilder("bad", 17)
	x := b.Input("x", ir.Float32, 2, 3)
	y := b.Input("y", ir.Float32, 4)
	b.Node("Add", []*ir.Value{x, y})
	inferErr(t, b, "cannot broadcast")
}

func TestUnaryAndDropout(t *testing.T) {
	b := testmodels.NewBuilder("un", 12)
	x := b.InputShape("x", ir.Float16, shape("B", 7))
	outs := b.NodeN("Dropout", []*ir.Value{x}, 2)
	sm := b.Node("Softmax", []*ir.Value{x}, ir.IntAttr("axis", -1))
	isn := b.Node("IsNaN", []*ir.Value{x})
	infer(t, b)
	want(t, outs[0], "float16[B,7]")
	want(t, outs[1], "bool[B,7]")
	want(t, sm, "float16[B,7]")
	want(t, isn, "bool[B,7]")

	// Before opset 10 the mask has the input's type.
	b = testmodels.NewBuilder("un7", 7)
	x = b.Input("x", ir.Float32, 2)
	outs = b.NodeN("Dropout", []*ir.Value{x}, 2)
	infer(t, b)
	want(t, outs[1], "float32[2]")
}

func TestMatMul(t *testing.T) {
	b := testmodels.NewBuilder("mm", 13)
	x := b.InputShape("x", ir.Float32, shape("N", "T", 64))
	w := b.F32("w", []int64{64, 10}, make([]float32, 640))
	v := b.Input("v", ir.Float32, 3)
	m := b.Input("m", ir.Float32, 3, 4)
	bat := b.Input("bat", ir.Float32, 2, 5, 3, 4)
	mv := b.Input("mv", ir.Float32, 4)
	y := b.Node("MatMul", []*ir.Value{x, w})
	vm := b.Node("MatMul", []*ir.Value{v, m})
	bv := b.Node("MatMul", []*ir.Value{bat, mv})
	bb := b.Node("MatMul", []*ir.Value{bat, b.Input("bb", ir.Float32, 5, 4, 6)})
	infer(t, b)
	want(t, y, "float32[N,T,10]")
	want(t, vm, "float32[4]")
	want(t, bv, "float32[2,5,3]")
	want(t, bb, "float32[2,5,3,6]")

	b = testmodels.NewBuilder("mmbad", 13)
	b.Node("MatMul", []*ir.Value{b.Input("a", ir.Float32, 2, 3), b.Input("b", ir.Float32, 4, 5)})
	inferErr(t, b, "inner dimensions 3 and 4")
}

func TestGemm(t *testing.T) {
	b := testmodels.NewBuilder("gemm", 13)
	x := b.InputShape("x", ir.Float32, shape("N", 64))
	w := b.F32("w", []int64{10, 64}, make([]float32, 640))
	bias := b.F32("b", []int64{10}, make([]float32, 10))
	y := b.Node("Gemm", []*ir.Value{x, w, bias}, ir.IntAttr("transB", 1))
	infer(t, b)
	want(t, y, "float32[N,10]")

	b = testmodels.NewBuilder("gemmbad", 13)
	x = b.Input("x", ir.Float32, 2, 64)
	w = b.F32("w", []int64{10, 64}, make([]float32, 640))
	b.Node("Gemm", []*ir.Value{x, w}) // transB missing: 64 vs 10
	inferErr(t, b, "inner dimensions")
}

func TestConv(t *testing.T) {
	b := testmodels.NewBuilder("conv", 13)
	x := b.InputShape("x", ir.Float32, shape("N", 3, 32, 32))
	xs := b.InputShape("xs", ir.Float32, shape("N", 3, "H", "W"))
	w := b.F32("w", []int64{16, 3, 3, 3}, make([]float32, 16*27))
	same := b.Node("Conv", []*ir.Value{x, w}, ints("pads", 1, 1, 1, 1))
	down := b.Node("Conv", []*ir.Value{x, w}, ints("pads", 1, 1, 1, 1), ints("strides", 2, 2))
	valid := b.Node("Conv", []*ir.Value{x, w})
	dil := b.Node("Conv", []*ir.Value{x, w}, ints("dilations", 2, 2))
	symSame := b.Node("Conv", []*ir.Value{xs, w}, ints("pads", 1, 1, 1, 1))
	symDown := b.Node("Conv", []*ir.Value{xs, w}, ints("pads", 1, 1, 1, 1), ints("strides", 2, 2))
	auto := b.Node("Conv", []*ir.Value{b.Input("x7", ir.Float32, 1, 3, 7, 7), w},
		ir.StringAttr("auto_pad", "SAME_UPPER"), ints("strides", 2, 2))
	dw := b.Node("Conv", []*ir.Value{b.Input("xd", ir.Float32, 1, 8, 5, 5), b.F32("wd", []int64{8, 1, 3, 3}, make([]float32, 72))},
		ir.IntAttr("group", 8))
	relu := b.Node("Relu", []*ir.Value{symSame})
	infer(t, b)
	want(t, same, "float32[N,16,32,32]")
	want(t, down, "float32[N,16,16,16]")
	want(t, valid, "float32[N,16,30,30]")
	want(t, dil, "float32[N,16,28,28]")
	want(t, symSame, "float32[N,16,H,W]")
	want(t, symDown, "float32[N,16,?,?]")
	want(t, auto, "float32[1,16,4,4]")
	want(t, dw, "float32[1,8,3,3]")
	want(t, relu, "float32[N,16,H,W]")

	b = testmodels.NewBuilder("convbad", 13)
	b.Node("Conv", []*ir.Value{b.Input("x", ir.Float32, 1, 4, 8, 8), b.F32("w", []int64{2, 3, 1, 1}, make([]float32, 6))})
	inferErr(t, b, "channels")
	b = testmodels.NewBuilder("convbig", 13)
	b.Node("Conv", []*ir.Value{b.Input("x", ir.Float32, 1, 3, 2, 2), b.F32("w", []int64{2, 3, 3, 3}, make([]float32, 54))})
	inferErr(t, b, "larger than the padded input")
}

func TestConvTranspose(t *testing.T) {
	b := testmodels.NewBuilder("convt", 13)
	x := b.InputShape("x", ir.Float32, shape("N", 8, 4, 4))
	w := b.F32("w", []int64{8, 4, 3, 3}, make([]float32, 8*4*9))
	up := b.Node("ConvTranspose", []*ir.Value{x, w}, ints("strides", 2, 2), ints("pads", 1, 1, 1, 1), ints("output_padding", 1, 1))
	plain := b.Node("ConvTranspose", []*ir.Value{x, w})
	fixed := b.Node("ConvTranspose", []*ir.Value{x, w}, ints("strides", 3, 3), ints("output_shape", 10, 8))
	infer(t, b)
	want(t, up, "float32[N,4,8,8]")
	want(t, plain, "float32[N,4,6,6]")
	want(t, fixed, "float32[N,4,10,8]")
}

func TestPooling(t *testing.T) {
	b := testmodels.NewBuilder("pool", 13)
	x := b.InputShape("x", ir.Float32, shape("N", 16, 32, 32))
	x5 := b.Input("x5", ir.Float32, 1, 2, 5, 5)
	mp := b.NodeN("MaxPool", []*ir.Value{x}, 2, ints("kernel_shape", 2, 2), ints("strides", 2, 2))
	floor := b.Node("AveragePool", []*ir.Value{x5}, ints("kernel_shape", 2, 2), ints("strides", 2, 2))
	ceil := b.Node("AveragePool", []*ir.Value{x5}, ints("kernel_shape", 2, 2), ints("strides", 2, 2), ir.IntAttr("ceil_mode", 1))
	gap := b.Node("GlobalAveragePool", []*ir.Value{x})
	infer(t, b)
	want(t, mp[0], "float32[N,16,16,16]")
	want(t, mp[1], "int64[N,16,16,16]")
	want(t, floor, "float32[1,2,2,2]")
	want(t, ceil, "float32[1,2,3,3]")
	want(t, gap, "float32[N,16,1,1]")
}

func TestNormalization(t *testing.T) {
	b := testmodels.NewBuilder("norm", 17)
	x := b.InputShape("x", ir.Float32, shape("N", 4, "H", "W"))
	c := func(name string) *ir.Value { return b.F32(name, []int64{4}, make([]float32, 4)) }
	bn := b.Node("BatchNormalization", []*ir.Value{x, c("s"), c("b"), c("m"), c("v")})
	seq := b.InputShape("seq", ir.Float32, shape("N", "T", 32))
	ln := b.NodeN("LayerNormalization", []*ir.Value{seq, b.F32("g", []int64{32}, make([]float32, 32))}, 3)
	infer(t, b)
	want(t, bn, "float32[N,4,H,W]")
	want(t, ln[0], "float32[N,T,32]")
	want(t, ln[1], "float32[N,T,1]")
	want(t, ln[2], "float32[N,T,1]")
}

func TestReshape(t *testing.T) {
	b := testmodels.NewBuilder("reshape", 14)
	x := b.InputShape("x", ir.Float32, shape("N", 3, 4))
	keepN := b.Node("Reshape", []*ir.Value{x, b.I64("s1", []int64{2}, []int64{0, -1})})
	lost := b.Node("Reshape", []*ir.Value{x, b.I64("s2", []int64{2}, []int64{-1, 4})})
	back := b.Node("Reshape", []*ir.Value{lost, b.I64("s5", []int64{3}, []int64{-1, 3, 4})})
	mixed := b.Node("Reshape", []*ir.Value{b.InputShape("bt", ir.Float32, shape("B", "T", 32)), b.I64("s6", []int64{3}, []int64{0, 0, -1})})
	split := b.Node("Reshape", []*ir.Value{x, b.I64("s3", []int64{4}, []int64{0, 3, 2, 2})})
	static := b.Node("Reshape", []*ir.Value{b.Input("y", ir.Float32, 2, 3, 4), b.I64("s4", []int64{3}, []int64{4, -1, 2})})
	dyn := b.Node("Reshape", []*ir.Value{x, b.InputShape("dyn", ir.Int64, shape(3))})
	infer(t, b)
	want(t, keepN, "float32[N,12]")
	want(t, lost, "float32[3*N,4]")
	want(t, split, "float32[N,3,2,2]")
	want(t, back, "float32[N,3,4]")
	want(t, mixed, "float32[B,T,32]")
	want(t, static, "float32[4,3,2]")
	want(t, dyn, "float32[?,?,?]")

	b = testmodels.NewBuilder("reshapebad", 14)
	b.Node("Reshape", []*ir.Value{b.Input("y", ir.Float32, 2, 3), b.I64("s", []int64{2}, []int64{4, -1})})
	inferErr(t, b, "cannot reshape")
	b = testmodels.NewBuilder("reshapebad2", 14)
	b.Node("Reshape", []*ir.Value{b.Input("y", ir.Float32, 2, 3), b.I64("s", []int64{2}, []int64{-1, -1})})
	inferErr(t, b, "more than one -1")
}

// TestShapeChain follows the pattern PyTorch exports for
// x.view(x.size(0), -1) and friends: the target shape is computed from
// Shape at run time and must still resolve, symbolically.
func TestShapeChain(t *testing.T) {
	b := testmodels.NewBuilder("chain", 13)
	x := b.InputShape("x", ir.Float32, shape("N", 3, 4, 5))
	shp := b.Node("Shape", []*ir.Value{x})
	n := b.Node("Gather", []*ir.Value{shp, b.I64("i0", nil, []int64{0})}, ir.IntAttr("axis", 0))
	un := b.Node("Unsqueeze", []*ir.Value{n, b.I64("ax0", []int64{1}, []int64{0})})
	cat := b.Node("Concat", []*ir.Value{un, b.I64("m1", []int64{1}, []int64{-1})}, ir.IntAttr("axis", 0))
	flat := b.Node("Reshape", []*ir.Value{x, cat})

	// [N, C*H, W] with C*H computed by Mul on gathered dims.
	c := b.Node("Gather", []*ir.Value{shp, b.I64("i1", nil, []int64{1})})
	h := b.Node("Gather", []*ir.Value{shp, b.I64("i2", nil, []int64{2})})
	ch := b.Node("Mul", []*ir.Value{c, h})
	w := b.Node("Slice", []*ir.Value{shp, b.I64("st", []int64{1}, []int64{-1}), b.I64("en", []int64{1}, []int64{1 << 62})})
	ax := b.I64("ax", []int64{1}, []int64{0})
	cat2 := b.Node("Concat", []*ir.Value{un, b.Node("Unsqueeze", []*ir.Value{ch, ax}), w}, ir.IntAttr("axis", 0))
	r2 := b.Node("Reshape", []*ir.Value{x, cat2})

	// ConstantOfShape and Expand driven by Shape keep the symbol.
	ones := b.Node("ConstantOfShape", []*ir.Value{shp}, ir.TensorAttr("value", ir.FromInt64([]int64{1}, []int64{1})))
	ex := b.Node("Expand", []*ir.Value{b.F32("one", []int64{1}, []float32{1}), shp})
	// Range up to a symbolic size.
	rng := b.Node("Range", []*ir.Value{b.I64("r0", nil, []int64{0}), n, b.I64("r1", nil, []int64{1})})
	// Cast keeps tracked values; Size gives the element count.
	cst := b.Node("Cast", []*ir.Value{cat}, ir.IntAttr("to", int64(ir.Int32)))
	r3 := b.Node("Reshape", []*ir.Value{x, b.Node("Cast", []*ir.Value{cst}, ir.IntAttr("to", int64(ir.Int64)))})
	infer(t, b)
	want(t, shp, "int64[4]")
	want(t, n, "int64[]")
	want(t, cat, "int64[2]")
	want(t, flat, "float32[N,60]")
	want(t, r2, "float32[N,12,5]")
	want(t, ones, "int64[N,3,4,5]")
	want(t, ex, "float32[N,3,4,5]")
	want(t, rng, "int64[N]")
	want(t, r3, "float32[N,60]")
}

// TestShapeChainExpandWhere is the pattern exported for x.expand(B, -1, -1):
// Where(Equal(shape, -1), ones, shape).
func TestShapeChainExpandWhere(t *testing.T) {
	b := testmodels.NewBuilder("expandwhere", 13)
	x := b.InputShape("x", ir.Float32, shape("B", 5, 6))
	p := b.Input("p", ir.Float32, 1, 5, 6)
	bdim := b.Node("Gather", []*ir.Value{b.Node("Shape", []*ir.Value{x}), b.I64("i0", []int64{1}, []int64{0})})
	tgt := b.Node("Concat", []*ir.Value{bdim, b.I64("rest", []int64{2}, []int64{-1, -1})}, ir.IntAttr("axis", 0))
	isNeg := b.Node("Equal", []*ir.Value{tgt, b.I64("neg", []int64{3}, []int64{-1, -1, -1})})
	fixed := b.Node("Where", []*ir.Value{isNeg, b.I64("ones", []int64{3}, []int64{1, 1, 1}), tgt})
	y := b.Node("Expand", []*ir.Value{p, fixed})
	infer(t, b)
	want(t, y, "float32[B,5,6]")
}

func TestFlattenTransposeSqueeze(t *testing.T) {
	b := testmodels.NewBuilder("shapes", 11)
	x := b.InputShape("x", ir.Float32, shape("N", 3, 4, 5))
	fl := b.Node("Flatten", []*ir.Value{x})
	fl0 := b.Node("Flatten", []*ir.Value{x}, ir.IntAttr("axis", 0))
	fl2 := b.Node("Flatten", []*ir.Value{x}, ir.IntAttr("axis", -2))
	tr := b.Node("Transpose", []*ir.Value{x}, ints("perm", 0, 2, 3, 1))
	rev := b.Node("Transpose", []*ir.Value{x})
	us := b.Node("Unsqueeze", []*ir.Value{x}, ints("axes", 0, -1))
	sq := b.Node("Squeeze", []*ir.Value{us}, ints("axes", 0))
	ones := b.Input("ones", ir.Float32, 1, 3, 1)
	sqAll := b.Node("Squeeze", []*ir.Value{ones})
	infer(t, b)
	want(t, fl, "float32[N,60]")
	want(t, fl0, "float32[1,60*N]")
	want(t, fl2, "float32[3*N,20]")
	want(t, tr, "float32[N,4,5,3]")
	want(t, rev, "float32[5,4,3,N]")
	want(t, us, "float32[1,N,3,4,5,1]")
	want(t, sq, "float32[N,3,4,5,1]")
	want(t, sqAll, "float32[3]")

	// Opset 13 takes axes as an input.
	b = testmodels.NewBuilder("shapes13", 13)
	x = b.InputShape("x", ir.Float32, shape("N", 3))
	us = b.Node("Unsqueeze", []*ir.Value{x, b.I64("a", []int64{1}, []int64{1})})
	sq = b.Node("Squeeze", []*ir.Value{us, b.I64("a2", []int64{1}, []int64{-2})})
	infer(t, b)
	want(t, us, "float32[N,1,3]")
	want(t, sq, "float32[N,3]")

	b = testmodels.NewBuilder("squeezebad", 13)
	b.Node("Squeeze", []*ir.Value{b.Input("x", ir.Float32, 2, 3), b.I64("a", []int64{1}, []int64{1})})
	inferErr(t, b, "cannot squeeze")
}

func TestConcatSplit(t *testing.T) {
	b := testmodels.NewBuilder("cs", 13)
	a := b.InputShape("a", ir.Float32, shape("N", 3))
	c := b.InputShape("c", ir.Float32, shape("N", 5))
	m := b.InputShape("m", ir.Float32, shape("M", 3))
	cat := b.Node("Concat", []*ir.Value{a, c}, ir.IntAttr("axis", 1))
	cat0 := b.Node("Concat", []*ir.Value{a, m}, ir.IntAttr("axis", 0))
	parts := b.NodeN("Split", []*ir.Value{cat, b.I64("sp", []int64{2}, []int64{2, 6})}, 2, ir.IntAttr("axis", -1))
	even := b.NodeN("Split", []*ir.Value{cat}, 4, ir.IntAttr("axis", 1))
	infer(t, b)
	want(t, cat, "float32[N,8]")
	want(t, cat0, "float32[?,3]")
	want(t, parts[0], "float32[N,2]")
	want(t, parts[1], "float32[N,6]")
	want(t, even[3], "float32[N,2]")

	b = testmodels.NewBuilder("split18", 18)
	x := b.Input("x", ir.Float32, 7)
	uneven := b.NodeN("Split", []*ir.Value{x}, 3, ir.IntAttr("num_outputs", 3))
	infer(t, b)
	want(t, uneven[0], "float32[3]")
	want(t, uneven[2], "float32[1]")

	b = testmodels.NewBuilder("catbad", 13)
	b.Node("Concat", []*ir.Value{b.Input("p", ir.Float32, 2, 3), b.Input("q", ir.Float32, 2, 4)}, ir.IntAttr("axis", 0))
	inferErr(t, b, "differ in dimension 1")
	b = testmodels.NewBuilder("splitbad", 13)
	b.NodeN("Split", []*ir.Value{b.Input("p", ir.Float32, 7)}, 2)
	inferErr(t, b, "evenly")
}

func TestSliceGather(t *testing.T) {
	b := testmodels.NewBuilder("sg", 13)
	x := b.InputShape("x", ir.Float32, shape("N", 10))
	i64 := func(name string, v ...int64) *ir.Value { return b.I64(name, []int64{int64(len(v))}, v) }
	s1 := b.Node("Slice", []*ir.Value{x, i64("st", 2), i64("en", 1<<62), i64("ax", 1)})
	s2 := b.Node("Slice", []*ir.Value{x, i64("st2", -1), i64("en2", -(1 << 62)), i64("ax2", 1), i64("sp2", -3)})
	s3 := b.Node("Slice", []*ir.Value{x, i64("st3", 0), i64("en3", 1<<62)})
	s4 := b.Node("Slice", []*ir.Value{x, i64("st4", 1), i64("en4", 3)})
	data := b.Input("d", ir.Float32, 5, 4)
	g := b.Node("Gather", []*ir.Value{data, b.Const("idx", ir.NewTensor(ir.Int64, 2, 3))})
	g1 := b.Node("Gather", []*ir.Value{data, b.I64("one", nil, []int64{-1})}, ir.IntAttr("axis", 1))
	ge := b.Node("GatherElements", []*ir.Value{data, b.Const("ge", ir.NewTensor(ir.Int64, 5, 2))}, ir.IntAttr("axis", 1))
	gnd := b.Node("GatherND", []*ir.Value{b.Input("d3", ir.Float32, 2, 3, 4), b.Const("nd", ir.NewTensor(ir.Int64, 6, 2))})
	infer(t, b)
	want(t, s1, "float32[N,8]")
	want(t, s2, "float32[N,4]")
	want(t, s3, "float32[N,10]")
	want(t, s4, "float32[?,10]")
	want(t, g, "float32[2,3,4]")
	want(t, g1, "float32[5]")
	want(t, ge, "float32[5,2]")
	want(t, gnd, "float32[6,4]")

	b = testmodels.NewBuilder("gatherbad", 13)
	b.Node("Gather", []*ir.Value{b.Input("d", ir.Float32, 5), b.I64("i", []int64{1}, []int64{5})})
	inferErr(t, b, "out of range")

	// Opset 9 Slice takes attributes.
	b = testmodels.NewBuilder("slice9", 9)
	s9 := b.Node("Slice", []*ir.Value{b.Input("x", ir.Float32, 6, 6)}, ints("starts", 1, 0), ints("ends", 4, 100), ints("axes", 0, 1))
	infer(t, b)
	want(t, s9, "float32[3,6]")
}

func TestExpandTilePadResize(t *testing.T) {
	b := testmodels.NewBuilder("etpr", 13)
	x := b.Input("x", ir.Float32, 3, 1)
	ex := b.Node("Expand", []*ir.Value{x, b.I64("s", []int64{3}, []int64{2, 1, 4})})
	xs := b.InputShape("xs", ir.Float32, shape("N", 2, 3))
	tile := b.Node("Tile", []*ir.Value{xs, b.I64("r", []int64{3}, []int64{1, 2, 3})})
	pad := b.Node("Pad", []*ir.Value{xs, b.I64("p", []int64{6}, []int64{0, 1, 1, 0, 1, 1})})
	img := b.InputShape("img", ir.Float32, shape("N", 3, 8, 8))
	empty := b.Const("empty", ir.NewTensor(ir.Float32, 0))
	up := b.Node("Resize", []*ir.Value{img, empty, b.F32("sc", []int64{4}, []float32{1, 1, 2, 2})})
	sized := b.Node("Resize", []*ir.Value{img, empty, empty, b.I64("sz", []int64{4}, []int64{1, 3, 5, 7})})
	infer(t, b)
	want(t, ex, "float32[2,3,4]")
	want(t, tile, "float32[N,4,9]")
	want(t, pad, "float32[N,4,5]")
	want(t, up, "float32[N,3,16,16]")
	want(t, sized, "float32[1,3,5,7]")

	// Opset 10 Resize and Pad with attributes (opset 10).
	b = testmodels.NewBuilder("r10", 10)
	img = b.Input("img", ir.Float32, 1, 3, 4, 4)
	up = b.Node("Resize", []*ir.Value{img, b.F32("sc", []int64{4}, []float32{1, 1, 1.5, 2})})
	pad = b.Node("Pad", []*ir.Value{img}, ints("pads", 0, 0, 1, 1, 0, 0, 1, 1))
	infer(t, b)
	want(t, up, "float32[1,3,6,8]")
	want(t, pad, "float32[1,3,6,6]")

	b = testmodels.NewBuilder("expandbad", 13)
	b.Node("Expand", []*ir.Value{b.Input("x", ir.Float32, 3), b.I64("s", []int64{1}, []int64{4})})
	inferErr(t, b, "cannot expand")
}

func TestConstantsAndCasts(t *testing.T) {
	b := testmodels.NewBuilder("consts", 13)
	k := b.Node("Constant", nil, ir.TensorAttr("value", ir.FromInt64([]int64{2}, []int64{2, -1})))
	kf := b.Node("Constant", nil, ir.FloatsAttr("value_floats", 1, 2, 3))
	x := b.InputShape("x", ir.Float32, shape("N", 3, 2))
	r := b.Node("Reshape", []*ir.Value{x, k})
	cast := b.Node("Cast", []*ir.Value{x}, ir.IntAttr("to", int64(ir.Float16)))
	like := b.Node("CastLike", []*ir.Value{x, b.I64("like", nil, []int64{0})})
	cos := b.Node("ConstantOfShape", []*ir.Value{b.I64("shape", []int64{2}, []int64{4, 5})})
	rng := b.Node("Range", []*ir.Value{b.I64("a", nil, []int64{10}), b.I64("l", nil, []int64{1}), b.I64("d", nil, []int64{-3})})
	rngF := b.Node("Range", []*ir.Value{b.F32("fa", nil, []float32{0}), b.F32("fl", nil, []float32{1}), b.F32("fd", nil, []float32{0.25})})
	sz := b.Node("Size", []*ir.Value{x})
	oh := b.Node("OneHot", []*ir.Value{b.Const("ind", ir.NewTensor(ir.Int64, 4)), b.I64("depth", nil, []int64{10}), b.F32("vals", []int64{2}, []float32{0, 1})})
	nz := b.Node("NonZero", []*ir.Value{x})
	infer(t, b)
	want(t, k, "int64[2]")
	want(t, kf, "float32[3]")
	want(t, r, "float32[2,3*N]")
	want(t, cast, "float16[N,3,2]")
	want(t, like, "int64[N,3,2]")
	want(t, cos, "float32[4,5]")
	want(t, rng, "int64[3]")
	want(t, rngF, "float32[4]")
	want(t, sz, "int64[]")
	want(t, oh, "float32[4,10]")
	want(t, nz, "int64[3,?]")
}

func TestReductions(t *testing.T) {
	b := testmodels.NewBuilder("reduce13", 13)
	x := b.InputShape("x", ir.Float32, shape("N", 3, 4))
	mean := b.Node("ReduceMean", []*ir.Value{x}, ints("axes", -1))
	meanNoKeep := b.Node("ReduceMean", []*ir.Value{x}, ints("axes", 1, 2), ir.IntAttr("keepdims", 0))
	all := b.Node("ReduceMax", []*ir.Value{x}, ir.IntAttr("keepdims", 0))
	sum := b.Node("ReduceSum", []*ir.Value{x, b.I64("ax", []int64{1}, []int64{0})})
	am := b.Node("ArgMax", []*ir.Value{x}, ir.IntAttr("axis", 1), ir.IntAttr("keepdims", 0))
	tk := b.NodeN("TopK", []*ir.Value{x, b.I64("k", []int64{1}, []int64{2})}, 2)
	infer(t, b)
	want(t, mean, "float32[N,3,1]")
	want(t, meanNoKeep, "float32[N]")
	want(t, all, "float32[]")
	want(t, sum, "float32[1,3,4]")
	want(t, am, "int64[N,4]")
	want(t, tk[0], "float32[N,3,2]")
	want(t, tk[1], "int64[N,3,2]")

	// Opset 18 moves axes to an input for all reductions.
	b = testmodels.NewBuilder("reduce18", 18)
	x = b.InputShape("x", ir.Float32, shape("N", 3, 4))
	l2 := b.Node("ReduceL2", []*ir.Value{x, b.I64("ax", []int64{2}, []int64{1, 2})})
	noop := b.Node("ReduceProd", []*ir.Value{x}, ir.IntAttr("noop_with_empty_axes", 1))
	infer(t, b)
	want(t, l2, "float32[N,1,1]")
	want(t, noop, "float32[N,3,4]")
}

func TestEinsum(t *testing.T) {
	b := testmodels.NewBuilder("einsum", 12)
	a := b.InputShape("a", ir.Float32, shape("B", 3, 4))
	c := b.Input("c", ir.Float32, 4, 5)
	bmm := b.Node("Einsum", []*ir.Value{a, c}, ir.StringAttr("equation", "bij,jk->bik"))
	implicit := b.Node("Einsum", []*ir.Value{a, c}, ir.StringAttr("equation", "bij,jk"))
	ell := b.Node("Einsum", []*ir.Value{a}, ir.StringAttr("equation", "...ij->...ji"))
	infer(t, b)
	want(t, bmm, "float32[B,3,5]")
	want(t, implicit, "float32[B,3,5]")
	want(t, ell, "float32[B,4,3]")

	b = testmodels.NewBuilder("einsumbad", 12)
	b.Node("Einsum", []*ir.Value{b.Input("a", ir.Float32, 2, 3), b.Input("c", ir.Float32, 4, 5)}, ir.StringAttr("equation", "ij,jk->ik"))
	inferErr(t, b, "subscript j")
}

func TestQuantization(t *testing.T) {
	b := testmodels.NewBuilder("quant", 13)
	x := b.InputShape("x", ir.Float32, shape("N", 3, 8, 8))
	scale := b.F32("s", nil, []float32{0.1})
	zp := b.Const("zp", ir.NewTensor(ir.Int8, 0))
	q := b.Node("QuantizeLinear", []*ir.Value{x, scale, zp})
	qu := b.Node("QuantizeLinear", []*ir.Value{x, scale})
	dq := b.Node("DequantizeLinear", []*ir.Value{q, scale, zp})
	dyn := b.NodeN("DynamicQuantizeLinear", []*ir.Value{x}, 3)
	w := b.Const("w", ir.NewTensor(ir.Int8, 4, 3, 3, 3))
	uzp := b.Const("uzp", ir.NewTensor(ir.Uint8))
	qc := b.Node("QLinearConv", []*ir.Value{q, scale, zp, w, scale, zp, scale, uzp}, ints("pads", 1, 1, 1, 1))
	ci := b.Node("ConvInteger", []*ir.Value{q, w})
	m := b.Const("m", ir.NewTensor(ir.Int8, 8, 2))
	qmm := b.Node("QLinearMatMul", []*ir.Value{q, scale, zp, m, scale, zp, scale, zp})
	mmi := b.Node("MatMulInteger", []*ir.Value{q, m})
	infer(t, b)
	want(t, q, "int8[N,3,8,8]")
	want(t, qu, "uint8[N,3,8,8]")
	want(t, dq, "float32[N,3,8,8]")
	want(t, dyn[0], "uint8[N,3,8,8]")
	want(t, dyn[1], "float32[]")
	want(t, qc, "uint8[N,4,8,8]")
	want(t, ci, "int32[N,4,6,6]")
	want(t, qmm, "int8[N,3,8,2]")
	want(t, mmi, "int32[N,3,8,2]")
}

func TestIf(t *testing.T) {
	b := testmodels.NewBuilder("if", 13)
	x := b.InputShape("x", ir.Float32, shape("N", 4))
	cond := b.Input("cond", ir.Bool)
	thenG := &ir.Graph{Name: "then"}
	tOut := &ir.Value{Name: "t_out"}
	thenG.Nodes = []*ir.Node{{Name: "t_relu", OpType: "Relu", Inputs: []*ir.Value{x}, Outputs: []*ir.Value{tOut}}}
	thenG.Outputs = []*ir.Value{tOut}
	elseG := &ir.Graph{Name: "else"}
	eOut := &ir.Value{Name: "e_out"}
	elseG.Nodes = []*ir.Node{{Name: "e_slice", OpType: "Slice", Inputs: []*ir.Value{x, b.I64("st", []int64{1}, []int64{0}), b.I64("en", []int64{1}, []int64{2}), b.I64("ax", []int64{1}, []int64{1})}, Outputs: []*ir.Value{eOut}}}
	elseG.Outputs = []*ir.Value{eOut}
	y := b.Node("If", []*ir.Value{cond}, ir.GraphAttr("then_branch", thenG), ir.GraphAttr("else_branch", elseG))
	infer(t, b)
	want(t, tOut, "float32[N,4]")
	want(t, eOut, "float32[N,2]")
	want(t, y, "float32[N,?]")
	if err := ir.Verify(b.Model()); err != nil {
		t.Fatal(err)
	}
}

func TestLoop(t *testing.T) {
	b := testmodels.NewBuilder("loop", 13)
	h0 := b.InputShape("h0", ir.Float32, shape("N", 8))
	acc0 := b.Const("acc0", ir.NewTensor(ir.Float32, 0, 8))
	trip := b.I64("trip", nil, []int64{5})
	body := &ir.Graph{Name: "body"}
	iter := &ir.Value{Name: "iter"}
	condIn := &ir.Value{Name: "cond_in"}
	h := &ir.Value{Name: "h"}
	acc := &ir.Value{Name: "acc"}
	body.Inputs = []*ir.Value{iter, condIn, h, acc}
	w := b.F32("w", []int64{8, 8}, make([]float32, 64))
	hNext := &ir.Value{Name: "h_next"}
	accNext := &ir.Value{Name: "acc_next"}
	condOut := &ir.Value{Name: "cond_out"}
	scanOut := &ir.Value{Name: "scan_out"}
	body.Nodes = []*ir.Node{
		{Name: "mm", OpType: "MatMul", Inputs: []*ir.Value{h, w}, Outputs: []*ir.Value{hNext}},
		// The accumulator grows each iteration: its shape is not fixed.
		{Name: "cat", OpType: "Concat", Inputs: []*ir.Value{acc, hNext}, Outputs: []*ir.Value{accNext}, Attrs: []*ir.Attribute{ir.IntAttr("axis", 0)}},
		{Name: "id", OpType: "Identity", Inputs: []*ir.Value{condIn}, Outputs: []*ir.Value{condOut}},
		{Name: "sc", OpType: "Relu", Inputs: []*ir.Value{hNext}, Outputs: []*ir.Value{scanOut}},
	}
	body.Outputs = []*ir.Value{condOut, hNext, accNext, scanOut}
	outs := b.NodeN("Loop", []*ir.Value{trip, nil, h0, acc0}, 3, ir.GraphAttr("body", body))
	infer(t, b)
	want(t, outs[0], "float32[N,8]")
	want(t, outs[1], "float32[?,8]")
	want(t, outs[2], "float32[5,N,8]") // a for-loop: no condition input
	want(t, iter, "int64[]")
	want(t, h, "float32[N,8]")
	want(t, acc, "float32[?,8]")
	if err := ir.Verify(b.Model()); err != nil {
		t.Fatal(err)
	}
}

func TestScan(t *testing.T) {
	b := testmodels.NewBuilder("scan", 13)
	s0 := b.Input("s0", ir.Float32, 2)
	xs := b.InputShape("xs", ir.Float32, shape("T", 2))
	body := &ir.Graph{Name: "body"}
	st := &ir.Value{Name: "st"}
	xi := &ir.Value{Name: "xi"}
	body.Inputs = []*ir.Value{st, xi}
	stNext := &ir.Value{Name: "st_next"}
	yi := &ir.Value{Name: "yi"}
	body.Nodes = []*ir.Node{
		{Name: "add", OpType: "Add", Inputs: []*ir.Value{st, xi}, Outputs: []*ir.Value{stNext}},
		{Name: "id", OpType: "Identity", Inputs: []*ir.Value{stNext}, Outputs: []*ir.Value{yi}},
	}
	body.Outputs = []*ir.Value{stNext, yi}
	outs := b.NodeN("Scan", []*ir.Value{s0, xs}, 2, ir.GraphAttr("body", body), ir.IntAttr("num_scan_inputs", 1), ints("scan_output_axes", -1))
	infer(t, b)
	want(t, xi, "float32[2]")
	want(t, outs[0], "float32[2]")
	want(t, outs[1], "float32[2,T]")
}

func TestMergeWithDeclared(t *testing.T) {
	b := testmodels.NewBuilder("merge", 13)
	x := b.InputShape("x", ir.Float32, shape("N", 3))
	y := b.Node("Relu", []*ir.Value{x})
	z := b.Node("Relu", []*ir.Value{x})
	u := b.Node("CustomThing", []*ir.Value{x})
	v := b.Node("Relu", []*ir.Value{x})
	// Declared: y's batch is known to be 2 (more specific than N), z is
	// declared with unknown dims and v with an exporter's invented name.
	y.Type = &ir.Type{Kind: ir.KindTensor, DType: ir.Float32, HasShape: true, Shape: shape(2, 3)}
	z.Type = &ir.Type{Kind: ir.KindTensor, DType: ir.Float32, HasShape: true, Shape: shape("?", "?")}
	v.Type = &ir.Type{Kind: ir.KindTensor, DType: ir.Float32, HasShape: true, Shape: shape("unk__0", "?")}
	infer(t, b)
	want(t, y, "float32[2,3]")
	want(t, z, "float32[N,3]")
	want(t, v, "float32[N,3]")
	if u.Type != nil {
		t.Errorf("unknown op output got type %s", u.Type)
	}

	b = testmodels.NewBuilder("mergebad", 13)
	x = b.Input("x", ir.Float32, 2, 3)
	y = b.Node("Relu", []*ir.Value{x})
	y.Type = ir.TensorType(ir.Float32, 2, 4)
	inferErr(t, b, "conflicts")
	b = testmodels.NewBuilder("mergebad2", 13)
	x = b.Input("x", ir.Float32, 2, 3)
	y = b.Node("Relu", []*ir.Value{x})
	y.Type = ir.TensorType(ir.Int64, 2, 3)
	inferErr(t, b, "conflicts")
}

func TestInferNode(t *testing.T) {
	b := testmodels.NewBuilder("node", 13)
	x := b.InputShape("x", ir.Float32, shape("N", 3, 8, 8))
	w := b.F32("w", []int64{4, 3, 1, 1}, make([]float32, 12))
	y := b.Node("Conv", []*ir.Value{x, w})
	n := b.Graph().Nodes[0]
	types, err := ir.InferNode(n, 13)
	if err != nil {
		t.Fatal(err)
	}
	if len(types) != 1 || types[0].String() != "float32[N,4,8,8]" {
		t.Fatalf("InferNode = %v", types)
	}
	if y.Type != nil {
		t.Errorf("InferNode changed the output's type to %s", y.Type)
	}
	// The schema's Infer hook gives the same answer.
	s := ir.LookupSchema("", "Conv")
	if s == nil || s.Infer == nil {
		t.Fatal("Conv has no schema inference")
	}
	got, err := s.Infer(n, []*ir.Type{x.Type, ir.TensorType(ir.Float32, 4, 3, 1, 1)}, 13)
	if err != nil || len(got) != 1 || got[0].String() != "float32[N,4,8,8]" {
		t.Fatalf("Schema.Infer = %v, %v", got, err)
	}
	// Unknown operators give no types and no error.
	unk := &ir.Node{OpType: "NoSuchOp", Outputs: []*ir.Value{{Name: "o"}}}
	types, err = ir.InferNode(unk, 13)
	if err != nil || len(types) != 1 || types[0] != nil {
		t.Fatalf("InferNode(unknown) = %v, %v", types, err)
	}
	// Errors name the node.
	bad := &ir.Node{Name: "badmm", OpType: "MatMul", Inputs: []*ir.Value{{Name: "a", Type: ir.TensorType(ir.Float32, 2, 3)}, {Name: "b", Type: ir.TensorType(ir.Float32, 4, 2)}}, Outputs: []*ir.Value{{Name: "o"}}}
	if _, err := ir.InferNode(bad, 13); err == nil || !strings.Contains(err.Error(), `"badmm"`) {
		t.Fatalf("InferNode(bad) error = %v", err)
	}
}

func TestSchemasInVerify(t *testing.T) {
	b := testmodels.NewBuilder("verify", 13)
	x := b.Input("x", ir.Float32, 2)
	b.Output(b.Node("Relu", []*ir.Value{x, x}))
	err := ir.Verify(b.Model())
	if err == nil || !strings.Contains(err.Error(), "has 2 inputs, want 1") {
		t.Fatalf("Verify = %v, want an arity error", err)
	}
	b = testmodels.NewBuilder("verify2", 13)
	x = b.Input("x", ir.Float32, 2)
	b.Output(b.Node("Softmax", []*ir.Value{x}, ir.FloatAttr("axis", 1)))
	err = ir.Verify(b.Model())
	if err == nil || !strings.Contains(err.Error(), `attribute "axis" must be int`) {
		t.Fatalf("Verify = %v, want an attribute kind error", err)
	}
	// Omitted optional inputs in the middle are fine.
	b = testmodels.NewBuilder("verify3", 13)
	x = b.Input("x", ir.Float32, 1, 1, 4, 4)
	b.Output(b.Node("Resize", []*ir.Value{x, nil, b.F32("s", []int64{4}, []float32{1, 1, 2, 2})}))
	if err := ir.Verify(b.Model()); err != nil {
		t.Fatal(err)
	}
}

// TestShapeChainInterpolate is how older PyTorch exports
// F.interpolate(x, scale_factor=2): the output size is computed in
// floating point from Shape and fed to Resize as sizes.
func TestShapeChainInterpolate(t *testing.T) {
	b := testmodels.NewBuilder("interp", 11)
	x := b.InputShape("x", ir.Float32, shape("N", 3, 5, 7))
	shp := b.Node("Shape", []*ir.Value{x})
	hw := b.Node("Slice", []*ir.Value{shp, b.I64("st", []int64{1}, []int64{2}), b.I64("en", []int64{1}, []int64{4})})
	f := b.Node("Cast", []*ir.Value{hw}, ir.IntAttr("to", int64(ir.Float32)))
	scaled := b.Node("Mul", []*ir.Value{f, b.F32("two", []int64{1}, []float32{2.5})})
	fl := b.Node("Floor", []*ir.Value{scaled})
	hwOut := b.Node("Cast", []*ir.Value{fl}, ir.IntAttr("to", int64(ir.Int64)))
	nc := b.Node("Slice", []*ir.Value{shp, b.I64("st0", []int64{1}, []int64{0}), b.I64("en0", []int64{1}, []int64{2})})
	sizes := b.Node("Concat", []*ir.Value{nc, hwOut}, ir.IntAttr("axis", 0))
	empty := b.Const("empty", ir.NewTensor(ir.Float32, 0))
	y := b.Node("Resize", []*ir.Value{x, empty, empty, sizes})
	infer(t, b)
	want(t, y, "float32[N,3,12,17]")
}

// TestLoopTripCount: a Loop with a known trip count and no condition runs
// exactly that many times, so its scan outputs have that length.
func TestLoopTripCount(t *testing.T) {
	b := testmodels.NewBuilder("for", 13)
	body := &ir.Graph{Name: "body"}
	iter, condIn := &ir.Value{Name: "iter"}, &ir.Value{Name: "cond_in"}
	condOut, y := &ir.Value{Name: "cond_out"}, &ir.Value{Name: "y"}
	body.Inputs = []*ir.Value{iter, condIn}
	body.Nodes = []*ir.Node{
		{Name: "id", OpType: "Identity", Inputs: []*ir.Value{condIn}, Outputs: []*ir.Value{condOut}},
		{Name: "cast", OpType: "Cast", Inputs: []*ir.Value{iter}, Outputs: []*ir.Value{y}, Attrs: []*ir.Attribute{ir.IntAttr("to", int64(ir.Float32))}},
	}
	body.Outputs = []*ir.Value{condOut, y}
	forLoop := b.Node("Loop", []*ir.Value{b.I64("m", nil, []int64{4}), nil}, ir.GraphAttr("body", body))
	infer(t, b)
	want(t, forLoop, "float32[4]")

	// With a condition that may change, the count is unknown.
	b = testmodels.NewBuilder("while", 13)
	body2 := &ir.Graph{Name: "body"}
	iter, condIn = &ir.Value{Name: "iter"}, &ir.Value{Name: "cond_in"}
	condOut, y = &ir.Value{Name: "cond_out"}, &ir.Value{Name: "y"}
	body2.Inputs = []*ir.Value{iter, condIn}
	body2.Nodes = []*ir.Node{
		{Name: "lt", OpType: "Less", Inputs: []*ir.Value{iter, b.I64("lim", nil, []int64{2})}, Outputs: []*ir.Value{condOut}},
		{Name: "cast", OpType: "Cast", Inputs: []*ir.Value{iter}, Outputs: []*ir.Value{y}, Attrs: []*ir.Attribute{ir.IntAttr("to", int64(ir.Float32))}},
	}
	body2.Outputs = []*ir.Value{condOut, y}
	whileLoop := b.Node("Loop", []*ir.Value{b.I64("m", nil, []int64{4}), b.Const("t", &ir.Tensor{DType: ir.Bool, Data: []byte{1}})}, ir.GraphAttr("body", body2))
	infer(t, b)
	want(t, whileLoop, "float32[?]")
}

// TestShapeChainAttention is the head split of multi-head attention as
// exported: [T, B, 32] reshaped to [T, B*4, 8] with B*4 computed from
// Shape, transposed, and merged back with -1.
func TestShapeChainAttention(t *testing.T) {
	b := testmodels.NewBuilder("attn", 13)
	x := b.InputShape("x", ir.Float32, shape("T", "B", 32))
	shp := b.Node("Shape", []*ir.Value{x})
	tt := b.Node("Gather", []*ir.Value{shp, b.I64("i0", nil, []int64{0})})
	bb := b.Node("Gather", []*ir.Value{shp, b.I64("i1", nil, []int64{1})})
	bh := b.Node("Mul", []*ir.Value{bb, b.I64("heads", nil, []int64{4})})
	ax := b.I64("ax", []int64{1}, []int64{0})
	un := func(v *ir.Value) *ir.Value { return b.Node("Unsqueeze", []*ir.Value{v, ax}) }
	tgt := b.Node("Concat", []*ir.Value{un(tt), un(bh), b.I64("hd", []int64{1}, []int64{8})}, ir.IntAttr("axis", 0))
	heads := b.Node("Reshape", []*ir.Value{x, tgt})
	tr := b.Node("Transpose", []*ir.Value{heads}, ints("perm", 1, 0, 2))
	scores := b.Node("MatMul", []*ir.Value{tr, b.Node("Transpose", []*ir.Value{tr}, ints("perm", 0, 2, 1))})
	merged := b.Node("Reshape", []*ir.Value{b.Node("Transpose", []*ir.Value{b.Node("MatMul", []*ir.Value{scores, tr})}, ints("perm", 1, 0, 2)),
		b.I64("m", []int64{2}, []int64{-1, 32})})
	infer(t, b)
	want(t, heads, "float32[T,4*B,8]")
	want(t, scores, "float32[4*B,T,T]")
	want(t, merged, "float32[B*T,32]")
}

func TestSequences(t *testing.T) {
	b := testmodels.NewBuilder("seq", 13)
	x := b.InputShape("x", ir.Float32, shape("N", 6))
	y := b.InputShape("y", ir.Float32, shape("N", 4))
	seq := b.Node("SequenceConstruct", []*ir.Value{x, y})
	at := b.Node("SequenceAt", []*ir.Value{seq, b.I64("i", nil, []int64{0})})
	n := b.Node("SequenceLength", []*ir.Value{seq})
	cat := b.Node("ConcatFromSequence", []*ir.Value{seq}, ir.IntAttr("axis", 1))
	stack := b.Node("ConcatFromSequence", []*ir.Value{seq}, ir.IntAttr("axis", 0), ir.IntAttr("new_axis", 1))
	split := b.Node("SplitToSequence", []*ir.Value{x, b.I64("s", nil, []int64{2})}, ir.IntAttr("axis", 1))
	rows := b.Node("SplitToSequence", []*ir.Value{x}, ir.IntAttr("keepdims", 0))
	infer(t, b)
	want(t, seq, "seq(float32[N,?])")
	want(t, at, "float32[N,?]")
	want(t, n, "int64[]")
	want(t, cat, "float32[N,?]")
	want(t, stack, "float32[?,N,?]")
	want(t, split, "seq(float32[N,2])")
	want(t, rows, "seq(float32[6])")
}

func TestAffineGridAndStrings(t *testing.T) {
	b := testmodels.NewBuilder("misc", 20)
	theta := b.InputShape("theta", ir.Float32, shape("N", 2, 3))
	x := b.InputShape("x", ir.Float32, shape("N", 3, 5, 7))
	g := b.Node("AffineGrid", []*ir.Value{theta, b.Node("Shape", []*ir.Value{x})})
	s := b.InputShape("s", ir.String, shape("K", 1))
	cat := b.Node("StringConcat", []*ir.Value{s, b.Const("suffix", &ir.Tensor{DType: ir.String, Dims: []int64{3}, Strings: [][]byte{[]byte("a"), []byte("b"), []byte("c")}})})
	m := b.Node("RegexFullMatch", []*ir.Value{s}, ir.StringAttr("pattern", "a+"))
	infer(t, b)
	want(t, g, "float32[N,5,7,2]")
	want(t, cat, "string[K,3]")
	want(t, m, "bool[K,1]")
}
