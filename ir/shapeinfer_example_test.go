package ir_test

import (
	"fmt"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/testmodels"
)

// A batch dimension named "N" flows through a convolution and a flatten
// whose target shape is computed at run time from Shape, as PyTorch
// exports x.view(x.size(0), -1).
func ExampleInferShapes() {
	b := testmodels.NewBuilder("example", 13)
	x := b.InputShape("x", ir.Float32, ir.Shape{ir.Sym("N"), ir.D(3), ir.D(8), ir.D(8)})
	w := b.F32("w", []int64{4, 3, 3, 3}, make([]float32, 4*3*3*3))
	y := b.Node("Conv", []*ir.Value{x, w}, ir.IntsAttr("pads", 1, 1, 1, 1), ir.IntsAttr("strides", 2, 2))
	n := b.Node("Gather", []*ir.Value{b.Node("Shape", []*ir.Value{y}), b.I64("zero", []int64{1}, []int64{0})})
	target := b.Node("Concat", []*ir.Value{n, b.I64("rest", []int64{1}, []int64{-1})}, ir.IntAttr("axis", 0))
	flat := b.Node("Reshape", []*ir.Value{y, target})

	if err := ir.InferShapes(b.Model()); err != nil {
		fmt.Println(err)
	}
	fmt.Println(y.Type)
	fmt.Println(flat.Type)
	// Output:
	// float32[N,4,4,4]
	// float32[N,64]
}

// Inconsistent inputs are reported against the node.
func ExampleInferShapes_error() {
	b := testmodels.NewBuilder("bad", 13)
	a := b.Input("a", ir.Float32, 2, 3)
	c := b.Input("c", ir.Float32, 4, 5)
	b.Node("MatMul", []*ir.Value{a, c})
	fmt.Println(ir.InferShapes(b.Model()))
	// Output:
	// node "n0_MatMul" (MatMul): inner dimensions 3 and 4 of shapes [2,3] and [4,5] differ
}

// InferNode answers for one node without changing the graph.
func ExampleInferNode() {
	n := &ir.Node{
		OpType: "Gemm",
		Inputs: []*ir.Value{
			{Name: "a", Type: &ir.Type{Kind: ir.KindTensor, DType: ir.Float32, HasShape: true, Shape: ir.Shape{ir.Sym("N"), ir.D(64)}}},
			{Name: "b", Type: ir.TensorType(ir.Float32, 10, 64)},
		},
		Outputs: []*ir.Value{{Name: "y"}},
		Attrs:   []*ir.Attribute{ir.IntAttr("transB", 1)},
	}
	types, err := ir.InferNode(n, 13)
	fmt.Println(types, err)
	// Output:
	// [float32[N,10]] <nil>
}
