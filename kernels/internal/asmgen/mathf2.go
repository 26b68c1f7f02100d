package main

import (
	"fmt"
	"math"
)

// AVX2 versions of the exp and sigmoid kernels (mathf.go has the AVX-512
// ones), for CPUs without AVX-512: the same clamp to [-104, 89], the same
// fused reduction r = x - k·ln2 and Taylor polynomial, and 2**k applied as
// two multiplications by 2**(k>>1) and 2**(k-(k>>1)), each a normal
// float32 for every clamped k, so that the result underflows to 0 and
// overflows to +Inf as it should. Each kernel maps 8·m floats, two
// vectors per iteration then one; the Go wrapper does the rest.

// mathf2Consts are the table entries, each replicated over a vector.
var mathf2Consts = []struct {
	name string
	bits uint32
}{
	{"log2e", math.Float32bits(1.44269504088896341)},
	{"ln2Hi", math.Float32bits(0.693359375)},
	{"ln2Lo", math.Float32bits(-2.12194440e-4)},
	{"exp7", math.Float32bits(1.0 / 5040)}, {"exp6", math.Float32bits(1.0 / 720)},
	{"exp5", math.Float32bits(1.0 / 120)}, {"exp4", math.Float32bits(1.0 / 24)},
	{"exp3", math.Float32bits(1.0 / 6)}, {"exp2", math.Float32bits(0.5)},
	{"one", math.Float32bits(1)},
	{"sign", 0x80000000},
	{"bias", 127},
	{"lo", math.Float32bits(-104)}, {"hi", math.Float32bits(89)},
}

func m2(name string) string {
	for i, c := range mathf2Consts {
		if c.name == name {
			return fmt.Sprintf("%d(R8)", 32*i)
		}
	}
	panic("mathf2: no constant " + name)
}

// exp2Body sets p = e**x for the vector in x (clobbered), with scratch
// k, r, ki, k1; Y14 and Y15 hold the clamp bounds.
func exp2Body(a *asm, x, k, r, p, ki, k1 string) {
	a.i("VMAXPS %s, Y14, %s", x, x)
	a.i("VMINPS %s, Y15, %s", x, x)
	a.i("VMULPS %s, %s, %s", m2("log2e"), x, k)
	a.i("VROUNDPS $0, %s, %s", k, k)
	a.i("VMOVAPS %s, %s", x, r)
	a.i("VFNMADD231PS %s, %s, %s", m2("ln2Hi"), k, r)
	a.i("VFNMADD231PS %s, %s, %s", m2("ln2Lo"), k, r)
	a.i("VMOVUPS %s, %s", m2("exp7"), p)
	for _, c := range []string{"exp6", "exp5", "exp4", "exp3", "exp2", "one", "one"} {
		a.i("VFMADD213PS %s, %s, %s", m2(c), r, p)
	}
	a.i("VCVTPS2DQ %s, %s", k, ki)
	a.i("VPSRAD $1, %s, %s", ki, k1)
	a.i("VPSUBD %s, %s, %s", k1, ki, ki)
	a.i("VPADDD %s, %s, %s", m2("bias"), k1, k1)
	a.i("VPSLLD $23, %s, %s", k1, k1)
	a.i("VPADDD %s, %s, %s", m2("bias"), ki, ki)
	a.i("VPSLLD $23, %s, %s", ki, ki)
	a.i("VMULPS %s, %s, %s", k1, p, p)
	a.i("VMULPS %s, %s, %s", ki, p, p)
}

// mathf2Ops: per vector, registers base..base+6 (x first); the result
// goes back to x.
var mathf2Ops = []struct {
	name string
	body func(a *asm, y []string)
}{
	{"expAvx2", func(a *asm, y []string) {
		exp2Body(a, y[0], y[1], y[2], y[3], y[4], y[5])
		a.i("VMOVAPS %s, %s", y[3], y[0])
	}},
	{"sigmoidAvx2", func(a *asm, y []string) {
		// e = e**-|x|; sigmoid = (x < 0 ? e : 1) / (1 + e).
		x, t, k, r, p := y[0], y[1], y[2], y[3], y[4]
		a.i("VORPS %s, %s, %s", m2("sign"), x, t)
		exp2Body(a, t, k, r, p, y[5], y[6])
		a.i("VCMPPS $1, %s, %s, %s", m2("sign"), x, k) // x < -0.0: never true for NaN
		a.i("VMOVUPS %s, %s", m2("one"), r)
		a.i("VBLENDVPS %s, %s, %s, %s", k, p, r, r)
		a.i("VADDPS %s, %s, %s", m2("one"), p, p)
		a.i("VDIVPS %s, %s, %s", p, r, x)
	}},
}

func genMathf2(a *asm) {
	a.p("")
	for i, c := range mathf2Consts {
		for l := 0; l < 8; l++ {
			a.p("DATA mathf2C<>+%d(SB)/4, $0x%08x // %s", 32*i+4*l, c.bits, c.name)
		}
	}
	a.p("GLOBL mathf2C<>(SB), RODATA|NOPTR, $%d", 32*len(mathf2Consts))
	regs := func(base int) []string {
		var r []string
		for i := base; i < base+7; i++ {
			r = append(r, fmt.Sprintf("Y%d", i))
		}
		return r
	}
	for _, op := range mathf2Ops {
		l := op.name
		a.p("")
		a.p("// func %s(dst, src *float32, n int)", op.name)
		a.p("TEXT ·%s(SB), NOSPLIT, $0-24", op.name)
		a.i("MOVQ dst+0(FP), DI")
		a.i("MOVQ src+8(FP), SI")
		a.i("MOVQ n+16(FP), CX")
		a.i("LEAQ mathf2C<>(SB), R8")
		a.i("VMOVUPS %s, Y14", m2("lo"))
		a.i("VMOVUPS %s, Y15", m2("hi"))
		a.p("%s_x2:", l)
		a.i("CMPQ CX, $16")
		a.i("JLT %s_x1", l)
		a.i("VMOVUPS (SI), Y0")
		a.i("VMOVUPS 32(SI), Y7")
		op.body(a, regs(0))
		op.body(a, regs(7))
		a.i("VMOVUPS Y0, (DI)")
		a.i("VMOVUPS Y7, 32(DI)")
		a.i("ADDQ $64, SI")
		a.i("ADDQ $64, DI")
		a.i("SUBQ $16, CX")
		a.i("JMP %s_x2", l)
		a.p("%s_x1:", l)
		a.i("CMPQ CX, $8")
		a.i("JLT %s_done", l)
		a.i("VMOVUPS (SI), Y0")
		op.body(a, regs(0))
		a.i("VMOVUPS Y0, (DI)")
		a.i("ADDQ $32, SI")
		a.i("ADDQ $32, DI")
		a.i("SUBQ $8, CX")
		a.i("JMP %s_x1", l)
		a.p("%s_done:", l)
		a.i("VZEROUPPER")
		a.i("RET")
	}
}

func genMathf2Decl(a *asm) {
	for _, op := range mathf2Ops {
		a.p("")
		a.p("//go:noescape")
		a.p("func %s(dst, src *float32, n int)", op.name)
	}
}
