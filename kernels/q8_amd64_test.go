//go:build amd64 && !purego

package kernels

import (
	"math/rand/v2"
	"testing"
)

// TestQ8TileAsmMatchesGo checks the assembly q8 tiles against the portable
// tile bit for bit, on full-range bytes where the int16 stage saturates
// as well as within the bound.
func TestQ8TileAsmMatchesGo(t *testing.T) {
	if !hasAVX2FMA {
		t.Skip("no AVX2")
	}
	r := rand.New(rand.NewPCG(87, 88))
	for _, v := range []struct {
		name    string
		asm     *[6]func(kg int, a, b *byte, bstride int, c *int32, ldc int, flags int, rowp, rowq, colu, colv *int32)
		aSigned bool
	}{{"As", &q8AsKernels, true}, {"Bs", &q8BsKernels, false}} {
		ref := q8TileGo(v.aSigned)
		for it := 0; it < 200; it++ {
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
			corr := &qCorr{rowp: make([]int32, 6), rowq: make([]int32, 6), colu: make([]int32, 16), colv: make([]int32, 16)}
			for _, s := range [][]int32{corr.rowp, corr.rowq, corr.colu, corr.colv} {
				for i := range s {
					s[i] = int32(r.Uint32())
				}
			}
			got, want := make([]int32, m*ldc), make([]int32, m*ldc)
			for i := range got {
				got[i] = int32(i * 7)
				want[i] = int32(i * 7)
			}
			v.asm[m-1](kg, &a[0], &b[0], 64, &got[0], ldc*4, flags, &corr.rowp[0], &corr.rowq[0], &corr.colu[0], &corr.colv[0])
			ref(m, kg, a, b, want, ldc, flags, corr)
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("%s m=%d kg=%d flags=%d: c[%d] = %d, want %d", v.name, m, kg, flags, i, got[i], want[i])
				}
			}
		}
	}
}
