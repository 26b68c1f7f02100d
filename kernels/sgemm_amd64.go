//go:build amd64 && !purego

package kernels

// sgemmAvx512 uses 6×64 tiles: 24 ZMM accumulators, four B vectors and a
// broadcast register per row. Masked loads and stores cover partial
// tiles.
var sgemmAvx512 = &sgemmKernel{
	name: "avx512",
	mr:   6, nr: 64,
	kc: 256, mc: 120, nc: 512,
	masked: true,
	tile:   tileAvx512,
}

// sgemmAvx2 uses 6×16 tiles: 12 YMM accumulators.
var sgemmAvx2 = &sgemmKernel{
	name: "avx2",
	mr:   6, nr: 16,
	kc: 256, mc: 120, nc: 512,
	tile:   tileAvx2,
	strips: stripsAvx2,
}

func init() {
	switch {
	case hasAVX512:
		sk = sgemmAvx512
	case hasAVX2FMA:
		sk = sgemmAvx2
	default:
		sk = sgemmGeneric
	}
}

func tileAvx512(mr, nr, kc int, a, b []float32, bstride int, c []float32, ldc int, alpha, beta float32, loadC bool, ep *tileEpi) {
	nv := (nr + 15) >> 4
	mask := uint64(1)<<(nr-(nv-1)*16) - 1
	flags, bias, lo, hi := tileFlags(loadC, ep)
	sgemmAvx512Kernels[mr-1][nv-1](kc, &a[0], &b[0], bstride*4, &c[0], ldc*4, alpha, beta, mask, flags, bias, lo, hi)
}

func tileAvx2(mr, nr, kc int, a, b []float32, bstride int, c []float32, ldc int, alpha, beta float32, loadC bool, ep *tileEpi) {
	if nr == 16 {
		flags, bias, lo, hi := tileFlags(loadC, ep)
		sgemmAvx2Kernels[mr-1](kc, &a[0], &b[0], bstride*4, &c[0], ldc*4, alpha, beta, 1, flags, bias, lo, hi, 0)
		return
	}
	// Partial tile: the B panel is zero-padded to 16 columns; compute the
	// full tile into scratch and merge the valid part.
	var t [6 * 16]float32
	// A direct call: through the kernel table, t would escape.
	tp, ap, bp, bs := &t[0], &a[0], &b[0], bstride*4
	switch mr {
	case 1:
		sgemmAvx2M1(kc, ap, bp, bs, tp, 16*4, alpha, 0, 1, 0, nil, 0, 0, 0)
	case 2:
		sgemmAvx2M2(kc, ap, bp, bs, tp, 16*4, alpha, 0, 1, 0, nil, 0, 0, 0)
	case 3:
		sgemmAvx2M3(kc, ap, bp, bs, tp, 16*4, alpha, 0, 1, 0, nil, 0, 0, 0)
	case 4:
		sgemmAvx2M4(kc, ap, bp, bs, tp, 16*4, alpha, 0, 1, 0, nil, 0, 0, 0)
	case 5:
		sgemmAvx2M5(kc, ap, bp, bs, tp, 16*4, alpha, 0, 1, 0, nil, 0, 0, 0)
	default:
		sgemmAvx2M6(kc, ap, bp, bs, tp, 16*4, alpha, 0, 1, 0, nil, 0, 0, 0)
	}
	for i := 0; i < mr; i++ {
		row := c[i*ldc : i*ldc+nr]
		for j := range row {
			if loadC {
				row[j] = t[i*16+j] + beta*row[j]
			} else {
				row[j] = t[i*16+j]
			}
		}
		if ep != nil {
			biasClampGo(row, ep.bias[i], ep.lo, ep.hi)
		}
	}
}

// stripsAvx2 computes n full mr×16 tiles side by side: tile t reads the
// B panel at b[t·badv:] (rows bstride apart) and writes C at c[16t:],
// as n calls of tileAvx2 would.
func stripsAvx2(mr, n, kc int, a, b []float32, bstride, badv int, c []float32, ldc int, alpha, beta float32, loadC bool, ep *tileEpi) {
	_, _, _ = a[sgemmMR256*kc-1], b[(n-1)*badv+(kc-1)*bstride+15], c[(mr-1)*ldc+16*n-1]
	flags, bias, lo, hi := tileFlags(loadC, ep)
	sgemmAvx2Kernels[mr-1](kc, &a[0], &b[0], bstride*4, &c[0], ldc*4, alpha, beta, n, flags, bias, lo, hi, badv*4)
}

// tileFlags converts the tile options to the kernels' arguments.
func tileFlags(loadC bool, ep *tileEpi) (flags int, bias *float32, lo, hi float32) {
	if loadC {
		flags |= sgemmLoadC
	}
	if ep != nil {
		flags |= sgemmEpilogue
		bias, lo, hi = &ep.bias[0], ep.lo, ep.hi
	}
	return flags, bias, lo, hi
}

// availableKernels lists the float32 micro-kernels this CPU can run.
func availableKernels() []*sgemmKernel {
	ks := []*sgemmKernel{sgemmGeneric}
	if hasAVX2FMA {
		ks = append(ks, sgemmAvx2)
	}
	if hasAVX512 {
		ks = append(ks, sgemmAvx512)
	}
	return ks
}

// sgemmDotTN computes C = alpha·A·Bᵀ + beta·C (A is M×K, B is N×K) with
// dot-product kernels that read both operands as stored: every 4×4
// block of C streams four rows of A and four of B. That beats packing
// when one side is small, M ≤ 16 or N ≤ 4, where packing would cost as
// much as the product. It reports false, doing nothing, without AVX-512
// or for K < 16.
func sgemmDotTN(M, N, K int, alpha float32, A []float32, lda int, B []float32, ldb int, beta float32, C []float32, ldc int, threads int) bool {
	if !hasAVX512 || K < 16 {
		return false
	}
	mask := uint64(1)<<(K%16) - 1
	// run computes rows [i0, i1) and columns [j0, j1) of C.
	run := func(i0, i1, j0, j1 int) {
		var out [16]float32
		for i := i0; i < i1; i += 4 {
			m := min(4, i1-i)
			for j := j0; j < j1; j += 4 {
				n := min(4, j1-j)
				sdotAvx512Kernels[m-1][n-1](K, &A[i*lda], lda*4, &B[j*ldb], ldb*4, &out[0], mask)
				for r := 0; r < m; r++ {
					row := C[(i+r)*ldc+j : (i+r)*ldc+j+n]
					for t := range row {
						v := alpha * out[4*r+t]
						if beta != 0 {
							v += beta * row[t]
						}
						row[t] = v
					}
				}
			}
		}
	}
	ga, gb := (M+3)/4, (N+3)/4
	parts := 1
	if M*N*K >= sgemmMinParallel {
		parts = min(threads, max(ga, gb))
	}
	parallelFor(parts, parts, func(t int) {
		if gb >= ga {
			run(0, M, t*gb/parts*4, min(N, (t+1)*gb/parts*4))
		} else {
			run(t*ga/parts*4, min(M, (t+1)*ga/parts*4), 0, N)
		}
	})
	return true
}
