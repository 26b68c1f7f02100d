//go:build amd64 && !purego

package kernels

// q8As and q8Bs are the AVX2 u8×s8 kernels for weights in [-64, 64]
// (see q8.go), reached from the int16-pair kernel qgemmAvx2.
var q8As, q8Bs = newQ8Kernels(q8AsmTile(&q8AsKernels), q8AsmTile(&q8BsKernels))

func init() {
	qgemmAvx2.q8A, qgemmAvx2.q8B = q8As, q8Bs
}

// q8AsmKernel is the signature of the generated q8 tiles.
type q8AsmKernel = func(kg int, a, b *byte, bstride int, c *int32, ldc int, flags int, rowp, rowq, colu, colv *int32, bias *int32, scale *float32, out *byte, ldo int, cst *int32)

func q8AsmTile(ks *[6]q8AsmKernel) q8TileFunc {
	return func(m, kg int, a, b []byte, c []int32, ldc int, flags int, corr *qCorr, rq *q8Req) {
		var rp, rqq, cu, cv *int32
		if corr != nil {
			rp, rqq, cu, cv = &corr.rowp[0], &corr.rowq[0], &corr.colu[0], &corr.colv[0]
		}
		if rq != nil {
			ks[m-1](kg, &a[0], &b[0], 4*16, &c[0], ldc*4, flags, rp, rqq, cu, cv, &rq.bias[0], &rq.scale[0], &rq.out[0], rq.ldo, &rq.cst[0][0])
			return
		}
		ks[m-1](kg, &a[0], &b[0], 4*16, &c[0], ldc*4, flags, rp, rqq, cu, cv, nil, nil, nil, 0, nil)
	}
}

// q8PackFull packs kg full groups of four rows × 16 columns of src (row
// stride ld) with q8PackU8x16; it reports false when there is no
// assembly for it.
func q8PackFull(dst, src []byte, ld, kg int, flip byte, colsum []int32) bool {
	if !hasAVX2FMA {
		return false
	}
	if kg > 0 {
		_, _ = dst[kg*64-1], src[(4*kg-1)*ld+15]
		_ = colsum[15]
		q8PackU8x16(&dst[0], &src[0], ld, kg, uint64(flip), &colsum[0])
	}
	return true
}
