//go:build amd64 && !purego

#include "textflag.h"

// AVX2 loops of the int8 depthwise convolution and requantisation, for
// CPUs without AVX-512 (which use the kernels in vec_amd64.s). Each
// handles n/8·8 elements; the Go callers finish the tail.

// func dwRow3Avx2(acc, a, b, c *float32, w *float32, n int)
// acc[i] += w[0]·a[i] + w[1]·b[i] + w[2]·c[i]
TEXT ·dwRow3Avx2(SB), NOSPLIT, $0-48
	MOVQ acc+0(FP), DI
	MOVQ a+8(FP), AX
	MOVQ b+16(FP), BX
	MOVQ c+24(FP), DX
	MOVQ w+32(FP), SI
	MOVQ n+40(FP), CX
	VBROADCASTSS 0(SI), Y13
	VBROADCASTSS 4(SI), Y14
	VBROADCASTSS 8(SI), Y15
	XORQ R8, R8
dw16:
	LEAQ 16(R8), R9
	CMPQ R9, CX
	JGT dw8
	VMOVUPS (DI)(R8*4), Y0
	VMOVUPS 32(DI)(R8*4), Y1
	VFMADD231PS (AX)(R8*4), Y13, Y0
	VFMADD231PS 32(AX)(R8*4), Y13, Y1
	VFMADD231PS (BX)(R8*4), Y14, Y0
	VFMADD231PS 32(BX)(R8*4), Y14, Y1
	VFMADD231PS (DX)(R8*4), Y15, Y0
	VFMADD231PS 32(DX)(R8*4), Y15, Y1
	VMOVUPS Y0, (DI)(R8*4)
	VMOVUPS Y1, 32(DI)(R8*4)
	MOVQ R9, R8
	JMP dw16
dw8:
	LEAQ 8(R8), R9
	CMPQ R9, CX
	JGT dwdone
	VMOVUPS (DI)(R8*4), Y0
	VFMADD231PS (AX)(R8*4), Y13, Y0
	VFMADD231PS (BX)(R8*4), Y14, Y0
	VFMADD231PS (DX)(R8*4), Y15, Y0
	VMOVUPS Y0, (DI)(R8*4)
dwdone:
	VZEROUPPER
	RET

// func q8ToF32Avx2(dst *float32, src *byte, n int, zero float32, signed bool)
// dst[i] = float32(src[i]) − zero, src holding int8 values when signed.
TEXT ·q8ToF32Avx2(SB), NOSPLIT, $0-29
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS zero+24(FP), Y15
	MOVBLZX signed+28(FP), AX
	XORQ R8, R8
	TESTQ AX, AX
	JNZ cs8
cu8:
	LEAQ 8(R8), R9
	CMPQ R9, CX
	JGT cdone
	VPMOVZXBD (SI)(R8*1), Y0
	VCVTDQ2PS Y0, Y0
	VSUBPS Y15, Y0, Y0
	VMOVUPS Y0, (DI)(R8*4)
	MOVQ R9, R8
	JMP cu8
cs8:
	LEAQ 8(R8), R9
	CMPQ R9, CX
	JGT cdone
	VPMOVSXBD (SI)(R8*1), Y0
	VCVTDQ2PS Y0, Y0
	VSUBPS Y15, Y0, Y0
	VMOVUPS Y0, (DI)(R8*4)
	MOVQ R9, R8
	JMP cs8
cdone:
	VZEROUPPER
	RET

// func requantF32Avx2(dst *byte, src *float32, n int, bias, scale float32, zero, lo, hi int32)
// dst[i] = byte(clamp(roundEven((src[i]+bias)·scale) + zero, lo, hi)).
TEXT ·requantF32Avx2(SB), NOSPLIT, $0-44
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS bias+24(FP), Y11
	VBROADCASTSS scale+28(FP), Y12
	MOVL zero+32(FP), AX
	VMOVD AX, X13
	VPBROADCASTD X13, Y13
	MOVL lo+36(FP), AX
	VMOVD AX, X14
	VPBROADCASTD X14, Y14
	MOVL hi+40(FP), AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15
	MOVL lo+36(FP), AX
	XORQ R8, R8
	TESTL AX, AX
	JS rfs8
rfu8:
	LEAQ 8(R8), R9
	CMPQ R9, CX
	JGT rfdone
	VADDPS (SI)(R8*4), Y11, Y0
	VMULPS Y12, Y0, Y0
	VCVTPS2DQ Y0, Y0
	VPADDD Y13, Y0, Y0
	VPMAXSD Y14, Y0, Y0
	VPMINSD Y15, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPACKSSDW X1, X0, X0
	VPACKUSWB X0, X0, X0
	MOVQ X0, (DI)(R8*1)
	MOVQ R9, R8
	JMP rfu8
rfs8:
	LEAQ 8(R8), R9
	CMPQ R9, CX
	JGT rfdone
	VADDPS (SI)(R8*4), Y11, Y0
	VMULPS Y12, Y0, Y0
	VCVTPS2DQ Y0, Y0
	VPADDD Y13, Y0, Y0
	VPMAXSD Y14, Y0, Y0
	VPMINSD Y15, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPACKSSDW X1, X0, X0
	VPACKSSWB X0, X0, X0
	MOVQ X0, (DI)(R8*1)
	MOVQ R9, R8
	JMP rfs8
rfdone:
	VZEROUPPER
	RET

// func requantAvx2(dst *byte, src *int32, n int, bias int32, scale float32, zero, lo, hi int32)
// dst[i] = byte(clamp(roundEven(float32(src[i]+bias)·scale) + zero, lo, hi)).
TEXT ·requantAvx2(SB), NOSPLIT, $0-44
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVL bias+24(FP), AX
	VMOVD AX, X11
	VPBROADCASTD X11, Y11
	VBROADCASTSS scale+28(FP), Y12
	MOVL zero+32(FP), AX
	VMOVD AX, X13
	VPBROADCASTD X13, Y13
	MOVL lo+36(FP), AX
	VMOVD AX, X14
	VPBROADCASTD X14, Y14
	MOVL hi+40(FP), AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15
	MOVL lo+36(FP), AX
	XORQ R8, R8
	TESTL AX, AX
	JS riS8
riU8:
	LEAQ 8(R8), R9
	CMPQ R9, CX
	JGT ridone
	VPADDD (SI)(R8*4), Y11, Y0
	VCVTDQ2PS Y0, Y0
	VMULPS Y12, Y0, Y0
	VCVTPS2DQ Y0, Y0
	VPADDD Y13, Y0, Y0
	VPMAXSD Y14, Y0, Y0
	VPMINSD Y15, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPACKSSDW X1, X0, X0
	VPACKUSWB X0, X0, X0
	MOVQ X0, (DI)(R8*1)
	MOVQ R9, R8
	JMP riU8
riS8:
	LEAQ 8(R8), R9
	CMPQ R9, CX
	JGT ridone
	VPADDD (SI)(R8*4), Y11, Y0
	VCVTDQ2PS Y0, Y0
	VMULPS Y12, Y0, Y0
	VCVTPS2DQ Y0, Y0
	VPADDD Y13, Y0, Y0
	VPMAXSD Y14, Y0, Y0
	VPMINSD Y15, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPACKSSDW X1, X0, X0
	VPACKSSWB X0, X0, X0
	MOVQ X0, (DI)(R8*1)
	MOVQ R9, R8
	JMP riS8
ridone:
	VZEROUPPER
	RET

// func quantF32Avx2(dst *byte, src *float32, n int, scale float32, zero, lo, hi int32)
// dst[i] = byte(clamp(roundEven(src[i]/scale) + zero, lo, hi)).
TEXT ·quantF32Avx2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS scale+24(FP), Y12
	MOVL zero+28(FP), AX
	VMOVD AX, X13
	VPBROADCASTD X13, Y13
	MOVL lo+32(FP), AX
	VMOVD AX, X14
	VPBROADCASTD X14, Y14
	MOVL hi+36(FP), AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15
	MOVL lo+32(FP), AX
	XORQ R8, R8
	TESTL AX, AX
	JS qfs8
qfu8:
	LEAQ 8(R8), R9
	CMPQ R9, CX
	JGT qfdone
	VMOVUPS (SI)(R8*4), Y0
	VDIVPS Y12, Y0, Y0
	VCVTPS2DQ Y0, Y0
	VPADDD Y13, Y0, Y0
	VPMAXSD Y14, Y0, Y0
	VPMINSD Y15, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPACKSSDW X1, X0, X0
	VPACKUSWB X0, X0, X0
	MOVQ X0, (DI)(R8*1)
	MOVQ R9, R8
	JMP qfu8
qfs8:
	LEAQ 8(R8), R9
	CMPQ R9, CX
	JGT qfdone
	VMOVUPS (SI)(R8*4), Y0
	VDIVPS Y12, Y0, Y0
	VCVTPS2DQ Y0, Y0
	VPADDD Y13, Y0, Y0
	VPMAXSD Y14, Y0, Y0
	VPMINSD Y15, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPACKSSDW X1, X0, X0
	VPACKSSWB X0, X0, X0
	MOVQ X0, (DI)(R8*1)
	MOVQ R9, R8
	JMP qfs8
qfdone:
	VZEROUPPER
	RET

// func deint2Avx2(even, odd, src *float32, n int)
// even[i] = src[2i], odd[i] = src[2i+1] for i < n (a multiple of 8).
TEXT ·deint2Avx2(SB), NOSPLIT, $0-32
	MOVQ even+0(FP), DI
	MOVQ odd+8(FP), DX
	MOVQ src+16(FP), SI
	MOVQ n+24(FP), CX
	XORQ R8, R8
di8:
	CMPQ R8, CX
	JGE didone
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VSHUFPS $0x88, Y1, Y0, Y2
	VSHUFPS $0xDD, Y1, Y0, Y3
	VPERMPD $0xD8, Y2, Y2
	VPERMPD $0xD8, Y3, Y3
	VMOVUPS Y2, (DI)(R8*4)
	VMOVUPS Y3, (DX)(R8*4)
	ADDQ $64, SI
	ADDQ $8, R8
	JMP di8
didone:
	VZEROUPPER
	RET

// func pack16PairsAvx2(dst *int16, r0, r1 *byte, zero int32, signed bool)
// For c < 16: dst[2c] = r0[c] − zero, dst[2c+1] = r1[c] − zero, the
// bytes read as int8 when signed, uint8 otherwise.
TEXT ·pack16PairsAvx2(SB), NOSPLIT, $0-29
	MOVQ dst+0(FP), DI
	MOVQ r0+8(FP), SI
	MOVQ r1+16(FP), DX
	MOVL zero+24(FP), AX
	VMOVD AX, X15
	VPBROADCASTW X15, Y15
	MOVBLZX signed+28(FP), AX
	TESTQ AX, AX
	JNZ p16s
	VPMOVZXBW (SI), Y0
	VPMOVZXBW (DX), Y1
	JMP p16go
p16s:
	VPMOVSXBW (SI), Y0
	VPMOVSXBW (DX), Y1
p16go:
	VPSUBW Y15, Y0, Y0
	VPSUBW Y15, Y1, Y1
	VPUNPCKLWD Y1, Y0, Y2
	VPUNPCKHWD Y1, Y0, Y3
	VPERM2I128 $0x20, Y3, Y2, Y4
	VPERM2I128 $0x31, Y3, Y2, Y5
	VMOVDQU Y4, (DI)
	VMOVDQU Y5, 32(DI)
	VZEROUPPER
	RET

// func dequantAvx2(dst *float32, src *byte, n int, zero int32, scale float32, signed bool)
// dst[i] = float32(src[i] − zero)·scale for i < n/8·8, src holding int8
// values when signed: the product rounds once, as Dequantize8's.
TEXT ·dequantAvx2(SB), NOSPLIT, $0-33
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVL zero+24(FP), AX
	VMOVD AX, X14
	VPBROADCASTD X14, Y14
	VBROADCASTSS scale+28(FP), Y15
	MOVBLZX signed+32(FP), AX
	XORQ R8, R8
	TESTQ AX, AX
	JNZ dqs8
dqu8:
	LEAQ 8(R8), R9
	CMPQ R9, CX
	JGT dqdone
	VPMOVZXBD (SI)(R8*1), Y0
	VPSUBD Y14, Y0, Y0
	VCVTDQ2PS Y0, Y0
	VMULPS Y15, Y0, Y0
	VMOVUPS Y0, (DI)(R8*4)
	MOVQ R9, R8
	JMP dqu8
dqs8:
	LEAQ 8(R8), R9
	CMPQ R9, CX
	JGT dqdone
	VPMOVSXBD (SI)(R8*1), Y0
	VPSUBD Y14, Y0, Y0
	VCVTDQ2PS Y0, Y0
	VMULPS Y15, Y0, Y0
	VMOVUPS Y0, (DI)(R8*4)
	MOVQ R9, R8
	JMP dqs8
dqdone:
	VZEROUPPER
	RET
