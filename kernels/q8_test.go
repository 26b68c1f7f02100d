package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// q8EmuParent is a portable stand-in for the int16-pair kernel with the
// portable q8 kernels as its bounded-weight variants, so that the q8
// routing, packing and corrections are tested on every build.
func q8EmuParent() *qgemmKernel {
	p := &qgemmKernel{
		name: "q8emu",
		mr:   6, nr: 16,
		kc: 512, mc: 120, nc: 512,
		kunit: 4, corrected: true,
		packA:  packQA,
		packB:  packQB,
		packIm: (*qim2col).pack,
	}
	// Full-range exact tile (no int16 stage) for weights outside 7 bits.
	wide := q8TileFunc(func(m, kg int, a, b []byte, c []int32, ldc int, flags int, corr *qCorr, _ *q8Req) {
		for i := 0; i < m; i++ {
			for j := 0; j < 16; j++ {
				var s int32
				for k := 0; k < 4*kg; k++ {
					s += int32(a[(k>>2)*24+i*4+k&3]) * int32(int8(b[(k>>2)*64+j*4+k&3]))
				}
				if flags&2 != 0 {
					s -= corr.rowp[i]*corr.colu[j] + corr.rowq[i]*corr.colv[j]
				}
				if flags&1 != 0 {
					c[i*ldc+j] += s
				} else {
					c[i*ldc+j] = s
				}
			}
		}
	})
	p.tile, _ = q8Tile(wide, wide)
	p.q8A, p.q8B = newQ8Kernels(q8TileGo(true), q8TileGo(false), q8TileGo(true), q8TileGo(false))
	return p
}

// testQ8Parents lists kernels with q8 variants: this CPU's and the
// portable stand-in.
func testQ8Parents() []*qgemmKernel {
	ks := []*qgemmKernel{q8EmuParent()}
	for _, k := range availableQKernels() {
		if k.q8A != nil {
			ks = append(ks, k)
		}
	}
	return ks
}

// q8Weights returns n weight bytes within the q8 bound: signed values in
// [-64, 64], unsigned in [64, 192] (the same once shifted by -128), with
// both bounds present.
func q8Weights(r *rand.Rand, n int, signed bool) []byte {
	w := make([]byte, n)
	for i := range w {
		v := r.IntN(2*q8Bound+1) - q8Bound
		if i%7 == 0 {
			v = q8Bound * (1 - 2*(i/7%2)) // the bounds, often
		}
		if signed {
			w[i] = byte(int8(v))
		} else {
			w[i] = byte(v + 128)
		}
	}
	return w
}

func q8Dim(r *rand.Rand, max int) int {
	edges := []int{1, 2, 3, 4, 5, 6, 7, 8, 12, 15, 16, 17, 31, 32, 33}
	if r.IntN(2) == 0 {
		return edges[r.IntN(len(edges))]
	}
	return 1 + r.IntN(max)
}

// TestQ8Gemm checks the q8 kernels against the int64 reference, with the
// 7-bit weights as A (QPackA) and as B (QPackB), for all signedness
// combinations and zero-point kinds.
func TestQ8Gemm(t *testing.T) {
	for _, k := range testQ8Parents() {
		withQKernel(t, k, func(t *testing.T) {
			r := rand.New(rand.NewPCG(81, 82))
			for it := 0; it < 150; it++ {
				M, N, K := q8Dim(r, 40), q8Dim(r, 150), q8Dim(r, 90)
				if it%30 == 0 {
					M, N, K = q8Dim(r, 130), 500+r.IntN(300), 500+r.IntN(700) // crosses kc and nc
				}
				aS, bS := r.IntN(2) == 0, r.IntN(2) == 0
				lda, ldb := K+r.IntN(3), N+r.IntN(3)
				za, zb := randZeros(r, M), randZeros(r, N)
				SetThreads(1 + it%2)
				name := fmt.Sprintf("aS=%v bS=%v M=%d N=%d K=%d za=%d zb=%d", aS, bS, M, N, K, len(za), len(zb))

				// Weights as A (convolution layout), any activations B.
				A, B := q8Weights(r, (M-1)*lda+K, aS), randBytes(r, (K-1)*ldb+N)
				want := qgemmRef(M, N, K, A, lda, aS, za, B, ldb, bS, zb)
				pa := QPackA(M, K, A, lda, aS, za)
				if pa.kern != k.q8A {
					t.Fatalf("%s: QPackA chose %v, want the q8 kernel", name, pa.kern.name)
				}
				C := make([]int32, M*N)
				QGemmPackedA(pa, N, B, ldb, bS, zb, C, N)
				checkQ(t, name+" weights A", M, N, N, C, want)

				// Weights as B (MatMul layout), any activations A.
				A, B = randBytes(r, (M-1)*lda+K), q8Weights(r, (K-1)*ldb+N, bS)
				want = qgemmRef(M, N, K, A, lda, aS, za, B, ldb, bS, zb)
				pb := QPackB(K, N, B, ldb, bS, zb)
				if pb.kern != k.q8B {
					t.Fatalf("%s: QPackB chose %v, want the q8 kernel", name, pb.kern.name)
				}
				clear(C)
				QGemmPackedB(M, A, lda, aS, za, pb, C, N)
				checkQ(t, name+" weights B", M, N, N, C, want)
			}
			SetThreads(1)
		})
	}
}

// TestQ8Conv2D checks integer convolutions with 7-bit weights (im2col,
// pointwise and batched paths) against the int64 reference.
func TestQ8Conv2D(t *testing.T) {
	for _, k := range testQ8Parents() {
		withQKernel(t, k, func(t *testing.T) {
			r := rand.New(rand.NewPCG(83, 84))
			for it := 0; it < 120; it++ {
				p := randConv(r)
				switch it % 20 {
				case 7:
					p = Conv2DParams{N: 7, C: 24, H: 9, W: 8, M: 36, KH: 3, KW: 3, StrideH: 1 + it%2, StrideW: 1, DilH: 1, DilW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 0, Group: 1}
				case 13:
					p = Conv2DParams{N: 1, C: 40, H: 30, W: 30, M: 20, KH: 1, KW: 1, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, Group: 1}
				case 0:
					p = Conv2DParams{N: 1, C: 40, H: 30, W: 30, M: 20, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, Group: 1}
				}
				p.OH, p.OW = p.OutSize()
				xS, wS := r.IntN(2) == 0, r.IntN(2) == 0
				x := randBytes(r, p.N*p.C*p.H*p.W)
				w := q8Weights(r, p.M*p.C/p.Group*p.KH*p.KW, wS)
				xz := byte(r.Uint32())
				wz := randZeros(r, p.M)
				want := qconvRef(&p, x, xS, xz, w, wS, wz)
				SetThreads(1 + it%2)
				pc := QPackConv2D(&p, w, wS, wz)
				if pc.dw == nil && p.C/p.Group*p.KH*p.KW > 0 && pc.pa[0].kern != k.q8A {
					t.Fatalf("%s: weights packed for %s, want the q8 kernel", convString(&p), pc.pa[0].kern.name)
				}
				y := make([]int32, len(want))
				pc.Run(x, xS, xz, y)
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

// TestQ8OutOfRange checks that weights one step outside 7 bits keep the
// full-range kernel and stay exact.
func TestQ8OutOfRange(t *testing.T) {
	for _, k := range testQ8Parents() {
		withQKernel(t, k, func(t *testing.T) {
			r := rand.New(rand.NewPCG(85, 86))
			const M, N, K = 13, 37, 70
			for _, c := range []struct {
				signed bool
				v      byte
			}{{true, byte(65)}, {true, 0xbf /* -65 */}, {false, 63}, {false, 193}, {true, 0x80}, {false, 255}} {
				A := q8Weights(r, M*K, c.signed)
				A[r.IntN(len(A))] = c.v
				B := randBytes(r, K*N)
				za, zb := randZeros(r, M), randZeros(r, N)
				want := qgemmRef(M, N, K, A, K, c.signed, za, B, N, false, zb)
				pa := QPackA(M, K, A, K, c.signed, za)
				if pa.kern != k {
					t.Fatalf("signed=%v value %#x: QPackA chose %s, want %s", c.signed, c.v, pa.kern.name, k.name)
				}
				C := make([]int32, M*N)
				QGemmPackedA(pa, N, B, N, false, zb, C, N)
				checkQ(t, fmt.Sprintf("A signed=%v value %#x", c.signed, c.v), M, N, N, C, want)

				// The same values as B.
				Bw := q8Weights(r, K*N, c.signed)
				Bw[r.IntN(len(Bw))] = c.v
				Aa := randBytes(r, M*K)
				want = qgemmRef(M, N, K, Aa, K, false, za, Bw, N, c.signed, zb)
				pb := QPackB(K, N, Bw, N, c.signed, zb)
				if pb.kern != k {
					t.Fatalf("signed=%v value %#x: QPackB chose %s, want %s", c.signed, c.v, pb.kern.name, k.name)
				}
				clear(C)
				QGemmPackedB(M, Aa, K, false, za, pb, C, N)
				checkQ(t, fmt.Sprintf("B signed=%v value %#x", c.signed, c.v), M, N, N, C, want)
			}
		})
	}
}

// TestQ8Saturates shows that the bound is needed: the portable q8 tile
// (the assembly's arithmetic) goes wrong for a weight of -128 against
// activations of 255, which TestQ8OutOfRange keeps off the q8 path.
func TestQ8Saturates(t *testing.T) {
	a := make([]byte, 24)
	b := make([]byte, 64)
	a[0], a[1] = 0x80, 0x80 // two signed weights -128
	b[0], b[1] = 255, 255   // two unsigned activations 255
	var c [16]int32
	q8TileGo(true)(1, 1, a, b, c[:], 16, 0, nil, nil)
	if exact := int32(2 * -128 * 255); c[0] == exact || c[0] != -32768 {
		t.Fatalf("q8 tile gave %d for exact %d, want the saturated -32768", c[0], exact)
	}
}

// BenchmarkQ8 compares the q8 kernels with the int16-pair kernel on the
// same 7-bit weights: convolutions (weights as A) and a packed-B GEMM.
func BenchmarkQ8(b *testing.B) {
	if qk == nil || qk.q8A == nil {
		b.Skip("no q8 kernels on this CPU")
	}
	r := rand.New(rand.NewPCG(5, 5))
	variants := func(b *testing.B, run func(b *testing.B)) {
		for _, q8 := range []bool{false, true} {
			name := "int16"
			if q8 {
				name = "q8"
			}
			b.Run(name, func(b *testing.B) {
				saved := *qk
				if !q8 {
					qk.q8A, qk.q8B = nil, nil
				}
				defer func() { *qk = saved }()
				run(b)
			})
		}
	}
	for _, c := range convBench {
		p := c.p
		p.OH, p.OW = p.OutSize()
		if p.Group > 1 {
			continue
		}
		x := randBytes(r, p.N*p.C*p.H*p.W)
		w := q8Weights(r, p.M*p.C/p.Group*p.KH*p.KW, true)
		y := make([]int32, p.N*p.M*p.OH*p.OW)
		b.Run("conv/"+c.name, func(b *testing.B) {
			variants(b, func(b *testing.B) {
				pc := QPackConv2D(&p, w, true, nil)
				for b.Loop() {
					pc.Run(x, false, 128, y)
				}
				reportGOPS(b, 2*float64(p.N*p.M*p.OH*p.OW*p.C/p.Group*p.KH*p.KW))
			})
		})
	}
	for _, s := range []struct{ M, N, K int }{{256, 256, 256}, {64, 1000, 1024}} {
		A, B := randBytes(r, s.M*s.K), q8Weights(r, s.K*s.N, true)
		C := make([]int32, s.M*s.N)
		b.Run(fmt.Sprintf("packedB/%dx%dx%d", s.M, s.N, s.K), func(b *testing.B) {
			variants(b, func(b *testing.B) {
				pb := QPackB(s.K, s.N, B, s.N, true, []byte{2})
				for b.Loop() {
					QGemmPackedB(s.M, A, s.K, false, []byte{3}, pb, C, s.N)
				}
				reportGOPS(b, 2*float64(s.M*s.N*s.K))
			})
		})
	}
}
