package gosrc

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"go/format"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/nncc/nncc/ir"
)

// Options control generation.
type Options struct {
	// Package is the Go package name (a valid identifier).
	Package string
	// Shapes binds input shapes by input name; Syms binds symbolic dims
	// by name. An unbound leading dim stays symbolic: Run infers the
	// batch from the input length.
	Shapes map[string][]int64
	Syms   map[string]int64
	// Source names the model in the generated comments (a base name).
	Source string
}

// Files of a generated package.
const (
	ModelFile   = "model.go"
	WeightsFile = "weights.bin"
)

// Generate turns m into the files of one Go package: model.go and the
// weights it embeds. m is not modified.
func Generate(m *ir.Model, opts Options) (map[string][]byte, error) {
	if !isIdent(opts.Package) {
		return nil, fmt.Errorf("gosrc: package name %q is not a Go identifier", opts.Package)
	}
	lm, q := lowerQOps(m)
	a, err := analyze(lm, opts)
	if err != nil {
		return nil, err
	}
	a.poolBytes()
	a.gapBytes()
	a.splitToSlices()
	gn := &gen{a: a, opts: opts, wOff: map[string]int{}, wbOff: map[string]int{}, scratch: map[*group]*storage{}, helpers: map[string]bool{}, q: q}
	// an integer kernel reading a computed zero point is one more reader
	for _, n := range a.nodes {
		if qi := q[n]; qi != nil && qi.xZeroV != nil {
			a.vals[qi.xZeroV].uses = append(a.vals[qi.xZeroV].uses, n)
		}
	}
	gn.groups = a.groups()
	if err := gn.check(); err != nil {
		return nil, err
	}
	gn.makePlan()
	for _, g := range gn.groups {
		if err := gn.emitGroup(g); err != nil {
			return nil, err
		}
	}
	// 8-bit outputs come back as float32 values of their integers
	gn.outConv = map[int]string{}
	for i, v := range a.g.Outputs {
		if gn.isByte(v) {
			in := a.vals[v]
			f := gn.field("out", "[]float32")
			fmt.Fprintf(&gn.prep, "m.%s = make([]float32, %s)\n", f, gn.sz(in.size(), in.scaled))
			conv := "float32(v)"
			if gn.byteSigned(v) {
				conv = "float32(int8(v))"
			}
			gn.pr("for i, v := range %s {\nm.%s[i] = %s\n}\n", gn.buf(v), f, conv)
			gn.outConv[i] = "m." + f
		}
	}
	src, err := gn.file()
	if err != nil {
		return nil, err
	}
	return map[string][]byte{ModelFile: src, WeightsFile: append(f32bytes(gn.w), gn.wb...)}, nil
}

// gen holds the state of one generation.
type gen struct {
	a       *analysis
	opts    Options
	groups  []*group
	plan    *plan
	scratch map[*group]*storage

	w     []float32      // float32 weights
	wOff  map[string]int // dedup of weights by content key
	wb    []byte         // 8-bit weights and int32 biases, after the float32 ones
	wbOff map[string]int

	fields  []string // Model struct fields
	once    bytes.Buffer
	prep    bytes.Buffer
	decls   bytes.Buffer
	run     bytes.Buffer
	helpers map[string]bool
	nfield  int
	q       map[*ir.Node]*qinfo // lowered integer Conv/MatMul run on the 8-bit kernels
	ewSlots int                 // temporaries of the vectorised element-wise blocks
	ewBytes bool                // a byte block for QuantizeLinear
	curBuf  string              // where an anchor left its float32 result, when not in the group's output
	outConv map[int]string      // float32 copies of 8-bit graph outputs, by output index
}

// check reports the first node the back end cannot generate.
func (gn *gen) check() error {
	for _, g := range gn.groups {
		for _, n := range gn.nodesOf(g) {
			if !supported[n.OpType] {
				return unsupported(n, "no code generator for %s", n.OpType)
			}
			for _, o := range n.Outputs {
				if o == nil || o.Name == "" || o != n.Outputs[0] && len(gn.a.vals[o].uses) == 0 && !gn.a.vals[o].output {
					continue
				}
				if o != n.Outputs[0] {
					return unsupported(n, "only the first output may be used")
				}
			}
		}
	}
	for _, v := range gn.a.g.Outputs {
		if gn.a.vals[v].isStatic() {
			return fmt.Errorf("gosrc: output %q is a constant; nothing to generate for it", v.Name)
		}
	}
	return nil
}

var supported = map[string]bool{}

func init() {
	for k := range ewOps {
		supported[k] = true
	}
	for k := range viewOps {
		supported[k] = true
	}
	for _, k := range []string{"Conv", "Gemm", "MatMul", "MaxPool", "AveragePool", "GlobalAveragePool",
		"GlobalMaxPool", "QGlobalAveragePool", "Softmax", "Transpose", "Concat", "Slice", "Pad", "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "Resize", "Upsample", "ConvTranspose"} {
		supported[k] = true
	}
}

// field declares a Model field and returns its name.
func (gn *gen) field(prefix, typ string) string {
	name := fmt.Sprintf("%s%d", prefix, gn.nfield)
	gn.nfield++
	gn.fields = append(gn.fields, name+" "+typ)
	return name
}

// weights appends data to the weights (deduplicated) and returns its
// offset.
func (gn *gen) weights(data []float32) int {
	key := string(f32bytes(data))
	if off, ok := gn.wOff[key]; ok {
		return off
	}
	for len(gn.w)%align != 0 {
		gn.w = append(gn.w, 0)
	}
	off := len(gn.w)
	gn.w = append(gn.w, data...)
	gn.wOff[key] = off
	return off
}

func f32bytes(d []float32) []byte {
	b := make([]byte, 4*len(d))
	for i, f := range d {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return b
}

// byteWeights appends data to the byte section of the weights
// (deduplicated, 64-byte aligned) and returns its offset there.
func (gn *gen) byteWeights(data []byte) int {
	key := string(data)
	if off, ok := gn.wbOff[key]; ok {
		return off
	}
	for len(gn.wb)%64 != 0 {
		gn.wb = append(gn.wb, 0)
	}
	off := len(gn.wb)
	gn.wb = append(gn.wb, data...)
	gn.wbOff[key] = off
	return off
}

// int32Field declares a []int32 field filled in New from the byte
// section of the weights, and returns its name.
func (gn *gen) int32Field(prefix string, vals []int32) string {
	b := make([]byte, 4*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint32(b[4*i:], uint32(v))
	}
	off := gn.byteWeights(b)
	f := gn.field(prefix, "[]int32")
	fmt.Fprintf(&gn.once, "m.%s = make([]int32, %d)\nfor i := range m.%s {\nm.%s[i] = int32(binary.LittleEndian.Uint32(m.wb[%d+4*i:]))\n}\n", f, len(vals), f, f, off)
	return f
}

// wslice is the expression of a weights slice.
func wslice(off, n int) string { return fmt.Sprintf("w[%d:%d]", off, off+n) }

// constF32 returns a static value's data as float32.
func (gn *gen) constF32(n *ir.Node, v *ir.Value) ([]float32, error) {
	in := gn.a.vals[v]
	if in == nil || in.static == nil {
		return nil, unsupported(n, "operand %q must be constant", v.Name)
	}
	if in.shapeOnly {
		return nil, unsupported(n, "operand %q depends on the batch size; bind the batch with --shape", v.Name)
	}
	t := in.static
	switch {
	case t.DType == ir.Float32:
		return t.Float32s(), nil
	case t.DType == ir.String:
		return nil, unsupported(n, "string operand %q", v.Name)
	}
	f := t.Float64s()
	out := make([]float32, len(f))
	for i, x := range f {
		out[i] = float32(x)
	}
	return out, nil
}

// sz is the Go expression of a count that is per sample when scaled.
func (gn *gen) sz(count int64, scaled bool) string {
	if !scaled {
		return strconv.FormatInt(count, 10)
	}
	if count == 1 {
		return "n"
	}
	return fmt.Sprintf("n*%d", count)
}

// buf is the slice expression holding value v.
func (gn *gen) buf(v *ir.Value) string {
	in := gn.a.vals[v]
	s := gn.plan.of[v]
	if s == nil {
		panic("gosrc: no storage for " + v.Name)
	}
	if s.input >= 0 {
		return fmt.Sprintf("in%d", s.input)
	}
	return gn.storageExpr(s, in.size(), in.scaled)
}

func (gn *gen) storageExpr(s *storage, size int64, scaled bool) string {
	arena, fixed := "a", gn.plan.fixed
	if s.bytes {
		arena, fixed = "b", gn.plan.bfixed
	}
	var off string
	if s.scaled {
		off = fmt.Sprintf("%d+n*%d", fixed, s.off)
		if fixed == 0 {
			off = fmt.Sprintf("n*%d", s.off)
		}
		if s.off == 0 {
			off = strconv.FormatInt(fixed, 10)
		}
	} else {
		off = strconv.FormatInt(s.off, 10)
	}
	return fmt.Sprintf("%s[%s:][:%s]", arena, off, gn.sz(size, scaled))
}

// flit formats a float32 literal.
func flit(f float32) string {
	switch {
	case math.IsInf(float64(f), 1):
		return "float32(math.Inf(1))"
	case math.IsInf(float64(f), -1):
		return "float32(math.Inf(-1))"
	case math.IsNaN(float64(f)):
		return "float32(math.NaN())"
	}
	s := strconv.FormatFloat(float64(f), 'g', -1, 32)
	if !strings.ContainsAny(s, ".eE") {
		s += ".0"
	}
	if f < 0 || s[0] == '-' {
		return "(" + s + ")"
	}
	return s
}

// safeText makes a name from the model safe inside a generated comment
// or string literal: printable ASCII other than quotes, backslashes and
// percent signs is kept, anything else becomes '_', and it is cut at 80
// bytes.
func safeText(s string) string {
	b := []byte(s)
	if len(b) > 80 {
		b = append(b[:77], "..."...)
	}
	for i, c := range b {
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '%' || c == '`' {
			b[i] = '_'
		}
	}
	return string(b)
}

func isIdent(s string) bool {
	if s == "" || s == "_" {
		return false
	}
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return !goKeywords[s]
}

var goKeywords = map[string]bool{"break": true, "case": true, "chan": true, "const": true, "continue": true,
	"default": true, "defer": true, "else": true, "fallthrough": true, "for": true, "func": true, "go": true,
	"goto": true, "if": true, "import": true, "interface": true, "map": true, "package": true, "range": true,
	"return": true, "select": true, "struct": true, "switch": true, "type": true, "var": true}

// PackageName turns a directory base name into a valid package name:
// lower case, letters, digits and underscores, not starting with a digit.
func PackageName(base string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(base) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_':
			b.WriteRune(r)
		default:
			b.WriteRune('_')
		}
	}
	s := strings.Trim(b.String(), "_")
	if s == "" {
		s = "model"
	}
	if s[0] >= '0' && s[0] <= '9' {
		s = "m" + s
	}
	if goKeywords[s] {
		s += "_"
	}
	return s
}

// file assembles and formats model.go.
func (gn *gen) file() ([]byte, error) {
	a := gn.a
	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	src := safeText(gn.opts.Source)
	if src == "" {
		src = "an ONNX model"
	}
	p("// Code generated by nncc. DO NOT EDIT.\n\n")
	p("// Package %s runs %s, compiled by nncc's Go back end: shapes resolved,\n", gn.opts.Package, src)
	p("// memory planned and element-wise chains fused at generation time.\n")
	p("//\n// New builds a Model; Run computes the outputs. A Model is not safe for\n")
	p("// concurrent use: give each goroutine its own (New is cheap next to a\n// run, and the weights are shared read-only).\n")
	p("package %s\n\n", gn.opts.Package)
	p("import (\n_ \"embed\"\n\"encoding/binary\"\n\"errors\"\n\"fmt\"\n\"math\"\n\n\"github.com/nncc/nncc/kernels\"\n)\n\n")
	p("//go:embed %s\nvar weightsData string\n\n", WeightsFile)
	p("var (\n_ = math.Inf\n_ = errors.New\n_ kernels.Fused\n)\n\n")
	// names and shapes
	var inNames, outNames, inShapes, outShapes []string
	for _, v := range a.inputs {
		inNames = append(inNames, strconv.Quote(v.Name))
		inShapes = append(inShapes, gn.shapeLit(a.vals[v]))
	}
	for _, v := range a.g.Outputs {
		outNames = append(outNames, strconv.Quote(v.Name))
		outShapes = append(outShapes, gn.shapeLit(a.vals[v]))
	}
	p("var (\ninputNames = []string{%s}\noutputNames = []string{%s}\n", strings.Join(inNames, ", "), strings.Join(outNames, ", "))
	p("inputShapes = [][]int{%s}\noutputShapes = [][]int{%s}\n)\n\n", strings.Join(inShapes, ", "), strings.Join(outShapes, ", "))
	p("// InputNames returns the names of the inputs, in the order Run takes them.\n")
	p("func (m *Model) InputNames() []string { return append([]string(nil), inputNames...) }\n\n")
	p("// OutputNames returns the names of the outputs, in the order Run returns them.\n")
	p("func (m *Model) OutputNames() []string { return append([]string(nil), outputNames...) }\n\n")
	p("// InputShapes returns the input shapes; -1 marks the symbolic batch dim,\n// which Run infers from the input lengths.\n")
	p("func (m *Model) InputShapes() [][]int { return cloneShapes(inputShapes) }\n\n")
	p("// OutputShapes returns the output shapes; -1 marks the batch dim.\n")
	p("func (m *Model) OutputShapes() [][]int { return cloneShapes(outputShapes) }\n\n")
	p("func cloneShapes(s [][]int) [][]int {\nc := make([][]int, len(s))\nfor i, d := range s {\nc[i] = append([]int(nil), d...)\n}\nreturn c\n}\n\n")
	// model struct
	p("// Model holds the weights, the packed kernels and the arena of one\n// instance. Its zero value is not usable: call New.\n")
	hasWB, hasB := len(gn.wb) > 0, gn.plan.bfixed+gn.plan.bper > 0
	p("type Model struct {\nw []float32\n")
	if hasWB {
		p("wb []byte // 8-bit weights and int32 biases\n")
	}
	p("a []float32\n")
	if hasB {
		p("b []byte // 8-bit values\n")
	}
	p("n int\nouts [][]float32\n")
	if gn.ewSlots > 0 {
		p("ew []float32 // temporaries of the element-wise blocks\n")
	}
	if gn.ewBytes {
		p("ewb []byte // quantized block\n")
	}
	for _, f := range gn.fields {
		p("%s\n", f)
	}
	p("}\n\n")
	bound := 1
	p("// New decodes the weights, packs them for the kernels and allocates\n// the arena for a batch of %d.\n", bound)
	p("func New() *Model {\nm := &Model{outs: make([][]float32, %d)}\n", len(a.g.Outputs))
	p("m.w = make([]float32, %d)\n", len(gn.w))
	if hasWB {
		p("m.wb = []byte(weightsData[%d:])\n", 4*len(gn.w))
	}
	p("for i := range m.w {\nm.w[i] = math.Float32frombits(binary.LittleEndian.Uint32([]byte(weightsData[4*i : 4*i+4])))\n}\n")
	p("w := m.w\n_ = w\n")
	if gn.ewSlots > 0 {
		p("m.ew = make([]float32, %d)\n", gn.ewSlots*ewBlock)
	}
	if gn.ewBytes {
		p("m.ewb = make([]byte, %d)\n", ewBlock)
	}
	b.Write(gn.once.Bytes())
	p("m.prepare(%d)\nreturn m\n}\n\n", bound)
	p("// prepare sizes the arena and packs batch-dependent kernels for n samples.\n")
	p("func (m *Model) prepare(n int) {\nm.n = n\nw := m.w\n_ = w\n")
	if a.symbolic {
		p("m.a = make([]float32, %d+n*%d)\n", gn.plan.fixed, gn.plan.per)
		if hasB {
			p("m.b = make([]byte, %d+n*%d)\n", gn.plan.bfixed, gn.plan.bper)
		}
	} else {
		p("m.a = make([]float32, %d)\n", gn.plan.fixed+gn.plan.per)
		if hasB {
			p("m.b = make([]byte, %d)\n", gn.plan.bfixed+gn.plan.bper)
		}
	}
	b.Write(gn.prep.Bytes())
	p("}\n\n")
	// Run
	p("// Run computes the outputs for one set of inputs, given in the order of\n")
	p("// InputNames as flat row-major float32 slices (integer inputs hold their\n// values as float32). ")
	if a.symbolic {
		p("The batch (leading dim) is inferred from the\n// input lengths; a new batch size re-prepares the arena once.\n")
	} else {
		p("The shapes are fixed: see InputShapes.\n")
	}
	p("// The outputs alias the Model's arena: they are valid until the next\n// Run. Run does not allocate once the batch size is prepared.\n")
	p("func (m *Model) Run(inputs ...[]float32) ([][]float32, error) {\n")
	p("if len(inputs) != %d {\nreturn nil, fmt.Errorf(\"%s: Run takes %d input(s), got %%d\", len(inputs))\n}\n", len(a.inputs), gn.opts.Package, len(a.inputs))
	if a.symbolic {
		per := a.vals[a.inputs[0]].size()
		p("n := len(inputs[0]) / %d\n", per)
		p("if n < 1 {\nreturn nil, errors.New(\"%s: empty input\")\n}\n", gn.opts.Package)
	}
	for i, v := range a.inputs {
		in := a.vals[v]
		p("if len(inputs[%d]) != %s {\nreturn nil, fmt.Errorf(\"%s: input %d (%s) has %%d elements, want %s\", len(inputs[%d]))\n}\n",
			i, gn.sz(in.size(), in.scaled), gn.opts.Package, i, safeText(v.Name), strings.ReplaceAll(gn.sz(in.size(), in.scaled), "n*", "batch×"), i)
		p("in%d := inputs[%d]\n_ = in%d\n", i, i, i)
	}
	if a.symbolic {
		p("if n != m.n {\nm.prepare(n)\n}\n")
	}
	if hasB {
		p("a, b, w := m.a, m.b, m.w\n_, _, _ = a, b, w\n")
	} else {
		p("a, w := m.a, m.w\n_, _ = a, w\n")
	}
	b.Write(gn.run.Bytes())
	for i, v := range a.g.Outputs {
		if f := gn.outConv[i]; f != "" {
			p("m.outs[%d] = %s\n", i, f)
			continue
		}
		p("m.outs[%d] = %s\n", i, gn.buf(v))
	}
	p("return m.outs, nil\n}\n")
	b.Write(gn.decls.Bytes())
	// helpers
	var hs []string
	for h := range gn.helpers {
		hs = append(hs, h)
	}
	sort.Strings(hs)
	for _, h := range hs {
		b.WriteString("\n" + helperSrc[h] + "\n")
	}
	out, err := format.Source(b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("gosrc: internal error: generated code does not parse: %w\n%s", err, b.Bytes())
	}
	return out, nil
}

func (gn *gen) shapeLit(in *info) string {
	var ds []string
	for i, d := range in.dims {
		if i == 0 && in.scaled {
			if d != 1 {
				ds = append(ds, fmt.Sprintf("-%d", d))
			} else {
				ds = append(ds, "-1")
			}
			continue
		}
		ds = append(ds, strconv.FormatInt(d, 10))
	}
	return "[]int{" + strings.Join(ds, ", ") + "}"
}

var helperSrc = map[string]string{
	"sigmoid":   "func sigmoid(x float32) float32 { return float32(1 / (1 + math.Exp(-float64(x)))) }",
	"tanh":      "func tanh(x float32) float32 { return float32(math.Tanh(float64(x))) }",
	"erf":       "func erf(x float32) float32 { return float32(math.Erf(float64(x))) }",
	"exp":       "func exp(x float32) float32 { return float32(math.Exp(float64(x))) }",
	"log":       "func log(x float32) float32 { return float32(math.Log(float64(x))) }",
	"sqrt":      "func sqrt(x float32) float32 { return float32(math.Sqrt(float64(x))) }",
	"pow":       "func pow(x, y float32) float32 { return float32(math.Pow(float64(x), float64(y))) }",
	"abs":       "func abs(x float32) float32 { return float32(math.Abs(float64(x))) }",
	"roundeven": "func roundeven(x float32) float32 { return float32(math.RoundToEven(float64(x))) }",
	"floor":     "func floor(x float32) float32 { return float32(math.Floor(float64(x))) }",
	"ceil":      "func ceil(x float32) float32 { return float32(math.Ceil(float64(x))) }",
	"softplus":  "func softplus(x float32) float32 { return float32(math.Log1p(math.Exp(float64(x)))) }",
	"elu":       "func elu(x, alpha float32) float32 {\nif x >= 0 {\nreturn x\n}\nreturn alpha * float32(math.Expm1(float64(x)))\n}",
	"leaky":     "func leaky(x, alpha float32) float32 {\nif x < 0 {\nreturn alpha * x\n}\nreturn x\n}",
	"quant":     "// quant rounds x half to even, adds the zero point and saturates to\n// [lo, hi]. For 8- and 16-bit ranges it rounds in float32 by adding and\n// subtracting 1.5·2^23 (exact for |x| ≤ 2^22, beyond which the result\n// saturates anyway).\nfunc quant(x, zp, lo, hi float32) float32 {\nif hi-lo > 65536 {\nreturn min(max(float32(math.RoundToEven(float64(x)))+zp, lo), hi)\n}\nconst magic = 12582912\nx = min(max(x, -4194304), 4194304)\nreturn min(max((x+magic)-magic+zp, lo), hi)\n}",
	"softmax":   "func softmax(y, x []float32) {\nm := x[0]\nfor _, v := range x {\nm = max(m, v)\n}\nvar s float32\nfor i, v := range x {\ne := float32(math.Exp(float64(v - m)))\ny[i] = e\ns += e\n}\nfor i := range y {\ny[i] /= s\n}\n}",
	"prelu":     "func prelu(x, s float32) float32 {\nif x < 0 {\nreturn s * x\n}\nreturn x\n}",
}
