package kernels

// Sgemm computes C = alpha*op(A)*op(B) + beta*C for row-major float32
// matrices, where op(X) is X or its transpose. op(A) is M×K, op(B) is K×N
// and C is M×N; lda, ldb and ldc are the row strides of A, B and C as
// stored. When beta is 0, C is not read (NaNs in C do not propagate).
func Sgemm(transA, transB bool, M, N, K int, alpha float32, A []float32, lda int, B []float32, ldb int, beta float32, C []float32, ldc int) {
	sgemmRef(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)
}

// sgemmRef is the portable reference implementation.
func sgemmRef(transA, transB bool, M, N, K int, alpha float32, A []float32, lda int, B []float32, ldb int, beta float32, C []float32, ldc int) {
	for i := 0; i < M; i++ {
		crow := C[i*ldc : i*ldc+N]
		if beta == 0 {
			for j := range crow {
				crow[j] = 0
			}
		} else if beta != 1 {
			for j := range crow {
				crow[j] *= beta
			}
		}
		for k := 0; k < K; k++ {
			var a float32
			if transA {
				a = A[k*lda+i]
			} else {
				a = A[i*lda+k]
			}
			a *= alpha
			if a == 0 {
				continue
			}
			if transB {
				for j := 0; j < N; j++ {
					crow[j] += a * B[j*ldb+k]
				}
			} else {
				brow := B[k*ldb : k*ldb+N]
				for j, b := range brow {
					crow[j] += a * b
				}
			}
		}
	}
}
