package main

import "fmt"

// dw3rArgs is the Go declaration of the 3×3 sliding-row depthwise
// kernels.
const dw3rArgs = "(out, in *float32, rows, vecs, inRow, outRow int, coff *int64, w *float32, bias, lo, hi float32)"

// genDW3R emits dw3r1Avx2 and dw3r2Avx2, AVX2 depthwise kernels for
// 3×3 windows (vertical stride 1 and 2, no vertical dilation) on the
// padded scratch planes of the k×k kernels (dwk.go), for the outputs
// that fill whole 8-float vectors in groups of four rows:
//
//	out[r·outRow + j] = min(max((Σ_{kh,kw} w[3kh+kw]·in[(s·r+kh)·inRow + coff[kw] + j]) + bias, lo), hi)
//
// for r < rows (a multiple of 4) and j < 8·vecs, with inRow, outRow and
// coff in bytes. The nine weights stay in registers, and each input row
// vector the four output rows read is loaded once per horizontal tap
// and used by every output row whose window covers it (6 rows of input
// for 4 rows of output at stride 1, 9 at stride 2), where dwkAvx2 loads
// each tap of each output row apart: 4.5 (stride 1) or 6.75 loads per
// output vector instead of 9. Each output row still sums its taps in
// order from zero (kh-major, each product rounded before it is added)
// and adds the bias last, so the results are bit for bit those of
// dwkAvx2 and of the portable row updates.
//
// Registers: accumulators Y0..Y3, input Y4, products Y5/Y6, weights
// Y7..Y15; DI/SI the row group's output and input, R8/R9 the column
// cursors, CX the vectors left, AX the input row, BX an output row, DX
// inRow, R13 outRow, R10..R12 the tap column offsets, R14 the rows left.
func genDW3R(a *asm) {
	for _, s := range []int{1, 2} {
		dw3rKernel(a, s)
	}
}

func dw3rKernel(a *asm, s int) {
	name := fmt.Sprintf("dw3r%dAvx2", s)
	y := func(i int) string { return fmt.Sprintf("Y%d", i) }
	a.p("")
	a.p("// func %s%s", name, dw3rArgs)
	a.p("TEXT ·%s(SB), NOSPLIT, $0-76", name)
	a.i("MOVQ out+0(FP), DI")
	a.i("MOVQ in+8(FP), SI")
	a.i("MOVQ rows+16(FP), R14")
	a.i("MOVQ inRow+32(FP), DX")
	a.i("MOVQ outRow+40(FP), R13")
	a.i("MOVQ coff+48(FP), AX")
	a.i("MOVQ 0(AX), R10")
	a.i("MOVQ 8(AX), R11")
	a.i("MOVQ 16(AX), R12")
	a.i("MOVQ w+56(FP), AX")
	for t := 0; t < 9; t++ {
		a.i("VBROADCASTSS %d(AX), %s", 4*t, y(7+t))
	}
	a.i("TESTQ R14, R14")
	a.i("JZ %sdone", name)
	a.i("CMPQ vecs+24(FP), $0")
	a.i("JEQ %sdone", name)
	a.p("%srows:", name)
	a.i("MOVQ DI, R8")
	a.i("MOVQ SI, R9")
	a.i("MOVQ vecs+24(FP), CX")
	a.p("%scol:", name)
	for r := 0; r < 4; r++ {
		a.i("VXORPS %s, %s, %s", y(r), y(r), y(r))
	}
	a.i("MOVQ R9, AX")
	coff := []string{"R10", "R11", "R12"}
	nIn := 3*s + 3 // input rows of 4 output rows: 3s+3 (6 or 9)
	t := 0
	for i := 0; i < nIn; i++ {
		if i > 0 {
			a.i("ADDQ DX, AX")
		}
		for kw := 0; kw < 3; kw++ {
			a.i("VMOVUPS (AX)(%s*1), %s", coff[kw], y(4))
			for r := 0; r < 4; r++ {
				kh := i - s*r
				if kh < 0 || kh > 2 {
					continue
				}
				tmp := y(5 + t%2)
				t++
				a.i("VMULPS %s, %s, %s", y(4), y(7+3*kh+kw), tmp)
				a.i("VADDPS %s, %s, %s", tmp, y(r), y(r))
			}
		}
	}
	a.i("VBROADCASTSS bias+64(FP), %s", y(4))
	a.i("VBROADCASTSS lo+68(FP), %s", y(5))
	a.i("VBROADCASTSS hi+72(FP), %s", y(6))
	a.i("LEAQ (R8)(R13*2), BX")
	outAddr := []string{"(R8)", "(R8)(R13*1)", "(BX)", "(BX)(R13*1)"}
	for r := 0; r < 4; r++ {
		z := y(r)
		a.i("VADDPS %s, %s, %s", y(4), z, z)
		a.i("VMAXPS %s, %s, %s", z, y(5), z)
		a.i("VMINPS %s, %s, %s", z, y(6), z)
		a.i("VMOVUPS %s, %s", z, outAddr[r])
	}
	a.i("ADDQ $32, R8")
	a.i("ADDQ $32, R9")
	a.i("DECQ CX")
	a.i("JNZ %scol", name)
	// Next four rows: output 4·outRow on, input 4·s·inRow on.
	a.i("LEAQ (DI)(R13*4), DI")
	a.i("LEAQ (SI)(DX*4), SI")
	if s == 2 {
		a.i("LEAQ (SI)(DX*4), SI")
	}
	a.i("SUBQ $4, R14")
	a.i("JNZ %srows", name)
	a.p("%sdone:", name)
	a.i("VZEROUPPER")
	a.i("RET")
}

func genDW3RDecl(a *asm) {
	for _, s := range []int{1, 2} {
		a.p("")
		a.p("//go:noescape")
		a.p("func dw3r%dAvx2%s", s, dw3rArgs)
	}
}
