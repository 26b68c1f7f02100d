package kernels

import (
	"math"
	"math/rand"
	"testing"
)

// TestMaxPool2D8 compares the byte max pool with MaxPool2D on the same
// values as float32, for the 2×2 stride-2 fast path and a padded 3×3
// window, signed and unsigned.
func TestMaxPool2D8(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	for _, p := range []Pool2DParams{
		{N: 2, C: 3, H: 8, W: 6, KH: 2, KW: 2, StrideH: 2, StrideW: 2, DilH: 1, DilW: 1, OH: 4, OW: 3},
		{N: 1, C: 2, H: 7, W: 5, KH: 2, KW: 2, StrideH: 2, StrideW: 2, DilH: 1, DilW: 1, OH: 3, OW: 2},
		{N: 1, C: 2, H: 7, W: 5, KH: 3, KW: 3, StrideH: 2, StrideW: 1, DilH: 1, DilW: 2, PadT: 1, PadL: 1, PadB: 1, PadR: 1, OH: 4, OW: 3},
	} {
		for _, signed := range []bool{false, true} {
			x := make([]byte, p.N*p.C*p.H*p.W)
			xf := make([]float32, len(x))
			for i := range x {
				x[i] = byte(rng.Intn(256))
				xf[i] = float32(x[i])
				if signed {
					xf[i] = float32(int8(x[i]))
				}
			}
			y := make([]byte, p.N*p.C*p.OH*p.OW)
			yf := make([]float32, len(y))
			MaxPool2D8(&p, x, y, signed)
			MaxPool2D(&p, xf, yf)
			for i := range y {
				got := float32(y[i])
				if signed {
					got = float32(int8(y[i]))
				}
				if got != yf[i] {
					t.Fatalf("%+v signed=%v: y[%d] = %v, want %v", p, signed, i, got, yf[i])
				}
			}
		}
	}
}

// TestRequantizeCols checks the per-column requantization against the
// formula in float64 (half to even, saturation).
func TestRequantizeCols(t *testing.T) {
	rng := rand.New(rand.NewSource(4))
	const M, N = 5, 7
	acc := make([]int32, M*N)
	for i := range acc {
		acc[i] = int32(rng.Intn(20001) - 10000)
	}
	bias, scale := make([]int32, N), make([]float32, N)
	for j := range bias {
		bias[j] = int32(rng.Intn(201) - 100)
		scale[j] = 0.002 + 0.01*rng.Float32()
	}
	for _, r := range [][3]int32{{3, 0, 255}, {-5, -128, 127}, {10, 10, 200}} {
		dst := make([]byte, M*N)
		RequantizeCols(dst, acc, N, bias, scale, r[0], r[1], r[2])
		for i, a := range acc {
			j := i % N
			v := math.RoundToEven(float64(float32(a+bias[j])*scale[j])) + float64(r[0])
			want := int32(min(max(v, float64(r[1])), float64(r[2])))
			got := int32(dst[i])
			if r[1] < 0 {
				got = int32(int8(dst[i]))
			}
			if got != want {
				t.Fatalf("range %v: dst[%d] = %d, want %d", r, i, got, want)
			}
		}
	}
}

// TestDequantizeBlock: the same bits as Dequantize8, for odd lengths.
func TestDequantizeBlock(t *testing.T) {
	src := make([]byte, 1000)
	for i := range src {
		src[i] = byte(i * 37)
	}
	for _, signed := range []bool{false, true} {
		for _, n := range []int{1, 7, 31, 512, 1000} {
			want, got := make([]float32, n), make([]float32, n)
			Dequantize8(want, src[:n], signed, 0.0173, 113)
			DequantizeBlock(got, src[:n], signed, 0.0173, 113)
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("signed=%v n=%d: [%d] = %v, want %v", signed, n, i, got[i], want[i])
				}
			}
		}
	}
}

// TestPackedConvTranspose2D: the packed form gives ConvTranspose2D's bits
// and allocates nothing per call, at 1 and 2 threads.
func TestPackedConvTranspose2D(t *testing.T) {
	defer SetThreads(Threads())
	p := ConvTranspose2DParams{N: 2, C: 4, H: 5, W: 6, M: 6, KH: 3, KW: 3, StrideH: 2, StrideW: 2, DilH: 1, DilW: 1, PadT: 1, PadL: 1, Group: 2, OH: 10, OW: 12}
	rng := rand.New(rand.NewSource(5))
	x := make([]float32, p.N*p.C*p.H*p.W)
	w := make([]float32, p.C*p.M/p.Group*p.KH*p.KW)
	bias := make([]float32, p.M)
	for _, s := range [][]float32{x, w, bias} {
		for i := range s {
			s[i] = rng.Float32()*2 - 1
		}
	}
	c := PackConvTranspose2D(&p, w)
	for _, threads := range []int{1, 2} {
		SetThreads(threads)
		scratch := make([]float32, ConvTranspose2DScratch(&p, threads))
		want, got := make([]float32, p.N*p.M*p.OH*p.OW), make([]float32, p.N*p.M*p.OH*p.OW)
		ConvTranspose2D(&p, x, w, bias, want, scratch)
		c.Run(x, bias, got, scratch)
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%d threads: y[%d] = %v, want %v", threads, i, got[i], want[i])
			}
		}
		if a := testing.AllocsPerRun(20, func() { c.Run(x, bias, got, scratch) }); a != 0 && !raceEnabled {
			t.Errorf("%d threads: %.1f allocations per Run, want 0", threads, a)
		}
	}
}
