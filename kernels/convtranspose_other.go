//go:build !amd64 || purego

package kernels

func interleave2(dst, a, c []float32, b float32) { interleave2Go(dst, a, c, b) }
