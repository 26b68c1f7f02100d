package main

import "fmt"

// Element-wise float32 kernels (AVX2, 8 lanes): binary operators against a
// scalar or a second vector, clamping, scale-and-shift and the hard-swish
// pattern. They are memory-bound, so 256-bit vectors reach the same speed
// as 512-bit ones and the kernels run on every x86-64 CPU with AVX2, the
// AVX-512 ones included. Each processes n floats, n a multiple of 8 (the
// Go wrapper does the rest): four vectors per iteration, then one.
// Every operation rounds as the scalar one does (no fused multiply-add),
// so results are bit-identical to the Go loops; VMAXPS/VMINPS take x as
// the operand returned on NaN, so NaNs propagate as Go's max and min do.

// elemKernel describes one kernel: its Go name, its scalar arguments
// (broadcast into Y12.. in order), whether it reads a second vector y, and
// the body mapping the vector in register v (loaded from x; y's vector
// address is given as ymem) to its result in v.
type elemKernel struct {
	name    string
	scalars []string
	vv      bool
	body    func(a *asm, v, t, ymem string)
}

func elemKernels() []elemKernel {
	vs := func(name, op string, rev bool) elemKernel {
		return elemKernel{name: name, scalars: []string{"s"}, body: func(a *asm, v, t, _ string) {
			if rev {
				a.i("%s %s, Y12, %s", op, v, v) // s op x
			} else {
				a.i("%s Y12, %s, %s", op, v, v) // x op s
			}
		}}
	}
	vv := func(name, op string) elemKernel {
		return elemKernel{name: name, vv: true, body: func(a *asm, v, t, ymem string) {
			a.i("VMOVUPS %s, %s", ymem, t)
			a.i("%s %s, %s, %s", op, t, v, v) // x op y
		}}
	}
	return []elemKernel{
		vs("addVSAvx2", "VADDPS", false),
		vs("subVSAvx2", "VSUBPS", false),
		vs("rsubVSAvx2", "VSUBPS", true),
		vs("mulVSAvx2", "VMULPS", false),
		vs("divVSAvx2", "VDIVPS", false),
		vs("rdivVSAvx2", "VDIVPS", true),
		vv("addVVAvx2", "VADDPS"),
		vv("subVVAvx2", "VSUBPS"),
		vv("mulVVAvx2", "VMULPS"),
		vv("divVVAvx2", "VDIVPS"),
		{name: "clampAvx2", scalars: []string{"lo", "hi"}, body: func(a *asm, v, t, _ string) {
			a.i("VMAXPS %s, Y12, %s", v, v)
			a.i("VMINPS %s, Y13, %s", v, v)
		}},
		{name: "mulAddAvx2", scalars: []string{"m", "b"}, body: func(a *asm, v, t, _ string) {
			a.i("VMULPS Y12, %s, %s", v, v)
			a.i("VADDPS Y13, %s, %s", v, v)
		}},
		{name: "hswishAvx2", scalars: []string{"c", "lo", "hi"}, body: func(a *asm, v, t, _ string) {
			a.i("VADDPS Y12, %s, %s", v, t)
			a.i("VMAXPS %s, Y13, %s", t, t)
			a.i("VMINPS %s, Y14, %s", t, t)
			a.i("VMULPS %s, %s, %s", t, v, v)
		}},
	}
}

// elemArgs is the Go parameter list of kernel k.
func elemArgs(k elemKernel) string {
	s := "(dst, x"
	if k.vv {
		s += ", y"
	}
	s += " *float32, n int"
	for _, p := range k.scalars {
		s += ", " + p
	}
	if len(k.scalars) > 0 {
		s += " float32"
	}
	return s + ")"
}

func genElem(a *asm) {
	for _, k := range elemKernels() {
		off := 16 // dst, x
		if k.vv {
			off = 24
		}
		nOff := off
		size := nOff + 8 + 4*len(k.scalars)
		a.p("")
		a.p("// func %s%s", k.name, elemArgs(k))
		a.p("TEXT ·%s(SB), NOSPLIT, $0-%d", k.name, size)
		a.i("MOVQ dst+0(FP), DI")
		a.i("MOVQ x+8(FP), SI")
		if k.vv {
			a.i("MOVQ y+16(FP), DX")
		}
		a.i("MOVQ n+%d(FP), CX", nOff)
		for i, s := range k.scalars {
			a.i("VBROADCASTSS %s+%d(FP), Y%d", s, nOff+8+4*i, 12+i)
		}
		l := k.name
		a.p("%s_x4:", l)
		a.i("CMPQ CX, $32")
		a.i("JLT %s_x1", l)
		for r := 0; r < 4; r++ {
			a.i("VMOVUPS %d(SI), Y%d", 32*r, r)
		}
		for r := 0; r < 4; r++ {
			k.body(a, fmt.Sprintf("Y%d", r), fmt.Sprintf("Y%d", 4+r), fmt.Sprintf("%d(DX)", 32*r))
		}
		for r := 0; r < 4; r++ {
			a.i("VMOVUPS Y%d, %d(DI)", r, 32*r)
		}
		a.i("ADDQ $128, SI")
		a.i("ADDQ $128, DI")
		if k.vv {
			a.i("ADDQ $128, DX")
		}
		a.i("SUBQ $32, CX")
		a.i("JMP %s_x4", l)
		a.p("%s_x1:", l)
		a.i("CMPQ CX, $8")
		a.i("JLT %s_done", l)
		a.i("VMOVUPS (SI), Y0")
		k.body(a, "Y0", "Y4", "(DX)")
		a.i("VMOVUPS Y0, (DI)")
		a.i("ADDQ $32, SI")
		a.i("ADDQ $32, DI")
		if k.vv {
			a.i("ADDQ $32, DX")
		}
		a.i("SUBQ $8, CX")
		a.i("JMP %s_x1", l)
		a.p("%s_done:", l)
		a.i("VZEROUPPER")
		a.i("RET")
	}
}

// genElemDecl writes the Go declarations of the element-wise kernels.
func genElemDecl(a *asm) {
	for _, k := range elemKernels() {
		a.p("")
		a.p("//go:noescape")
		a.p("func %s%s", k.name, elemArgs(k))
	}
}
