package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// testQKernels lists the int8 kernels to test: each this CPU can run and
// the portable loops (nil).
func testQKernels() []*qgemmKernel {
	return append(availableQKernels(), nil)
}

func withQKernel(t *testing.T, k *qgemmKernel, f func(t *testing.T)) {
	name := "generic"
	if k != nil {
		name = k.name
	}
	t.Run(name, func(t *testing.T) {
		saved := qk
		qk = k
		defer func() { qk = saved }()
		f(t)
	})
}

func randBytes(r *rand.Rand, n int) []byte {
	s := make([]byte, n)
	for i := range s {
		s[i] = byte(r.Uint32())
	}
	// Extremes make overflow and saturation bugs visible.
	if n > 2 {
		s[0], s[n-1] = 0, 255
		s[n/2] = 128
	}
	return s
}

func randZeros(r *rand.Rand, n int) []byte {
	switch r.IntN(3) {
	case 0:
		return nil
	case 1:
		return randBytes(r, 1)
	}
	return randBytes(r, n)
}

func qval(v byte, signed bool) int64 {
	if signed {
		return int64(int8(v))
	}
	return int64(v)
}

func qzp(z []byte, i int, signed bool) int64 {
	switch len(z) {
	case 0:
		return 0
	case 1:
		return qval(z[0], signed)
	}
	return qval(z[i], signed)
}

// qgemmRef is the int64 reference of the integer GEMM.
func qgemmRef(M, N, K int, A []byte, lda int, aS bool, za []byte, B []byte, ldb int, bS bool, zb []byte) []int32 {
	C := make([]int32, M*N)
	for i := 0; i < M; i++ {
		for j := 0; j < N; j++ {
			var s int64
			for k := 0; k < K; k++ {
				s += (qval(A[i*lda+k], aS) - qzp(za, i, aS)) * (qval(B[k*ldb+j], bS) - qzp(zb, j, bS))
			}
			C[i*N+j] = int32(s)
		}
	}
	return C
}

// callQGemm runs the typed entry point for the signedness combination.
func callQGemm(aS, bS bool, M, N, K int, A []byte, lda int, za []byte, B []byte, ldb int, zb []byte, C []int32, ldc int) {
	i8 := func(b []byte) []int8 {
		if b == nil {
			return nil
		}
		s := make([]int8, len(b))
		for i, v := range b {
			s[i] = int8(v)
		}
		return s
	}
	switch {
	case !aS && bS:
		QGemmU8S8(M, N, K, A, lda, za, i8(B), ldb, i8(zb), C, ldc)
	case !aS && !bS:
		QGemmU8U8(M, N, K, A, lda, za, B, ldb, zb, C, ldc)
	case aS && bS:
		QGemmS8S8(M, N, K, i8(A), lda, i8(za), i8(B), ldb, i8(zb), C, ldc)
	default:
		QGemmS8U8(M, N, K, i8(A), lda, i8(za), B, ldb, zb, C, ldc)
	}
}

func TestQGemm(t *testing.T) {
	for _, k := range testQKernels() {
		withQKernel(t, k, func(t *testing.T) {
			r := rand.New(rand.NewPCG(21, 22))
			for it := 0; it < 300; it++ {
				dim := func(max int) int {
					if r.IntN(2) == 0 {
						return 1 + r.IntN(17)
					}
					return 1 + r.IntN(max)
				}
				M, N, K := dim(40), dim(150), dim(70)
				if it%20 == 0 {
					M, N, K = dim(200), dim(700), 1000+r.IntN(1200) // crosses kc and nc
				}
				aS, bS := r.IntN(2) == 0, r.IntN(2) == 0
				lda, ldb, ldc := K+r.IntN(3), N+r.IntN(3), N+r.IntN(3)
				A, B := randBytes(r, (M-1)*lda+K), randBytes(r, (K-1)*ldb+N)
				za, zb := randZeros(r, M), randZeros(r, N)
				name := fmt.Sprintf("aS=%v bS=%v M=%d N=%d K=%d za=%d zb=%d", aS, bS, M, N, K, len(za), len(zb))
				want := qgemmRef(M, N, K, A, lda, aS, za, B, ldb, bS, zb)
				SetThreads(1 + it%2)
				C := make([]int32, (M-1)*ldc+N)
				for i := range C {
					C[i] = -7 // padding sentinel; the rest is overwritten
				}
				callQGemm(aS, bS, M, N, K, A, lda, za, B, ldb, zb, C, ldc)
				checkQ(t, name, M, N, ldc, C, want)

				pb := QPackB(K, N, B, ldb, bS, zb)
				C2 := make([]int32, M*N)
				QGemmPackedB(M, A, lda, aS, za, pb, C2, N)
				checkQ(t, name+" packed B", M, N, N, C2, want)

				pa := QPackA(M, K, A, lda, aS, za)
				clear(C2)
				QGemmPackedA(pa, N, B, ldb, bS, zb, C2, N)
				checkQ(t, name+" packed A", M, N, N, C2, want)
			}
			SetThreads(1)
		})
	}
}

func checkQ(t *testing.T, name string, M, N, ldc int, got, want []int32) {
	t.Helper()
	for i := 0; i < M; i++ {
		for j := 0; j < ldc && i*ldc+j < len(got); j++ {
			g := got[i*ldc+j]
			if j >= N {
				if g != -7 {
					t.Fatalf("%s: padding C[%d][%d] written: %d", name, i, j, g)
				}
				continue
			}
			if g != want[i*N+j] {
				t.Fatalf("%s: C[%d][%d] = %d, want %d", name, i, j, g, want[i*N+j])
			}
		}
	}
}

// qconvRef is the int64 reference of QConv2D.
func qconvRef(p *Conv2DParams, x []byte, xS bool, xz byte, w []byte, wS bool, wz []byte) []int32 {
	cg, mg := p.C/p.Group, p.M/p.Group
	y := make([]int32, p.N*p.M*p.OH*p.OW)
	for n := 0; n < p.N; n++ {
		for m := 0; m < p.M; m++ {
			g := m / mg
			for oh := 0; oh < p.OH; oh++ {
				for ow := 0; ow < p.OW; ow++ {
					var s int64
					for c := 0; c < cg; c++ {
						for kh := 0; kh < p.KH; kh++ {
							for kw := 0; kw < p.KW; kw++ {
								ih := oh*p.StrideH - p.PadT + kh*p.DilH
								iw := ow*p.StrideW - p.PadL + kw*p.DilW
								if ih < 0 || ih >= p.H || iw < 0 || iw >= p.W {
									continue
								}
								xv := qval(x[((n*p.C+g*cg+c)*p.H+ih)*p.W+iw], xS) - qval(xz, xS)
								wv := qval(w[((m*cg+c)*p.KH+kh)*p.KW+kw], wS) - qzp(wz, m, wS)
								s += xv * wv
							}
						}
					}
					y[((n*p.M+m)*p.OH+oh)*p.OW+ow] = int32(s)
				}
			}
		}
	}
	return y
}

func TestQConv2D(t *testing.T) {
	for _, k := range testQKernels() {
		withQKernel(t, k, func(t *testing.T) {
			r := rand.New(rand.NewPCG(23, 24))
			for it := 0; it < 150; it++ {
				p := randConv(r)
				if it%25 == 12 {
					// Several images with small planes: the batched path.
					p = Conv2DParams{N: 7, C: 24, H: 9, W: 8, M: 36, KH: 3, KW: 3, StrideH: 1 + it%2, StrideW: 1, DilH: 1, DilW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 0, Group: 1 + it%3/2}
					p.OH, p.OW = p.OutSize()
				}
				if it%25 == 0 {
					p = Conv2DParams{N: 1, C: 40, H: 30, W: 30, M: 20, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, Group: 1}
					p.OH, p.OW = p.OutSize()
				}
				xS, wS := r.IntN(2) == 0, r.IntN(2) == 0
				x := randBytes(r, p.N*p.C*p.H*p.W)
				w := randBytes(r, p.M*p.C/p.Group*p.KH*p.KW)
				xz := byte(r.Uint32())
				wz := randZeros(r, p.M)
				want := qconvRef(&p, x, xS, xz, w, wS, wz)
				SetThreads(1 + it%2)
				y := make([]int32, len(want))
				QConv2D(&p, x, xS, xz, w, wS, wz, y)
				for i := range want {
					if y[i] != want[i] {
						t.Fatalf("%s xS=%v wS=%v xz=%d wz=%v: y[%d] = %d, want %d", convString(&p), xS, wS, xz, wz, i, y[i], want[i])
					}
				}
			}
			SetThreads(1)
		})
	}
}

func TestRequantize(t *testing.T) {
	r := rand.New(rand.NewPCG(27, 28))
	for n := 0; n < 50; n++ {
		src := make([]int32, n+1)
		for i := range src {
			src[i] = int32(r.IntN(20001)) - 10000
		}
		if n > 4 {
			src[0], src[1] = 5, -3 // with scale 0.5: ties 2.5 → 2 and -1.5 → -2
			src[2], src[3] = math.MaxInt32-10, math.MinInt32+10
		}
		scale := float32(0.5)
		if n%2 == 1 {
			scale = 0.0371
		}
		u := make([]uint8, n+1)
		s := make([]int8, n+1)
		u[n], s[n] = 77, 77 // must stay untouched
		RequantizeU8(u[:n], src, 0, scale, 128)
		RequantizeS8(s[:n], src, 0, scale, -5)
		for i := 0; i < n; i++ {
			f := math.RoundToEven(float64(float32(src[i]) * scale))
			wu := min(max(f+128, 0), 255)
			ws := min(max(f-5, -128), 127)
			if float64(u[i]) != wu || float64(s[i]) != ws {
				t.Fatalf("n=%d src=%d scale=%g: got %d/%d, want %g/%g", n, src[i], scale, u[i], s[i], wu, ws)
			}
		}
		if u[n] != 77 || s[n] != 77 {
			t.Fatalf("n=%d: wrote past the end", n)
		}
	}
}
