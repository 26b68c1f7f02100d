//go:build !amd64 || purego

package kernels

func axpy(a float32, x, y []float32) { axpyGo(a, x, y) }

func axpy2(a float32, x, y []float32) { axpyStrideGo(a, x, 2, y) }

func biasClamp(x []float32, bias, lo, hi float32) { biasClampGo(x, bias, lo, hi) }
