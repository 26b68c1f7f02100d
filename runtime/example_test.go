package runtime_test

import (
	"fmt"
	"log"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/runtime"
	"github.com/nncc/nncc/testmodels"
)

// Build a two-node model, run it, and read the output.
func ExampleNewSession() {
	b := testmodels.NewBuilder("affine_relu", 17)
	x := b.Input("x", ir.Float32, 1, 3)
	w := b.F32("w", []int64{3, 2}, []float32{1, 0, 0, 1, 1, -1})
	y := b.Node("Relu", []*ir.Value{b.Node("MatMul", []*ir.Value{x, w})})
	b.Output(y)

	sess, err := runtime.NewSession(b.Model(), runtime.Options{Threads: 1})
	if err != nil {
		log.Fatal(err)
	}
	out, err := sess.Run(map[string]*ir.Tensor{"x": ir.FromFloat32([]int64{1, 3}, []float32{1, 2, 3})})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(sess.InputNames(), out[sess.OutputNames()[0]].Float32s())
	// Output: [x] [4 0]
}

// Evaluate one node on constant inputs, as constant folding does.
func ExampleEvalNode() {
	n := &ir.Node{Name: "shape", OpType: "Shape", Inputs: []*ir.Value{{Name: "x"}}, Outputs: []*ir.Value{{Name: "s"}}}
	out, err := runtime.EvalNode(n, []*ir.Tensor{ir.NewTensor(ir.Float32, 2, 5, 7)}, 17)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(out[0].Int64s())
	// Output: [2 5 7]
}

// Supported explains why an operator cannot run.
func ExampleSupported() {
	fmt.Println(runtime.Supported("", "LayerNormalization", 15))
	fmt.Println(runtime.Supported("", "LayerNormalization", 17))
	// Output:
	// operator LayerNormalization at opset 15 is not supported (supported from opset 17)
	// <nil>
}
