package main

import "fmt"

// genRowSum emits rowSumAvx512 and rowSumAvx2, which return the float32
// sum of n floats at x, n a multiple of the vector length (16 or 8; the
// caller adds the rest). Four accumulators take four vectors per step,
// then one vector per step; the partial sums are added pairwise.
func genRowSum(a *asm) {
	for _, isa := range []struct {
		name  string
		reg   string
		lanes int
	}{{"rowSumAvx512", "Z", 16}, {"rowSumAvx2", "Y", 8}} {
		v := func(i int) string { return fmt.Sprintf("%s%d", isa.reg, i) }
		vb := 4 * isa.lanes
		name := isa.name
		a.p("")
		a.p("// func %s(x *float32, n int) float32", name)
		a.p("TEXT ·%s(SB), NOSPLIT, $0-20", name)
		a.i("MOVQ x+0(FP), SI")
		a.i("MOVQ n+8(FP), CX")
		for i := 0; i < 4; i++ {
			a.i("VXORPS %s, %s, %s", v(i), v(i), v(i))
		}
		a.p("%s4:", name)
		a.i("CMPQ CX, $%d", 4*isa.lanes)
		a.i("JLT %s1", name)
		for i := 0; i < 4; i++ {
			off := ""
			if i > 0 {
				off = fmt.Sprint(vb * i)
			}
			a.i("VADDPS %s(SI), %s, %s", off, v(i), v(i))
		}
		a.i("ADDQ $%d, SI", 4*vb)
		a.i("SUBQ $%d, CX", 4*isa.lanes)
		a.i("JMP %s4", name)
		a.p("%s1:", name)
		a.i("TESTQ CX, CX")
		a.i("JZ %sdone", name)
		a.i("VADDPS (SI), %s, %s", v(0), v(0))
		a.i("ADDQ $%d, SI", vb)
		a.i("SUBQ $%d, CX", isa.lanes)
		a.i("JMP %s1", name)
		a.p("%sdone:", name)
		a.i("VADDPS %s, %s, %s", v(1), v(0), v(0))
		a.i("VADDPS %s, %s, %s", v(3), v(2), v(2))
		a.i("VADDPS %s, %s, %s", v(2), v(0), v(0))
		if isa.lanes == 16 {
			a.i("VEXTRACTF64X4 $1, Z0, Y1")
			a.i("VADDPS Y1, Y0, Y0")
		}
		a.i("VEXTRACTF128 $1, Y0, X1")
		a.i("VADDPS X1, X0, X0")
		a.i("VMOVHLPS X0, X0, X1")
		a.i("VADDPS X1, X0, X0")
		a.i("VMOVSHDUP X0, X1")
		a.i("VADDSS X1, X0, X0")
		a.i("VZEROUPPER")
		a.i("MOVSS X0, ret+16(FP)")
		a.i("RET")
	}
}

func genRowSumDecl(a *asm) {
	for _, name := range []string{"rowSumAvx512", "rowSumAvx2"} {
		a.p("")
		a.p("//go:noescape")
		a.p("func %s(x *float32, n int) float32", name)
	}
}
