package main

import "fmt"

// dwArgs is the Go declaration of the 3×3 depthwise plane kernels.
const dwArgs = "(out, in *float32, inStride, nch int, rows *int64, nrows int, zero *float32, geom *int64, w, bias *float32, biasStep int, lo, hi float32)"

// genDepthwise emits the 3×3 depthwise plane kernels for horizontal
// strides 1 and 2. They read the input planes as stored: padding is
// handled by pointing missing rows at a zero row and by opmasks on the
// blocks at the ends of each row, so no padded copy is made.
//
// A call convolves nch channels: channel c reads the plane at in +
// c·inStride bytes with weights w[9c:9c+9] and the bias at bias +
// c·biasStep bytes, and writes nrows·n outputs contiguously from out (n
// outputs per row; the planes of consecutive channels follow each
// other). Output row i reads three input rows at byte offsets
// rows[3i+r] from the plane, or the zero row when the offset is
// negative:
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
//	           opmasks: for stride 1 one per kernel column t (the lanes
//	           whose input s·j + t - padL is inside the row), for stride
//	           2 those of the four raw loads covering inputs [0,16),
//	           [16,32), [2,18) and [18,34) after the block's first.
//
// Unmasked blocks read only inputs inside the row (for stride 2, inputs
// 0..33 after the block's first); masked blocks read only the lanes in
// their opmasks, so nothing outside the rows is touched.
//
// Registers: weights Z16..Z24, bias Z25, lo Z26, hi Z27, permutation
// indices Z28 (even) and Z29 (odd), accumulators Z0..Z2 (one per kernel
// row, which keeps the FMA chains short), loads Z3..Z12. DI output, R11
// plane, R8..R10 input rows, R13 row table, R12 rows left, R14 zero
// row, DX geom, SI weights, BX bias, CX block count.
func genDepthwise(a *asm) {
	for _, s := range []int{1, 2} {
		dwKernel(a, s)
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
	for i := 0; i < 16; i++ {
		v := i + 1
		if i == 15 {
			v = 16 + 14
		}
		a.p("DATA dwTap1Idx<>+%d(SB)/4, $%d", 4*i, v)
	}
	a.p("GLOBL dwTap1Idx<>(SB), RODATA|NOPTR, $64")
}

// dwKernel emits the kernel for horizontal stride s.
func dwKernel(a *asm, s int) {
	name := fmt.Sprintf("dw3x3s%dAvx512", s)
	rows := []string{"R8", "R9", "R10"}
	a.p("")
	a.p("// func %s%s", name, dwArgs)
	a.p("TEXT ·%s(SB), NOSPLIT, $0-96", name)
	a.i("MOVQ out+0(FP), DI")
	a.i("MOVQ in+8(FP), R11")
	a.i("MOVQ zero+48(FP), R14")
	a.i("MOVQ geom+56(FP), DX")
	a.i("MOVQ w+64(FP), SI")
	a.i("MOVQ bias+72(FP), BX")
	a.i("VBROADCASTSS lo+88(FP), Z26")
	a.i("VBROADCASTSS hi+92(FP), Z27")
	if s == 1 {
		a.i("VMOVDQU32 dwTap1Idx<>(SB), Z28")
	} else {
		a.i("VMOVDQU32 dwEvenIdx<>(SB), Z28")
		a.i("VMOVDQU32 dwOddIdx<>(SB), Z29")
	}

	// block emits one block of 16 outputs at DI from the rows at
	// R8..R10; masked uses the opmasks K1 (outputs) and K2.. (loads).
	block := func(masked bool) {
		for r, reg := range rows {
			acc := fmt.Sprintf("Z%d", r)
			w := func(t int) string { return fmt.Sprintf("Z%d", 16+3*r+t) }
			if r == 0 {
				a.i("VMOVAPS Z25, Z0")
			}
			if s == 1 {
				// Inputs 0..15 (tap 0) and 2..17 (tap 2); tap 1 is
				// inputs 1..15 of the first and 16 of the second.
				l := 3 + 3*r
				for i, off := range []int{0, 8} {
					if masked {
						a.i("VMOVUPS.Z %d(%s), K%d, Z%d", off, reg, 2+i, l+i)
					} else {
						a.i("VMOVUPS %d(%s), Z%d", off, reg, l+i)
					}
				}
				a.i("VMOVAPS Z%d, Z%d", l, l+2)
				a.i("VPERMT2PS Z%d, Z28, Z%d", l+1, l+2)
				if r == 0 {
					a.i("VFMADD231PS Z%d, %s, %s", l, w(0), acc)
				} else {
					a.i("VMULPS Z%d, %s, %s", l, w(0), acc)
				}
				a.i("VFMADD231PS Z%d, %s, %s", l+2, w(1), acc)
				a.i("VFMADD231PS Z%d, %s, %s", l+1, w(2), acc)
				continue
			}
			// Stride 2: two pairs of vectors, inputs 0..31 and 2..33,
			// split into the even (tap 0), odd (tap 1) and shifted even
			// (tap 2) inputs.
			l := 3 + 5*(r%2)
			for i, off := range []int{0, 64, 8, 72} {
				if masked {
					a.i("VMOVUPS.Z %d(%s), K%d, Z%d", off, reg, 2+i, l+i)
				} else {
					a.i("VMOVUPS %d(%s), Z%d", off, reg, l+i)
				}
			}
			a.i("VMOVAPS Z%d, Z%d", l, l+4)
			a.i("VPERMT2PS Z%d, Z28, Z%d", l+1, l)
			a.i("VPERMT2PS Z%d, Z29, Z%d", l+1, l+4)
			a.i("VPERMT2PS Z%d, Z28, Z%d", l+3, l+2)
			if r == 0 {
				a.i("VFMADD231PS Z%d, %s, %s", l, w(0), acc)
			} else {
				a.i("VMULPS Z%d, %s, %s", l, w(0), acc)
			}
			a.i("VFMADD231PS Z%d, %s, %s", l+4, w(1), acc)
			a.i("VFMADD231PS Z%d, %s, %s", l+2, w(2), acc)
		}
		a.i("VADDPS Z1, Z0, Z0")
		a.i("VADDPS Z2, Z0, Z0")
		a.i("VMAXPS Z0, Z26, Z0")
		a.i("VMINPS Z0, Z27, Z0")
		if masked {
			a.i("VMOVUPS Z0, K1, (DI)")
		} else {
			a.i("VMOVUPS Z0, (DI)")
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
		a.i("LEAQ (DI)(CX*4), DI")
		for _, reg := range rows {
			a.i("LEAQ (%s)(CX*%d), %s", reg, 4*s, reg)
		}
		a.p("%s:", skip)
	}

	a.p("%schan:", name)
	for t := 0; t < 9; t++ {
		a.i("VBROADCASTSS %d(SI), Z%d", 4*t, 16+t)
	}
	a.i("VBROADCASTSS (BX), Z25")
	a.i("MOVQ rows+32(FP), R13")
	a.i("MOVQ nrows+40(FP), R12")
	a.p("%srow:", name)
	for r, reg := range rows {
		a.i("MOVQ %d(R13), AX", 8*r)
		a.i("LEAQ (R11)(AX*1), %s", reg)
		a.i("TESTQ AX, AX")
		a.i("CMOVQLT R14, %s", reg)
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
	a.i("ADDQ $64, DI")
	for _, reg := range rows {
		a.i("ADDQ $%d, %s", 64*s, reg)
	}
	a.i("DECQ CX")
	a.i("JNZ %sfull", name)
	a.p("%sfulldone:", name)
	maskedBlock(1)
	maskedBlock(2)
	a.i("ADDQ $24, R13")
	a.i("DECQ R12")
	a.i("JNZ %srow", name)
	a.i("ADDQ $36, SI")
	a.i("ADDQ biasStep+80(FP), BX")
	a.i("ADDQ inStride+16(FP), R11")
	a.i("DECQ nch+24(FP)")
	a.i("JNZ %schan", name)
	a.i("VZEROUPPER")
	a.i("RET")
}

func genDepthwiseDecl(a *asm) {
	for s := 1; s <= 2; s++ {
		a.p("")
		a.p("//go:noescape")
		a.p("func dw3x3s%dAvx512%s", s, dwArgs)
	}
}
