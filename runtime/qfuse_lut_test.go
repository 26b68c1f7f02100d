package runtime

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/testmodels"
)

// TestQTableChains checks the table steps: DQ → element-wise chain → Q
// on one 8-bit input (torchvision's hard-swish x·HardSigmoid(x), the
// exporters' x·Clip(x+3, 0, 6)/6, a Sigmoid) run as one lookup step
// and give exactly the unfused graph's bytes, for both signednesses;
// a chain with a non-constant second operand is left alone.
func TestQTableChains(t *testing.T) {
	r := rand.New(rand.NewPCG(81, 82))
	type chain func(b *testmodels.Builder, x, other *ir.Value) *ir.Value
	chains := map[string]chain{
		"hardswish": func(b *testmodels.Builder, x, _ *ir.Value) *ir.Value {
			hs := b.Node("HardSigmoid", []*ir.Value{x}, ir.FloatAttr("alpha", 1.0/6))
			return b.Node("Mul", []*ir.Value{x, hs})
		},
		"add-clip-mul-div": func(b *testmodels.Builder, x, _ *ir.Value) *ir.Value {
			s := b.Node("Add", []*ir.Value{x, b.Const("three", ir.Scalar(3))})
			c := b.Node("Clip", []*ir.Value{s, b.Const("zero", ir.Scalar(0)), b.Const("six", ir.Scalar(6))})
			m := b.Node("Mul", []*ir.Value{x, c})
			return b.Node("Div", []*ir.Value{m, b.Const("sixd", ir.Scalar(6))})
		},
		"sigmoid": func(b *testmodels.Builder, x, _ *ir.Value) *ir.Value {
			return b.Node("Sigmoid", []*ir.Value{x})
		},
		"two-inputs": func(b *testmodels.Builder, x, other *ir.Value) *ir.Value {
			return b.Node("Mul", []*ir.Value{x, other})
		},
	}
	for name, ch := range chains {
		for _, dt := range []ir.DType{ir.Uint8, ir.Int8} {
			b := testmodels.NewBuilder("lut", 13)
			x := b.Input("x", dt, 2, 8, 5, 5)
			other := b.Input("o", ir.Float32, 2, 8, 5, 5)
			dq := b.Node("DequantizeLinear", []*ir.Value{x, b.Const("sx", ir.Scalar(0.07)), b.Const("zx", qscalar(dt, byte(r.Uint32())))})
			y := ch(b, dq, other)
			q := b.Node("QuantizeLinear", []*ir.Value{y, b.Const("sy", ir.Scalar(0.03)), b.Const("zy", qscalar(dt, byte(r.Uint32())))})
			b.Output(q)
			m := b.Model()
			o := ir.NewTensor(ir.Float32, 2, 8, 5, 5)
			for i, ov := 0, view[float32](o); i < len(ov); i++ {
				ov[i] = float32(r.NormFloat64())
			}
			in := map[string]*ir.Tensor{"x": randQ(r, dt, 2, 8, 5, 5), "o": o}
			ops := map[string]int{}
			s, err := NewSession(m, Options{Observe: func(n *ir.Node, _, _ []*ir.Tensor, _ time.Duration) { ops[n.OpType]++ }})
			if err != nil {
				t.Fatal(err)
			}
			out, err := s.Run(in)
			if err != nil {
				t.Fatal(err)
			}
			got := out[s.OutputNames()[0]]
			if table := ops["QDQTable"] == 1 && len(ops) == 1; table != (name != "two-inputs") {
				t.Fatalf("%s %s: steps %v", name, dt, ops)
			}
			qdqFusion = false
			want := run(t, m, in)[s.OutputNames()[0]]
			qdqFusion = true
			if string(got.Data) != string(want.Data) || got.DType != want.DType {
				t.Fatalf("%s %s: table step gives %v, unfused graph %v", name, dt, got.Data[:16], want.Data[:16])
			}
		}
	}
}

// TestQFloatTableChain checks the float table step: a hard-swish whose
// float output feeds a GlobalAveragePool and a Mul with another tensor
// (MobileNetV3's squeeze-excitation input) runs as one lookup step and
// gives exactly the unfused graph's outputs.
func TestQFloatTableChain(t *testing.T) {
	r := rand.New(rand.NewPCG(83, 84))
	for _, dt := range []ir.DType{ir.Uint8, ir.Int8} {
		b := testmodels.NewBuilder("lutf", 13)
		x := b.Input("x", dt, 1, 6, 7, 9)
		other := b.Input("o", ir.Float32, 1, 6, 7, 9)
		dq := b.Node("DequantizeLinear", []*ir.Value{x, b.Const("sx", ir.Scalar(0.05)), b.Const("zx", qscalar(dt, byte(r.Uint32())))})
		hs := b.Node("HardSigmoid", []*ir.Value{dq}, ir.FloatAttr("alpha", 1.0/6))
		y := b.Node("Mul", []*ir.Value{dq, hs})
		gap := b.Node("GlobalAveragePool", []*ir.Value{y})
		m := b.Node("Mul", []*ir.Value{y, other})
		b.Output(gap, m)
		model := b.Model()
		o := ir.NewTensor(ir.Float32, 1, 6, 7, 9)
		for i, ov := 0, view[float32](o); i < len(ov); i++ {
			ov[i] = float32(r.NormFloat64())
		}
		in := map[string]*ir.Tensor{"x": randQ(r, dt, 1, 6, 7, 9), "o": o}
		ops := map[string]int{}
		s, err := NewSession(model, Options{Observe: func(n *ir.Node, _, _ []*ir.Tensor, _ time.Duration) { ops[n.OpType]++ }})
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Run(in)
		if err != nil {
			t.Fatal(err)
		}
		if ops["QDQTable"] != 1 || ops["DequantizeLinear"] != 0 || ops["HardSigmoid"] != 0 {
			t.Fatalf("%s: steps %v, want one QDQTable and no DequantizeLinear or HardSigmoid", dt, ops)
		}
		qdqFusion = false
		want := run(t, model, in)
		qdqFusion = true
		for _, name := range s.OutputNames() {
			if string(got[name].Data) != string(want[name].Data) {
				t.Fatalf("%s: output %s differs from the unfused graph's", dt, name)
			}
		}
	}
}
