package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// poolRef is the direct reference pooling.
func poolRef(p *Pool2DParams, x []float32, isMax bool) []float32 {
	y := make([]float32, p.N*p.C*p.OH*p.OW)
	for pl := 0; pl < p.N*p.C; pl++ {
		for oh := 0; oh < p.OH; oh++ {
			for ow := 0; ow < p.OW; ow++ {
				best, sum, count := math.Inf(-1), 0.0, 0
				for kh := 0; kh < p.KH; kh++ {
					for kw := 0; kw < p.KW; kw++ {
						ih := oh*p.StrideH - p.PadT + kh*p.DilH
						iw := ow*p.StrideW - p.PadL + kw*p.DilW
						inPad := ih >= -p.PadT && ih < p.H+p.PadB && iw >= -p.PadL && iw < p.W+p.PadR
						if ih < 0 || ih >= p.H || iw < 0 || iw >= p.W {
							if p.CountIncludePad && inPad {
								count++
							}
							continue
						}
						v := float64(x[(pl*p.H+ih)*p.W+iw])
						best = math.Max(best, v)
						sum += v
						count++
					}
				}
				out := best
				if !isMax {
					out = sum / float64(count)
				}
				y[(pl*p.OH+oh)*p.OW+ow] = float32(out)
			}
		}
	}
	return y
}

func TestPool2D(t *testing.T) {
	r := rand.New(rand.NewPCG(25, 26))
	tested, programs := 0, 0
	for it := 0; it < 600; it++ {
		p := Pool2DParams{
			N: 1 + r.IntN(2), C: 1 + r.IntN(3), H: 1 + r.IntN(15), W: 1 + r.IntN(40),
			KH: 1 + r.IntN(4), KW: 1 + r.IntN(4), StrideH: 1 + r.IntN(3), StrideW: 1 + r.IntN(3),
			DilH: 1 + r.IntN(2), DilW: 1 + r.IntN(2),
			PadT: r.IntN(3), PadL: r.IntN(3), PadB: r.IntN(3), PadR: r.IntN(3),
			CountIncludePad: r.IntN(2) == 0,
		}
		ceil := r.IntN(2) == 0
		if it == 0 {
			p.W = 2100 // wider than the column-divisor cache
		}
		if it%4 == 1 {
			p.C = 5 + r.IntN(30) // gather programs run groups of four planes
		}
		p.OH, p.OW = p.OutSize(ceil)
		if p.Check() != nil {
			continue
		}
		tested++
		if p.OW < 16 && new(poolScratch).build(&p, false) {
			programs++
		}
		x := randSlice(r, p.N*p.C*p.H*p.W)
		SetThreads(1 + it%2)
		for _, isMax := range []bool{true, false} {
			y := nanSlice(p.N * p.C * p.OH * p.OW)
			if isMax {
				MaxPool2D(&p, x, y)
			} else {
				AvgPool2D(&p, x, y)
			}
			want := poolRef(&p, x, isMax)
			name := fmt.Sprintf("%+v ceil=%v max=%v", p, ceil, isMax)
			for i := range want {
				if y[i] == want[i] || (y[i] != y[i] && want[i] != want[i]) {
					continue // equal, infinities (all-padding windows) and 0/0 included
				}
				if d := math.Abs(float64(y[i] - want[i])); !(d <= 1e-5*(1+math.Abs(float64(want[i])))) {
					t.Fatalf("%s: y[%d] = %g, want %g", name, i, y[i], want[i])
				}
			}
		}
	}
	SetThreads(1)
	if tested < 200 {
		t.Fatalf("only %d valid random cases", tested)
	}
	if hasGatherKernels() && programs < 60 {
		t.Fatalf("only %d cases ran a gather program", programs)
	}
}

// TestMaxPool3x3 sweeps widths for 3×3 max pooling, which runs the
// depthwise plane kernels taking maxima: both strides, every padding up
// to 2, ceil mode, vertical strides and dilations, windows that start in
// the padding.
func TestMaxPool3x3(t *testing.T) {
	r := rand.New(rand.NewPCG(27, 28))
	fast := 0
	for W := 14; W <= 75; W++ {
		for s := 1; s <= 2; s++ {
			p := Pool2DParams{N: 1 + r.IntN(2), C: 1 + r.IntN(3), H: 1 + r.IntN(9), W: W, KH: 3, KW: 3,
				StrideH: 1 + r.IntN(2), StrideW: s, DilH: 1 + r.IntN(2), DilW: 1,
				PadT: r.IntN(3), PadL: r.IntN(3), PadB: r.IntN(3), PadR: r.IntN(3)}
			p.OH, p.OW = p.OutSize(r.IntN(2) == 0)
			if p.Check() != nil {
				continue
			}
			cp := Conv2DParams{N: 1, C: p.N * p.C, H: p.H, W: p.W, M: p.N * p.C, KH: 3, KW: 3, StrideH: p.StrideH, StrideW: s,
				DilH: p.DilH, DilW: 1, PadT: p.PadT, PadL: p.PadL, PadB: p.PadB, PadR: p.PadR, Group: p.N * p.C, OH: p.OH, OW: p.OW}
			if d := getDW(&cp); d.ok && p.OW >= 16 {
				fast++
			}
			x := randSlice(r, p.N*p.C*p.H*p.W)
			y := nanSlice(p.N * p.C * p.OH * p.OW)
			MaxPool2D(&p, x, y)
			want := poolRef(&p, x, true)
			for i := range want {
				if y[i] != want[i] {
					t.Fatalf("%+v: y[%d] = %g, want %g", p, i, y[i], want[i])
				}
			}
		}
	}
	if hasGatherKernels() && fast < 40 {
		t.Errorf("only %d cases ran the 3×3 kernels", fast)
	}
}

func TestPoolOutSize(t *testing.T) {
	// ONNX maxpool_2d_ceil: 4x4 input, kernel 3, stride 2 → 2x2 in ceil
	// mode, 1x1 in floor mode.
	p := Pool2DParams{H: 4, W: 4, KH: 3, KW: 3, StrideH: 2, StrideW: 2, DilH: 1, DilW: 1}
	if oh, ow := p.OutSize(true); oh != 2 || ow != 2 {
		t.Errorf("ceil: %dx%d, want 2x2", oh, ow)
	}
	if oh, ow := p.OutSize(false); oh != 1 || ow != 1 {
		t.Errorf("floor: %dx%d, want 1x1", oh, ow)
	}
	// A window that would start in the trailing pad is dropped:
	// H=5, k=2, s=2, pads 0/1 → span 4, floor 3, ceil keeps 3.
	p = Pool2DParams{H: 5, W: 5, KH: 2, KW: 2, StrideH: 2, StrideW: 2, DilH: 1, DilW: 1, PadB: 1, PadR: 1}
	if oh, _ := p.OutSize(true); oh != 3 {
		t.Errorf("trailing-pad window: %d rows, want 3", oh)
	}
}

// TestMaxPool2x2Stride2 covers the 2×2 stride-2 fast path (OW ≥ 16): odd
// sizes, ceil mode (whose last window falls off the edge and takes the
// generic path), NaNs, which both paths pass over, and zeros of both
// signs (the first of equal ones wins), bit for bit; widths leave every
// tail of the AVX2 kernel's 8-output blocks.
func TestMaxPool2x2Stride2(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	fast := 0
	for _, h := range []int{2, 3, 5, 8} {
		for _, w := range []int{32, 33, 40, 50, 96, 97} {
			for _, ceil := range []bool{false, true} {
				p := Pool2DParams{N: 2, C: 3, H: h, W: w, KH: 2, KW: 2, StrideH: 2, StrideW: 2, DilH: 1, DilW: 1}
				p.OH, p.OW = p.OutSize(ceil)
				if p.is2x2s2() {
					fast++
				}
				x := randSlice(r, p.N*p.C*p.H*p.W)
				x[r.IntN(len(x))] = float32(math.NaN())
				x[r.IntN(len(x))] = float32(math.NaN())
				for i := 0; i < len(x)/8; i++ { // zeros of both signs side by side
					j := r.IntN(len(x) - 1)
					x[j], x[j+1] = float32(math.Copysign(0, float64(r.IntN(2)-1))), float32(math.Copysign(0, float64(r.IntN(2)-1)))
				}
				y := nanSlice(p.N * p.C * p.OH * p.OW)
				MaxPool2D(&p, x, y)
				want := make([]float32, len(y))
				for pl := 0; pl < p.N*p.C; pl++ {
					poolPlane(&p, x[pl*h*w:(pl+1)*h*w], want[pl*p.OH*p.OW:(pl+1)*p.OH*p.OW], true)
				}
				for i := range want {
					if math.Float32bits(y[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%+v ceil=%v: y[%d] = %g, generic path %g", p, ceil, i, y[i], want[i])
					}
				}
				ref := poolRef(&p, x, true)
				for i := range ref {
					if y[i] != ref[i] && !(math.IsNaN(float64(ref[i])) && y[i] > float32(math.Inf(-1))) {
						t.Fatalf("%+v ceil=%v: y[%d] = %g, reference %g", p, ceil, i, y[i], ref[i])
					}
				}
			}
		}
	}
	if fast < 16 {
		t.Fatalf("only %d cases took the fast path", fast)
	}
}

// TestVmaxRows checks the row updates of max pooling (vmax, vmax2: the
// vector loops where the machine has them) bit for bit against the Go
// loop, NaNs and zeros of both signs included, for every length up to
// 40 and inputs longer than needed.
func TestVmaxRows(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	special := []float32{float32(math.NaN()), 0, float32(math.Copysign(0, -1)), float32(math.Inf(-1)), float32(math.Inf(1))}
	fill := func(n int) []float32 {
		s := randSlice(r, n)
		for i := range s {
			if r.IntN(5) == 0 {
				s[i] = special[r.IntN(len(special))]
			}
		}
		return s
	}
	for n := 0; n <= 40; n++ {
		for _, s := range []int{1, 2} {
			x := fill(s*n + r.IntN(3))
			if len(x) < s*(n-1)+1 {
				continue
			}
			y := fill(n)
			want := append([]float32(nil), y...)
			vmaxStrideGo(x, s, want)
			if s == 1 {
				vmax(x, y)
			} else {
				vmax2(x, y)
			}
			for i := range y {
				if math.Float32bits(y[i]) != math.Float32bits(want[i]) {
					t.Fatalf("stride %d, n=%d: y[%d] = %g, want %g", s, n, i, y[i], want[i])
				}
			}
		}
	}
}
