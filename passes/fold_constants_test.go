package passes_test

import (
	"strings"
	"testing"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/passes"
	"github.com/nncc/nncc/testmodels"
)

func TestFoldConstantsChain(t *testing.T) {
	b := testmodels.NewBuilder("m", 13)
	x := b.Input("x", ir.Float32, 2, 3)
	w := b.F32("w", []int64{2, 3}, []float32{1, 2, 3, 4, 5, 6})
	one := b.F32("one", nil, []float32{1})
	wt := b.Node("Transpose", []*ir.Value{w}, ir.IntsAttr("perm", 1, 0)) // (3, 2)
	w1 := b.Node("Add", []*ir.Value{wt, one})
	parts := b.NodeN("Split", []*ir.Value{w1, b.I64("split", []int64{2}, []int64{1, 1})}, 2, ir.IntAttr("axis", 1))
	y := b.Node("MatMul", []*ir.Value{x, parts[0]})
	b.Output(y, b.Node("MatMul", []*ir.Value{x, parts[1]}))
	m := b.Model()
	run(t, m, "fold-constants,eliminate-dead")
	golden(t, "fold_constants_chain", dump(m))
	if got := ops(m.Graph); got != "MatMul MatMul" {
		t.Fatalf("nodes after: %s", got)
	}
	// The first Split half is the first column of wᵀ + 1.
	got := m.Graph.Nodes[0].Inputs[1].Const
	if got == nil || got.Dims[0] != 3 || got.Dims[1] != 1 {
		t.Fatalf("folded weight %+v", got)
	}
	for i, want := range []float32{2, 3, 4} {
		if v := got.Float32s()[i]; v != want {
			t.Errorf("folded[%d] = %v, want %v", i, v, want)
		}
	}
}

// Shape of a static shape folds, and so does the shape arithmetic after
// it: the Reshape gets a constant shape.
func TestFoldConstantsShape(t *testing.T) {
	b := testmodels.NewBuilder("m", 13)
	x := b.Input("x", ir.Float32, 2, 3, 4)
	sh := b.Node("Shape", []*ir.Value{x})
	n0 := b.Node("Gather", []*ir.Value{sh, b.I64("zero", nil, []int64{0})}, ir.IntAttr("axis", 0))
	n0u := b.Node("Unsqueeze", []*ir.Value{n0, b.I64("axes", []int64{1}, []int64{0})})
	shape := b.Node("Concat", []*ir.Value{n0u, b.I64("minus1", []int64{1}, []int64{-1})}, ir.IntAttr("axis", 0))
	b.Output(b.Node("Reshape", []*ir.Value{x, shape}))
	m := b.Model()
	run(t, m, "fold-constants,eliminate-dead")
	if got := ops(m.Graph); got != "Reshape" {
		t.Fatalf("nodes after: %s", got)
	}
	s := m.Graph.Nodes[0].Inputs[1].Const
	if s == nil || len(s.Int64s()) != 2 || s.Int64s()[0] != 2 || s.Int64s()[1] != -1 {
		t.Fatalf("Reshape's shape: %+v", s)
	}

	// With shapes=false the Shape stays.
	b2 := testmodels.NewBuilder("m", 15)
	x2 := b2.Input("x", ir.Float32, 2, 3, 4)
	b2.Output(b2.Node("Shape", []*ir.Value{x2}, ir.IntAttr("start", 1)))
	m2 := b2.Model()
	run(t, clone(t, m2), "fold-constants{shapes=false}")
	m2c := clone(t, m2)
	run(t, m2c, "fold-constants{shapes=false}")
	if got := ops(m2c.Graph); got != "Shape" {
		t.Errorf("shapes=false folded the Shape: %s", got)
	}
	run(t, m2, "fold-constants") // Shape-15 with start=1 → [3, 4]
	if got := m2.Graph.Outputs[0].Const; got == nil || len(got.Int64s()) != 2 || got.Int64s()[0] != 3 {
		t.Errorf("Shape(start=1) folded to %+v", got)
	}
}

func TestFoldConstantsSizeLimit(t *testing.T) {
	build := func() *ir.Model {
		b := testmodels.NewBuilder("m", 13)
		x := b.Input("x", ir.Float32, 16, 16)
		big := b.Node("ConstantOfShape", []*ir.Value{b.I64("shape", []int64{2}, []int64{16, 16})},
			ir.TensorAttr("value", ir.FromFloat32([]int64{1}, []float32{0.5})))
		b.Output(b.Node("Add", []*ir.Value{x, big}))
		return b.Model()
	}
	m := build()
	rep := run(t, m, "fold-constants{max-bytes=512}") // 1 KiB result from 16 bytes
	if got := ops(m.Graph); got != "ConstantOfShape Add" {
		t.Fatalf("nodes after: %s", got)
	}
	if d := rep.Passes[0].Declined; len(d) != 1 || !strings.Contains(d[0].Reason, "1024 bytes") {
		t.Errorf("declines %+v", d)
	}
	m = build()
	run(t, m, "fold-constants{max-bytes=1024}")
	if got := ops(m.Graph); got != "Add" {
		t.Fatalf("nodes after: %s", got)
	}
}

// Graph inputs with defaults, random operators and operators the runtime
// does not know are not folded.
func TestFoldConstantsLeavesAlone(t *testing.T) {
	b := testmodels.NewBuilder("m", 13)
	x := b.Input("x", ir.Float32, 2)
	def := b.F32("overridable", []int64{2}, []float32{1, 2})
	b.Model().Graph.Inputs = append(b.Model().Graph.Inputs, def)
	c := b.F32("c", []int64{2}, []float32{3, 4})
	y := b.Node("Add", []*ir.Value{def, c})
	r := b.Node("RandomUniformLike", []*ir.Value{c})
	z := b.Node("NoSuchOp", []*ir.Value{c})
	b.Output(b.Node("Add", []*ir.Value{x, y}), r, z)
	m := b.Model()
	p := mustParse(t, "fold-constants")
	rep, err := p.Run(m, passes.RunOptions{}) // the runtime cannot run RandomUniformLike
	if err != nil {
		t.Fatal(err)
	}
	if got := ops(m.Graph); got != "Add RandomUniformLike NoSuchOp Add" {
		t.Fatalf("nodes after: %s", got)
	}
	if d := rep.Passes[0].Declined; len(d) != 1 || !strings.Contains(d[0].Reason, "NoSuchOp") {
		t.Errorf("declines %+v", d)
	}
}
