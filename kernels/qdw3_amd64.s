//go:build amd64 && !purego

#include "textflag.h"

// func qdw3RowAvx2(dst *byte, taps *[9]*float32, w *[9]float32, c *[8][8]int32, n, rows, tapStride, dstStride int, bias, scale float32)
// For rows rows, each tapStride bytes further along every tap and
// dstStride bytes along dst, and j < n (a multiple of 8): s = Σ_t w[t]·taps[t][j] (three partial sums,
// one per kernel row, added in order; every term is an integer and the
// sums are exact), then dst[j] = clamp(cvt((s + bias)·scale) + zero, lo, hi)
// as a byte, with c = {zero, lo, hi, 0xff} broadcast over 8 lanes.
TEXT ·qdw3RowAvx2(SB), NOSPLIT, $0-72
	MOVQ dst+0(FP), DI
	MOVQ taps+8(FP), R14
	MOVQ w+16(FP), R15
	MOVQ c+24(FP), R12
	MOVQ n+32(FP), CX
	MOVQ 0(R14), AX
	MOVQ 8(R14), BX
	MOVQ 16(R14), DX
	MOVQ 24(R14), SI
	MOVQ 32(R14), R9
	MOVQ 40(R14), R10
	MOVQ 48(R14), R11
	MOVQ 56(R14), R13
	MOVQ 64(R14), R14
	VBROADCASTSS 0(R15), Y7
	VBROADCASTSS 4(R15), Y8
	VBROADCASTSS 8(R15), Y9
	VBROADCASTSS 12(R15), Y10
	VBROADCASTSS 16(R15), Y11
	VBROADCASTSS 20(R15), Y12
	VBROADCASTSS 24(R15), Y13
	VBROADCASTSS 28(R15), Y14
	VBROADCASTSS 32(R15), Y15
	MOVQ rows+40(FP), R15
	VBROADCASTSS bias+64(FP), Y3
	VBROADCASTSS scale+68(FP), Y4
q3rows:
	TESTQ R15, R15
	JEQ q3done
	XORQ R8, R8
q3loop:
	CMPQ R8, CX
	JGE q3next
	VMULPS (AX)(R8*4), Y7, Y0
	VMULPS (SI)(R8*4), Y10, Y1
	VMULPS (R11)(R8*4), Y13, Y2
	VFMADD231PS (BX)(R8*4), Y8, Y0
	VFMADD231PS (R9)(R8*4), Y11, Y1
	VFMADD231PS (R13)(R8*4), Y14, Y2
	VFMADD231PS (DX)(R8*4), Y9, Y0
	VFMADD231PS (R10)(R8*4), Y12, Y1
	VFMADD231PS (R14)(R8*4), Y15, Y2
	VADDPS Y1, Y0, Y0
	VADDPS Y2, Y0, Y0
	VADDPS Y3, Y0, Y0
	VMULPS Y4, Y0, Y0
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
	JMP q3loop
q3next:
	ADDQ tapStride+48(FP), AX
	ADDQ tapStride+48(FP), BX
	ADDQ tapStride+48(FP), DX
	ADDQ tapStride+48(FP), SI
	ADDQ tapStride+48(FP), R9
	ADDQ tapStride+48(FP), R10
	ADDQ tapStride+48(FP), R11
	ADDQ tapStride+48(FP), R13
	ADDQ tapStride+48(FP), R14
	ADDQ dstStride+56(FP), DI
	DECQ R15
	JMP q3rows
q3done:
	VZEROUPPER
	RET

DATA qdw3split<>+0(SB)/8, $0x0e0c0a0806040200
DATA qdw3split<>+8(SB)/8, $0x0f0d0b0907050301
GLOBL qdw3split<>(SB), RODATA|NOPTR, $16

// func splitF32Avx2(even, odd *float32, src *byte, n int, xor uint64, zero float32)
// For k < n/16·8: even[k] = float32(src[2k]^xor) − zero and
// odd[k] = float32(src[2k+1]^xor) − zero (xor is 0 or 0x80 in every byte).
TEXT ·splitF32Avx2(SB), NOSPLIT, $0-44
	MOVQ even+0(FP), DI
	MOVQ odd+8(FP), DX
	MOVQ src+16(FP), SI
	MOVQ n+24(FP), CX
	VMOVQ xor+32(FP), X6
	VPUNPCKLQDQ X6, X6, X6
	VBROADCASTSS zero+40(FP), Y15
	VMOVDQU qdw3split<>(SB), X7
	XORQ R8, R8
	XORQ R10, R10
splloop:
	LEAQ 16(R8), R9
	CMPQ R9, CX
	JGT spldone
	VMOVDQU (SI)(R8*1), X0
	VPXOR X6, X0, X0
	VPSHUFB X7, X0, X0
	VPMOVZXBD X0, Y1
	VPSRLDQ $8, X0, X2
	VPMOVZXBD X2, Y2
	VCVTDQ2PS Y1, Y1
	VCVTDQ2PS Y2, Y2
	VSUBPS Y15, Y1, Y1
	VSUBPS Y15, Y2, Y2
	VMOVUPS Y1, (DI)(R10*4)
	VMOVUPS Y2, (DX)(R10*4)
	ADDQ $8, R10
	MOVQ R9, R8
	JMP splloop
spldone:
	VZEROUPPER
	RET

// func evenBytesAvx2(dst, src *byte, n int)
// dst[i] = src[2i] for i < n/8·8 (src holds 2·(n/8·8) bytes).
TEXT ·evenBytesAvx2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VMOVDQU qdw3split<>(SB), X7
	XORQ R8, R8
evloop:
	LEAQ 8(R8), R9
	CMPQ R9, CX
	JGT evdone
	VMOVDQU (SI)(R8*2), X0
	VPSHUFB X7, X0, X0
	VMOVQ X0, (DI)(R8*1)
	MOVQ R9, R8
	JMP evloop
evdone:
	RET

// func qdw3Pairs1Avx2(dst *byte, rows *[4]*float32, w *[9]float32, c *[8][8]int32, n, pairs, rowStride, dstStride int, bias, scale float32)
// Stride 1, two output rows per pass over four input rows (each loaded
// once for both): for each pair p < pairs, output rows 2p and 2p+1 of
// n columns (a multiple of 8), the input rows rowStride bytes apart and
// the output rows dstStride bytes apart; requantised as in qdw3RowAvx2.
// Columns go from the last chunk down, so that the overrun of the first
// row's last chunk into the second row is overwritten by it.
TEXT ·qdw3Pairs1Avx2(SB), NOSPLIT, $0-72
	MOVQ dst+0(FP), DI
	MOVQ rows+8(FP), R14
	MOVQ w+16(FP), R15
	MOVQ c+24(FP), R12
	MOVQ n+32(FP), CX
	MOVQ dstStride+56(FP), R9
	MOVQ rowStride+48(FP), R10
	SHLQ $1, R10
	MOVQ 0(R14), AX
	MOVQ 8(R14), BX
	MOVQ 16(R14), DX
	MOVQ 24(R14), SI
	VBROADCASTSS 0(R15), Y7
	VBROADCASTSS 4(R15), Y8
	VBROADCASTSS 8(R15), Y9
	VBROADCASTSS 12(R15), Y10
	VBROADCASTSS 16(R15), Y11
	VBROADCASTSS 20(R15), Y12
	VBROADCASTSS 24(R15), Y13
	VBROADCASTSS 28(R15), Y14
	VBROADCASTSS 32(R15), Y15
	MOVQ pairs+40(FP), R15
	VBROADCASTSS bias+64(FP), Y3
	VBROADCASTSS scale+68(FP), Y4
p1rows:
	TESTQ R15, R15
	JEQ p1done
	LEAQ (DI)(R9*1), R11
	MOVQ CX, R8
p1loop:
	SUBQ $8, R8
	JLT p1next
	VMOVUPS 0(AX)(R8*4), Y2
	VMULPS Y2, Y7, Y0
	VMOVUPS 4(AX)(R8*4), Y2
	VFMADD231PS Y2, Y8, Y0
	VMOVUPS 8(AX)(R8*4), Y2
	VFMADD231PS Y2, Y9, Y0
	VMOVUPS 0(BX)(R8*4), Y2
	VFMADD231PS Y2, Y10, Y0
	VMULPS Y2, Y7, Y1
	VMOVUPS 4(BX)(R8*4), Y2
	VFMADD231PS Y2, Y11, Y0
	VFMADD231PS Y2, Y8, Y1
	VMOVUPS 8(BX)(R8*4), Y2
	VFMADD231PS Y2, Y12, Y0
	VFMADD231PS Y2, Y9, Y1
	VMOVUPS 0(DX)(R8*4), Y2
	VMULPS Y2, Y13, Y5
	VFMADD231PS Y2, Y10, Y1
	VMOVUPS 4(DX)(R8*4), Y2
	VFMADD231PS Y2, Y14, Y5
	VFMADD231PS Y2, Y11, Y1
	VMOVUPS 8(DX)(R8*4), Y2
	VFMADD231PS Y2, Y15, Y5
	VFMADD231PS Y2, Y12, Y1
	VMOVUPS 0(SI)(R8*4), Y2
	VMULPS Y2, Y13, Y6
	VMOVUPS 4(SI)(R8*4), Y2
	VFMADD231PS Y2, Y14, Y6
	VMOVUPS 8(SI)(R8*4), Y2
	VFMADD231PS Y2, Y15, Y6
	VADDPS Y5, Y0, Y0
	VADDPS Y6, Y1, Y1
	VADDPS Y3, Y0, Y0
	VADDPS Y3, Y1, Y1
	VMULPS Y4, Y0, Y0
	VMULPS Y4, Y1, Y1
	VCVTPS2DQ Y0, Y0
	VCVTPS2DQ Y1, Y1
	// Both rows at once, saturating: int16 (words r0 0-3, r1 0-3 | r0
	// 4-7, r1 4-7), plus the shifted zero point, bytes, reordered to r0
	// 0-7, r1 0-7, clamped to the shifted range and shifted back (see
	// qdw3Consts): the bytes of the int32 route.
	VPACKSSDW Y1, Y0, Y0
	VPADDSW 128(R12), Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPACKUSWB X1, X0, X0
	VPSHUFB 208(R12), X0, X0
	VPMAXUB 160(R12), X0, X0
	VPMINUB 176(R12), X0, X0
	VPXOR 192(R12), X0, X0
	VMOVQ X0, (DI)(R8*1)
	VMOVHPS X0, (R11)(R8*1)
	JMP p1loop
p1next:
	ADDQ R10, AX
	ADDQ R10, BX
	ADDQ R10, DX
	ADDQ R10, SI
	LEAQ (DI)(R9*2), DI
	DECQ R15
	JMP p1rows
p1done:
	VZEROUPPER
	RET

// func q8ToF32RowsAvx2(dst *float32, dstStride int, src *byte, n, rows int, zero float32, signed bool)
// dst[r·dstStride/4 + j] = float32(src[r·n + j]) − zero for r < rows,
// j < n, src holding int8 values when signed: the rows of a plane
// converted into a padded buffer in one call.
TEXT ·q8ToF32RowsAvx2(SB), NOSPLIT, $0-45
	MOVQ dst+0(FP), DI
	MOVQ dstStride+8(FP), R10
	MOVQ src+16(FP), SI
	MOVQ n+24(FP), CX
	MOVQ rows+32(FP), DX
	VBROADCASTSS zero+40(FP), Y15
	MOVBLZX signed+44(FP), AX
	TESTQ DX, DX
	JEQ crdone
	TESTQ AX, AX
	JNZ crs8row
cru8row:
	XORQ R8, R8
cru8x4:
	LEAQ 32(R8), R9
	CMPQ R9, CX
	JGT cru8
	VPMOVZXBD (SI)(R8*1), Y0
	VPMOVZXBD 8(SI)(R8*1), Y1
	VPMOVZXBD 16(SI)(R8*1), Y2
	VPMOVZXBD 24(SI)(R8*1), Y3
	VCVTDQ2PS Y0, Y0
	VCVTDQ2PS Y1, Y1
	VCVTDQ2PS Y2, Y2
	VCVTDQ2PS Y3, Y3
	VSUBPS Y15, Y0, Y0
	VSUBPS Y15, Y1, Y1
	VSUBPS Y15, Y2, Y2
	VSUBPS Y15, Y3, Y3
	VMOVUPS Y0, (DI)(R8*4)
	VMOVUPS Y1, 32(DI)(R8*4)
	VMOVUPS Y2, 64(DI)(R8*4)
	VMOVUPS Y3, 96(DI)(R8*4)
	MOVQ R9, R8
	JMP cru8x4
cru8:
	LEAQ 8(R8), R9
	CMPQ R9, CX
	JGT cru8tail
	VPMOVZXBD (SI)(R8*1), Y0
	VCVTDQ2PS Y0, Y0
	VSUBPS Y15, Y0, Y0
	VMOVUPS Y0, (DI)(R8*4)
	MOVQ R9, R8
	JMP cru8
cru8tail:
	CMPQ R8, CX
	JGE cru8next
	// The last 8 (or 4) columns again, overlapping converted ones with
	// the same values; scalar only for rows narrower than 4.
	CMPQ CX, $8
	JLT cru8t4
	LEAQ -8(CX), R8
	VPMOVZXBD (SI)(R8*1), Y0
	VCVTDQ2PS Y0, Y0
	VSUBPS Y15, Y0, Y0
	VMOVUPS Y0, (DI)(R8*4)
	JMP cru8next
cru8t4:
	CMPQ CX, $4
	JLT cru8t1
	VPMOVZXBD (SI), X0
	VCVTDQ2PS X0, X0
	VSUBPS X15, X0, X0
	VMOVUPS X0, (DI)
	LEAQ -4(CX), R8
	VPMOVZXBD (SI)(R8*1), X0
	VCVTDQ2PS X0, X0
	VSUBPS X15, X0, X0
	VMOVUPS X0, (DI)(R8*4)
	JMP cru8next
cru8t1:
	CMPQ R8, CX
	JGE cru8next
	MOVBLZX (SI)(R8*1), AX
	VCVTSI2SSL AX, X0, X0
	VSUBSS X15, X0, X0
	VMOVSS X0, (DI)(R8*4)
	INCQ R8
	JMP cru8t1
cru8next:
	ADDQ CX, SI
	ADDQ R10, DI
	DECQ DX
	JNZ cru8row
	JMP crdone
crs8row:
	XORQ R8, R8
crs8x4:
	LEAQ 32(R8), R9
	CMPQ R9, CX
	JGT crs8
	VPMOVSXBD (SI)(R8*1), Y0
	VPMOVSXBD 8(SI)(R8*1), Y1
	VPMOVSXBD 16(SI)(R8*1), Y2
	VPMOVSXBD 24(SI)(R8*1), Y3
	VCVTDQ2PS Y0, Y0
	VCVTDQ2PS Y1, Y1
	VCVTDQ2PS Y2, Y2
	VCVTDQ2PS Y3, Y3
	VSUBPS Y15, Y0, Y0
	VSUBPS Y15, Y1, Y1
	VSUBPS Y15, Y2, Y2
	VSUBPS Y15, Y3, Y3
	VMOVUPS Y0, (DI)(R8*4)
	VMOVUPS Y1, 32(DI)(R8*4)
	VMOVUPS Y2, 64(DI)(R8*4)
	VMOVUPS Y3, 96(DI)(R8*4)
	MOVQ R9, R8
	JMP crs8x4
crs8:
	LEAQ 8(R8), R9
	CMPQ R9, CX
	JGT crs8tail
	VPMOVSXBD (SI)(R8*1), Y0
	VCVTDQ2PS Y0, Y0
	VSUBPS Y15, Y0, Y0
	VMOVUPS Y0, (DI)(R8*4)
	MOVQ R9, R8
	JMP crs8
crs8tail:
	CMPQ R8, CX
	JGE crs8next
	// The last 8 (or 4) columns again, overlapping converted ones with
	// the same values; scalar only for rows narrower than 4.
	CMPQ CX, $8
	JLT crs8t4
	LEAQ -8(CX), R8
	VPMOVSXBD (SI)(R8*1), Y0
	VCVTDQ2PS Y0, Y0
	VSUBPS Y15, Y0, Y0
	VMOVUPS Y0, (DI)(R8*4)
	JMP crs8next
crs8t4:
	CMPQ CX, $4
	JLT crs8t1
	VPMOVSXBD (SI), X0
	VCVTDQ2PS X0, X0
	VSUBPS X15, X0, X0
	VMOVUPS X0, (DI)
	LEAQ -4(CX), R8
	VPMOVSXBD (SI)(R8*1), X0
	VCVTDQ2PS X0, X0
	VSUBPS X15, X0, X0
	VMOVUPS X0, (DI)(R8*4)
	JMP crs8next
crs8t1:
	CMPQ R8, CX
	JGE crs8next
	MOVBLSX (SI)(R8*1), AX
	VCVTSI2SSL AX, X0, X0
	VSUBSS X15, X0, X0
	VMOVSS X0, (DI)(R8*4)
	INCQ R8
	JMP crs8t1
crs8next:
	ADDQ CX, SI
	ADDQ R10, DI
	DECQ DX
	JNZ crs8row
crdone:
	VZEROUPPER
	RET

// func splitF32RowsAvx2(even, odd *float32, stride int, src *byte, n, rows int, xor uint64, zero float32)
// For each of rows rows of n bytes of src (contiguous), the even and
// odd columns converted as in splitF32Avx2, all of them (a tail of n%16
// bytes one by one), into even and odd, which advance by stride bytes
// per row: the rows of a stride-2 plane split into a padded buffer in
// one call.
TEXT ·splitF32RowsAvx2(SB), NOSPLIT, $0-60
	MOVQ even+0(FP), DI
	MOVQ odd+8(FP), DX
	MOVQ stride+16(FP), R11
	MOVQ src+24(FP), SI
	MOVQ n+32(FP), CX
	MOVQ rows+40(FP), R12
	VMOVQ xor+48(FP), X6
	VPUNPCKLQDQ X6, X6, X6
	MOVQ xor+48(FP), R13
	VBROADCASTSS zero+56(FP), Y15
	VMOVDQU qdw3split<>(SB), X7
	TESTQ R12, R12
	JEQ srdone
srrow:
	XORQ R8, R8
	XORQ R10, R10
srloop2:
	LEAQ 32(R8), R9
	CMPQ R9, CX
	JGT srloop
	VMOVDQU (SI)(R8*1), X0
	VMOVDQU 16(SI)(R8*1), X3
	VPXOR X6, X0, X0
	VPXOR X6, X3, X3
	VPSHUFB X7, X0, X0
	VPSHUFB X7, X3, X3
	VPMOVZXBD X0, Y1
	VPSRLDQ $8, X0, X2
	VPMOVZXBD X2, Y2
	VPMOVZXBD X3, Y4
	VPSRLDQ $8, X3, X5
	VPMOVZXBD X5, Y5
	VCVTDQ2PS Y1, Y1
	VCVTDQ2PS Y2, Y2
	VCVTDQ2PS Y4, Y4
	VCVTDQ2PS Y5, Y5
	VSUBPS Y15, Y1, Y1
	VSUBPS Y15, Y2, Y2
	VSUBPS Y15, Y4, Y4
	VSUBPS Y15, Y5, Y5
	VMOVUPS Y1, (DI)(R10*4)
	VMOVUPS Y2, (DX)(R10*4)
	VMOVUPS Y4, 32(DI)(R10*4)
	VMOVUPS Y5, 32(DX)(R10*4)
	ADDQ $16, R10
	MOVQ R9, R8
	JMP srloop2
srloop:
	LEAQ 16(R8), R9
	CMPQ R9, CX
	JGT srtail
	VMOVDQU (SI)(R8*1), X0
	VPXOR X6, X0, X0
	VPSHUFB X7, X0, X0
	VPMOVZXBD X0, Y1
	VPSRLDQ $8, X0, X2
	VPMOVZXBD X2, Y2
	VCVTDQ2PS Y1, Y1
	VCVTDQ2PS Y2, Y2
	VSUBPS Y15, Y1, Y1
	VSUBPS Y15, Y2, Y2
	VMOVUPS Y1, (DI)(R10*4)
	VMOVUPS Y2, (DX)(R10*4)
	ADDQ $8, R10
	MOVQ R9, R8
	JMP srloop
srtail:
	CMPQ R8, CX
	JGE srnext
	// An even row's last 16 (or 8) bytes again, overlapping split ones
	// with the same values (an even start keeps the phases); scalar for
	// odd rows and rows narrower than 8.
	TESTQ $1, CX
	JNZ srt1
	CMPQ CX, $16
	JLT srt8
	LEAQ -16(CX), R8
	MOVQ R8, R10
	SHRQ $1, R10
	VMOVDQU (SI)(R8*1), X0
	VPXOR X6, X0, X0
	VPSHUFB X7, X0, X0
	VPMOVZXBD X0, Y1
	VPSRLDQ $8, X0, X2
	VPMOVZXBD X2, Y2
	VCVTDQ2PS Y1, Y1
	VCVTDQ2PS Y2, Y2
	VSUBPS Y15, Y1, Y1
	VSUBPS Y15, Y2, Y2
	VMOVUPS Y1, (DI)(R10*4)
	VMOVUPS Y2, (DX)(R10*4)
	JMP srnext
srt8:
	CMPQ CX, $8
	JLT srt1
	VMOVQ (SI), X0
	VPXOR X6, X0, X0
	VPSHUFB X7, X0, X0
	VPMOVZXBD X0, X1
	VPSRLDQ $8, X0, X2
	VPMOVZXBD X2, X2
	VCVTDQ2PS X1, X1
	VCVTDQ2PS X2, X2
	VSUBPS X15, X1, X1
	VSUBPS X15, X2, X2
	VMOVUPS X1, (DI)
	VMOVUPS X2, (DX)
	LEAQ -8(CX), R8
	MOVQ R8, R10
	SHRQ $1, R10
	VMOVQ (SI)(R8*1), X0
	VPXOR X6, X0, X0
	VPSHUFB X7, X0, X0
	VPMOVZXBD X0, X1
	VPSRLDQ $8, X0, X2
	VPMOVZXBD X2, X2
	VCVTDQ2PS X1, X1
	VCVTDQ2PS X2, X2
	VSUBPS X15, X1, X1
	VSUBPS X15, X2, X2
	VMOVUPS X1, (DI)(R10*4)
	VMOVUPS X2, (DX)(R10*4)
	JMP srnext
srt1:
	CMPQ R8, CX
	JGE srnext
	MOVBLZX (SI)(R8*1), AX
	XORL R13, AX
	ANDL $0xff, AX
	VCVTSI2SSL AX, X0, X0
	VSUBSS X15, X0, X0
	MOVQ R8, R9
	SHRQ $1, R9
	TESTQ $1, R8
	JNZ srodd
	VMOVSS X0, (DI)(R9*4)
	INCQ R8
	JMP srt1
srodd:
	VMOVSS X0, (DX)(R9*4)
	INCQ R8
	JMP srt1
srnext:
	ADDQ CX, SI
	ADDQ R11, DI
	ADDQ R11, DX
	DECQ R12
	JNZ srrow
srdone:
	VZEROUPPER
	RET
