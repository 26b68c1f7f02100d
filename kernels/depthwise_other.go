//go:build !amd64 || purego

package kernels

func hasDW3x3(p *Conv2DParams) bool { return false }

func dw3x3Plane(p *Conv2DParams, out, in []float32, wp int, w []float32, bias, lo, hi float32) {
	panic("kernels: dw3x3Plane without assembly")
}
