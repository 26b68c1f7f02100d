package kernels

import "fmt"

// Element-wise 8-bit operations of quantised graphs: dequantisation,
// quantisation and the sum of two quantised tensors. All round half to
// even and saturate like ONNX QuantizeLinear.

// qroundMagic is 1.5·2²³: adding and subtracting it rounds a float32 of
// magnitude below 2²² to an integer, ties to even.
const qroundMagic = 1.5 * (1 << 23)

// rint32 rounds v half to even after clamping it to ±2²².
func rint32(v float32) float32 {
	v = min(max(v, -(1<<22)), 1<<22)
	return (v + qroundMagic) - qroundMagic
}

// Dequantize8 sets dst[i] = float32(src[i] − zero) · scale, src holding
// int8 values when signed, uint8 otherwise.
func Dequantize8(dst []float32, src []byte, signed bool, scale float32, zero int32) {
	if len(dst) != len(src) {
		panic(fmt.Sprintf("kernels: Dequantize8: %d outputs for %d inputs", len(dst), len(src)))
	}
	var lut [256]float32
	for b := range lut {
		v := int32(b)
		if signed {
			v = int32(int8(b))
		}
		lut[b] = float32(v-zero) * scale
	}
	for i, b := range src {
		dst[i] = lut[b]
	}
}

// Quantize8 sets dst[i] = clamp(round(src[i] / scale) + zero, lo, hi)
// (the division in float32, ties to even), the bytes of int8 values when
// lo < 0. NaN maps to zero or lo.
func Quantize8(dst []byte, src []float32, scale float32, zero, lo, hi int32) {
	if len(dst) != len(src) {
		panic(fmt.Sprintf("kernels: Quantize8: %d outputs for %d inputs", len(dst), len(src)))
	}
	n := quantF32Vec(dst, src, scale, zero, lo, hi)
	dst, src = dst[n:], src[n:]
	z, l, h := float32(zero), float32(lo), float32(hi)
	for i, v := range src {
		q := rint32(v/scale) + z
		if q != q {
			q = z
		}
		dst[i] = byte(int32(min(max(q, l), h)))
	}
}

// QAdd sets dst[i] = clamp(round(fa·a[i] + fb·b[i] + c), lo, hi) in
// float32, a and b holding int8 values when signed, uint8 otherwise; dst
// holds int8 bytes when lo < 0. It is the sum of two quantised tensors
// requantised to a third scale: fa = sa/sy, fb = sb/sy,
// c = zy − fa·za − fb·zb.
func QAdd(dst, a []byte, aSigned bool, b []byte, bSigned bool, fa, fb, c float32, lo, hi int32) {
	if len(a) != len(dst) || len(b) != len(dst) {
		panic(fmt.Sprintf("kernels: QAdd: lengths %d, %d, %d differ", len(dst), len(a), len(b)))
	}
	l, h := float32(lo), float32(hi)
	n := qaddVec(dst, a, aSigned, b, bSigned, fa, fb, c, l, h)
	if n == len(dst) {
		return
	}
	var la, lb [256]float32
	for v := range la {
		x, y := float32(v), float32(v)
		if aSigned {
			x = float32(int8(v))
		}
		if bSigned {
			y = float32(int8(v))
		}
		// float32() keeps the product rounded before the sum (no fused
		// multiply-add), as the vector loop computes it.
		la[v], lb[v] = fa*x, float32(fb*y)+c
	}
	for i := n; i < len(dst); i++ {
		q := rint32(la[a[i]] + lb[b[i]])
		dst[i] = byte(int32(min(max(q, l), h)))
	}
}
