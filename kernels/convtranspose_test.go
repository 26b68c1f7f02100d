package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// convTransposeRef is the definition: every input scatters its products
// into the outputs they land on, in float64.
func convTransposeRef(p *ConvTranspose2DParams, x, w, bias []float32) (y, mag []float64) {
	cg, mg := p.C/p.Group, p.M/p.Group
	y = make([]float64, p.N*p.M*p.OH*p.OW)
	mag = make([]float64, len(y))
	for n := 0; n < p.N; n++ {
		for m := 0; m < p.M; m++ {
			for o := 0; o < p.OH*p.OW; o++ {
				if bias != nil {
					y[(n*p.M+m)*p.OH*p.OW+o] = float64(bias[m])
					mag[(n*p.M+m)*p.OH*p.OW+o] = math.Abs(float64(bias[m]))
				}
			}
		}
		for c := 0; c < p.C; c++ {
			g := c / cg
			for i := 0; i < p.H; i++ {
				for j := 0; j < p.W; j++ {
					xv := float64(x[((n*p.C+c)*p.H+i)*p.W+j])
					for mm := 0; mm < mg; mm++ {
						m := g*mg + mm
						for kh := 0; kh < p.KH; kh++ {
							for kw := 0; kw < p.KW; kw++ {
								oh := i*p.StrideH - p.PadT + kh*p.DilH
								ow := j*p.StrideW - p.PadL + kw*p.DilW
								if oh < 0 || oh >= p.OH || ow < 0 || ow >= p.OW {
									continue
								}
								wv := float64(w[((c*mg+mm)*p.KH+kh)*p.KW+kw])
								k := ((n*p.M+m)*p.OH+oh)*p.OW + ow
								y[k] += xv * wv
								mag[k] += math.Abs(xv * wv)
							}
						}
					}
				}
			}
		}
	}
	return y, mag
}

func ctString(p *ConvTranspose2DParams) string {
	return fmt.Sprintf("N=%d C=%d %dx%d M=%d K=%dx%d s=%d,%d d=%d,%d pad=%d,%d g=%d out %dx%d",
		p.N, p.C, p.H, p.W, p.M, p.KH, p.KW, p.StrideH, p.StrideW, p.DilH, p.DilW, p.PadT, p.PadL, p.Group, p.OH, p.OW)
}

// TestConvTranspose2D checks random transposed convolutions (groups,
// strides 1–3, dilations, pads cutting into the output, output padding
// adding rows nothing reaches, missing biases, one and two threads, the
// exact kernel-equals-stride form, several bands) against the
// definition, to the GEMM tolerance relative to the sum of magnitudes.
func TestConvTranspose2D(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	exact, banded := 0, 0
	for it := 0; it < 400; it++ {
		p := ConvTranspose2DParams{N: 1 + r.IntN(2), H: 1 + r.IntN(9), W: 1 + r.IntN(21),
			KH: 1 + r.IntN(4), KW: 1 + r.IntN(4), StrideH: 1 + r.IntN(3), StrideW: 1 + r.IntN(3),
			DilH: 1 + r.IntN(2), DilW: 1 + r.IntN(2), PadT: r.IntN(3), PadL: r.IntN(3), Group: 1 + r.IntN(3)}
		p.C, p.M = p.Group*(1+r.IntN(4)), p.Group*(1+r.IntN(3))
		padB, padR := r.IntN(3), r.IntN(3)
		extraH, extraW := r.IntN(p.StrideH), r.IntN(p.StrideW)
		switch it % 4 {
		case 0: // the detector's upsampling: kernel = stride, nothing else
			p.KH, p.KW = p.StrideH, p.StrideW
			p.DilH, p.DilW, p.PadT, p.PadL, padB, padR, extraH, extraW = 1, 1, 0, 0, 0, 0, 0, 0
		case 1: // several bands
			p.H, p.W, p.N = 60+r.IntN(150), 20+r.IntN(30), 1
		}
		p.OH = (p.H-1)*p.StrideH + (p.KH-1)*p.DilH + 1 - p.PadT - padB + extraH
		p.OW = (p.W-1)*p.StrideW + (p.KW-1)*p.DilW + 1 - p.PadL - padR + extraW
		if p.OH < 1 || p.OW < 1 {
			continue
		}
		if out, _ := p.ctBand(); out < p.OH {
			banded++
		}
		if p.KH == p.StrideH && p.KW == p.StrideW && p.DilH == 1 && p.DilW == 1 && p.PadT == 0 && p.PadL == 0 && p.OH == p.H*p.StrideH && p.OW == p.W*p.StrideW {
			exact++
		}
		x := randSlice(r, p.N*p.C*p.H*p.W)
		w := randSlice(r, p.C*p.M/p.Group*p.KH*p.KW)
		var bias []float32
		if it%3 != 0 {
			bias = randSlice(r, p.M)
		}
		threads := 1 + r.IntN(2)
		SetThreads(threads)
		y := nanSlice(p.N * p.M * p.OH * p.OW)
		ConvTranspose2D(&p, x, w, bias, y, make([]float32, ConvTranspose2DScratch(&p, threads)))
		want, mag := convTransposeRef(&p, x, w, bias)
		tol := gemmTol(p.C / p.Group)
		for i := range y {
			if d := math.Abs(float64(y[i]) - want[i]); !(d <= tol*mag[i]+1e-30) {
				t.Fatalf("%s: y[%d] = %g, want %g", ctString(&p), i, y[i], want[i])
			}
		}
	}
	SetThreads(1)
	if exact < 80 || banded < 60 {
		t.Errorf("only %d exact and %d banded cases", exact, banded)
	}
}
