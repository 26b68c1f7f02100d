package runtime_test

import (
	"testing"
	"time"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/npy"
	"github.com/nncc/nncc/onnx"
	"github.com/nncc/nncc/runtime"
)

// Observe sees every step once per run, in order, with the tensors the
// step produced; the last step's output is the graph's output.
func TestObserveSeesEveryStep(t *testing.T) {
	m, err := onnx.Load("../testmodels/digits_cnn.onnx")
	if err != nil {
		t.Fatal(err)
	}
	x, err := npy.Read("../testmodels/data/digits_test_x.npy")
	if err != nil {
		t.Fatal(err)
	}
	in := &ir.Tensor{DType: x.DType, Dims: []int64{2, 1, 8, 8}, Data: x.Data[:2*64*4]}
	var seen []string
	var last []float32
	var total time.Duration
	s, err := runtime.NewSession(m, runtime.Options{Threads: 1, Observe: func(n *ir.Node, ins, outs []*ir.Tensor, d time.Duration) {
		seen = append(seen, n.OpType)
		last = append(last[:0], outs[0].Float32View()...)
		total += d
	}})
	if err != nil {
		t.Fatal(err)
	}
	outs, err := s.Run(map[string]*ir.Tensor{m.Graph.Inputs[0].Name: in})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) == 0 || len(seen) > len(m.Graph.Nodes) || seen[0] != m.Graph.Nodes[0].OpType {
		t.Fatalf("observed %v for nodes of %d", seen, len(m.Graph.Nodes))
	}
	got := outs[m.Graph.Outputs[0].Name].Float32View()
	if len(got) != len(last) || got[0] != last[0] || got[len(got)-1] != last[len(last)-1] || total <= 0 {
		t.Errorf("the last observed output differs from the graph output (or no time was measured: %v)", total)
	}
	n := len(seen)
	if _, err := s.Run(map[string]*ir.Tensor{m.Graph.Inputs[0].Name: in}); err != nil || len(seen) != 2*n {
		t.Errorf("second run observed %d steps, want %d", len(seen)-n, n)
	}
}
