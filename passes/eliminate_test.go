package passes_test

import (
	"strings"
	"testing"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/testmodels"
)

func TestEliminateIdentity(t *testing.T) {
	b := testmodels.NewBuilder("m", 13)
	x := b.Input("x", ir.Float32, 2, 3)
	i1 := b.Node("Identity", []*ir.Value{x})
	r := b.Node("Relu", []*ir.Value{i1})
	i2 := b.Node("Identity", []*ir.Value{r})
	i3 := b.Node("Identity", []*ir.Value{i2}) // chain into a graph output
	n := b.Node("Neg", []*ir.Value{i2})
	b.Output(i3, n)
	m := b.Model()
	run(t, m, "eliminate-identity")
	golden(t, "eliminate_identity", dump(m))
	if got := ops(m.Graph); got != "Relu Neg" {
		t.Fatalf("nodes after: %s", got)
	}
	if m.Graph.Outputs[0].Name != i3.Name || m.Graph.Outputs[1].Name != n.Name {
		t.Errorf("graph outputs renamed: %s %s", m.Graph.Outputs[0].Name, m.Graph.Outputs[1].Name)
	}
}

// An Identity from a graph input to a graph output, or between two graph
// outputs, joins two interface names: it stays, with the reason.
func TestEliminateIdentityKeepsInterface(t *testing.T) {
	b := testmodels.NewBuilder("m", 13)
	x := b.Input("x", ir.Float32, 2)
	r := b.Node("Relu", []*ir.Value{x})
	b.Output(b.Node("Identity", []*ir.Value{x}), r, b.Node("Identity", []*ir.Value{r}))
	m := b.Model()
	rep := run(t, m, "eliminate-identity")
	if got := ops(m.Graph); got != "Relu Identity Identity" {
		t.Fatalf("nodes after: %s", got)
	}
	if d := rep.Passes[0].Declined; len(d) != 2 || !strings.Contains(d[0].Reason, "cannot take its name") {
		t.Errorf("declines: %+v", d)
	}
}

func TestEliminateDead(t *testing.T) {
	b := testmodels.NewBuilder("m", 13)
	x := b.Input("x", ir.Float32, 2)
	unusedIn := b.Input("unused_in", ir.Float32, 2) // interface: stays
	w := b.F32("w", []int64{2}, []float32{1, 2})
	b.F32("dead_w", []int64{2}, []float32{3, 4})
	deadDefault := b.F32("dead_default", []int64{1}, []float32{5})
	b.Model().Graph.Inputs = append(b.Model().Graph.Inputs, deadDefault) // initializer listed as an input
	used := b.Node("Mul", []*ir.Value{x, w})
	dead1 := b.Node("Relu", []*ir.Value{x})
	b.Node("Neg", []*ir.Value{dead1})
	b.Output(used)
	_ = unusedIn
	m := b.Model()
	rep := run(t, m, "eliminate-dead")
	golden(t, "eliminate_dead", dump(m))
	if got := ops(m.Graph); got != "Mul" {
		t.Fatalf("nodes after: %s", got)
	}
	if len(m.Graph.Consts) != 1 || m.Graph.Consts[0] != w {
		t.Errorf("constants after: %d", len(m.Graph.Consts))
	}
	if len(m.Graph.Inputs) != 2 || m.Graph.Inputs[1].Name != "unused_in" {
		t.Errorf("inputs after: %v", m.Graph.Inputs)
	}
	pr := rep.Passes[0]
	if pr.NodesBefore != 3 || pr.NodesAfter != 1 || pr.ParamsBefore != 5 || pr.ParamsAfter != 2 {
		t.Errorf("report %+v", pr)
	}
}

// Values read only inside a subgraph are live; dead nodes inside the
// subgraph go.
func TestEliminateDeadSubgraph(t *testing.T) {
	b := testmodels.NewBuilder("m", 13)
	x := b.Input("x", ir.Float32, 2)
	c := b.Input("c", ir.Bool)
	outerW := b.F32("outer_w", []int64{2}, []float32{1, 2})
	outerRelu := b.Node("Relu", []*ir.Value{x})
	mk := func(name string) *ir.Graph {
		out := &ir.Value{Name: name + "_out"}
		deadOut := &ir.Value{Name: name + "_dead"}
		return &ir.Graph{Name: name, Nodes: []*ir.Node{
			{Name: name + "_dead", OpType: "Neg", Inputs: []*ir.Value{x}, Outputs: []*ir.Value{deadOut}},
			{Name: name + "_mul", OpType: "Mul", Inputs: []*ir.Value{outerRelu, outerW}, Outputs: []*ir.Value{out}},
		}, Outputs: []*ir.Value{out}}
	}
	b.Output(b.Node("If", []*ir.Value{c}, ir.GraphAttr("then_branch", mk("t")), ir.GraphAttr("else_branch", mk("e"))))
	m := b.Model()
	run(t, m, "eliminate-dead")
	if got := ops(m.Graph); got != "Relu If" {
		t.Fatalf("main graph after: %s", got)
	}
	if len(m.Graph.Consts) != 1 {
		t.Errorf("the constant read by the branches was removed")
	}
	if got := ops(m.Graph.Nodes[1].Attr("then_branch").G); got != "Mul" {
		t.Errorf("then branch after: %s", got)
	}
}
