//go:build amd64 && !purego

package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestQ8TileAsmMatchesGo checks the assembly q8 tiles against the portable
// tile bit for bit, on full-range bytes where the int16 stage saturates
// as well as within the bound, storing or adding int32 tiles and
// requantising them to uint8 and int8.
func TestQ8TileAsmMatchesGo(t *testing.T) {
	if !hasAVX2FMA {
		t.Skip("no AVX2")
	}
	r := rand.New(rand.NewPCG(87, 88))
	for _, v := range []struct {
		name    string
		asm     *[6]q8AsmKernel
		aSigned bool
		cols    int // columns the kernel computes: 16, or 8 for the halves
	}{{"As", &q8AsKernels, true, 16}, {"Bs", &q8BsKernels, false, 16}, {"AsH", &q8AsKernelsH, true, 8}, {"BsH", &q8BsKernelsH, false, 8}} {
		ref := q8TileGo(v.aSigned)
		for it := 0; it < 600; it++ {
			m, kg := 1+r.IntN(6), 1+r.IntN(40)
			a, b := randBytes(r, kg*24), randBytes(r, kg*64)
			if it%2 == 0 { // within the bound on the signed side
				s := a
				if !v.aSigned {
					s = b
				}
				copy(s, q8Weights(r, len(s), true))
			}
			ldc := 16 + r.IntN(4)
			flags := it % 4
			rqMode := (it / 4) % 3 // 0: int32 tile, 1: uint8, 2: int8
			corr := &qCorr{rowp: make([]int32, 6), rowq: make([]int32, 6), colu: make([]int32, 16), colv: make([]int32, 16)}
			for _, s := range [][]int32{corr.rowp, corr.rowq, corr.colu, corr.colv} {
				for i := range s {
					s[i] = int32(r.Uint32())
					if rqMode > 0 { // keep the requantised range meaningful
						s[i] = int32(r.IntN(256)) - 128
					}
				}
			}
			got, want := make([]int32, m*ldc), make([]int32, m*ldc)
			for i := range got {
				got[i] = int32(i * 7)
				want[i] = int32(i * 7)
			}
			if rqMode == 0 {
				v.asm[m-1](kg, &a[0], &b[0], 64, &got[0], ldc*4, flags, &corr.rowp[0], &corr.rowq[0], &corr.colu[0], &corr.colv[0], nil, nil, nil, 0, nil, 1)
				ref(m, kg, a, b, want, ldc, flags, corr, nil)
				for i := range want {
					if i%ldc >= v.cols { // a half kernel leaves the right half alone
						want[i] = int32(i * 7)
					}
					if got[i] != want[i] {
						t.Fatalf("%s m=%d kg=%d flags=%d: c[%d] = %d, want %d", v.name, m, kg, flags, i, got[i], want[i])
					}
				}
				continue
			}
			ro := Requant{Bias: make([]int32, m), Scale: make([]float32, m), Zero: int32(r.IntN(256)), Lo: 0, Hi: 255}
			if rqMode == 2 {
				ro.Zero, ro.Lo, ro.Hi = ro.Zero-128, -128, 127
			}
			if it%8 < 4 { // a fused Relu or Clip narrows the range
				ro.Lo, ro.Hi = ro.Zero, min(ro.Hi, ro.Zero+100)
			}
			for i := range ro.Bias {
				ro.Bias[i] = int32(r.IntN(20001)) - 10000
				// Sums of 4·kg products spread about 5000·√(4·kg): most
				// results land inside the output range, some clamp.
				ro.Scale[i] = float32(r.Float64() * 200 / (5000 * math.Sqrt(float64(4*kg))))
			}
			ldo := 16 + r.IntN(5)
			o := new(qOut).set(&ro, 0, nil, ldo)
			gotB, wantB := randBytes(r, m*ldo), make([]byte, m*ldo)
			copy(wantB, gotB)
			gotB0 := append([]byte(nil), gotB...)
			rq := func(out []byte) *q8Req {
				return &q8Req{bias: o.bias, scale: o.scale, out: out, ldo: ldo, cst: &o.cst, s8: o.s8}
			}
			f := flags&1 | 2 | 4
			if rqMode == 2 {
				f = flags&1 | 2 | 8
			}
			before := append([]int32(nil), got...)
			q8AsmTile(v.asm)(m, kg, a, b, got, ldc, f, corr, rq(gotB))
			ref(m, kg, a, b, want, ldc, f, corr, rq(wantB))
			for i := range before {
				if got[i] != before[i] {
					t.Fatalf("%s m=%d kg=%d flags=%d: requantising tile wrote c[%d]", v.name, m, kg, f, i)
				}
			}
			for i := range wantB {
				if i%ldo >= v.cols && i%ldo < 16 {
					wantB[i] = gotB0[i]
				}
				if gotB[i] != wantB[i] {
					t.Fatalf("%s m=%d kg=%d flags=%d: out[%d] = %d, want %d", v.name, m, kg, f, i, gotB[i], wantB[i])
				}
			}
		}
	}
}
