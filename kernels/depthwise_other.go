//go:build !amd64 || purego

package kernels

type dw3x3 struct {
	pv             Conv2DParams
	rows           []int64
	pair, zero, ok bool
}

func dwRowsLen(oh int) int { return 0 }

func newDW3x3(p *Conv2DParams, rows []int64) (d dw3x3, ok bool) { return d, false }

func (d *dw3x3) run(out, in []float32, inStride, nch int, w, bias []float32, biasStep int, zero []float32, lo, hi float32) {
	panic("kernels: dw3x3 without assembly")
}

func (d *dw3x3) runMax(out, in []float32, inStride, nch int, ninf []float32) {
	panic("kernels: dw3x3 without assembly")
}
