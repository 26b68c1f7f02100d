//go:build amd64 && !purego

package kernels

// q8As and q8Bs are the AVX2 u8×s8 kernels for weights in [-64, 64]
// (see q8.go), reached from the int16-pair kernel qgemmAvx2.
var q8As, q8Bs = newQ8Kernels(q8AsmTile(&q8AsKernels), q8AsmTile(&q8BsKernels), q8AsmTile(&q8AsKernelsH), q8AsmTile(&q8BsKernelsH))

func init() {
	qgemmAvx2.q8A, qgemmAvx2.q8B = q8As, q8Bs
	q8As.rqPanels = q8AsmPanels(&q8AsKernels)
	q8Bs.rqPanels = q8AsmPanels(&q8BsKernels)
	q8As.tilePanels = q8AsmTilePanels(&q8AsKernels)
	q8Bs.tilePanels = q8AsmTilePanels(&q8BsKernels)
}

// q8AsmPanels returns qgemmKernel.rqPanels for the assembly tiles ks:
// the bounds are checked once for all panels, which one assembly call
// computes.
func q8AsmPanels(ks *[6]q8AsmKernel) func(mr, kg int, a, b []byte, panels int, c []int32, ldc int, loadC bool, corr *qCorr, rq *q8Req) {
	return func(mr, kg int, a, b []byte, panels int, c []int32, ldc int, loadC bool, corr *qCorr, rq *q8Req) {
		if panels <= 0 {
			return
		}
		n := 16 * panels
		_, _ = a[kg*4*6-1], b[panels*kg*64-1]
		_, _, _ = rq.out[(mr-1)*rq.ldo+n-1], rq.bias[mr-1], rq.scale[mr-1]
		_ = c[n-1]
		flags := rqFlag(rq)
		if loadC {
			flags |= 1
			_ = c[(mr-1)*ldc+n-1]
		}
		if corr != nil {
			flags |= 2
		}
		rp, rqq, cu, cv := corr.ptrs(mr, n)
		ks[mr-1](kg, &a[0], &b[0], 64, &c[0], ldc*4, flags, rp, rqq, cu, cv, &rq.bias[0], &rq.scale[0], &rq.out[0], rq.ldo, &rq.cst[0][0], panels)
	}
}

// q8AsmTilePanels returns qgemmKernel.tilePanels for the assembly tiles
// ks: int32 tiles over panels full panels in one call.
func q8AsmTilePanels(ks *[6]q8AsmKernel) func(mr, kg int, a, b []byte, panels int, c []int32, ldc int, loadC bool, corr *qCorr) {
	return func(mr, kg int, a, b []byte, panels int, c []int32, ldc int, loadC bool, corr *qCorr) {
		if panels <= 0 {
			return
		}
		n := 16 * panels
		_, _ = a[kg*4*6-1], b[panels*kg*64-1]
		_ = c[(mr-1)*ldc+n-1]
		flags := 0
		if loadC {
			flags = 1
		}
		if corr != nil {
			flags |= 2
		}
		rp, rqq, cu, cv := corr.ptrs(mr, n)
		ks[mr-1](kg, &a[0], &b[0], 64, &c[0], ldc*4, flags, rp, rqq, cu, cv, nil, nil, nil, 0, nil, panels)
	}
}

// q8AsmKernel is the signature of the generated q8 tiles.
type q8AsmKernel = func(kg int, a, b *byte, bstride int, c *int32, ldc int, flags int, rowp, rowq, colu, colv *int32, bias *int32, scale *float32, out *byte, ldo int, cst *int32, panels int)

func q8AsmTile(ks *[6]q8AsmKernel) q8TileFunc {
	return func(m, kg int, a, b []byte, c []int32, ldc int, flags int, corr *qCorr, rq *q8Req) {
		var rp, rqq, cu, cv *int32
		if corr != nil {
			rp, rqq, cu, cv = &corr.rowp[0], &corr.rowq[0], &corr.colu[0], &corr.colv[0]
		}
		if rq != nil {
			ks[m-1](kg, &a[0], &b[0], 4*16, &c[0], ldc*4, flags, rp, rqq, cu, cv, &rq.bias[0], &rq.scale[0], &rq.out[0], rq.ldo, &rq.cst[0][0], 1)
			return
		}
		ks[m-1](kg, &a[0], &b[0], 4*16, &c[0], ldc*4, flags, rp, rqq, cu, cv, nil, nil, nil, 0, nil, 1)
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
		var cs *int32
		if colsum != nil {
			cs = &colsum[0]
			_ = colsum[15]
		}
		q8PackU8x16(&dst[0], &src[0], ld, kg, uint64(flip), cs)
	}
	return true
}

// q8PackGroup packs one group of four rows of src (stride ld) across
// panels full 16-column panels into dst, panel p at p·dstStride, with
// q8PackPanels, adding column sums to colsum unless it is nil; it
// reports false when there is no assembly for it.
func q8PackGroup(dst, src []byte, ld, panels, dstStride int, flip byte, colsum []int32) bool {
	if !hasAVX2FMA {
		return false
	}
	if panels > 0 {
		_, _ = dst[(panels-1)*dstStride+63], src[3*ld+16*panels-1]
		var cs *int32
		if colsum != nil {
			_ = colsum[16*panels-1]
			cs = &colsum[0]
		}
		q8PackPanels(&dst[0], &src[0], ld, panels, dstStride, uint64(flip), cs)
	}
	return true
}

// maxBytesVec sets dst[i] = max(dst[i], src[i]) for all of dst when it
// is 16 bytes long or more (a tail is redone by an overlapping last
// vector, which a maximum allows; dst and src must not overlap) and
// returns len(dst), else returns 0 (also without AVX2).
func maxBytesVec(dst, src []byte, signed bool) int {
	n := len(dst)
	if !hasAVX2FMA || n < 16 {
		return 0
	}
	_ = src[n-1]
	q8MaxBytes(&dst[0], &src[0], n&^15, signed)
	if n&15 != 0 {
		q8MaxBytes(&dst[n-16], &src[n-16], 16, signed)
	}
	return n
}
