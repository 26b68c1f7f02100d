package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"unsafe"
)

// reportGFLOPS sets the benchmark's GFLOP/s metric for flops operations
// per iteration.
func reportGFLOPS(b *testing.B, flops float64) {
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

func BenchmarkSgemm(b *testing.B) {
	shapes := []struct {
		name    string
		M, N, K int
	}{
		{"square256", 256, 256, 256},
		{"square512", 512, 512, 512},
		{"square1024", 1024, 1024, 1024},
		{"gemv_1x1000x1024", 1, 1000, 1024},
		{"matvec_1000x1x1024", 1000, 1, 1024},
		{"skinny_1000x4x1024", 1000, 4, 1024},
		{"fc_8x1000x1280", 8, 1000, 1280},
		{"conv1x1_16x12544x32", 16, 12544, 32},
		{"conv_32x12544x27", 32, 12544, 27},
	}
	r := rand.New(rand.NewPCG(1, 1))
	for _, s := range shapes {
		A, B, C := randSlice(r, s.M*s.K), randSlice(r, s.K*s.N), randSlice(r, s.M*s.N)
		flops := 2 * float64(s.M*s.N*s.K)
		for _, th := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/t%d", s.name, th), func(b *testing.B) {
				SetThreads(th)
				defer SetThreads(1)
				for b.Loop() {
					Sgemm(false, false, s.M, s.N, s.K, 1, A, s.K, B, s.N, 0, C, s.N)
				}
				reportGFLOPS(b, flops)
			})
		}
		// B transposed (ONNX Gemm with transB=1, as in FC layers),
		// per call and prepacked.
		b.Run(s.name+"/transB/t1", func(b *testing.B) {
			for b.Loop() {
				Sgemm(false, true, s.M, s.N, s.K, 1, A, s.K, B, s.K, 0, C, s.N)
			}
			reportGFLOPS(b, flops)
		})
		pb := PackB(true, s.K, s.N, B, s.K)
		b.Run(s.name+"/packedB/t1", func(b *testing.B) {
			for b.Loop() {
				SgemmPackedB(false, s.M, 1, A, s.K, pb, 0, C, s.N)
			}
			reportGFLOPS(b, flops)
		})
	}
}

// convBench lists typical CNN layers (MobileNetV2, ResNet-50 and
// PaddleOCR's detector and classifier).
var convBench = []struct {
	name string
	p    Conv2DParams
}{
	{"mbv2_3x3s2_3to32_224", Conv2DParams{N: 1, C: 3, H: 224, W: 224, M: 32, KH: 3, KW: 3, StrideH: 2, StrideW: 2, DilH: 1, DilW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, Group: 1}},
	{"mbv2_1x1_32to16_112", Conv2DParams{N: 1, C: 32, H: 112, W: 112, M: 16, KH: 1, KW: 1, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, Group: 1}},
	{"mbv2_1x1_16to96_112", Conv2DParams{N: 1, C: 16, H: 112, W: 112, M: 96, KH: 1, KW: 1, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, Group: 1}},
	{"mbv2_dw3x3_96_112", Conv2DParams{N: 1, C: 96, H: 112, W: 112, M: 96, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, Group: 96}},
	{"mbv2_dw3x3s2_96_112", Conv2DParams{N: 1, C: 96, H: 112, W: 112, M: 96, KH: 3, KW: 3, StrideH: 2, StrideW: 2, DilH: 1, DilW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, Group: 96}},
	{"mbv2_dw3x3_576_14", Conv2DParams{N: 1, C: 576, H: 14, W: 14, M: 576, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, Group: 576}},
	{"mbv2_1x1_320to1280_7", Conv2DParams{N: 1, C: 320, H: 7, W: 7, M: 1280, KH: 1, KW: 1, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, Group: 1}},
	{"r50_3x3_64_56", Conv2DParams{N: 1, C: 64, H: 56, W: 56, M: 64, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, Group: 1}},
	{"det_3x3_96to24_160", Conv2DParams{N: 1, C: 96, H: 160, W: 160, M: 24, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, Group: 1}},
	{"det_1x1_96to24_160", Conv2DParams{N: 1, C: 96, H: 160, W: 160, M: 24, KH: 1, KW: 1, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, Group: 1}},
	{"det_3x3_96to24_80", Conv2DParams{N: 1, C: 96, H: 80, W: 80, M: 24, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, Group: 1}},
	{"det_1x1_192_40", Conv2DParams{N: 1, C: 192, H: 40, W: 40, M: 192, KH: 1, KW: 1, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, Group: 1}},
	{"cls_3x3s2_3to8_48x192", Conv2DParams{N: 1, C: 3, H: 48, W: 192, M: 8, KH: 3, KW: 3, StrideH: 2, StrideW: 2, DilH: 1, DilW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, Group: 1}},
	{"cls_1x1_32to200_2x96", Conv2DParams{N: 1, C: 32, H: 2, W: 96, M: 200, KH: 1, KW: 1, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, Group: 1}},
	{"cls_dw5x5_200_2x96", Conv2DParams{N: 1, C: 200, H: 2, W: 96, M: 200, KH: 5, KW: 5, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, PadT: 2, PadL: 2, PadB: 2, PadR: 2, Group: 200}},
	{"r50_7x7s2_3to64_224", Conv2DParams{N: 1, C: 3, H: 224, W: 224, M: 64, KH: 7, KW: 7, StrideH: 2, StrideW: 2, DilH: 1, DilW: 1, PadT: 3, PadL: 3, PadB: 3, PadR: 3, Group: 1}},
	{"r18_3x3s2_64to128_56", Conv2DParams{N: 1, C: 64, H: 56, W: 56, M: 128, KH: 3, KW: 3, StrideH: 2, StrideW: 2, DilH: 1, DilW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, Group: 1}},
	{"r18_3x3_256_14", Conv2DParams{N: 1, C: 256, H: 14, W: 14, M: 256, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, Group: 1}},
	{"r18_3x3_512_7", Conv2DParams{N: 1, C: 512, H: 7, W: 7, M: 512, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, Group: 1}},
	{"mbv2_1x1_960to160_7", Conv2DParams{N: 1, C: 960, H: 7, W: 7, M: 160, KH: 1, KW: 1, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, Group: 1}},
	{"mbv2_dw3x3_960_7", Conv2DParams{N: 1, C: 960, H: 7, W: 7, M: 960, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, Group: 960}},
	{"digits_3x3_1to16_8_b64", Conv2DParams{N: 64, C: 1, H: 8, W: 8, M: 16, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, Group: 1}},
	{"digits_3x3_16to32_4_b64", Conv2DParams{N: 64, C: 16, H: 4, W: 4, M: 32, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, Group: 1}},
}

func BenchmarkConv2D(b *testing.B) {
	r := rand.New(rand.NewPCG(2, 2))
	for _, c := range convBench {
		p := c.p
		p.OH, p.OW = p.OutSize()
		x := randSlice(r, p.N*p.C*p.H*p.W)
		w := randSlice(r, p.M*p.C/p.Group*p.KH*p.KW)
		bias := randSlice(r, p.M)
		y := make([]float32, p.N*p.M*p.OH*p.OW)
		pc := PackConv2D(&p, w)
		flops := 2 * float64(p.N*p.M*p.OH*p.OW*p.C/p.Group*p.KH*p.KW)
		for _, th := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/t%d", c.name, th), func(b *testing.B) {
				SetThreads(th)
				defer SetThreads(1)
				for b.Loop() {
					pc.Run(x, bias, y, Fused{Act: ActRelu})
				}
				reportGFLOPS(b, flops)
			})
		}
	}
}

// BenchmarkPool2D reports output values per second (Gout/s).
func BenchmarkPool2D(b *testing.B) {
	cases := []struct {
		name  string
		p     Pool2DParams
		isMax bool
	}{
		{"r18_max3x3s2_64_112", Pool2DParams{N: 1, C: 64, H: 112, W: 112, KH: 3, KW: 3, StrideH: 2, StrideW: 2, DilH: 1, DilW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}, true},
		{"digits_max2x2_16_8_b64", Pool2DParams{N: 64, C: 16, H: 8, W: 8, KH: 2, KW: 2, StrideH: 2, StrideW: 2, DilH: 1, DilW: 1}, true},
		{"digits_avg2x2_32_4_b64", Pool2DParams{N: 64, C: 32, H: 4, W: 4, KH: 2, KW: 2, StrideH: 2, StrideW: 2, DilH: 1, DilW: 1, PadB: 1, PadR: 1}, false},
	}
	r := rand.New(rand.NewPCG(5, 5))
	for _, c := range cases {
		p := c.p
		p.OH, p.OW = p.OutSize(false)
		x := randSlice(r, p.N*p.C*p.H*p.W)
		y := make([]float32, p.N*p.C*p.OH*p.OW)
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if c.isMax {
					MaxPool2D(&p, x, y)
				} else {
					AvgPool2D(&p, x, y)
				}
			}
			b.ReportMetric(float64(len(y))*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gout/s")
		})
	}
}

func BenchmarkQGemm(b *testing.B) {
	shapes := []struct {
		name    string
		M, N, K int
	}{
		{"square256", 256, 256, 256},
		{"square512", 512, 512, 512},
		{"square1024", 1024, 1024, 1024},
		{"gemv_1x1000x1024", 1, 1000, 1024},
	}
	r := rand.New(rand.NewPCG(3, 3))
	for _, s := range shapes {
		A, B := randBytes(r, s.M*s.K), randBytes(r, s.K*s.N)
		C := make([]int32, s.M*s.N)
		b.Run(s.name+"/u8s8", func(b *testing.B) {
			for b.Loop() {
				QGemmU8S8(s.M, s.N, s.K, A, s.K, []uint8{3}, bytesToInt8(B), s.N, []int8{-2}, C, s.N)
			}
			reportGOPS(b, 2*float64(s.M*s.N*s.K))
		})
		pb := QPackB(s.K, s.N, B, s.N, true, []byte{2})
		b.Run(s.name+"/packedB", func(b *testing.B) {
			for b.Loop() {
				QGemmPackedB(s.M, A, s.K, false, []byte{3}, pb, C, s.N)
			}
			reportGOPS(b, 2*float64(s.M*s.N*s.K))
		})
	}
}

func BenchmarkQConv2D(b *testing.B) {
	r := rand.New(rand.NewPCG(4, 4))
	for _, c := range convBench {
		p := c.p
		p.OH, p.OW = p.OutSize()
		x := randBytes(r, p.N*p.C*p.H*p.W)
		w := randBytes(r, p.M*p.C/p.Group*p.KH*p.KW)
		y := make([]int32, p.N*p.M*p.OH*p.OW)
		pc := QPackConv2D(&p, w, true, nil)
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				pc.Run(x, false, 128, y)
			}
			reportGOPS(b, 2*float64(p.N*p.M*p.OH*p.OW*p.C/p.Group*p.KH*p.KW))
		})
	}
}

func reportGOPS(b *testing.B, ops float64) {
	b.ReportMetric(ops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GOP/s")
}

func bytesToInt8(s []byte) []int8 {
	return unsafe.Slice((*int8)(unsafe.Pointer(unsafe.SliceData(s))), len(s))
}

// detectorDW are depthwise convolutions of PaddleOCR's text detector
// (640×640 input): 5×5 at stride 1 and 2, 3×3 on large planes.
var detectorDW = []struct {
	name string
	p    Conv2DParams
}{
	{"dw5x5_192_40", Conv2DParams{N: 1, C: 192, H: 40, W: 40, M: 192, KH: 5, KW: 5, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, PadT: 2, PadL: 2, PadB: 2, PadR: 2, Group: 192}},
	{"dw5x5s2_192_40", Conv2DParams{N: 1, C: 192, H: 40, W: 40, M: 192, KH: 5, KW: 5, StrideH: 2, StrideW: 2, DilH: 1, DilW: 1, PadT: 2, PadL: 2, PadB: 2, PadR: 2, Group: 192}},
	{"dw5x5_384_20", Conv2DParams{N: 1, C: 384, H: 20, W: 20, M: 384, KH: 5, KW: 5, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, PadT: 2, PadL: 2, PadB: 2, PadR: 2, Group: 384}},
	{"dw7x7_96_56", Conv2DParams{N: 1, C: 96, H: 56, W: 56, M: 96, KH: 7, KW: 7, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, PadT: 3, PadL: 3, PadB: 3, PadR: 3, Group: 96}},
	{"dw3x3_16_320", Conv2DParams{N: 1, C: 16, H: 320, W: 320, M: 16, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, Group: 16}},
	{"dw3x3s2_32_320", Conv2DParams{N: 1, C: 32, H: 320, W: 320, M: 32, KH: 3, KW: 3, StrideH: 2, StrideW: 2, DilH: 1, DilW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, Group: 32}},
}

func BenchmarkDepthwise(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 3))
	for _, c := range detectorDW {
		p := c.p
		p.OH, p.OW = p.OutSize()
		x := randSlice(r, p.N*p.C*p.H*p.W)
		w := randSlice(r, p.M*p.KH*p.KW)
		bias := randSlice(r, p.M)
		y := make([]float32, p.N*p.M*p.OH*p.OW)
		pc := PackConv2D(&p, w)
		flops := 2 * float64(p.N*p.M*p.OH*p.OW*p.KH*p.KW)
		for _, th := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/t%d", c.name, th), func(b *testing.B) {
				SetThreads(th)
				defer SetThreads(1)
				for b.Loop() {
					pc.Run(x, bias, y, Fused{Act: ActClip, Lo: 0, Hi: 6})
				}
				reportGFLOPS(b, flops)
			})
		}
	}
}

// BenchmarkConvTranspose2D times the detector's two 2×2 stride-2
// upsamplings and a 4×4 stride-2 one (overlapping windows).
func BenchmarkConvTranspose2D(b *testing.B) {
	r := rand.New(rand.NewPCG(4, 4))
	for _, c := range []struct {
		name string
		p    ConvTranspose2DParams
	}{
		{"k2s2_24to24_160", ConvTranspose2DParams{N: 1, C: 24, H: 160, W: 160, M: 24, KH: 2, KW: 2, StrideH: 2, StrideW: 2, DilH: 1, DilW: 1, Group: 1, OH: 320, OW: 320}},
		{"k2s2_24to1_320", ConvTranspose2DParams{N: 1, C: 24, H: 320, W: 320, M: 1, KH: 2, KW: 2, StrideH: 2, StrideW: 2, DilH: 1, DilW: 1, Group: 1, OH: 640, OW: 640}},
		{"k4s2p1_64to32_80", ConvTranspose2DParams{N: 1, C: 64, H: 80, W: 80, M: 32, KH: 4, KW: 4, StrideH: 2, StrideW: 2, DilH: 1, DilW: 1, PadT: 1, PadL: 1, Group: 1, OH: 160, OW: 160}},
	} {
		p := c.p
		x := randSlice(r, p.N*p.C*p.H*p.W)
		w := randSlice(r, p.C*p.M/p.Group*p.KH*p.KW)
		bias := randSlice(r, p.M)
		y := make([]float32, p.N*p.M*p.OH*p.OW)
		flops := 2 * float64(p.N*p.C*p.H*p.W*p.M/p.Group*p.KH*p.KW)
		for _, th := range []int{1, 2} {
			scratch := make([]float32, ConvTranspose2DScratch(&p, th))
			b.Run(fmt.Sprintf("%s/t%d", c.name, th), func(b *testing.B) {
				SetThreads(th)
				defer SetThreads(1)
				for b.Loop() {
					ConvTranspose2D(&p, x, w, bias, y, scratch)
				}
				reportGFLOPS(b, flops)
			})
		}
	}
}

// BenchmarkSumRows is GlobalAveragePool of 96×160×160 and of 960×7×7;
// the rate counts input elements.
func BenchmarkSumRows(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 5))
	for _, c := range []struct {
		name       string
		rows, cols int
	}{{"gap_96_160", 96, 160 * 160}, {"gap_960_7", 960, 49}} {
		x := randSlice(r, c.rows*c.cols)
		y := make([]float32, c.rows)
		for _, th := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/t%d", c.name, th), func(b *testing.B) {
				SetThreads(th)
				defer SetThreads(1)
				for b.Loop() {
					SumRows(y, x, c.cols, 1/float32(c.cols))
				}
				b.ReportMetric(float64(len(x))*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gin/s")
			})
		}
	}
}

// BenchmarkResize is the detector's nearest 2× upsampling of 96×80×80
// and a bilinear one of the same size.
func BenchmarkResize(b *testing.B) {
	r := rand.New(rand.NewPCG(6, 6))
	const planes, H, W = 96, 80, 80
	x := randSlice(r, planes*H*W)
	y := make([]float32, planes*4*H*W)
	rows, cols := make([]int32, 2*H), make([]int32, 2*W)
	for i := range rows {
		rows[i] = int32(i / 2)
	}
	for i := range cols {
		cols[i] = int32(i / 2)
	}
	// Bilinear, half_pixel: output o reads (o+0.5)/2 − 0.5.
	lin := func(n int) *ResizeTaps {
		t := &ResizeTaps{N: 2}
		for o := 0; o < 2*n; o++ {
			s := max(0, (float32(o)+0.5)/2-0.5)
			i0 := min(int(s), n-1)
			i1 := min(i0+1, n-1)
			f := s - float32(i0)
			t.Idx = append(t.Idx, int32(i0), int32(i1))
			t.W = append(t.W, 1-f, f)
		}
		return t
	}
	lr, lc := lin(H), lin(W)
	for _, th := range []int{1, 2} {
		b.Run(fmt.Sprintf("nearest2x_96_80/t%d", th), func(b *testing.B) {
			SetThreads(th)
			defer SetThreads(1)
			for b.Loop() {
				ResizeNearest2D(x, y, planes, H, W, rows, cols)
			}
			b.ReportMetric(float64(len(y))*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gout/s")
		})
		b.Run(fmt.Sprintf("linear2x_96_80/t%d", th), func(b *testing.B) {
			SetThreads(th)
			defer SetThreads(1)
			for b.Loop() {
				Resize2D(x, y, planes, H, W, lr, lc)
			}
			b.ReportMetric(float64(len(y))*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gout/s")
		})
	}
}
