//go:build !amd64 || purego

package kernels

func init() { sk = sgemmGeneric }

func availableKernels() []*sgemmKernel { return []*sgemmKernel{sgemmGeneric} }

func sgemmDotTN(M, N, K int, alpha float32, A []float32, lda int, B []float32, ldb int, beta float32, C []float32, ldc int, threads int) bool {
	return false
}
