//go:build amd64 && !purego

#include "textflag.h"

// func qaddAvx2(dst, a, b *byte, n int, aXor, bXor uint64, fa, fb, c, lo, hi float32, aOff, bOff int32)
// For i < n/8·8, with u(x) = (x XOR xor) − off (the int8 or uint8 value
// of byte x): dst[i] = clamp(round_even(fa·u(a[i]) + (fb·u(b[i]) + c)), lo, hi),
// each product and sum rounded to float32 in that order (QAdd's order).
TEXT ·qaddAvx2(SB), NOSPLIT, $0-76
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
	VMOVQ aXor+32(FP), X6
	VMOVQ bXor+40(FP), X7
	VBROADCASTSS fa+48(FP), Y10
	VBROADCASTSS fb+52(FP), Y11
	VBROADCASTSS c+56(FP), Y12
	VBROADCASTSS lo+60(FP), Y13
	VBROADCASTSS hi+64(FP), Y14
	MOVL aOff+68(FP), AX
	VMOVD AX, X8
	VPBROADCASTD X8, Y8
	MOVL bOff+72(FP), AX
	VMOVD AX, X9
	VPBROADCASTD X9, Y9
	MOVL $0xff, AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15
	XORQ R8, R8
qaloop:
	LEAQ 8(R8), R9
	CMPQ R9, CX
	JGT qadone
	VMOVQ (SI)(R8*1), X0
	VMOVQ (DX)(R8*1), X1
	VPXOR X6, X0, X0
	VPXOR X7, X1, X1
	VPMOVZXBD X0, Y0
	VPMOVZXBD X1, Y1
	VPSUBD Y8, Y0, Y0
	VPSUBD Y9, Y1, Y1
	VCVTDQ2PS Y0, Y0
	VCVTDQ2PS Y1, Y1
	VMULPS Y10, Y0, Y0
	VMULPS Y11, Y1, Y1
	VADDPS Y12, Y1, Y1
	VADDPS Y1, Y0, Y0
	VROUNDPS $0, Y0, Y0
	VMAXPS Y13, Y0, Y0
	VMINPS Y14, Y0, Y0
	VCVTTPS2DQ Y0, Y0
	VPAND Y15, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPACKUSDW X1, X0, X0
	VPACKUSWB X0, X0, X0
	VMOVQ X0, (DI)(R8*1)
	MOVQ R9, R8
	JMP qaloop
qadone:
	VZEROUPPER
	RET
