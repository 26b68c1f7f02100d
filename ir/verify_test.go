package ir_test

import (
	"strings"
	"testing"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/testmodels"
)

func convModel(attrs ...*ir.Attribute) *ir.Model {
	b := testmodels.NewBuilder("conv", 13)
	x := b.Input("x", ir.Float32, 1, 2, 5, 5)
	w := b.F32("w", []int64{2, 2, 3, 3}, make([]float32, 36))
	b.Output(b.Node("Conv", []*ir.Value{x, w}, attrs...))
	return b.Model()
}

func TestVerifyAcceptsValid(t *testing.T) {
	if err := ir.Verify(convModel(ir.IntsAttr("strides", 1, 1), ir.IntAttr("group", 1))); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyImpossibleAttributeValues(t *testing.T) {
	for name, tc := range map[string]struct {
		attr *ir.Attribute
		want string
	}{
		"zero stride":    {ir.IntsAttr("strides", 1, 0), `"strides"[1] is 0`},
		"neg dilation":   {ir.IntsAttr("dilations", -1, 1), `"dilations"[0] is -1`},
		"zero kernel":    {ir.IntsAttr("kernel_shape", 0, 3), `"kernel_shape"[0] is 0`},
		"negative pad":   {ir.IntsAttr("pads", 0, -2, 0, 0), `"pads"[1] is -2`},
		"odd pads":       {ir.IntsAttr("pads", 1, 1, 1), `has 3 values`},
		"zero group":     {ir.IntAttr("group", 0), `"group" is 0`},
		"wrong attrkind": {ir.FloatAttr("group", 1), `"group" must be int`},
	} {
		t.Run(name, func(t *testing.T) {
			err := ir.Verify(convModel(tc.attr))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "Conv") {
				t.Errorf("got %v, want an error naming the Conv node and %q", err, tc.want)
			}
		})
	}
}

func TestVerifyReportsEveryProblem(t *testing.T) {
	m := convModel(ir.IntsAttr("strides", 0, 0))
	m.Graph.Outputs = append(m.Graph.Outputs, &ir.Value{Name: "ghost"})
	err := ir.Verify(m)
	ve, ok := err.(*ir.VerifyError)
	if !ok || len(ve.Problems) != 3 {
		t.Fatalf("want 3 problems (two strides, one undefined output), got %v", err)
	}
}

func TestVerifyUndefinedAndDuplicate(t *testing.T) {
	b := testmodels.NewBuilder("g", 13)
	x := b.Input("x", ir.Float32, 2)
	y := b.Node("Relu", []*ir.Value{x})
	z := b.Node("Relu", []*ir.Value{y})
	b.Output(z)
	m := b.Model()
	// Swap the nodes: now the first reads a value defined after it.
	g := m.Graph
	g.Nodes[0], g.Nodes[1] = g.Nodes[1], g.Nodes[0]
	if err := ir.Verify(m); err == nil || !strings.Contains(err.Error(), "not defined before it is used") {
		t.Errorf("out-of-order nodes: %v", err)
	}
	if err := g.TopoSort(); err != nil {
		t.Fatal(err)
	}
	if err := ir.Verify(m); err != nil {
		t.Errorf("after TopoSort: %v", err)
	}
	g.Nodes[1].Outputs[0].Name = x.Name
	if err := ir.Verify(m); err == nil || !strings.Contains(err.Error(), "defined more than once") {
		t.Errorf("duplicate name: %v", err)
	}
}
