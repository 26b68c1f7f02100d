package passes_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/nncc/nncc/internal/ortref"
	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/passes"
	"github.com/nncc/nncc/testmodels"
)

// Each case builds a one-operator model at an old opset; upgrading must
// verify, compute the same outputs (checked with nncc's runtime by run)
// and leave the operator in the new form.
func TestUpgradeOpsetConversions(t *testing.T) {
	for _, tc := range []struct {
		name     string
		from, to int64
		build    func(b *testmodels.Builder, x *ir.Value) *ir.Value
		want     string // nodes after
		check    func(t *testing.T, m *ir.Model)
	}{
		{"squeeze-unsqueeze", 11, 13, func(b *testmodels.Builder, x *ir.Value) *ir.Value {
			u := b.Node("Unsqueeze", []*ir.Value{x}, ir.IntsAttr("axes", 0, 3))
			return b.Node("Squeeze", []*ir.Value{u}, ir.IntsAttr("axes", 0))
		}, "Unsqueeze Squeeze", func(t *testing.T, m *ir.Model) {
			for _, n := range m.Graph.Nodes {
				if n.Attr("axes") != nil || len(n.Inputs) != 2 || n.Inputs[1].Const.DType != ir.Int64 {
					t.Errorf("%s: axes not moved to an input", n.OpType)
				}
			}
		}},
		{"reduce-sum-13", 11, 13, func(b *testmodels.Builder, x *ir.Value) *ir.Value {
			return b.Node("ReduceSum", []*ir.Value{x}, ir.IntsAttr("axes", 1), ir.IntAttr("keepdims", 0))
		}, "ReduceSum", hasInputs(2)},
		{"reduce-mean-18", 13, 18, func(b *testmodels.Builder, x *ir.Value) *ir.Value {
			return b.Node("ReduceMean", []*ir.Value{x}, ir.IntsAttr("axes", -1))
		}, "ReduceMean", hasInputs(2)},
		{"reduce-max-all-axes", 13, 18, func(b *testmodels.Builder, x *ir.Value) *ir.Value {
			return b.Node("ReduceMax", []*ir.Value{x})
		}, "ReduceMax", hasInputs(1)},
		{"clip", 10, 11, func(b *testmodels.Builder, x *ir.Value) *ir.Value {
			return b.Node("Clip", []*ir.Value{x}, ir.FloatAttr("min", -0.25), ir.FloatAttr("max", 0.5))
		}, "Clip", hasInputs(3)},
		{"clip-max-only", 10, 12, func(b *testmodels.Builder, x *ir.Value) *ir.Value {
			return b.Node("Clip", []*ir.Value{x}, ir.FloatAttr("max", 0.5))
		}, "Clip", func(t *testing.T, m *ir.Model) {
			n := m.Graph.Nodes[0]
			if len(n.Inputs) != 3 || n.Inputs[1] != nil || n.Inputs[2] == nil {
				t.Errorf("inputs %v", n.Inputs)
			}
		}},
		{"softmax-last-axis", 11, 13, func(b *testmodels.Builder, x *ir.Value) *ir.Value {
			return b.Node("Softmax", []*ir.Value{x}, ir.IntAttr("axis", 2))
		}, "Softmax", nil},
		{"softmax-default-axis-rank3", 11, 13, func(b *testmodels.Builder, x *ir.Value) *ir.Value {
			return b.Node("Softmax", []*ir.Value{x})
		}, "Flatten Shape Softmax Reshape", nil},
		{"logsoftmax-axis0", 12, 13, func(b *testmodels.Builder, x *ir.Value) *ir.Value {
			return b.Node("LogSoftmax", []*ir.Value{x}, ir.IntAttr("axis", 0))
		}, "Flatten Shape LogSoftmax Reshape", nil},
		{"split-13", 11, 13, func(b *testmodels.Builder, x *ir.Value) *ir.Value {
			p := b.NodeN("Split", []*ir.Value{x}, 2, ir.IntAttr("axis", 2), ir.IntsAttr("split", 1, 5))
			return b.Node("Concat", []*ir.Value{p[1], p[0]}, ir.IntAttr("axis", 2))
		}, "Split Concat", nil},
		{"split-equal-18", 11, 18, func(b *testmodels.Builder, x *ir.Value) *ir.Value {
			p := b.NodeN("Split", []*ir.Value{x}, 2, ir.IntAttr("axis", 2))
			return b.Node("Sub", []*ir.Value{p[1], p[0]})
		}, "Split Sub", func(t *testing.T, m *ir.Model) {
			if m.Graph.Nodes[0].AttrInt("num_outputs", 0) != 2 {
				t.Error("no num_outputs")
			}
		}},
		{"slice", 9, 10, func(b *testmodels.Builder, x *ir.Value) *ir.Value {
			return b.Node("Slice", []*ir.Value{x}, ir.IntsAttr("starts", 1, 0), ir.IntsAttr("ends", 1000, -1), ir.IntsAttr("axes", 1, 2))
		}, "Slice", hasInputs(4)},
		{"pad-value", 10, 11, func(b *testmodels.Builder, x *ir.Value) *ir.Value {
			return b.Node("Pad", []*ir.Value{x}, ir.IntsAttr("pads", 0, 1, 0, 0, 0, 2), ir.FloatAttr("value", 1.5))
		}, "Pad", hasInputs(3)},
		{"pad-zero", 10, 13, func(b *testmodels.Builder, x *ir.Value) *ir.Value {
			return b.Node("Pad", []*ir.Value{x}, ir.IntsAttr("pads", 0, 1, 0, 0, 0, 2))
		}, "Pad", hasInputs(2)},
		{"dropout", 11, 12, func(b *testmodels.Builder, x *ir.Value) *ir.Value {
			return b.Node("Dropout", []*ir.Value{x}, ir.FloatAttr("ratio", 0.2))
		}, "Dropout", hasInputs(2)},
		{"upsample-to-resize", 9, 13, func(b *testmodels.Builder, x *ir.Value) *ir.Value {
			return b.Node("Upsample", []*ir.Value{x, b.F32("scales", []int64{3}, []float32{1, 2, 3})})
		}, "Resize", nil},
		{"upsample7-linear", 7, 11, func(b *testmodels.Builder, x *ir.Value) *ir.Value {
			return b.Node("Upsample", []*ir.Value{x}, ir.FloatsAttr("scales", 1, 2, 2), ir.StringAttr("mode", "linear"))
		}, "Resize", hasInputs(3)},
		{"resize10-enlarge", 10, 11, func(b *testmodels.Builder, x *ir.Value) *ir.Value {
			return b.Node("Resize", []*ir.Value{x, b.F32("scales", []int64{3}, []float32{1, 2, 3})})
		}, "Resize", func(t *testing.T, m *ir.Model) {
			if m.Graph.Nodes[0].AttrString("nearest_mode", "") != "floor" {
				t.Error("nearest_mode is not floor")
			}
		}},
		{"resize10-linear", 10, 13, func(b *testmodels.Builder, x *ir.Value) *ir.Value {
			return b.Node("Resize", []*ir.Value{x, b.F32("scales", []int64{3}, []float32{1, 0.5, 2})}, ir.StringAttr("mode", "linear"))
		}, "Resize", nil},
		{"several-steps", 9, 21, func(b *testmodels.Builder, x *ir.Value) *ir.Value {
			u := b.Node("Unsqueeze", []*ir.Value{x}, ir.IntsAttr("axes", 0))
			r := b.Node("ReduceMean", []*ir.Value{u}, ir.IntsAttr("axes", 3))
			s := b.Node("Slice", []*ir.Value{r}, ir.IntsAttr("starts", 0), ir.IntsAttr("ends", 1), ir.IntsAttr("axes", 3))
			return b.Node("Softmax", []*ir.Value{s}, ir.IntAttr("axis", 1))
		}, "Unsqueeze ReduceMean Slice Flatten Shape Softmax Reshape", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := testmodels.NewBuilder("m", tc.from)
			x := b.Input("x", ir.Float32, 2, 4, 6)
			b.Output(tc.build(b, x))
			m := b.Model()
			rep := run(t, m, fmt.Sprintf("upgrade-opset{to=%d}", tc.to))
			if got := ops(m.Graph); got != tc.want {
				t.Fatalf("nodes after: %s, want %s", got, tc.want)
			}
			if m.Opset("") != tc.to || !rep.Passes[0].Changed {
				t.Errorf("opset %d after", m.Opset(""))
			}
			if tc.check != nil {
				tc.check(t, m)
			}
		})
	}
}

func hasInputs(k int) func(t *testing.T, m *ir.Model) {
	return func(t *testing.T, m *ir.Model) {
		t.Helper()
		n := m.Graph.Nodes[0]
		if len(n.Inputs) != k {
			t.Errorf("%s has %d inputs, want %d", n.OpType, len(n.Inputs), k)
		}
		for _, a := range []string{"axes", "min", "max", "pads", "value", "starts", "ends", "ratio", "scales"} {
			if n.Attr(a) != nil {
				t.Errorf("%s still has attribute %s", n.OpType, a)
			}
		}
	}
}

// Resize-10 nearest rounds source coordinates up when shrinking:
// onnxruntime is the reference (nncc's runtime floors there).
func TestUpgradeResize10Shrink(t *testing.T) {
	ortref.Require(t)
	b := testmodels.NewBuilder("m", 10)
	x := b.Input("x", ir.Float32, 1, 1, 2, 4)
	b.Output(b.Node("Resize", []*ir.Value{x, b.F32("scales", []int64{4}, []float32{1, 1, 0.6, 0.6})}))
	m := b.Model()
	in := map[string]*ir.Tensor{"x": ir.FromFloat32([]int64{1, 1, 2, 4}, []float32{1, 2, 3, 4, 5, 6, 7, 8})}
	want := ortOutputs(t, m, in)
	if _, err := mustParse(t, "upgrade-opset{to=13}").Run(m, passes.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := m.Graph.Nodes[0].AttrString("nearest_mode", ""); got != "ceil" {
		t.Errorf("nearest_mode %q", got)
	}
	got := ortOutputs(t, m, in)
	if err := ortref.Compare(got[0], want[0], ortref.Tolerance{}); err != nil {
		t.Error(err)
	}
	if s := fmt.Sprint(got[0].Float32s()); s != "[1 3]" {
		t.Errorf("onnxruntime gives %s, want [1 3]", s)
	}
}

// Forms nncc's runtime does not run before the upgrade: checked by
// structure, and by running the upgraded model where that helps.
func TestUpgradeOpsetOldForms(t *testing.T) {
	// Legacy broadcast at axis 1: B (3) against A (2, 3, 4).
	b := testmodels.NewBuilder("m", 6)
	a := b.Input("a", ir.Float32, 2, 3, 4)
	bv := b.F32("b", []int64{3}, []float32{10, 20, 30})
	b.Output(b.Node("Add", []*ir.Value{a, bv}, ir.IntAttr("broadcast", 1), ir.IntAttr("axis", 1)))
	m := b.Model()
	if _, err := mustParse(t, "upgrade-opset{to=13}").Run(m, passes.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	add := m.Graph.Nodes[0]
	if add.Attr("broadcast") != nil || add.Attr("axis") != nil || fmt.Sprint(add.Inputs[1].Const.Dims) != "[3 1]" {
		t.Fatalf("after: %s", dump(m))
	}
	ain := ir.FromFloat32([]int64{2, 3, 4}, randF32(3, 24, -1, 1))
	out := outputs(t, m, map[string]*ir.Tensor{"a": ain})[add.Outputs[0].Name].Float32s()
	av := ain.Float32s()
	for i := range out {
		if want := av[i] + []float32{10, 20, 30}[(i/4)%3]; out[i] != want {
			t.Fatalf("out[%d] = %v, want %v", i, out[i], want)
		}
	}

	// Cast-1's type name, Reshape-1's shape attribute, consumed_inputs,
	// Concat-1 without an axis, is_test.
	b = testmodels.NewBuilder("m", 1)
	x := b.Input("x", ir.Float32, 2, 3)
	c := b.Node("Cast", []*ir.Value{x}, ir.StringAttr("to", "DOUBLE"))
	r := b.Node("Reshape", []*ir.Value{x}, ir.IntsAttr("shape", 3, 2))
	n := b.Node("Neg", []*ir.Value{r}, ir.IntsAttr("consumed_inputs", 0))
	cc := b.Node("Concat", []*ir.Value{x, x})
	d := b.Node("Dropout", []*ir.Value{x}, ir.IntAttr("is_test", 1))
	b.Output(c, n, cc, d)
	m = b.Model()
	if _, err := mustParse(t, "upgrade-opset{to=13}").Run(m, passes.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	golden(t, "upgrade_opset_v1", dump(m))
	if m.IRVersion < 7 {
		t.Errorf("IR version %d for opset 13", m.IRVersion)
	}
	if err := ir.Verify(m); err != nil {
		t.Fatal(err)
	}
	in := map[string]*ir.Tensor{"x": ir.FromFloat32([]int64{2, 3}, []float32{1, 2, 3, 4, 5, 6})}
	got := outputs(t, m, in)
	if cv := got[c.Name]; cv.DType != ir.Float64 || cv.Float64s()[5] != 6 {
		t.Errorf("Cast: %v", cv)
	}
	if cv := got[cc.Name]; fmt.Sprint(cv.Dims) != "[2 6]" {
		t.Errorf("Concat-1's default axis is 1: got %v, want [2 6]", cv.Dims)
	}
}

func TestUpgradeOpsetRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, spec, why string
		opset           int64
		build           func(b *testmodels.Builder, x *ir.Value) *ir.Value
	}{
		{"lower", "upgrade-opset{to=11}", "cannot lower", 13, nil},
		{"too-new", "upgrade-opset{to=30}", "newer than", 13, nil},
		{"bn-spatial-0", "upgrade-opset{to=13}", "spatial=0", 8, func(b *testmodels.Builder, x *ir.Value) *ir.Value {
			c := []int64{4}
			return b.Node("BatchNormalization", []*ir.Value{x, b.F32("s", c, make([]float32, 4)), b.F32("b", c, make([]float32, 4)),
				b.F32("m", c, make([]float32, 4)), b.F32("v", c, make([]float32, 4))}, ir.IntAttr("spatial", 0))
		}},
		{"resize-mixed", "upgrade-opset{to=13}", "enlarges some axes and shrinks others", 10, func(b *testmodels.Builder, x *ir.Value) *ir.Value {
			return b.Node("Resize", []*ir.Value{x, b.F32("s", []int64{3}, []float32{1, 2, 0.5})})
		}},
		{"scan-8", "upgrade-opset{to=13}", "Scan", 8, func(b *testmodels.Builder, x *ir.Value) *ir.Value {
			return b.Node("Scan", []*ir.Value{nil, x}, ir.GraphAttr("body", &ir.Graph{Name: "body"}), ir.IntAttr("num_scan_inputs", 1))
		}},
		{"mask-read", "upgrade-opset{to=13}", "mask output is read", 9, func(b *testmodels.Builder, x *ir.Value) *ir.Value {
			o := b.NodeN("Dropout", []*ir.Value{x}, 2)
			b.Output(o[1])
			return o[0]
		}},
		{"experimental", "upgrade-opset{to=13}", "removed from ONNX", 9, func(b *testmodels.Builder, x *ir.Value) *ir.Value {
			return b.Node("ImageScaler", []*ir.Value{x})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := testmodels.NewBuilder("m", tc.opset)
			x := b.Input("x", ir.Float32, 2, 4, 6)
			// A convertible node beside the refused one, to show that
			// nothing changes when one node cannot convert.
			y := b.Node("Unsqueeze", []*ir.Value{x}, ir.IntsAttr("axes", 0))
			if tc.build != nil {
				b.Output(tc.build(b, x))
			}
			b.Output(y)
			m := b.Model()
			before := dump(m)
			_, err := mustParse(t, tc.spec).Run(m, passes.RunOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.why) || !strings.Contains(err.Error(), "upgrade-opset") {
				t.Fatalf("Run = %v, want an error containing %q", err, tc.why)
			}
			if dump(m) != before {
				t.Errorf("model changed although the upgrade was refused:\n%s", dump(m))
			}
		})
	}
}

// The default pipeline after upgrade-opset sees the new opset: "default"
// expands when the pipeline reaches it.
func TestDefaultExpandsAfterUpgrade(t *testing.T) {
	b := testmodels.NewBuilder("m", 11)
	x := b.Input("x", ir.Float32, 3, 8)
	y := decomposedLN(b, x, lnVariant{square: "pow", sqrt: "sqrt", divide: "div", gamma: []int64{8}, beta: []int64{8}, axes: []int64{-1}}, 11)
	b.Output(y)
	m := b.Model()
	rep := run(t, m, "upgrade-opset{to=20},default")
	if got := ops(m.Graph); got != "LayerNormalization" {
		t.Fatalf("nodes after: %s", got)
	}
	var names []string
	for _, p := range rep.Passes {
		names = append(names, p.Name)
	}
	if s := strings.Join(names, ","); !strings.Contains(s, "fuse-layernorm,fuse-gelu") {
		t.Errorf("passes run: %s", s)
	}
}

// GroupNormalization's scale and bias become per-channel at opset 21:
// each group's value repeats over its channels.
func TestUpgradeGroupNormalization(t *testing.T) {
	b := testmodels.NewBuilder("m", 18)
	x := b.Input("x", ir.Float32, 1, 6, 4)
	s := b.F32("scale", []int64{3}, []float32{1, 2, 3})
	bias := b.F32("bias", []int64{3}, []float32{-1, 0, 1})
	b.Output(b.Node("GroupNormalization", []*ir.Value{x, s, bias}, ir.IntAttr("num_groups", 3)))
	m := b.Model()
	if _, err := mustParse(t, "upgrade-opset{to=21}").Run(m, passes.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	n := m.Graph.Nodes[0]
	if got := fmt.Sprint(n.Inputs[1].Const.Float32s(), n.Inputs[2].Const.Float32s()); got != "[1 1 2 2 3 3] [-1 -1 0 0 1 1]" {
		t.Errorf("per-channel scale and bias: %s", got)
	}
	// Without a known channel count it refuses.
	b = testmodels.NewBuilder("m", 18)
	x = b.InputShape("x", ir.Float32, ir.Shape{ir.D(1), ir.Sym("C"), ir.D(4)})
	b.Output(b.Node("GroupNormalization", []*ir.Value{x, b.F32("s", []int64{3}, []float32{1, 2, 3}), b.F32("b", []int64{3}, []float32{0, 0, 0})}, ir.IntAttr("num_groups", 3)))
	if _, err := mustParse(t, "upgrade-opset{to=21}").Run(b.Model(), passes.RunOptions{}); err == nil || !strings.Contains(err.Error(), "channel count is unknown") {
		t.Errorf("Run = %v", err)
	}
}

// Clip's and Pad's scalar inputs take the data's type.
func TestUpgradeScalarInputsTakeTheDataType(t *testing.T) {
	b := testmodels.NewBuilder("m", 10)
	x := b.Input("x", ir.Float64, 2, 3)
	c := b.Node("Clip", []*ir.Value{x}, ir.FloatAttr("min", -2), ir.FloatAttr("max", 5))
	p := b.Node("Pad", []*ir.Value{x}, ir.IntsAttr("pads", 0, 1, 0, 1), ir.FloatAttr("value", 7))
	b.Output(c, p)
	m := b.Model()
	run(t, m, "upgrade-opset{to=13}")
	clip, pad := m.Graph.Nodes[0], m.Graph.Nodes[1]
	if clip.Inputs[1].Const.DType != ir.Float64 || clip.Inputs[2].Const.Float64s()[0] != 5 || pad.Inputs[2].Const.DType != ir.Float64 || pad.Inputs[2].Const.Float64s()[0] != 7 {
		t.Errorf("after: %s", dump(m))
	}
}
