package runtime_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/npy"
	"github.com/nncc/nncc/onnx"
	"github.com/nncc/nncc/runtime"
)

// A Profile over three runs of the digits CNN: its trace parses and has
// one event per step and run, the per-operator totals add up to the
// per-node totals and to the sum of the events, and the table names the
// slowest node.
func TestProfileTotalsAndTrace(t *testing.T) {
	m, err := onnx.Load("../testmodels/digits_cnn.onnx")
	if err != nil {
		t.Fatal(err)
	}
	x, err := npy.Read("../testmodels/data/digits_test_x.npy")
	if err != nil {
		t.Fatal(err)
	}
	in := map[string]*ir.Tensor{m.Graph.Inputs[0].Name: {DType: x.DType, Dims: []int64{4, 1, 8, 8}, Data: x.Data[:4*64*4]}}
	p := runtime.NewProfile()
	steps := 0
	s, err := runtime.NewSession(m, runtime.Options{Threads: 1, Observe: func(n *ir.Node, ins, outs []*ir.Tensor, d time.Duration) {
		steps++
		p.Observe(n, ins, outs, d)
	}})
	if err != nil {
		t.Fatal(err)
	}
	const runs = 3
	for i := 0; i < runs; i++ {
		if _, err := s.Run(in); err != nil {
			t.Fatal(err)
		}
	}
	if p.Runs() != runs {
		t.Errorf("Runs() = %d, want %d", p.Runs(), runs)
	}
	perRun := steps / runs
	if perRun == 0 || steps%runs != 0 {
		t.Fatalf("%d steps observed over %d runs", steps, runs)
	}
	var buf bytes.Buffer
	if err := p.WriteTrace(&buf); err != nil {
		t.Fatal(err)
	}
	var tr struct {
		TraceEvents []struct {
			Name string  `json:"name"`
			Ph   string  `json:"ph"`
			Ts   float64 `json:"ts"`
			Dur  float64 `json:"dur"`
			Tid  int     `json:"tid"`
		} `json:"traceEvents"`
	}
	if err := json.Unmarshal(buf.Bytes(), &tr); err != nil {
		t.Fatalf("trace is not JSON: %v", err)
	}
	if len(tr.TraceEvents) != steps {
		t.Fatalf("trace has %d events, want one per step (%d)", len(tr.TraceEvents), steps)
	}
	perTid := map[int]int{}
	var evSum float64
	for i, e := range tr.TraceEvents {
		if e.Ph != "X" || e.Name == "" || e.Dur < 0 || e.Ts < 0 {
			t.Errorf("event %d: %+v", i, e)
		}
		perTid[e.Tid]++
		evSum += e.Dur
	}
	for r := 1; r <= runs; r++ {
		if perTid[r] != perRun {
			t.Errorf("run %d has %d events, want %d", r, perTid[r], perRun)
		}
	}
	var opSum, nodeSum time.Duration
	calls := 0
	for _, o := range p.ByOp() {
		opSum += o.Total
		calls += o.Calls
	}
	nodes := p.Nodes()
	for i, n := range nodes {
		nodeSum += n.Total
		if n.Calls != runs {
			t.Errorf("node %s ran %d times, want %d", n.Name, n.Calls, runs)
		}
		if i > 0 && n.Total > nodes[i-1].Total {
			t.Errorf("nodes are not slowest first at %d", i)
		}
	}
	if opSum != nodeSum || opSum != p.Total() || calls != steps {
		t.Errorf("per-op total %v, per-node %v, Total %v; calls %d of %d steps", opSum, nodeSum, p.Total(), calls, steps)
	}
	if d := evSum - float64(opSum.Nanoseconds())/1e3; d > 1 || d < -1 {
		t.Errorf("events add up to %.1f µs, totals to %v", evSum, opSum)
	}
	var tab bytes.Buffer
	if err := p.WriteTable(&tab, 3); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(tab.String(), nodes[0].Name) || !strings.Contains(tab.String(), nodes[0].Op) {
		t.Errorf("table does not name the slowest node %s:\n%s", nodes[0].Name, tab.String())
	}
}
