package passes_test

import (
	"strings"
	"testing"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/passes"
	"github.com/nncc/nncc/testmodels"
)

func TestRemoveDropoutForms(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opset int64
		build func(b *testmodels.Builder, x *ir.Value) *ir.Value
	}{
		{"opset6-is_test", 6, func(b *testmodels.Builder, x *ir.Value) *ir.Value {
			return b.Node("Dropout", []*ir.Value{x}, ir.IntAttr("is_test", 1), ir.FloatAttr("ratio", 0.3))
		}},
		{"opset7-ratio-attr", 7, func(b *testmodels.Builder, x *ir.Value) *ir.Value {
			return b.Node("Dropout", []*ir.Value{x}, ir.FloatAttr("ratio", 0.3))
		}},
		{"opset12-no-inputs", 12, func(b *testmodels.Builder, x *ir.Value) *ir.Value {
			return b.Node("Dropout", []*ir.Value{x})
		}},
		{"opset13-ratio-and-training-false", 13, func(b *testmodels.Builder, x *ir.Value) *ir.Value {
			r := b.F32("ratio", nil, []float32{0.4})
			tm := b.Const("tm", &ir.Tensor{DType: ir.Bool, Data: []byte{0}})
			return b.Node("Dropout", []*ir.Value{x, r, tm})
		}},
		{"opset13-omitted-ratio", 13, func(b *testmodels.Builder, x *ir.Value) *ir.Value {
			tm := b.Const("tm", &ir.Tensor{DType: ir.Bool, Data: []byte{0}})
			return b.Node("Dropout", []*ir.Value{x, nil, tm})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := testmodels.NewBuilder("m", tc.opset)
			x := b.Input("x", ir.Float32, 2, 3)
			r := b.Node("Relu", []*ir.Value{x})
			d := tc.build(b, r)
			b.Output(b.Node("Neg", []*ir.Value{d}))
			m := b.Model()
			var rep *passes.Report
			if tc.opset < 7 {
				// nncc's runtime starts at Dropout-7: check the structure only.
				var err error
				if rep, err = mustParse(t, "remove-dropout").Run(m, passes.RunOptions{}); err != nil {
					t.Fatal(err)
				}
			} else {
				rep = run(t, m, "remove-dropout")
			}
			if got := ops(m.Graph); got != "Relu Neg" {
				t.Fatalf("nodes after: %s", got)
			}
			if m.Graph.Nodes[1].Inputs[0] != m.Graph.Nodes[0].Outputs[0] {
				t.Error("Neg does not read Relu's output")
			}
			if !rep.Passes[0].Changed || len(rep.Passes[0].Declined) != 0 {
				t.Errorf("report: %+v", rep.Passes[0])
			}
		})
	}
}

func TestRemoveDropoutMask(t *testing.T) {
	for _, tc := range []struct {
		opset int64
		dt    ir.DType
	}{{7, ir.Float32}, {10, ir.Bool}, {13, ir.Bool}} {
		b := testmodels.NewBuilder("m", tc.opset)
		x := b.Input("x", ir.Float32, 2, 3)
		outs := b.NodeN("Dropout", []*ir.Value{x}, 2)
		y := b.Node("Relu", []*ir.Value{outs[0]})
		b.Output(y, outs[1])
		m := b.Model()
		if tc.opset < 10 {
			// Before opset 10 the mask has the input's type (ONNX
			// Dropout-7); nncc's runtime returns bool there, so only the
			// structure is checked.
			if _, err := mustParse(t, "remove-dropout").Run(m, passes.RunOptions{}); err != nil {
				t.Fatal(err)
			}
		} else {
			run(t, m, "remove-dropout")
		}
		if got := ops(m.Graph); got != "Relu" {
			t.Fatalf("opset %d: nodes after: %s", tc.opset, got)
		}
		mask := m.Graph.Outputs[1]
		if mask.Name != "n0_Dropout_out1" || mask.Const == nil || mask.Const.DType != tc.dt || len(mask.Const.Dims) != 2 {
			t.Fatalf("opset %d: mask output %s = %+v", tc.opset, mask.Name, mask.Const)
		}
		for _, v := range mask.Const.Float64s() {
			if v != 1 {
				t.Fatalf("opset %d: mask holds %v, want all ones", tc.opset, v)
			}
		}
	}
}

func TestRemoveDropoutDeclines(t *testing.T) {
	for _, tc := range []struct {
		name, why string
		build     func(b *testmodels.Builder) *ir.Value
	}{
		{"training-true", "training_mode is true", func(b *testmodels.Builder) *ir.Value {
			x := b.Input("x", ir.Float32, 2, 3)
			tm := b.Const("tm", &ir.Tensor{DType: ir.Bool, Data: []byte{1}})
			return b.Node("Dropout", []*ir.Value{x, nil, tm})
		}},
		{"training-input", "not a constant", func(b *testmodels.Builder) *ir.Value {
			x := b.Input("x", ir.Float32, 2, 3)
			tm := b.Input("tm", ir.Bool)
			return b.Node("Dropout", []*ir.Value{x, nil, tm})
		}},
		{"mask-dynamic-shape", "not static", func(b *testmodels.Builder) *ir.Value {
			x := b.InputShape("x", ir.Float32, ir.Shape{ir.Sym("N"), ir.D(3)})
			outs := b.NodeN("Dropout", []*ir.Value{x}, 2)
			b.Output(outs[1])
			return outs[0]
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := testmodels.NewBuilder("m", 13)
			b.Output(b.Node("Relu", []*ir.Value{tc.build(b)}))
			m := b.Model()
			before := dump(m)
			p := mustParse(t, "remove-dropout")
			rep, err := p.Run(m, passes.RunOptions{}) // the runtime cannot run training-mode Dropout
			if err != nil {
				t.Fatal(err)
			}
			if dump(m) != before {
				t.Errorf("declined case changed the graph:\n%s", dump(m))
			}
			pr := rep.Passes[0]
			if pr.Changed || len(pr.Declined) != 1 || !strings.Contains(pr.Declined[0].Reason, tc.why) {
				t.Errorf("report %+v, want one decline containing %q", pr, tc.why)
			}
		})
	}
}

// A Dropout between a graph input and a graph output keeps both names:
// it becomes an Identity.
func TestRemoveDropoutInterfaceBecomesIdentity(t *testing.T) {
	b := testmodels.NewBuilder("m", 13)
	x := b.Input("x", ir.Float32, 2)
	b.Output(b.Node("Dropout", []*ir.Value{x}))
	m := b.Model()
	run(t, m, "remove-dropout")
	if got := ops(m.Graph); got != "Identity" {
		t.Fatalf("nodes after: %s", got)
	}
	if m.Graph.Outputs[0].Name != "n0_Dropout_out0" || m.Graph.Inputs[0].Name != "x" {
		t.Errorf("interface names changed: %s -> %s", m.Graph.Inputs[0].Name, m.Graph.Outputs[0].Name)
	}
}

// When the Dropout's output is a graph output, its input takes the name.
func TestRemoveDropoutKeepsOutputName(t *testing.T) {
	b := testmodels.NewBuilder("m", 13)
	x := b.Input("x", ir.Float32, 2)
	y := b.Node("Dropout", []*ir.Value{b.Node("Relu", []*ir.Value{x})})
	b.Output(y)
	m := b.Model()
	run(t, m, "remove-dropout")
	if got := ops(m.Graph); got != "Relu" || m.Graph.Outputs[0].Name != "n1_Dropout_out0" || m.Graph.Nodes[0].Outputs[0] != m.Graph.Outputs[0] {
		t.Fatalf("after: %s", dump(m))
	}
}

// Dropouts inside an If branch are removed too.
func TestRemoveDropoutInSubgraph(t *testing.T) {
	b := testmodels.NewBuilder("m", 13)
	x := b.Input("x", ir.Float32, 3)
	cond := b.Input("c", ir.Bool)
	branch := func(name, op string) *ir.Graph {
		mid := &ir.Value{Name: name + "_mid"}
		out := &ir.Value{Name: name + "_out"}
		return &ir.Graph{Name: name, Nodes: []*ir.Node{
			{Name: name + "_op", OpType: op, Inputs: []*ir.Value{x}, Outputs: []*ir.Value{mid}},
			{Name: name + "_dropout", OpType: "Dropout", Inputs: []*ir.Value{mid}, Outputs: []*ir.Value{out}},
		}, Outputs: []*ir.Value{out}}
	}
	y := b.Node("If", []*ir.Value{cond}, ir.GraphAttr("then_branch", branch("then", "Relu")), ir.GraphAttr("else_branch", branch("else", "Neg")))
	b.Output(y)
	m := b.Model()
	run(t, m, "remove-dropout")
	if n := countOps(m, "Dropout"); n != 0 {
		t.Fatalf("%d Dropouts remain", n)
	}
	then := m.Graph.Nodes[0].Attr("then_branch").G
	if then.Outputs[0].Name != "then_out" || then.Nodes[0].Outputs[0] != then.Outputs[0] {
		t.Errorf("branch output not rewired: %s", then.Outputs[0].Name)
	}
}
