//go:build !amd64 || purego

package kernels

// dwkAsm reports whether a k×k depthwise kernel can run: never without
// assembly (depthwisePlane does the work).
func dwkAsm() bool { return false }

var dwkNoAVX512 bool

func dwkCall(out, in *float32, rows, cols, inRow, outRow int, offs *int64, ntaps int, w *float32, bias, lo, hi float32) {
	panic("kernels: k×k depthwise kernel without assembly")
}

func dw3rCall(out, in *float32, rows, vecs, inRow, outRow int, coff *int64, w *float32, bias, lo, hi float32, s int) bool {
	return false
}

func dwc8Asm() bool { return false }

func dwc8Avx2(out, in *float32, cols, pixStep int, offs *int64, ntaps int, w, bias *float32, lo, hi float32) {
	panic("kernels: interleaved depthwise kernel without assembly")
}

func dwkHasAVX512() bool { return false }

func splitPairs(first, second, src []float32) { splitPairsGo(first, second, src) }

func splitPairRows(first, second, src []float32, n, rows, srcRow, dstRow int) bool { return false }

// maxPool2x2Row does nothing without assembly (the portable loop does
// every output).
func maxPool2x2Row(yr, x0, x1 []float32) int { return 0 }
