package main

// gatherArgs and poolArgs are the Go declarations of the small-plane
// gather kernels.
const (
	gatherArgs = "(dst, src *float32, ent *gatherEntry, nv, nimg, srcImg, dstImg, step int)"
	poolArgs   = "(dst, src *float32, ent *gatherEntry, nv, taps, planes, srcPlane, dstPlane int, div *float32, isMax, step int)"
	copyArgs   = "(dst, src *float32, rows, n, dstStride, srcStride int)"
	panelArgs  = "(dst, src *float32, offs *int64, kc int, desc *gatherEntry, npanels int)"
)

// genGather emits the kernels that run a gather program (see
// kernels/gather.go): each entry moves the inputs under one kernel tap
// of up to 16 consecutive outputs of a plane (step/4 of them) with one
// two-vector permute.
// An entry is 80 bytes: the window's byte offset in the input plane,
// four 16-bit opmasks (the window's two loads, the outputs whose input
// exists, the outputs inside the plane), and 16 int32 permute indices.
//
// gatherRowsAvx512 writes, for nv output vectors (entries in order) and
// nimg images, image i's vector v to dst + i·dstImg + v·step bytes from
// the plane at src + i·srcImg: one row of an im2col matrix spanning
// images.
//
// poolAvx512 pools planes planes, four at a time where it can: for each
// output vector v it combines
// the taps entries ent[v·taps : (v+1)·taps] by max (isMax ≠ 0, starting
// at -Inf) or sum, divides sums by the vector at div + v·step, and
// stores the vector at dst + v·step; planes advance by srcPlane and
// dstPlane bytes.
func genGather(a *asm) {
	a.p("")
	a.p("// func gatherRowsAvx512%s", gatherArgs)
	a.p("TEXT ·gatherRowsAvx512(SB), NOSPLIT, $0-64")
	a.i("MOVQ dst+0(FP), DI")
	a.i("MOVQ src+8(FP), SI")
	a.i("MOVQ ent+16(FP), R8")
	a.i("MOVQ nv+24(FP), CX")
	a.i("MOVQ srcImg+40(FP), R11")
	a.i("MOVQ dstImg+48(FP), R12")
	a.p("gathervec:")
	a.i("MOVQ (R8), AX")
	a.i("LEAQ (SI)(AX*1), R9")
	gatherMasks(a, "R8")
	a.i("VMOVDQU32 16(R8), Z2")
	a.i("MOVQ DI, R10")
	a.i("MOVQ nimg+32(FP), DX")
	// Masked stores are slow: vectors whose 16 outputs all lie in the
	// plane are stored whole.
	a.i("MOVQ 8(R8), AX")
	a.i("SHRQ $48, AX")
	a.i("CMPQ AX, $0xffff")
	a.i("JEQ gatherfull")
	a.p("gatherimg:")
	gatherPerm(a, "R9")
	a.i("VMOVUPS Z0, K4, (R10)")
	a.i("ADDQ R11, R9")
	a.i("ADDQ R12, R10")
	a.i("DECQ DX")
	a.i("JNZ gatherimg")
	a.i("JMP gathernext")
	a.p("gatherfull:")
	gatherPerm(a, "R9")
	a.i("VMOVUPS Z0, (R10)")
	a.i("ADDQ R11, R9")
	a.i("ADDQ R12, R10")
	a.i("DECQ DX")
	a.i("JNZ gatherfull")
	a.p("gathernext:")
	a.i("ADDQ $80, R8")
	a.i("ADDQ step+56(FP), DI")
	a.i("DECQ CX")
	a.i("JNZ gathervec")
	a.i("VZEROUPPER")
	a.i("RET")

	a.p("")
	a.p("// func poolAvx512%s", poolArgs)
	a.p("TEXT ·poolAvx512(SB), NOSPLIT, $0-88")
	a.i("MOVQ dst+0(FP), DI")
	a.i("MOVQ src+8(FP), SI")
	a.i("MOVQ planes+40(FP), R12")
	// Z4 is the initial value: -Inf for max, 0 for sums.
	a.i("VPXORD Z4, Z4, Z4")
	a.i("MOVQ isMax+72(FP), AX")
	a.i("TESTQ AX, AX")
	a.i("JZ poolinit")
	a.i("MOVL $0xff800000, AX")
	a.i("VPBROADCASTD AX, Z4")
	a.p("poolinit:")
	a.i("MOVQ srcPlane+48(FP), R13")
	a.i("MOVQ dstPlane+56(FP), R11")
	// Groups of four planes share each entry's loads; then planes one
	// by one.
	a.p("poolgroup:")
	a.i("CMPQ R12, $4")
	a.i("JLT poolplane")
	a.i("MOVQ ent+16(FP), R8")
	a.i("MOVQ div+64(FP), BX")
	a.i("MOVQ DI, R10")
	a.i("MOVQ nv+24(FP), CX")
	accs := []string{"Z3", "Z5", "Z6", "Z7"}
	a.p("poolgvec:")
	for _, z := range accs {
		a.i("VMOVAPS Z4, %s", z)
	}
	a.i("MOVQ taps+32(FP), DX")
	a.p("poolgtap:")
	a.i("MOVQ (R8), AX")
	a.i("LEAQ (SI)(AX*1), R9")
	a.i("LEAQ (R9)(R13*1), R14")
	gatherMasks(a, "R8")
	a.i("VMOVDQU32 16(R8), Z2")
	windows := []string{"R9", "R14", "(R14)(R13*1)", "(R14)(R13*2)"}
	for _, op := range []string{"max", "sum"} {
		if op == "sum" {
			a.p("poolgsum:")
		} else {
			a.i("MOVQ isMax+72(FP), AX")
			a.i("TESTQ AX, AX")
			a.i("JZ poolgsum")
		}
		for i, wnd := range windows {
			lo, hi := "("+wnd+")", "64("+wnd+")"
			if wnd[0] == '(' {
				lo, hi = wnd, "64"+wnd
			}
			a.i("VMOVUPS.Z %s, K1, Z0", lo)
			a.i("VMOVUPS.Z %s, K2, Z1", hi)
			a.i("VPERMT2PS.Z Z1, Z2, K3, Z0")
			if op == "max" {
				a.i("VMAXPS Z0, %s, K3, %s", accs[i], accs[i])
			} else {
				a.i("VADDPS Z0, %s, %s", accs[i], accs[i])
			}
		}
		if op == "max" {
			a.i("JMP poolgnext")
		}
	}
	a.p("poolgnext:")
	a.i("ADDQ $80, R8")
	a.i("DECQ DX")
	a.i("JNZ poolgtap")
	a.i("MOVQ isMax+72(FP), AX")
	a.i("TESTQ AX, AX")
	a.i("JNZ poolgstore")
	for _, z := range accs {
		a.i("VDIVPS (BX), %s, %s", z, z)
	}
	a.p("poolgstore:")
	a.i("LEAQ (R10)(R11*1), AX")
	a.i("VMOVUPS Z3, K4, (R10)")
	a.i("VMOVUPS Z5, K4, (AX)")
	a.i("VMOVUPS Z6, K4, (AX)(R11*1)")
	a.i("VMOVUPS Z7, K4, (AX)(R11*2)")
	a.i("ADDQ step+80(FP), R10")
	a.i("ADDQ step+80(FP), BX")
	a.i("DECQ CX")
	a.i("JNZ poolgvec")
	a.i("LEAQ (SI)(R13*4), SI")
	a.i("LEAQ (DI)(R11*4), DI")
	a.i("SUBQ $4, R12")
	a.i("JMP poolgroup")

	a.p("poolplane:")
	a.i("TESTQ R12, R12")
	a.i("JZ pooldone")
	a.i("MOVQ ent+16(FP), R8")
	a.i("MOVQ div+64(FP), BX")
	a.i("MOVQ DI, R10")
	a.i("MOVQ nv+24(FP), CX")
	a.p("poolvec:")
	a.i("VMOVAPS Z4, Z3")
	a.i("MOVQ taps+32(FP), DX")
	a.p("pooltap:")
	a.i("MOVQ (R8), AX")
	a.i("LEAQ (SI)(AX*1), R9")
	gatherMasks(a, "R8")
	a.i("VMOVDQU32 16(R8), Z2")
	gatherPerm(a, "R9")
	a.i("MOVQ isMax+72(FP), AX")
	a.i("TESTQ AX, AX")
	a.i("JZ poolsum")
	a.i("VMAXPS Z0, Z3, K3, Z3")
	a.i("JMP poolnext")
	a.p("poolsum:")
	a.i("VADDPS Z0, Z3, Z3")
	a.p("poolnext:")
	a.i("ADDQ $80, R8")
	a.i("DECQ DX")
	a.i("JNZ pooltap")
	a.i("MOVQ isMax+72(FP), AX")
	a.i("TESTQ AX, AX")
	a.i("JNZ poolstore")
	a.i("VDIVPS (BX), Z3, Z3")
	a.p("poolstore:")
	a.i("VMOVUPS Z3, K4, (R10)")
	a.i("ADDQ step+80(FP), R10")
	a.i("ADDQ step+80(FP), BX")
	a.i("DECQ CX")
	a.i("JNZ poolvec")
	a.i("ADDQ R13, SI")
	a.i("ADDQ R11, DI")
	a.i("DECQ R12")
	a.i("JMP poolplane")
	a.p("pooldone:")
	a.i("VZEROUPPER")
	a.i("RET")
	genCopyRows(a)
	genPackPanels(a)
}

// genCopyRows emits copyRowsAvx512, which copies rows rows of n ≥ 1
// floats from src to dst, rows dstStride and srcStride bytes apart: full
// vectors, then one masked vector, so nothing past a row is touched.
func genCopyRows(a *asm) {
	a.p("")
	a.p("// func copyRowsAvx512%s", copyArgs)
	a.p("TEXT ·copyRowsAvx512(SB), NOSPLIT, $0-48")
	a.i("MOVQ dst+0(FP), DI")
	a.i("MOVQ src+8(FP), SI")
	a.i("MOVQ rows+16(FP), DX")
	a.i("MOVQ n+24(FP), BX")
	// K1 masks the last 1..16 floats of a row.
	a.i("LEAQ -1(BX), CX")
	a.i("ANDQ $15, CX")
	a.i("INCQ CX")
	a.i("MOVQ $1, AX")
	a.i("SHLQ CX, AX")
	a.i("DECQ AX")
	a.i("KMOVW AX, K1")
	// R8 is set when the last vector of a row is whole.
	a.i("XORQ R8, R8")
	a.i("CMPQ CX, $16")
	a.i("SETEQ R8")
	a.p("copyrow:")
	a.i("MOVQ BX, CX")
	a.i("XORQ AX, AX")
	a.p("copyvec:")
	a.i("CMPQ CX, $16")
	a.i("JLE copytail")
	a.i("VMOVUPS (SI)(AX*1), Z0")
	a.i("VMOVUPS Z0, (DI)(AX*1)")
	a.i("ADDQ $64, AX")
	a.i("SUBQ $16, CX")
	a.i("JMP copyvec")
	a.p("copytail:")
	a.i("TESTQ R8, R8")
	a.i("JNZ copywhole")
	a.i("VMOVUPS.Z (SI)(AX*1), K1, Z0")
	a.i("VMOVUPS Z0, K1, (DI)(AX*1)")
	a.i("JMP copynext")
	a.p("copywhole:")
	a.i("VMOVUPS (SI)(AX*1), Z0")
	a.i("VMOVUPS Z0, (DI)(AX*1)")
	a.p("copynext:")
	a.i("ADDQ dstStride+32(FP), DI")
	a.i("ADDQ srcStride+40(FP), SI")
	a.i("DECQ DX")
	a.i("JNZ copyrow")
	a.i("VZEROUPPER")
	a.i("RET")
}

// genPackPanels emits packPanelsAvx512, which packs npanels panels of 6
// rows of a transposed implicit im2col matrix (output positions × K) for
// the micro-kernels: panel p (kc·6 floats from dst + p·kc·24 bytes)
// holds at row k the 6 values at window lanes idx[0:6] of the 16 floats
// at src + off + offs[k] bytes (loaded under the load opmask, so lanes
// outside the plane read as zero). Panels are described by gather
// entries (see kernels/gather.go): off, the load opmask in the low 16
// bits of masks, idx.
func genPackPanels(a *asm) {
	a.p("")
	a.p("// func packPanelsAvx512%s", panelArgs)
	a.p("TEXT ·packPanelsAvx512(SB), NOSPLIT, $0-48")
	a.i("MOVQ dst+0(FP), DI")
	a.i("MOVQ src+8(FP), SI")
	a.i("MOVQ desc+32(FP), R10")
	a.i("MOVQ npanels+40(FP), R11")
	a.i("MOVQ $0x3f, AX")
	a.i("KMOVW AX, K3")
	a.p("packpanel:")
	a.i("MOVQ (R10), DX")
	a.i("ADDQ SI, DX")
	a.i("MOVQ 8(R10), AX")
	a.i("KMOVW AX, K1")
	a.i("VMOVDQU32 16(R10), Z2")
	a.i("MOVQ offs+16(FP), CX")
	a.i("MOVQ kc+24(FP), R12")
	a.p("packk:")
	a.i("MOVQ (CX), AX")
	a.i("VMOVUPS.Z (DX)(AX*1), K1, Z0")
	a.i("VPERMPS Z0, Z2, Z1")
	a.i("VMOVUPS Z1, K3, (DI)")
	a.i("ADDQ $8, CX")
	a.i("ADDQ $24, DI")
	a.i("DECQ R12")
	a.i("JNZ packk")
	a.i("ADDQ $80, R10")
	a.i("DECQ R11")
	a.i("JNZ packpanel")
	a.i("VZEROUPPER")
	a.i("RET")
}

// gatherMasks loads the four opmasks of the entry at reg into K1..K4.
func gatherMasks(a *asm, reg string) {
	a.i("MOVQ 8(%s), AX", reg)
	for k := 1; k <= 4; k++ {
		a.i("KMOVW AX, K%d", k)
		if k < 4 {
			a.i("SHRQ $16, AX")
		}
	}
}

// gatherPerm sets Z0 to the entry's outputs from the window at reg
// (indices in Z2, masks in K1..K3), zero where the input is missing.
func gatherPerm(a *asm, reg string) {
	a.i("VMOVUPS.Z (%s), K1, Z0", reg)
	a.i("VMOVUPS.Z 64(%s), K2, Z1", reg)
	a.i("VPERMT2PS.Z Z1, Z2, K3, Z0")
}

func genGatherDecl(a *asm) {
	a.p("")
	a.p("//go:noescape")
	a.p("func packPanelsAvx512%s", panelArgs)
	a.p("")
	a.p("//go:noescape")
	a.p("func copyRowsAvx512%s", copyArgs)
	a.p("")
	a.p("//go:noescape")
	a.p("func gatherRowsAvx512%s", gatherArgs)
	a.p("")
	a.p("//go:noescape")
	a.p("func poolAvx512%s", poolArgs)
}
