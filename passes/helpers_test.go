package passes_test

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/nncc/nncc/internal/ortref"
	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/onnx"
	"github.com/nncc/nncc/passes"
	"github.com/nncc/nncc/runtime"
)

var update = flag.Bool("update", false, "rewrite golden files and generated docs")

// run applies the spec to m with VerifyEach (so ir.Verify and the
// numeric comparison with the original run after every pass that changes
// the graph) and fails the test on any error. Tolerances: atol 1e-5,
// rtol 1e-4 unless tol is given.
func run(t *testing.T, m *ir.Model, spec string, tol ...float64) *passes.Report {
	t.Helper()
	if err := ir.Verify(m); err != nil {
		t.Fatalf("input model does not verify: %v", err)
	}
	p, err := passes.Parse(spec)
	if err != nil {
		t.Fatal(err)
	}
	atol, rtol := 1e-5, 1e-4
	if len(tol) == 2 {
		atol, rtol = tol[0], tol[1]
	}
	rep, err := p.Run(m, passes.RunOptions{VerifyEach: true, Samples: 2, Seed: 7, Atol: atol, Rtol: rtol})
	if err != nil {
		t.Fatalf("%s: %v", spec, err)
	}
	if err := ir.Verify(m); err != nil {
		t.Fatalf("after %s: %v", spec, err)
	}
	return rep
}

// clone deep-copies a model through the ONNX codec.
func clone(t *testing.T, m *ir.Model) *ir.Model {
	t.Helper()
	b, err := onnx.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	c, err := onnx.Decode(b, onnx.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// ops lists the op types of g's nodes in order.
func ops(g *ir.Graph) string {
	var s []string
	for _, n := range g.Nodes {
		s = append(s, n.OpType)
	}
	return strings.Join(s, " ")
}

// countOps counts nodes of op in every graph of m.
func countOps(m *ir.Model, op string) int {
	k := 0
	m.Graph.Walk(func(g *ir.Graph) {
		for _, n := range g.Nodes {
			if n.OpType == op {
				k++
			}
		}
	})
	return k
}

// dump renders a graph as text: inputs, constants (dims and a checksum),
// nodes with attributes, outputs.
func dump(m *ir.Model) string {
	var b strings.Builder
	g := m.Graph
	fmt.Fprintf(&b, "opset %d\n", m.Opset(""))
	for _, v := range g.Inputs {
		fmt.Fprintf(&b, "input %s %s\n", v.Name, v.Type)
	}
	consts := append([]*ir.Value{}, g.Consts...)
	sort.Slice(consts, func(i, j int) bool { return consts[i].Name < consts[j].Name })
	for _, v := range consts {
		fmt.Fprintf(&b, "const %s %s%v %s\n", v.Name, v.Const.DType, v.Const.Dims, digest(v.Const))
	}
	for _, n := range g.Nodes {
		var ins, outs []string
		for _, v := range n.Inputs {
			if v == nil {
				ins = append(ins, "")
			} else {
				ins = append(ins, v.Name)
			}
		}
		for _, v := range n.Outputs {
			if v != nil {
				outs = append(outs, v.Name)
			}
		}
		fmt.Fprintf(&b, "%s = %s(%s)%s\n", strings.Join(outs, ", "), n.OpType, strings.Join(ins, ", "), attrString(n))
	}
	for _, v := range g.Outputs {
		fmt.Fprintf(&b, "output %s\n", v.Name)
	}
	return b.String()
}

func attrString(n *ir.Node) string {
	if len(n.Attrs) == 0 {
		return ""
	}
	var s []string
	for _, a := range n.Attrs {
		switch a.Type {
		case ir.AttrInt:
			s = append(s, fmt.Sprintf("%s=%d", a.Name, a.I))
		case ir.AttrFloat:
			s = append(s, fmt.Sprintf("%s=%g", a.Name, a.F))
		case ir.AttrString:
			s = append(s, fmt.Sprintf("%s=%q", a.Name, a.S))
		case ir.AttrInts:
			s = append(s, fmt.Sprintf("%s=%v", a.Name, a.Ints))
		case ir.AttrFloats:
			s = append(s, fmt.Sprintf("%s=%v", a.Name, a.Floats))
		default:
			s = append(s, fmt.Sprintf("%s:%s", a.Name, a.Type))
		}
	}
	return " {" + strings.Join(s, ", ") + "}"
}

// digest summarises a constant's values: the first few and the sum, to
// 4 significant digits, so golden files catch changed weights.
func digest(t *ir.Tensor) string {
	if t.DType == ir.String || t.DType.Bits() < 8 {
		return ""
	}
	v := t.Float64s()
	sum := 0.0
	for _, x := range v {
		sum += x
	}
	var head []string
	for i := 0; i < len(v) && i < 4; i++ {
		head = append(head, fmt.Sprintf("%.4g", v[i]))
	}
	return fmt.Sprintf("[%s] sum=%.4g", strings.Join(head, " "), sum)
}

// golden compares got with testdata/name.golden, or rewrites it with
// -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from golden file %s (go test -update rewrites it):\n--- got\n%s--- want\n%s", name, path, got, want)
	}
}

// randF32 returns n seeded floats uniform in [lo, hi).
func randF32(seed uint64, n int, lo, hi float32) []float32 {
	r := rand.New(rand.NewPCG(seed, 99))
	out := make([]float32, n)
	for i := range out {
		out[i] = lo + (hi-lo)*r.Float32()
	}
	return out
}

// outputs runs m on inputs with the runtime.
func outputs(t *testing.T, m *ir.Model, in map[string]*ir.Tensor) map[string]*ir.Tensor {
	t.Helper()
	s, err := runtime.NewSession(m, runtime.Options{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Run(in)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// maxDiff returns max |a-b| over two tensors of one shape, and the range
// (max − min) of a.
func maxDiff(t *testing.T, a, b *ir.Tensor) (diff, rng float64) {
	t.Helper()
	if fmt.Sprint(a.Dims) != fmt.Sprint(b.Dims) {
		t.Fatalf("shapes differ: %v vs %v", a.Dims, b.Dims)
	}
	av, bv := a.Float64s(), b.Float64s()
	lo, hi := math.Inf(1), math.Inf(-1)
	for i := range av {
		diff = math.Max(diff, math.Abs(av[i]-bv[i]))
		lo, hi = math.Min(lo, av[i]), math.Max(hi, av[i])
	}
	return diff, hi - lo
}

func mustParse(t *testing.T, spec string) *passes.Pipeline {
	t.Helper()
	p, err := passes.Parse(spec)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// runOpts are the verification options the tests use.
func runOpts() passes.RunOptions {
	return passes.RunOptions{VerifyEach: true, Samples: 2, Seed: 7, Atol: 1e-5, Rtol: 1e-4}
}

// ortOutputs runs m through onnxruntime with its graph optimizations
// disabled, so it computes the graph as written (its own fusions would
// otherwise make an unfused and a fused model run the same kernels). It
// skips the test when the harness is missing (see ortref.Require) and
// returns the outputs in graph-output order.
func ortOutputs(t *testing.T, m *ir.Model, in map[string]*ir.Tensor) []*ir.Tensor {
	t.Helper()
	ortref.Require(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "model.onnx")
	if err := onnx.Save(m, path, onnx.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	job := ortref.Job{Model: path, Inputs: map[string]string{}, Out: filepath.Join(dir, "out"), Opt: ortref.OptDisabled}
	for name, x := range in {
		f := filepath.Join(dir, name+".pb")
		if err := onnx.WriteTensorFile(f, x, name); err != nil {
			t.Fatal(err)
		}
		job.Inputs[name] = f
	}
	res, err := ortref.Run([]ortref.Job{job})
	if err != nil {
		t.Fatal(err)
	}
	outs, err := res[0].Tensors()
	if err != nil {
		t.Fatalf("onnxruntime: %v", err)
	}
	return outs
}
