//go:build amd64 && !purego

#include "textflag.h"

// func q8ToI16RowsAvx2(dst *int16, dstStride int, src *byte, n, rows int, zero int32, signed bool)
// dst[r·dstStride/2 + j] = int16(src[r·n + j]) − zero for r < rows,
// j < n, src holding int8 values when signed: the rows of a plane
// widened into a padded buffer in one call.
TEXT ·q8ToI16RowsAvx2(SB), NOSPLIT, $0-45
	MOVQ dst+0(FP), DI
	MOVQ dstStride+8(FP), R10
	MOVQ src+16(FP), SI
	MOVQ n+24(FP), CX
	MOVQ rows+32(FP), DX
	MOVL zero+40(FP), BX
	MOVQ BX, X15
	VPBROADCASTW X15, Y15
	MOVBLZX signed+44(FP), AX
	TESTQ DX, DX
	JEQ w16done
	TESTQ AX, AX
	JNZ ws8row

wu8row:
	XORQ R8, R8
wu816:
	LEAQ 16(R8), R9
	CMPQ R9, CX
	JGT wu8tail
	VPMOVZXBW (SI)(R8*1), Y0
	VPSUBW Y15, Y0, Y0
	VMOVDQU Y0, (DI)(R8*2)
	MOVQ R9, R8
	JMP wu816
wu8tail:
	CMPQ R8, CX
	JGE wu8next
	// The last 16 (or 8) columns again, overlapping converted ones with
	// the same values; scalar only for rows narrower than 8.
	CMPQ CX, $16
	JLT wu8t8
	LEAQ -16(CX), R8
	VPMOVZXBW (SI)(R8*1), Y0
	VPSUBW Y15, Y0, Y0
	VMOVDQU Y0, (DI)(R8*2)
	JMP wu8next
wu8t8:
	CMPQ CX, $8
	JLT wu8t1
	VPMOVZXBW (SI), X0
	VPSUBW X15, X0, X0
	VMOVDQU X0, (DI)
	LEAQ -8(CX), R8
	VPMOVZXBW (SI)(R8*1), X0
	VPSUBW X15, X0, X0
	VMOVDQU X0, (DI)(R8*2)
	JMP wu8next
wu8t1:
	CMPQ R8, CX
	JGE wu8next
	MOVBLZX (SI)(R8*1), AX
	SUBL BX, AX
	MOVW AX, (DI)(R8*2)
	INCQ R8
	JMP wu8t1
wu8next:
	ADDQ CX, SI
	ADDQ R10, DI
	DECQ DX
	JNZ wu8row
	JMP w16done

ws8row:
	XORQ R8, R8
ws816:
	LEAQ 16(R8), R9
	CMPQ R9, CX
	JGT ws8tail
	VPMOVSXBW (SI)(R8*1), Y0
	VPSUBW Y15, Y0, Y0
	VMOVDQU Y0, (DI)(R8*2)
	MOVQ R9, R8
	JMP ws816
ws8tail:
	CMPQ R8, CX
	JGE ws8next
	// The last 16 (or 8) columns again, overlapping converted ones with
	// the same values; scalar only for rows narrower than 8.
	CMPQ CX, $16
	JLT ws8t8
	LEAQ -16(CX), R8
	VPMOVSXBW (SI)(R8*1), Y0
	VPSUBW Y15, Y0, Y0
	VMOVDQU Y0, (DI)(R8*2)
	JMP ws8next
ws8t8:
	CMPQ CX, $8
	JLT ws8t1
	VPMOVSXBW (SI), X0
	VPSUBW X15, X0, X0
	VMOVDQU X0, (DI)
	LEAQ -8(CX), R8
	VPMOVSXBW (SI)(R8*1), X0
	VPSUBW X15, X0, X0
	VMOVDQU X0, (DI)(R8*2)
	JMP ws8next
ws8t1:
	CMPQ R8, CX
	JGE ws8next
	MOVBLSX (SI)(R8*1), AX
	SUBL BX, AX
	MOVW AX, (DI)(R8*2)
	INCQ R8
	JMP ws8t1
ws8next:
	ADDQ CX, SI
	ADDQ R10, DI
	DECQ DX
	JNZ ws8row
	JMP w16done
w16done:
	VZEROUPPER
	RET

// func qdw3S2RowAvx2(dst *byte, in *int16, w *[6]int32, c *[8][8]int32, n, rows, rowStride, dstStride int, bias, scale float32)
// Stride 2 on int16 rows (qdw3S2Rows): for rows rows and j < n (a
// multiple of 8), output row i reads input rows 2i, 2i+1 and 2i+2
// (rowStride bytes apart): s = Σ_kh VPMADDWD(row[2j..], w[kh]) +
// VPMADDWD(row[2j+2..], w[3+kh]), the pairs (kw 0, kw 1) and (kw 2, 0)
// of kernel row kh, exact in int32; then dst[j] = clamp(cvt((float32(s)
// + bias)·scale) + zero, lo, hi) as in qdw3RowAvx2.
TEXT ·qdw3S2RowAvx2(SB), NOSPLIT, $0-72
	MOVQ dst+0(FP), DI
	MOVQ in+8(FP), SI
	MOVQ w+16(FP), R15
	MOVQ c+24(FP), R12
	MOVQ n+32(FP), CX
	MOVQ rows+40(FP), R14
	MOVQ rowStride+48(FP), R10
	MOVQ dstStride+56(FP), R9
	VPBROADCASTD 0(R15), Y7
	VPBROADCASTD 4(R15), Y8
	VPBROADCASTD 8(R15), Y9
	VPBROADCASTD 12(R15), Y10
	VPBROADCASTD 16(R15), Y11
	VPBROADCASTD 20(R15), Y12
	VBROADCASTSS bias+64(FP), Y13
	VBROADCASTSS scale+68(FP), Y14
	LEAQ (SI)(R10*1), BX
	LEAQ (BX)(R10*1), DX
	SHLQ $1, R10
s2rows:
	TESTQ R14, R14
	JEQ s2done
	XORQ R8, R8
s2loop:
	CMPQ R8, CX
	JGE s2next
	VPMADDWD 0(SI)(R8*4), Y7, Y0
	VPMADDWD 0(BX)(R8*4), Y8, Y1
	VPMADDWD 0(DX)(R8*4), Y9, Y2
	VPMADDWD 4(SI)(R8*4), Y10, Y3
	VPMADDWD 4(BX)(R8*4), Y11, Y4
	VPMADDWD 4(DX)(R8*4), Y12, Y5
	VPADDD Y1, Y0, Y0
	VPADDD Y3, Y2, Y2
	VPADDD Y5, Y4, Y4
	VPADDD Y2, Y0, Y0
	VPADDD Y4, Y0, Y0
	VCVTDQ2PS Y0, Y0
	VADDPS Y13, Y0, Y0
	VMULPS Y14, Y0, Y0
	VCVTPS2DQ Y0, Y0
	VPADDD 0(R12), Y0, Y0
	VPMAXSD 32(R12), Y0, Y0
	VPMINSD 64(R12), Y0, Y0
	VPAND 96(R12), Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPACKUSDW X1, X0, X0
	VPACKUSWB X0, X0, X0
	VMOVQ X0, (DI)(R8*1)
	ADDQ $8, R8
	JMP s2loop
s2next:
	ADDQ R10, SI
	ADDQ R10, BX
	ADDQ R10, DX
	ADDQ R9, DI
	DECQ R14
	JMP s2rows
s2done:
	VZEROUPPER
	RET

// func qdw3S1RowAvx2(dst *byte, in *int16, w *[6]int32, c *[8][8]int32, n, rows, rowStride, dstStride int, bias, scale float32)
// Stride 1 on int16 rows (qdw3S1Rows): for rows rows and 16 columns at
// a time (n a multiple of 16), output row i reads input rows i to i+2
// (rowStride bytes apart); the even columns j sum VPMADDWD pairs at
// 2-byte offsets 2j (kw 0, 1) and 2j+4 (kw 2, 0), the odd ones the same
// one value further; the two int32 vectors are requantised together as
// in qdw3Pairs1Avx2 (c rows 4-6) and interleaved by c row 7 into 16
// bytes in column order.
TEXT ·qdw3S1RowAvx2(SB), NOSPLIT, $0-72
	MOVQ dst+0(FP), DI
	MOVQ in+8(FP), SI
	MOVQ w+16(FP), R15
	MOVQ c+24(FP), R12
	MOVQ n+32(FP), CX
	MOVQ rows+40(FP), R14
	MOVQ rowStride+48(FP), R10
	MOVQ dstStride+56(FP), R9
	VPBROADCASTD 0(R15), Y7
	VPBROADCASTD 4(R15), Y8
	VPBROADCASTD 8(R15), Y9
	VPBROADCASTD 12(R15), Y10
	VPBROADCASTD 16(R15), Y11
	VPBROADCASTD 20(R15), Y12
	VBROADCASTSS bias+64(FP), Y13
	VBROADCASTSS scale+68(FP), Y14
	LEAQ (SI)(R10*1), BX
	LEAQ (BX)(R10*1), DX
s1rows:
	TESTQ R14, R14
	JEQ s1done
	XORQ R8, R8
s1loop:
	CMPQ R8, CX
	JGE s1next
	VPMADDWD 0(SI)(R8*2), Y7, Y0
	VPMADDWD 0(BX)(R8*2), Y8, Y1
	VPMADDWD 0(DX)(R8*2), Y9, Y2
	VPMADDWD 4(SI)(R8*2), Y10, Y3
	VPMADDWD 4(BX)(R8*2), Y11, Y4
	VPMADDWD 4(DX)(R8*2), Y12, Y5
	VPADDD Y1, Y0, Y0
	VPADDD Y3, Y2, Y2
	VPADDD Y5, Y4, Y4
	VPADDD Y2, Y0, Y0
	VPADDD Y4, Y0, Y0
	VPMADDWD 2(SI)(R8*2), Y7, Y6
	VPMADDWD 2(BX)(R8*2), Y8, Y1
	VPMADDWD 2(DX)(R8*2), Y9, Y2
	VPMADDWD 6(SI)(R8*2), Y10, Y3
	VPMADDWD 6(BX)(R8*2), Y11, Y4
	VPMADDWD 6(DX)(R8*2), Y12, Y5
	VPADDD Y1, Y6, Y6
	VPADDD Y3, Y2, Y2
	VPADDD Y5, Y4, Y4
	VPADDD Y2, Y6, Y6
	VPADDD Y4, Y6, Y6
	VCVTDQ2PS Y0, Y0
	VCVTDQ2PS Y6, Y6
	VADDPS Y13, Y0, Y0
	VADDPS Y13, Y6, Y6
	VMULPS Y14, Y0, Y0
	VMULPS Y14, Y6, Y6
	VCVTPS2DQ Y0, Y0
	VCVTPS2DQ Y6, Y6
	VPACKSSDW Y6, Y0, Y0
	VPADDSW 128(R12), Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPACKUSWB X1, X0, X0
	VPSHUFB 224(R12), X0, X0
	VPMAXUB 160(R12), X0, X0
	VPMINUB 176(R12), X0, X0
	VPXOR 192(R12), X0, X0
	VMOVDQU X0, (DI)(R8*1)
	ADDQ $16, R8
	JMP s1loop
s1next:
	ADDQ R10, SI
	ADDQ R10, BX
	ADDQ R10, DX
	ADDQ R9, DI
	DECQ R14
	JMP s1rows
s1done:
	VZEROUPPER
	RET
