package kernels

import (
	"fmt"
	"math"
)

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

// RequantizeClamp sets dst[i] = clamp(round(float32(src[i] + bias) ·
// scale) + zero, lo, hi) for i < len(dst), rounding half to even: the
// output stage of a fused int8 convolution or GEMM, where [lo, hi] is
// the output type's range narrowed by a fused Relu or Clip. dst holds
// uint8 values when lo ≥ 0, else the bytes of int8 values; lo and hi
// must lie within that type's range and the scaled value within ±2³¹.
func RequantizeClamp(dst []byte, src []int32, bias int32, scale float32, zero, lo, hi int32) {
	if lo > hi || lo < -128 || hi > 255 || lo < 0 && hi > 127 {
		panic(fmt.Sprintf("kernels: RequantizeClamp: bad range [%d, %d]", lo, hi))
	}
	requant(dst, src[:len(dst)], bias, scale, zero, lo, hi)
}

func requantGo(dst []byte, src []int32, bias int32, scale float32, zero, lo, hi int32) {
	src = src[:len(dst)]
	n := requantVec(dst, src, bias, scale, zero, lo, hi)
	dst, src = dst[n:], src[n:]
	for i, v := range src {
		f := float32(v+bias) * scale
		q := int64(math.RoundToEven(float64(f))) + int64(zero)
		q = min(max(q, int64(lo)), int64(hi))
		dst[i] = byte(q)
	}
}
