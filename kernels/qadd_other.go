//go:build !amd64 || purego

package kernels

func qaddVec(dst, a []byte, aSigned bool, b []byte, bSigned bool, fa, fb, c, lo, hi float32) int {
	return 0
}
