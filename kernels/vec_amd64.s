//go:build amd64 && !purego

#include "textflag.h"

// Vector loops for the direct (depthwise) convolution and pooling. Each
// processes n elements with full ZMM vectors and finishes with one
// masked vector, so it never touches memory past the last element.

// func axpyAvx512(a float32, x, y *float32, n int)
// y[i] += a*x[i] for i < n.
TEXT ·axpyAvx512(SB), NOSPLIT, $0-32
	VBROADCASTSS a+0(FP), Z0
	MOVQ x+8(FP), SI
	MOVQ y+16(FP), DI
	MOVQ n+24(FP), CX
axpy64:
	CMPQ CX, $64
	JLT axpy16
	VMOVUPS (DI), Z1
	VMOVUPS 64(DI), Z2
	VMOVUPS 128(DI), Z3
	VMOVUPS 192(DI), Z4
	VFMADD231PS (SI), Z0, Z1
	VFMADD231PS 64(SI), Z0, Z2
	VFMADD231PS 128(SI), Z0, Z3
	VFMADD231PS 192(SI), Z0, Z4
	VMOVUPS Z1, (DI)
	VMOVUPS Z2, 64(DI)
	VMOVUPS Z3, 128(DI)
	VMOVUPS Z4, 192(DI)
	ADDQ $256, SI
	ADDQ $256, DI
	SUBQ $64, CX
	JMP axpy64
axpy16:
	CMPQ CX, $16
	JLT axpytail
	VMOVUPS (DI), Z1
	VFMADD231PS (SI), Z0, Z1
	VMOVUPS Z1, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP axpy16
axpytail:
	TESTQ CX, CX
	JZ axpydone
	MOVQ $1, AX
	SHLQ CX, AX
	DECQ AX
	KMOVW AX, K1
	VMOVUPS.Z (DI), K1, Z1
	VMOVUPS.Z (SI), K1, Z2
	VFMADD231PS Z2, Z0, Z1
	VMOVUPS Z1, K1, (DI)
axpydone:
	VZEROUPPER
	RET

// func axpy2Avx512(a float32, x, y *float32, n int)
// y[i] += a*x[2i] for i < n; reads x[0 : 2n-1].
TEXT ·axpy2Avx512(SB), NOSPLIT, $0-32
	VBROADCASTSS a+0(FP), Z0
	MOVQ x+8(FP), SI
	MOVQ y+16(FP), DI
	MOVQ n+24(FP), CX
	VMOVDQU32 evenIdx<>(SB), Z5
	MOVQ $0x7fff, AX
	KMOVW AX, K2
axpy2_16:
	CMPQ CX, $16
	JLT axpy2tail
	VMOVUPS (SI), Z1
	VMOVUPS.Z 64(SI), K2, Z2
	VPERMT2PS Z2, Z5, Z1
	VMOVUPS (DI), Z3
	VFMADD231PS Z1, Z0, Z3
	VMOVUPS Z3, (DI)
	ADDQ $128, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP axpy2_16
axpy2tail:
	TESTQ CX, CX
	JZ axpy2done
	// r = CX outputs need 2r-1 inputs: the first min(2r-1, 16) from the
	// first vector, the rest from the second.
	MOVQ $1, AX
	SHLQ CX, AX
	DECQ AX
	KMOVW AX, K1
	LEAQ -1(CX)(CX*1), DX
	MOVQ $0xffff, AX
	CMPQ DX, $16
	JGE axpy2hi
	MOVQ $1, AX
	MOVQ DX, CX
	SHLQ CX, AX
	DECQ AX
	XORQ DX, DX
	JMP axpy2masks
axpy2hi:
	SUBQ $16, DX
axpy2masks:
	KMOVW AX, K3
	MOVQ $1, AX
	MOVQ DX, CX
	SHLQ CX, AX
	DECQ AX
	KMOVW AX, K4
	VMOVUPS.Z (SI), K3, Z1
	VMOVUPS.Z 64(SI), K4, Z2
	VPERMT2PS Z2, Z5, Z1
	VMOVUPS.Z (DI), K1, Z3
	VFMADD231PS Z1, Z0, Z3
	VMOVUPS Z3, K1, (DI)
axpy2done:
	VZEROUPPER
	RET

// func vmaxAvx512(x, y *float32, n int)
// y[i] = max(y[i], x[i]) for i < n.
TEXT ·vmaxAvx512(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ n+16(FP), CX
vmax64:
	CMPQ CX, $64
	JLT vmax16
	VMOVUPS (DI), Z1
	VMOVUPS 64(DI), Z2
	VMOVUPS 128(DI), Z3
	VMOVUPS 192(DI), Z4
	VMAXPS (SI), Z1, Z1
	VMAXPS 64(SI), Z2, Z2
	VMAXPS 128(SI), Z3, Z3
	VMAXPS 192(SI), Z4, Z4
	VMOVUPS Z1, (DI)
	VMOVUPS Z2, 64(DI)
	VMOVUPS Z3, 128(DI)
	VMOVUPS Z4, 192(DI)
	ADDQ $256, SI
	ADDQ $256, DI
	SUBQ $64, CX
	JMP vmax64
vmax16:
	CMPQ CX, $16
	JLT vmaxtail
	VMOVUPS (DI), Z1
	VMAXPS (SI), Z1, Z1
	VMOVUPS Z1, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP vmax16
vmaxtail:
	TESTQ CX, CX
	JZ vmaxdone
	MOVQ $1, AX
	SHLQ CX, AX
	DECQ AX
	KMOVW AX, K1
	VMOVUPS.Z (DI), K1, Z1
	VMOVUPS.Z (SI), K1, Z2
	VMAXPS Z2, Z1, Z1
	VMOVUPS Z1, K1, (DI)
vmaxdone:
	VZEROUPPER
	RET

// func vmax2Avx512(x, y *float32, n int)
// y[i] = max(y[i], x[2i]) for i < n; reads x[0 : 2n-1].
TEXT ·vmax2Avx512(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ n+16(FP), CX
	VMOVDQU32 evenIdx<>(SB), Z5
	MOVQ $0x7fff, AX
	KMOVW AX, K2
vmax2_16:
	CMPQ CX, $16
	JLT vmax2tail
	VMOVUPS (SI), Z1
	VMOVUPS.Z 64(SI), K2, Z2
	VPERMT2PS Z2, Z5, Z1
	VMOVUPS (DI), Z3
	VMAXPS Z1, Z3, Z3
	VMOVUPS Z3, (DI)
	ADDQ $128, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP vmax2_16
vmax2tail:
	TESTQ CX, CX
	JZ vmax2done
	// r = CX outputs need 2r-1 inputs: the first min(2r-1, 16) from the
	// first vector, the rest from the second.
	MOVQ $1, AX
	SHLQ CX, AX
	DECQ AX
	KMOVW AX, K1
	LEAQ -1(CX)(CX*1), DX
	MOVQ $0xffff, AX
	CMPQ DX, $16
	JGE vmax2hi
	MOVQ $1, AX
	MOVQ DX, CX
	SHLQ CX, AX
	DECQ AX
	XORQ DX, DX
	JMP vmax2masks
vmax2hi:
	SUBQ $16, DX
vmax2masks:
	KMOVW AX, K3
	MOVQ $1, AX
	MOVQ DX, CX
	SHLQ CX, AX
	DECQ AX
	KMOVW AX, K4
	VMOVUPS.Z (SI), K3, Z1
	VMOVUPS.Z 64(SI), K4, Z2
	VPERMT2PS Z2, Z5, Z1
	VMOVUPS.Z (DI), K1, Z3
	VMAXPS Z1, Z3, Z3
	VMOVUPS Z3, K1, (DI)
vmax2done:
	VZEROUPPER
	RET

// func copy2Avx512(x, y *float32, n int)
// y[i] = x[2i] for i < n; reads x[0 : 2n-1].
TEXT ·copy2Avx512(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ n+16(FP), CX
	VMOVDQU32 evenIdx<>(SB), Z5
	MOVQ $0x7fff, AX
	KMOVW AX, K2
copy2_16:
	CMPQ CX, $16
	JLT copy2tail
	VMOVUPS (SI), Z1
	VMOVUPS.Z 64(SI), K2, Z2
	VPERMT2PS Z2, Z5, Z1
	VMOVUPS Z1, (DI)
	ADDQ $128, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP copy2_16
copy2tail:
	TESTQ CX, CX
	JZ copy2done
	// r = CX outputs need 2r-1 inputs: the first min(2r-1, 16) from the
	// first vector, the rest from the second.
	MOVQ $1, AX
	SHLQ CX, AX
	DECQ AX
	KMOVW AX, K1
	LEAQ -1(CX)(CX*1), DX
	MOVQ $0xffff, AX
	CMPQ DX, $16
	JGE copy2hi
	MOVQ $1, AX
	MOVQ DX, CX
	SHLQ CX, AX
	DECQ AX
	XORQ DX, DX
	JMP copy2masks
copy2hi:
	SUBQ $16, DX
copy2masks:
	KMOVW AX, K3
	MOVQ $1, AX
	MOVQ DX, CX
	SHLQ CX, AX
	DECQ AX
	KMOVW AX, K4
	VMOVUPS.Z (SI), K3, Z1
	VMOVUPS.Z 64(SI), K4, Z2
	VPERMT2PS Z2, Z5, Z1
	VMOVUPS Z1, K1, (DI)
copy2done:
	VZEROUPPER
	RET

DATA evenIdx<>+0(SB)/4, $0
DATA evenIdx<>+4(SB)/4, $2
DATA evenIdx<>+8(SB)/4, $4
DATA evenIdx<>+12(SB)/4, $6
DATA evenIdx<>+16(SB)/4, $8
DATA evenIdx<>+20(SB)/4, $10
DATA evenIdx<>+24(SB)/4, $12
DATA evenIdx<>+28(SB)/4, $14
DATA evenIdx<>+32(SB)/4, $16
DATA evenIdx<>+36(SB)/4, $18
DATA evenIdx<>+40(SB)/4, $20
DATA evenIdx<>+44(SB)/4, $22
DATA evenIdx<>+48(SB)/4, $24
DATA evenIdx<>+52(SB)/4, $26
DATA evenIdx<>+56(SB)/4, $28
DATA evenIdx<>+60(SB)/4, $30
GLOBL evenIdx<>(SB), RODATA|NOPTR, $64

// func biasClampAvx512(x *float32, n int, bias, lo, hi float32)
// x[i] = min(max(x[i] + bias, lo), hi), NaNs kept.
TEXT ·biasClampAvx512(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), CX
	VBROADCASTSS bias+16(FP), Z0
	VBROADCASTSS lo+20(FP), Z1
	VBROADCASTSS hi+24(FP), Z2
clamp32:
	CMPQ CX, $32
	JLT clamp16
	VADDPS (DI), Z0, Z3
	VADDPS 64(DI), Z0, Z4
	VMAXPS Z3, Z1, Z3
	VMAXPS Z4, Z1, Z4
	VMINPS Z3, Z2, Z3
	VMINPS Z4, Z2, Z4
	VMOVUPS Z3, (DI)
	VMOVUPS Z4, 64(DI)
	ADDQ $128, DI
	SUBQ $32, CX
	JMP clamp32
clamp16:
	CMPQ CX, $16
	JLT clamptail
	VADDPS (DI), Z0, Z3
	VMAXPS Z3, Z1, Z3
	VMINPS Z3, Z2, Z3
	VMOVUPS Z3, (DI)
	ADDQ $64, DI
	SUBQ $16, CX
clamptail:
	TESTQ CX, CX
	JZ clampdone
	MOVQ $1, AX
	SHLQ CX, AX
	DECQ AX
	KMOVW AX, K1
	VMOVUPS.Z (DI), K1, Z3
	VADDPS Z3, Z0, Z3
	VMAXPS Z3, Z1, Z3
	VMINPS Z3, Z2, Z3
	VMOVUPS Z3, K1, (DI)
clampdone:
	VZEROUPPER
	RET

// func bytesToF32Avx512(dst *float32, src *byte, n int, flip uint64, sub float32)
// dst[i] = float32(src[i] XOR flip) - sub.
TEXT ·bytesToF32Avx512(SB), NOSPLIT, $0-36
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ flip+24(FP), AX
	VPBROADCASTB AX, X2
	VPMOVZXBD X2, Z2
	VBROADCASTSS sub+32(FP), Z3
b2f16:
	CMPQ CX, $16
	JLT b2ftail
	VPMOVZXBD (SI), Z0
	VPXORD Z2, Z0, Z0
	VCVTDQ2PS Z0, Z0
	VSUBPS Z3, Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ $16, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP b2f16
b2ftail:
	TESTQ CX, CX
	JZ b2fdone
	MOVQ $1, AX
	SHLQ CX, AX
	DECQ AX
	KMOVW AX, K1
	VMOVDQU8.Z (SI), K1, X0
	VPMOVZXBD X0, Z0
	VPXORD Z2, Z0, Z0
	VCVTDQ2PS Z0, Z0
	VSUBPS Z3, Z0, Z0
	VMOVUPS Z0, K1, (DI)
b2fdone:
	VZEROUPPER
	RET

// func f32ToI32Avx512(dst *int32, src *float32, n int)
// dst[i] = src[i] rounded to the nearest integer (exact for integers).
TEXT ·f32ToI32Avx512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
f2i16:
	CMPQ CX, $16
	JLT f2itail
	VCVTPS2DQ (SI), Z0
	VMOVDQU32 Z0, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP f2i16
f2itail:
	TESTQ CX, CX
	JZ f2idone
	MOVQ $1, AX
	SHLQ CX, AX
	DECQ AX
	KMOVW AX, K1
	VMOVUPS.Z (SI), K1, Z1
	VCVTPS2DQ Z1, Z0
	VMOVDQU32 Z0, K1, (DI)
f2idone:
	VZEROUPPER
	RET

// func requantAvx512(dst *byte, src *int32, n int, bias int32, scale float32, zero, lo, hi int32)
// dst[i] = byte(clamp(roundEven(float32(src[i]+bias)·scale) + zero, lo, hi)).
TEXT ·requantAvx512(SB), NOSPLIT, $0-44
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVL bias+24(FP), AX
	VPBROADCASTD AX, Z1
	VBROADCASTSS scale+28(FP), Z2
	MOVL zero+32(FP), AX
	VPBROADCASTD AX, Z3
	MOVL lo+36(FP), AX
	VPBROADCASTD AX, Z4
	MOVL hi+40(FP), AX
	VPBROADCASTD AX, Z5
rq16:
	CMPQ CX, $16
	JLT rqtail
	VPADDD (SI), Z1, Z0
	VCVTDQ2PS Z0, Z0
	VMULPS Z2, Z0, Z0
	VCVTPS2DQ Z0, Z0
	VPADDD Z3, Z0, Z0
	VPMAXSD Z4, Z0, Z0
	VPMINSD Z5, Z0, Z0
	VPMOVDB Z0, (DI)
	ADDQ $64, SI
	ADDQ $16, DI
	SUBQ $16, CX
	JMP rq16
rqtail:
	TESTQ CX, CX
	JZ rqdone
	MOVQ $1, AX
	SHLQ CX, AX
	DECQ AX
	KMOVW AX, K1
	VMOVDQU32.Z (SI), K1, Z0
	VPADDD Z0, Z1, Z0
	VCVTDQ2PS Z0, Z0
	VMULPS Z2, Z0, Z0
	VCVTPS2DQ Z0, Z0
	VPADDD Z3, Z0, Z0
	VPMAXSD Z4, Z0, Z0
	VPMINSD Z5, Z0, Z0
	VPMOVDB Z0, K1, (DI)
rqdone:
	VZEROUPPER
	RET

// func packA6Avx512(dst, src *float32, lda, blocks int)
// Packs 6 rows (row r at src + r·lda bytes) × 8·blocks columns into
// dst[k·6 + r]: an 8×8 transpose per block of eight columns (rows 6 and 7
// zero), each column stored as six floats under mask.
TEXT ·packA6Avx512(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ lda+16(FP), R8
	MOVQ blocks+24(FP), CX
	MOVQ $0x3f, AX
	KMOVW AX, K1
	LEAQ (R8)(R8*2), R9
	LEAQ (SI)(R9*1), R10 // row 3
	VXORPS Y15, Y15, Y15
packa6:
	VMOVUPS (SI), Y0
	VMOVUPS (SI)(R8*1), Y1
	VMOVUPS (SI)(R8*2), Y2
	VMOVUPS (R10), Y3
	VMOVUPS (R10)(R8*1), Y4
	VMOVUPS (R10)(R8*2), Y5
	VUNPCKLPS Y1, Y0, Y6
	VUNPCKHPS Y1, Y0, Y7
	VUNPCKLPS Y3, Y2, Y8
	VUNPCKHPS Y3, Y2, Y9
	VUNPCKLPS Y5, Y4, Y10
	VUNPCKHPS Y5, Y4, Y11
	VSHUFPS $0x44, Y8, Y6, Y0
	VSHUFPS $0xEE, Y8, Y6, Y1
	VSHUFPS $0x44, Y9, Y7, Y2
	VSHUFPS $0xEE, Y9, Y7, Y3
	VSHUFPS $0x44, Y15, Y10, Y4
	VSHUFPS $0xEE, Y15, Y10, Y5
	VSHUFPS $0x44, Y15, Y11, Y12
	VSHUFPS $0xEE, Y15, Y11, Y13
	VPERM2F128 $0x20, Y4, Y0, Y6
	VPERM2F128 $0x20, Y5, Y1, Y7
	VPERM2F128 $0x20, Y12, Y2, Y8
	VPERM2F128 $0x20, Y13, Y3, Y9
	VPERM2F128 $0x31, Y4, Y0, Y10
	VPERM2F128 $0x31, Y5, Y1, Y11
	VPERM2F128 $0x31, Y12, Y2, Y14
	VPERM2F128 $0x31, Y13, Y3, Y4
	VMOVUPS Y6, K1, (DI)
	VMOVUPS Y7, K1, 24(DI)
	VMOVUPS Y8, K1, 48(DI)
	VMOVUPS Y9, K1, 72(DI)
	VMOVUPS Y10, K1, 96(DI)
	VMOVUPS Y11, K1, 120(DI)
	VMOVUPS Y14, K1, 144(DI)
	VMOVUPS Y4, K1, 168(DI)
	ADDQ $32, SI
	ADDQ $32, R10
	ADDQ $192, DI
	DECQ CX
	JNZ packa6
	VZEROUPPER
	RET

// func transpose8Avx2(dst, src *float32, lds, ldd, blocks int)
// For each of blocks blocks of eight columns: transposes the 8×8 block of
// eight rows of src (row r at src + r·lds bytes) so that column k of the
// block lands at dst + k·ldd bytes as eight floats, then moves 8 columns
// right in src and 8 rows down in dst.
TEXT ·transpose8Avx2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ lds+16(FP), R8
	MOVQ ldd+24(FP), R11
	MOVQ blocks+32(FP), CX
	LEAQ (R8)(R8*2), R9
	LEAQ (R11)(R11*2), R12
tr8:
	LEAQ (SI)(R8*4), R10 // row 4
	VMOVUPS (SI), Y0
	VMOVUPS (SI)(R8*1), Y1
	VMOVUPS (SI)(R8*2), Y2
	VMOVUPS (SI)(R9*1), Y3
	VMOVUPS (R10), Y4
	VMOVUPS (R10)(R8*1), Y5
	VMOVUPS (R10)(R8*2), Y6
	VMOVUPS (R10)(R9*1), Y7
	VUNPCKLPS Y1, Y0, Y8
	VUNPCKHPS Y1, Y0, Y9
	VUNPCKLPS Y3, Y2, Y10
	VUNPCKHPS Y3, Y2, Y11
	VUNPCKLPS Y5, Y4, Y12
	VUNPCKHPS Y5, Y4, Y13
	VUNPCKLPS Y7, Y6, Y14
	VUNPCKHPS Y7, Y6, Y15
	VSHUFPS $0x44, Y10, Y8, Y0
	VSHUFPS $0xEE, Y10, Y8, Y1
	VSHUFPS $0x44, Y11, Y9, Y2
	VSHUFPS $0xEE, Y11, Y9, Y3
	VSHUFPS $0x44, Y14, Y12, Y4
	VSHUFPS $0xEE, Y14, Y12, Y5
	VSHUFPS $0x44, Y15, Y13, Y6
	VSHUFPS $0xEE, Y15, Y13, Y7
	VPERM2F128 $0x20, Y4, Y0, Y8
	VPERM2F128 $0x20, Y5, Y1, Y9
	VPERM2F128 $0x20, Y6, Y2, Y10
	VPERM2F128 $0x20, Y7, Y3, Y11
	VPERM2F128 $0x31, Y4, Y0, Y12
	VPERM2F128 $0x31, Y5, Y1, Y13
	VPERM2F128 $0x31, Y6, Y2, Y14
	VPERM2F128 $0x31, Y7, Y3, Y15
	LEAQ (DI)(R11*4), R10 // column 4
	VMOVUPS Y8, (DI)
	VMOVUPS Y9, (DI)(R11*1)
	VMOVUPS Y10, (DI)(R11*2)
	VMOVUPS Y11, (DI)(R12*1)
	VMOVUPS Y12, (R10)
	VMOVUPS Y13, (R10)(R11*1)
	VMOVUPS Y14, (R10)(R11*2)
	VMOVUPS Y15, (R10)(R12*1)
	ADDQ $32, SI
	LEAQ (DI)(R11*8), DI
	DECQ CX
	JNZ tr8
	VZEROUPPER
	RET
