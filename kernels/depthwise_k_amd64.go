//go:build amd64 && !purego

package kernels

// dwkAsm reports whether a k×k depthwise kernel can run.
func dwkAsm() bool { return hasAVX512 || hasAVX2FMA }

// dwkNoAVX512, set by tests, runs the AVX2 kernel on AVX-512 machines.
var dwkNoAVX512 bool

// dwkCall runs the AVX-512 or the AVX2 k×k kernel (see
// kernels/internal/asmgen/dwk.go).
func dwkCall(out, in *float32, rows, cols, inRow, outRow int, offs *int64, ntaps int, w *float32, bias, lo, hi float32) {
	if hasAVX512 && !dwkNoAVX512 {
		dwkAvx512(out, in, rows, cols, inRow, outRow, offs, ntaps, w, bias, lo, hi)
		return
	}
	dwkAvx2(out, in, rows, cols, inRow, outRow, offs, ntaps, w, bias, lo, hi)
}

// dw3rCall runs the 3×3 sliding-row kernel of vertical stride s (1 or
// 2; see kernels/internal/asmgen/dw3r.go) where the k×k kernel would run
// as AVX2, and reports whether it did: rows must be a multiple of 4,
// coff the first three tap offsets of the k×k kernel's table (the
// column offsets of its first window row), inRow the scratch plane's
// row stride in bytes.
func dw3rCall(out, in *float32, rows, vecs, inRow, outRow int, coff *int64, w *float32, bias, lo, hi float32, s int) bool {
	if hasAVX512 && !dwkNoAVX512 || !hasAVX2FMA {
		return false
	}
	if s == 1 {
		dw3r1Avx2(out, in, rows, vecs, inRow, outRow, coff, w, bias, lo, hi)
	} else {
		dw3r2Avx2(out, in, rows, vecs, inRow, outRow, coff, w, bias, lo, hi)
	}
	return true
}

// dwc8Asm reports whether the channel-interleaved kernel runs (where the
// k×k kernel would run as AVX2).
func dwc8Asm() bool { return hasAVX2FMA && (!hasAVX512 || dwkNoAVX512) }

// dwkHasAVX512 reports whether the AVX-512 kernel runs here.
func dwkHasAVX512() bool { return hasAVX512 }

// splitPairs sets first[k] = src[2k], second[k] = src[2k+1] for k <
// len(src)/2, eight pairs at a time with AVX2.
func splitPairs(first, second, src []float32) {
	n := len(src) / 2
	if hasAVX2FMA && n >= 8 {
		m := n &^ 7
		_, _ = first[m-1], second[m-1]
		dwkSplitAvx2(&first[0], &second[0], &src[0], m)
		first, second, src = first[m:], second[m:], src[2*m:]
	}
	splitPairsGo(first, second, src)
}

// splitPairRows is splitPairs on rows rows (src rows srcRow floats apart,
// first and second rows dstRow apart) in one call, where n pairs a row
// run whole on AVX2 (n a positive multiple of 8); it reports whether it
// ran.
func splitPairRows(first, second, src []float32, n, rows, srcRow, dstRow int) bool {
	if !hasAVX2FMA || n < 8 || n%8 != 0 || rows < 1 {
		return false
	}
	_, _, _ = first[(rows-1)*dstRow+n-1], second[(rows-1)*dstRow+n-1], src[(rows-1)*srcRow+2*n-1]
	dwkSplitRowsAvx2(&first[0], &second[0], &src[0], n, rows, 4*srcRow, 4*dstRow)
	return true
}

// maxPool2x2Row pools the first outputs of yr (a multiple of 8 of them)
// from input rows x0 and x1 with AVX2 and returns how many it did.
func maxPool2x2Row(yr, x0, x1 []float32) int {
	n := len(yr) &^ 7
	if !hasAVX2FMA || n == 0 {
		return 0
	}
	_, _ = x0[2*n-1], x1[2*n-1]
	maxPool2x2Avx2(&yr[0], &x0[0], &x1[0], n)
	return n
}
