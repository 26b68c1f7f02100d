package main

import "fmt"

// dwArgs is the Go declaration of the 3×3 depthwise row kernels.
const dwArgs = "(out, in *float32, n, rows, rowStep, tapStep int, w *float32, bias, lo, hi float32, masks uint64)"

// genDepthwise emits the 3×3 depthwise plane kernels for strides 1 and
// 2. The input is a padded plane; output row i (of rows, each n ≥ 1
// values, stored contiguously) reads input rows starting at in +
// i·rowStep + r·tapStep bytes for r < 3:
//
//	out[j] = min(max(bias + Σ_{r,t<3} w[3r+t]·row_r[s·j+t], lo), hi)
//
// In each row, Full 16-output blocks run while more than 16
// outputs remain; the last 1..16 use the opmasks packed in masks (16 bits
// each, lowest first): K1 for the outputs, then for stride 2 the loads of
// the even/odd pair (K3, K4) and the first of the pair shifted by two
// (K5; its second, K6, is K4 >> 1), so nothing past the last needed
// input is read.
//
// Registers: weights Z16..Z24, bias Z25, lo Z26, hi Z27, permutation
// indices Z28 (even) and Z29 (odd), accumulators Z0 and Z1, loads Z2..Z13.
func genDepthwise(a *asm) {
	for _, s := range []int{1, 2} {
		name := fmt.Sprintf("dw3x3s%dAvx512", s)
		a.p("")
		a.p("// func %s%s", name, dwArgs)
		a.p("TEXT ·%s(SB), NOSPLIT, $0-80", name)
		a.i("MOVQ out+0(FP), DI")
		a.i("MOVQ in+8(FP), R11")
		a.i("MOVQ rows+24(FP), R12")
		a.i("MOVQ tapStep+40(FP), R13")
		a.i("MOVQ w+48(FP), SI")
		for t := 0; t < 9; t++ {
			a.i("VBROADCASTSS %d(SI), Z%d", 4*t, 16+t)
		}
		a.i("VBROADCASTSS bias+56(FP), Z25")
		a.i("VBROADCASTSS lo+60(FP), Z26")
		a.i("VBROADCASTSS hi+64(FP), Z27")
		a.i("MOVQ masks+72(FP), AX")
		a.i("KMOVW AX, K1")
		if s == 2 {
			a.i("SHRQ $16, AX")
			a.i("KMOVW AX, K3")
			a.i("SHRQ $16, AX")
			a.i("KMOVW AX, K4")
			a.i("SHRQ $16, AX")
			a.i("KMOVW AX, K5")
			a.i("KSHIFTRW $1, K4, K6") // lanes(2r-17) = lanes(2r-16) >> 1
			a.i("VMOVDQU32 dwEvenIdx<>(SB), Z28")
			a.i("VMOVDQU32 dwOddIdx<>(SB), Z29")
		}
		rows := []string{"R8", "R9", "R10"}
		// block emits one 16-output block; masked selects the tail form.
		block := func(masked bool) {
			k1 := ""
			if masked {
				k1 = "K1, "
			}
			a.i("VMOVAPS Z25, Z0")
			for r, reg := range rows {
				if s == 1 {
					for t := 0; t < 3; t++ {
						a.i("VFMADD231PS %d(%s), Z%d, %sZ0", 4*t, reg, 16+3*r+t, k1)
					}
					continue
				}
				ld := func(off int, k, dst string) {
					if masked {
						a.i("VMOVUPS.Z %d(%s), %s, %s", off, reg, k, dst)
					} else {
						a.i("VMOVUPS %d(%s), %s", off, reg, dst)
					}
				}
				ld(0, "K3", "Z2")
				ld(64, "K4", "Z3")
				ld(8, "K5", "Z4")
				ld(72, "K6", "Z5")
				a.i("VMOVAPS Z2, Z6")
				a.i("VPERMT2PS Z3, Z28, Z2") // even: row[2j]
				a.i("VPERMT2PS Z3, Z29, Z6") // odd: row[2j+1]
				a.i("VPERMT2PS Z5, Z28, Z4") // row[2j+2]
				a.i("VFMADD231PS Z2, Z%d, Z0", 16+3*r)
				a.i("VFMADD231PS Z6, Z%d, Z0", 16+3*r+1)
				a.i("VFMADD231PS Z4, Z%d, Z0", 16+3*r+2)
			}
			a.i("VMAXPS Z0, Z26, Z0")
			a.i("VMINPS Z0, Z27, Z0")
			if masked {
				a.i("VMOVUPS Z0, K1, (DI)")
			} else {
				a.i("VMOVUPS Z0, (DI)")
			}
		}
		a.p("%srow:", name)
		a.i("MOVQ R11, R8")
		a.i("LEAQ (R11)(R13*1), R9")
		a.i("LEAQ (R9)(R13*1), R10")
		a.i("MOVQ n+16(FP), CX")
		a.p("%sloop:", name)
		a.i("CMPQ CX, $16")
		a.i("JLE %stail", name)
		block(false)
		for _, reg := range rows {
			a.i("ADDQ $%d, %s", 64*s, reg)
		}
		a.i("ADDQ $64, DI")
		a.i("SUBQ $16, CX")
		a.i("JMP %sloop", name)
		a.p("%stail:", name)
		block(true)
		a.i("LEAQ (DI)(CX*4), DI")
		a.i("ADDQ rowStep+32(FP), R11")
		a.i("DECQ R12")
		a.i("JNZ %srow", name)
		a.i("VZEROUPPER")
		a.i("RET")
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
}

func genDepthwiseDecl(a *asm) {
	for s := 1; s <= 2; s++ {
		a.p("")
		a.p("//go:noescape")
		a.p("func dw3x3s%dAvx512%s", s, dwArgs)
	}
}
