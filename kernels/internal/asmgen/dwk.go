package main

import "fmt"

// dwkArgs is the Go declaration of the k×k depthwise plane kernels.
const dwkArgs = "(out, in *float32, rows, cols, inRow, outRow int, offs *int64, ntaps int, w *float32, bias, lo, hi float32)"

// dwkISA is one instruction set the k×k kernel is emitted for.
type dwkISA struct {
	name  string // function name
	reg   string // vector register prefix
	lanes int    // floats per vector
}

var dwkISAs = []dwkISA{{"dwkAvx512", "Z", 16}, {"dwkAvx2", "Y", 8}}

// genDepthwiseK emits the depthwise kernels for any kernel size, stride
// and dilation, for AVX-512 and AVX2 (package kernels uses them for the
// windows the 3×3 plane kernels of dw.go do not take, and for every
// window where those are missing). They read a padded copy of one input
// plane, laid out so that every tap of a row of outputs is a unit-stride
// run of inputs (for horizontal stride 2 the copy is split into even and
// odd columns), so a tap is one unaligned load per vector of outputs:
//
//	out[r·outRow + j] = min(max((Σ_t w[t]·in[r·inRow + offs[t] + j]) + bias, lo), hi)
//
// for r < rows and j < cols, with inRow, outRow and offs in bytes. Rows
// go in groups (dwkGroups: four at a time, one tap of four rows being
// four independent accumulator chains whatever the width; AVX2 then two
// and one at a time with wider column tiles, so that short planes keep
// four to eight chains), columns in tiles of the group's widths, and the
// last cols mod lanes under a store mask (an opmask, or a lane mask for
// VMASKMOVPS). Loads past the last column read the
// copy's next row or its slack; their lanes are never stored.
//
// The sum runs over the taps in order from zero, each product rounded
// before it is added, and the bias comes last: the same operations as
// the portable row updates (depthwisePlane), so both give the same bits.
//
// Registers: accumulators V0..V7, weight V8, bias V9, lo V10, hi V11,
// AVX2's store mask V12 (AVX-512's K1), products V13..V15. DI and SI the row group's output
// and input, R8 and R9 the column cursors, CX the columns left, R10 and
// R11 the tap offset and weight cursors, R12 the taps left, DX inRow,
// R14 3·inRow, R13 outRow.
func genDepthwiseK(a *asm) {
	for _, isa := range dwkISAs {
		dwkKernel(a, isa)
	}
	genDW3R(a)
	genDWC8(a)
	dwkSplit(a)
	dwkSplitRows(a)
	maxPool2x2(a)
	copyEven(a)
	vmaxRows(a)
	a.p("")
	for i := 0; i < 16; i++ {
		v := 0
		if i < 8 {
			v = -1
		}
		a.p("DATA dwkMask<>+%d(SB)/4, $%d", 4*i, v)
	}
	a.p("GLOBL dwkMask<>(SB), RODATA|NOPTR, $64")
}

func dwkKernel(a *asm, isa dwkISA) {
	name := isa.name
	vb := 4 * isa.lanes // bytes per vector
	v := func(i int) string { return fmt.Sprintf("%s%d", isa.reg, i) }
	a.p("")
	a.p("// func %s%s", name, dwkArgs)
	a.p("TEXT ·%s(SB), NOSPLIT, $0-84", name)
	a.i("MOVQ out+0(FP), DI")
	a.i("MOVQ in+8(FP), SI")
	a.i("MOVQ inRow+32(FP), DX")
	a.i("LEAQ (DX)(DX*2), R14")
	a.i("MOVQ outRow+40(FP), R13")
	a.i("MOVQ cols+24(FP), CX")
	a.i("ANDQ $%d, CX", isa.lanes-1)
	if isa.lanes == 16 {
		a.i("MOVL $1, AX")
		a.i("SHLL CX, AX")
		a.i("DECL AX")
		a.i("KMOVW AX, K1")
	} else {
		a.i("NEGQ CX")
		a.i("LEAQ dwkMask<>+32(SB), AX")
		a.i("VMOVDQU (AX)(CX*4), %s", v(12))
	}
	a.i("VBROADCASTSS bias+72(FP), %s", v(9))
	a.i("VBROADCASTSS lo+76(FP), %s", v(10))
	a.i("VBROADCASTSS hi+80(FP), %s", v(11))
	groups := dwkGroups(isa)
	for gi, g := range groups {
		R := g.rows
		group := fmt.Sprintf("%srows%d", name, R)
		next := name + "done"
		if gi+1 < len(groups) {
			next = fmt.Sprintf("%srows%d", name, groups[gi+1].rows)
		}
		a.p("%s:", group)
		a.i("CMPQ rows+16(FP), $%d", R)
		a.i("JLT %s", next)
		a.i("MOVQ DI, R8")
		a.i("MOVQ SI, R9")
		a.i("MOVQ cols+24(FP), CX")
		lm, ld := group+"cm", group+"cdone"
		for wi, V := range g.widths {
			lv := fmt.Sprintf("%sc%d", group, V)
			after := lm
			if wi+1 < len(g.widths) {
				after = fmt.Sprintf("%sc%d", group, g.widths[wi+1])
			}
			a.p("%s:", lv)
			a.i("CMPQ CX, $%d", V*isa.lanes)
			a.i("JLT %s", after)
			dwkTile(a, isa, fmt.Sprintf("%sv%d", group, V), R, V, false)
			a.i("ADDQ $%d, R8", V*vb)
			a.i("ADDQ $%d, R9", V*vb)
			a.i("SUBQ $%d, CX", V*isa.lanes)
			if wi == 0 {
				// Each narrower width then fits at most once.
				a.i("JMP %s", lv)
			}
		}
		a.p("%s:", lm)
		a.i("TESTQ CX, CX")
		a.i("JZ %s", ld)
		dwkTile(a, isa, group+"vm", R, 1, true)
		a.p("%s:", ld)
		// Next group of R rows.
		switch R {
		case 4:
			a.i("LEAQ (DI)(R13*4), DI")
			a.i("LEAQ (SI)(DX*4), SI")
		case 2:
			a.i("LEAQ (DI)(R13*2), DI")
			a.i("LEAQ (SI)(DX*2), SI")
		default:
			a.i("ADDQ R13, DI")
			a.i("ADDQ DX, SI")
		}
		a.i("SUBQ $%d, rows+16(FP)", R)
		a.i("JMP %s", group)
	}
	a.p("%sdone:", name)
	a.i("VZEROUPPER")
	a.i("RET")
}

// dwkGroup is one row group of the kernel: rows at a time, and the
// widths (in vectors, widest first) of its column tiles.
type dwkGroup struct {
	rows   int
	widths []int
}

// dwkGroups lists the row groups of isa's kernel. Every tile keeps at
// least four independent accumulator chains where the plane allows, so
// that the adds' latency does not bound short planes (PaddleOCR's 2- and
// 3-row planes): AVX2 takes rows 4, 2 then 1 at a time, with up to eight
// vectors per tile. (The AVX-512 kernel keeps its original tiling.)
func dwkGroups(isa dwkISA) []dwkGroup {
	if isa.lanes == 16 {
		return []dwkGroup{{4, []int{2, 1}}, {1, []int{2, 1}}}
	}
	return []dwkGroup{{4, []int{2, 1}}, {2, []int{4, 2, 1}}, {1, []int{8, 4, 2, 1}}}
}

// dwkTile emits one tile of R rows × V vectors of outputs at R8 from
// the inputs at R9, the store masked when masked.
func dwkTile(a *asm, isa dwkISA, label string, R, V int, masked bool) {
	v := func(i int) string { return fmt.Sprintf("%s%d", isa.reg, i) }
	vb := 4 * isa.lanes
	for i := 0; i < R*V; i++ {
		a.i("VXORPS %s, %s, %s", v(i), v(i), v(i))
	}
	a.i("MOVQ offs+48(FP), R10")
	a.i("MOVQ w+64(FP), R11")
	a.i("MOVQ ntaps+56(FP), R12")
	a.p("%stap:", label)
	a.i("MOVQ (R10), AX")
	a.i("LEAQ (R9)(AX*1), BX")
	a.i("VBROADCASTSS (R11), %s", v(8))
	off := func(j int) string {
		if j == 0 {
			return ""
		}
		return fmt.Sprint(vb * j)
	}
	rowAddr := []string{"(BX)", "(BX)(DX*1)", "(BX)(DX*2)", "(BX)(R14*1)"}
	// Products rounded, then added (no fused multiply-add), so that
	// the sums are bit for bit those of the portable row updates.
	t := 0
	for j := 0; j < V; j++ {
		for r := 0; r < R; r++ {
			tmp := v(13 + t%3)
			t++
			a.i("VMULPS %s%s, %s, %s", off(j), rowAddr[r], v(8), tmp)
			a.i("VADDPS %s, %s, %s", tmp, v(r*V+j), v(r*V+j))
		}
	}
	a.i("ADDQ $8, R10")
	a.i("ADDQ $4, R11")
	a.i("DECQ R12")
	a.i("JNZ %stap", label)
	a.i("LEAQ (R8)(R13*2), BX")
	outAddr := []string{"(R8)", "(R8)(R13*1)", "(BX)", "(BX)(R13*1)"}
	for r := 0; r < R; r++ {
		for j := 0; j < V; j++ {
			z := v(r*V + j)
			a.i("VADDPS %s, %s, %s", v(9), z, z)
			a.i("VMAXPS %s, %s, %s", z, v(10), z)
			a.i("VMINPS %s, %s, %s", z, v(11), z)
			dst := off(j) + outAddr[r]
			switch {
			case masked && isa.lanes == 16:
				a.i("VMOVUPS %s, K1, %s", z, dst)
			case masked:
				a.i("VMASKMOVPS %s, %s, %s", z, v(12), dst)
			default:
				a.i("VMOVUPS %s, %s", z, dst)
			}
		}
	}
}

// dwkSplit emits dwkSplitAvx2(first, second, src *float32, n int),
// which deinterleaves n pairs of src (n a multiple of 8): first[k] =
// src[2k], second[k] = src[2k+1]. The k×k kernels' stride-2 copies use
// it to split rows into even and odd columns.
func dwkSplit(a *asm) {
	a.p("")
	a.p("// func dwkSplitAvx2(first, second, src *float32, n int)")
	a.p("TEXT ·dwkSplitAvx2(SB), NOSPLIT, $0-32")
	a.i("MOVQ first+0(FP), DI")
	a.i("MOVQ second+8(FP), DX")
	a.i("MOVQ src+16(FP), SI")
	a.i("MOVQ n+24(FP), CX")
	a.i("TESTQ CX, CX")
	a.i("JZ dwkSplitdone")
	a.p("dwkSplitloop:")
	splitPairs8(a, "dwkSplitloop")
	a.p("dwkSplitdone:")
	a.i("VZEROUPPER")
	a.i("RET")
}

// splitPairs8 emits the body of the split loop labelled loop: eight
// pairs from SI to DI (even) and DX (odd) per pass, CX pairs left.
func splitPairs8(a *asm, loop string) {
	a.i("VMOVUPS (SI), Y0")
	a.i("VMOVUPS 32(SI), Y1")
	// Per 128-bit lane: [s0 s2 s8 s10 | s4 s6 s12 s14], then the 64-bit
	// pairs put in order.
	a.i("VSHUFPS $0x88, Y1, Y0, Y2")
	a.i("VSHUFPS $0xdd, Y1, Y0, Y3")
	a.i("VPERMPD $0xd8, Y2, Y2")
	a.i("VPERMPD $0xd8, Y3, Y3")
	a.i("VMOVUPS Y2, (DI)")
	a.i("VMOVUPS Y3, (DX)")
	a.i("ADDQ $64, SI")
	a.i("ADDQ $32, DI")
	a.i("ADDQ $32, DX")
	a.i("SUBQ $8, CX")
	a.i("JNZ %s", loop)
}

// dwkSplitRows emits dwkSplitRowsAvx2(first, second, src *float32, n,
// rows, srcRow, dstRow int): dwkSplitAvx2 on rows rows, row r reading
// src + r·srcRow and writing first + r·dstRow and second + r·dstRow
// (strides in bytes; n a multiple of 8). The k×k kernels' stride-2
// fill splits a whole plane in one call: per row from Go, the calls
// cost as much as the split itself on MobileNetV2's 112-wide rows.
func dwkSplitRows(a *asm) {
	a.p("")
	a.p("// func dwkSplitRowsAvx2(first, second, src *float32, n, rows, srcRow, dstRow int)")
	a.p("TEXT ·dwkSplitRowsAvx2(SB), NOSPLIT, $0-56")
	a.i("MOVQ first+0(FP), R8")
	a.i("MOVQ second+8(FP), R9")
	a.i("MOVQ src+16(FP), R10")
	a.i("MOVQ rows+32(FP), R11")
	a.i("MOVQ srcRow+40(FP), R12")
	a.i("MOVQ dstRow+48(FP), R13")
	a.i("TESTQ R11, R11")
	a.i("JZ dwkSplitRowsdone")
	a.i("CMPQ n+24(FP), $0")
	a.i("JEQ dwkSplitRowsdone")
	a.p("dwkSplitRowsrow:")
	a.i("MOVQ R8, DI")
	a.i("MOVQ R9, DX")
	a.i("MOVQ R10, SI")
	a.i("MOVQ n+24(FP), CX")
	a.p("dwkSplitRowsloop:")
	splitPairs8(a, "dwkSplitRowsloop")
	a.i("ADDQ R12, R10")
	a.i("ADDQ R13, R8")
	a.i("ADDQ R13, R9")
	a.i("DECQ R11")
	a.i("JNZ dwkSplitRowsrow")
	a.p("dwkSplitRowsdone:")
	a.i("VZEROUPPER")
	a.i("RET")
}

// maxPool2x2 emits maxPool2x2Avx2(dst, x0, x1 *float32, n int), the
// 2×2 stride-2 max pooling of one output row from its two input rows
// (n outputs, n a multiple of 8; 2n inputs of each row): dst[i] is the
// maximum of x0[2i], x0[2i+1], x1[2i], x1[2i+1] taken in that order from
// -Inf, a value replacing the maximum only when greater (VMAXPS m, v, m
// is v > m ? v : m), exactly the portable loop's comparisons, so NaNs are
// passed over and the first of equal zeros wins. The even and odd columns
// are split per 128-bit lane (VSHUFPS) and the four maxima's 64-bit pairs
// put in order once at the end.
func maxPool2x2(a *asm) {
	a.p("")
	a.p("// func maxPool2x2Avx2(dst, x0, x1 *float32, n int)")
	a.p("TEXT ·maxPool2x2Avx2(SB), NOSPLIT, $0-32")
	a.i("MOVQ dst+0(FP), DI")
	a.i("MOVQ x0+8(FP), SI")
	a.i("MOVQ x1+16(FP), DX")
	a.i("MOVQ n+24(FP), CX")
	a.i("MOVL $0xff800000, AX")
	a.i("MOVQ AX, X15")
	a.i("VBROADCASTSS X15, Y15")
	a.i("TESTQ CX, CX")
	a.i("JZ maxPool2x2done")
	a.p("maxPool2x2loop:")
	a.i("VMOVUPS (SI), Y0")
	a.i("VMOVUPS 32(SI), Y1")
	a.i("VMOVUPS (DX), Y2")
	a.i("VMOVUPS 32(DX), Y3")
	a.i("VSHUFPS $0x88, Y1, Y0, Y4")
	a.i("VSHUFPS $0xdd, Y1, Y0, Y5")
	a.i("VSHUFPS $0x88, Y3, Y2, Y6")
	a.i("VSHUFPS $0xdd, Y3, Y2, Y7")
	a.i("VMAXPS Y15, Y4, Y8")
	a.i("VMAXPS Y8, Y5, Y8")
	a.i("VMAXPS Y8, Y6, Y8")
	a.i("VMAXPS Y8, Y7, Y8")
	a.i("VPERMPD $0xd8, Y8, Y8")
	a.i("VMOVUPS Y8, (DI)")
	a.i("ADDQ $64, SI")
	a.i("ADDQ $64, DX")
	a.i("ADDQ $32, DI")
	a.i("SUBQ $8, CX")
	a.i("JNZ maxPool2x2loop")
	a.p("maxPool2x2done:")
	a.i("VZEROUPPER")
	a.i("RET")
}

// copyEven emits copyEvenAvx2(dst, src *float32, n int), dst[k] =
// src[2k] for k < n (n a multiple of 8; reads src[0:2n]): the stride-2
// im2col rows of strided convolutions.
func copyEven(a *asm) {
	a.p("")
	a.p("// func copyEvenAvx2(dst, src *float32, n int)")
	a.p("TEXT ·copyEvenAvx2(SB), NOSPLIT, $0-24")
	a.i("MOVQ dst+0(FP), DI")
	a.i("MOVQ src+8(FP), SI")
	a.i("MOVQ n+16(FP), CX")
	a.i("TESTQ CX, CX")
	a.i("JZ copyEvendone")
	a.p("copyEvenloop:")
	a.i("VMOVUPS (SI), Y0")
	a.i("VMOVUPS 32(SI), Y1")
	a.i("VSHUFPS $0x88, Y1, Y0, Y2")
	a.i("VPERMPD $0xd8, Y2, Y2")
	a.i("VMOVUPS Y2, (DI)")
	a.i("ADDQ $64, SI")
	a.i("ADDQ $32, DI")
	a.i("SUBQ $8, CX")
	a.i("JNZ copyEvenloop")
	a.p("copyEvendone:")
	a.i("VZEROUPPER")
	a.i("RET")
}

// vmaxRows emits vmaxAvx2(x, y *float32, n int), y[i] = x[i] if x[i] >
// y[i] (NaNs in x passed over, as the Go loop does), and
// vmax2Avx2(x, y *float32, n int), the same with x[2i] (reads x[0:2n]),
// for n a positive multiple of 8: the row updates of max pooling windows
// the plane kernels do not take (AVX2 has no such plane kernels: the 3×3
// stride-2 max pooling of ResNets).
func vmaxRows(a *asm) {
	for _, two := range []bool{false, true} {
		name := "vmaxAvx2"
		if two {
			name = "vmax2Avx2"
		}
		a.p("")
		a.p("// func %s(x, y *float32, n int)", name)
		a.p("TEXT ·%s(SB), NOSPLIT, $0-24", name)
		a.i("MOVQ x+0(FP), SI")
		a.i("MOVQ y+8(FP), DI")
		a.i("MOVQ n+16(FP), CX")
		a.p("%sloop:", name)
		if two {
			a.i("VMOVUPS (SI), Y0")
			a.i("VMOVUPS 32(SI), Y1")
			a.i("VSHUFPS $0x88, Y1, Y0, Y0")
			a.i("VPERMPD $0xd8, Y0, Y0")
		} else {
			a.i("VMOVUPS (SI), Y0")
		}
		// Y1 = x > y ? x : y (MAXPS returns its second source, y,
		// when either is NaN or they are equal).
		a.i("VMOVUPS (DI), Y2")
		a.i("VMAXPS Y2, Y0, Y1")
		a.i("VMOVUPS Y1, (DI)")
		if two {
			a.i("ADDQ $64, SI")
		} else {
			a.i("ADDQ $32, SI")
		}
		a.i("ADDQ $32, DI")
		a.i("SUBQ $8, CX")
		a.i("JNZ %sloop", name)
		a.i("VZEROUPPER")
		a.i("RET")
	}
}

func genDepthwiseKDecl(a *asm) {
	a.p("")
	a.p("//go:noescape")
	a.p("func vmaxAvx2(x, y *float32, n int)")
	a.p("")
	a.p("//go:noescape")
	a.p("func vmax2Avx2(x, y *float32, n int)")
	a.p("")
	a.p("//go:noescape")
	a.p("func copyEvenAvx2(dst, src *float32, n int)")
	a.p("")
	a.p("//go:noescape")
	a.p("func maxPool2x2Avx2(dst, x0, x1 *float32, n int)")
	a.p("")
	a.p("//go:noescape")
	a.p("func dwkSplitAvx2(first, second, src *float32, n int)")
	a.p("")
	a.p("//go:noescape")
	a.p("func dwkSplitRowsAvx2(first, second, src *float32, n, rows, srcRow, dstRow int)")
	for _, isa := range dwkISAs {
		a.p("")
		a.p("//go:noescape")
		a.p("func %s%s", isa.name, dwkArgs)
	}
	genDW3RDecl(a)
	genDWC8Decl(a)
}
