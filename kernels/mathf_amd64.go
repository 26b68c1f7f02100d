//go:build amd64 && !purego

package kernels

//go:noescape
func expAvx512(dst, src *float32, n int)

//go:noescape
func erfAvx512(dst, src *float32, n int)

//go:noescape
func tanhAvx512(dst, src *float32, n int)

//go:noescape
func sigmoidAvx512(dst, src *float32, n int)

//go:noescape
func geluAvx512(dst, src *float32, n int)

//go:noescape
func geluTanhAvx512(dst, src *float32, n int)

var mathfAvx512 = [...]func(dst, src *float32, n int){
	mathfExp:      expAvx512,
	mathfErf:      erfAvx512,
	mathfTanh:     tanhAvx512,
	mathfSigmoid:  sigmoidAvx512,
	mathfGelu:     geluAvx512,
	mathfGeluTanh: geluTanhAvx512,
}

// mathfAsm computes function f of dst = f(src) in assembly when the CPU
// allows, reporting whether it did; len(dst) == len(src).
func mathfAsm(f int, dst, src []float32) bool {
	if !hasAVX512 || len(src) == 0 {
		return false
	}
	mathfAvx512[f](&dst[0], &src[0], len(src))
	return true
}
