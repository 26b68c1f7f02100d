//go:build amd64 && !purego

package kernels

// interleave2 sets dst[2j] = a[j] + b and dst[2j+1] = c[j] + b, eight
// j at a time with AVX2 (kernels/internal/asmgen/ct.go).
func interleave2(dst, a, c []float32, b float32) {
	n := len(a)
	if hasAVX2FMA && n >= 8 {
		m := n &^ 7
		_, _ = dst[2*m-1], c[m-1]
		ctInterleave2Avx2(&dst[0], &a[0], &c[0], m, b)
		dst, a, c = dst[2*m:], a[m:], c[m:]
	}
	interleave2Go(dst, a, c, b)
}
