package main

import "fmt"

// q8Args is the Go declaration of the AVX2 u8×s8 int8 kernels: A packed
// as, for each group of 4 k, 4 bytes per row (4·mr bytes, mr = qgemmMR);
// B as, for each group, 4 bytes per column (row stride bstride bytes).
// flags bit 0: add the tile to C instead of storing it; bit 1: first
// subtract the zero-point corrections rowp[i]·colu[j] + rowq[i]·colv[j]
// (see qgemm.go). flags bit 2 (uint8 output) or bit 3 (int8 output):
// subtract the corrections when bit 1 is set, add C when bit 0 is set,
// then requantise
// row i of the tile, clamp((t + bias[i])·scale[i] rounded to even +
// zero, lo, hi) with cst holding eight int32 copies each of zero, lo
// and hi, then 32 bytes of lo and of hi, and store it as 16 bytes at
// out (row stride ldo bytes); C is not written. The kernel computes
// panels tiles in a row: after each, b, c, out and colu/colv (when not
// nil) advance to the next 16 columns (b by kg·64 bytes, the B panels'
// size).
const q8Args = "(kg int, a, b *byte, bstride int, c *int32, ldc int, flags int, rowp, rowq, colu, colv *int32, bias *int32, scale *float32, out *byte, ldo int, cst *int32, panels int)"

// q8Variants names the two operand orders: in "As" A holds the signed
// bytes (weights of a convolution) and B the unsigned ones; in "Bs" the
// other way round (weights of a MatMul).
var q8Variants = []string{"As", "Bs"}

func genQ8(a *asm) {
	a.p("")
	a.p("// q8ones holds sixteen int16 ones, the VPMADDWD factor that widens")
	a.p("// pairs of int16 into int32 sums.")
	for o := 0; o < 32; o += 8 {
		a.p("DATA ·q8ones+%d(SB)/8, $0x0001000100010001", o)
	}
	a.p("GLOBL ·q8ones(SB), RODATA|NOPTR, $32")
	for o := 0; o < 16; o += 8 {
		a.p("DATA ·q8ones8+%d(SB)/8, $0x0101010101010101", o)
	}
	a.p("GLOBL ·q8ones8(SB), RODATA|NOPTR, $16")
	q8Pack(a)
	q8PackPanels(a)
	q8MaxBytes(a)
	for _, v := range q8Variants {
		for m := 1; m <= qgemmMR; m++ {
			q8Kernel(a, v, m, 2)
			q8Kernel(a, v, m, 1)
		}
	}
}

// q8Kernel emits an AVX2 kernel for a full m×16 int32 tile over groups of
// four k: VPMADDUBSW multiplies unsigned by signed bytes and adds adjacent
// pairs into int16 with signed saturation, VPMADDWD by ones adds the two
// int16 of each int32 lane, VPADDD accumulates. It is exact when the
// signed bytes lie in [-64, 64]: a pair sum is at most 2·255·64 = 32640
// in magnitude, below the int16 saturation bound. The callers check that
// bound once when the weights are packed.
//
// Registers: accumulators Y0..Y(2m-1), B vectors Y12 and Y13, the
// broadcast A group in Y14, products in Y15; the ones from memory.
//
// With nv = 1 the kernel (named with an H suffix) computes the left half
// of the tile, 8 columns, for partial panels of at most 8 columns (the
// last of a 7×7 plane's 49 columns).
func q8Kernel(a *asm, variant string, m, nv int) {
	acc := func(i, v int) string { return fmt.Sprintf("Y%d", 2*i+v) }
	name := fmt.Sprintf("q8%sM%d", variant, m)
	if nv == 1 {
		name += "H"
	}
	a.p("")
	a.p("// func %s%s", name, q8Args)
	a.p("TEXT ·%s(SB), NOSPLIT, $0-136", name)
	a.p("q%sstart:", name)
	a.i("MOVQ kg+0(FP), CX")
	a.i("MOVQ a+8(FP), SI")
	a.i("MOVQ b+16(FP), DX")
	a.i("MOVQ bstride+24(FP), R8")
	a.i("MOVQ c+32(FP), DI")
	a.i("MOVQ ldc+40(FP), R9")
	// Requantising tiles start their sums at the bias (the epilogue
	// then adds nothing before converting); the others at zero.
	a.i("MOVQ flags+48(FP), AX")
	a.i("TESTQ $12, AX")
	a.i("JZ q%szero", name)
	a.i("MOVQ bias+88(FP), R10")
	for i := 0; i < m; i++ {
		for v := 0; v < nv; v++ {
			a.i("VPBROADCASTD %d(R10), %s", 4*i, acc(i, v))
		}
	}
	a.i("JMP q%sinit", name)
	a.p("q%szero:", name)
	for i := 0; i < m; i++ {
		for v := 0; v < nv; v++ {
			a.i("VPXOR %s, %s, %s", acc(i, v), acc(i, v), acc(i, v))
		}
	}
	a.p("q%sinit:", name)
	body := func() {
		a.i("VMOVDQU (DX), Y12")
		if nv == 2 {
			a.i("VMOVDQU 32(DX), Y13")
		}
		for i := 0; i < m; i++ {
			a.i("VPBROADCASTD %d(SI), Y14", 4*i)
			for v := 0; v < nv; v++ {
				// Go operand order: signed source first, then unsigned.
				if variant == "As" {
					a.i("VPMADDUBSW Y14, Y%d, Y15", 12+v)
				} else {
					a.i("VPMADDUBSW Y%d, Y14, Y15", 12+v)
				}
				a.i("VPMADDWD ·q8ones(SB), Y15, Y15")
				a.i("VPADDD Y15, %s, %s", acc(i, v), acc(i, v))
			}
		}
		a.i("ADDQ $%d, SI", 4*qgemmMR)
		a.i("ADDQ R8, DX")
	}
	unrolledLoop(a, "q"+name, 4, body)
	a.i("MOVQ flags+48(FP), AX")
	a.i("MOVQ rowp+56(FP), R10")
	a.i("MOVQ rowq+64(FP), R11")
	a.i("MOVQ colu+72(FP), R12")
	a.i("MOVQ colv+80(FP), R13")
	label := "q" + name
	epi := func(loadC, correct bool) {
		for i := 0; i < m; i++ {
			if correct {
				a.i("VPBROADCASTD %d(R10), Y12", 4*i)
				a.i("VPBROADCASTD %d(R11), Y13", 4*i)
			}
			for v := 0; v < nv; v++ {
				if correct {
					a.i("VPMULLD %d(R12), Y12, Y14", 32*v)
					a.i("VPMULLD %d(R13), Y13, Y15", 32*v)
					a.i("VPSUBD Y14, %s, %s", acc(i, v), acc(i, v))
					a.i("VPSUBD Y15, %s, %s", acc(i, v), acc(i, v))
				}
				if loadC {
					a.i("VPADDD %d(DI), %s, %s", 32*v, acc(i, v), acc(i, v))
				}
				a.i("VMOVDQU %s, %d(DI)", acc(i, v), 32*v)
			}
			if i < m-1 {
				a.i("ADDQ R9, DI")
			}
		}
		a.i("JMP q%snext", name)
	}
	// Requantising epilogues (the sums already hold the bias): scale in
	// DX, out in R8, ldo in CX, the zero/lo/hi vectors at BX (all free
	// after the loop).
	epiRq := func(loadC, s8, correct bool) {
		for i := 0; i < m; i++ {
			if correct {
				a.i("VPBROADCASTD %d(R10), Y12", 4*i)
				a.i("VPBROADCASTD %d(R11), Y13", 4*i)
			}
			for v := 0; v < nv; v++ {
				if correct {
					a.i("VPMULLD %d(R12), Y12, Y14", 32*v)
					a.i("VPMULLD %d(R13), Y13, Y15", 32*v)
					a.i("VPSUBD Y14, %s, %s", acc(i, v), acc(i, v))
					a.i("VPSUBD Y15, %s, %s", acc(i, v), acc(i, v))
				}
				if loadC {
					a.i("VPADDD %d(DI), %s, %s", 32*v, acc(i, v), acc(i, v))
				}
			}
			a.i("VBROADCASTSS %d(DX), Y13", 4*i)
			for v := 0; v < nv; v++ {
				r := acc(i, v)
				a.i("VCVTDQ2PS %s, %s", r, r)
				a.i("VMULPS Y13, %s, %s", r, r)
				a.i("VCVTPS2DQ %s, %s", r, r)
				a.i("VPADDD (BX), %s, %s", r, r)
			}
			// Columns 0-3, 8-11 | 4-7, 12-15 as int16, put in order, then
			// the two halves packed into 16 bytes with saturation, then
			// clamped to [lo, hi] (the same as clamping the int32s:
			// [lo, hi] lies within both saturation ranges).
			if nv == 1 {
				// Columns 0-7 as int16, then bytes.
				a.i("VEXTRACTI128 $1, %s, X15", acc(i, 0))
				a.i("VPACKSSDW X15, X%d, X14", 2*i)
				a.i("VMOVDQA X14, X15")
			} else {
				a.i("VPACKSSDW %s, %s, Y14", acc(i, 1), acc(i, 0))
				a.i("VPERMQ $0xD8, Y14, Y14")
				a.i("VEXTRACTI128 $1, Y14, X15")
			}
			if s8 {
				a.i("VPACKSSWB X15, X14, X14")
				a.i("VPMAXSB 96(BX), X14, X14")
				a.i("VPMINSB 128(BX), X14, X14")
			} else {
				a.i("VPACKUSWB X15, X14, X14")
				a.i("VPMAXUB 96(BX), X14, X14")
				a.i("VPMINUB 128(BX), X14, X14")
			}
			if nv == 1 {
				a.i("MOVQ X14, (R8)")
			} else {
				a.i("VMOVDQU X14, (R8)")
			}
			if i < m-1 {
				if loadC {
					a.i("ADDQ R9, DI")
				}
				a.i("ADDQ CX, R8")
			}
		}
		a.i("JMP q%snext", name)
	}
	a.i("TESTQ $12, AX")
	a.i("JZ %splain", label)
	a.i("MOVQ scale+96(FP), DX")
	a.i("MOVQ out+104(FP), R8")
	a.i("MOVQ ldo+112(FP), CX")
	a.i("MOVQ cst+120(FP), BX")
	for _, correct := range []bool{true, false} {
		c := "n"
		if correct {
			c = "c"
			a.i("TESTQ $2, AX")
			a.i("JZ %srqn", label)
		} else {
			a.p("%srqn:", label)
		}
		a.i("TESTQ $1, AX")
		a.i("JZ %srq%sstore", label, c)
		a.i("TESTQ $8, AX")
		a.i("JNZ %srq%sloads8", label, c)
		epiRq(true, false, correct)
		a.p("%srq%sloads8:", label, c)
		epiRq(true, true, correct)
		a.p("%srq%sstore:", label, c)
		a.i("TESTQ $8, AX")
		a.i("JNZ %srq%sstores8", label, c)
		epiRq(false, false, correct)
		a.p("%srq%sstores8:", label, c)
		epiRq(false, true, correct)
	}
	a.p("%splain:", label)
	a.i("TESTQ $2, AX")
	a.i("JNZ %scorr", label)
	a.i("TESTQ $1, AX")
	a.i("JZ %sstore", label)
	epi(true, false)
	a.p("%sstore:", label)
	epi(false, false)
	a.p("%scorr:", label)
	a.i("TESTQ $1, AX")
	a.i("JZ %scorrstore", label)
	epi(true, true)
	a.p("%scorrstore:", label)
	epi(false, true)
	// Next panel: advance the pointer arguments (within their slices:
	// only while panels remain) and start over.
	a.p("q%snext:", name)
	a.i("MOVQ panels+128(FP), AX")
	a.i("DECQ AX")
	a.i("JLE q%sexit", name)
	a.i("MOVQ AX, panels+128(FP)")
	a.i("MOVQ kg+0(FP), AX")
	a.i("SHLQ $6, AX")
	a.i("ADDQ AX, b+16(FP)")
	a.i("ADDQ $64, c+32(FP)")
	for _, arg := range []string{"colu+72(FP)", "colv+80(FP)"} {
		a.i("MOVQ %s, AX", arg)
		a.i("TESTQ AX, AX")
		a.i("JZ 3(PC)")
		a.i("ADDQ $64, AX")
		a.i("MOVQ AX, %s", arg)
	}
	a.i("MOVQ out+104(FP), AX")
	a.i("TESTQ AX, AX")
	a.i("JZ 3(PC)")
	a.i("ADDQ $16, AX")
	a.i("MOVQ AX, out+104(FP)")
	a.i("JMP q%sstart", name)
	a.p("q%sexit:", name)
	a.i("VZEROUPPER")
	a.i("RET")
}

// q8PackArgs is the Go declaration of q8PackU8x16.
const q8PackArgs = "(dst, src *byte, ld, groups int, flip uint64, colsum *int32)"

// q8Pack emits q8PackU8x16, which packs groups of four rows (stride ld
// bytes) × 16 columns of bytes into the q8 B layout (four bytes per
// column, 64 bytes per group), XORing each byte with flip, and adds each
// column's unsigned packed values to colsum[0:16] unless colsum is nil.
//
// Registers: rows X0..X3, interleaving X4..X7, column sums X8..X11, the
// flip byte X12, byte ones X14, int16 ones X15.
func q8Pack(a *asm) {
	a.p("")
	a.p("// func q8PackU8x16%s", q8PackArgs)
	a.p("TEXT ·q8PackU8x16(SB), NOSPLIT, $0-48")
	a.i("MOVQ dst+0(FP), DI")
	a.i("MOVQ src+8(FP), SI")
	a.i("MOVQ ld+16(FP), R8")
	a.i("MOVQ groups+24(FP), CX")
	a.i("MOVQ flip+32(FP), AX")
	a.i("MOVQ colsum+40(FP), DX")
	a.i("VMOVQ AX, X12")
	a.i("VPBROADCASTB X12, X12")
	a.i("VMOVDQU ·q8ones8(SB), X14")
	a.i("VMOVDQU ·q8ones(SB), X15")
	for r := 8; r < 12; r++ {
		a.i("VPXOR X%d, X%d, X%d", r, r, r)
	}
	a.i("LEAQ (R8)(R8*2), R9")
	a.i("TESTQ CX, CX")
	a.i("JZ q8packdone")
	a.i("TESTQ DX, DX")
	a.i("JZ q8packnosum")
	a.p("q8packloop:")
	a.i("VMOVDQU (SI), X0")
	a.i("VMOVDQU (SI)(R8*1), X1")
	a.i("VMOVDQU (SI)(R8*2), X2")
	a.i("VMOVDQU (SI)(R9*1), X3")
	for r := 0; r < 4; r++ {
		a.i("VPXOR X12, X%d, X%d", r, r)
	}
	// Bytes of rows 0,1 and 2,3 interleaved, then words: four bytes
	// (rows 0..3) per column.
	a.i("VPUNPCKLBW X1, X0, X4")
	a.i("VPUNPCKHBW X1, X0, X5")
	a.i("VPUNPCKLBW X3, X2, X6")
	a.i("VPUNPCKHBW X3, X2, X7")
	a.i("VPUNPCKLWD X6, X4, X0")
	a.i("VPUNPCKHWD X6, X4, X1")
	a.i("VPUNPCKLWD X7, X5, X2")
	a.i("VPUNPCKHWD X7, X5, X3")
	for r := 0; r < 4; r++ {
		a.i("VMOVDQU X%d, %d(DI)", r, 16*r)
		a.i("VPMADDUBSW X14, X%d, X%d", r, 4+r)
		a.i("VPMADDWD X15, X%d, X%d", 4+r, 4+r)
		a.i("VPADDD X%d, X%d, X%d", 4+r, 8+r, 8+r)
	}
	a.i("LEAQ (SI)(R8*4), SI")
	a.i("ADDQ $64, DI")
	a.i("DECQ CX")
	a.i("JNZ q8packloop")
	for r := 0; r < 4; r++ {
		a.i("VPADDD %d(DX), X%d, X%d", 16*r, 8+r, 8+r)
		a.i("VMOVDQU X%d, %d(DX)", 8+r, 16*r)
	}
	a.p("q8packdone:")
	a.i("RET")
	// The same interleave without the column sums.
	a.p("q8packnosum:")
	a.i("VMOVDQU (SI), X0")
	a.i("VMOVDQU (SI)(R8*1), X1")
	a.i("VMOVDQU (SI)(R8*2), X2")
	a.i("VMOVDQU (SI)(R9*1), X3")
	for r := 0; r < 4; r++ {
		a.i("VPXOR X12, X%d, X%d", r, r)
	}
	a.i("VPUNPCKLBW X1, X0, X4")
	a.i("VPUNPCKHBW X1, X0, X5")
	a.i("VPUNPCKLBW X3, X2, X6")
	a.i("VPUNPCKHBW X3, X2, X7")
	a.i("VPUNPCKLWD X6, X4, X0")
	a.i("VPUNPCKHWD X6, X4, X1")
	a.i("VPUNPCKLWD X7, X5, X2")
	a.i("VPUNPCKHWD X7, X5, X3")
	for r := 0; r < 4; r++ {
		a.i("VMOVDQU X%d, %d(DI)", r, 16*r)
	}
	a.i("LEAQ (SI)(R8*4), SI")
	a.i("ADDQ $64, DI")
	a.i("DECQ CX")
	a.i("JNZ q8packnosum")
	a.i("RET")
}

// q8PackPanelsArgs is the Go declaration of q8PackPanels.
const q8PackPanelsArgs = "(dst, src *byte, ld, panels, dstStride int, flip uint64, colsum *int32)"

// q8PackPanels emits q8PackPanels, q8PackU8x16 for one group of four
// rows across several panels: panel p packs columns [16p, 16p+16) of
// the rows (stride ld) into dst + p·dstStride and adds its column sums
// to colsum[16p:16p+16] unless colsum is nil. One call packs a group of
// an im2col block.
func q8PackPanels(a *asm) {
	a.p("")
	a.p("// func q8PackPanels%s", q8PackPanelsArgs)
	a.p("TEXT ·q8PackPanels(SB), NOSPLIT, $0-56")
	a.i("MOVQ dst+0(FP), DI")
	a.i("MOVQ src+8(FP), SI")
	a.i("MOVQ ld+16(FP), R8")
	a.i("MOVQ panels+24(FP), CX")
	a.i("MOVQ dstStride+32(FP), R10")
	a.i("MOVQ flip+40(FP), AX")
	a.i("MOVQ colsum+48(FP), DX")
	a.i("VMOVQ AX, X12")
	a.i("VPBROADCASTB X12, X12")
	a.i("VMOVDQU ·q8ones8(SB), X14")
	a.i("VMOVDQU ·q8ones(SB), X15")
	a.i("LEAQ (R8)(R8*2), R9")
	a.i("TESTQ CX, CX")
	a.i("JZ q8ppdone")
	a.p("q8pploop:")
	a.i("VMOVDQU (SI), X0")
	a.i("VMOVDQU (SI)(R8*1), X1")
	a.i("VMOVDQU (SI)(R8*2), X2")
	a.i("VMOVDQU (SI)(R9*1), X3")
	for r := 0; r < 4; r++ {
		a.i("VPXOR X12, X%d, X%d", r, r)
	}
	a.i("VPUNPCKLBW X1, X0, X4")
	a.i("VPUNPCKHBW X1, X0, X5")
	a.i("VPUNPCKLBW X3, X2, X6")
	a.i("VPUNPCKHBW X3, X2, X7")
	a.i("VPUNPCKLWD X6, X4, X0")
	a.i("VPUNPCKHWD X6, X4, X1")
	a.i("VPUNPCKLWD X7, X5, X2")
	a.i("VPUNPCKHWD X7, X5, X3")
	for r := 0; r < 4; r++ {
		a.i("VMOVDQU X%d, %d(DI)", r, 16*r)
	}
	a.i("TESTQ DX, DX")
	a.i("JZ q8ppnext")
	for r := 0; r < 4; r++ {
		a.i("VPMADDUBSW X14, X%d, X%d", r, 4+r)
		a.i("VPMADDWD X15, X%d, X%d", 4+r, 4+r)
		a.i("VPADDD %d(DX), X%d, X%d", 16*r, 4+r, 4+r)
		a.i("VMOVDQU X%d, %d(DX)", 4+r, 16*r)
	}
	a.i("ADDQ $64, DX")
	a.p("q8ppnext:")
	a.i("ADDQ $16, SI")
	a.i("ADDQ R10, DI")
	a.i("DECQ CX")
	a.i("JNZ q8pploop")
	a.p("q8ppdone:")
	a.i("RET")
}

// q8MaxBytes emits q8MaxBytes(dst, src *byte, n int, signed bool),
// dst[i] = max(dst[i], src[i]) for i < n (a multiple of 16), as uint8
// or int8 values: the rows of an 8-bit MaxPool.
func q8MaxBytes(a *asm) {
	a.p("")
	a.p("// func q8MaxBytes(dst, src *byte, n int, signed bool)")
	a.p("TEXT ·q8MaxBytes(SB), NOSPLIT, $0-25")
	a.i("MOVQ dst+0(FP), DI")
	a.i("MOVQ src+8(FP), SI")
	a.i("MOVQ n+16(FP), CX")
	a.i("MOVBLZX signed+24(FP), AX")
	a.i("MOVQ CX, DX")
	a.i("SHRQ $5, CX")
	a.i("TESTQ AX, AX")
	a.i("JNZ q8mxs")
	for _, v := range []struct{ label, op string }{{"q8mxu", "VPMAXUB"}, {"q8mxs", "VPMAXSB"}} {
		if v.label == "q8mxs" {
			a.p("q8mxs:")
		}
		a.i("TESTQ CX, CX")
		a.i("JZ %shalf", v.label)
		a.p("%sloop:", v.label)
		a.i("VMOVDQU (SI), Y0")
		a.i("%s (DI), Y0, Y0", v.op)
		a.i("VMOVDQU Y0, (DI)")
		a.i("ADDQ $32, SI")
		a.i("ADDQ $32, DI")
		a.i("DECQ CX")
		a.i("JNZ %sloop", v.label)
		a.p("%shalf:", v.label)
		a.i("TESTQ $16, DX")
		a.i("JZ q8mxdone")
		a.i("VMOVDQU (SI), X0")
		a.i("%s (DI), X0, X0", v.op)
		a.i("VMOVDQU X0, (DI)")
		a.i("JMP q8mxdone")
	}
	a.p("q8mxdone:")
	a.i("VZEROUPPER")
	a.i("RET")
}

func genQ8Decl(a *asm) {
	a.p("")
	a.p("//go:noescape")
	a.p("func q8MaxBytes(dst, src *byte, n int, signed bool)")
	a.p("")
	a.p("//go:noescape")
	a.p("func q8PackPanels%s", q8PackPanelsArgs)
	a.p("")
	a.p("//go:noescape")
	a.p("func q8PackU8x16%s", q8PackArgs)
	for _, v := range q8Variants {
		for _, h := range []string{"", "H"} {
			a.p("")
			if h == "" {
				a.p("// q8%sKernels[m-1] computes a full m×16 int32 tile (see q8_amd64.s).", v)
			} else {
				a.p("// q8%sKernelsH[m-1] computes the left m×8 half of a tile.", v)
			}
			a.p("var q8%sKernels%s = [%d]func%s{", v, h, qgemmMR, q8Args)
			for m := 1; m <= qgemmMR; m++ {
				fmt.Fprintf(&a.buf, "q8%sM%d%s, ", v, m, h)
			}
			a.p("}")
			for m := 1; m <= qgemmMR; m++ {
				a.p("")
				a.p("//go:noescape")
				a.p("func q8%sM%d%s%s", v, m, h, q8Args)
			}
		}
	}
}
