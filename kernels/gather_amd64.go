//go:build amd64 && !purego

package kernels

import "unsafe"

// The assembly reads gather entries at fixed offsets.
var _ [80 - unsafe.Sizeof(gatherEntry{})]struct{}
var _ [unsafe.Sizeof(gatherEntry{}) - 80]struct{}

// hasGatherKernels reports whether gather programs can run.
func hasGatherKernels() bool { return hasAVX512 }

// gatherRows runs tap tap of the program for nimg images: image i's
// outputs go to dst[i·dstImg:] from the plane src[i·srcImg:] (see
// gatherRowsAvx512). The planes hold hw inputs and the outputs ohw.
func (gp *gatherProg) gatherRows(dst, src []float32, tap, nimg, srcImg, dstImg, hw, ohw int) {
	if nimg < 1 {
		return
	}
	_, _ = src[(nimg-1)*srcImg+hw-1], dst[(nimg-1)*dstImg+ohw-1]
	gatherRowsAvx512(&dst[0], &src[0], &gp.ent[tap*gp.nv], gp.nv, nimg, 4*srcImg, 4*dstImg, 4*gp.lanes)
}

// poolPlanes pools planes planes of hw values into planes of ohw with
// the vector-major program of taps taps; div holds the divisors of
// average pooling (nv·lanes values).
func (gp *gatherProg) poolPlanes(dst, src []float32, taps, planes, hw, ohw int, div []float32, isMax bool) {
	if planes < 1 {
		return
	}
	_, _, _ = src[planes*hw-1], dst[planes*ohw-1], gp.ent[gp.nv*taps-1]
	m := 0
	var dp *float32
	if isMax {
		m = 1
	} else {
		_ = div[gp.lanes*gp.nv-1]
		dp = &div[0]
	}
	poolAvx512(&dst[0], &src[0], &gp.ent[0], gp.nv, taps, planes, 4*hw, 4*ohw, dp, m, 4*gp.lanes)
}
