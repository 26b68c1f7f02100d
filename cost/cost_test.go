package cost_test

import (
	"fmt"
	"testing"

	"github.com/nncc/nncc/cost"
	"github.com/nncc/nncc/onnx"
)

// The digits CNN's MACs from its architecture (testmodels/train.py): a
// 3×3 conv 1→16 on 8×8, a 2×2 max pool, a 3×3 conv 16→32 on 4×4, then a
// Gemm 128→10; the test reads the weights' shapes, so a wrong formula
// shows.
func TestDigitsCNN(t *testing.T) {
	m, err := onnx.Load("../testmodels/digits_cnn.onnx")
	if err != nil {
		t.Fatal(err)
	}
	r, err := cost.Analyze(m, nil, map[string]int64{"batch": 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Unknown) > 0 {
		t.Fatalf("unknown costs: %v", r.Unknown)
	}
	var want int64
	for _, n := range m.Graph.Nodes {
		switch n.OpType {
		case "Conv":
			w := n.Inputs[1].Const.Dims
			// Output spatial size equals the input's (pads 1, stride 1).
			var h int64 = 8
			if w[1] != 1 {
				h = 4
			}
			want += 2 * w[0] * h * h * w[1] * w[2] * w[3]
		case "Gemm":
			w := n.Inputs[1].Const.Dims
			want += 2 * w[0] * w[1]
		}
	}
	if got := r.MACs(); got != want || want == 0 {
		t.Errorf("MACs %d, want %d", got, want)
	}
	if r.FLOPs() <= 2*r.MACs() {
		t.Errorf("FLOPs %d should exceed 2·MACs %d (element-wise ops count)", r.FLOPs(), 2*r.MACs())
	}
	// m itself keeps its symbolic batch.
	if in := m.Graph.Inputs[0].Type.Shape[0]; in.Known() {
		t.Errorf("Analyze bound the caller's model: %v", in)
	}
}

func TestUnboundDimsAreReported(t *testing.T) {
	m, err := onnx.Load("../testmodels/digits_cnn.onnx")
	if err != nil {
		t.Fatal(err)
	}
	r, err := cost.Analyze(m, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Unknown) == 0 {
		t.Errorf("with the batch unbound every cost should be unknown; got MACs %d", r.MACs())
	}
	if _, err := cost.Analyze(m, map[string][]int64{m.Graph.Inputs[0].Name: {1, 2, 8, 8}}, nil); err == nil {
		t.Errorf("a shape contradicting the declared channels was accepted")
	}
}

func ExampleAnalyze() {
	m, _ := onnx.Load("../testmodels/digits_cnn.onnx")
	r, _ := cost.Analyze(m, nil, map[string]int64{"batch": 1})
	for _, t := range r.ByOpType() {
		if t.MACs > 0 {
			fmt.Printf("%s: %d nodes, %d MACs\n", t.OpType, t.Nodes, t.MACs)
		}
	}
	// Output:
	// Conv: 2 nodes, 82944 MACs
	// Gemm: 1 nodes, 1280 MACs
}
