package main

// genConvTranspose emits ctInterleave2Avx2(dst, a, c *float32, n int,
// bias float32): dst[2j] = a[j] + bias, dst[2j+1] = c[j] + bias for j < n,
// n a multiple of 8. It writes the rows of a 2-wide stride-2 transposed
// convolution (the detector's 2×2 upsampling) from the products of its
// two kernel columns.
func genConvTranspose(a *asm) {
	a.p("")
	a.p("// func ctInterleave2Avx2(dst, a, c *float32, n int, bias float32)")
	a.p("TEXT ·ctInterleave2Avx2(SB), NOSPLIT, $0-36")
	a.i("MOVQ dst+0(FP), DI")
	a.i("MOVQ a+8(FP), SI")
	a.i("MOVQ c+16(FP), DX")
	a.i("MOVQ n+24(FP), CX")
	a.i("VBROADCASTSS bias+32(FP), Y7")
	a.i("TESTQ CX, CX")
	a.i("JZ ctInterleave2done")
	a.p("ctInterleave2loop:")
	a.i("VADDPS (SI), Y7, Y0")
	a.i("VADDPS (DX), Y7, Y1")
	// Per 128-bit lane [a0 c0 a1 c1] and [a2 c2 a3 c3], then the lanes
	// put in order.
	a.i("VUNPCKLPS Y1, Y0, Y2")
	a.i("VUNPCKHPS Y1, Y0, Y3")
	a.i("VPERM2F128 $0x20, Y3, Y2, Y4")
	a.i("VPERM2F128 $0x31, Y3, Y2, Y5")
	a.i("VMOVUPS Y4, (DI)")
	a.i("VMOVUPS Y5, 32(DI)")
	a.i("ADDQ $32, SI")
	a.i("ADDQ $32, DX")
	a.i("ADDQ $64, DI")
	a.i("SUBQ $8, CX")
	a.i("JNZ ctInterleave2loop")
	a.p("ctInterleave2done:")
	a.i("VZEROUPPER")
	a.i("RET")
}

func genConvTransposeDecl(a *asm) {
	a.p("")
	a.p("//go:noescape")
	a.p("func ctInterleave2Avx2(dst, a, c *float32, n int, bias float32)")
}
