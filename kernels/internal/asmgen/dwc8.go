package main

// dwc8Args is the Go declaration of the channel-interleaved depthwise
// row kernel.
const dwc8Args = "(out, in *float32, cols, pixStep int, offs *int64, ntaps int, w, bias *float32, lo, hi float32)"

// genDWC8 emits dwc8Avx2, the AVX2 depthwise kernel for small planes
// with eight channels interleaved (pixel-major, a vector per pixel, as
// NCHWc layouts hold them): one row of cols outputs,
//
//	out[8q + c] = min(max((Σ_t w[8t + c]·in[offs[t]/4 + q·pixStep/4 + c]) + bias[c], lo), hi)
//
// for q < cols and c < 8, with offs and pixStep in bytes (pixStep is 32
// times the horizontal stride). A small plane costs the per-plane
// kernels a call, a copy and short rows per channel; interleaved, eight
// channels share them and every tap is one vector per pixel. Pixels go
// four at a time (four accumulator chains), then one at a time. Each
// output sums its taps in order from zero, each product rounded before
// it is added, and adds the bias last: the same operations, so the same
// bits, as the portable row updates.
//
// Registers: accumulators Y0..Y3, weight Y8, bias Y9, lo Y10, hi Y11,
// products Y12..Y15; DI out, SI the first pixel's inputs, BX/R12/R13 the
// next three pixels', CX the pixels left, DX pixStep, R10/R11 the tap
// offset and weight cursors, R14 the taps left.
func genDWC8(a *asm) {
	name := "dwc8Avx2"
	a.p("")
	a.p("// func %s%s", name, dwc8Args)
	a.p("TEXT ·%s(SB), NOSPLIT, $0-72", name)
	a.i("MOVQ out+0(FP), DI")
	a.i("MOVQ in+8(FP), SI")
	a.i("MOVQ cols+16(FP), CX")
	a.i("MOVQ pixStep+24(FP), DX")
	a.i("MOVQ bias+56(FP), AX")
	a.i("VMOVUPS (AX), Y9")
	a.i("VBROADCASTSS lo+64(FP), Y10")
	a.i("VBROADCASTSS hi+68(FP), Y11")
	epi := func(acc []string) {
		for i, z := range acc {
			a.i("VADDPS Y9, %s, %s", z, z)
			a.i("VMAXPS %s, Y10, %s", z, z)
			a.i("VMINPS %s, Y11, %s", z, z)
			a.i("VMOVUPS %s, %d(DI)", z, 32*i)
		}
	}
	taps := func(label string, bases []string) {
		for i := range bases {
			a.i("VXORPS Y%d, Y%d, Y%d", i, i, i)
		}
		a.i("MOVQ offs+32(FP), R10")
		a.i("MOVQ w+48(FP), R11")
		a.i("MOVQ ntaps+40(FP), R14")
		a.p("%s:", label)
		a.i("MOVQ (R10), AX")
		a.i("VMOVUPS (R11), Y8")
		for i, b := range bases {
			a.i("VMULPS (%s)(AX*1), Y8, Y%d", b, 12+i)
			a.i("VADDPS Y%d, Y%d, Y%d", 12+i, i, i)
		}
		a.i("ADDQ $8, R10")
		a.i("ADDQ $32, R11")
		a.i("DECQ R14")
		a.i("JNZ %s", label)
	}
	a.p("%sfour:", name)
	a.i("CMPQ CX, $4")
	a.i("JLT %sone", name)
	a.i("LEAQ (SI)(DX*1), BX")
	a.i("LEAQ (SI)(DX*2), R12")
	a.i("LEAQ (BX)(DX*2), R13")
	taps(name+"tap4", []string{"SI", "BX", "R12", "R13"})
	epi([]string{"Y0", "Y1", "Y2", "Y3"})
	a.i("LEAQ (SI)(DX*4), SI")
	a.i("ADDQ $128, DI")
	a.i("SUBQ $4, CX")
	a.i("JMP %sfour", name)
	a.p("%sone:", name)
	a.i("TESTQ CX, CX")
	a.i("JZ %sdone", name)
	taps(name+"tap1", []string{"SI"})
	epi([]string{"Y0"})
	a.i("ADDQ DX, SI")
	a.i("ADDQ $32, DI")
	a.i("DECQ CX")
	a.i("JMP %sone", name)
	a.p("%sdone:", name)
	a.i("VZEROUPPER")
	a.i("RET")
}

func genDWC8Decl(a *asm) {
	a.p("")
	a.p("//go:noescape")
	a.p("func dwc8Avx2%s", dwc8Args)
}
