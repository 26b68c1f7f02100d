package runtime_test

import (
	"fmt"
	"slices"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/onnx"
	"github.com/nncc/nncc/runtime"
)

// A Profile watches a session's runs through Options.Observe and sums the
// time per operator type and per node; WriteTable and WriteTrace print
// them (nncc bench --profile and --trace use it). The digits CNN as
// loaded runs each Conv with its BatchNormalization and Relu as one step.
func ExampleProfile() {
	m, err := onnx.Load("../testmodels/digits_cnn.onnx")
	if err != nil {
		panic(err)
	}
	prof := runtime.NewProfile()
	s, err := runtime.NewSession(m, runtime.Options{Threads: 1, Observe: prof.Observe})
	if err != nil {
		panic(err)
	}
	x := ir.NewTensor(ir.Float32, 1, 1, 8, 8)
	for range 3 {
		if _, err := s.Run(map[string]*ir.Tensor{s.InputNames()[0]: x}); err != nil {
			panic(err)
		}
	}
	var ops []string
	for _, o := range prof.ByOp() {
		ops = append(ops, fmt.Sprintf("%s×%d", o.Op, o.Calls/prof.Runs()))
	}
	slices.Sort(ops)
	fmt.Println(prof.Runs(), "runs; steps per run:", ops)
	// Output: 3 runs; steps per run: [AveragePool×1 Conv×2 Dropout×1 Flatten×1 Gemm×1 MaxPool×1 Pad×1]
}
