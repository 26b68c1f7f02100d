package kernels

// sgemmGeneric is the portable micro-kernel: a 4×16 tile in plain Go.
var sgemmGeneric = &sgemmKernel{
	name: "generic",
	mr:   4, nr: 16,
	kc: 256, mc: 128, nc: 1024,
	masked: true,
	tile:   tileGeneric,
}

// tileGeneric computes an mr×nr tile (mr ≤ 4, nr ≤ 16) with 4×16
// accumulators kept in arrays the compiler holds on the stack.
func tileGeneric(mr, nr, kc int, a, b []float32, bstride int, c []float32, ldc int, alpha, beta float32, loadC bool, ep *tileEpi) {
	var acc [4][16]float32
	a = a[:kc*4]
	for k := 0; k < kc; k++ {
		bk := b[k*bstride : k*bstride+nr]
		ak := a[k*4 : k*4+4]
		a0, a1, a2, a3 := ak[0], ak[1], ak[2], ak[3]
		for j, bv := range bk {
			acc[0][j] += a0 * bv
			acc[1][j] += a1 * bv
			acc[2][j] += a2 * bv
			acc[3][j] += a3 * bv
		}
	}
	for i := 0; i < mr; i++ {
		row := c[i*ldc : i*ldc+nr]
		if loadC {
			for j := range row {
				row[j] = alpha*acc[i][j] + beta*row[j]
			}
		} else {
			for j := range row {
				row[j] = alpha * acc[i][j]
			}
		}
		if ep != nil {
			biasClampGo(row, ep.bias[i], ep.lo, ep.hi)
		}
	}
}
