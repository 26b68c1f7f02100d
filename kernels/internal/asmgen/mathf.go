package main

import (
	"fmt"
	"math"
	"strings"
)

// mathfArgs is the Go declaration of the element-wise math kernels.
const mathfArgs = "(dst, src *float32, n int)"

// mathfConsts is the constant table the math kernels read (as broadcast
// memory operands off R8), in order; mathfOff maps a name to its offset.
var mathfConsts = []struct {
	name string
	val  float32
}{
	{"one", 1}, {"half", 0.5}, {"two", 2},
	{"expLo", -104}, {"expHi", 89},
	{"log2e", 1.44269504088896341}, {"ln2Hi", 0.693359375}, {"ln2Lo", -2.12194440e-4},
	// e**r to r**7 (Taylor), highest power first.
	{"exp7", 1.0 / 5040}, {"exp6", 1.0 / 720}, {"exp5", 1.0 / 120}, {"exp4", 1.0 / 24},
	{"exp3", 1.0 / 6}, {"exp2", 0.5},
	// erf on |x| < 1: 2/sqrt(pi) * (-1)**n / (n! (2n+1)), highest n first.
	{"erf9", -1.6365844691234924e-07}, {"erf8", 1.6462114365889246e-06},
	{"erf7", -1.4925650358406252e-05}, {"erf6", 0.00012055332981789664},
	{"erf5", -0.0008548327023450852}, {"erf4", 0.005223977625442188},
	{"erf3", -0.026866170645131252}, {"erf2", 0.11283791670955126},
	{"erf1", -0.37612638903183754}, {"erf0", 1.1283791670955126},
	// erf on |x| >= 1: Abramowitz & Stegun 7.1.26.
	{"asP", 0.3275911}, {"as5", 1.061405429}, {"as4", -1.453152027},
	{"as3", 1.421413741}, {"as2", -0.284496736}, {"as1", 0.254829592},
	{"erfMax", 4},
	// tanh on |x| < 0.3: Taylor in x**2, highest power first.
	{"tanh5", -1382.0 / 155925}, {"tanh4", 62.0 / 2835}, {"tanh3", -17.0 / 315},
	{"tanh2", 2.0 / 15}, {"tanh1", -1.0 / 3},
	{"tanhSmall", 0.3}, {"tanhMax", 9.1},
	{"sqrtHalf", 0.70710678118654752},
	{"geluK", 0.7978845608028654}, {"geluC", 0.044715},
}

// Bit masks in the table (not floats).
const (
	mathfAbsMask  = 0x7fffffff
	mathfSignMask = 0x80000000
)

func mathfOff(name string) string {
	switch name {
	case "abs":
		return fmt.Sprintf("%d(R8)", 4*len(mathfConsts))
	case "sign":
		return fmt.Sprintf("%d(R8)", 4*len(mathfConsts)+4)
	}
	for i, c := range mathfConsts {
		if c.name == name {
			return fmt.Sprintf("%d(R8)", 4*i)
		}
	}
	panic("mathf: no constant " + name)
}

// mathfOps lists the kernels: the Go name and the body that maps the
// vector in register x to its result in x.
var mathfOps = []struct {
	name string
	body func(m *mathfGen)
}{
	{"expAvx512", func(m *mathfGen) { m.exp(m.x, m.x) }},
	{"erfAvx512", func(m *mathfGen) { m.erf(m.x, m.x) }},
	{"tanhAvx512", func(m *mathfGen) { m.tanh(m.x, m.x) }},
	{"sigmoidAvx512", (*mathfGen).sigmoid},
	{"geluAvx512", (*mathfGen).gelu},
	{"geluTanhAvx512", (*mathfGen).geluTanh},
}

// mathfGen emits the body for one vector: x is its input and output
// register, t[0..9] its scratch registers, k its blend mask. Z30 and
// Z31 hold the clamp bounds of exp, R8 the constant table.
type mathfGen struct {
	a *asm
	x string
	t []string
	k string
}

// newMathfGen uses Z(base)..Z(base+10) and mask k.
func newMathfGen(a *asm, base int, k string) *mathfGen {
	m := &mathfGen{a: a, x: fmt.Sprintf("Z%d", base), k: k}
	for r := base + 1; r <= base+10; r++ {
		m.t = append(m.t, fmt.Sprintf("Z%d", r))
	}
	return m
}

// genMathf emits the constant table and one kernel per entry of
// mathfOps. Each kernel maps n floats from src to dst: two vectors per
// iteration (their registers Z0..Z10 and Z11..Z21 are disjoint, so the
// two dependency chains overlap), then one, then the last n mod 16
// under mask K1 (loads zero the missing lanes, stores skip them).
func genMathf(a *asm) {
	a.p("")
	for i, c := range mathfConsts {
		a.p("DATA mathfC<>+%d(SB)/4, $0x%08x // %s", 4*i, math.Float32bits(c.val), c.name)
	}
	n := len(mathfConsts)
	a.p("DATA mathfC<>+%d(SB)/4, $0x%08x // abs", 4*n, mathfAbsMask)
	a.p("DATA mathfC<>+%d(SB)/4, $0x%08x // sign", 4*n+4, mathfSignMask)
	a.p("GLOBL mathfC<>(SB), RODATA|NOPTR, $%d", 4*n+8)
	for _, op := range mathfOps {
		v0, v1 := newMathfGen(a, 0, "K2"), newMathfGen(a, 11, "K3")
		l := strings.TrimSuffix(op.name, "Avx512")
		a.p("")
		a.p("// func %s%s", op.name, mathfArgs)
		a.p("TEXT ·%s(SB), NOSPLIT, $0-24", op.name)
		a.i("MOVQ dst+0(FP), DI")
		a.i("MOVQ src+8(FP), SI")
		a.i("MOVQ n+16(FP), CX")
		a.i("LEAQ mathfC<>(SB), R8")
		a.i("VBROADCASTSS %s, Z30", mathfOff("expLo"))
		a.i("VBROADCASTSS %s, Z31", mathfOff("expHi"))
		a.i("CMPQ CX, $32")
		a.i("JLT %sone", l)
		a.p("%sloop:", l)
		a.i("VMOVUPS (SI), Z0")
		a.i("VMOVUPS 64(SI), Z11")
		op.body(v0)
		op.body(v1)
		a.i("VMOVUPS Z0, (DI)")
		a.i("VMOVUPS Z11, 64(DI)")
		a.i("ADDQ $128, SI")
		a.i("ADDQ $128, DI")
		a.i("SUBQ $32, CX")
		a.i("CMPQ CX, $32")
		a.i("JGE %sloop", l)
		a.p("%sone:", l)
		a.i("CMPQ CX, $16")
		a.i("JLT %stail", l)
		a.i("VMOVUPS (SI), Z0")
		op.body(v0)
		a.i("VMOVUPS Z0, (DI)")
		a.i("ADDQ $64, SI")
		a.i("ADDQ $64, DI")
		a.i("SUBQ $16, CX")
		a.p("%stail:", l)
		a.i("TESTQ CX, CX")
		a.i("JZ %sdone", l)
		a.i("MOVL $1, AX")
		a.i("SHLL CX, AX")
		a.i("DECL AX")
		a.i("KMOVW AX, K1")
		a.i("VMOVUPS.Z (SI), K1, Z0")
		op.body(v0)
		a.i("VMOVUPS Z0, K1, (DI)")
		a.p("%sdone:", l)
		a.i("VZEROUPPER")
		a.i("RET")
	}
}

func (m *mathfGen) i(format string, args ...any) { m.a.i(format, args...) }

// c is the broadcast memory operand of a table constant.
func (m *mathfGen) c(name string) string { return mathfOff(name) }

// horner sets dst = poly(v) with the named coefficients, highest power
// first; dst must differ from v.
func (m *mathfGen) horner(dst, v string, coefs ...string) {
	m.i("VBROADCASTSS %s, %s", m.c(coefs[0]), dst)
	for _, c := range coefs[1:] {
		m.i("VFMADD213PS.BCST %s, %s, %s", m.c(c), v, dst)
	}
}

// exp sets dst = e**src (src is clobbered; scratch t[0], t[1]). The
// input is clamped to [-104, 89] so that ±Inf need no special case
// (the scaling then overflows to +Inf or underflows to 0); NaNs pass
// through the clamps because x is the instructions' second source.
// k = round(x·log2e), r = x - k·ln2 in two parts, e**r by its Taylor
// polynomial to r**7, and VSCALEFPS multiplies by 2**k.
func (m *mathfGen) exp(dst, src string) {
	k, r := m.t[0], m.t[1]
	m.i("VMAXPS %s, Z30, %s", src, src)
	m.i("VMINPS %s, Z31, %s", src, src)
	m.i("VMULPS.BCST %s, %s, %s", m.c("log2e"), src, k)
	m.i("VRNDSCALEPS $0, %s, %s", k, k)
	m.i("VMOVAPS %s, %s", src, r)
	m.i("VFNMADD231PS.BCST %s, %s, %s", m.c("ln2Hi"), k, r)
	m.i("VFNMADD231PS.BCST %s, %s, %s", m.c("ln2Lo"), k, r)
	m.horner(dst, r, "exp7", "exp6", "exp5", "exp4", "exp3", "exp2", "one", "one")
	m.i("VSCALEFPS %s, %s, %s", k, dst, dst)
}

// erf sets dst = erf(src), keeping src (scratch t[0..5]): both the
// Taylor branch (|x| < 1) and the A&S branch (|x| clamped to 4) are
// computed and blended under mask k.
func (m *mathfGen) erf(dst, src string) {
	ax, s, t, q, e := m.t[2], m.t[3], m.t[4], m.t[5], m.t[6]
	m.i("VPANDD.BCST %s, %s, %s", m.c("abs"), src, ax)
	m.i("VCMPPS.BCST $1, %s, %s, %s", m.c("one"), ax, m.k) // |x| < 1
	// Small branch: x·P(x²) into s.
	m.i("VMULPS %s, %s, %s", src, src, e)
	m.horner(s, e, "erf9", "erf8", "erf7", "erf6", "erf5", "erf4", "erf3", "erf2", "erf1", "erf0")
	m.i("VMULPS %s, %s, %s", src, s, s)
	// Large branch: 1 - t·P(t)·e**(-x²), t = 1/(1 + p·|x|).
	m.i("VBROADCASTSS %s, %s", m.c("erfMax"), e)
	m.i("VMINPS %s, %s, %s", ax, e, ax) // keeps NaN
	m.i("VBROADCASTSS %s, %s", m.c("asP"), e)
	m.i("VFMADD213PS.BCST %s, %s, %s", m.c("one"), ax, e)
	m.i("VBROADCASTSS %s, %s", m.c("one"), t)
	m.i("VDIVPS %s, %s, %s", e, t, t)
	m.horner(q, t, "as5", "as4", "as3", "as2", "as1")
	m.i("VMULPS %s, %s, %s", t, q, q)
	m.i("VPXORD %s, %s, %s", e, e, e)
	m.i("VFNMADD231PS %s, %s, %s", ax, ax, e)
	m.exp(t, e)
	d := dst0(m, dst, src, e)
	m.i("VBROADCASTSS %s, %s", m.c("one"), d)
	m.i("VFNMADD231PS %s, %s, %s", t, q, d)
	m.i("VPANDD.BCST %s, %s, %s", m.c("sign"), src, q)
	m.i("VPORD %s, %s, %s", q, d, d)
	m.i("VMOVAPS %s, %s, %s", s, m.k, d)
	if d != dst {
		m.i("VMOVAPS %s, %s", d, dst)
	}
}

// dst0 is the register the result is built in: dst unless it aliases
// src, which is still needed for the sign.
func dst0(m *mathfGen, dst, src, spare string) string {
	if dst == src {
		return spare
	}
	return dst
}

// tanh sets dst = tanh(src), keeping src (scratch t[0..6]): the Taylor
// branch for |x| < 0.3, else 1 - 2/(e**(2|x|)+1) with |x| clamped to
// 9.1, blended under mask k.
func (m *mathfGen) tanh(dst, src string) {
	ax, s, z, e, w := m.t[2], m.t[3], m.t[4], m.t[5], m.t[6]
	m.i("VPANDD.BCST %s, %s, %s", m.c("abs"), src, ax)
	m.i("VCMPPS.BCST $1, %s, %s, %s", m.c("tanhSmall"), ax, m.k)
	// Small branch: x + x·z·P(z), z = x².
	m.i("VMULPS %s, %s, %s", src, src, z)
	m.horner(s, z, "tanh5", "tanh4", "tanh3", "tanh2", "tanh1")
	m.i("VMULPS %s, %s, %s", src, z, z)
	m.i("VFMADD213PS %s, %s, %s", src, z, s)
	// Large branch.
	m.i("VBROADCASTSS %s, %s", m.c("tanhMax"), e)
	m.i("VMINPS %s, %s, %s", ax, e, ax) // keeps NaN
	m.i("VADDPS %s, %s, %s", ax, ax, ax)
	m.exp(e, ax)
	m.i("VADDPS.BCST %s, %s, %s", m.c("one"), e, e)
	m.i("VBROADCASTSS %s, %s", m.c("two"), w)
	m.i("VDIVPS %s, %s, %s", e, w, w)
	d := dst0(m, dst, src, e)
	m.i("VBROADCASTSS %s, %s", m.c("one"), d)
	m.i("VSUBPS %s, %s, %s", w, d, d)
	m.i("VPANDD.BCST %s, %s, %s", m.c("sign"), src, w)
	m.i("VPORD %s, %s, %s", w, d, d)
	m.i("VMOVAPS %s, %s, %s", s, m.k, d)
	if d != dst {
		m.i("VMOVAPS %s, %s", d, dst)
	}
}

// sigmoid: e = e**-|x|, then 1/(1+e) for x >= 0 and e/(1+e) for x < 0.
func (m *mathfGen) sigmoid() {
	x, n, e, num := m.x, m.t[2], m.t[3], m.t[4]
	m.i("VCMPPS.BCST $1, %s, %s, %s", m.c("sign"), x, m.k) // x < -0.0: never true for NaN
	m.i("VPORD.BCST %s, %s, %s", m.c("sign"), x, n)
	m.exp(e, n)
	m.i("VBROADCASTSS %s, %s", m.c("one"), num)
	m.i("VMOVAPS %s, %s, %s", e, m.k, num)
	m.i("VADDPS.BCST %s, %s, %s", m.c("one"), e, e)
	m.i("VDIVPS %s, %s, %s", e, num, x)
}

// gelu: h·(1 + erf(x/√2)) with h = x/2, as h·erf + h.
func (m *mathfGen) gelu() {
	x, u, h := m.x, m.t[7], m.t[8]
	m.i("VMULPS.BCST %s, %s, %s", m.c("sqrtHalf"), x, u)
	m.i("VMULPS.BCST %s, %s, %s", m.c("half"), x, h)
	m.erf(x, u)
	m.i("VFMADD213PS %s, %s, %s", h, h, x)
}

// geluTanh: h·(1 + tanh(√(2/π)·x·(1 + 0.044715·x²))).
func (m *mathfGen) geluTanh() {
	x, u, h, w := m.x, m.t[7], m.t[8], m.t[9]
	m.i("VMULPS %s, %s, %s", x, x, u)
	m.i("VMULPS.BCST %s, %s, %s", m.c("half"), x, h)
	m.i("VBROADCASTSS %s, %s", m.c("geluC"), w)
	m.i("VFMADD213PS.BCST %s, %s, %s", m.c("one"), u, w)
	m.i("VMULPS %s, %s, %s", x, w, u)
	m.i("VMULPS.BCST %s, %s, %s", m.c("geluK"), u, u)
	m.tanh(x, u)
	m.i("VFMADD213PS %s, %s, %s", h, h, x)
}
