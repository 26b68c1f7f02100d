package main

import (
	"fmt"
	"math"
)

// AVX2 versions of the element-wise math kernels (mathf.go has the
// AVX-512 ones), for CPUs without AVX-512: the same clamp to [-104, 89],
// the same fused reduction r = x - k·ln2 and Taylor polynomial, and 2**k
// applied as two multiplications by 2**(k>>1) and 2**(k-(k>>1)), each a
// normal float32 for every clamped k, so that the result underflows to 0
// and overflows to +Inf as it should; erf and tanh use the same two
// branches as the AVX-512 kernels and the Go code, blended per lane.
// Each kernel maps 8·m floats, two vectors per iteration then one (one
// at a time for the kernels that need more registers); the Go wrapper
// does the rest.

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
	{"abs", 0x7fffffff}, {"half", math.Float32bits(0.5)}, {"two", math.Float32bits(2)},
	// erf on |x| < 1: 2/sqrt(pi) * (-1)**n / (n! (2n+1)), highest n first.
	{"erf9", math.Float32bits(-1.6365844691234924e-07)}, {"erf8", math.Float32bits(1.6462114365889246e-06)},
	{"erf7", math.Float32bits(-1.4925650358406252e-05)}, {"erf6", math.Float32bits(0.00012055332981789664)},
	{"erf5", math.Float32bits(-0.0008548327023450852)}, {"erf4", math.Float32bits(0.005223977625442188)},
	{"erf3", math.Float32bits(-0.026866170645131252)}, {"erf2", math.Float32bits(0.11283791670955126)},
	{"erf1", math.Float32bits(-0.37612638903183754)}, {"erf0", math.Float32bits(1.1283791670955126)},
	// erf on |x| >= 1: Abramowitz & Stegun 7.1.26.
	{"asP", math.Float32bits(0.3275911)}, {"as5", math.Float32bits(1.061405429)},
	{"as4", math.Float32bits(-1.453152027)}, {"as3", math.Float32bits(1.421413741)},
	{"as2", math.Float32bits(-0.284496736)}, {"as1", math.Float32bits(0.254829592)},
	{"erfMax", math.Float32bits(4)},
	// tanh on |x| < 0.3: Taylor in x**2, highest power first.
	{"tanh5", math.Float32bits(-1382.0 / 155925)}, {"tanh4", math.Float32bits(62.0 / 2835)},
	{"tanh3", math.Float32bits(-17.0 / 315)}, {"tanh2", math.Float32bits(2.0 / 15)},
	{"tanh1", math.Float32bits(-1.0 / 3)},
	{"tanhSmall", math.Float32bits(0.3)}, {"tanhMax", math.Float32bits(9.1)},
	{"sqrtHalf", math.Float32bits(0.70710678118654752)},
	{"geluK", math.Float32bits(0.7978845608028654)}, {"geluC", math.Float32bits(0.044715)},
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

// horner2 sets dst = poly(v) with the named coefficients, highest power
// first; dst must differ from v.
func horner2(a *asm, dst, v string, coefs ...string) {
	a.i("VMOVUPS %s, %s", m2(coefs[0]), dst)
	for _, c := range coefs[1:] {
		a.i("VFMADD213PS %s, %s, %s", m2(c), v, dst)
	}
}

// erf2Body sets dst = erf(src), keeping src until the last instruction
// (dst may be src); r holds nine scratch registers, neither. Both
// branches are computed: x·P(x²) for |x| < 1, and 1 - t·P(t)·e**(-x²),
// t = 1/(1 + p·|x|), with |x| clamped to 4, signed like x; the lane's
// branch is chosen by a blend.
func erf2Body(a *asm, dst, src string, r []string) {
	ax, mask, e, s, t, q, p, ki, k1 := r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8]
	a.i("VANDPS %s, %s, %s", m2("abs"), src, ax)
	a.i("VCMPPS $1, %s, %s, %s", m2("one"), ax, mask) // |x| < 1; false for NaN
	// Small branch into s.
	a.i("VMULPS %s, %s, %s", src, src, e)
	horner2(a, s, e, "erf9", "erf8", "erf7", "erf6", "erf5", "erf4", "erf3", "erf2", "erf1", "erf0")
	a.i("VMULPS %s, %s, %s", src, s, s)
	// Large branch.
	a.i("VMOVUPS %s, %s", m2("erfMax"), e)
	a.i("VMINPS %s, %s, %s", ax, e, ax) // keeps NaN
	a.i("VMOVUPS %s, %s", m2("asP"), e)
	a.i("VFMADD213PS %s, %s, %s", m2("one"), ax, e)
	a.i("VMOVUPS %s, %s", m2("one"), t)
	a.i("VDIVPS %s, %s, %s", e, t, t)
	horner2(a, q, t, "as5", "as4", "as3", "as2", "as1")
	a.i("VMULPS %s, %s, %s", t, q, q)
	a.i("VXORPS %s, %s, %s", e, e, e)
	a.i("VFNMADD231PS %s, %s, %s", ax, ax, e) // e = -x²
	exp2Body(a, e, ax, t, p, ki, k1)
	a.i("VMOVUPS %s, %s", m2("one"), e)
	a.i("VFNMADD231PS %s, %s, %s", q, p, e)
	a.i("VANDPS %s, %s, %s", m2("sign"), src, q)
	a.i("VORPS %s, %s, %s", q, e, e)
	a.i("VBLENDVPS %s, %s, %s, %s", mask, s, e, dst)
}

// tanh2Body sets dst = tanh(src), keeping src: x + x·z·P(z), z = x², for
// |x| < 0.3, else 1 - 2/(e**(2|x|) + 1) with |x| clamped to 9.1, signed
// like x, blended per lane; registers as erf2Body.
func tanh2Body(a *asm, dst, src string, r []string) {
	ax, mask, z, s, w, p, ki, k1, k := r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8]
	a.i("VANDPS %s, %s, %s", m2("abs"), src, ax)
	a.i("VCMPPS $1, %s, %s, %s", m2("tanhSmall"), ax, mask)
	a.i("VMULPS %s, %s, %s", src, src, z)
	horner2(a, s, z, "tanh5", "tanh4", "tanh3", "tanh2", "tanh1")
	a.i("VMULPS %s, %s, %s", src, z, z)
	a.i("VFMADD213PS %s, %s, %s", src, z, s)
	a.i("VMOVUPS %s, %s", m2("tanhMax"), w)
	a.i("VMINPS %s, %s, %s", ax, w, ax) // keeps NaN
	a.i("VADDPS %s, %s, %s", ax, ax, ax)
	exp2Body(a, ax, k, z, p, ki, k1)
	a.i("VADDPS %s, %s, %s", m2("one"), p, p)
	a.i("VMOVUPS %s, %s", m2("two"), w)
	a.i("VDIVPS %s, %s, %s", p, w, w)
	a.i("VMOVUPS %s, %s", m2("one"), p)
	a.i("VSUBPS %s, %s, %s", w, p, p)
	a.i("VANDPS %s, %s, %s", m2("sign"), src, w)
	a.i("VORPS %s, %s, %s", w, p, p)
	a.i("VBLENDVPS %s, %s, %s, %s", mask, s, p, dst)
}

// mathf2Ops: per vector, registers base..base+6 (x first); the result
// goes back to x. Ops marked wide use registers Y0..Y13 for one vector.
var mathf2Ops = []struct {
	name string
	wide bool
	body func(a *asm, y []string)
}{
	{"erfAvx2", true, func(a *asm, y []string) {
		erf2Body(a, y[0], y[0], y[1:])
	}},
	{"tanhAvx2", true, func(a *asm, y []string) {
		tanh2Body(a, y[0], y[0], y[1:])
	}},
	{"geluAvx2", true, func(a *asm, y []string) {
		// h·erf(x/√2) + h, h = x/2.
		x, u, h := y[0], y[11], y[12]
		a.i("VMULPS %s, %s, %s", m2("sqrtHalf"), x, u)
		a.i("VMULPS %s, %s, %s", m2("half"), x, h)
		erf2Body(a, x, u, y[1:10])
		a.i("VFMADD213PS %s, %s, %s", h, h, x)
	}},
	{"geluTanhAvx2", true, func(a *asm, y []string) {
		// h·tanh(√(2/π)·x·(1 + 0.044715·x²)) + h, h = x/2.
		x, u, h, w := y[0], y[11], y[12], y[13]
		a.i("VMULPS %s, %s, %s", x, x, u)
		a.i("VMULPS %s, %s, %s", m2("half"), x, h)
		a.i("VMOVUPS %s, %s", m2("geluC"), w)
		a.i("VFMADD213PS %s, %s, %s", m2("one"), u, w)
		a.i("VMULPS %s, %s, %s", x, w, u)
		a.i("VMULPS %s, %s, %s", m2("geluK"), u, u)
		tanh2Body(a, x, u, y[1:10])
		a.i("VFMADD213PS %s, %s, %s", h, h, x)
	}},
	{"expAvx2", false, func(a *asm, y []string) {
		exp2Body(a, y[0], y[1], y[2], y[3], y[4], y[5])
		a.i("VMOVAPS %s, %s", y[3], y[0])
	}},
	{"sigmoidAvx2", false, func(a *asm, y []string) {
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

// regs14 are the registers a wide op may use (Y14, Y15: exp's clamps).
var regs14 = []string{"Y0", "Y1", "Y2", "Y3", "Y4", "Y5", "Y6", "Y7", "Y8", "Y9", "Y10", "Y11", "Y12", "Y13"}

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
		if !op.wide {
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
		}
		a.p("%s_x1:", l)
		a.i("CMPQ CX, $8")
		a.i("JLT %s_done", l)
		a.i("VMOVUPS (SI), Y0")
		if op.wide {
			op.body(a, regs14)
		} else {
			op.body(a, regs(0))
		}
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
