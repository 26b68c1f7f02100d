package passes_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/passes"
	"github.com/nncc/nncc/testmodels"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		spec, want string
	}{
		{"", "none"},
		{"none", "none"},
		{"  none ", "none"},
		{"remove-dropout", "remove-dropout"},
		{"remove-dropout, eliminate-dead", "remove-dropout,eliminate-dead"},
		{"fold-constants{max-bytes=4096,shapes=false},fold-bn", "fold-constants{max-bytes=4096,shapes=false},fold-bn"},
		{"fold-constants{ shapes = 0 }", "fold-constants{shapes=false}"},
		{"fold-constants{}", "fold-constants"},
		{"eliminate-identity,default", "eliminate-identity,default"},
	} {
		p, err := passes.Parse(tc.spec)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.spec, err)
			continue
		}
		if got := p.String(); got != tc.want {
			t.Errorf("Parse(%q).String() = %q, want %q", tc.spec, got, tc.want)
		}
		// The rendering parses back to itself.
		if q, err := passes.Parse(p.String()); err != nil || q.String() != p.String() {
			t.Errorf("Parse(%q) does not round-trip: %v %v", p.String(), q, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		spec, want string
	}{
		{"no-such-pass", `unknown pass "no-such-pass"`},
		{"fold-bn{no-such=1}", `has no option "no-such"`},
		{"eliminate-dead{x=1}", "takes no options"},
		{"fold-constants{max-bytes=lots}", "wants an integer"},
		{"fold-constants{shapes=maybe}", "wants true or false"},
		{"fold-constants{max-bytes=1,max-bytes=2}", "given twice"},
		{"fold-constants{max-bytes}", "not key=value"},
		{"fold-constants{max-bytes=1", "missing '}'"},
		{"fold-bn,", "trailing ','"},
		{",fold-bn", "empty pass name"},
		{"fold-bn{mul-add=true}x", "expected ','"},
		{"fold-bn,none", "none must be the whole pipeline"},
		{"default{x=1}", "default takes no options"},
		{"a{b{c}}", "nested"},
	} {
		_, err := passes.Parse(tc.spec)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want an error containing %q", tc.spec, err, tc.want)
		}
	}
}

func TestRegistry(t *testing.T) {
	all := passes.All()
	if len(all) < 9 {
		t.Fatalf("only %d passes registered", len(all))
	}
	for i, p := range all {
		if i > 0 && all[i-1].Name >= p.Name {
			t.Errorf("All() not sorted: %s before %s", all[i-1].Name, p.Name)
		}
		if passes.Lookup(p.Name) != p {
			t.Errorf("Lookup(%q) does not return the registered pass", p.Name)
		}
		if p.Summary() == "" || strings.HasSuffix(p.Summary(), ".") == false {
			t.Errorf("pass %s: summary %q should be one sentence ending with '.'", p.Name, p.Summary())
		}
	}
	if passes.Lookup("nope") != nil {
		t.Error("Lookup of an unknown name returned a pass")
	}
	bad := []*passes.Pass{
		{Name: "Bad_Name", Doc: "x.", Run: func(*passes.Context) error { return nil }},
		{Name: "fold-bn", Doc: "dup.", Run: func(*passes.Context) error { return nil }},
		{Name: "no-doc", Run: func(*passes.Context) error { return nil }},
		{Name: "no-run", Doc: "x."},
		{Name: "default", Doc: "x.", Run: func(*passes.Context) error { return nil }},
		{Name: "bad-opt", Doc: "x.", Run: func(*passes.Context) error { return nil },
			Options: []passes.Option{{Name: "n", Type: passes.Int, Default: 3, Doc: "int, not int64"}}},
	}
	for _, p := range bad {
		if err := passes.Register(p); err == nil {
			t.Errorf("Register(%q) succeeded", p.Name)
		}
	}
}

func TestDefaultDependsOnOpset(t *testing.T) {
	for _, tc := range []struct {
		opset int64
		want  string
	}{
		{13, "remove-dropout,eliminate-identity,fold-constants,fold-bn,fuse-pad,fuse-matmul-add,eliminate-dead"},
		{17, "remove-dropout,eliminate-identity,fold-constants,fold-bn,fuse-pad,fuse-matmul-add,fuse-layernorm,eliminate-dead"},
		{20, "remove-dropout,eliminate-identity,fold-constants,fold-bn,fuse-pad,fuse-matmul-add,fuse-layernorm,fuse-gelu,eliminate-dead"},
	} {
		m := testmodels.NewBuilder("m", tc.opset).Model()
		if got := passes.Default(m).String(); got != tc.want {
			t.Errorf("Default at opset %d = %s, want %s", tc.opset, got, tc.want)
		}
	}
}

// A pass that changes the numbers must be caught by VerifyEach, and the
// error must name it.
func TestVerifyEachCatchesWrongPass(t *testing.T) {
	wrong := &passes.Pass{
		Name: "test-scale-weights",
		Doc:  "Multiply every float32 constant by 1.01 (a deliberately wrong pass).",
		Run: func(c *passes.Context) error {
			for _, v := range c.Model.Graph.Consts {
				if v.Const.DType == ir.Float32 {
					f := v.Const.Float32s()
					for i := range f {
						f[i] *= 1.01
					}
					v.Const = ir.FromFloat32(v.Const.Dims, f)
					c.Changed()
				}
			}
			return nil
		},
	}
	if err := passes.Register(wrong); err != nil {
		t.Fatal(err)
	}
	b := testmodels.NewBuilder("m", 13)
	x := b.Input("x", ir.Float32, 2, 4)
	w := b.F32("w", []int64{4, 3}, randF32(1, 12, -1, 1))
	b.Output(b.Node("MatMul", []*ir.Value{x, w}))
	m := b.Model()
	p, err := passes.Parse("eliminate-identity,test-scale-weights,eliminate-dead")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := p.Run(m, passes.RunOptions{VerifyEach: true, Samples: 1, Seed: 1})
	if err == nil || !strings.Contains(err.Error(), "test-scale-weights") || !strings.Contains(err.Error(), "beyond tolerance") {
		t.Fatalf("Run = %v, want an error naming test-scale-weights", err)
	}
	if len(rep.Passes) != 2 || rep.Passes[1].Error == "" || rep.Passes[1].Verified == nil || rep.Passes[1].Verified.MaxAbsErr == 0 {
		t.Errorf("report does not record the failing pass: %+v", rep.Passes)
	}
	// Without VerifyEach the same pipeline runs through.
	if _, err := p.Run(clone(t, b.Model()), passes.RunOptions{}); err != nil {
		t.Errorf("without VerifyEach: %v", err)
	}
}

// A panicking pass is an error, not a crash, and names the pass.
func TestPanickingPassIsAnError(t *testing.T) {
	if err := passes.Register(&passes.Pass{Name: "test-panic", Doc: "Panic.", Run: func(*passes.Context) error { panic("boom") }}); err != nil {
		t.Fatal(err)
	}
	b := testmodels.NewBuilder("m", 13)
	b.Output(b.Node("Relu", []*ir.Value{b.Input("x", ir.Float32, 1)}))
	p, _ := passes.Parse("test-panic")
	_, err := p.Run(b.Model(), passes.RunOptions{})
	if err == nil || !strings.Contains(err.Error(), "test-panic") || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("Run = %v", err)
	}
	// And a pass returning an error stops the pipeline.
	sentinel := errors.New("cannot")
	if err := passes.Register(&passes.Pass{Name: "test-fail", Doc: "Fail.", Run: func(*passes.Context) error { return sentinel }}); err != nil {
		t.Fatal(err)
	}
	p, _ = passes.Parse("test-fail,eliminate-dead")
	rep, err := p.Run(b.Model(), passes.RunOptions{})
	if !errors.Is(err, sentinel) || len(rep.Passes) != 1 {
		t.Fatalf("Run = %v with %d reports", err, len(rep.Passes))
	}
}

func TestReportCounts(t *testing.T) {
	b := testmodels.NewBuilder("m", 13)
	x := b.Input("x", ir.Float32, 2, 4)
	y := b.Node("Identity", []*ir.Value{x})
	b.F32("unused", []int64{5}, []float32{1, 2, 3, 4, 5})
	b.Output(b.Node("Relu", []*ir.Value{y}))
	rep := run(t, b.Model(), "eliminate-identity,eliminate-dead,eliminate-dead")
	want := []struct {
		nodes0, nodes1 int
		params0, p1    int64
		changed        bool
	}{{2, 1, 5, 5, true}, {1, 1, 5, 0, true}, {1, 1, 0, 0, false}}
	for i, w := range want {
		pr := rep.Passes[i]
		if pr.NodesBefore != w.nodes0 || pr.NodesAfter != w.nodes1 || pr.ParamsBefore != w.params0 || pr.ParamsAfter != w.p1 || pr.Changed != w.changed {
			t.Errorf("pass %d (%s): %+v, want %+v", i, pr.Name, pr, w)
		}
	}
	if rep.Passes[0].Verified == nil || rep.Passes[2].Verified != nil {
		t.Errorf("verification recorded for the wrong passes")
	}
}

func TestGivenInputs(t *testing.T) {
	b := testmodels.NewBuilder("m", 13)
	x := b.InputShape("x", ir.Float32, ir.Shape{ir.Sym("N"), ir.Sym("M")}) // no random inputs possible
	b.Output(b.Node("Relu", []*ir.Value{b.Node("Identity", []*ir.Value{x})}))
	p, _ := passes.Parse("eliminate-identity")
	if _, err := p.Run(clone(t, b.Model()), passes.RunOptions{VerifyEach: true}); err == nil || !strings.Contains(err.Error(), "random inputs") {
		t.Fatalf("want an error about random inputs, got %v", err)
	}
	// Binding the symbol makes random inputs possible.
	rep, err := p.Run(clone(t, b.Model()), passes.RunOptions{VerifyEach: true, Samples: 2, Dims: map[string]int64{"M": 5}})
	if err != nil {
		t.Fatal(err)
	}
	if v := rep.Verification; v.Sets != 2 || v.Inputs != "x float32[1 5]" {
		t.Errorf("verification setup %+v", v)
	}
	rep, err = p.Run(clone(t, b.Model()), passes.RunOptions{VerifyEach: true, Shapes: map[string][]int64{"x": {3, 4}}})
	if err != nil || rep.Verification.Inputs != "x float32[3 4]" {
		t.Errorf("Shapes: %v %+v", err, rep.Verification)
	}
	// Given inputs are enough when random ones cannot be drawn.
	in := map[string]*ir.Tensor{"x": ir.FromFloat32([]int64{2, 3}, []float32{-1, 2, -3, 4, -5, 6})}
	rep, err = p.Run(b.Model(), passes.RunOptions{VerifyEach: true, Inputs: in, Samples: 2})
	if err != nil {
		t.Fatal(err)
	}
	if v := rep.Verification; v == nil || !v.Given || v.Sets != 1 || !strings.Contains(v.Inputs, "no random inputs") {
		t.Errorf("verification setup %+v", v)
	}
}

func TestPipelineAdd(t *testing.T) {
	p := passes.NewPipeline()
	if err := p.Add("fold-constants", map[string]any{"max-bytes": 10, "shapes": false}); err != nil {
		t.Fatal(err)
	}
	if got := p.String(); got != "fold-constants{max-bytes=10,shapes=false}" {
		t.Errorf("String() = %s", got)
	}
	for _, bad := range []map[string]any{{"max-bytes": "10"}, {"nope": 1}, {"shapes": 1}} {
		if err := p.Add("fold-constants", bad); err == nil {
			t.Errorf("Add(%v) succeeded", bad)
		}
	}
	if err := p.Add("nope", nil); err == nil {
		t.Error("Add of an unknown pass succeeded")
	}
	if len(p.Steps) != 1 {
		t.Errorf("failed Adds added steps: %s", p)
	}
}
