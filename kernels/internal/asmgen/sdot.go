package main

import "fmt"

// sdotArgs is the Go declaration of the dot-product kernels.
const sdotArgs = "(k int, a *float32, lda int, b *float32, ldb int, out *float32, mask uint64)"

// genSdot emits AVX-512 kernels computing the m×n dot products
//
//	out[4i+j] = Σ_{t<k} a[i·lda + t] · b[j·ldb + t]   (strides in bytes)
//
// for m, n ≤ 4: the product of A with a transposed B when A has few rows,
// where packing B would cost as much as the multiplication. The last
// k mod 16 values are loaded under mask (K1), so nothing past a row is
// read.
//
// Registers: accumulators Z0..Z15 (4i+j), A vectors Z16..Z19, B vectors
// Z20..Z23, reduction temporaries Z24, Z25.
func genSdot(a *asm) {
	for m := 1; m <= 4; m++ {
		for n := 1; n <= 4; n++ {
			sdot(a, m, n)
		}
	}
}

func sdot(a *asm, m, n int) {
	name := fmt.Sprintf("sdotAvx512M%dN%d", m, n)
	acc := func(i, j int) int { return 4*i + j }
	row := func(base, ld, ld3 string, i int) string {
		switch i {
		case 0:
			return fmt.Sprintf("(%s)", base)
		case 1:
			return fmt.Sprintf("(%s)(%s*1)", base, ld)
		case 2:
			return fmt.Sprintf("(%s)(%s*2)", base, ld)
		}
		return fmt.Sprintf("(%s)(%s*1)", base, ld3)
	}
	a.p("")
	a.p("// func %s%s", name, sdotArgs)
	a.p("TEXT ·%s(SB), NOSPLIT, $0-56", name)
	a.i("MOVQ k+0(FP), CX")
	a.i("MOVQ a+8(FP), SI")
	a.i("MOVQ lda+16(FP), R8")
	a.i("MOVQ b+24(FP), DX")
	a.i("MOVQ ldb+32(FP), R9")
	a.i("MOVQ out+40(FP), DI")
	a.i("MOVQ mask+48(FP), AX")
	a.i("KMOVW AX, K1")
	a.i("LEAQ (R8)(R8*2), R10")
	a.i("LEAQ (R9)(R9*2), R11")
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			a.i("VPXORD Z%d, Z%d, Z%d", acc(i, j), acc(i, j), acc(i, j))
		}
	}
	step := func(masked bool) {
		for i := 0; i < m; i++ {
			if masked {
				a.i("VMOVUPS.Z %s, K1, Z%d", row("SI", "R8", "R10", i), 16+i)
			} else {
				a.i("VMOVUPS %s, Z%d", row("SI", "R8", "R10", i), 16+i)
			}
		}
		for j := 0; j < n; j++ {
			if masked {
				a.i("VMOVUPS.Z %s, K1, Z%d", row("DX", "R9", "R11", j), 20+j)
			} else {
				a.i("VMOVUPS %s, Z%d", row("DX", "R9", "R11", j), 20+j)
			}
		}
		for i := 0; i < m; i++ {
			for j := 0; j < n; j++ {
				a.i("VFMADD231PS Z%d, Z%d, Z%d", 20+j, 16+i, acc(i, j))
			}
		}
	}
	a.p("%sloop:", name)
	a.i("CMPQ CX, $16")
	a.i("JLT %stail", name)
	step(false)
	a.i("ADDQ $64, SI")
	a.i("ADDQ $64, DX")
	a.i("SUBQ $16, CX")
	a.i("JMP %sloop", name)
	a.p("%stail:", name)
	a.i("TESTQ CX, CX")
	a.i("JZ %sreduce", name)
	step(true)
	a.p("%sreduce:", name)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			z := acc(i, j)
			a.i("VEXTRACTF64X4 $1, Z%d, Y24", z)
			a.i("VADDPS Y24, Y%d, Y24", z)
			a.i("VEXTRACTF32X4 $1, Y24, X25")
			a.i("VADDPS X25, X24, X24")
			a.i("VPERMILPS $0x4E, X24, X25") // swap 64-bit halves
			a.i("VADDPS X25, X24, X24")
			a.i("VPERMILPS $0xB1, X24, X25") // swap neighbours
			a.i("VADDPS X25, X24, X24")
			a.i("VMOVSS X24, %d(DI)", 4*z)
		}
	}
	a.i("VZEROUPPER")
	a.i("RET")
}

func genSdotDecl(a *asm) {
	a.p("")
	a.p("// sdotAvx512Kernels[m-1][n-1] computes m×n dot products.")
	a.p("var sdotAvx512Kernels = [4][4]func%s{", sdotArgs)
	for m := 1; m <= 4; m++ {
		a.buf.WriteString("{")
		for n := 1; n <= 4; n++ {
			fmt.Fprintf(&a.buf, "sdotAvx512M%dN%d, ", m, n)
		}
		a.p("},")
	}
	a.p("}")
	for m := 1; m <= 4; m++ {
		for n := 1; n <= 4; n++ {
			a.p("")
			a.p("//go:noescape")
			a.p("func sdotAvx512M%dN%d%s", m, n, sdotArgs)
		}
	}
}
