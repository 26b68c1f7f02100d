package kernels

// sgemmRef is the portable reference implementation.
func sgemmRef(transA, transB bool, M, N, K int, alpha float32, A []float32, lda int, B []float32, ldb int, beta float32, C []float32, ldc int) {
	for i := 0; i < M; i++ {
		crow := C[i*ldc : i*ldc+N]
		if beta == 0 {
			for j := range crow {
				crow[j] = 0
			}
		} else if beta != 1 {
			for j := range crow {
				crow[j] *= beta
			}
		}
		for k := 0; k < K; k++ {
			var a float32
			if transA {
				a = A[k*lda+i]
			} else {
				a = A[i*lda+k]
			}
			a *= alpha
			if a == 0 {
				continue
			}
			if transB {
				for j := 0; j < N; j++ {
					crow[j] += a * B[j*ldb+k]
				}
			} else {
				brow := B[k*ldb : k*ldb+N]
				for j, b := range brow {
					crow[j] += a * b
				}
			}
		}
	}
}

// conv2DRef is the direct reference convolution the fast paths are
// tested against.
func conv2DRef(p *Conv2DParams, x, w, bias, y []float32) {
	cg := p.C / p.Group
	mg := p.M / p.Group
	for n := 0; n < p.N; n++ {
		for m := 0; m < p.M; m++ {
			g := m / mg
			var b float32
			if bias != nil {
				b = bias[m]
			}
			out := y[(n*p.M+m)*p.OH*p.OW:]
			for oh := 0; oh < p.OH; oh++ {
				for ow := 0; ow < p.OW; ow++ {
					s := b
					for c := 0; c < cg; c++ {
						xc := x[(n*p.C+g*cg+c)*p.H*p.W:]
						wc := w[((m*cg)+c)*p.KH*p.KW:]
						for kh := 0; kh < p.KH; kh++ {
							ih := oh*p.StrideH - p.PadT + kh*p.DilH
							if ih < 0 || ih >= p.H {
								continue
							}
							for kw := 0; kw < p.KW; kw++ {
								iw := ow*p.StrideW - p.PadL + kw*p.DilW
								if iw < 0 || iw >= p.W {
									continue
								}
								s += xc[ih*p.W+iw] * wc[kh*p.KW+kw]
							}
						}
					}
					out[oh*p.OW+ow] = s
				}
			}
		}
	}
}
