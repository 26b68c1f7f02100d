package kernels

import "math"

// RequantizeU8 sets dst[i] = saturate(round(float32(src[i] + bias) ·
// scale) + zero) for i < len(dst): the output stage of ONNX QLinearConv
// and QLinearMatMul with uint8 output (scale = in scales / out scale).
// Rounding is to nearest, ties to even; saturation is to [0, 255]. The
// scaled value must lie within ±2³¹ (true for scale ≤ 1).
func RequantizeU8(dst []uint8, src []int32, bias int32, scale float32, zero uint8) {
	requant(dst, src[:len(dst)], bias, scale, int32(zero), 0, 255)
}

// RequantizeS8 is RequantizeU8 with int8 output, saturating to
// [-128, 127].
func RequantizeS8(dst []int8, src []int32, bias int32, scale float32, zero int8) {
	requant(bytesOf(dst), src[:len(dst)], bias, scale, int32(zero), -128, 127)
}

func requantGo(dst []byte, src []int32, bias int32, scale float32, zero, lo, hi int32) {
	src = src[:len(dst)]
	for i, v := range src {
		f := float32(v+bias) * scale
		q := int64(math.RoundToEven(float64(f))) + int64(zero)
		q = min(max(q, int64(lo)), int64(hi))
		dst[i] = byte(q)
	}
}
