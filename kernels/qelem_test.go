package kernels

import (
	"math/rand/v2"
	"testing"
)

// TestSumPlanes8 checks the word-at-a-time byte sums against a plain
// loop, for both signednesses, plane sizes around the 8-byte words and
// the 1024-byte fold, and extreme bytes.
func TestSumPlanes8(t *testing.T) {
	r := rand.New(rand.NewPCG(61, 62))
	for _, hw := range []int{1, 7, 8, 9, 49, 196, 1023, 1024, 1025, 3000} {
		for _, signed := range []bool{false, true} {
			planes := 1 + r.IntN(4)
			src := randBytes(r, planes*hw)
			if hw == 3000 {
				for i := range src[:hw] {
					src[i] = 0xff // all 255 (or -1)
				}
				for i := range src[hw:] {
					src[hw+i] = 0x80 // -128 when signed
				}
			}
			got := make([]int32, planes)
			SumPlanes8(got, src, hw, signed)
			for p := range got {
				var want int32
				for _, v := range src[p*hw : (p+1)*hw] {
					if signed {
						want += int32(int8(v))
					} else {
						want += int32(v)
					}
				}
				if got[p] != want {
					t.Fatalf("hw=%d signed=%v plane %d: sum %d, want %d", hw, signed, p, got[p], want)
				}
			}
		}
	}
}

// TestDequantize8 checks Dequantize8 (the table, and the vector loop
// with its tail on longer inputs) against float32(x − zero)·scale
// element by element, for both signednesses.
func TestDequantize8(t *testing.T) {
	r := rand.New(rand.NewPCG(63, 64))
	for it := 0; it < 60; it++ {
		n := r.IntN(700)
		signed := it%2 == 1
		zero := int32(r.IntN(256))
		if signed {
			zero -= 128
		}
		scale := float32(r.Float64()*0.1 + 1e-4)
		src := randBytes(r, n)
		dst := make([]float32, n)
		Dequantize8(dst, src, signed, scale, zero)
		for i, b := range src {
			v := int32(b)
			if signed {
				v = int32(int8(b))
			}
			if want := float32(v-zero) * scale; dst[i] != want {
				t.Fatalf("n=%d signed=%v: dst[%d] = %v, want %v", n, signed, i, dst[i], want)
			}
		}
	}
}
