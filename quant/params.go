package quant

import (
	"math"

	"github.com/nncc/nncc/ir"
)

// Params are the quantization parameters of one tensor (or one channel):
// x ≈ Scale · (q − ZeroPoint), q an integer of DType.
type Params struct {
	Scale     float32
	ZeroPoint int32
	DType     ir.DType
}

func qlimits(dt ir.DType) (lo, hi int32) {
	switch dt {
	case ir.Uint8:
		return 0, 255
	case ir.Int8:
		return -128, 127
	case ir.Int32:
		return math.MinInt32, math.MaxInt32
	}
	panic("quant: no integer range for " + dt.String())
}

// ActParams returns asymmetric parameters for an activation whose values
// lie in [lo, hi] (widened to hold 0, so that 0 is exact, as padding and
// ReLU need). A range of zero width gets scale 1.
func ActParams(lo, hi float64, dt ir.DType) Params {
	lo, hi = math.Min(lo, 0), math.Max(hi, 0)
	qmin, qmax := qlimits(dt)
	s := (hi - lo) / float64(qmax-qmin)
	if s == 0 || float32(s) == 0 {
		s = 1
	}
	zp := math.RoundToEven(float64(qmin) - lo/s)
	zp = math.Max(float64(qmin), math.Min(float64(qmax), zp))
	return Params{Scale: float32(s), ZeroPoint: int32(zp), DType: dt}
}

// WeightScale is the symmetric int8 scale of weights whose largest
// magnitude is absMax: values map to [-qmax, qmax], zero point 0 (qmax
// 127, or 63 with reduced range).
func WeightScale(absMax float64, qmax int) float32 {
	s := float32(absMax / float64(qmax))
	if s == 0 || math.IsInf(float64(s), 0) {
		return 1
	}
	return s
}

// quantize returns x quantized with p (round half to even, saturating),
// as QuantizeLinear computes it.
func (p Params) quantize(x float64) int32 {
	qmin, qmax := qlimits(p.DType)
	q := math.RoundToEven(x/float64(p.Scale)) + float64(p.ZeroPoint)
	return int32(math.Max(float64(qmin), math.Min(float64(qmax), q)))
}

// fake is x quantized and dequantized.
func (p Params) fake(x float64) float64 {
	return float64(p.Scale) * float64(p.quantize(x)-p.ZeroPoint)
}
