package kernels

import "fmt"

// PackedB is a K×N right-hand GEMM operand packed once for this CPU's
// micro-kernel, typically a constant weight matrix. Multiplying with it
// skips the per-call packing pass over B. A PackedB is read-only after
// PackB and may be shared by concurrent calls.
type PackedB struct {
	K, N int
	kern *sgemmKernel
	npad int // N rounded up to the kernel's panel width
	data []float32
	bt   []float32 // for N ≤ 4: op(B) transposed (N×K), for dot products
}

// PackB packs op(B), where op(B) is K×N (B is N×K when transB), for use
// with SgemmPackedB.
func PackB(transB bool, K, N int, B []float32, ldb int) *PackedB {
	checkMatrix("PackB", "B", transB, K, N, B, ldb)
	k := sk
	p := &PackedB{K: K, N: N, kern: k, npad: roundUp(N, k.nr)}
	p.data = alignedFloats(p.npad * K)
	src := sgemmB{trans: transB, b: B, ldb: ldb}
	for pc := 0; pc < K; pc += k.kc {
		kcb := min(k.kc, K-pc)
		packB(p.data[pc*p.npad:], &src, pc, kcb, 0, N, k.nr)
	}
	if N <= 4 {
		p.bt = make([]float32, N*K)
		for j := 0; j < N; j++ {
			for kk := 0; kk < K; kk++ {
				if transB {
					p.bt[j*K+kk] = B[j*ldb+kk]
				} else {
					p.bt[j*K+kk] = B[kk*ldb+j]
				}
			}
		}
	}
	return p
}

// block returns the packed panels of k-block pc starting at column j (a
// multiple of the panel width).
func (p *PackedB) block(pc, j int) []float32 {
	kcb := min(p.kern.kc, p.K-pc)
	return p.data[pc*p.npad+j*kcb:]
}

// SgemmPackedB computes C = alpha*op(A)*B + beta*C where B was packed by
// PackB; op(A) is M×pb.K and C is M×pb.N. Otherwise as Sgemm.
func SgemmPackedB(transA bool, M int, alpha float32, A []float32, lda int, pb *PackedB, beta float32, C []float32, ldc int) {
	pb.check("SgemmPackedB")
	N, K := pb.N, pb.K
	checkMatrix("SgemmPackedB", "A", transA, M, K, A, lda)
	checkMatrix("SgemmPackedB", "C", false, M, N, C, ldc)
	if M == 0 || N == 0 {
		return
	}
	if K == 0 || alpha == 0 {
		scaleMatrix(M, N, beta, C, ldc)
		return
	}
	if !transA && pb.bt != nil && sgemmDotTN(M, N, K, alpha, A, lda, pb.bt, K, beta, C, ldc, Threads()) {
		return
	}
	a := sgemmA{trans: transA, a: A, lda: lda}
	b := sgemmB{pk: pb}
	sgemmDrive(M, N, K, alpha, &a, &b, beta, C, ldc, nil, Threads())
}

func (p *PackedB) check(fn string) {
	if p == nil || p.kern != sk {
		panic(fmt.Sprintf("kernels: %s: operand not packed by PackB in this process", fn))
	}
}

// PackedA is an M×K left-hand GEMM operand packed once for this CPU's
// micro-kernel, typically convolution weights. It is read-only after
// PackA and may be shared by concurrent calls.
type PackedA struct {
	M, K int
	kern *sgemmKernel
	mpad int // M rounded up to the kernel's panel height
	data []float32
}

// PackA packs op(A), where op(A) is M×K (A is K×M when transA), for use
// with SgemmPackedA.
func PackA(transA bool, M, K int, A []float32, lda int) *PackedA {
	checkMatrix("PackA", "A", transA, M, K, A, lda)
	k := sk
	p := &PackedA{M: M, K: K, kern: k, mpad: roundUp(M, k.mr)}
	p.data = alignedFloats(p.mpad * K)
	src := sgemmA{trans: transA, a: A, lda: lda}
	for pc := 0; pc < K; pc += k.kc {
		kcb := min(k.kc, K-pc)
		packA(p.data[pc*p.mpad:], &src, 0, M, pc, kcb, k.mr)
	}
	return p
}

// block returns the packed panels of k-block pc starting at row i (a
// multiple of the panel height).
func (p *PackedA) block(pc, i int) []float32 {
	kcb := min(p.kern.kc, p.K-pc)
	return p.data[pc*p.mpad+i*kcb:]
}

func (p *PackedA) check(fn string) {
	if p == nil || p.kern != sk {
		panic(fmt.Sprintf("kernels: %s: operand not packed by PackA in this process", fn))
	}
}

// SgemmPackedA computes C = alpha*A*op(B) + beta*C where A was packed by
// PackA; op(B) is pa.K×N and C is pa.M×N. Otherwise as Sgemm.
func SgemmPackedA(pa *PackedA, transB bool, N int, alpha float32, B []float32, ldb int, beta float32, C []float32, ldc int) {
	pa.check("SgemmPackedA")
	M, K := pa.M, pa.K
	checkMatrix("SgemmPackedA", "B", transB, K, N, B, ldb)
	checkMatrix("SgemmPackedA", "C", false, M, N, C, ldc)
	if M == 0 || N == 0 {
		return
	}
	if K == 0 || alpha == 0 {
		scaleMatrix(M, N, beta, C, ldc)
		return
	}
	a := sgemmA{pk: pa}
	b := sgemmB{trans: transB, b: B, ldb: ldb, direct: !transB && sgemmDirectB(M, N)}
	sgemmDrive(M, N, K, alpha, &a, &b, beta, C, ldc, nil, Threads())
}
