package quant_test

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/nncc/nncc/calib"
	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/quant"
	"github.com/nncc/nncc/runtime"
	"github.com/nncc/nncc/testmodels"
)

// A bias far larger than s_x·s_w·2³¹ raises the weight scale instead of
// saturating int32; the quantized Conv still computes the bias.
func TestBiasOverflowRaisesWeightScale(t *testing.T) {
	b := testmodels.NewBuilder("conv", 13)
	x := b.Input("x", ir.Float32, 1, 1, 2, 2)
	w := b.F32("w", []int64{2, 1, 1, 1}, []float32{1e-9, 0.5})
	bias := b.F32("b", []int64{2}, []float32{1e3, 0.01})
	y := b.Node("Conv", []*ir.Value{x, w, bias})
	b.Output(y)
	m := b.Model()
	xs := ir.FromFloat32([]int64{1, 1, 2, 2}, []float32{1e-6, 2e-6, 3e-6, 4e-6})
	d, err := calib.FromTensors(map[string]*ir.Tensor{"x": xs})
	if err != nil {
		t.Fatal(err)
	}
	o := quant.Options{Config: quant.Config{PerChannel: true}, Method: quant.MinMax}
	p, _ := quant.NewPlan(m.Clone(), o.Config)
	st, err := quant.Calibrate(m, p.Tensors(), d, o.Method, 0, ir.Uint8, o.Run)
	if err != nil {
		t.Fatal(err)
	}
	q, _, res, err := quant.Build(m, o, st, d)
	if err != nil {
		t.Fatal(err)
	}
	if res.Layers[0].BiasRaised != 1 {
		t.Errorf("%d channels raised, want 1", res.Layers[0].BiasRaised)
	}
	for _, v := range q.Graph.Consts {
		if v.Const.DType == ir.Int32 && len(v.Const.Data) == 8 {
			b0 := int32(binary.LittleEndian.Uint32(v.Const.Data))
			if b0 == math.MaxInt32 || b0 == math.MinInt32+1 {
				t.Errorf("bias saturated: %d", b0)
			}
		}
	}
	s, err := runtime.NewSession(q, runtime.Options{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Run(map[string]*ir.Tensor{"x": xs})
	if err != nil {
		t.Fatal(err)
	}
	got := out[y.Name].Float32s()
	// Channel 0 is the bias, 1000, within the output's quantization step.
	if math.Abs(float64(got[0])-1000) > 5 {
		t.Errorf("channel 0 = %v, want ≈ 1000", got[0])
	}
}
