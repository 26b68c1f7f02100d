//go:build !amd64 || purego

package kernels

// mathfAsm reports that no assembly computed f: there is none here.
func mathfAsm(f int, dst, src []float32) bool { return false }
