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
//	out[r·outRow + j] = min(max(bias + Σ_t w[t]·in[r·inRow + offs[t] + j], lo), hi)
//
// for r < rows and j < cols, with inRow, outRow and offs in bytes. Rows
// go four at a time (one tap of four rows is four independent
// accumulator chains, whatever the width), columns two vectors then one
// at a time, and the last cols mod lanes under a store mask (an opmask,
// or a lane mask for VMASKMOVPS). Loads past the last column read the
// copy's next row or its slack; their lanes are never stored.
//
// Registers: accumulators V0..V7, weight V8, bias V9, lo V10, hi V11,
// AVX2's store mask V12 (AVX-512's K1). DI and SI the row group's output
// and input, R8 and R9 the column cursors, CX the columns left, R10 and
// R11 the tap offset and weight cursors, R12 the taps left, DX inRow,
// R14 3·inRow, R13 outRow.
func genDepthwiseK(a *asm) {
	for _, isa := range dwkISAs {
		dwkKernel(a, isa)
	}
	dwkSplit(a)
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
	for _, R := range []int{4, 1} {
		group := fmt.Sprintf("%srows%d", name, R)
		next := name + "done"
		if R == 4 {
			next = name + "rows1"
		}
		a.p("%s:", group)
		a.i("CMPQ rows+16(FP), $%d", R)
		a.i("JLT %s", next)
		a.i("MOVQ DI, R8")
		a.i("MOVQ SI, R9")
		a.i("MOVQ cols+24(FP), CX")
		l2, l1, lm, ld := group+"c2", group+"c1", group+"cm", group+"cdone"
		a.p("%s:", l2)
		a.i("CMPQ CX, $%d", 2*isa.lanes)
		a.i("JLT %s", l1)
		dwkTile(a, isa, group+"v2", R, 2, false)
		a.i("ADDQ $%d, R8", 2*vb)
		a.i("ADDQ $%d, R9", 2*vb)
		a.i("SUBQ $%d, CX", 2*isa.lanes)
		a.i("JMP %s", l2)
		a.p("%s:", l1)
		a.i("CMPQ CX, $%d", isa.lanes)
		a.i("JLT %s", lm)
		dwkTile(a, isa, group+"v1", R, 1, false)
		a.i("ADDQ $%d, R8", vb)
		a.i("ADDQ $%d, R9", vb)
		a.i("SUBQ $%d, CX", isa.lanes)
		a.p("%s:", lm)
		a.i("TESTQ CX, CX")
		a.i("JZ %s", ld)
		dwkTile(a, isa, group+"vm", R, 1, true)
		a.p("%s:", ld)
		// Next group of R rows.
		if R == 4 {
			a.i("LEAQ (DI)(R13*4), DI")
			a.i("LEAQ (SI)(DX*4), SI")
		} else {
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

// dwkTile emits one tile of R rows × V vectors of outputs at R8 from
// the inputs at R9, the store masked when masked.
func dwkTile(a *asm, isa dwkISA, label string, R, V int, masked bool) {
	v := func(i int) string { return fmt.Sprintf("%s%d", isa.reg, i) }
	vb := 4 * isa.lanes
	for i := 0; i < R*V; i++ {
		a.i("VMOVAPS %s, %s", v(9), v(i))
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
	for j := 0; j < V; j++ {
		for r := 0; r < R; r++ {
			a.i("VFMADD231PS %s%s, %s, %s", off(j), rowAddr[r], v(8), v(r*V+j))
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
	a.i("JNZ dwkSplitloop")
	a.p("dwkSplitdone:")
	a.i("VZEROUPPER")
	a.i("RET")
}

func genDepthwiseKDecl(a *asm) {
	a.p("")
	a.p("//go:noescape")
	a.p("func dwkSplitAvx2(first, second, src *float32, n int)")
	for _, isa := range dwkISAs {
		a.p("")
		a.p("//go:noescape")
		a.p("func %s%s", isa.name, dwkArgs)
	}
}
