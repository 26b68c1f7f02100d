package split_test

import (
	"fmt"

	"github.com/nncc/nncc/split"
)

// Split a six-node chain with a skip connection into three stages
// balanced on FLOPs: the skip tensor goes from the first stage straight
// to the last, and each stage holds only the weights it reads.
func ExampleSplit() {
	p, err := split.Split(skipModel(), split.Options{Stages: 3, Balance: split.FLOPs})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, st := range p.Stages {
		fmt.Printf("stage %d: nodes %d..%d, %d FLOPs, inputs %v, outputs %v, weights %v\n",
			st.Index, st.Start, st.End-1, st.FLOPs, names(st.Inputs), names(st.Outputs), names(st.Consts))
	}
	m := p.Manifest("skip", "skip.onnx")
	fmt.Println(m.Stages[2].Name, m.Stages[2].File, m.Stages[2].Inputs)
	// Output:
	// stage 0: nodes 0..1, 32 FLOPs, inputs [x], outputs [n0_Relu_out0 n1_Mul_out0], weights [w1]
	// stage 1: nodes 2..3, 32 FLOPs, inputs [n1_Mul_out0], outputs [n3_Neg_out0], weights [w2]
	// stage 2: nodes 4..5, 32 FLOPs, inputs [n0_Relu_out0 n3_Neg_out0], outputs [n5_Mul_out0], weights [w1]
	// skip_stage_2 stage_2.onnx [n0_Relu_out0 n3_Neg_out0]
}
