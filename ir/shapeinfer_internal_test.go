package ir

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
)

func TestBroadcastDim(t *testing.T) {
	n, m, u := Sym("N"), Sym("M"), UnknownDim
	cases := []struct {
		a, b, want Dim
		err        bool
	}{
		{D(3), D(3), D(3), false},
		{D(1), D(4), D(4), false},
		{D(4), D(1), D(4), false},
		{D(3), D(4), u, true},
		{D(1), n, n, false},
		{n, D(1), n, false},
		{D(5), n, D(5), false}, // n must be 1 or 5
		{n, n, n, false},
		{n, m, u, false},
		{n, u, u, false},
		{D(0), D(1), D(0), false},
		{D(0), u, D(0), false},
	}
	for _, c := range cases {
		got, err := broadcastDim(c.a, c.b)
		if (err != nil) != c.err || (err == nil && got != c.want) {
			t.Errorf("broadcastDim(%s, %s) = %s, %v; want %s, error %v", c.a, c.b, got, err, c.want, c.err)
		}
	}
}

func TestMergeAndJoinDim(t *testing.T) {
	n, m, u := Sym("N"), Sym("M"), UnknownDim
	merges := []struct {
		a, b, want Dim
		ok         bool
	}{
		{D(2), D(2), D(2), true},
		{D(2), D(3), D(2), false},
		{n, D(3), D(3), true},
		{u, n, n, true},
		{n, m, n, true},
		{u, u, u, true},
	}
	for _, c := range merges {
		got, ok := mergeDim(c.a, c.b)
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("mergeDim(%s, %s) = %s, %v; want %s, %v", c.a, c.b, got, ok, c.want, c.ok)
		}
	}
	if joinDim(n, n) != n || joinDim(n, m) != u || joinDim(D(2), D(2)) != D(2) || joinDim(D(2), n) != u {
		t.Error("joinDim keeps only what both sides agree on")
	}
}

func TestDimProduct(t *testing.T) {
	n, h := Sym("N"), Sym("H")
	cases := []struct {
		num, den []Dim
		want     Dim
		known    bool
		exact    bool
	}{
		{[]Dim{n, D(3), D(4)}, []Dim{n}, D(12), true, true},
		{[]Dim{n, D(3), D(4)}, []Dim{D(12)}, n, true, true},
		{[]Dim{n, h, D(2)}, []Dim{D(2), h}, n, true, true},
		{[]Dim{n, D(3), D(4)}, []Dim{D(4)}, Sym("3*N"), true, true},
		{[]Dim{Sym("3*N"), D(4)}, []Dim{D(12)}, n, true, true},
		{[]Dim{Sym("B*T"), D(32)}, []Dim{Sym("T"), D(8)}, Sym("4*B"), true, true},
		{[]Dim{D(2), D(3)}, []Dim{D(4)}, UnknownDim, false, false},
		{[]Dim{n, D(3)}, []Dim{D(4)}, UnknownDim, false, true}, // 3N/4 may divide
		{[]Dim{UnknownDim, D(4)}, []Dim{D(4)}, UnknownDim, false, true},
		{[]Dim{D(0), n}, []Dim{D(5)}, D(0), true, true},
		{[]Dim{D(6)}, []Dim{h}, UnknownDim, false, true},
	}
	for _, c := range cases {
		got, known, exact := productOf(c.num).div(productOf(c.den))
		if got != c.want || known != c.known || exact != c.exact {
			t.Errorf("%v / %v = %s, %v, %v; want %s, %v, %v", c.num, c.den, got, known, exact, c.want, c.known, c.exact)
		}
	}
	if p := productOf([]Dim{D(math.MaxInt64), D(2)}); p.ok {
		t.Error("an overflowing product must not be known")
	}
}

func TestMulAddDim(t *testing.T) {
	n := Sym("N")
	if mulDim(D(1), n) != n || mulDim(n, D(1)) != n || mulDim(n, D(0)) != D(0) || mulDim(D(3), D(4)) != D(12) ||
		mulDim(n, D(2)) != Sym("2*N") || mulDim(Sym("T"), Sym("2*B")) != Sym("2*B*T") || mulDim(n, UnknownDim) != UnknownDim {
		t.Error("mulDim")
	}
	if mulDim(D(math.MaxInt64), D(3)) != UnknownDim {
		t.Error("mulDim must not overflow")
	}
	if addDim(n, 0) != n || addDim(D(3), 2) != D(5) || addDim(D(3), -4) != UnknownDim || addDim(n, 1) != UnknownDim {
		t.Error("addDim")
	}
	if addDim(D(math.MaxInt64), 1) != UnknownDim {
		t.Error("addDim must not overflow")
	}
}

func TestSliceLen(t *testing.T) {
	cases := []struct{ d, start, end, step, first, n int64 }{
		{10, 0, 10, 1, 0, 10},
		{10, 2, math.MaxInt64, 1, 2, 8},
		{10, -3, math.MaxInt64, 1, 7, 3},
		{10, 0, 10, 3, 0, 4},
		{10, -1, math.MinInt64, -1, 9, 10},
		{10, -1, -(1 << 62), -3, 9, 4},
		{10, 5, 2, 1, 5, 0},
		{10, 20, 30, 1, 10, 0},
		{0, 0, 1, 1, 0, 0},
		{10, 8, 2, -2, 8, 3},
	}
	for _, c := range cases {
		first, n := sliceLen(c.d, c.start, c.end, c.step)
		if n != c.n || (n > 0 && first != c.first) {
			t.Errorf("sliceLen(%d, %d, %d, %d) = %d, %d; want %d, %d", c.d, c.start, c.end, c.step, first, n, c.first, c.n)
		}
	}
}

func TestTrackedArithmetic(t *testing.T) {
	n, m, u := sval{sym: "N"}, sval{sym: "M"}, sval{}
	cases := []struct {
		op   string
		a, b sval
		want sval
	}{
		{"Add", kval(2), kval(3), kval(5)},
		{"Add", n, kval(0), n},
		{"Add", kval(0), n, n},
		{"Add", n, kval(1), u},
		{"Sub", n, kval(0), n},
		{"Sub", n, n, kval(0)},
		{"Sub", n, m, u},
		{"Mul", n, kval(1), n},
		{"Mul", kval(1), n, n},
		{"Mul", n, kval(0), kval(0)},
		{"Mul", kval(math.MaxInt64), kval(2), u},
		{"Mul", n, m, sval{sym: "M*N"}},
		{"Mul", kval(4), n, sval{sym: "4*N"}},
		{"Mul", kval(-1), n, u},
		{"Div", sval{sym: "4*N"}, kval(4), n},
		{"Div", sval{sym: "M*N"}, m, n},
		{"Div", n, kval(2), u},
		{"Div", kval(7), kval(2), kval(3)},
		{"Div", kval(-7), kval(2), u}, // signs differ: exporters disagree
		{"Div", kval(7), kval(0), u},
		{"Div", n, kval(1), n},
		{"Div", n, n, kval(1)},
		{"Add", fval(1.5), fval(2), fval(3.5)},
		{"Div", fval(1), fval(4), fval(0.25)},
	}
	for _, c := range cases {
		if got := arithVals(c.op, c.a, c.b); got != c.want {
			t.Errorf("%s(%s, %s) = %s, want %s", c.op, c.a, c.b, got, c.want)
		}
	}
	cmp := []struct {
		op   string
		a, b sval
		want sval
	}{
		{"Equal", kval(2), kval(2), kval(1)},
		{"Equal", n, n, kval(1)},
		{"Equal", n, kval(-1), kval(0)}, // a size is never -1
		{"Equal", n, kval(3), u},
		{"Less", n, n, kval(0)},
		{"GreaterOrEqual", kval(1), kval(2), kval(0)},
		{"Less", fval(0.5), fval(1), kval(1)},
	}
	for _, c := range cmp {
		if got := compareVals(c.op, c.a, c.b); got != c.want {
			t.Errorf("%s(%s, %s) = %s, want %s", c.op, c.a, c.b, got, c.want)
		}
	}
	if got := minMaxVals("Max", kval(2), kval(5)); got != kval(5) {
		t.Errorf("Max = %s", got)
	}
	if got := minMaxVals("Min", n, n); got != n {
		t.Errorf("Min(N, N) = %s", got)
	}
}

func TestOpTable(t *testing.T) {
	for _, name := range []string{"Add", "Conv", "Loop", "Resize", "ReduceMean", "Split", "QLinearConv", "Gelu"} {
		if LookupSchema("", name) == nil || LookupSchema("ai.onnx", name) == nil {
			t.Errorf("no schema for %s", name)
		}
	}
	if LookupSchema("com.microsoft", "Conv") != nil {
		t.Error("schemas are for the default domain only")
	}
	s := LookupSchema("", "Resize")
	if s.MinIn != 1 || s.MaxIn != 4 || s.Attrs["axes"] != AttrInts || s.Attrs["mode"] != AttrString {
		t.Errorf("Resize schema = %+v", s)
	}
	if s := LookupSchema("", "Concat"); s.MinIn != 1 || s.MaxIn != -1 {
		t.Errorf("Concat arity %d-%d", s.MinIn, s.MaxIn)
	}
	for _, bad := range []string{"X", "X 1-", "X 1 1 a:nokind", "X a 1"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("registerTable(%q) accepted a malformed row", bad)
				}
			}()
			registerTable(bad)
		}()
	}
}

// TestInferNeverPanics feeds every operator with inference random input
// types, constants and attributes (of the schema's kinds, with hostile
// values) and checks that inference answers with types or errors, never
// with a panic (which InferShapes would report as an internal error).
func TestInferNeverPanics(t *testing.T) {
	names := make([]string, 0, len(inferFns))
	for name := range inferFns {
		names = append(names, name)
	}
	sort.Strings(names)
	iters := 300
	if testing.Short() {
		iters = 30
	}
	for _, name := range names {
		r := rand.New(rand.NewPCG(1, uint64(len(name))*7919+uint64(name[0])))
		for i := range iters {
			if msg := randomInference(r, name); msg != "" {
				t.Errorf("%s, case %d: %s", name, i, msg)
				break
			}
		}
	}
}

// FuzzInferShapes explores the same space from fuzzer-chosen seeds.
func FuzzInferShapes(f *testing.F) {
	f.Add(uint64(1), uint8(0))
	f.Add(uint64(42), uint8(17))
	names := make([]string, 0, len(inferFns))
	for name := range inferFns {
		names = append(names, name)
	}
	sort.Strings(names)
	f.Fuzz(func(t *testing.T, seed uint64, op uint8) {
		r := rand.New(rand.NewPCG(seed, uint64(op)))
		if msg := randomInference(r, names[int(op)%len(names)]); msg != "" {
			t.Fatal(msg)
		}
	})
}

var (
	hostileInts   = []int64{-3, -2, -1, 0, 1, 2, 3, 4, 7, 1 << 40, math.MaxInt64, math.MinInt64, math.MaxInt32}
	hostileFloats = []float32{-1, 0, 0.5, 1, 2, float32(math.NaN()), float32(math.Inf(1)), 1e30}
	hostileStrs   = []string{"", "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID", "none", "mean", "sum", "bidirectional",
		"forward", "not_larger", "not_smaller", "stretch", "ij,jk->ik", "...ii->...i", "i,i", "ab->c", "a...b...", "->", "tanh", "abc"}
	randDTypes = []DType{Float32, Int64, Int32, Bool, Uint8, Int8, Float16, String, Float64}
)

func randomDim(r *rand.Rand) Dim {
	switch r.IntN(6) {
	case 0:
		return Sym("N")
	case 1:
		return Sym("M")
	case 2:
		return UnknownDim
	}
	return D([]int64{0, 1, 2, 3, 4, 7}[r.IntN(6)])
}

func randomType(r *rand.Rand) *Type {
	switch r.IntN(10) {
	case 0:
		return nil
	case 1:
		return &Type{Kind: KindTensor, DType: randDTypes[r.IntN(len(randDTypes))]}
	case 2:
		return &Type{Kind: KindSequence, Elem: TensorType(Float32, 2)}
	case 3:
		return &Type{Kind: KindOptional, Elem: TensorType(Float32, 2)}
	}
	s := make(Shape, r.IntN(6))
	for i := range s {
		s[i] = randomDim(r)
	}
	return &Type{Kind: KindTensor, DType: randDTypes[r.IntN(len(randDTypes))], HasShape: true, Shape: s}
}

func randomConst(r *rand.Rand) *Tensor {
	dims := []int64{}
	if r.IntN(3) > 0 {
		dims = []int64{int64(r.IntN(6))}
	}
	n := NumElements(dims)
	switch r.IntN(3) {
	case 0:
		vals := make([]float32, n)
		for i := range vals {
			vals[i] = hostileFloats[r.IntN(len(hostileFloats))]
		}
		return FromFloat32(dims, vals)
	case 1:
		t := NewTensor(Bool, dims...)
		for i := range t.Data {
			t.Data[i] = byte(r.IntN(2))
		}
		return t
	}
	vals := make([]int64, n)
	for i := range vals {
		vals[i] = hostileInts[r.IntN(len(hostileInts))]
	}
	return FromInt64(dims, vals)
}

func randomAttr(r *rand.Rand, name string, kind AttrType, depth int) *Attribute {
	a := &Attribute{Name: name, Type: kind}
	switch kind {
	case AttrInt:
		a.I = hostileInts[r.IntN(len(hostileInts))]
		if name == "to" || name == "dtype" || name == "output_datatype" || name == "stash_type" || name == "output_dtype" {
			a.I = int64(r.IntN(25))
		}
	case AttrInts:
		a.Ints = make([]int64, r.IntN(7))
		for i := range a.Ints {
			a.Ints[i] = hostileInts[r.IntN(len(hostileInts))]
		}
	case AttrFloat:
		a.F = hostileFloats[r.IntN(len(hostileFloats))]
	case AttrFloats:
		a.Floats = make([]float32, r.IntN(5))
		for i := range a.Floats {
			a.Floats[i] = hostileFloats[r.IntN(len(hostileFloats))]
		}
	case AttrString:
		a.S = []byte(hostileStrs[r.IntN(len(hostileStrs))])
	case AttrStrings:
		a.Strings = [][]byte{[]byte("a"), []byte("b")}[:r.IntN(3)]
	case AttrTensor:
		a.T = randomConst(r)
	case AttrGraph:
		a.G = randomGraph(r, depth)
	default:
		return nil
	}
	return a
}

// randomGraph is a body of random inputs and outputs, some computed by a
// random node.
func randomGraph(r *rand.Rand, depth int) *Graph {
	g := &Graph{Name: "body"}
	for i := range r.IntN(5) {
		g.Inputs = append(g.Inputs, &Value{Name: fmt.Sprintf("in%d", i), Type: randomType(r)})
	}
	pool := append([]*Value{}, g.Inputs...)
	if depth < 2 && r.IntN(2) == 0 {
		ops := []string{"Relu", "Add", "Concat", "Identity", "Loop", "If", "Shape"}
		n, _ := randomNode(r, ops[r.IntN(len(ops))], pool, depth+1)
		g.Nodes = append(g.Nodes, n)
		pool = append(pool, n.Outputs...)
	}
	for range r.IntN(5) {
		if len(pool) > 0 && r.IntN(3) > 0 {
			g.Outputs = append(g.Outputs, pool[r.IntN(len(pool))])
		} else {
			g.Outputs = append(g.Outputs, &Value{Name: "o", Type: randomType(r)})
		}
	}
	return g
}

// randomNode builds a node of op over inputs drawn from pool, fresh
// values and constants.
func randomNode(r *rand.Rand, op string, pool []*Value, depth int) (*Node, []*Value) {
	s := schemas[op]
	nin := s.MinIn + r.IntN(3)
	if s.MaxIn >= 0 {
		nin = s.MinIn + r.IntN(s.MaxIn-s.MinIn+1)
	}
	n := &Node{Name: "fuzz", OpType: op}
	var fresh []*Value
	for i := range nin {
		var v *Value
		switch k := r.IntN(10); {
		case k == 0 && i >= s.MinIn:
		case k < 4 && len(pool) > 0:
			v = pool[r.IntN(len(pool))]
		case k < 7:
			v = &Value{Name: fmt.Sprintf("c%d", i), Const: randomConst(r)}
		default:
			v = &Value{Name: fmt.Sprintf("x%d", i), Type: randomType(r)}
		}
		if v != nil && v.Const == nil && !contains(pool, v) {
			fresh = append(fresh, v)
		}
		n.Inputs = append(n.Inputs, v)
	}
	nout := s.MinOut + r.IntN(3)
	if s.MaxOut >= 0 {
		nout = min(s.MinOut+r.IntN(s.MaxOut-s.MinOut+1), 5)
	}
	for i := range nout {
		n.Outputs = append(n.Outputs, &Value{Name: fmt.Sprintf("%s_o%d", op, i)})
	}
	attrNames := make([]string, 0, len(s.Attrs))
	for a := range s.Attrs {
		attrNames = append(attrNames, a)
	}
	sort.Strings(attrNames)
	for _, a := range attrNames {
		if r.IntN(2) == 0 {
			if at := randomAttr(r, a, s.Attrs[a], depth); at != nil {
				n.Attrs = append(n.Attrs, at)
			}
		}
	}
	return n, fresh
}

func contains(vs []*Value, v *Value) bool {
	for _, w := range vs {
		if w == v {
			return true
		}
	}
	return false
}

// randomInference runs InferNode on a random node of op, then
// InferShapes on a random chain ending in one; it returns a description
// of any panic.
func randomInference(r *rand.Rand, op string) (msg string) {
	opset := int64(7 + r.IntN(15))
	n, _ := randomNode(r, op, nil, 0)
	defer func() {
		if p := recover(); p != nil {
			msg = fmt.Sprintf("panic: %v", p)
		}
	}()
	if _, err := InferNode(n, opset); err != nil && strings.Contains(err.Error(), "internal error") {
		return describe(n, err)
	}
	// A chain: Shape of a random input, then the op over a pool that
	// includes tracked values, so value tracking meets hostile data.
	g := &Graph{}
	x := &Value{Name: "x", Type: randomType(r)}
	g.Inputs = []*Value{x}
	sh := &Node{Name: "shape", OpType: "Shape", Inputs: []*Value{x}, Outputs: []*Value{{Name: "shp"}}}
	g.Nodes = append(g.Nodes, sh)
	pool := []*Value{x, sh.Outputs[0]}
	for range 3 {
		n, fresh := randomNode(r, op, pool, 0)
		g.Inputs = append(g.Inputs, fresh...)
		g.Nodes = append(g.Nodes, n)
		pool = append(pool, n.Outputs...)
	}
	m := &Model{Opsets: []OpsetImport{{Version: opset}}, Graph: g}
	if err := InferShapes(m); err != nil && strings.Contains(err.Error(), "internal error") {
		return describe(g.Nodes[len(g.Nodes)-1], err)
	}
	return ""
}

func describe(n *Node, err error) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v\n  inputs:", err)
	for _, v := range n.Inputs {
		switch {
		case v == nil:
			b.WriteString(" <omitted>")
		case v.Const != nil:
			fmt.Fprintf(&b, " const %s%v", v.Const.DType, v.Const.Dims)
			if v.Const.DType == Int64 {
				fmt.Fprintf(&b, "=%v", v.Const.Int64s())
			}
		default:
			fmt.Fprintf(&b, " %s", v.Type)
		}
	}
	b.WriteString("\n  attrs:")
	for _, a := range n.Attrs {
		fmt.Fprintf(&b, " %s=%v%v%q%v%g", a.Name, a.I, a.Ints, a.S, a.Floats, a.F)
	}
	return b.String()
}
