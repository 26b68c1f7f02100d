package gosrc

import (
	"strings"
	"testing"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/testmodels"
)

// ints fills a tensor of dt with deterministic integers in [lo, hi].
func ints(dt ir.DType, lo, hi int, dims ...int64) *ir.Tensor {
	t := ir.NewTensor(dt, dims...)
	size := 1
	if dt == ir.Int32 {
		size = 4
	}
	for i := 0; i < len(t.Data)/size; i++ {
		v := lo + (i*37+11)%(hi-lo+1)
		for b := 0; b < size; b++ {
			t.Data[i*size+b] = byte(v >> (8 * b))
		}
	}
	return t
}

func u8(v uint8) *ir.Tensor { t := ir.NewTensor(ir.Uint8); t.Data[0] = v; return t }
func i8(v int8) *ir.Tensor  { t := ir.NewTensor(ir.Int8); t.Data[0] = byte(v); return t }

// qlinearModel: QuantizeLinear → QLinearConv (per-channel int8 weights,
// int32 bias) → Flatten → QLinearMatMul → DequantizeLinear, batch
// symbolic.
func qlinearModel() *ir.Model {
	b := testmodels.NewBuilder("qlinear", 13)
	x := b.InputShape("x", ir.Float32, ir.Shape{ir.Sym("N"), ir.D(2), ir.D(6), ir.D(6)})
	xs, xz := b.F32("xs", nil, []float32{0.04}), b.Const("xz", u8(128))
	xq := b.Node("QuantizeLinear", []*ir.Value{x, xs, xz})
	ws := b.F32("ws", []int64{4}, []float32{0.01, 0.02, 0.015, 0.005})
	ys, yz := b.F32("ys", nil, []float32{0.08}), b.Const("yz", u8(100))
	yq := b.Node("QLinearConv", []*ir.Value{xq, xs, xz, b.Const("w", ints(ir.Int8, -100, 100, 4, 2, 3, 3)), ws,
		b.Const("wz", ir.NewTensor(ir.Int8, 4)), ys, yz, b.Const("bias", ints(ir.Int32, -300, 300, 4))},
		ir.IntsAttr("pads", 1, 1, 1, 1), ir.IntsAttr("kernel_shape", 3, 3))
	a := b.Node("Flatten", []*ir.Value{yq})
	zs, zz := b.F32("zs", nil, []float32{0.2}), b.Const("zz", u8(128))
	z := b.Node("QLinearMatMul", []*ir.Value{a, ys, yz, b.Const("bm", ints(ir.Int8, -60, 60, 144, 5)), b.F32("bs", nil, []float32{0.01}), b.Const("bz", i8(3)), zs, zz})
	b.Output(b.Node("DequantizeLinear", []*ir.Value{z, zs, zz}))
	return b.Model()
}

// dynamicModel: DynamicQuantizeLinear → MatMulInteger (dynamic zero
// point) → Cast → Mul by the scales, as onnxruntime's dynamic
// quantization writes a linear layer.
func dynamicModel() *ir.Model {
	b := testmodels.NewBuilder("dynq", 13)
	x := b.InputShape("x", ir.Float32, ir.Shape{ir.Sym("N"), ir.D(8)})
	q := b.NodeN("DynamicQuantizeLinear", []*ir.Value{x}, 3)
	acc := b.Node("MatMulInteger", []*ir.Value{q[0], b.Const("w", ints(ir.Int8, -120, 120, 8, 4)), q[2]})
	f := b.Node("Cast", []*ir.Value{acc}, ir.IntAttr("to", int64(ir.Float32)))
	y := b.Node("Mul", []*ir.Value{b.Node("Mul", []*ir.Value{f, q[1]}), b.F32("ws", nil, []float32{0.01})})
	b.Output(y)
	return b.Model()
}

// TestQOperatorForms generates the QOperator forms (QLinearConv and
// QLinearMatMul on the 8-bit integer kernels; the dynamic form's
// computed zero point in float32 integer arithmetic) and compares them
// with nncc's runtime at two batch sizes.
func TestQOperatorForms(t *testing.T) {
	for _, c := range []struct {
		name string
		m    *ir.Model
		per  []int64
		uses []string // kernels the generated code must call
	}{
		{"qlinear", qlinearModel(), []int64{2, 6, 6}, []string{"kernels.QPackConv2D", "kernels.QGemmPackedB"}},
		{"dynq", dynamicModel(), []int64{8}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := ir.Verify(c.m); err != nil {
				t.Fatal(err)
			}
			files, err := Generate(c.m, Options{Package: c.name})
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range c.uses {
				if !strings.Contains(string(files[ModelFile]), u) {
					t.Errorf("generated code does not call %s", u)
				}
			}
			h := buildGenerated(t, c.m, Options{Package: c.name})
			compareRuntime(t, c.m, h, c.per, 1, 3)
		})
	}
}
