package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// testKernels lists the micro-kernels this machine can run, so every
// test covers each of them (AVX-512, AVX2 and generic on a recent x86).
func testKernels() []*sgemmKernel {
	ks := []*sgemmKernel{sk}
	for _, k := range availableKernels() {
		if k != sk {
			ks = append(ks, k)
		}
	}
	return ks
}

// withKernel runs f with k as the active micro-kernel.
func withKernel(t *testing.T, k *sgemmKernel, f func(t *testing.T)) {
	t.Run(k.name, func(t *testing.T) {
		saved := sk
		sk = k
		defer func() { sk = saved }()
		f(t)
	})
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

func nanSlice(n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(math.NaN())
	}
	return s
}

// gemmCase is one randomized GEMM problem.
type gemmCase struct {
	transA, transB bool
	M, N, K        int
	lda, ldb, ldc  int
	alpha, beta    float32
}

func (c gemmCase) String() string {
	return fmt.Sprintf("tA=%v tB=%v M=%d N=%d K=%d lda=%d ldb=%d ldc=%d alpha=%g beta=%g",
		c.transA, c.transB, c.M, c.N, c.K, c.lda, c.ldb, c.ldc, c.alpha, c.beta)
}

func randGemmCase(r *rand.Rand, maxDim int) gemmCase {
	dim := func() int {
		if r.IntN(3) == 0 {
			return 1 + r.IntN(17)
		}
		return 1 + r.IntN(maxDim)
	}
	c := gemmCase{transA: r.IntN(2) == 0, transB: r.IntN(2) == 0, M: dim(), N: dim(), K: dim()}
	pad := func() int {
		if r.IntN(2) == 0 {
			return 0
		}
		return r.IntN(5)
	}
	c.lda = pad() + map[bool]int{false: c.K, true: c.M}[c.transA]
	c.ldb = pad() + map[bool]int{false: c.N, true: c.K}[c.transB]
	c.ldc = pad() + c.N
	c.alpha = []float32{1, -0.5, 2.25}[r.IntN(3)]
	c.beta = []float32{0, 1, 0.75}[r.IntN(3)]
	return c
}

// gemmWant returns the float64 result and, per element, the magnitude
// sum |alpha|·Σ|a·b| + |beta·c| that bounds the rounding error.
func gemmWant(c gemmCase, A, B, C []float32) (want, mag []float64) {
	want = make([]float64, c.M*c.N)
	mag = make([]float64, c.M*c.N)
	for i := 0; i < c.M; i++ {
		for j := 0; j < c.N; j++ {
			var s, m float64
			for k := 0; k < c.K; k++ {
				var a, b float64
				if c.transA {
					a = float64(A[k*c.lda+i])
				} else {
					a = float64(A[i*c.lda+k])
				}
				if c.transB {
					b = float64(B[j*c.ldb+k])
				} else {
					b = float64(B[k*c.ldb+j])
				}
				s += a * b
				m += math.Abs(a * b)
			}
			s *= float64(c.alpha)
			m *= math.Abs(float64(c.alpha))
			if c.beta != 0 {
				cv := float64(c.beta) * float64(C[i*c.ldc+j])
				s += cv
				m += math.Abs(cv)
			}
			want[i*c.N+j], mag[i*c.N+j] = s, m
		}
	}
	return want, mag
}

// gemmTol is the accepted error relative to the magnitude sum: a
// relative 1e-6 per term of the dot product (float32 rounds to 6e-8, so
// this is about 16 ulps per accumulation step).
func gemmTol(K int) float64 { return 1e-6 * float64(K+2) }

// checkGemm compares got (M×N with stride ldc) with the float64 result
// and checks that the padding between rows of C was not written.
func checkGemm(t *testing.T, c gemmCase, got, C0 []float32, want, mag []float64) {
	t.Helper()
	tol := gemmTol(c.K)
	bad := 0
	for i := 0; i < c.M; i++ {
		for j := 0; j < c.ldc; j++ {
			idx := i*c.ldc + j
			if idx >= len(got) {
				break
			}
			g := got[idx]
			if j >= c.N {
				if math.Float32bits(g) != math.Float32bits(C0[idx]) {
					t.Errorf("%v: padding C[%d][%d] changed from %g to %g", c, i, j, C0[idx], g)
					bad++
				}
				continue
			}
			w, m := want[i*c.N+j], mag[i*c.N+j]
			if d := math.Abs(float64(g) - w); !(d <= tol*m+1e-30) {
				t.Errorf("%v: C[%d][%d] = %g, want %g (err %.3g > %.3g)", c, i, j, g, w, d, tol*m)
				bad++
			}
			if bad > 5 {
				t.FailNow()
			}
		}
	}
}

func cSlice(r *rand.Rand, c gemmCase) []float32 {
	n := (c.M-1)*c.ldc + c.N
	if c.beta == 0 {
		return nanSlice(n)
	}
	return randSlice(r, n)
}

func operands(r *rand.Rand, c gemmCase) (A, B []float32) {
	ar, br := c.M, c.K
	if c.transA {
		ar = c.K
	}
	if c.transB {
		br = c.N
	}
	return randSlice(r, (ar-1)*c.lda+map[bool]int{false: c.K, true: c.M}[c.transA]),
		randSlice(r, (br-1)*c.ldb+map[bool]int{false: c.N, true: c.K}[c.transB])
}

func TestSgemmRandom(t *testing.T) {
	for _, k := range testKernels() {
		withKernel(t, k, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			for it := 0; it < 400; it++ {
				maxDim := 40
				if it%10 == 0 {
					maxDim = 300 // crosses the kc/mc/nc block edges
				}
				c := randGemmCase(r, maxDim)
				A, B := operands(r, c)
				C := cSlice(r, c)
				C0 := append([]float32(nil), C...)
				want, mag := gemmWant(c, A, B, C)
				SetThreads(1 + it%3)
				Sgemm(c.transA, c.transB, c.M, c.N, c.K, c.alpha, A, c.lda, B, c.ldb, c.beta, C, c.ldc)
				checkGemm(t, c, C, C0, want, mag)
			}
			SetThreads(1)
		})
	}
}

// TestSgemmEdges sweeps every M, N, K in 1..17 for each transpose
// combination, covering every partial-tile kernel variant.
func TestSgemmEdges(t *testing.T) {
	for _, k := range testKernels() {
		withKernel(t, k, func(t *testing.T) {
			r := rand.New(rand.NewPCG(3, 4))
			for M := 1; M <= 17; M++ {
				for N := 1; N <= 17; N += 1 + (M % 3) {
					for K := 1; K <= 17; K += 4 {
						c := gemmCase{transA: (M+N)%2 == 0, transB: (N+K)%3 == 0, M: M, N: N, K: K, alpha: 1, beta: float32(K % 2)}
						c.lda = map[bool]int{false: K, true: M}[c.transA] + K%3
						c.ldb = map[bool]int{false: N, true: K}[c.transB] + M%2
						c.ldc = N + (M+K)%2
						A, B := operands(r, c)
						C := cSlice(r, c)
						C0 := append([]float32(nil), C...)
						want, mag := gemmWant(c, A, B, C)
						Sgemm(c.transA, c.transB, c.M, c.N, c.K, c.alpha, A, c.lda, B, c.ldb, c.beta, C, c.ldc)
						checkGemm(t, c, C, C0, want, mag)
					}
				}
			}
		})
	}
}

func TestSgemmWideShapes(t *testing.T) {
	// Skinny and wide shapes that take the unpacked-B and threaded paths.
	shapes := [][3]int{{1, 1000, 300}, {8, 999, 1283}, {13, 37, 17}, {1, 33, 2000}, {2, 700, 65}, {16, 3136, 27}, {300, 5, 70}, {300, 3, 70}, {100, 4, 1000}, {50, 1, 17}, {7, 1, 600}, {130, 129, 513}}
	for _, k := range testKernels() {
		withKernel(t, k, func(t *testing.T) {
			r := rand.New(rand.NewPCG(5, 6))
			for _, s := range shapes {
				for _, tr := range [][2]bool{{false, false}, {false, true}, {true, true}} {
					c := gemmCase{transA: tr[0], transB: tr[1], M: s[0], N: s[1], K: s[2], alpha: 1, beta: 0}
					c.lda = map[bool]int{false: c.K, true: c.M}[c.transA]
					c.ldb = map[bool]int{false: c.N, true: c.K}[c.transB]
					c.ldc = c.N
					A, B := operands(r, c)
					C := cSlice(r, c)
					want, mag := gemmWant(c, A, B, C)
					for _, th := range []int{1, 2, 3} {
						SetThreads(th)
						got := append([]float32(nil), C...)
						Sgemm(c.transA, c.transB, c.M, c.N, c.K, c.alpha, A, c.lda, B, c.ldb, c.beta, got, c.ldc)
						checkGemm(t, c, got, C, want, mag)
					}
					SetThreads(1)
				}
			}
		})
	}
}

func TestSgemmPacked(t *testing.T) {
	for _, k := range testKernels() {
		withKernel(t, k, func(t *testing.T) {
			r := rand.New(rand.NewPCG(7, 8))
			for it := 0; it < 120; it++ {
				maxDim := 50
				if it%8 == 0 {
					maxDim = 600
				}
				c := randGemmCase(r, maxDim)
				A, B := operands(r, c)
				C := cSlice(r, c)
				want, mag := gemmWant(c, A, B, C)
				SetThreads(1 + it%2)

				pb := PackB(c.transB, c.K, c.N, B, c.ldb)
				got := append([]float32(nil), C...)
				SgemmPackedB(c.transA, c.M, c.alpha, A, c.lda, pb, c.beta, got, c.ldc)
				checkGemm(t, c, got, C, want, mag)

				pa := PackA(c.transA, c.M, c.K, A, c.lda)
				got = append(got[:0], C...)
				SgemmPackedA(pa, c.transB, c.N, c.alpha, B, c.ldb, c.beta, got, c.ldc)
				checkGemm(t, c, got, C, want, mag)
			}
			SetThreads(1)
		})
	}
}

func TestSgemmDegenerate(t *testing.T) {
	// K = 0 and alpha = 0 scale C by beta; beta = 0 clears NaNs.
	C := []float32{1, 2, float32(math.NaN()), 4}
	Sgemm(false, false, 2, 2, 0, 1, nil, 1, nil, 2, 0.5, C, 2)
	if C[0] != 0.5 || C[1] != 1 || !math.IsNaN(float64(C[2])) || C[3] != 2 {
		t.Errorf("K=0, beta=0.5: C = %v", C)
	}
	Sgemm(false, false, 2, 2, 1, 0, []float32{1, 1}, 1, []float32{1, 1}, 2, 0, C, 2)
	for i, v := range C {
		if v != 0 {
			t.Errorf("alpha=0, beta=0: C[%d] = %g, want 0", i, v)
		}
	}
}

func TestSgemmPanics(t *testing.T) {
	mustPanic := func(name string, f func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s: no panic", name)
			}
		}()
		f()
	}
	mustPanic("short A", func() {
		Sgemm(false, false, 2, 2, 2, 1, make([]float32, 3), 2, make([]float32, 4), 2, 0, make([]float32, 4), 2)
	})
	mustPanic("small lda", func() {
		Sgemm(false, false, 2, 2, 2, 1, make([]float32, 4), 1, make([]float32, 4), 2, 0, make([]float32, 4), 2)
	})
	mustPanic("negative", func() { Sgemm(false, false, -1, 2, 2, 1, nil, 2, nil, 2, 0, nil, 2) })
}
