package kernels

import (
	"encoding/binary"
	"fmt"
)

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
	if len(dst) >= 256 { // a table costs 256 steps; past that, vectors
		i := dequantVec(dst, src, signed, scale, zero)
		if i > 0 {
			for ; i < len(dst); i++ {
				v := int32(src[i])
				if signed {
					v = int32(int8(src[i]))
				}
				dst[i] = float32(v-zero) * scale
			}
			return
		}
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

// SumPlanes8 sets dst[p] to the sum of the bytes src[p·hw : (p+1)·hw],
// read as int8 values when signed, uint8 otherwise: the sums of an
// 8-bit GlobalAveragePool. src must hold len(dst)·hw bytes.
func SumPlanes8(dst []int32, src []byte, hw int, signed bool) {
	if len(src) < len(dst)*hw {
		panic(fmt.Sprintf("kernels: SumPlanes8: %d bytes for %d planes of %d", len(src), len(dst), hw))
	}
	for p := range dst {
		dst[p] = sumBytes(src[p*hw:(p+1)*hw], signed)
	}
}

// sumBytes sums b as uint8 or int8 values, eight bytes at a time: the
// even and odd bytes of each word add into four 16-bit lanes, which
// hold at most 128 such pairs (128·510 < 2¹⁶) before they are folded.
func sumBytes(b []byte, signed bool) int32 {
	const lanes = 0x00ff00ff00ff00ff
	var flip uint64
	if signed { // int8 v sums as uint8 (v+128) minus 128 per byte
		flip = 0x8080808080808080
	}
	var s int64
	total := int64(len(b))
	for len(b) >= 8 {
		n := min(len(b)/8, 128)
		var acc uint64
		for i := 0; i < n; i++ {
			w := binary.LittleEndian.Uint64(b[8*i:]) ^ flip
			acc += w&lanes + (w>>8)&lanes
		}
		for ; acc != 0; acc >>= 16 {
			s += int64(acc & 0xffff)
		}
		b = b[8*n:]
	}
	for _, v := range b {
		s += int64(v ^ byte(flip))
	}
	if signed { // every byte was shifted by +128
		s -= 128 * total
	}
	return int32(s)
}
