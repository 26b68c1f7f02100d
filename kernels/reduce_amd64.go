//go:build amd64 && !purego

package kernels

// rowSum returns the sum of x: the vector kernels (see
// kernels/internal/asmgen/rowsum.go) on whole vectors, then the rest.
func rowSum(x []float32) float32 {
	switch {
	case hasAVX512 && len(x) >= 16:
		n := len(x) &^ 15
		s := rowSumAvx512(&x[0], n)
		return s + rowSumGo(x[n:])
	case hasAVX2FMA && len(x) >= 8:
		n := len(x) &^ 7
		s := rowSumAvx2(&x[0], n)
		return s + rowSumGo(x[n:])
	}
	return rowSumGo(x)
}
