//go:build !amd64 || purego

package kernels

func hasGatherKernels() bool { return false }

func (gp *gatherProg) gatherRows(dst, src []float32, tap, nimg, srcImg, dstImg, hw, ohw int) {
	panic("kernels: gather programs without assembly")
}

func (gp *gatherProg) poolPlanes(dst, src []float32, taps, planes, hw, ohw int, div []float32, isMax bool) {
	panic("kernels: gather programs without assembly")
}
