package split_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nncc/nncc/check"
	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/runtime"
	"github.com/nncc/nncc/split"
	"github.com/nncc/nncc/testmodels"
)

func names(vs []*ir.Value) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.Name)
	}
	return out
}

// skipModel: x -> a=Relu(x) -> b=Mul(a,w1) -> c=Mul(b,w2) -> d=Neg(c) ->
// e=Add(d,a) -> out=Mul(e,w1). In three stages of two nodes, a is a skip
// connection from the first stage to the last, which the middle one does
// not read; w1 is shared by the first and last stages.
func skipModel() *ir.Model {
	b := testmodels.NewBuilder("skip", 17)
	x := b.Input("x", ir.Float32, 2, 8)
	w1 := b.F32("w1", []int64{8}, []float32{1, 2, 3, 4, 5, 6, 7, 8})
	w2 := b.F32("w2", []int64{8}, []float32{-1, 1, -1, 1, -1, 1, -1, 1})
	a := b.Node("Relu", []*ir.Value{x})
	bb := b.Node("Mul", []*ir.Value{a, w1})
	c := b.Node("Mul", []*ir.Value{bb, w2})
	d := b.Node("Neg", []*ir.Value{c})
	e := b.Node("Add", []*ir.Value{d, a})
	out := b.Node("Mul", []*ir.Value{e, w1})
	b.Output(out)
	return b.Model()
}

func TestSkipConnectionsAndConstants(t *testing.T) {
	m := skipModel()
	p, err := split.Split(m, split.Options{Stages: 3})
	if err != nil {
		t.Fatal(err)
	}
	a := p.Model.Graph.Nodes[0].Outputs[0].Name
	produced := map[string]int{}
	for _, st := range p.Stages {
		for _, v := range st.Outputs {
			produced[v.Name] = st.Index
		}
	}
	for _, st := range p.Stages {
		reads := map[string]bool{}
		for i := st.Start; i < st.End; i++ {
			for _, in := range p.Model.Graph.Nodes[i].Inputs {
				reads[in.Name] = true
			}
		}
		for _, in := range st.Inputs {
			if !reads[in.Name] {
				t.Errorf("stage %d takes %s but no node of it reads it (skip tensors must go straight to their readers)", st.Index, in.Name)
			}
		}
		for _, c := range st.Consts {
			if !reads[c.Name] {
				t.Errorf("stage %d holds constant %s that it does not read", st.Index, c.Name)
			}
		}
		for name := range reads {
			isConst := strings.HasPrefix(name, "w")
			if isConst && !slices.Contains(names(st.Consts), name) {
				t.Errorf("stage %d reads %s but does not hold it", st.Index, name)
			}
			if !isConst && name != "x" && !slices.Contains(names(st.Inputs), name) {
				// produced inside the stage
				if pi, ok := produced[name]; ok && pi != st.Index {
					t.Errorf("stage %d reads %s from stage %d without taking it as input", st.Index, name, pi)
				}
			}
		}
	}
	// Three stages of two nodes each (every node costs the same); the skip
	// tensor a goes from the first stage straight to the last.
	var bounds [][2]int
	for _, st := range p.Stages {
		bounds = append(bounds, [2]int{st.Start, st.End})
	}
	if !slices.Equal(bounds, [][2]int{{0, 2}, {2, 4}, {4, 6}}) {
		t.Fatalf("stages %v, want [0,2) [2,4) [4,6)", bounds)
	}
	if !slices.Contains(names(p.Stages[0].Outputs), a) || !slices.Contains(names(p.Stages[2].Inputs), a) {
		t.Errorf("skip tensor %s: stage 0 outputs %v, stage 2 inputs %v", a, names(p.Stages[0].Outputs), names(p.Stages[2].Inputs))
	}
	if slices.Contains(names(p.Stages[1].Inputs), a) || slices.Contains(names(p.Stages[1].Outputs), a) {
		t.Errorf("skip tensor %s passes through stage 1, which does not read it", a)
	}
	if !slices.Equal(names(p.Stages[1].Consts), []string{"w2"}) || !slices.Equal(names(p.Stages[0].Consts), []string{"w1"}) || !slices.Equal(names(p.Stages[2].Consts), []string{"w1"}) {
		t.Errorf("constants: %v %v %v, want [w1] [w2] [w1]", names(p.Stages[0].Consts), names(p.Stages[1].Consts), names(p.Stages[2].Consts))
	}
	// Cut 1 carries a and b (2x8 float32 each), cut 2 carries a and d.
	if cb := p.CutBytes(); !slices.Equal(cb, []int64{128, 128}) {
		t.Errorf("CutBytes = %v, want [128 128]", cb)
	}
	checkChainMatches(t, m, p)
}

// checkChainMatches runs each stage model in nncc's runtime, feeding it
// only its inputs, and compares the final outputs with the whole model.
func checkChainMatches(t *testing.T, m *ir.Model, p *split.Plan) {
	t.Helper()
	specs, err := check.InputSpecs(m.Graph, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	feed, err := check.RandomInputs(specs, 3)
	if err != nil {
		t.Fatal(err)
	}
	whole, err := runtime.NewSession(m, runtime.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	want, err := whole.Run(feed)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]*ir.Tensor{}
	for k, v := range feed {
		env[k] = v
	}
	for i := range p.Stages {
		sm := p.StageModel(i)
		if err := ir.Verify(sm); err != nil {
			t.Fatalf("stage %d: %v", i, err)
		}
		in := map[string]*ir.Tensor{}
		for _, v := range sm.Graph.Inputs {
			in[v.Name] = env[v.Name]
		}
		s, err := runtime.NewSession(sm, runtime.Options{Threads: 1})
		if err != nil {
			t.Fatalf("stage %d: %v", i, err)
		}
		out, err := s.Run(in)
		if err != nil {
			t.Fatalf("stage %d: %v", i, err)
		}
		for k, v := range out {
			env[k] = v
		}
	}
	for _, o := range m.Graph.Outputs {
		st := check.Compare(o.Name, want[o.Name], env[o.Name], check.Tolerance{})
		if !st.Within {
			t.Errorf("output %s differs after the split: %+v", o.Name, st)
		}
	}
}

// ifModel: an If whose branches capture y, produced two nodes earlier;
// the If is atomic and its captured read makes y an input of its stage.
func ifModel() *ir.Model {
	b := testmodels.NewBuilder("if", 17)
	x := b.Input("x", ir.Float32, 4)
	cond := b.Input("cond", ir.Bool)
	y := b.Node("Relu", []*ir.Value{x})
	z := b.Node("Neg", []*ir.Value{x})
	z2 := b.Node("Abs", []*ir.Value{z})
	branch := func(name, op string) *ir.Graph {
		o := &ir.Value{Name: name + "_out", Type: ir.TensorType(ir.Float32, 4)}
		return &ir.Graph{Name: name, Nodes: []*ir.Node{{OpType: op, Inputs: []*ir.Value{y}, Outputs: []*ir.Value{o}}}, Outputs: []*ir.Value{o}}
	}
	r := &ir.Value{Name: "r", Type: ir.TensorType(ir.Float32, 4)}
	g := b.Graph()
	g.Nodes = append(g.Nodes, &ir.Node{OpType: "If", Inputs: []*ir.Value{cond}, Outputs: []*ir.Value{r},
		Attrs: []*ir.Attribute{ir.GraphAttr("then_branch", branch("then", "Sigmoid")), ir.GraphAttr("else_branch", branch("else", "Tanh"))}})
	out := b.Node("Add", []*ir.Value{r, z2})
	b.Output(out)
	return b.Model()
}

func TestSubgraphCapturesAreReads(t *testing.T) {
	m := ifModel()
	if err := ir.Verify(m); err != nil {
		t.Fatal(err)
	}
	p, err := split.Split(m, split.Options{Stages: 5})
	if err != nil {
		t.Fatal(err)
	}
	y := m.Graph.Nodes[0].Outputs[0].Name
	for _, st := range p.Stages {
		if p.Model.Graph.Nodes[st.Start].OpType == "If" {
			if !slices.Contains(names(st.Inputs), y) {
				t.Errorf("the If's stage does not take %s, which its branches capture (inputs %v)", y, names(st.Inputs))
			}
		}
	}
	checkChainMatches(t, m, p)
}

func TestBadRequests(t *testing.T) {
	m := skipModel()
	n := len(m.Graph.Nodes)
	for _, o := range []split.Options{{Stages: 0}, {Stages: -1}, {Stages: n + 1}, {Stages: 2, MaxStageBytes: 10}, {Stages: 2, Balance: "speed"}} {
		if _, err := split.Split(m, o); !errors.Is(err, split.ErrUsage) {
			t.Errorf("%+v: got %v, want a usage error", o, err)
		}
	}
	if _, err := split.Split(m, split.Options{Stages: n}); err != nil {
		t.Errorf("one node per stage: %v", err)
	}
	// A symbolic dim other than the leading one must be bound for FLOPs.
	b := testmodels.NewBuilder("sym", 17)
	x := b.InputShape("x", ir.Float32, ir.Shape{ir.Sym("N"), ir.Sym("W")})
	b.Output(b.Node("Relu", []*ir.Value{b.Node("Relu", []*ir.Value{x})}))
	sm := b.Model()
	_, err := split.Split(sm, split.Options{Stages: 2, Balance: split.FLOPs})
	if !errors.Is(err, split.ErrUsage) || !strings.Contains(err.Error(), "--shape") {
		t.Errorf("unbound W with --balance flops: got %v, want a usage error asking for --shape", err)
	}
	if _, err := split.Split(sm, split.Options{Stages: 2, Balance: split.FLOPs, Dims: map[string]int64{"W": 16}}); err != nil {
		t.Errorf("bound W: %v", err)
	}
	if _, err := split.Split(sm, split.Options{Stages: 2, Balance: split.Params}); err != nil {
		t.Errorf("params need no shapes: %v", err)
	}
	// A limit below one node's weights.
	if _, err := split.Split(m, split.Options{MaxStageBytes: 16, Balance: split.Params}); !errors.Is(err, split.ErrUsage) {
		t.Errorf("limit below a node's weights: got %v", err)
	}
}

func TestMaxStageBytes(t *testing.T) {
	m := skipModel() // w1 (32 B) read by nodes 1 and 5, w2 (32 B) by node 2
	p, err := split.Split(m, split.Options{MaxStageBytes: 32, Balance: split.Params})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range p.Stages {
		if st.ParamBytes > 32 {
			t.Errorf("stage %d holds %d bytes of weights, over 32", st.Index, st.ParamBytes)
		}
	}
	// Nodes 1 and 5 read w1, node 2 reads w2, and w1 and w2 do not fit
	// together: node 2's stage can hold neither node 1 nor node 5, so the
	// fewest is 3 stages.
	if len(p.Stages) != 3 {
		t.Errorf("%d stages, want 3", len(p.Stages))
	}
	q, err := split.Split(m, split.Options{MaxStageBytes: 64, Balance: split.Params})
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Stages) != 1 {
		t.Errorf("a limit that fits everything gave %d stages", len(q.Stages))
	}
	checkChainMatches(t, m, p)
}

func TestLatencyBalance(t *testing.T) {
	m := skipModel()
	p, err := split.Split(m, split.Options{Stages: 2, Balance: split.Latency, Runs: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.NodeMS) != len(m.Graph.Nodes) {
		t.Fatalf("%d node times for %d nodes", len(p.NodeMS), len(m.Graph.Nodes))
	}
	var total, sum float64
	for _, x := range p.NodeMS {
		total += x
	}
	for _, st := range p.Stages {
		sum += st.Cost
		if st.Cost > p.Bound {
			t.Errorf("stage %d costs %v, over the bound %v", st.Index, st.Cost, p.Bound)
		}
	}
	if total <= 0 || sum-total > 1e-9*total || total-sum > 1e-9*total {
		t.Errorf("stage costs add to %v, node times to %v", sum, total)
	}
}

func TestWriteForceAndDeterminism(t *testing.T) {
	m := skipModel()
	root := t.TempDir()
	dir := filepath.Join(root, "out")
	write := func(stages int, force bool) error {
		p, err := split.Split(m, split.Options{Stages: stages})
		if err != nil {
			t.Fatal(err)
		}
		return p.Write(dir, split.WriteOptions{Source: "skip.onnx", Force: force, Triton: split.TritonOptions{Name: "skip"}})
	}
	if err := write(3, false); err != nil {
		t.Fatal(err)
	}
	first := readTree(t, dir)
	if err := split.CheckRepository(filepath.Join(dir, "triton")); err != nil {
		t.Fatal(err)
	}
	if err := write(3, false); !errors.Is(err, split.ErrNotEmpty) {
		t.Fatalf("writing into a non-empty directory without force: %v", err)
	}
	mine := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(mine, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := write(3, true); err != nil {
		t.Fatal(err)
	}
	second := readTree(t, dir)
	delete(second, "notes.txt")
	for k, v := range first {
		if second[k] != v {
			t.Errorf("%s differs between two identical writes", k)
		}
	}
	// Fewer stages: the old stage files nncc wrote go, the user's file stays.
	if err := write(2, true); err != nil {
		t.Fatal(err)
	}
	after := readTree(t, dir)
	if after["notes.txt"] != "mine" {
		t.Error("--force removed or changed a file nncc did not write")
	}
	for _, gone := range []string{"stage_2.onnx", "triton/skip_stage_2/config.pbtxt", "triton/skip_stage_2/1/model.onnx"} {
		if _, ok := after[gone]; ok {
			t.Errorf("%s from the earlier 3-stage split is still there", gone)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "triton", "skip_stage_2")); err == nil {
		t.Error("the stale stage directory is still there")
	}
	if err := split.CheckRepository(filepath.Join(dir, "triton")); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(root)
	if len(ents) != 1 {
		t.Errorf("temporary directories left beside the output: %v", ents)
	}
}

func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestManifestChecks: a manifest naming files outside its directory, or
// tensors nothing provides, is refused before any stage is loaded.
func TestManifestChecks(t *testing.T) {
	good := `{"source":"m.onnx","inputs":["x"],"outputs":["y"],"stages":[{"name":"m_stage_0","file":"stage_0.onnx","inputs":["x"],"outputs":["y"],"flops":0,"param_bytes":0,"activation_bytes_in":0,"activation_bytes_out":0}]}`
	cases := map[string]string{
		"path traversal":  strings.Replace(good, `"stage_0.onnx"`, `"../stage_0.onnx"`, 1),
		"absolute path":   strings.Replace(good, `"stage_0.onnx"`, `"/etc/passwd"`, 1),
		"undefined input": strings.Replace(good, `"inputs":["x"],"outputs":["y"],"flops"`, `"inputs":["z"],"outputs":["y"],"flops"`, 1),
		"output unmade":   strings.Replace(good, `"outputs":["y"],"stages"`, `"outputs":["w"],"stages"`, 1),
		"unknown field":   strings.Replace(good, `"source"`, `"extra":1,"source"`, 1),
		"no stages":       `{"source":"m.onnx","inputs":["x"],"outputs":[],"stages":[]}`,
	}
	for name, text := range cases {
		if text == good {
			t.Fatalf("%s: the case did not change the manifest", name)
		}
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, split.ManifestFile), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := split.ReadManifest(dir); !errors.Is(err, split.ErrBadManifest) {
			t.Errorf("%s: got %v, want ErrBadManifest", name, err)
		}
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, split.ManifestFile), []byte(good), 0o644)
	if _, err := split.ReadManifest(dir); err != nil {
		t.Errorf("the good manifest: %v", err)
	}
}
