//go:build amd64 && !purego

package kernels

// qgemmVnni uses 6×64 int32 tiles with VPDPBUSD.
var qgemmVnni = &qgemmKernel{
	name: "vnni",
	mr:   6, nr: 64,
	kc: 1024, mc: 120, nc: 512,
	kunit: 4, corrected: true,
	packA:  packQA,
	packB:  packQB,
	packIm: (*qim2col).pack,
	tile:   tileQVnni,
}

// qgemmAvx2 uses 6×16 int32 tiles with VPMADDWD on int16 pairs.
var qgemmAvx2 = &qgemmKernel{
	name: "avx2",
	mr:   6, nr: 16,
	kc: 512, mc: 120, nc: 512,
	kunit:  2,
	packA:  packQA16,
	packB:  packQB16,
	packIm: (*qim2col).pack16,
	tile:   tileQAvx2,
}

func init() {
	switch {
	case hasAVX512VNNI:
		qk = qgemmVnni
	case hasAVX2FMA:
		qk = qgemmAvx2
	}
}

// availableQKernels lists the int8 kernels this CPU can run.
func availableQKernels() []*qgemmKernel {
	var ks []*qgemmKernel
	if hasAVX512VNNI {
		ks = append(ks, qgemmVnni)
	}
	if hasAVX2FMA {
		ks = append(ks, qgemmAvx2)
	}
	return ks
}

func tileQAvx2(mr, nr, kp int, a, b []byte, c []int32, ldc int, loadC bool, _ *qCorr) {
	_, _ = a[kp*4*6-1], b[kp*4*16-1]
	flags := 0
	if loadC {
		flags = 1
	}
	if nr == 16 {
		_ = c[(mr-1)*ldc+15]
		qgemmAvx2Kernels[mr-1](kp, &a[0], &b[0], 4*16, &c[0], ldc*4, flags)
		return
	}
	// Partial tile: B is zero-padded to 16 columns; compute the whole
	// tile into scratch and merge the valid part.
	var t [6 * 16]int32
	qgemmAvx2Kernels[mr-1](kp, &a[0], &b[0], 4*16, &t[0], 16*4, 0)
	for i := 0; i < mr; i++ {
		row := c[i*ldc : i*ldc+nr]
		for j := range row {
			if loadC {
				row[j] += t[i*16+j]
			} else {
				row[j] = t[i*16+j]
			}
		}
	}
}

func tileQVnni(mr, nr, kg int, a, b []byte, c []int32, ldc int, loadC bool, corr *qCorr) {
	nv := (nr + 15) >> 4
	mask := uint64(1)<<(nr-(nv-1)*16) - 1
	flags := 0
	if loadC {
		flags |= 1
	}
	if corr != nil {
		flags |= 2
	}
	rp, rq, cu, cv := corr.ptrs(mr, nv*16)
	_ = a[kg*4*6-1]
	qgemmVnniKernels[mr-1][nv-1](kg, &a[0], &b[0], 4*64, &c[0], ldc*4, mask, flags, rp, rq, cu, cv)
}

//go:noescape
func qpackB64Vnni(dst, src *byte, ld, groups int, flip uint64, colsum *int32)

// qpackFull packs kg full groups of four rows × 64 columns of src (row
// stride ld) with qpackB64Vnni; it reports false when there is no
// assembly for it.
func qpackFull(dst, src []byte, ld, kg int, flip byte, colsum []int32) bool {
	if !hasAVX512VNNI {
		return false
	}
	if kg > 0 {
		_, _ = dst[kg*256-1], src[(4*kg-1)*ld+63]
		_ = colsum[63]
		qpackB64Vnni(&dst[0], &src[0], ld, kg, uint64(flip), &colsum[0])
	}
	return true
}
