package runtime

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/testmodels"
)

// TestQGapFlatten checks the fused DequantizeLinear → GlobalAveragePool
// → Flatten → QuantizeLinear chain (torchvision's classifier heads): it
// runs as one 8-bit step, gives the (N, C) shape of the Flatten, and
// agrees with the float chain within one output step, almost always
// exactly, for both signednesses.
func TestQGapFlatten(t *testing.T) {
	r := rand.New(rand.NewPCG(71, 72))
	for _, dt := range []ir.DType{ir.Uint8, ir.Int8} {
		b := testmodels.NewBuilder("gap", 13)
		x := b.Input("x", dt, 2, 40, 7, 7)
		zx := qscalar(dt, byte(r.Uint32()))
		zy := qscalar(dt, byte(r.Uint32()))
		dq := b.Node("DequantizeLinear", []*ir.Value{x, b.Const("sx", ir.Scalar(0.05)), b.Const("zx", zx)})
		gap := b.Node("GlobalAveragePool", []*ir.Value{dq})
		flat := b.Node("Flatten", []*ir.Value{gap}, ir.IntAttr("axis", 1))
		q := b.Node("QuantizeLinear", []*ir.Value{flat, b.Const("sy", ir.Scalar(0.03)), b.Const("zy", zy)})
		b.Output(q)
		m := b.Model()
		in := map[string]*ir.Tensor{"x": randQ(r, dt, 2, 40, 7, 7)}

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
		if len(ops) != 1 || ops["QDQGlobalAveragePool"] != 1 {
			t.Fatalf("%s: steps %v, want one fused GlobalAveragePool", dt, ops)
		}
		if len(got.Dims) != 2 || got.Dims[0] != 2 || got.Dims[1] != 40 {
			t.Fatalf("%s: output dims %v, want [2 40]", dt, got.Dims)
		}
		qdqFusion = false
		ref := run(t, m, in)[s.OutputNames()[0]]
		qdqFusion = true
		same := 0
		for i := range got.Data {
			g, w := int(got.Data[i]), int(ref.Data[i])
			if dt == ir.Int8 {
				g, w = int(int8(got.Data[i])), int(int8(ref.Data[i]))
			}
			if d := g - w; d < -1 || d > 1 {
				t.Fatalf("%s: y[%d] = %d, float chain %d", dt, i, g, w)
			}
			if g == w {
				same++
			}
		}
		if same < len(got.Data)*9/10 {
			t.Fatalf("%s: only %d of %d outputs equal the float chain's", dt, same, len(got.Data))
		}
	}
}
