package kernels_test

import (
	"fmt"

	"github.com/nncc/nncc/kernels"
)

func ExampleSgemm() {
	// C (2×2) = A (2×3) · B (3×2).
	A := []float32{1, 2, 3, 4, 5, 6}
	B := []float32{7, 8, 9, 10, 11, 12}
	C := make([]float32, 4)
	kernels.Sgemm(false, false, 2, 2, 3, 1, A, 3, B, 2, 0, C, 2)
	fmt.Println(C)
	// Output: [58 64 139 154]
}

func ExamplePackB() {
	// Pack constant weights once, multiply many times.
	W := []float32{1, 0, 0, 1, 2, 2} // 3×2
	pw := kernels.PackB(false, 3, 2, W, 2)
	x := []float32{1, 2, 3} // 1×3
	y := make([]float32, 2)
	kernels.SgemmPackedB(false, 1, 1, x, 3, pw, 0, y, 2)
	fmt.Println(y)
	// Output: [7 8]
}

func ExampleConv2DFused() {
	// A 3×3 Laplacian over a 3×3 image with one pixel of zero padding,
	// followed by ReLU.
	p := kernels.Conv2DParams{N: 1, C: 1, H: 3, W: 3, M: 1, KH: 3, KW: 3,
		StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, Group: 1}
	p.OH, p.OW = p.OutSize()
	if err := p.Check(); err != nil {
		fmt.Println(err)
		return
	}
	x := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9}
	w := []float32{0, 1, 0, 1, -4, 1, 0, 1, 0}
	y := make([]float32, p.OH*p.OW)
	kernels.Conv2DFused(&p, x, w, nil, y, kernels.Fused{Act: kernels.ActRelu})
	fmt.Println(y)
	// Output: [2 1 0 0 0 0 0 0 0]
}

func ExampleQGemmU8S8() {
	// (A - 128)·B with A uint8 (1×4) and B int8 (4×1).
	A := []uint8{129, 130, 127, 128}
	B := []int8{10, 20, 30, 40}
	C := make([]int32, 1)
	kernels.QGemmU8S8(1, 1, 4, A, 4, []uint8{128}, B, 1, nil, C, 1)
	fmt.Println(C)
	// Output: [20]
}

func ExampleMaxPool2D() {
	p := kernels.Pool2DParams{N: 1, C: 1, H: 4, W: 4, KH: 2, KW: 2, StrideH: 2, StrideW: 2, DilH: 1, DilW: 1}
	p.OH, p.OW = p.OutSize(false)
	x := []float32{
		1, 2, 3, 4,
		5, 6, 7, 8,
		9, 1, 2, 3,
		4, 5, 6, 7,
	}
	y := make([]float32, p.OH*p.OW)
	kernels.MaxPool2D(&p, x, y)
	fmt.Println(y)
	// Output: [6 8 9 7]
}

func ExamplePackedConv2D_RunAdd() {
	// A residual block's last step: y = ReLU(conv(x) + bias + skip), one
	// pass over y. The 1×1 convolution maps two channels to two.
	p := kernels.Conv2DParams{N: 1, C: 2, H: 1, W: 2, M: 2, KH: 1, KW: 1,
		StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, Group: 1}
	p.OH, p.OW = p.OutSize()
	w := []float32{1, 1, 1, -1} // out0 = in0 + in1, out1 = in0 - in1
	pc := kernels.PackConv2D(&p, w)
	x := []float32{1, 2, 3, 4} // channel 0: 1 2, channel 1: 3 4
	skip := []float32{10, 20, -1, 1}
	y := make([]float32, 4)
	pc.RunAdd(x, []float32{0.5, 0.5}, skip, y, kernels.Fused{Act: kernels.ActRelu})
	fmt.Println(y)
	// Output: [14.5 26.5 0 0]
}
