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
	if d := rep.Passes[0].Declined; len(d) != 1 || !strings.Contains(d[0].Reason, "add 1008 bytes of constants (1024 made, 16 freed") {
		t.Errorf("declines %+v", d)
	}
	// 1024 bytes made, the 16-byte shape freed: 1008 added.
	m = build()
	run(t, m, "fold-constants{max-bytes=1008}")
	if got := ops(m.Graph); got != "Add" {
		t.Fatalf("nodes after: %s", got)
	}
	// A result too large to compute is not even evaluated.
	b := testmodels.NewBuilder("m", 13)
	huge := b.Node("ConstantOfShape", []*ir.Value{b.I64("shape", []int64{3}, []int64{1 << 20, 1 << 20, 1 << 20})})
	b.Output(b.Node("Shape", []*ir.Value{huge}))
	m = b.Model()
	rep, err := mustParse(t, "fold-constants{shapes=false}").Run(m, passes.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d := rep.Passes[0].Declined; len(d) != 1 || !strings.Contains(d[0].Reason, "not computed") {
		t.Errorf("declines %v", d)
	}
}

// A fold that copies a weight which stays alive for another reader adds
// its size; one whose inputs die with it adds nothing.
func TestFoldConstantsGrowth(t *testing.T) {
	build := func(shared bool) *ir.Model {
		b := testmodels.NewBuilder("m", 13)
		x := b.Input("x", ir.Float32, 2, 64)
		w := constOf(b, "w", ir.Float32, []int64{64, 64}, 1, -1, 1) // 16 KiB
		wt := b.Node("Transpose", []*ir.Value{w})
		y := b.Node("MatMul", []*ir.Value{x, wt})
		if shared {
			y = b.Node("Add", []*ir.Value{y, b.Node("MatMul", []*ir.Value{x, w})})
		}
		b.Output(y)
		return b.Model()
	}
	for _, tc := range []struct {
		shared bool
		spec   string
		folded bool
	}{
		{false, "fold-constants{max-bytes=0}", true}, // w dies: nothing added
		{true, "fold-constants", false},              // a 16 KiB copy of a live weight
		{true, "fold-constants{max-bytes=16383}", false},
		{true, "fold-constants{max-bytes=16384}", true},
	} {
		m := build(tc.shared)
		rep := run(t, m, tc.spec+",eliminate-dead")
		if got := countOps(m, "Transpose") == 0; got != tc.folded {
			t.Errorf("shared=%v %s: folded=%v, want %v (declined %v)", tc.shared, tc.spec, got, tc.folded, rep.Passes[0].Declined)
		}
		if pr := rep.Passes[1]; !tc.shared && pr.ParamsAfter != 64*64 {
			t.Errorf("params after: %d", pr.ParamsAfter)
		}
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

// A chain whose intermediate is large but whose result is small folds
// whole (the intermediate is never stored); slices of a weight that stays
// alive are not copied: not the Concat of them, and not each slice, when
// a slice is over max-bytes.
func TestFoldConstantsRegions(t *testing.T) {
	b := testmodels.NewBuilder("m", 13)
	x := b.Input("x", ir.Float32, 1, 8)
	big := b.Node("ConstantOfShape", []*ir.Value{b.I64("shape", []int64{2}, []int64{64, 64})},
		ir.TensorAttr("value", ir.FromFloat32([]int64{1}, []float32{0.25})))
	s := b.Node("ReduceSum", []*ir.Value{big}, ir.IntAttr("keepdims", 0)) // 1024, a scalar
	y := b.Node("Mul", []*ir.Value{x, s})
	w := constOf(b, "w", ir.Float32, []int64{8, 16}, 1, -1, 1) // 512 bytes, also read directly
	var parts []*ir.Value
	for i := int64(0); i < 4; i++ {
		parts = append(parts, b.Node("Slice", []*ir.Value{w, b.I64("st", []int64{1}, []int64{4 * i}), b.I64("en", []int64{1}, []int64{4*i + 4}), b.I64("ax", []int64{1}, []int64{1})}))
	}
	wr := b.Node("Concat", []*ir.Value{parts[2], parts[3], parts[0], parts[1]}, ir.IntAttr("axis", 1))
	b.Output(b.Node("Add", []*ir.Value{b.Node("MatMul", []*ir.Value{y, wr}), b.Node("MatMul", []*ir.Value{y, w})}))
	m := b.Model()
	rep := run(t, m, "fold-constants{max-bytes=64},eliminate-dead") // a slice adds 128 − 24 bytes
	if got := countOps(m, "ConstantOfShape") + countOps(m, "ReduceSum"); got != 0 {
		t.Errorf("the ConstantOfShape→ReduceSum chain did not fold: %s", ops(m.Graph))
	}
	if got := countOps(m, "Slice"); got != 4 || countOps(m, "Concat") != 1 {
		t.Errorf("slices of the live weight were folded: %s", ops(m.Graph))
	}
	// The weight (128), the slices' starts, ends and axes (12) and the
	// folded sum (1): no copy of the weight, no 64×64 intermediate.
	if pr := rep.Passes[1]; pr.ParamsAfter != 141 {
		t.Errorf("%d parameters after folding, want 141", pr.ParamsAfter)
	}
	// Running it again changes nothing.
	again := run(t, m, "fold-constants{max-bytes=64}")
	if again.Passes[0].Changed {
		t.Error("a second run folded more")
	}
}

// Expand, Tile and Range are sized before they run; too large a result
// is not computed at all.
func TestFoldConstantsEstimates(t *testing.T) {
	for name, build := range map[string]func(b *testmodels.Builder) *ir.Value{
		"expand": func(b *testmodels.Builder) *ir.Value {
			return b.Node("Expand", []*ir.Value{b.F32("one", []int64{1}, []float32{1}), b.I64("shape", []int64{2}, []int64{1 << 15, 1 << 15})})
		},
		"tile": func(b *testmodels.Builder) *ir.Value {
			return b.Node("Tile", []*ir.Value{b.F32("v", []int64{2}, []float32{1, 2}), b.I64("reps", []int64{1}, []int64{1 << 30})})
		},
		"range": func(b *testmodels.Builder) *ir.Value {
			return b.Node("Range", []*ir.Value{b.I64("start", nil, []int64{0}), b.I64("limit", nil, []int64{1 << 40}), b.I64("delta", nil, []int64{1})})
		},
	} {
		b := testmodels.NewBuilder("m", 13)
		b.Output(b.Node("Shape", []*ir.Value{build(b)}))
		m := b.Model()
		rep, err := mustParse(t, "fold-constants{shapes=false}").Run(m, passes.RunOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if d := rep.Passes[0].Declined; rep.Passes[0].Changed || len(d) != 1 || !strings.Contains(d[0].Reason, "not computed") {
			t.Errorf("%s: declines %v", name, d)
		}
	}
}

// The DequantizeLinear of an 8-bit weight stays (the runtime runs the
// quantised MatMul on integer kernels); one of an int32 bias folds.
func TestFoldConstantsKeepsQuantizedWeights(t *testing.T) {
	b := testmodels.NewBuilder("m", 13)
	x := b.Input("x", ir.Float32, 1, 4)
	wq := b.Model().Graph.AddConst("wq", &ir.Tensor{DType: ir.Int8, Dims: []int64{4, 2}, Data: []byte{1, 2, 3, 4, 0xff, 0xfe, 5, 6}})
	w := b.Node("DequantizeLinear", []*ir.Value{wq, b.F32("s", nil, []float32{0.5})})
	bq := b.Model().Graph.AddConst("bq", &ir.Tensor{DType: ir.Int32, Dims: []int64{2}, Data: []byte{1, 0, 0, 0, 2, 0, 0, 0}})
	f := b.Node("DequantizeLinear", []*ir.Value{bq, b.F32("s2", nil, []float32{2})})
	b.Output(b.Node("Add", []*ir.Value{b.Node("MatMul", []*ir.Value{x, w}), f}))
	m := b.Model()
	run(t, m, "fold-constants,eliminate-dead")
	if got := ops(m.Graph); got != "DequantizeLinear MatMul Add" {
		t.Fatalf("nodes after: %s", got)
	}
}
