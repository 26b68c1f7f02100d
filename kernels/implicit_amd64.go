//go:build amd64 && !purego

package kernels

// hasIndirectKernels reports whether the indirect-B micro-kernels run
// here (they are AVX-512 only, and need the AVX-512 tile shape).
func hasIndirectKernels() bool { return hasAVX512 && sk == sgemmAvx512 }

// hasImplicitKernels reports whether tileIndirect runs here: the AVX-512
// kernels, or the AVX2 ones (full 16-column tiles only).
func hasImplicitKernels() bool {
	return hasIndirectKernels() || hasAVX2FMA && sk == sgemmAvx2
}

// sgemmMR512 is the row count of the AVX-512 tile, whose packed A panels
// the kernels read whole.
const sgemmMR512 = 6

// sgemmMR256 is the row count of the AVX2 tile.
const sgemmMR256 = 6

// tileIndirect computes the mr×nr tile c = Ap·B (+ c when flags has
// sgemmLoadC), row k of B being the nr floats at b[offs[k]/4:], then
// the epilogue when flags has sgemmEpilogue (bias[0:mr], lo, hi).
//
// The AVX2 kernels compute full 16-column tiles only, but any number of
// them side by side in one call: nr must be a multiple of 16.
func tileIndirect(mr, nr, kc int, a, b []float32, offs []int64, c []float32, ldc, flags int, bias *float32, lo, hi float32) {
	if sk == sgemmAvx2 {
		if nr%16 != 0 {
			panic("kernels: tileIndirect: partial AVX2 tile")
		}
		_, _, _ = a[sgemmMR256*kc-1], b[offs[kc-1]/4+int64(nr)-1], c[(mr-1)*ldc+nr-1]
		sgemmAvx2IKernels[mr-1](kc, &a[0], &b[0], &offs[0], &c[0], ldc*4, 1, 1, nr/16, flags, bias, lo, hi)
		return
	}
	nv := (nr + 15) >> 4
	mask := uint64(1)<<(nr-(nv-1)*16) - 1
	_, _, _ = a[sgemmMR512*kc-1], b[offs[kc-1]/4+int64(nr)-1], c[(mr-1)*ldc+nr-1]
	sgemmAvx512IKernels[mr-1][nv-1](kc, &a[0], &b[0], &offs[0], &c[0], ldc*4, 1, 1, mask, flags, bias, lo, hi)
}

// packPanels packs the len(desc) panels of the transposed implicit
// im2col rows offs (see packPanelsAvx512) into dst.
func packPanels(dst, src []float32, offs []int64, desc []gatherEntry) {
	kc, np := len(offs), len(desc)
	if kc == 0 || np == 0 {
		return
	}
	_ = dst[np*kc*6-1]
	packPanelsAvx512(&dst[0], &src[0], &offs[0], kc, &desc[0], np)
}
