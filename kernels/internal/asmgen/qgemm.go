package main

import "fmt"

// Register tile of the int8 VNNI kernel: qgemmMR rows × 16·qgemmNV int32
// columns.
const (
	qgemmMR = 6
	qgemmNV = 4
)

// qgemmArgs is the Go declaration of the int8 micro-kernels.
//
// A is packed as, for each group of 4 k, 4 unsigned bytes per row (4·mr
// bytes); B as, for each group, 4 signed bytes per column (row stride
// bstride bytes). flags bit 0: add the tile to C instead of storing it;
// bit 1: then subtract the zero-point corrections
// rowp[i]·colu[j] + rowq[i]·colv[j].
const qgemmArgs = "(kg int, a, b *byte, bstride int, c *int32, ldc int, mask uint64, flags int, rowp, rowq, colu, colv *int32)"

func genQgemm(a *asm) {
	for m := 1; m <= qgemmMR; m++ {
		for nv := 1; nv <= qgemmNV; nv++ {
			qgemmVNNI(a, m, nv)
		}
	}
	for m := 1; m <= qgemmMR; m++ {
		qgemmAvx2(a, m)
	}
}

// qgemmVNNI emits an AVX512-VNNI kernel for an m×(16·nv) int32 tile:
// VPDPBUSD adds four u8·s8 products into each int32 lane, exactly (no
// saturation: 4·255·128 < 2³¹).
//
// Registers: accumulators Z0..Z(m·nv-1), B vectors Z24..Z27, broadcast A
// words Z28..Z31; in the epilogue Z28..Z31 hold row factors and products.
func qgemmVNNI(a *asm, m, nv int) {
	acc := func(i, v int) string { return fmt.Sprintf("Z%d", i*nv+v) }
	bv := func(v int) string { return fmt.Sprintf("Z%d", 24+v) }
	name := fmt.Sprintf("qgemmVnniM%dN%d", m, nv)
	a.p("")
	a.p("// func %s%s", name, qgemmArgs)
	a.p("TEXT ·%s(SB), NOSPLIT, $0-96", name)
	a.i("MOVQ kg+0(FP), CX")
	a.i("MOVQ a+8(FP), SI")
	a.i("MOVQ b+16(FP), DX")
	a.i("MOVQ bstride+24(FP), R8")
	a.i("MOVQ c+32(FP), DI")
	a.i("MOVQ ldc+40(FP), R9")
	a.i("MOVQ mask+48(FP), AX")
	a.i("KMOVW AX, K1")
	for i := 0; i < m; i++ {
		for v := 0; v < nv; v++ {
			a.i("VPXORD %s, %s, %s", acc(i, v), acc(i, v), acc(i, v))
		}
	}
	body := func() {
		for v := 0; v < nv; v++ {
			a.i("VMOVDQU32 %d(DX), %s", 64*v, bv(v))
		}
		for i := 0; i < m; i++ {
			bc := fmt.Sprintf("Z%d", 28+i%4)
			a.i("VPBROADCASTD %d(SI), %s", 4*i, bc)
			for v := 0; v < nv; v++ {
				a.i("VPDPBUSD %s, %s, %s", bv(v), bc, acc(i, v))
			}
		}
		a.i("ADDQ $%d, SI", 4*qgemmMR)
		a.i("ADDQ R8, DX")
	}
	unrolledLoop(a, "q"+name, 4, body)

	a.i("MOVQ flags+56(FP), AX")
	a.i("MOVQ rowp+64(FP), R10")
	a.i("MOVQ rowq+72(FP), R11")
	a.i("MOVQ colu+80(FP), R12")
	a.i("MOVQ colv+88(FP), R13")
	epi := func(loadC, correct bool) {
		for i := 0; i < m; i++ {
			if correct {
				a.i("VPBROADCASTD %d(R10), Z28", 4*i)
				a.i("VPBROADCASTD %d(R11), Z29", 4*i)
			}
			for v := 0; v < nv; v++ {
				if correct {
					a.i("VPMULLD %d(R12), Z28, Z30", 64*v)
					a.i("VPMULLD %d(R13), Z29, Z31", 64*v)
					a.i("VPSUBD Z30, %s, %s", acc(i, v), acc(i, v))
					a.i("VPSUBD Z31, %s, %s", acc(i, v), acc(i, v))
				}
				if loadC {
					if v == nv-1 {
						a.i("VMOVDQU32.Z %d(DI), K1, Z30", 64*v)
					} else {
						a.i("VMOVDQU32 %d(DI), Z30", 64*v)
					}
					a.i("VPADDD Z30, %s, %s", acc(i, v), acc(i, v))
				}
				if v == nv-1 {
					a.i("VMOVDQU32 %s, K1, %d(DI)", acc(i, v), 64*v)
				} else {
					a.i("VMOVDQU32 %s, %d(DI)", acc(i, v), 64*v)
				}
			}
			if i < m-1 {
				a.i("ADDQ R9, DI")
			}
		}
		a.i("VZEROUPPER")
		a.i("RET")
	}
	label := "q" + name
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
}

func genQgemmDecl(a *asm) {
	a.p("")
	a.p("// qgemmVnniKernels[m-1][nv-1] computes an m×(16·nv) int32 tile.")
	a.p("var qgemmVnniKernels = [%d][%d]func%s{", qgemmMR, qgemmNV, qgemmArgs)
	for m := 1; m <= qgemmMR; m++ {
		a.buf.WriteString("{")
		for nv := 1; nv <= qgemmNV; nv++ {
			fmt.Fprintf(&a.buf, "qgemmVnniM%dN%d, ", m, nv)
		}
		a.p("},")
	}
	a.p("}")
	for m := 1; m <= qgemmMR; m++ {
		for nv := 1; nv <= qgemmNV; nv++ {
			a.p("")
			a.p("//go:noescape")
			a.p("func qgemmVnniM%dN%d%s", m, nv, qgemmArgs)
		}
	}
	a.p("")
	a.p("// qgemmAvx2Kernels[m-1] computes a full m×16 int32 tile.")
	a.p("var qgemmAvx2Kernels = [%d]func%s{", qgemmMR, qgemm16Args)
	for m := 1; m <= qgemmMR; m++ {
		fmt.Fprintf(&a.buf, "qgemmAvx2M%d, ", m)
	}
	a.p("}")
	for m := 1; m <= qgemmMR; m++ {
		a.p("")
		a.p("//go:noescape")
		a.p("func qgemmAvx2M%d%s", m, qgemm16Args)
	}
}

// qgemm16Args is the Go declaration of the AVX2 int16-pair kernels: A
// packed as two int16 per row per pair of k (4·mr bytes), B as two int16
// per column per pair (row stride bstride bytes), zero points already
// subtracted. flags bit 0: add the tile to C instead of storing it.
const qgemm16Args = "(kp int, a, b *byte, bstride int, c *int32, ldc int, flags int)"

// qgemmAvx2 emits an AVX2 kernel for a full m×16 int32 tile: VPMADDWD
// multiplies int16 pairs and adds each pair into one int32 lane, exactly
// for values in [-255, 255].
//
// Registers: accumulators Y0..Y(2m-1), B vectors Y12 and Y13, the
// broadcast A pair in Y14, products in Y15.
func qgemmAvx2(a *asm, m int) {
	acc := func(i, v int) string { return fmt.Sprintf("Y%d", 2*i+v) }
	name := fmt.Sprintf("qgemmAvx2M%d", m)
	a.p("")
	a.p("// func %s%s", name, qgemm16Args)
	a.p("TEXT ·%s(SB), NOSPLIT, $0-56", name)
	a.i("MOVQ kp+0(FP), CX")
	a.i("MOVQ a+8(FP), SI")
	a.i("MOVQ b+16(FP), DX")
	a.i("MOVQ bstride+24(FP), R8")
	a.i("MOVQ c+32(FP), DI")
	a.i("MOVQ ldc+40(FP), R9")
	for i := 0; i < m; i++ {
		for v := 0; v < 2; v++ {
			a.i("VPXOR %s, %s, %s", acc(i, v), acc(i, v), acc(i, v))
		}
	}
	body := func() {
		a.i("VMOVDQU (DX), Y12")
		a.i("VMOVDQU 32(DX), Y13")
		for i := 0; i < m; i++ {
			a.i("VPBROADCASTD %d(SI), Y14", 4*i)
			a.i("VPMADDWD Y12, Y14, Y15")
			a.i("VPADDD Y15, %s, %s", acc(i, 0), acc(i, 0))
			a.i("VPMADDWD Y13, Y14, Y15")
			a.i("VPADDD Y15, %s, %s", acc(i, 1), acc(i, 1))
		}
		a.i("ADDQ $%d, SI", 4*qgemmMR)
		a.i("ADDQ R8, DX")
	}
	unrolledLoop(a, "q"+name, 4, body)
	a.i("MOVQ flags+48(FP), AX")
	a.i("TESTQ $1, AX")
	a.i("JZ q%sstore", name)
	epi := func(loadC bool) {
		for i := 0; i < m; i++ {
			for v := 0; v < 2; v++ {
				if loadC {
					a.i("VPADDD %d(DI), %s, %s", 32*v, acc(i, v), acc(i, v))
				}
				a.i("VMOVDQU %s, %d(DI)", acc(i, v), 32*v)
			}
			if i < m-1 {
				a.i("ADDQ R9, DI")
			}
		}
		a.i("VZEROUPPER")
		a.i("RET")
	}
	epi(true)
	a.p("q%sstore:", name)
	epi(false)
}
