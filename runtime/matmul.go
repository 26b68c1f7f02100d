package runtime

import (
	"fmt"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/kernels"
)

func init() {
	register("MatMul", 1, func(b *buildCtx) (kernel, error) {
		cb := b.constInput(1)
		pb := packConstB(cb, false)
		return kernelFunc(func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
			if err := needInputs(in, 2); err != nil {
				return nil, err
			}
			// The packed copy serves only while input 1 is that constant (a
			// graph input with a default may be overridden).
			if pb != nil && in[1] == cb && in[0].DType == ir.Float32 && len(in[0].Dims) >= 2 && in[0].Dims[len(in[0].Dims)-1] == int64(pb.K) {
				// A constant weight matrix, prepacked: one GEMM over all
				// rows of A.
				a := in[0]
				dims := cloneDims(a.Dims)
				dims[len(dims)-1] = int64(pb.N)
				y, err := e.alloc(ir.Float32, dims)
				if err != nil {
					return nil, err
				}
				rows := numel(a.Dims[:len(a.Dims)-1])
				kernels.SgemmPackedB(false, rows, 1, view[float32](a), pb.K, pb, 0, view[float32](y), pb.N)
				return []*ir.Tensor{y}, nil
			}
			y, err := matmul(e, in[0], in[1])
			return []*ir.Tensor{y}, err
		}), nil
	})
	register("Gemm", 6, buildGemm)
}

// mmShape describes a (batched) matrix product after numpy promotion of
// 1-D operands.
type mmShape struct {
	M, K, N    int
	out        []int64 // final output shape
	batch      []int64 // broadcast batch shape
	aBatch     []int64 // batch dims of A and B (for broadcasting)
	bBatch     []int64
	batchCount int
}

func matmulShape(a, b []int64) (*mmShape, error) {
	if len(a) == 0 || len(b) == 0 {
		return nil, fmt.Errorf("matmul of a scalar")
	}
	ad, bd := a, b
	if len(a) == 1 {
		ad = []int64{1, a[0]}
	}
	if len(b) == 1 {
		bd = []int64{b[0], 1}
	}
	s := &mmShape{M: int(ad[len(ad)-2]), K: int(ad[len(ad)-1]), N: int(bd[len(bd)-1])}
	if bd[len(bd)-2] != int64(s.K) {
		return nil, fmt.Errorf("shapes %v and %v do not multiply", a, b)
	}
	s.aBatch, s.bBatch = ad[:len(ad)-2], bd[:len(bd)-2]
	batch, err := broadcastShape(s.aBatch, s.bBatch)
	if err != nil {
		return nil, fmt.Errorf("batch dims of %v and %v do not broadcast", a, b)
	}
	s.batch = batch
	s.batchCount = numel(batch)
	s.out = cloneDims(batch)
	if len(a) > 1 {
		s.out = append(s.out, int64(s.M))
	}
	if len(b) > 1 {
		s.out = append(s.out, int64(s.N))
	}
	return s, nil
}

// matmul computes the numpy matrix product of a and b.
func matmul(e *env, a, b *ir.Tensor) (*ir.Tensor, error) {
	if a.DType != b.DType {
		return nil, fmt.Errorf("input types differ: %s and %s", a.DType, b.DType)
	}
	if isHalf(a.DType) {
		w := widen([]*ir.Tensor{a, b})
		y, err := matmul(e, w[0], w[1])
		if err != nil {
			return nil, err
		}
		return narrow(e, y, a.DType)
	}
	s, err := matmulShape(a.Dims, b.Dims)
	if err != nil {
		return nil, err
	}
	y, err := e.alloc(a.DType, s.out)
	if err != nil {
		return nil, err
	}
	M, K, N := s.M, s.K, s.N
	if M*N == 0 {
		return y, nil
	}
	// When B has no batch dims every batch of A shares it: fold A's batch
	// into M and do one product.
	if a.DType == ir.Float32 && len(s.bBatch) == 0 {
		rows := s.batchCount * M
		kernels.Sgemm(false, false, rows, N, K, 1, view[float32](a), K, view[float32](b), N, 0, view[float32](y), N)
		return y, nil
	}
	bc := newBcast(s.batch, s.aBatch, s.bBatch)
	type job struct{ o, ao, bo int }
	var jobs []job
	sa, sb := bc.innerStride(0), bc.innerStride(1)
	n := bc.inner()
	bc.each(func(o int, offs []int) {
		for i := 0; i < n; i++ {
			jobs = append(jobs, job{o + i, offs[0] + i*sa, offs[1] + i*sb})
		}
	})
	switch a.DType {
	case ir.Float32:
		av, bv, yv := view[float32](a), view[float32](b), view[float32](y)
		for _, j := range jobs {
			kernels.Sgemm(false, false, M, N, K, 1, av[j.ao*M*K:], K, bv[j.bo*K*N:], N, 0, yv[j.o*M*N:], N)
		}
	case ir.Float64:
		mmJobs(view[float64](a), view[float64](b), view[float64](y), M, K, N, len(jobs), func(i int) (int, int, int) { return jobs[i].o, jobs[i].ao, jobs[i].bo })
	case ir.Int32:
		mmJobs(view[int32](a), view[int32](b), view[int32](y), M, K, N, len(jobs), func(i int) (int, int, int) { return jobs[i].o, jobs[i].ao, jobs[i].bo })
	case ir.Int64:
		mmJobs(view[int64](a), view[int64](b), view[int64](y), M, K, N, len(jobs), func(i int) (int, int, int) { return jobs[i].o, jobs[i].ao, jobs[i].bo })
	case ir.Uint32:
		mmJobs(view[uint32](a), view[uint32](b), view[uint32](y), M, K, N, len(jobs), func(i int) (int, int, int) { return jobs[i].o, jobs[i].ao, jobs[i].bo })
	case ir.Uint64:
		mmJobs(view[uint64](a), view[uint64](b), view[uint64](y), M, K, N, len(jobs), func(i int) (int, int, int) { return jobs[i].o, jobs[i].ao, jobs[i].bo })
	default:
		e.release(y)
		return nil, errType(a.DType)
	}
	return y, nil
}

func mmJobs[T numT](a, b, y []T, M, K, N, count int, job func(int) (o, ao, bo int)) {
	for j := 0; j < count; j++ {
		o, ao, bo := job(j)
		gemmGeneric(false, false, M, N, K, a[ao*M*K:], K, b[bo*K*N:], N, y[o*M*N:], N)
	}
}

// gemmGeneric computes C = op(A)·op(B) (overwriting C) for any numeric
// type; the float32 path uses kernels.Sgemm instead.
func gemmGeneric[T numT](ta, tb bool, M, N, K int, a []T, lda int, b []T, ldb int, c []T, ldc int) {
	for i := 0; i < M; i++ {
		row := c[i*ldc : i*ldc+N]
		for j := range row {
			row[j] = 0
		}
		for k := 0; k < K; k++ {
			var av T
			if ta {
				av = a[k*lda+i]
			} else {
				av = a[i*lda+k]
			}
			if av == 0 {
				continue
			}
			if tb {
				for j := range row {
					row[j] += av * b[j*ldb+k]
				}
			} else {
				br := b[k*ldb : k*ldb+N]
				for j, bv := range br {
					row[j] += av * bv
				}
			}
		}
	}
}

// packConstB prepacks a constant float32 matrix used as the right-hand
// GEMM operand (transposed when trans), or returns nil.
func packConstB(t *ir.Tensor, trans bool) *kernels.PackedB {
	if t == nil || t.DType != ir.Float32 || len(t.Dims) != 2 || t.Dims[0] == 0 || t.Dims[1] == 0 {
		return nil
	}
	K, N := int(t.Dims[0]), int(t.Dims[1])
	ld := N
	if trans {
		K, N = N, K
	}
	return kernels.PackB(trans, K, N, view[float32](t), ld)
}

func buildGemm(b *buildCtx) (kernel, error) {
	alpha := b.n.AttrFloat("alpha", 1)
	beta := b.n.AttrFloat("beta", 1)
	ta := b.n.AttrInt("transA", 0) != 0
	tb := b.n.AttrInt("transB", 0) != 0
	cb := b.constInput(1)
	pb := packConstB(cb, tb)
	return kernelFunc(func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := needInputs(in, 2); err != nil {
			return nil, err
		}
		a, bt := in[0], in[1]
		var c *ir.Tensor
		if len(in) > 2 {
			c = in[2]
		}
		dt := a.DType
		if isHalf(dt) {
			w := widen([]*ir.Tensor{a, bt, c})
			a, bt, c = w[0], w[1], w[2]
		}
		if a.DType != bt.DType || c != nil && c.DType != a.DType {
			return nil, fmt.Errorf("input types differ")
		}
		if len(a.Dims) != 2 || len(bt.Dims) != 2 {
			return nil, fmt.Errorf("A %v and B %v must be matrices", a.Dims, bt.Dims)
		}
		M, K := int(a.Dims[0]), int(a.Dims[1])
		if ta {
			M, K = K, M
		}
		K2, N := int(bt.Dims[0]), int(bt.Dims[1])
		if tb {
			K2, N = N, K2
		}
		if K != K2 {
			return nil, fmt.Errorf("A %v and B %v do not multiply (transA=%v, transB=%v)", a.Dims, bt.Dims, ta, tb)
		}
		out := []int64{int64(M), int64(N)}
		var y *ir.Tensor
		var err error
		cBeta := beta
		if c != nil && beta != 0 {
			bs, err := broadcastShape(out, c.Dims)
			if err != nil || !sameDims(bs, out) {
				return nil, fmt.Errorf("C %v does not broadcast to %v", c.Dims, out)
			}
			if y, err = broadcastTo(e, c, out); err != nil {
				return nil, err
			}
		} else {
			cBeta = 0
			if y, err = e.alloc(a.DType, out); err != nil {
				return nil, err
			}
		}
		lda, ldb := int(a.Dims[1]), int(bt.Dims[1])
		switch a.DType {
		case ir.Float32:
			switch {
			case M*N == 0:
			case pb != nil && in[1] == cb:
				kernels.SgemmPackedB(ta, M, alpha, view[float32](a), lda, pb, cBeta, view[float32](y), N)
			default:
				kernels.Sgemm(ta, tb, M, N, K, alpha, view[float32](a), lda, view[float32](bt), ldb, cBeta, view[float32](y), N)
			}
		case ir.Float64:
			gemmScaled(ta, tb, M, N, K, float64(alpha), view[float64](a), lda, view[float64](bt), ldb, float64(cBeta), view[float64](y))
		case ir.Int32:
			gemmScaled(ta, tb, M, N, K, int32(alpha), view[int32](a), lda, view[int32](bt), ldb, int32(cBeta), view[int32](y))
		case ir.Int64:
			gemmScaled(ta, tb, M, N, K, int64(alpha), view[int64](a), lda, view[int64](bt), ldb, int64(cBeta), view[int64](y))
		default:
			e.release(y)
			return nil, errType(a.DType)
		}
		if dt != a.DType {
			y, err = narrow(e, y, dt)
		}
		return []*ir.Tensor{y}, err
	}), nil
}

// gemmScaled computes y = alpha·op(A)·op(B) + beta·y.
func gemmScaled[T numT](ta, tb bool, M, N, K int, alpha T, a []T, lda int, b []T, ldb int, beta T, y []T) {
	prod := make([]T, M*N)
	gemmGeneric(ta, tb, M, N, K, a, lda, b, ldb, prod, N)
	for i, p := range prod {
		if beta == 0 {
			y[i] = alpha * p
		} else {
			y[i] = alpha*p + beta*y[i]
		}
	}
}
