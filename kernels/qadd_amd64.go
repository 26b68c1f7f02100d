//go:build amd64 && !purego

package kernels

//go:noescape
func qaddAvx2(dst, a, b *byte, n int, aXor, bXor uint64, fa, fb, c, lo, hi float32, aOff, bOff int32)

// qaddVec runs QAdd's AVX2 loop on a prefix of dst that is a multiple of
// 8 long and returns its length (0 without AVX2).
func qaddVec(dst, a []byte, aSigned bool, b []byte, bSigned bool, fa, fb, c, lo, hi float32) int {
	n := len(dst) &^ 7
	if !hasAVX2FMA || n == 0 {
		return 0
	}
	_, _ = a[n-1], b[n-1]
	var ax, bx uint64
	var ao, bo int32
	if aSigned {
		ax, ao = 0x8080808080808080, 128
	}
	if bSigned {
		bx, bo = 0x8080808080808080, 128
	}
	qaddAvx2(&dst[0], &a[0], &b[0], n, ax, bx, fa, fb, c, lo, hi, ao, bo)
	return n
}
