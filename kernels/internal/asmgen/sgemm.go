package main

import "fmt"

// Register tiles of the float32 GEMM micro-kernels. A kernel computes an
// m×(16·nv) tile (AVX-512) or m×16 tile (AVX2) of C from a packed A panel
// (MR floats per k) and a B panel of row stride bstride bytes.
const (
	sgemmMR512 = 6 // rows of the AVX-512 tile
	sgemmNV512 = 4 // 16-float vectors per row of the AVX-512 tile
	sgemmMR256 = 6 // rows of the AVX2 tile
	sgemmNV256 = 2 // 8-float vectors per row of the AVX2 tile
)

// sgemmArgs is the Go declaration of the AVX-512 float32 micro-kernels.
//
// flags bit 0 (sgemmLoadC): C = alpha·AB + beta·C, else C = alpha·AB.
// flags bit 1 (sgemmEpilogue): then C[i][j] = min(max(C[i][j] + bias[i],
// lo), hi), with NaNs kept.
const sgemmArgs = "(kc int, a, b *float32, bstride int, c *float32, ldc int, alpha, beta float32, mask uint64, flags int, bias *float32, lo, hi float32)"

// sgemmIndArgs declares the AVX-512 kernels with an indirect B: row k of
// the B panel starts offs[k] bytes after b (an implicit im2col matrix,
// whose rows are shifted views of the input).
const sgemmIndArgs = "(kc int, a, b *float32, offs *int64, c *float32, ldc int, alpha, beta float32, mask uint64, flags int, bias *float32, lo, hi float32)"

// sgemmInd256Args declares the AVX2 kernels with an indirect B: like
// sgemmIndArgs, but they compute strips ≥ 1 full m×16 tiles side by side
// (B and C advancing 16 columns from one to the next, A and offs the
// same for all), one call for a row panel's sweep across a block.
// sgemm256Args declares the AVX2 kernels with B read by rows bstride
// bytes apart: strips ≥ 1 full m×16 tiles side by side, B advancing badv
// bytes and C 16 columns from one to the next, A the same for all.
const sgemm256Args = "(kc int, a, b *float32, bstride int, c *float32, ldc int, alpha, beta float32, strips int, flags int, bias *float32, lo, hi float32, badv int)"

const sgemmInd256Args = "(kc int, a, b *float32, offs *int64, c *float32, ldc int, alpha, beta float32, strips int, flags int, bias *float32, lo, hi float32)"

func genSgemm(a *asm) {
	for _, ind := range []bool{false, true} {
		for m := 1; m <= sgemmMR512; m++ {
			for nv := 1; nv <= sgemmNV512; nv++ {
				sgemm512(a, m, nv, ind)
			}
		}
	}
	for _, ind := range []bool{false, true} {
		for m := 1; m <= sgemmMR256; m++ {
			sgemm256(a, m, ind)
		}
	}
}

// sgemm256Name is the name of the AVX2 kernel for an m×16 tile, with an
// indirect B when ind.
func sgemm256Name(m int, ind bool) string {
	if ind {
		return fmt.Sprintf("sgemmAvx2IM%d", m)
	}
	return fmt.Sprintf("sgemmAvx2M%d", m)
}

// sgemm512Name is the name of the AVX-512 kernel for an m×(16·nv) tile,
// with an indirect B when ind.
func sgemm512Name(m, nv int, ind bool) string {
	if ind {
		return fmt.Sprintf("sgemmAvx512IM%dN%d", m, nv)
	}
	return fmt.Sprintf("sgemmAvx512M%dN%d", m, nv)
}

// sgemm512 emits an AVX-512 kernel for an m×(16·nv) tile. The last vector
// of every row is loaded and stored under opmask K1 (from mask), so
// partial tiles at the right edge of C need no scratch copy; masked-off
// lanes are never touched in B or C.
//
// With ind, row k of B is at b + offs[k] bytes instead of b +
// k·bstride (see sgemmIndArgs).
//
// Registers: accumulators Z0..Z(m·nv-1), B vectors Z24..Z27, broadcast A
// values Z28..Z31 (reused for alpha and beta in the epilogue).
func sgemm512(a *asm, m, nv int, ind bool) {
	acc := func(i, v int) string { return fmt.Sprintf("Z%d", i*nv+v) }
	bv := func(v int) string { return fmt.Sprintf("Z%d", 24+v) }
	name, args := sgemm512Name(m, nv, ind), sgemmArgs
	if ind {
		args = sgemmIndArgs
	}
	a.p("")
	a.p("// func %s%s", name, args)
	a.p("TEXT ·%s(SB), NOSPLIT, $0-88", name)
	a.i("MOVQ kc+0(FP), CX")
	a.i("MOVQ a+8(FP), SI")
	a.i("MOVQ b+16(FP), DX")
	if ind {
		a.i("MOVQ offs+24(FP), R8")
	} else {
		a.i("MOVQ bstride+24(FP), R8")
	}
	a.i("MOVQ c+32(FP), DI")
	a.i("MOVQ ldc+40(FP), R9")
	a.i("MOVQ mask+56(FP), AX")
	a.i("KMOVW AX, K1")
	for i := 0; i < m; i++ {
		for v := 0; v < nv; v++ {
			a.i("VPXORD %s, %s, %s", acc(i, v), acc(i, v), acc(i, v))
		}
	}
	// Touch the C tile early so its lines arrive while we compute.
	a.i("MOVQ DI, R10")
	for i := 0; i < m; i++ {
		for v := 0; v < nv; v++ {
			a.i("PREFETCHT0 %d(R10)", 64*v)
		}
		if i < m-1 {
			a.i("ADDQ R9, R10")
		}
	}
	brow := "(DX)"
	if ind {
		brow = "(DX)(AX*1)"
	}
	body := func() {
		if ind {
			a.i("MOVQ (R8), AX")
		}
		for v := 0; v < nv; v++ {
			if v == nv-1 {
				a.i("VMOVUPS.Z %d%s, K1, %s", 64*v, brow, bv(v))
			} else {
				a.i("VMOVUPS %d%s, %s", 64*v, brow, bv(v))
			}
		}
		for i := 0; i < m; i++ {
			bc := fmt.Sprintf("Z%d", 28+i%4)
			a.i("VBROADCASTSS %d(SI), %s", 4*i, bc)
			for v := 0; v < nv; v++ {
				a.i("VFMADD231PS %s, %s, %s", bv(v), bc, acc(i, v))
			}
		}
		a.i("ADDQ $%d, SI", 4*sgemmMR512)
		if ind {
			a.i("ADDQ $8, R8")
		} else {
			a.i("ADDQ R8, DX")
		}
	}
	label := fmt.Sprintf("s512m%dn%d", m, nv)
	if ind {
		label = fmt.Sprintf("s512im%dn%d", m, nv)
	}
	unrolledLoop(a, label, 4, body)

	a.i("VBROADCASTSS alpha+48(FP), Z28")
	a.i("VBROADCASTSS beta+52(FP), Z29")
	a.i("VBROADCASTSS lo+80(FP), Z30")
	a.i("VBROADCASTSS hi+84(FP), Z31")
	a.i("MOVQ flags+64(FP), AX")
	a.i("MOVQ bias+72(FP), BX")
	// Four epilogues, for the combinations of loading C and applying
	// bias and clamp. Z24..Z27 are free once the loop is done.
	epi := func(loadC, clamp bool) {
		for i := 0; i < m; i++ {
			if clamp {
				a.i("VBROADCASTSS %d(BX), Z27", 4*i)
			}
			for v := 0; v < nv; v++ {
				a.i("VMULPS Z28, %s, %s", acc(i, v), acc(i, v))
				if loadC {
					if v == nv-1 {
						a.i("VMOVUPS.Z %d(DI), K1, Z26", 64*v)
					} else {
						a.i("VMOVUPS %d(DI), Z26", 64*v)
					}
					a.i("VFMADD231PS Z29, Z26, %s", acc(i, v))
				}
				if clamp {
					a.i("VADDPS Z27, %s, %s", acc(i, v), acc(i, v))
					// max(lo, x) and min(hi, x) return x when it is NaN.
					a.i("VMAXPS %s, Z30, %s", acc(i, v), acc(i, v))
					a.i("VMINPS %s, Z31, %s", acc(i, v), acc(i, v))
				}
				if v == nv-1 {
					a.i("VMOVUPS %s, K1, %d(DI)", acc(i, v), 64*v)
				} else {
					a.i("VMOVUPS %s, %d(DI)", acc(i, v), 64*v)
				}
			}
			if i < m-1 {
				a.i("ADDQ R9, DI")
			}
		}
		a.i("VZEROUPPER")
		a.i("RET")
	}
	epilogues(a, label, epi)
}

// epilogues emits the dispatch on flags (in AX) and the four epilogue
// variants produced by epi.
func epilogues(a *asm, label string, epi func(loadC, clamp bool)) {
	a.i("TESTQ $2, AX")
	a.i("JNZ %sclamp", label)
	a.i("TESTQ $1, AX")
	a.i("JZ %sstore", label)
	epi(true, false)
	a.p("%sstore:", label)
	epi(false, false)
	a.p("%sclamp:", label)
	a.i("TESTQ $1, AX")
	a.i("JZ %sclampstore", label)
	epi(true, true)
	a.p("%sclampstore:", label)
	epi(false, true)
}

// sgemm256 emits an AVX2/FMA kernel for a full m×16 tile. With ind,
// row k of B is at b + offs[k] bytes instead of b + k·bstride, and the
// kernel computes a row of strips tiles (see sgemmInd256Args; callers
// give B and C whole 16-column strips).
//
// Registers: accumulators Y0..Y(2m-1), B vectors Y12 and Y13, the
// broadcast A value in Y14, and alpha/beta in Y14/Y15 at the end. With
// ind, R11 counts the strips left and R12 holds the strip's C.
func sgemm256(a *asm, m int, ind bool) {
	const nv = sgemmNV256
	acc := func(i, v int) string { return fmt.Sprintf("Y%d", i*nv+v) }
	name, args, frame := sgemm256Name(m, ind), sgemm256Args, 96
	if ind {
		args, frame = sgemmInd256Args, 88
	}
	label := fmt.Sprintf("s256m%d", m)
	if ind {
		label = fmt.Sprintf("s256im%d", m)
	}
	a.p("")
	a.p("// func %s%s", name, args)
	a.p("TEXT ·%s(SB), NOSPLIT, $0-%d", name, frame)
	a.i("MOVQ b+16(FP), DX")
	a.i("MOVQ c+32(FP), DI")
	a.i("MOVQ ldc+40(FP), R9")
	a.i("MOVQ strips+56(FP), R11")
	a.i("MOVQ DI, R12")
	if !ind {
		a.i("MOVQ DX, R13")
	}
	a.p("%sstrip:", label)
	if ind {
		a.i("MOVQ offs+24(FP), R8")
	} else {
		a.i("MOVQ bstride+24(FP), R8")
	}
	a.i("MOVQ kc+0(FP), CX")
	a.i("MOVQ a+8(FP), SI")
	for i := 0; i < m; i++ {
		for v := 0; v < nv; v++ {
			a.i("VXORPS %s, %s, %s", acc(i, v), acc(i, v), acc(i, v))
		}
	}
	brow := "(DX)"
	if ind {
		brow = "(DX)(AX*1)"
	}
	body := func() {
		if ind {
			a.i("MOVQ (R8), AX")
		}
		a.i("VMOVUPS %s, Y12", brow)
		a.i("VMOVUPS 32%s, Y13", brow)
		for i := 0; i < m; i++ {
			a.i("VBROADCASTSS %d(SI), Y14", 4*i)
			a.i("VFMADD231PS Y12, Y14, %s", acc(i, 0))
			a.i("VFMADD231PS Y13, Y14, %s", acc(i, 1))
		}
		a.i("ADDQ $%d, SI", 4*sgemmMR256)
		if ind {
			a.i("ADDQ $8, R8")
		} else {
			a.i("ADDQ R8, DX")
		}
	}
	unrolledLoop(a, label, 4, body)

	a.i("VBROADCASTSS alpha+48(FP), Y14")
	a.i("VBROADCASTSS beta+52(FP), Y15")
	a.i("MOVQ flags+64(FP), AX")
	a.i("MOVQ bias+72(FP), BX")
	epi := func(loadC, clamp bool) {
		for i := 0; i < m; i++ {
			if clamp {
				a.i("VBROADCASTSS %d(BX), Y12", 4*i)
			}
			for v := 0; v < nv; v++ {
				a.i("VMULPS Y14, %s, %s", acc(i, v), acc(i, v))
				if loadC {
					a.i("VFMADD231PS %d(DI), Y15, %s", 32*v, acc(i, v))
				}
				if clamp {
					a.i("VADDPS Y12, %s, %s", acc(i, v), acc(i, v))
					a.i("VBROADCASTSS lo+80(FP), Y13")
					a.i("VMAXPS %s, Y13, %s", acc(i, v), acc(i, v))
					a.i("VBROADCASTSS hi+84(FP), Y13")
					a.i("VMINPS %s, Y13, %s", acc(i, v), acc(i, v))
				}
				a.i("VMOVUPS %s, %d(DI)", acc(i, v), 32*v)
			}
			if i < m-1 {
				a.i("ADDQ R9, DI")
			}
		}
		a.i("JMP %snext", label)
	}
	epilogues(a, label, epi)
	// Next strip: B on by 16 columns (indirect) or badv bytes, C by 16
	// columns.
	a.p("%snext:", label)
	if ind {
		a.i("ADDQ $64, DX")
	} else {
		a.i("ADDQ badv+88(FP), R13")
		a.i("MOVQ R13, DX")
	}
	a.i("ADDQ $64, R12")
	a.i("MOVQ R12, DI")
	a.i("DECQ R11")
	a.i("JNZ %sstrip", label)
	a.i("VZEROUPPER")
	a.i("RET")
}

// unrolledLoop emits a loop running body CX times (CX ≥ 1), unrolled u
// times (u a power of two) with a remainder loop. It clobbers BX and CX.
func unrolledLoop(a *asm, label string, u int, body func()) {
	shift := 0
	for 1<<shift < u {
		shift++
	}
	a.i("MOVQ CX, BX")
	a.i("SHRQ $%d, BX", shift)
	a.i("JZ %stail", label)
	a.p("%sloop:", label)
	for k := 0; k < u; k++ {
		body()
	}
	a.i("DECQ BX")
	a.i("JNZ %sloop", label)
	a.p("%stail:", label)
	a.i("ANDQ $%d, CX", u-1)
	a.i("JZ %sdone", label)
	a.p("%sone:", label)
	body()
	a.i("DECQ CX")
	a.i("JNZ %sone", label)
	a.p("%sdone:", label)
}

// genDecl writes the Go declarations and dispatch tables of all kernels.
func genDecl(a *asm) {
	a.p("")
	a.p("// sgemmAvx512Kernels[m-1][nv-1] computes an m×(16·nv) tile.")
	a.p("var sgemmAvx512Kernels = [%d][%d]func%s{", sgemmMR512, sgemmNV512, sgemmArgs)
	for m := 1; m <= sgemmMR512; m++ {
		a.buf.WriteString("{")
		for nv := 1; nv <= sgemmNV512; nv++ {
			fmt.Fprintf(&a.buf, "%s, ", sgemm512Name(m, nv, false))
		}
		a.p("},")
	}
	a.p("}")
	a.p("")
	a.p("// sgemmAvx512IKernels[m-1][nv-1] computes an m×(16·nv) tile with an indirect B.")
	a.p("var sgemmAvx512IKernels = [%d][%d]func%s{", sgemmMR512, sgemmNV512, sgemmIndArgs)
	for m := 1; m <= sgemmMR512; m++ {
		a.buf.WriteString("{")
		for nv := 1; nv <= sgemmNV512; nv++ {
			fmt.Fprintf(&a.buf, "%s, ", sgemm512Name(m, nv, true))
		}
		a.p("},")
	}
	a.p("}")
	a.p("")
	a.p("// sgemmAvx2Kernels[m-1] computes full m×16 tiles.")
	a.p("var sgemmAvx2Kernels = [%d]func%s{", sgemmMR256, sgemm256Args)
	for m := 1; m <= sgemmMR256; m++ {
		fmt.Fprintf(&a.buf, "sgemmAvx2M%d, ", m)
	}
	a.p("}")
	a.p("")
	a.p("// sgemmAvx2IKernels[m-1] computes full m×16 tiles with an indirect B.")
	a.p("var sgemmAvx2IKernels = [%d]func%s{", sgemmMR256, sgemmInd256Args)
	for m := 1; m <= sgemmMR256; m++ {
		fmt.Fprintf(&a.buf, "%s, ", sgemm256Name(m, true))
	}
	a.p("}")
	for _, ind := range []bool{false, true} {
		args := sgemmArgs
		if ind {
			args = sgemmIndArgs
		}
		for m := 1; m <= sgemmMR512; m++ {
			for nv := 1; nv <= sgemmNV512; nv++ {
				a.p("")
				a.p("//go:noescape")
				a.p("func %s%s", sgemm512Name(m, nv, ind), args)
			}
		}
	}
	for _, ind := range []bool{false, true} {
		args := sgemm256Args
		if ind {
			args = sgemmInd256Args
		}
		for m := 1; m <= sgemmMR256; m++ {
			a.p("")
			a.p("//go:noescape")
			a.p("func %s%s", sgemm256Name(m, ind), args)
		}
	}
	genQgemmDecl(a)
	genDepthwiseDecl(a)
	genSdotDecl(a)
	genGatherDecl(a)
}
