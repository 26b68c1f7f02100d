package main

import "fmt"

// dwArgs is the Go declaration of the 3×3 depthwise plane kernels.
const dwArgs = "(out, in *float32, inStride, nch int, rows *int64, nrows int, zero *float32, geom *int64, w, bias *float32, biasStep int, lo, hi float32)"

// genDepthwise emits the 3×3 depthwise plane kernels: for horizontal
// strides 1 and 2 one output row at a time, and, when the vertical
// stride equals the horizontal one without vertical dilation, also two
// rows at a time, which share input rows (two of four for stride 1, one
// of five for stride 2). They read the input planes as stored:
// padding is handled by pointing missing rows at a zero row and by
// opmasks on the blocks at the ends of each row, so no padded copy is
// made.
//
// A call convolves nch channels: channel c reads the plane at in +
// c·inStride bytes with weights w[9c:9c+9] and the bias at bias +
// c·biasStep bytes, and writes its output plane at out + c·geom[21]
// bytes. The row table has nrows entries of 4 int64 (one output row) or
// 4+s (two rows): the byte offset of the (first) output row in the
// plane, then the byte offsets from the input plane of the input rows,
// or -1 for a row in the padding (read from the zero row). Output row i
// of an entry reads its input rows i·s..i·s+2:
//
//	out[j] = min(max(bias + Σ_{r,t<3} w[3r+t]·row_r[s·j + t - padL], lo), hi)
//
// geom describes the blocks of 16 outputs of every row (int64 words):
//
//	geom[0]    byte offset of output 0's first tap: -4·padL
//	geom[1]    number of unmasked blocks (after block 0)
//	geom[2:8]  block 0, before the unmasked blocks; geom[8:14] block 1
//	           and geom[14:20] block 2, after them. Each is: outputs
//	           (0 = none, at most 16), the output opmask, then the load
//	           opmasks: for stride 1 those of the loads of inputs
//	           [0,16) and [2,18) from the block's first, for stride 2
//	           those of [0,16), [16,32), [2,18) and [18,34)
//	geom[20]   bytes of an output row; geom[21] bytes of an output plane
//
// Unmasked blocks read only inputs inside the row (for stride 2, inputs
// 0..33 after the block's first); masked blocks read only the lanes in
// their opmasks, so nothing outside the rows is touched.
//
// Registers: weights Z16..Z24, bias Z25, lo Z26, hi Z27, permutation
// indices Z28 and Z29, accumulators Z0..Z3, loads Z4..Z15. DI and SI
// output rows, BX output plane, R14 input plane, R8..R12 input rows, R13
// row table (running up to the end pointer kept in the nrows slot), DX
// geom, CX block count. The weight, bias and channel pointers advance
// in their argument slots.
//
// The max3x3 kernels are the same with max instead of multiply-adds (for
// 3×3 max pooling): they ignore w and bias, start from -Inf, load -Inf
// into masked-off lanes, and zero must point at a row of -Inf.
func genDepthwise(a *asm) {
	for _, isMax := range []bool{false, true} {
		for _, k := range dwKernels {
			dwKernel(a, k.s, k.pair, isMax)
		}
	}
	a.p("")
	for i := 0; i < 16; i++ {
		a.p("DATA dwEvenIdx<>+%d(SB)/4, $%d", 4*i, 2*i)
	}
	a.p("GLOBL dwEvenIdx<>(SB), RODATA|NOPTR, $64")
	for i := 0; i < 16; i++ {
		a.p("DATA dwOddIdx<>+%d(SB)/4, $%d", 4*i, 2*i+1)
	}
	a.p("GLOBL dwOddIdx<>(SB), RODATA|NOPTR, $64")
	// Tap 1 of stride 1: inputs 1..15 of the first load, then input 16,
	// lane 14 of the second.
	for i := 0; i < 16; i++ {
		v := i + 1
		if i == 15 {
			v = 16 + 14
		}
		a.p("DATA dwTap1Idx<>+%d(SB)/4, $%d", 4*i, v)
	}
	a.p("GLOBL dwTap1Idx<>(SB), RODATA|NOPTR, $64")
}

// dwKernels lists the (stride, pair) variants.
var dwKernels = []struct {
	s    int
	pair bool
}{{1, false}, {2, false}, {1, true}, {2, true}}

// dwName is the name of the kernel for stride s, two rows when pair,
// max pooling when isMax.
func dwName(s int, pair, isMax bool) string {
	op := "dw"
	if isMax {
		op = "max"
	}
	if pair {
		return fmt.Sprintf("%s3x3s%dx2Avx512", op, s)
	}
	return fmt.Sprintf("%s3x3s%dAvx512", op, s)
}

// dwKernel emits the kernel for horizontal stride s, for two output rows
// at a time when pair, max pooling when isMax.
func dwKernel(a *asm, s int, pair, isMax bool) {
	name := dwName(s, pair, isMax)
	rows := []string{"R8", "R9", "R10"}
	outs := []string{"DI"}
	if pair {
		rows = append(rows, []string{"R11", "R12"}[:s]...)
		outs = append(outs, "SI")
	}
	entry := 8 * (1 + len(rows))
	a.p("")
	a.p("// func %s%s", name, dwArgs)
	a.p("TEXT ·%s(SB), NOSPLIT, $0-96", name)
	a.i("MOVQ out+0(FP), BX")
	a.i("MOVQ in+8(FP), R14")
	a.i("MOVQ geom+56(FP), DX")
	// The nrows slot becomes the row table's end.
	a.i("MOVQ nrows+40(FP), AX")
	a.i("IMULQ $%d, AX", entry)
	a.i("ADDQ rows+32(FP), AX")
	a.i("MOVQ AX, nrows+40(FP)")
	a.i("VBROADCASTSS lo+88(FP), Z26")
	a.i("VBROADCASTSS hi+92(FP), Z27")
	if s == 1 {
		a.i("VMOVDQU32 dwTap1Idx<>(SB), Z28")
	} else {
		a.i("VMOVDQU32 dwEvenIdx<>(SB), Z28")
		a.i("VMOVDQU32 dwOddIdx<>(SB), Z29")
	}
	if isMax {
		a.i("MOVL $0xff800000, AX")
		a.i("VPBROADCASTD AX, Z25") // -Inf
	}

	// taps loads the three taps of input row q into Z(l), Z(l+1),
	// Z(l+2) and returns l; masked uses the load opmasks K2...
	taps := func(q int, masked bool) int {
		reg := rows[q]
		ld := func(off, k, dst int) {
			switch {
			case masked && isMax:
				a.i("VMOVAPS Z25, Z%d", dst)
				a.i("VMOVUPS %d(%s), K%d, Z%d", off, reg, k, dst)
			case masked:
				a.i("VMOVUPS.Z %d(%s), K%d, Z%d", off, reg, k, dst)
			default:
				a.i("VMOVUPS %d(%s), Z%d", off, reg, dst)
			}
		}
		if s == 1 {
			// Inputs 0..15 (tap 0) and 2..17 (tap 2); tap 1 is inputs
			// 1..15 of the first and 16 of the second.
			l := 4 + 3*q
			ld(0, 2, l)
			ld(8, 3, l+2)
			a.i("VMOVAPS Z%d, Z%d", l, l+1)
			a.i("VPERMT2PS Z%d, Z28, Z%d", l+2, l+1)
			return l
		}
		// Stride 2: two pairs of vectors, inputs 0..31 and 2..33, split
		// into the even (tap 0), odd (tap 1) and shifted even (tap 2)
		// inputs.
		l := 4 + 5*(q%2)
		ld(0, 2, l)
		ld(64, 3, l+3)
		ld(8, 4, l+2)
		ld(72, 5, l+4)
		a.i("VMOVAPS Z%d, Z%d", l, l+1)
		a.i("VPERMT2PS Z%d, Z28, Z%d", l+3, l)
		a.i("VPERMT2PS Z%d, Z29, Z%d", l+3, l+1)
		a.i("VPERMT2PS Z%d, Z28, Z%d", l+4, l+2)
		return l
	}
	// fma accumulates input row taps l.. times kernel row r into acc;
	// first starts acc at the bias, fresh starts it at the product.
	fma := func(l, r int, acc string, first, fresh bool) {
		if isMax {
			if first || fresh {
				a.i("VMAXPS Z%d, Z%d, %s", l+1, l, acc)
			} else {
				a.i("VMAXPS Z%d, %s, %s", l, acc, acc)
				a.i("VMAXPS Z%d, %s, %s", l+1, acc, acc)
			}
			a.i("VMAXPS Z%d, %s, %s", l+2, acc, acc)
			return
		}
		for t := 0; t < 3; t++ {
			w := fmt.Sprintf("Z%d", 16+3*r+t)
			switch {
			case t == 0 && first:
				a.i("VMOVAPS Z25, %s", acc)
				a.i("VFMADD231PS Z%d, %s, %s", l, w, acc)
			case t == 0 && fresh:
				a.i("VMULPS Z%d, %s, %s", l, w, acc)
			default:
				a.i("VFMADD231PS Z%d, %s, %s", l+t, w, acc)
			}
		}
	}
	// block emits one block of 16 outputs of each output row; masked
	// uses the output opmask K1. Output row o sums input rows o..o+2
	// into two accumulators, Z(o) (kernel rows 0 and 2) and Z(2+o) (row
	// 1).
	block := func(masked bool) {
		for q := range rows {
			l := taps(q, masked)
			for o := range outs {
				switch r := q - o*s; r {
				case 0:
					fma(l, 0, fmt.Sprintf("Z%d", o), true, false)
				case 1:
					fma(l, 1, fmt.Sprintf("Z%d", 2+o), false, true)
				case 2:
					fma(l, 2, fmt.Sprintf("Z%d", o), false, false)
				}
			}
		}
		for o, reg := range outs {
			if isMax {
				a.i("VMAXPS Z%d, Z%d, Z%d", 2+o, o, o)
			} else {
				a.i("VADDPS Z%d, Z%d, Z%d", 2+o, o, o)
			}
			a.i("VMAXPS Z%d, Z26, Z%d", o, o)
			a.i("VMINPS Z%d, Z27, Z%d", o, o)
			if masked {
				a.i("VMOVUPS Z%d, K1, (%s)", o, reg)
			} else {
				a.i("VMOVUPS Z%d, (%s)", o, reg)
			}
		}
	}
	// maskedBlock emits masked block b of geom, skipped when empty.
	maskedBlock := func(b int) {
		off := 16 + 48*b
		skip := fmt.Sprintf("%sskip%d", name, b)
		a.i("MOVQ %d(DX), CX", off)
		a.i("TESTQ CX, CX")
		a.i("JZ %s", skip)
		nk := 2
		if s == 2 {
			nk = 4
		}
		for k := 0; k <= nk; k++ {
			a.i("KMOVW %d(DX), K%d", off+8+8*k, 1+k)
		}
		block(true)
		for _, reg := range outs {
			a.i("LEAQ (%s)(CX*4), %s", reg, reg)
		}
		for _, reg := range rows {
			a.i("LEAQ (%s)(CX*%d), %s", reg, 4*s, reg)
		}
		a.p("%s:", skip)
	}

	a.p("%schan:", name)
	if !isMax {
		a.i("MOVQ w+64(FP), AX")
		for t := 0; t < 9; t++ {
			a.i("VBROADCASTSS %d(AX), Z%d", 4*t, 16+t)
		}
		a.i("MOVQ bias+72(FP), AX")
		a.i("VBROADCASTSS (AX), Z25")
	}
	a.i("MOVQ rows+32(FP), R13")
	a.p("%srow:", name)
	a.i("MOVQ (R13), DI")
	a.i("ADDQ BX, DI")
	if pair {
		a.i("MOVQ 160(DX), SI")
		a.i("ADDQ DI, SI")
	}
	for r, reg := range rows {
		a.i("MOVQ %d(R13), AX", 8+8*r)
		a.i("LEAQ (R14)(AX*1), %s", reg)
		a.i("TESTQ AX, AX")
		a.i("CMOVQLT zero+48(FP), %s", reg)
	}
	a.i("MOVQ (DX), AX")
	for _, reg := range rows {
		a.i("ADDQ AX, %s", reg)
	}
	maskedBlock(0)
	a.i("MOVQ 8(DX), CX")
	a.i("TESTQ CX, CX")
	a.i("JZ %sfulldone", name)
	a.p("%sfull:", name)
	block(false)
	for _, reg := range outs {
		a.i("ADDQ $64, %s", reg)
	}
	for _, reg := range rows {
		a.i("ADDQ $%d, %s", 64*s, reg)
	}
	a.i("DECQ CX")
	a.i("JNZ %sfull", name)
	a.p("%sfulldone:", name)
	maskedBlock(1)
	maskedBlock(2)
	a.i("ADDQ $%d, R13", entry)
	a.i("CMPQ R13, nrows+40(FP)")
	a.i("JLT %srow", name)
	if !isMax {
		a.i("ADDQ $36, w+64(FP)")
		a.i("MOVQ biasStep+80(FP), AX")
		a.i("ADDQ AX, bias+72(FP)")
	}
	a.i("ADDQ inStride+16(FP), R14")
	a.i("ADDQ 168(DX), BX")
	a.i("DECQ nch+24(FP)")
	a.i("JNZ %schan", name)
	a.i("VZEROUPPER")
	a.i("RET")
}

func genDepthwiseDecl(a *asm) {
	for _, isMax := range []bool{false, true} {
		for _, k := range dwKernels {
			a.p("")
			a.p("//go:noescape")
			a.p("func %s%s", dwName(k.s, k.pair, isMax), dwArgs)
		}
	}
}
