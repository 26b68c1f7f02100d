package prune_test

import (
	"fmt"

	"github.com/nncc/nncc/calib"
	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/prune"
	"github.com/nncc/nncc/testmodels"
)

// A Gemm pruned to 50% and re-fitted to the original's outputs: the kept
// weights absorb what the zeroed ones did on the calibration data.
func Example() {
	b := testmodels.NewBuilder("m", 13)
	x := b.Input("x", ir.Float32, -1, 4)
	w := make([]float32, 4*3)
	for i := range w {
		w[i] = float32(i%5) - 1.5
	}
	y := b.Node("Gemm", []*ir.Value{x, b.F32("w", []int64{4, 3}, w), b.F32("c", []int64{3}, []float32{0, 0, 0})})
	b.Output(y)
	teacher := b.Model()
	student := teacher.Clone()

	mask, layers, _ := prune.Magnitude(student, prune.MagnitudeOptions{Sparsity: 0.5, Threshold: -1, Global: true}, nil)
	fmt.Printf("%s: %d of %d weights zero\n", layers[0].OpType, layers[0].Zeros, layers[0].Weights)

	// Correlated inputs: x3 = x0 + x1, so a lost weight can be made up.
	xs := make([]float32, 0, 64*4)
	for i := 0; i < 64; i++ {
		a, c := float32(i%7)-3, float32(i%5)-2
		xs = append(xs, a, c, float32(i%3), a+c)
	}
	data, _ := calib.FromTensors(map[string]*ir.Tensor{"x": ir.FromFloat32([]int64{64, 4}, xs)})
	reps, err := prune.RefitMagnitude(teacher, student, mask, data, prune.RefitOptions{Damp: 1e-6})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("relative error %.3f before the re-fit, below 0.1 after: %v\n", reps[0].RelErrIn, reps[0].RelErrOut < 0.1)
	zeros := 0
	for _, v := range student.Graph.Nodes[0].Inputs[1].Const.Float32View() {
		if v == 0 {
			zeros++
		}
	}
	fmt.Println("zeros kept:", zeros)
	// Output:
	// Gemm: 6 of 12 weights zero
	// relative error 0.174 before the re-fit, below 0.1 after: true
	// zeros kept: 6
}
