package main

import "fmt"

// q8Args is the Go declaration of the AVX2 u8×s8 int8 kernels: A packed
// as, for each group of 4 k, 4 bytes per row (4·mr bytes, mr = qgemmMR);
// B as, for each group, 4 bytes per column (row stride bstride bytes).
// flags bit 0: add the tile to C instead of storing it. Zero-point
// corrections are applied by the caller.
const q8Args = "(kg int, a, b *byte, bstride int, c *int32, ldc int, flags int)"

// q8Variants names the two operand orders: in "As" A holds the signed
// bytes (weights of a convolution) and B the unsigned ones; in "Bs" the
// other way round (weights of a MatMul).
var q8Variants = []string{"As", "Bs"}

func genQ8(a *asm) {
	a.p("")
	a.p("// q8ones holds sixteen int16 ones, the VPMADDWD factor that widens")
	a.p("// pairs of int16 into int32 sums.")
	for o := 0; o < 32; o += 8 {
		a.p("DATA ·q8ones+%d(SB)/8, $0x0001000100010001", o)
	}
	a.p("GLOBL ·q8ones(SB), RODATA|NOPTR, $32")
	for _, v := range q8Variants {
		for m := 1; m <= qgemmMR; m++ {
			q8Kernel(a, v, m)
		}
	}
}

// q8Kernel emits an AVX2 kernel for a full m×16 int32 tile over groups of
// four k: VPMADDUBSW multiplies unsigned by signed bytes and adds adjacent
// pairs into int16 with signed saturation, VPMADDWD by ones adds the two
// int16 of each int32 lane, VPADDD accumulates. It is exact when the
// signed bytes lie in [-64, 64]: a pair sum is at most 2·255·64 = 32640
// in magnitude, below the int16 saturation bound. The callers check that
// bound once when the weights are packed.
//
// Registers: accumulators Y0..Y(2m-1), B vectors Y12 and Y13, the
// broadcast A group in Y14, products in Y15; the ones from memory.
func q8Kernel(a *asm, variant string, m int) {
	acc := func(i, v int) string { return fmt.Sprintf("Y%d", 2*i+v) }
	name := fmt.Sprintf("q8%sM%d", variant, m)
	a.p("")
	a.p("// func %s%s", name, q8Args)
	a.p("TEXT ·%s(SB), NOSPLIT, $0-56", name)
	a.i("MOVQ kg+0(FP), CX")
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
			for v := 0; v < 2; v++ {
				// Go operand order: signed source first, then unsigned.
				if variant == "As" {
					a.i("VPMADDUBSW Y14, Y%d, Y15", 12+v)
				} else {
					a.i("VPMADDUBSW Y%d, Y14, Y15", 12+v)
				}
				a.i("VPMADDWD ·q8ones(SB), Y15, Y15")
				a.i("VPADDD Y15, %s, %s", acc(i, v), acc(i, v))
			}
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

func genQ8Decl(a *asm) {
	for _, v := range q8Variants {
		a.p("")
		a.p("// q8%sKernels[m-1] computes a full m×16 int32 tile (see q8_amd64.s).", v)
		a.p("var q8%sKernels = [%d]func%s{", v, qgemmMR, q8Args)
		for m := 1; m <= qgemmMR; m++ {
			fmt.Fprintf(&a.buf, "q8%sM%d, ", v, m)
		}
		a.p("}")
		for m := 1; m <= qgemmMR; m++ {
			a.p("")
			a.p("//go:noescape")
			a.p("func q8%sM%d%s", v, m, q8Args)
		}
	}
}
