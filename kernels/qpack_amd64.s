//go:build amd64 && !purego

#include "textflag.h"

// func qpackB64Vnni(dst, src *byte, ld, groups int, flip uint64, colsum *int32)
//
// Packs groups×4 rows of 64 bytes (row r at src + r·ld) into the int8 B
// panel layout: for each group, for each of the 64 columns, the column's
// four bytes XOR flip (256 bytes per group). Adds each column's four
// packed values, as signed bytes, to colsum[0:64].
TEXT ·qpackB64Vnni(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), R8
	MOVQ groups+24(FP), CX
	MOVQ flip+32(FP), AX
	VPBROADCASTB AX, Z20
	MOVQ colsum+40(FP), R9
	MOVL $0x01010101, AX
	VPBROADCASTD AX, Z21
	VMOVDQU32 (R9), Z16
	VMOVDQU32 64(R9), Z17
	VMOVDQU32 128(R9), Z18
	VMOVDQU32 192(R9), Z19
	LEAQ (R8)(R8*2), R10
	TESTQ CX, CX
	JZ done

loop:
	VPXORD (SI), Z20, Z0
	VPXORD (SI)(R8*1), Z20, Z1
	VPXORD (SI)(R8*2), Z20, Z2
	VPXORD (SI)(R10*1), Z20, Z3
	// Interleave bytes of rows 0/1 and 2/3, then words: within each
	// 128-bit lane L, Z8..Z11 hold columns 16L+0..3, 4..7, 8..11, 12..15
	// as four consecutive bytes each.
	VPUNPCKLBW Z1, Z0, Z4
	VPUNPCKHBW Z1, Z0, Z5
	VPUNPCKLBW Z3, Z2, Z6
	VPUNPCKHBW Z3, Z2, Z7
	VPUNPCKLWD Z6, Z4, Z8
	VPUNPCKHWD Z6, Z4, Z9
	VPUNPCKLWD Z7, Z5, Z10
	VPUNPCKHWD Z7, Z5, Z11
	// Transpose the 4×4 grid of lanes so output q holds columns
	// 16q..16q+15 in order.
	VSHUFI32X4 $0x44, Z9, Z8, Z12
	VSHUFI32X4 $0xEE, Z9, Z8, Z13
	VSHUFI32X4 $0x44, Z11, Z10, Z14
	VSHUFI32X4 $0xEE, Z11, Z10, Z15
	VSHUFI32X4 $0x88, Z14, Z12, Z0
	VSHUFI32X4 $0xDD, Z14, Z12, Z1
	VSHUFI32X4 $0x88, Z15, Z13, Z2
	VSHUFI32X4 $0xDD, Z15, Z13, Z3
	VMOVDQU32 Z0, (DI)
	VMOVDQU32 Z1, 64(DI)
	VMOVDQU32 Z2, 128(DI)
	VMOVDQU32 Z3, 192(DI)
	// Column sums: ones (unsigned) · packed bytes (signed), four per lane.
	VPDPBUSD Z0, Z21, Z16
	VPDPBUSD Z1, Z21, Z17
	VPDPBUSD Z2, Z21, Z18
	VPDPBUSD Z3, Z21, Z19
	LEAQ (SI)(R8*4), SI
	ADDQ $256, DI
	DECQ CX
	JNZ loop

done:
	VMOVDQU32 Z16, (R9)
	VMOVDQU32 Z17, 64(R9)
	VMOVDQU32 Z18, 128(R9)
	VMOVDQU32 Z19, 192(R9)
	VZEROUPPER
	RET
