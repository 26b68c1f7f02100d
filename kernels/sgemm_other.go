//go:build !amd64 || purego

package kernels

func init() { sk = sgemmGeneric }

func availableKernels() []*sgemmKernel { return []*sgemmKernel{sgemmGeneric} }
