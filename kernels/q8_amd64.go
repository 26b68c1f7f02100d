//go:build amd64 && !purego

package kernels

// q8As and q8Bs are the AVX2 u8×s8 kernels for weights in [-64, 64]
// (see q8.go), reached from the int16-pair kernel qgemmAvx2.
var q8As, q8Bs = newQ8Kernels(q8AsmTile(&q8AsKernels), q8AsmTile(&q8BsKernels))

func init() {
	qgemmAvx2.q8A, qgemmAvx2.q8B = q8As, q8Bs
}

func q8AsmTile(ks *[6]func(kg int, a, b *byte, bstride int, c *int32, ldc int, flags int)) q8TileFunc {
	return func(m, kg int, a, b []byte, c []int32, ldc int, flags int) {
		ks[m-1](kg, &a[0], &b[0], 4*16, &c[0], ldc*4, flags)
	}
}
