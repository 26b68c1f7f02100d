package prune

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/runtime"
	"github.com/nncc/nncc/testmodels"
)

func randConst(b *testmodels.Builder, rng *rand.Rand, name string, dims ...int64) *ir.Value {
	x := make([]float32, ir.NumElements(dims))
	for i := range x {
		x[i] = float32(rng.NormFloat64() * 0.5)
	}
	return b.F32(name, dims, x)
}

// blocks builds a graph with a Concat along channels, a depthwise Conv,
// squeeze-excitation, a residual Add and Flatten → Gemm.
func blocks() *ir.Model {
	rng := rand.New(rand.NewPCG(7, 8))
	b := testmodels.NewBuilder("blocks", 13)
	x := b.Input("x", ir.Float32, 1, 3, 8, 8)
	p1 := ir.IntsAttr("pads", 1, 1, 1, 1)
	conv := func(in *ir.Value, name string, cout, cin, k int64, attrs ...*ir.Attribute) *ir.Value {
		return b.Node("Conv", []*ir.Value{in, randConst(b, rng, name+"_w", cout, cin, k, k), randConst(b, rng, name+"_b", cout)}, attrs...)
	}
	relu := func(v *ir.Value) *ir.Value { return b.Node("Relu", []*ir.Value{v}) }
	a := relu(conv(x, "a", 8, 3, 3, p1))
	bb := relu(conv(x, "b", 6, 3, 1))
	c := b.Node("Concat", []*ir.Value{a, bb}, ir.IntAttr("axis", 1))
	d := relu(conv(c, "d", 10, 14, 3, p1))
	e := relu(conv(d, "e", 10, 1, 3, p1, ir.IntAttr("group", 10)))
	g := b.Node("GlobalAveragePool", []*ir.Value{e})
	s := b.Node("Sigmoid", []*ir.Value{conv(relu(conv(g, "s1", 4, 10, 1)), "s2", 10, 4, 1)})
	m := b.Node("Mul", []*ir.Value{e, s})
	f := conv(m, "f", 10, 10, 1)
	r := b.Node("Add", []*ir.Value{f, d})
	h := b.Node("MaxPool", []*ir.Value{r}, ir.IntsAttr("kernel_shape", 2, 2), ir.IntsAttr("strides", 2, 2))
	fl := b.Node("Flatten", []*ir.Value{h}, ir.IntAttr("axis", 1))
	out := b.Node("Gemm", []*ir.Value{fl, randConst(b, rng, "fc_w", 5, 160), randConst(b, rng, "fc_b", 5)}, ir.IntAttr("transB", 1))
	b.Output(out)
	return b.Model()
}

func runOnce(t *testing.T, m *ir.Model, x *ir.Tensor) []float32 {
	t.Helper()
	s, err := runtime.NewSession(m, runtime.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Run(map[string]*ir.Tensor{"x": x})
	if err != nil {
		t.Fatal(err)
	}
	return out[m.Graph.Outputs[0].Name].Float32s()
}

// Removing channels must compute exactly what the original computes with
// those channels' filters and biases zeroed: the removed channels carried
// zeros through every tie (Concat, depthwise, SE, residual Add, Flatten).
func TestChannelsEqualZeroedChannels(t *testing.T) {
	orig := blocks()
	if err := ir.InferShapes(orig); err != nil {
		t.Fatal(err)
	}
	pruned := orig.Clone()
	an := Analyze(pruned)
	removed, err := an.Plan(ChannelOptions{Ratio: 0.5, Criterion: "l1"})
	if err != nil {
		t.Fatal(err)
	}
	// Groups: a (8), b (6), d tied with e, the SE scale and f (10), the
	// SE squeeze (4); the Concat's output keeps what a and b keep; the
	// Gemm's output is frozen.
	if removed != 4+3+5+2 {
		for _, g := range an.Groups {
			t.Logf("group %d: C=%d producers=%d keep=%v frozen=%q", g.ID, g.C, len(g.Producers), g.Keep, g.Frozen)
		}
		t.Fatalf("removed %d channels, want 14", removed)
	}
	zeroed := orig.Clone()
	byName := map[string]*ir.Node{}
	for _, n := range zeroed.Graph.Nodes {
		byName[n.Outputs[0].Name] = n
	}
	for _, gr := range an.Groups {
		if gr.Keep == nil || gr.parts != nil {
			continue
		}
		prod := map[*ir.Node]bool{}
		for _, p := range gr.Producers {
			prod[p] = true
		}
		keep := map[int]bool{}
		for _, k := range gr.Keep {
			keep[k] = true
		}
		for _, e := range gr.edits {
			if !(e.input == 2 || e.group || (prod[e.node] && e.axis == 0)) {
				continue // a consumer's input axis: reads zeros
			}
			n := byName[e.node.Outputs[0].Name]
			w := n.Inputs[e.input].Const
			per := int(w.NumElements()) / int(w.Dims[0])
			v := append([]float32{}, w.Float32View()...)
			for c := 0; c < int(w.Dims[0]); c++ {
				if !keep[c] {
					for i := 0; i < per; i++ {
						v[c*per+i] = 0
					}
				}
			}
			n.Inputs[e.input] = &ir.Value{Name: n.Inputs[e.input].Name, Const: ir.FromFloat32(w.Dims, v)}
			zeroed.Graph.Consts = append(zeroed.Graph.Consts, n.Inputs[e.input])
		}
	}
	an.Apply(pruned)
	if err := ir.Verify(pruned); err != nil {
		t.Fatal(err)
	}
	p0, _ := orig.Graph.ParamStats()
	p1, _ := pruned.Graph.ParamStats()
	if p1 >= p0*2/3 {
		t.Errorf("parameters %d → %d", p0, p1)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	xs := make([]float32, 3*64)
	for i := range xs {
		xs[i] = float32(rng.NormFloat64())
	}
	x := ir.FromFloat32([]int64{1, 3, 8, 8}, xs)
	got, want := runOnce(t, pruned, x), runOnce(t, zeroed, x)
	for i := range got {
		if math.Abs(float64(got[i]-want[i])) > 1e-4*(1+math.Abs(float64(want[i]))) {
			t.Fatalf("output %d: pruned %v, zeroed original %v", i, got[i], want[i])
		}
	}
	// And with nothing to remove, nothing changes.
	same := orig.Clone()
	an = Analyze(same)
	if n, _ := an.Plan(ChannelOptions{Ratio: 0.05}); n != 0 {
		t.Errorf("ratio 0.05 of ≤ 14 channels removed %d", n)
	}
}
