package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func absSlice(s []float32) []float32 {
	out := make([]float32, len(s))
	for i, v := range s {
		out[i] = float32(math.Abs(float64(v)))
	}
	return out
}

func randConv(r *rand.Rand) Conv2DParams {
	var p Conv2DParams
	for {
		p = Conv2DParams{
			N: 1 + r.IntN(2), H: 1 + r.IntN(12), W: 1 + r.IntN(20),
			KH: 1 + r.IntN(4), KW: 1 + r.IntN(4),
			StrideH: 1 + r.IntN(3), StrideW: 1 + r.IntN(3),
			DilH: 1 + r.IntN(2), DilW: 1 + r.IntN(2),
			PadT: r.IntN(3), PadL: r.IntN(3), PadB: r.IntN(3), PadR: r.IntN(3),
		}
		switch r.IntN(4) {
		case 0: // depthwise, sometimes with a channel multiplier
			p.C = 1 + r.IntN(9)
			p.Group = p.C
			p.M = p.C * (1 + r.IntN(2))
		case 1: // grouped
			p.Group = 1 + r.IntN(4)
			p.C = p.Group * (1 + r.IntN(3))
			p.M = p.Group * (1 + r.IntN(5))
		case 2: // pointwise
			p.Group = 1
			p.C, p.M = 1+r.IntN(40), 1+r.IntN(40)
			p.KH, p.KW, p.StrideH, p.StrideW = 1, 1, 1, 1
			p.PadT, p.PadL, p.PadB, p.PadR = 0, 0, 0, 0
			p.H, p.W = 1+r.IntN(30), 1+r.IntN(30)
		default:
			p.Group = 1
			p.C, p.M = 1+r.IntN(12), 1+r.IntN(20)
		}
		p.OH, p.OW = p.OutSize()
		if p.Check() == nil {
			return p
		}
	}
}

func convString(p *Conv2DParams) string {
	return fmt.Sprintf("N=%d C=%d H=%d W=%d M=%d K=%dx%d s=%d,%d d=%d,%d pads=%d,%d,%d,%d g=%d",
		p.N, p.C, p.H, p.W, p.M, p.KH, p.KW, p.StrideH, p.StrideW, p.DilH, p.DilW, p.PadT, p.PadL, p.PadB, p.PadR, p.Group)
}

// checkConv compares got with the reference convolution; the tolerance
// is the GEMM one, relative to the same convolution of |x|, |w|, |bias|.
func checkConv(t *testing.T, p *Conv2DParams, x, w, bias []float32, f Fused, got []float32) {
	t.Helper()
	want := make([]float32, len(got))
	conv2DRef(p, x, w, bias, want)
	refActivate(want, f)
	mag := make([]float32, len(got))
	var absBias []float32
	if bias != nil {
		absBias = absSlice(bias)
	}
	conv2DRef(p, absSlice(x), absSlice(w), absBias, mag)
	tol := gemmTol(p.C / p.Group * p.KH * p.KW)
	for i := range got {
		if d := math.Abs(float64(got[i] - want[i])); !(d <= tol*float64(mag[i])+1e-30) {
			t.Fatalf("%s act=%v: y[%d] = %g, want %g", convString(p), f.Act, i, got[i], want[i])
		}
	}
}

// checkConvAdd checks run(res, y), which should compute y = f(conv(x, w)
// + bias + res), with res separate from y and with res being y.
func checkConvAdd(t *testing.T, r *rand.Rand, p *Conv2DParams, x, w, bias []float32, f Fused, run func(res, y []float32)) {
	t.Helper()
	n := p.N * p.M * p.OH * p.OW
	res := randSlice(r, n)
	conv := make([]float32, n)
	conv2DRef(p, x, w, bias, conv)
	var absBias []float32
	if bias != nil {
		absBias = absSlice(bias)
	}
	mag := make([]float32, n)
	conv2DRef(p, absSlice(x), absSlice(w), absBias, mag)
	want := make([]float32, n)
	for i := range want {
		want[i] = conv[i] + res[i]
		mag[i] += float32(math.Abs(float64(res[i])))
	}
	refActivate(want, f)
	tol := gemmTol(p.C / p.Group * p.KH * p.KW)
	for _, alias := range []bool{false, true} {
		y := nanSlice(n)
		rs := res
		if alias {
			copy(y, res)
			rs = y
		}
		run(rs, y)
		for i := range y {
			if d := math.Abs(float64(y[i] - want[i])); !(d <= tol*float64(mag[i])+1e-30) {
				t.Fatalf("%s act=%v residual aliased=%v: y[%d] = %g, want %g", convString(p), f.Act, alias, i, y[i], want[i])
			}
		}
	}
}

func TestConv2DRandom(t *testing.T) {
	for _, k := range testKernels() {
		withKernel(t, k, func(t *testing.T) {
			r := rand.New(rand.NewPCG(11, 12))
			for it := 0; it < 300; it++ {
				p := randConv(r)
				x := randSlice(r, p.N*p.C*p.H*p.W)
				w := randSlice(r, p.M*p.C/p.Group*p.KH*p.KW)
				var bias []float32
				if it%3 != 0 {
					bias = randSlice(r, p.M)
				}
				f := Fused{Act: Activation(it % 3), Lo: -0.5, Hi: 0.75}
				SetThreads(1 + it%2)
				y := nanSlice(p.N * p.M * p.OH * p.OW)
				Conv2DFused(&p, x, w, bias, y, f)
				checkConv(t, &p, x, w, bias, f, y)

				pc := PackConv2D(&p, w)
				y = nanSlice(len(y))
				pc.Run(x, bias, y, f)
				checkConv(t, &p, x, w, bias, f, y)

				checkConvAdd(t, r, &p, x, w, bias, f, func(res, y []float32) { Conv2DFusedAdd(&p, x, w, bias, res, y, f) })
				checkConvAdd(t, r, &p, x, w, bias, f, func(res, y []float32) { pc.RunAdd(x, bias, res, y, f) })
			}
			SetThreads(1)
		})
	}
}

// TestConv2DLarge covers shapes big enough to cross GEMM blocks and
// split across goroutines.
func TestConv2DLarge(t *testing.T) {
	shapes := []Conv2DParams{
		{N: 1, C: 3, H: 64, W: 64, M: 32, KH: 3, KW: 3, StrideH: 2, StrideW: 2, DilH: 1, DilW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, Group: 1},
		{N: 2, C: 70, H: 20, W: 20, M: 30, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, Group: 1},
		{N: 1, C: 32, H: 40, W: 40, M: 16, KH: 1, KW: 1, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, Group: 1},
		{N: 1, C: 300, H: 9, W: 9, M: 200, KH: 1, KW: 1, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, Group: 1},
		{N: 1, C: 48, H: 37, W: 37, M: 48, KH: 3, KW: 3, StrideH: 2, StrideW: 2, DilH: 1, DilW: 1, PadT: 0, PadL: 1, PadB: 1, PadR: 0, Group: 48},
		{N: 1, C: 40, H: 30, W: 33, M: 40, KH: 5, KW: 5, StrideH: 1, StrideW: 1, DilH: 2, DilW: 2, PadT: 4, PadL: 4, PadB: 4, PadR: 4, Group: 40},
		// Stride 1 (implicit GEMM): several column, depth and row blocks,
		// dilation, asymmetric pads, groups, rectangular kernels.
		{N: 1, C: 40, H: 45, W: 41, M: 130, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, Group: 1},
		{N: 2, C: 30, H: 25, W: 27, M: 20, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilH: 2, DilW: 3, PadT: 0, PadL: 3, PadB: 2, PadR: 1, Group: 1},
		{N: 1, C: 12, H: 30, W: 30, M: 24, KH: 1, KW: 5, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, PadT: 0, PadL: 2, PadB: 0, PadR: 2, Group: 3},
		{N: 1, C: 300, H: 7, W: 7, M: 70, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, Group: 1},
		// Phase planes over implicitBandPlanes: on one goroutine they
		// are filled block by block of grid columns.
		{N: 1, C: 16, H: 259, W: 262, M: 3, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, PadT: 1, PadL: 2, PadB: 0, PadR: 1, Group: 1},
		{N: 1, C: 10, H: 461, W: 459, M: 3, KH: 3, KW: 2, StrideH: 2, StrideW: 2, DilH: 2, DilW: 1, PadT: 2, PadL: 1, PadB: 1, PadR: 0, Group: 1},
	}
	banded := 0
	for _, p := range shapes {
		p.OH, p.OW = p.OutSize()
		g := newPhaseGeom(&p)
		if !p.implicitConv() || p.C*len(g.phases)*g.hq*g.wq < implicitBandPlanes {
			continue
		}
		// Two goroutines fill their own rows too.
		ldg := roundUp(g.ng, 16)
		var bands [implicitMaxBandParts + 1]int
		if g.bandRows(&bands, ldg, ldg/16, 2, 16) {
			banded++
		}
	}
	if hasImplicitKernels() && banded < 2 {
		t.Errorf("%d shapes fill their phase planes by blocks, want 2", banded)
	}
	for _, k := range testKernels() {
		withKernel(t, k, func(t *testing.T) {
			r := rand.New(rand.NewPCG(13, 14))
			for _, p := range shapes {
				p.OH, p.OW = p.OutSize()
				x := randSlice(r, p.N*p.C*p.H*p.W)
				w := randSlice(r, p.M*p.C/p.Group*p.KH*p.KW)
				bias := randSlice(r, p.M)
				for th := 1; th <= 2; th++ {
					SetThreads(th)
					y := nanSlice(p.N * p.M * p.OH * p.OW)
					Conv2DFused(&p, x, w, bias, y, Fused{Act: ActRelu})
					checkConv(t, &p, x, w, bias, Fused{Act: ActRelu}, y)
				}
				pc := PackConv2D(&p, w)
				checkConvAdd(t, r, &p, x, w, bias, Fused{Act: ActRelu}, func(res, y []float32) { pc.RunAdd(x, bias, res, y, Fused{Act: ActRelu}) })
				SetThreads(1)
			}
		})
	}
}

// TestConv2DBatched covers convolutions of several images with small
// output planes, which run as GEMMs over batches of images: with and
// without gather programs (16 or 8 outputs per entry, or none where the
// inputs of an entry spread too far), several batches per call, groups,
// and both weight forms.
func TestConv2DBatched(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	var programs, lanes8, fallback int
	for it := 0; it < 300; it++ {
		p := Conv2DParams{N: 2 + r.IntN(9), H: 1 + r.IntN(24), W: 1 + r.IntN(24),
			KH: 1 + r.IntN(3), KW: 1 + r.IntN(3), StrideH: 1 + r.IntN(3), StrideW: 1 + r.IntN(3),
			DilH: 1 + r.IntN(2), DilW: 1 + r.IntN(2), PadT: r.IntN(3), PadL: r.IntN(3), PadB: r.IntN(3), PadR: r.IntN(3)}
		p.Group = 1 + r.IntN(2)
		p.C = p.Group * (1 + r.IntN(6))
		p.M = p.Group * (1 + r.IntN(40))
		if it%10 == 0 {
			p.N = 40 + r.IntN(30) // several batches of images
		}
		p.OH, p.OW = p.OutSize()
		if p.Check() != nil || !p.batched() {
			continue
		}
		var gp gatherProg
		switch {
		case !gp.build(p.window(), false):
			fallback++
		case gp.lanes == 8:
			lanes8++
		default:
			programs++
		}
		x := randSlice(r, p.N*p.C*p.H*p.W)
		w := randSlice(r, p.M*p.C/p.Group*p.KH*p.KW)
		bias := randSlice(r, p.M)
		f := Fused{Act: Activation(it % 3), Lo: -0.5, Hi: 0.75}
		SetThreads(1 + it%2)
		y := nanSlice(p.N * p.M * p.OH * p.OW)
		Conv2DFused(&p, x, w, bias, y, f)
		checkConv(t, &p, x, w, bias, f, y)
		y = nanSlice(len(y))
		pc := PackConv2D(&p, w)
		pc.Run(x, bias, y, f)
		checkConv(t, &p, x, w, bias, f, y)
		if it%3 == 0 {
			checkConvAdd(t, r, &p, x, w, bias, f, func(res, y []float32) { pc.RunAdd(x, bias, res, y, f) })
		}
	}
	SetThreads(1)
	if hasGatherKernels() && (programs < 30 || lanes8 < 10 || fallback < 10) {
		t.Errorf("gather programs: %d with 16 outputs per entry, %d with 8, %d fallbacks", programs, lanes8, fallback)
	}
}

// TestConv2DSwapped covers convolutions with small output planes and
// many output channels, which PackConv2D runs with positions as the GEMM
// rows: 1×1 and implicit (strided, dilated, padded) kernels, groups,
// activations, planes from 1×1 to beyond one row block of positions.
func TestConv2DSwapped(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	swapped := 0
	for it := 0; it < 200; it++ {
		p := Conv2DParams{N: 1, H: 1 + r.IntN(16), W: 1 + r.IntN(16), KH: 1 + r.IntN(3), KW: 1 + r.IntN(3),
			StrideH: 1 + r.IntN(2), StrideW: 1 + r.IntN(2), DilH: 1 + r.IntN(2), DilW: 1,
			PadT: r.IntN(2), PadL: r.IntN(2), PadB: r.IntN(2), PadR: r.IntN(2)}
		if it%3 == 0 { // 1×1 stride 1
			p.KH, p.KW, p.StrideH, p.StrideW, p.DilH = 1, 1, 1, 1, 1
			p.PadT, p.PadL, p.PadB, p.PadR = 0, 0, 0, 0
		}
		if it%20 == 0 {
			p.H, p.W = 12+r.IntN(6), 12+r.IntN(6) // over 120 positions
		}
		p.Group = 1 + r.IntN(2)
		p.C = p.Group * (1 + r.IntN(20))
		p.M = p.Group * (16 * (3 + r.IntN(6)))
		p.OH, p.OW = p.OutSize()
		if p.Check() != nil {
			continue
		}
		x := randSlice(r, p.N*p.C*p.H*p.W)
		w := randSlice(r, p.M*p.C/p.Group*p.KH*p.KW)
		var bias []float32
		if it%4 != 0 {
			bias = randSlice(r, p.M)
		}
		f := Fused{Act: Activation(it / 3 % 3), Lo: -0.5, Hi: 0.75} // it%3 == 0 (1×1) cases get every activation too
		pc := PackConv2D(&p, w)
		if pc.sw != nil {
			swapped++
		}
		SetThreads(1 + it%2)
		y := nanSlice(p.N * p.M * p.OH * p.OW)
		pc.Run(x, bias, y, f)
		checkConv(t, &p, x, w, bias, f, y)
		if it%2 == 0 {
			checkConvAdd(t, r, &p, x, w, bias, f, func(res, y []float32) { pc.RunAdd(x, bias, res, y, f) })
		}
	}
	SetThreads(1)
	if hasIndirectKernels() && swapped < 60 {
		t.Errorf("only %d convolutions ran swapped", swapped)
	}
}

func TestConv2DCheck(t *testing.T) {
	good := Conv2DParams{N: 1, C: 4, H: 5, W: 5, M: 6, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, Group: 2, OH: 3, OW: 3}
	if err := good.Check(); err != nil {
		t.Fatalf("valid params: %v", err)
	}
	bad := []func(p *Conv2DParams){
		func(p *Conv2DParams) { p.Group = 3 },
		func(p *Conv2DParams) { p.StrideH = 0 },
		func(p *Conv2DParams) { p.PadL = -1 },
		func(p *Conv2DParams) { p.OH = 4 },
		func(p *Conv2DParams) { p.KW = 9 }, // empty output
		func(p *Conv2DParams) { p.C = 0 },
	}
	for i, mod := range bad {
		p := good
		mod(&p)
		if p.Check() == nil {
			t.Errorf("case %d: Check accepted %s", i, convString(&p))
		}
	}
}

func TestAxpy(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	for n := 0; n < 100; n++ {
		x := randSlice(r, 2*n+1)
		y := randSlice(r, n+1)
		for _, s := range []int{1, 2} {
			// Exactly the needed length of x, so reading past it would
			// be caught by the bounds checks around the assembly.
			xs := x[:max(0, (n-1)*s+1)]
			got := append([]float32(nil), y...)
			want := append([]float32(nil), y...)
			if s == 1 {
				axpy(1.5, xs, got[:n])
			} else {
				axpy2(1.5, xs, got[:n])
			}
			for i := 0; i < n; i++ {
				want[i] += 1.5 * xs[i*s]
			}
			for i := range want {
				if math.Abs(float64(got[i]-want[i])) > 1e-6*math.Abs(float64(want[i]))+1e-6 {
					t.Fatalf("stride %d n=%d: y[%d] = %g, want %g", s, n, i, got[i], want[i])
				}
			}
		}
	}
}

// refActivate applies f the obvious way, independently of biasClamp.
func refActivate(x []float32, f Fused) {
	for i, v := range x {
		switch f.Act {
		case ActRelu:
			if v < 0 {
				v = 0
			}
		case ActClip:
			v = float32(math.Min(math.Max(float64(v), float64(f.Lo)), float64(f.Hi)))
		}
		x[i] = v
	}
}

func TestBiasClamp(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	nan := float32(math.NaN())
	for n := 0; n < 70; n++ {
		for _, f := range []Fused{{}, {Act: ActRelu}, {Act: ActClip, Lo: -0.25, Hi: 0.5}} {
			x := randSlice(r, n+1)
			if n > 3 {
				x[n/2] = nan
			}
			got := append([]float32(nil), x...)
			lo, hi := f.bounds()
			biasClamp(got[:n], 0.125, lo, hi)
			want := append([]float32(nil), x...)
			for i := range want[:n] {
				want[i] += 0.125
			}
			refActivate(want[:n], f)
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(got[i] != got[i] && want[i] != want[i]) {
					t.Fatalf("n=%d act=%v: x[%d] = %g, want %g", n, f.Act, i, got[i], want[i])
				}
			}
		}
	}
}

// TestDepthwise3x3 sweeps image widths for the 3×3 plane kernels, so
// every tail length of both strides meets every padding, with batches,
// channel multipliers, vertical strides and dilations, missing biases,
// and pads wide enough to leave the kernels' reach (those fall back).
func TestDepthwise3x3(t *testing.T) {
	r := rand.New(rand.NewPCG(19, 20))
	fast, pairs := 0, 0
	for W := 1; W <= 70; W++ {
		for s := 1; s <= 2; s++ {
			for it := 0; it < 3; it++ {
				p := Conv2DParams{N: 1 + r.IntN(2), C: 1 + r.IntN(3), H: 1 + r.IntN(7), W: W, KH: 3, KW: 3,
					StrideH: 1 + r.IntN(2), StrideW: s, DilH: 1 + r.IntN(2), DilW: 1,
					PadT: r.IntN(3), PadL: r.IntN(3), PadB: r.IntN(3), PadR: r.IntN(3)}
				switch it {
				case 0: // two output rows at a time
					p.StrideH, p.DilH, p.H = s, 1, 2+r.IntN(9)
				case 2:
					p.PadL, p.PadR = r.IntN(40), r.IntN(40)
				}
				p.Group = p.C
				p.M = p.C * (1 + r.IntN(2))
				p.OH, p.OW = p.OutSize()
				if p.Check() != nil {
					continue
				}
				if d, ok := newDW3x3(&p, make([]int64, dwRowsLen(p.OH))); ok {
					fast++
					if d.pair {
						pairs++
					}
				}
				x := randSlice(r, p.N*p.C*p.H*p.W)
				w := randSlice(r, p.M*p.KH*p.KW)
				var bias []float32
				if r.IntN(3) > 0 {
					bias = randSlice(r, p.M)
				}
				f := Fused{Act: ActClip, Lo: -1, Hi: 1}
				if r.IntN(2) == 0 {
					f = Fused{}
				}
				y := nanSlice(p.N * p.M * p.OH * p.OW)
				Conv2DFused(&p, x, w, bias, y, f)
				checkConv(t, &p, x, w, bias, f, y)
				y = nanSlice(len(y))
				PackConv2D(&p, w).Run(x, bias, y, f)
				checkConv(t, &p, x, w, bias, f, y)
			}
		}
	}
	probe := Conv2DParams{N: 1, C: 1, H: 8, W: 8, M: 1, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, Group: 1, OH: 6, OW: 6}
	if _, ok := newDW3x3(&probe, make([]int64, dwRowsLen(6))); ok && (fast < 200 || pairs < 100) {
		t.Errorf("only %d cases ran the 3×3 kernels, %d two rows at a time", fast, pairs)
	}
}
