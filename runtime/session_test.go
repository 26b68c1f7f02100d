package runtime

import (
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/testmodels"
)

func TestUnsupportedOpIsNamed(t *testing.T) {
	b := testmodels.NewBuilder("g", 17)
	x := b.Input("x", ir.Float32, 2)
	y := b.Node("Relu", []*ir.Value{x})
	z := b.Node("FancyOp", []*ir.Value{y})
	b.Output(z)
	_, err := NewSession(b.Model(), Options{})
	if err == nil {
		t.Fatal("NewSession accepted an unsupported operator")
	}
	for _, want := range []string{"FancyOp", "n1_FancyOp", "opset 17", "not supported"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestUnsupportedOpsetIsNamed(t *testing.T) {
	// LayerNormalization exists from opset 17; Gelu from 20.
	for _, c := range []struct {
		op    string
		opset int64
		want  []string
	}{
		{"LayerNormalization", 16, []string{"LayerNormalization", "opset 16", "17"}},
		{"Gelu", 19, []string{"Gelu", "opset 19", "20"}},
		{"Relu", MaxOpset + 1, []string{"Relu", "newest supported"}},
	} {
		err := Supported("", c.op, c.opset)
		if err == nil {
			t.Errorf("%s at opset %d: supported, want an error", c.op, c.opset)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", c.op, err, w)
			}
		}
	}
	if err := Supported("com.microsoft", "Relu", 17); err == nil || !strings.Contains(err.Error(), "com.microsoft") {
		t.Errorf("foreign domain: error %v", err)
	}
	if err := Supported("", "Conv", 21); err != nil {
		t.Errorf("Conv at 21: %v", err)
	}
	// NewSession names the node and the opset too.
	b := testmodels.NewBuilder("g", 16)
	x := b.Input("x", ir.Float32, 2, 3)
	s := b.F32("s", []int64{3}, []float32{1, 1, 1})
	b.Output(b.Node("LayerNormalization", []*ir.Value{x, s}))
	_, err := NewSession(b.Model(), Options{})
	if err == nil || !strings.Contains(err.Error(), "n0_LayerNormalization") || !strings.Contains(err.Error(), "opset 16") {
		t.Errorf("NewSession error %v", err)
	}
}

func TestSessionInputs(t *testing.T) {
	b := testmodels.NewBuilder("g", 17)
	x := b.InputShape("x", ir.Float32, ir.Shape{ir.Sym("N"), ir.D(2)})
	w := b.InputShape("w", ir.Float32, ir.Shape{ir.Sym("N"), ir.D(2)})
	d := b.Input("d", ir.Float32, 2)
	d.Const = ir.FromFloat32([]int64{2}, []float32{10, 20})
	b.Graph().Consts = append(b.Graph().Consts, d)
	s1 := b.Node("Add", []*ir.Value{x, w})
	b.Output(b.Node("Add", []*ir.Value{s1, d}))
	m := b.Model()
	sess, err := NewSession(m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(sess.InputNames(), ","); got != "x,w" {
		t.Errorf("InputNames = %s, want x,w (d has a default)", got)
	}
	if got := strings.Join(sess.OutputNames(), ","); got != "n1_Add_out0" {
		t.Errorf("OutputNames = %s", got)
	}
	x1 := f32(dims(1, 2), 1, 2)
	out, err := sess.Run(map[string]*ir.Tensor{"x": x1, "w": x1})
	if err != nil {
		t.Fatal(err)
	}
	wantF32(t, out["n1_Add_out0"], dims(1, 2), []float64{12, 24}, 0)
	// The default can be overridden.
	out, err = sess.Run(map[string]*ir.Tensor{"x": x1, "w": x1, "d": f32(dims(2), 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	wantF32(t, out["n1_Add_out0"], dims(1, 2), []float64{2, 4}, 0)

	for _, c := range []struct {
		in   map[string]*ir.Tensor
		want string
	}{
		{map[string]*ir.Tensor{"x": x1}, `missing input "w"`},
		{map[string]*ir.Tensor{"x": x1, "w": x1, "zz": x1}, `"zz" is not an input`},
		{map[string]*ir.Tensor{"x": x1, "w": f32(dims(2, 2), 1, 2, 3, 4)}, "N = 1 elsewhere"},
		{map[string]*ir.Tensor{"x": x1, "w": f32(dims(1, 3), 1, 2, 3)}, "want [N,2]"},
		{map[string]*ir.Tensor{"x": x1, "w": i64(dims(1, 2), 1, 2)}, "is int64, want float32"},
		{map[string]*ir.Tensor{"x": x1, "w": {DType: ir.Float32, Dims: []int64{1, 2}, Data: []byte{1}}}, "bytes of data"},
	} {
		if _, err := sess.Run(c.in); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Run: error %v, want %q", err, c.want)
		}
	}

	// Options.Shapes pins an input's shape.
	if _, err := NewSession(m, Options{Shapes: map[string][]int64{"x": {3, 3}}}); err == nil {
		t.Error("Shapes disagreeing with the declared shape accepted")
	}
	if _, err := NewSession(m, Options{Shapes: map[string][]int64{"nope": {3, 2}}}); err == nil {
		t.Error("Shapes naming a non-input accepted")
	}
	pinned, err := NewSession(m, Options{Shapes: map[string][]int64{"x": {3, 2}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pinned.Run(map[string]*ir.Tensor{"x": x1, "w": x1}); err == nil || !strings.Contains(err.Error(), "Options.Shapes") {
		t.Errorf("pinned shape: error %v", err)
	}
}

// evalByNodes runs m node by node with EvalNode (no buffer reuse), an
// independent path to compare Session.Run against.
func evalByNodes(t *testing.T, m *ir.Model, inputs map[string]*ir.Tensor) map[string]*ir.Tensor {
	t.Helper()
	vals := map[*ir.Value]*ir.Tensor{}
	for _, c := range m.Graph.Consts {
		vals[c] = c.Const
	}
	for _, v := range m.Graph.Inputs {
		if t, ok := inputs[v.Name]; ok {
			vals[v] = t
		}
	}
	for _, n := range m.Graph.Nodes {
		ins := make([]*ir.Tensor, len(n.Inputs))
		for i, v := range n.Inputs {
			if v != nil {
				ins[i] = vals[v]
			}
		}
		// A copy whose inputs carry no constants, so EvalNode prepares
		// nothing from them (no prepacked weights).
		bare := *n
		bare.Inputs = make([]*ir.Value, len(n.Inputs))
		for i, v := range n.Inputs {
			if v != nil {
				bare.Inputs[i] = &ir.Value{Name: v.Name}
			}
		}
		outs, err := EvalNode(&bare, ins, m.Opset(""))
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range n.Outputs {
			vals[v] = outs[i]
		}
	}
	res := map[string]*ir.Tensor{}
	for _, v := range m.Graph.Outputs {
		res[v.Name] = vals[v]
	}
	return res
}

// TestBufferReuse runs a graph whose intermediates die at different
// times, mixing aliasing (Reshape, Identity, Squeeze) with computing ops,
// and checks every run against node-by-node evaluation. Outputs of an
// earlier run must survive later runs.
func TestBufferReuse(t *testing.T) {
	b := testmodels.NewBuilder("g", 17)
	x := b.Input("x", ir.Float32, 4, 6)
	a := b.Node("Relu", []*ir.Value{x})
	r := b.Node("Reshape", []*ir.Value{a, b.I64("shape", []int64{2}, []int64{6, 4})})
	c := b.Node("Neg", []*ir.Value{r})
	d := b.Node("Sigmoid", []*ir.Value{a}) // a is still live after r's reader
	id := b.Node("Identity", []*ir.Value{c})
	e := b.Node("Exp", []*ir.Value{id})
	f := b.Node("Transpose", []*ir.Value{d})
	h := b.Node("Add", []*ir.Value{f, e})
	u := b.Node("Unsqueeze", []*ir.Value{h, b.I64("ax", []int64{1}, []int64{0})})
	sq := b.Node("Squeeze", []*ir.Value{u, b.I64("ax0", []int64{1}, []int64{0})})
	k := b.Node("Mul", []*ir.Value{sq, sq})
	b.Output(k, r, d)
	m := b.Model()
	sess, err := NewSession(m, Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(1))
	var first map[string]*ir.Tensor
	var firstCopy map[string]*ir.Tensor
	for it := 0; it < 4; it++ {
		in := map[string]*ir.Tensor{"x": randF32(rng, 4, 6)}
		got, err := sess.Run(in)
		if err != nil {
			t.Fatal(err)
		}
		want := evalByNodes(t, m, in)
		for name, w := range want {
			if msg := compareTensors(got[name], w, 0, 0); msg != "" {
				t.Fatalf("run %d, output %s: %s", it, name, msg)
			}
		}
		if it == 0 {
			first, firstCopy = got, map[string]*ir.Tensor{}
			for k, v := range got {
				firstCopy[k] = v.Clone()
			}
		}
	}
	for name := range first {
		if msg := compareTensors(first[name], firstCopy[name], 0, 0); msg != "" {
			t.Errorf("output %s of the first run changed later: %s", name, msg)
		}
	}
	if len(sess.arena.free) == 0 {
		t.Error("no buffer was recycled")
	}
}

func TestOutputAliasesAreCopied(t *testing.T) {
	// An output that is an input, a constant or another output must not
	// share storage with them.
	b := testmodels.NewBuilder("g", 17)
	x := b.Input("x", ir.Float32, 2)
	c := b.F32("c", []int64{2}, []float32{5, 6})
	i1 := b.Node("Identity", []*ir.Value{x})
	i2 := b.Node("Identity", []*ir.Value{c})
	r := b.Node("Relu", []*ir.Value{x})
	i3 := b.Node("Identity", []*ir.Value{r})
	b.Output(i1, i2, r, i3)
	m := b.Model()
	in := f32(dims(2), 1, 2)
	out := run(t, m, map[string]*ir.Tensor{"x": in})
	seen := map[*byte]string{dataPtr(in): "input", dataPtr(c.Const): "constant"}
	for _, name := range []string{i1.Name, i2.Name, r.Name, i3.Name} {
		p := dataPtr(out[name])
		if other, dup := seen[p]; dup {
			t.Errorf("output %s shares storage with %s", name, other)
		}
		seen[p] = name
	}
	wantF32(t, out[i2.Name], dims(2), []float64{5, 6}, 0)
	wantF32(t, out[i3.Name], dims(2), []float64{1, 2}, 0)
}

func TestIfReadsOuterScope(t *testing.T) {
	b := testmodels.NewBuilder("g", 17)
	x := b.Input("x", ir.Float32, 3)
	cond := b.Input("cond", ir.Bool)
	k := b.F32("k", []int64{1}, []float32{10})
	sx := b.Node("Relu", []*ir.Value{x})

	// then: (relu(x) + k) via a nested If that always takes its then.
	inner := &ir.Graph{Name: "inner_then"}
	iy := &ir.Value{Name: "iy"}
	inner.Nodes = []*ir.Node{{Name: "inner_add", OpType: "Add", Inputs: []*ir.Value{sx, k}, Outputs: []*ir.Value{iy}}}
	inner.Outputs = []*ir.Value{iy}
	innerElse := &ir.Graph{Name: "inner_else", Outputs: []*ir.Value{x}}
	thenG := &ir.Graph{Name: "then"}
	tc := &ir.Value{Name: "tc", Const: &ir.Tensor{DType: ir.Bool, Data: []byte{1}}}
	thenG.Consts = []*ir.Value{tc}
	ty := &ir.Value{Name: "ty"}
	thenG.Nodes = []*ir.Node{{Name: "nested_if", OpType: "If", Inputs: []*ir.Value{tc}, Outputs: []*ir.Value{ty},
		Attrs: []*ir.Attribute{ir.GraphAttr("then_branch", inner), ir.GraphAttr("else_branch", innerElse)}}}
	thenG.Outputs = []*ir.Value{ty}
	// else: x itself (an outer value as a branch output).
	elseG := &ir.Graph{Name: "else", Outputs: []*ir.Value{x}}
	out := b.Node("If", []*ir.Value{cond}, ir.GraphAttr("then_branch", thenG), ir.GraphAttr("else_branch", elseG))
	final := b.Node("Mul", []*ir.Value{out, sx})
	b.Output(final, out)
	m := b.Model()
	if err := ir.Verify(m); err != nil {
		t.Fatal(err)
	}
	sess, err := NewSession(m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	xv := f32(dims(3), -1, 2, 3)
	for _, c := range []struct {
		cond bool
		want []float64
	}{
		{true, []float64{0, 24, 39}}, // (relu(x)+10)·relu(x)
		{false, []float64{0, 4, 9}},  // x·relu(x)
	} {
		res, err := sess.Run(map[string]*ir.Tensor{"x": xv, "cond": {DType: ir.Bool, Data: []byte{b2u(c.cond)}}})
		if err != nil {
			t.Fatal(err)
		}
		wantF32(t, res[final.Name], dims(3), c.want, 0)
	}
	// The else branch returned x itself; the output must be a copy.
	res, _ := sess.Run(map[string]*ir.Tensor{"x": xv, "cond": {DType: ir.Bool, Data: []byte{0}}})
	if dataPtr(res[out.Name]) == dataPtr(xv) {
		t.Error("If output aliases the caller's input")
	}
}

func TestEvalNode(t *testing.T) {
	n := &ir.Node{Name: "add", OpType: "Add", Inputs: []*ir.Value{{Name: "a"}, {Name: "b"}}, Outputs: []*ir.Value{{Name: "y"}}}
	out, err := EvalNode(n, []*ir.Tensor{f32(dims(2, 1), 1, 2), f32(dims(3), 10, 20, 30)}, 17)
	if err != nil {
		t.Fatal(err)
	}
	wantF32(t, out[0], dims(2, 3), []float64{11, 21, 31, 12, 22, 32}, 0)
	if _, err := EvalNode(n, []*ir.Tensor{f32(dims(2), 1, 2), nil}, 17); err == nil {
		t.Error("missing input accepted")
	}
	if _, err := EvalNode(n, []*ir.Tensor{f32(dims(2), 1, 2), f32(dims(3), 1, 2, 3)}, 17); err == nil || !strings.Contains(err.Error(), "broadcast") {
		t.Errorf("shape mismatch: %v", err)
	}
	bad := &ir.Node{Name: "q", OpType: "Quux", Outputs: []*ir.Value{{Name: "y"}}}
	if _, err := EvalNode(bad, nil, 17); err == nil || !strings.Contains(err.Error(), "Quux") {
		t.Errorf("unsupported op: %v", err)
	}
	// Optional outputs that are requested come back in node order.
	mp := &ir.Node{Name: "mp", OpType: "MaxPool", Inputs: []*ir.Value{{Name: "x"}}, Outputs: []*ir.Value{{Name: "y"}, {Name: "i"}},
		Attrs: []*ir.Attribute{ir.IntsAttr("kernel_shape", 2)}}
	out, err = EvalNode(mp, []*ir.Tensor{f32(dims(1, 1, 4), 1, 5, 2, 3)}, 12)
	if err != nil {
		t.Fatal(err)
	}
	wantF32(t, out[0], dims(1, 1, 3), []float64{5, 5, 3}, 0)
	wantInts(t, out[1], ir.Int64, dims(1, 1, 3), 1, 1, 3)
}

func TestBadInputIsAnError(t *testing.T) {
	// A selection of hostile inputs: each must be an error, not a panic.
	singleErr(t, 17, "Reshape", []*ir.Tensor{f32(dims(2, 3), 1, 2, 3, 4, 5, 6), i64(dims(2), 4, -1)}, "cannot reshape")
	singleErr(t, 17, "Gather", []*ir.Tensor{f32(dims(3), 1, 2, 3), i64(dims(1), 3)}, "out of range")
	singleErr(t, 17, "Expand", []*ir.Tensor{f32(dims(1), 1), i64(dims(3), 1<<20, 1<<20, 1<<20)}, "too large")
	singleErr(t, 17, "Div", []*ir.Tensor{i64(dims(1), 1), i64(dims(1), 0)}, "by zero")
	singleErr(t, 17, "Concat", []*ir.Tensor{f32(dims(2), 1, 2), f32(dims(1, 2), 1, 2)}, "not compatible", ir.IntAttr("axis", 0))
	singleErr(t, 17, "Conv", []*ir.Tensor{f32(dims(1, 2, 3, 3), make([]float32, 18)...), f32(dims(1, 3, 1, 1), 1, 2, 3)}, "do not fit")
	singleErr(t, 17, "Transpose", []*ir.Tensor{f32(dims(2, 1), 1, 2)}, "not a permutation", ir.IntsAttr("perm", 0, 0))
	singleErr(t, 17, "Slice", []*ir.Tensor{f32(dims(2), 1, 2), i64(dims(1), 0), i64(dims(1), 1), i64(dims(1), 0), i64(dims(1), 0)}, "step is 0")
}

// TestPreparedOperands checks the build-time preparations (fused
// activations, prepacked constant weights) against node-by-node
// evaluation, and that a graph input whose default is a weight can still
// be overridden.
func TestPreparedOperands(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	b := testmodels.NewBuilder("g", 13)
	x := b.Input("x", ir.Float32, 2, 3, 6, 5)
	w := b.Const("w", randF32(rng, 4, 3, 3, 3))
	c1 := b.Node("Conv", []*ir.Value{x, w}, ir.IntsAttr("pads", 1, 1, 1, 1))
	r1 := b.Node("Relu", []*ir.Value{c1}) // fused
	w2 := b.Const("w2", randF32(rng, 4, 4, 1, 1))
	c2 := b.Node("Conv", []*ir.Value{r1, w2})
	cl := b.Node("Clip", []*ir.Value{c2, b.F32("lo", nil, []float32{-0.5}), b.F32("hi", nil, []float32{0.5})}) // fused
	c3 := b.Node("Conv", []*ir.Value{cl, w2})
	r3 := b.Node("Relu", []*ir.Value{c3}) // not fused: c3 is also an output
	fl := b.Node("Flatten", []*ir.Value{r3})
	wm := b.Input("wm", ir.Float32, 120, 7) // an input with a default
	wm.Const = randF32(rng, 120, 7)
	b.Graph().Consts = append(b.Graph().Consts, wm)
	mm := b.Node("MatMul", []*ir.Value{fl, wm})
	gm := b.Node("Gemm", []*ir.Value{mm, b.Const("wg", randF32(rng, 3, 7)), b.Const("bg", randF32(rng, 3))}, ir.IntAttr("transB", 1))
	b.Output(gm, c3)
	m := b.Model()
	if err := ir.Verify(m); err != nil {
		t.Fatal(err)
	}
	sess, err := NewSession(m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	fused := 0
	for _, st := range sess.plan.steps {
		if ck, ok := st.k.(*convKernel); ok && ck.fused.Act != 0 {
			fused++
		}
	}
	if fused != 2 {
		t.Errorf("%d convolutions absorbed an activation, want 2", fused)
	}
	for it := 0; it < 3; it++ {
		in := map[string]*ir.Tensor{"x": randF32(rng, 2, 3, 6, 5)}
		if it == 2 {
			in["wm"] = randF32(rng, 120, 7)
		}
		got, err := sess.Run(in)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := in["wm"]; !ok {
			in["wm"] = wm.Const
		}
		want := evalByNodes(t, m, in)
		for name, w := range want {
			if msg := compareTensors(got[name], w, 1e-5, 1e-5); msg != "" {
				t.Fatalf("run %d, output %s: %s", it, name, msg)
			}
		}
	}
}

// TestConstOperandsMatchInputs runs operators whose constant operands
// are prepared at build time (prepacked weights) both ways: with those
// operands as graph inputs and as constants. Results must agree exactly.
func TestConstOperandsMatchInputs(t *testing.T) {
	rng := rand.New(rand.NewSource(11))
	u8 := func(d ...int64) *ir.Tensor { return randInts(rng, ir.Uint8, 0, 255, d...) }
	s8 := func(d ...int64) *ir.Tensor { return randInts(rng, ir.Int8, -128, 127, d...) }
	cases := []struct {
		op     string
		opset  int64
		ins    []*ir.Tensor
		consts []int // inputs made constant
		attrs  []*ir.Attribute
	}{
		{"Conv", 13, []*ir.Tensor{randF32(rng, 2, 4, 7, 6), randF32(rng, 6, 2, 3, 3), randF32(rng, 6)}, []int{1, 2}, []*ir.Attribute{ir.IntAttr("group", 2), ir.IntsAttr("pads", 1, 0, 1, 2)}},
		{"Conv", 13, []*ir.Tensor{randF32(rng, 1, 3, 9), randF32(rng, 5, 3, 2)}, []int{1}, []*ir.Attribute{ir.IntsAttr("strides", 2)}},
		{"MatMul", 13, []*ir.Tensor{randF32(rng, 2, 3, 5), randF32(rng, 5, 4)}, []int{1}, nil},
		{"Gemm", 13, []*ir.Tensor{randF32(rng, 3, 5), randF32(rng, 4, 5), randF32(rng, 4)}, []int{1, 2}, []*ir.Attribute{ir.IntAttr("transB", 1)}},
		{"MatMulInteger", 10, []*ir.Tensor{u8(2, 3, 5), s8(5, 4), scalarOf(ir.Uint8, 9), s8(4)}, []int{1, 3}, nil},
		{"MatMulInteger", 10, []*ir.Tensor{s8(3, 5), u8(5, 4)}, []int{1}, nil},
		{"QLinearMatMul", 10, []*ir.Tensor{u8(3, 5), scalarOf(ir.Float32, 0.02), scalarOf(ir.Uint8, 120), s8(5, 4), scalarOf(ir.Float32, 0.03), scalarOf(ir.Int8, 3), scalarOf(ir.Float32, 0.2), scalarOf(ir.Uint8, 128)}, []int{3, 4, 5}, nil},
		{"ConvInteger", 10, []*ir.Tensor{u8(1, 4, 6, 5), s8(6, 2, 3, 3), scalarOf(ir.Uint8, 17), s8(6)}, []int{1, 3}, []*ir.Attribute{ir.IntAttr("group", 2), ir.IntsAttr("pads", 1, 1, 0, 1)}},
		{"QLinearConv", 10, []*ir.Tensor{u8(1, 3, 6, 5), scalarOf(ir.Float32, 0.05), scalarOf(ir.Uint8, 100), s8(3, 1, 3, 3), posF32(rng, 3), &ir.Tensor{DType: ir.Int8, Dims: []int64{3}, Data: make([]byte, 3)}, scalarOf(ir.Float32, 0.3), scalarOf(ir.Uint8, 128), randInts(rng, ir.Int32, -99, 99, 3)}, []int{3, 4, 5, 8}, []*ir.Attribute{ir.IntAttr("group", 3), ir.IntsAttr("pads", 1, 1, 1, 1)}},
	}
	for _, c := range cases {
		want := single(t, c.opset, c.op, 1, c.ins, c.attrs...)[0]
		m, feeds := singleModel(c.opset, c.op, 1, c.ins, c.attrs...)
		n := m.Graph.Nodes[0]
		for _, i := range c.consts {
			v := n.Inputs[i]
			v.Const = c.ins[i]
			delete(feeds, v.Name)
			m.Graph.Inputs = slices.DeleteFunc(m.Graph.Inputs, func(x *ir.Value) bool { return x == v })
			m.Graph.Consts = append(m.Graph.Consts, v)
		}
		sess, err := NewSession(m, Options{})
		if err != nil {
			t.Fatalf("%s: %v", c.op, err)
		}
		for it := 0; it < 2; it++ { // the second run reuses the packed weights
			got, err := sess.Run(feeds)
			if err != nil {
				t.Fatalf("%s: %v", c.op, err)
			}
			if msg := compareTensors(got[m.Graph.Outputs[0].Name], want, 1e-6, 1e-6); msg != "" {
				t.Errorf("%s with constant inputs %v: %s", c.op, c.consts, msg)
			}
		}
	}
}

// TestLoopAliasing runs a Loop whose body passes bound values through
// (Identity of a loop-carried input, an Unsqueeze of the iteration
// number as a scan output) and reads an outer constant; freed buffers are
// poisoned in tests, so reuse of a live one shows in the results.
func TestLoopAliasing(t *testing.T) {
	v := func(name string) *ir.Value { return &ir.Value{Name: name} }
	i, c, a, bb := v("i"), v("c"), v("a"), v("b")
	aOut, bOut, s1, s2, cOut := v("a_out"), v("b_out"), v("s1"), v("s2"), v("c_out")
	b := testmodels.NewBuilder("g", 13)
	limit := b.I64("limit", nil, []int64{3})
	ax := b.I64("ax", []int64{1}, []int64{0})
	shape := b.I64("shape", []int64{1}, []int64{2})
	body := &ir.Graph{Name: "body", Inputs: []*ir.Value{i, c, a, bb}, Outputs: []*ir.Value{cOut, aOut, bOut, s1, s2}}
	body.Nodes = []*ir.Node{
		{Name: "add", OpType: "Add", Inputs: []*ir.Value{a, bb}, Outputs: []*ir.Value{aOut}},
		{Name: "id", OpType: "Identity", Inputs: []*ir.Value{a}, Outputs: []*ir.Value{bOut}},
		{Name: "unsq", OpType: "Unsqueeze", Inputs: []*ir.Value{i, ax}, Outputs: []*ir.Value{s1}},
		{Name: "resh", OpType: "Reshape", Inputs: []*ir.Value{aOut, shape}, Outputs: []*ir.Value{s2}},
		{Name: "less", OpType: "Less", Inputs: []*ir.Value{i, limit}, Outputs: []*ir.Value{cOut}},
	}
	m0 := b.Input("m", ir.Int64)
	a0 := b.Input("a0", ir.Float32, 2)
	b0 := b.Input("b0", ir.Float32, 2)
	outs := b.NodeN("Loop", []*ir.Value{m0, nil, a0, b0}, 4, ir.GraphAttr("body", body))
	b.Output(outs...)
	m := b.Model()
	if err := ir.Verify(m); err != nil {
		t.Fatal(err)
	}
	sess, err := NewSession(m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for it := 0; it < 2; it++ {
		res, err := sess.Run(map[string]*ir.Tensor{"m": i64(nil, 10), "a0": f32(dims(2), 1, 1), "b0": f32(dims(2), 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		wantF32(t, res[outs[0].Name], dims(2), []float64{5, 8}, 0)
		wantF32(t, res[outs[1].Name], dims(2), []float64{3, 5}, 0)
		wantInts(t, res[outs[2].Name], ir.Int64, dims(4, 1), 0, 1, 2, 3)
		wantF32(t, res[outs[3].Name], dims(4, 2), []float64{1, 2, 2, 3, 3, 5, 5, 8}, 0)
	}
	// A trip count of zero returns the initial values and empty scans.
	res, err := sess.Run(map[string]*ir.Tensor{"m": i64(nil, 0), "a0": f32(dims(2), 1, 1), "b0": f32(dims(2), 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	wantF32(t, res[outs[0].Name], dims(2), []float64{1, 1}, 0)
	if got := res[outs[3].Name].Dims; len(got) == 0 || got[0] != 0 {
		t.Errorf("empty scan output has dims %v", got)
	}
}

// TestArenaTrim checks that after a run on a small input the session
// keeps about what that run needed, not the buffers of an earlier large
// one.
func TestArenaTrim(t *testing.T) {
	b := testmodels.NewBuilder("g", 17)
	x := b.InputShape("x", ir.Float32, ir.Shape{ir.Sym("n")})
	y := b.Node("Exp", []*ir.Value{b.Node("Neg", []*ir.Value{b.Node("Relu", []*ir.Value{x})})})
	b.Output(y)
	sess, err := NewSession(b.Model(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	free := func() int {
		n := 0
		for _, f := range sess.arena.free {
			n += cap(f)
		}
		return n
	}
	rng := rand.New(rand.NewSource(1))
	if _, err := sess.Run(map[string]*ir.Tensor{"x": randF32(rng, 1<<16)}); err != nil {
		t.Fatal(err)
	}
	if free() < 1<<18 {
		t.Errorf("large run left %d bytes free, want the intermediates (%d)", free(), 1<<18)
	}
	if _, err := sess.Run(map[string]*ir.Tensor{"x": randF32(rng, 16)}); err != nil {
		t.Fatal(err)
	}
	if free() > 1<<10 {
		t.Errorf("small run left %d bytes free", free())
	}
}

// TestFoldingAtBuild checks that nodes whose inputs are all fixed run
// once when the session is built (a DequantizeLinear of int8 weights
// feeding a MatMul), that inputs with defaults are not treated as fixed,
// and that results match node-by-node evaluation.
func TestFoldingAtBuild(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	b := testmodels.NewBuilder("g", 13)
	x := b.Input("x", ir.Float32, 3, 8)
	wq := b.Const("wq", randInts(rng, ir.Int8, -127, 127, 8, 4))
	w := b.Node("DequantizeLinear", []*ir.Value{wq, b.F32("s", nil, []float32{0.05})})
	y := b.Node("MatMul", []*ir.Value{x, w})
	d := b.Input("d", ir.Float32, 4) // an input with a default
	d.Const = randF32(rng, 4)
	b.Graph().Consts = append(b.Graph().Consts, d)
	sh := b.Node("Shape", []*ir.Value{d})
	z := b.Node("Add", []*ir.Value{y, d})
	b.Output(z, sh, w)
	m := b.Model()
	sess, err := NewSession(m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, st := range sess.plan.steps {
		ops = append(ops, st.node.OpType)
	}
	if got := strings.Join(ops, ","); got != "MatMul,Shape,Add" {
		t.Errorf("steps %s, want MatMul,Shape,Add (DequantizeLinear folded)", got)
	}
	for it := 0; it < 2; it++ {
		in := map[string]*ir.Tensor{"x": randF32(rng, 3, 8)}
		if it == 1 {
			in["d"] = randF32(rng, 4)
		}
		got, err := sess.Run(in)
		if err != nil {
			t.Fatal(err)
		}
		want := evalByNodes(t, m, in)
		for name, w := range want {
			if msg := compareTensors(got[name], w, 1e-6, 1e-6); msg != "" {
				t.Errorf("run %d, output %s: %s", it, name, msg)
			}
		}
	}
}

// TestDropoutMaskType: before opset 10 the mask has the input's type,
// from 10 on it is bool; at inference it is all ones.
func TestDropoutMaskType(t *testing.T) {
	for _, tc := range []struct {
		opset int64
		want  ir.DType
	}{{7, ir.Float32}, {9, ir.Float32}, {10, ir.Bool}, {13, ir.Bool}} {
		n := &ir.Node{OpType: "Dropout", Inputs: []*ir.Value{{Name: "x"}}, Outputs: []*ir.Value{{Name: "y"}, {Name: "mask"}}}
		x := ir.FromFloat32([]int64{3}, []float32{1, -2, 3})
		outs, err := EvalNode(n, []*ir.Tensor{x}, tc.opset)
		if err != nil {
			t.Fatalf("opset %d: %v", tc.opset, err)
		}
		mask := outs[1]
		if mask.DType != tc.want {
			t.Errorf("opset %d: mask is %s, want %s", tc.opset, mask.DType, tc.want)
		}
		for i, v := range mask.Float64s() {
			if v != 1 {
				t.Errorf("opset %d: mask[%d] = %v, want 1", tc.opset, i, v)
			}
		}
	}
}

// TestResidualFusion checks Conv + Add (+ activation) fusion against
// node-by-node evaluation: the residual added in the kernels' store
// (same shape), the fallback for a broadcast operand, an operand computed
// after the Conv (not fused), both operand orders, and a fused Add whose
// Conv output is also read elsewhere (not fused).
func TestResidualFusion(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	b := testmodels.NewBuilder("res", 13)
	x := b.Input("x", ir.Float32, 2, 4, 6, 5)
	w := b.Const("w", randF32(rng, 4, 4, 3, 3))
	bias := b.Const("b", randF32(rng, 4))
	pads := ir.IntsAttr("pads", 1, 1, 1, 1)
	// Block 1: Add(x, Conv) → Relu: fused with the activation.
	c1 := b.Node("Conv", []*ir.Value{x, w, bias}, pads)
	a1 := b.Node("Add", []*ir.Value{x, c1})
	r1 := b.Node("Relu", []*ir.Value{a1})
	// Block 2: Add(Conv, broadcast [4,1,1]) → Clip: fused, fallback path.
	c2 := b.Node("Conv", []*ir.Value{r1, w}, pads)
	a2 := b.Node("Add", []*ir.Value{c2, b.Const("chan", randF32(rng, 4, 1, 1))})
	r2 := b.Node("Clip", []*ir.Value{a2, b.F32("lo", nil, []float32{-1}), b.F32("hi", nil, []float32{1})})
	// Block 3: the operand comes from a Conv that runs later: the later
	// Conv takes the Add instead.
	c3 := b.Node("Conv", []*ir.Value{r2, w}, pads)
	c4 := b.Node("Conv", []*ir.Value{r1, w, bias}, pads)
	a3 := b.Node("Add", []*ir.Value{c3, c4})
	// Block 4: a Conv whose output is also a graph output is not fused.
	c5 := b.Node("Conv", []*ir.Value{a3, w}, pads)
	a5 := b.Node("Add", []*ir.Value{c5, a3})
	b.Output(a5, c5)
	m := b.Model()
	if err := ir.Verify(m); err != nil {
		t.Fatal(err)
	}
	sess, err := NewSession(m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var residual []string
	for _, st := range sess.plan.steps {
		if ck, ok := st.k.(*convKernel); ok && ck.residual {
			residual = append(residual, st.node.Name)
		}
	}
	ix := m.Graph.BuildIndex()
	var want []string
	for _, v := range []*ir.Value{c1, c2, c4} {
		want = append(want, ix.Producer[v].Name)
	}
	if fmt.Sprint(residual) != fmt.Sprint(want) {
		t.Fatalf("convolutions absorbing an Add: %v, want %v", residual, want)
	}
	for it := 0; it < 3; it++ {
		in := map[string]*ir.Tensor{"x": randF32(rng, 2, 4, 6, 5)}
		got, err := sess.Run(in)
		if err != nil {
			t.Fatal(err)
		}
		ref := evalByNodes(t, m, in)
		for name, r := range ref {
			// The fused kernels accumulate onto the operand: the same sum in
			// another float32 order, so allow a few ulps of the terms.
			if msg := compareTensors(got[name], r, 1e-4, 1e-4); msg != "" {
				t.Fatalf("run %d, output %s: %s", it, name, msg)
			}
		}
	}
}

// TestRecycle checks that outputs given back with Recycle are reused by
// the next run (no fresh allocation for them), with correct results, and
// that tensors the session did not hand out are ignored.
func TestRecycle(t *testing.T) {
	b := testmodels.NewBuilder("g", 17)
	x := b.InputShape("x", ir.Float32, ir.Shape{ir.Sym("n")})
	b.Output(b.Node("Neg", []*ir.Value{b.Node("Relu", []*ir.Value{x})}))
	sess, err := NewSession(b.Model(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(3))
	in := randF32(rng, 1<<14)
	want := make([]float64, 1<<14)
	for i, v := range view[float32](in) {
		want[i] = -float64(max(v, 0))
	}
	name := sess.OutputNames()[0]
	out, err := sess.Run(map[string]*ir.Tensor{"x": in})
	if err != nil {
		t.Fatal(err)
	}
	first := dataPtr(out[name])
	sess.Recycle(map[string]*ir.Tensor{"foreign": randF32(rng, 1<<14)})
	sess.Recycle(out)
	for it := 0; it < 3; it++ {
		out, err = sess.Run(map[string]*ir.Tensor{"x": in})
		if err != nil {
			t.Fatal(err)
		}
		wantF32(t, out[name], dims(1<<14), want, 0)
		sess.Recycle(out)
	}
	// The recycled output buffer is the intermediate's or the output's
	// again: nothing new of that size was allocated.
	found := false
	for _, f := range sess.arena.free {
		if &f[0] == first {
			found = true
		}
	}
	if !found && dataPtr(out[name]) != first {
		t.Error("the recycled output's storage was not reused")
	}
	// A run without Recycle keeps its output: it is never handed out
	// again.
	kept, err := sess.Run(map[string]*ir.Tensor{"x": in})
	if err != nil {
		t.Fatal(err)
	}
	again, err := sess.Run(map[string]*ir.Tensor{"x": randF32(rng, 1<<14)})
	if err != nil {
		t.Fatal(err)
	}
	if dataPtr(again[name]) == dataPtr(kept[name]) {
		t.Error("an output not recycled was reused")
	}
	wantF32(t, kept[name], dims(1<<14), want, 0)
}
