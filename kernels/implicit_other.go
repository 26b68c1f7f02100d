//go:build !amd64 || purego

package kernels

func hasIndirectKernels() bool { return false }

func hasImplicitKernels() bool { return false }

func tileIndirect(mr, nr, kc int, a, b []float32, offs []int64, c []float32, ldc, flags int, bias *float32, lo, hi float32) {
	panic("kernels: indirect micro-kernels without assembly")
}

func packPanels(dst, src []float32, offs []int64, desc []gatherEntry) {
	panic("kernels: packPanels without assembly")
}
