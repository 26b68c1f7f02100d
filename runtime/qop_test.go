package runtime

import (
	"math/rand/v2"
	"testing"

	"github.com/nncc/nncc/ir"
)

// constify turns every graph input of m except keep into a constant with
// its feed as value, so that the kernels see constant operands.
func constify(m *ir.Model, feeds map[string]*ir.Tensor, keep string) map[string]*ir.Tensor {
	g := m.Graph
	var ins []*ir.Value
	for _, v := range g.Inputs {
		if v.Name == keep {
			ins = append(ins, v)
			continue
		}
		v.Const = feeds[v.Name]
		g.Consts = append(g.Consts, v)
	}
	g.Inputs = ins
	return map[string]*ir.Tensor{keep: feeds[keep]}
}

func randQ(r *rand.Rand, dt ir.DType, d ...int64) *ir.Tensor {
	t := ir.NewTensor(dt, d...)
	for i := range t.Data {
		t.Data[i] = byte(r.Uint32())
	}
	return t
}

func qscalar(dt ir.DType, v byte) *ir.Tensor {
	t := ir.NewTensor(dt)
	t.Data[0] = v
	return t
}

// TestQOperatorFastPaths checks that QLinearConv and QLinearMatMul with
// constant weights and parameters (the fused int8 steps) give exactly
// the bytes of the general kernels, which the ONNX conformance tests
// check, for per-tensor and per-channel weights, both signednesses,
// depthwise, strided and padded convolutions and batched inputs.
func TestQOperatorFastPaths(t *testing.T) {
	r := rand.New(rand.NewPCG(51, 52))
	for it := 0; it < 40; it++ {
		xdt, wdt, ydt := ir.Uint8, ir.Int8, ir.Uint8
		if it%2 == 1 {
			xdt, ydt = ir.Int8, ir.Int8
		}
		if it%5 == 3 {
			wdt = ir.Uint8
		}
		N, C := int64(1+r.IntN(3)), int64(1+r.IntN(6))
		group := int64(1)
		M := int64(1 + r.IntN(8))
		if it%3 == 0 {
			group, M = C, C
		}
		kh, kw := int64(1+r.IntN(3)), int64(1+r.IntN(3))
		x := randQ(r, xdt, N, C, int64(3+r.IntN(9)), int64(3+r.IntN(9)))
		w := randQ(r, wdt, M, C/group, kh, kw)
		nw := int64(1)
		if it%4 != 0 {
			nw = M
		}
		ws := make([]float32, nw)
		for i := range ws {
			ws[i] = float32(0.001 + r.Float64()*0.01)
		}
		wz := randQ(r, wdt, nw)
		if nw == 1 {
			wz = qscalar(wdt, wz.Data[0])
		} else {
			wz.Dims = []int64{nw}
		}
		wst := ir.FromFloat32([]int64{nw}, ws)
		if nw == 1 {
			wst = ir.Scalar(ws[0])
		}
		bias := ir.NewTensor(ir.Int32, M)
		bv := view[int32](bias)
		for i := range bv {
			bv[i] = int32(r.IntN(4001)) - 2000
		}
		ins := []*ir.Tensor{x, ir.Scalar(0.02), qscalar(xdt, byte(r.Uint32())), w, wst, wz, ir.Scalar(float32(0.05 + r.Float64()*0.1)), qscalar(ydt, byte(r.Uint32())), bias}
		attrs := []*ir.Attribute{ir.IntAttr("group", group), ir.IntsAttr("strides", 1+int64(it%2), 1), ir.IntsAttr("pads", int64(it%2), 1, 0, int64(it%3%2))}
		m1, f1 := singleModel(13, "QLinearConv", 1, ins, attrs...)
		want := run(t, m1, f1)
		m2, f2 := singleModel(13, "QLinearConv", 1, ins, attrs...)
		got := run(t, m2, constify(m2, f2, "in0"))
		mustBeFast(t, m2)
		for name, wt := range want {
			if string(got[name].Data) != string(wt.Data) {
				t.Fatalf("it %d: QLinearConv fast path differs from the general kernel", it)
			}
		}
		// QLinearMatMul: A (rows × K) by constant B (K × N).
		K, Nc := int64(1+r.IntN(40)), int64(1+r.IntN(30))
		a := randQ(r, xdt, N, int64(1+r.IntN(5)), K)
		bm := randQ(r, wdt, K, Nc)
		bs := ir.Scalar(0.01)
		bz := qscalar(wdt, byte(r.Uint32()))
		if it%2 == 0 {
			bs = ir.FromFloat32([]int64{Nc}, make([]float32, Nc))
			for i := range view[float32](bs) {
				view[float32](bs)[i] = float32(0.001 + r.Float64()*0.02)
			}
			bz = randQ(r, wdt, Nc)
		}
		mins := []*ir.Tensor{a, ir.Scalar(0.03), qscalar(xdt, byte(r.Uint32())), bm, bs, bz, ir.Scalar(0.2), qscalar(ydt, byte(r.Uint32()))}
		m3, f3 := singleModel(13, "QLinearMatMul", 1, mins)
		want = run(t, m3, f3)
		m4, f4 := singleModel(13, "QLinearMatMul", 1, mins)
		got = run(t, m4, constify(m4, f4, "in0"))
		mustBeFast(t, m4)
		for name, wt := range want {
			if string(got[name].Data) != string(wt.Data) {
				t.Fatalf("it %d: QLinearMatMul fast path differs from the general kernel:\n%v\n%v", it, got[name].Data, wt.Data)
			}
		}
	}
}

func mustBeFast(t *testing.T, m *ir.Model) {
	t.Helper()
	s, err := NewSession(m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.plan.steps[0].k.(*qopFast); !ok {
		t.Fatalf("%s runs on %T, not the fused int8 step", m.Graph.Nodes[0].OpType, s.plan.steps[0].k)
	}
}
