package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestQDW3 checks the fused 3×3 depthwise kernel (qdw3Requant: its int16
// and float32 routes) against
// the exact integer reference followed by the float32 requantisation,
// over strides 1 and 2 (rows narrower and wider than 48, the two ways
// of splitting them), asymmetric padding, odd and even widths, planes
// narrower than a vector, both input signednesses and 8-bit weights.
func TestQDW3(t *testing.T) {
	if !qdw3Fused() {
		t.Skip("qdw3Requant needs AVX2 and FMA here")
	}
	defer func(v int) { qdw3MinOW = v }(qdw3MinOW)
	qdw3MinOW = 1 // narrow planes too
	defer func(v int, s1, s2 bool) { qdw3S1MinOW, qdw3S1On, qdw3S2On = v, s1, s2 }(qdw3S1MinOW, qdw3S1On, qdw3S2On)
	qdw3S1MinOW = 8 // the int16 route's narrowest stride-1 rows
	i16 := qdw3S1On
	r := rand.New(rand.NewPCG(7, 8))
	ran := 0
	for it := 0; it < 600; it++ {
		s := 1 + r.IntN(2)
		// A third of the cases on the float32 route at every width.
		qdw3S1On, qdw3S2On = i16 && it%3 != 0, i16 && it%3 != 0
		p := Conv2DParams{N: 1 + r.IntN(2), C: 2 + r.IntN(5), H: 1 + r.IntN(30), W: 1 + r.IntN(70), KH: 3, KW: 3,
			StrideH: s, StrideW: s, DilH: 1, DilW: 1,
			PadT: r.IntN(3), PadL: r.IntN(3), PadB: r.IntN(3), PadR: r.IntN(3)}
		p.M, p.Group = p.C, p.C
		p.OH, p.OW = p.OutSize()
		if p.OH <= 0 || p.OW <= 0 || !qdw3Applies(&p) {
			continue
		}
		ran++
		xS, wS := r.IntN(2) == 0, r.IntN(2) == 0
		x := randBytes(r, p.N*p.C*p.H*p.W)
		w := randBytes(r, p.M*9)
		xz := byte(r.Uint32())
		wz := randZeros(r, p.M)
		acc := qconvRef(&p, x, xS, xz, w, wS, wz)
		rq := Requant{Bias: make([]int32, p.M), Scale: make([]float32, p.M), Zero: int32(r.IntN(256)), Lo: 0, Hi: 255}
		if r.IntN(2) == 0 {
			rq.Zero, rq.Lo, rq.Hi = int32(r.IntN(256))-128, -128, 127
		}
		if r.IntN(3) == 0 {
			rq.Lo = min(rq.Hi, rq.Lo+int32(r.IntN(100)))
		}
		for m := range rq.Bias {
			rq.Bias[m] = int32(r.IntN(20001)) - 10000
			rq.Scale[m] = float32(r.Float64()*0.002 + 1e-4)
		}
		ohw := p.OH * p.OW
		want := make([]byte, len(acc))
		for i, a := range acc {
			m := (i / ohw) % p.M
			q := math.RoundToEven(float64(float32(a+rq.Bias[m])*rq.Scale[m])) + float64(rq.Zero)
			want[i] = byte(int32(min(max(q, float64(rq.Lo)), float64(rq.Hi))))
		}
		SetThreads(1 + it%2)
		got := make([]byte, len(want)+8)
		for i := len(want); i < len(got); i++ {
			got[i] = 0x5a
		}
		qdw3Requant(&p, QPackConv2D(&p, w, wS, wz).dw, x, xS, xz, &rq, got[:len(want)])
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s xS=%v xz=%d: y[%d] = %d, want %d (sum %d)", convString(&p), xS, xz, i, got[i], want[i], acc[i])
			}
		}
		for i := len(want); i < len(got); i++ {
			if got[i] != 0x5a {
				t.Fatalf("%s: wrote past the end", convString(&p))
			}
		}
	}
	SetThreads(1)
	if ran < 100 {
		t.Fatalf("only %d cases ran", ran)
	}
}

// TestCopy2Bytes checks the stride-2 byte gather of the int8 im2col on
// every length up to 100, with x as short as the gather allows.
func TestCopy2Bytes(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for n := 0; n <= 100; n++ {
		x := randBytes(r, max(0, 2*n-1))
		y := make([]byte, n+1)
		y[n] = 0x5a
		copy2Bytes(x, y[:n])
		for i := 0; i < n; i++ {
			if y[i] != x[2*i] {
				t.Fatalf("n=%d: y[%d] = %d, want %d", n, i, y[i], x[2*i])
			}
		}
		if y[n] != 0x5a {
			t.Fatalf("n=%d: wrote past the end", n)
		}
	}
}

// TestQ8RowConversions checks q8ToF32Rows and splitF32Rows (the padded
// buffers of qdw3Requant) on every row width up to 80, both
// signednesses: each converted value, and that nothing between or after
// the rows is written (their tails overlap converted columns).
func TestQ8RowConversions(t *testing.T) {
	if !qdw3Fused() {
		t.Skip("the row conversions exist only as AVX2 kernels (qdw3Fused)")
	}
	r := rand.New(rand.NewPCG(11, 12))
	const sentinel = float32(-1e9)
	for n := 1; n <= 80; n++ {
		for _, signed := range []bool{false, true} {
			rows := 1 + r.IntN(4)
			src := randBytes(r, rows*n)
			val := func(b byte) float32 {
				if signed {
					return float32(int8(b)) - 3
				}
				return float32(b) - 3
			}
			stride := n + 5
			buf := make([]float32, rows*stride+8)
			for i := range buf {
				buf[i] = sentinel
			}
			q8ToF32Rows(buf[2:], stride, src, n, rows, 3, signed)
			for i := range buf {
				rr, c := (i-2)/stride, (i-2)%stride
				want := sentinel
				if i >= 2 && rr < rows && c < n {
					want = val(src[rr*n+c])
				}
				if buf[i] != want {
					t.Fatalf("q8ToF32Rows n=%d signed=%v: buf[%d] = %v, want %v", n, signed, i, buf[i], want)
				}
			}
			// Split: evens at 1, odds at 1+(n+1)/2+2 within each row.
			half := (n + 1) / 2
			oddOff := 1 + half + 2
			stride = oddOff + n/2 + 3
			buf = make([]float32, rows*stride+4)
			for i := range buf {
				buf[i] = sentinel
			}
			splitF32Rows(buf, stride, 1, oddOff, src, n, rows, 3, signed)
			for i := range buf {
				rr, c := i/stride, i%stride
				want := sentinel
				if rr < rows {
					if c >= 1 && c < 1+half {
						want = val(src[rr*n+2*(c-1)])
					} else if c >= oddOff && c < oddOff+n/2 {
						want = val(src[rr*n+2*(c-oddOff)+1])
					}
				}
				if buf[i] != want {
					t.Fatalf("splitF32Rows n=%d signed=%v rows=%d: buf[%d] = %v, want %v", n, signed, rows, i, buf[i], want)
				}
			}
		}
	}
}
