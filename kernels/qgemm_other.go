//go:build !amd64 || purego

package kernels

func qpackFull(dst, src []byte, ld, kg int, flip byte, colsum []int32) bool { return false }

func availableQKernels() []*qgemmKernel { return nil }
