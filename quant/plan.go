package quant

import (
	"fmt"
	"slices"

	"github.com/nncc/nncc/ir"
)

// Modes and formats.
const (
	Static  = "static"
	Dynamic = "dynamic"
	QDQ     = "qdq"
	QOp     = "qop"
)

// Config says what to quantize and how.
type Config struct {
	Mode   string // Static (default) or Dynamic
	Format string // QDQ (default) or QOp
	// PerChannel gives each output channel of a weight its own scale.
	PerChannel bool
	// Activations is Uint8 or Int8 (default Uint8).
	Activations ir.DType
	// Ops are the op types to quantize; nil means DefaultOps(Mode).
	Ops []string
	// ReduceRange keeps weights in 7 bits ([-63, 63]) so that u8·s8
	// products of pairs cannot saturate int16 on CPUs without VNNI (as
	// onnxruntime's reduce_range).
	ReduceRange bool
	// Exclude holds layer IDs (node names; "→output" for unnamed nodes)
	// to leave in float.
	Exclude map[string]bool
}

func (c Config) weightMax() int {
	if c.ReduceRange {
		return 63
	}
	return 127
}

// DefaultOps returns the op types quantized unless Config.Ops says
// otherwise: the weighted ops (static: Conv, ConvTranspose, Gemm,
// MatMul; dynamic: Gemm, MatMul).
func DefaultOps(mode string) []string {
	if mode == Dynamic {
		return []string{"Gemm", "MatMul"}
	}
	return []string{"Conv", "ConvTranspose", "Gemm", "MatMul"}
}

// StaticOps are the op types static quantization knows how to quantize
// (the rules table); layout ops pass int8 through on their own.
func StaticOps() []string {
	ops := make([]string, 0, len(rules))
	for k := range rules {
		ops = append(ops, k)
	}
	slices.Sort(ops)
	return ops
}

// layoutOps move or select elements without computing new values, so a
// quantized input gives a quantized output with the same scale and zero
// point: the output gets a Q/DQ pair with the input's parameters, which
// loses nothing and lets an int8 runtime keep the tensor in int8.
var layoutOps = map[string]bool{
	"Reshape": true, "Transpose": true, "Flatten": true, "Squeeze": true, "Unsqueeze": true,
	"MaxPool": true, "Identity": true, "Slice": true, "Gather": true, "Expand": true,
	"SpaceToDepth": true, "DepthToSpace": true, "Tile": true,
}

// Layer is a node the plan quantizes.
type Layer struct {
	// ID is the node's name, or "→" and its first output's name when
	// the node has none: stable across Clone, unique in the graph.
	ID     string
	OpType string
	Node   *ir.Node
	// Graph is the graph holding Node (a subgraph in dynamic mode, which
	// also quantizes If/Loop/Scan bodies).
	Graph *ir.Graph
	// Acts are the activation inputs quantized (Q/DQ pairs).
	Acts []*ir.Value
	// Weight is the constant weight input, or nil; WeightAxis its
	// per-channel axis (−1: one scale for the tensor).
	Weight     *ir.Value
	WeightIdx  int
	WeightAxis int
	// Bias is the constant bias quantized to int32 (nil: none, or left
	// in float).
	Bias    *ir.Value
	BiasIdx int
	// Out is the activation output quantized: the node's output, or the
	// output of the Relu/Clip that alone reads it.
	Out *ir.Value
	// Raw is the node's own output (before any Relu/Clip).
	Raw *ir.Value
}

// Decline is a node the plan leaves in float, and why.
type Decline struct {
	Node   string `json:"node"`
	OpType string `json:"op_type"`
	Reason string `json:"reason"`
}

// Plan is the first phase of quantization: which nodes are quantized and
// which tensors get which kind of mark. Apply materialises it.
type Plan struct {
	Model  *ir.Model
	Config Config
	Layers []*Layer
	// Declined are the candidate nodes left in float.
	Declined []Decline
	// marks: every activation tensor to quantize, in graph order; same
	// maps a layout op's output to the tensor whose parameters it reuses.
	marks []*ir.Value
	same  map[*ir.Value]*ir.Value
}

// Tensors returns the names of the activation tensors whose ranges must
// be calibrated (those with parameters of their own), in graph order.
func (p *Plan) Tensors() []string {
	var names []string
	for _, v := range p.marks {
		if p.same[v] == nil {
			names = append(names, v.Name)
		}
	}
	return names
}

// AllTensors returns the names of every activation tensor the plan
// quantizes, those that reuse their input's parameters included: a plan
// that excludes some layers (the accuracy budget's candidates) may need
// their own ranges.
func (p *Plan) AllTensors() []string {
	var names []string
	for _, v := range p.marks {
		names = append(names, v.Name)
	}
	return names
}

// planner carries what the rules need.
type planner struct {
	g      *ir.Graph
	ix     *ir.Index
	inputs map[*ir.Value]bool
	cfg    Config
}

func (pl *planner) constOf(v *ir.Value) *ir.Tensor {
	if v == nil || v.Const == nil || pl.inputs[v] {
		return nil
	}
	return v.Const
}

func (pl *planner) floatConst(v *ir.Value) *ir.Tensor {
	if t := pl.constOf(v); t != nil && t.DType == ir.Float32 {
		return t
	}
	return nil
}

// isFloatAct reports whether v is a float32 tensor computed at run time
// (unknown types count as float32 when assume is set: a weighted op with
// float32 weights reads float32).
func (pl *planner) isFloatAct(v *ir.Value, assume bool) bool {
	if v == nil || pl.constOf(v) != nil || v.Const != nil {
		return false
	}
	if v.Type != nil && v.Type.IsTensor() && v.Type.DType != ir.Undefined {
		return v.Type.DType == ir.Float32
	}
	return assume
}

// soleReader returns the node alone reading v (not a graph output).
func (pl *planner) soleReader(v *ir.Value) *ir.Node {
	us := pl.ix.Uses[v]
	if len(us) != 1 || us[0].Node == nil || us[0].Index < 0 {
		return nil
	}
	return us[0].Node
}

// rule builds the layer for node n, or says why it cannot.
type rule func(pl *planner, n *ir.Node) (*Layer, string)

// rules is the table of how each op type is quantized statically.
var rules = map[string]rule{
	"Conv":              convRule(0),
	"ConvTranspose":     convRule(1),
	"Gemm":              gemmRule,
	"MatMul":            matmulRule,
	"Add":               elementwiseRule,
	"Mul":               elementwiseRule,
	"Concat":            elementwiseRule,
	"AveragePool":       unaryRule,
	"GlobalAveragePool": unaryRule,
}

// weighted checks what every layer with a weight needs: one output,
// input 0 a float32 activation and input 1 a float32 constant whose
// dims pass wOK (exact: exactly two inputs; else at least two). It
// returns the layer with a per-tensor weight scale and no bias, which
// the rule completes, and the weight; or the reason, in the rule's
// words for the weight (wWhat) and the activation (aWhat).
func weighted(pl *planner, n *ir.Node, exact bool, wOK func(dims []int64) bool, wWhat, aWhat string) (*Layer, *ir.Tensor, string) {
	if len(n.Inputs) < 2 || exact && len(n.Inputs) != 2 || len(n.Outputs) != 1 {
		return nil, nil, "unexpected arity"
	}
	w := pl.floatConst(n.Inputs[1])
	if w == nil || !wOK(w.Dims) {
		return nil, nil, wWhat
	}
	if !pl.isFloatAct(n.Inputs[0], true) {
		return nil, nil, aWhat
	}
	l := &Layer{Acts: []*ir.Value{n.Inputs[0]}, Weight: n.Inputs[1], WeightIdx: 1, WeightAxis: -1}
	if !exact {
		l.BiasIdx = 2
	}
	return l, w, ""
}

func anyDims([]int64) bool { return true }

func twoDims(d []int64) bool { return len(d) == 2 }

func convRule(axis int) rule {
	return func(pl *planner, n *ir.Node) (*Layer, string) {
		l, w, why := weighted(pl, n, false, anyDims, "the weight is not a float32 constant", "the input is not a float32 activation")
		if l == nil {
			return nil, why
		}
		if pl.cfg.PerChannel && len(w.Dims) >= 2 && (axis == 0 || n.AttrInt("group", 1) == 1) {
			l.WeightAxis = axis
		}
		if len(n.Inputs) > 2 && n.Inputs[2] != nil {
			if b := pl.floatConst(n.Inputs[2]); b != nil && len(b.Dims) == 1 {
				l.Bias = n.Inputs[2]
			}
		}
		return l, ""
	}
}

func gemmRule(pl *planner, n *ir.Node) (*Layer, string) {
	l, w, why := weighted(pl, n, false, twoDims, "B is not a 2-D float32 constant", "A is not a float32 activation")
	if l == nil {
		return nil, why
	}
	if pl.cfg.PerChannel {
		l.WeightAxis = 1
		if n.AttrInt("transB", 0) != 0 {
			l.WeightAxis = 0
		}
	}
	cols := w.Dims[1]
	if n.AttrInt("transB", 0) != 0 {
		cols = w.Dims[0]
	}
	if len(n.Inputs) > 2 && n.Inputs[2] != nil && n.AttrFloat("alpha", 1) == 1 && n.AttrFloat("beta", 1) == 1 {
		// A bias with one entry per output column goes to int32.
		if b := pl.floatConst(n.Inputs[2]); b != nil && len(b.Dims) == 1 && b.Dims[0] == cols {
			l.Bias = n.Inputs[2]
		}
	}
	return l, ""
}

func matmulRule(pl *planner, n *ir.Node) (*Layer, string) {
	if len(n.Inputs) != 2 || len(n.Outputs) != 1 {
		return nil, "unexpected arity"
	}
	if w := pl.floatConst(n.Inputs[1]); w != nil {
		if !pl.isFloatAct(n.Inputs[0], true) {
			return nil, "A is not a float32 activation"
		}
		l := &Layer{Acts: []*ir.Value{n.Inputs[0]}, Weight: n.Inputs[1], WeightIdx: 1, WeightAxis: -1}
		if pl.cfg.PerChannel && len(w.Dims) == 2 {
			l.WeightAxis = 1
		}
		return l, ""
	}
	if !pl.isFloatAct(n.Inputs[0], false) || !pl.isFloatAct(n.Inputs[1], false) {
		return nil, "the operands are not float32 activations (or their types are unknown)"
	}
	return &Layer{Acts: []*ir.Value{n.Inputs[0], n.Inputs[1]}, WeightAxis: -1}, ""
}

func elementwiseRule(pl *planner, n *ir.Node) (*Layer, string) {
	if len(n.Outputs) != 1 {
		return nil, "unexpected arity"
	}
	l := &Layer{WeightAxis: -1}
	for _, in := range n.Inputs {
		if in == nil || pl.constOf(in) != nil {
			continue // constant operands stay float
		}
		if !pl.isFloatAct(in, false) {
			return nil, "an operand is not a float32 activation (or its type is unknown)"
		}
		l.Acts = append(l.Acts, in)
	}
	if len(l.Acts) == 0 {
		return nil, "no activation operand"
	}
	return l, ""
}

func unaryRule(pl *planner, n *ir.Node) (*Layer, string) {
	if len(n.Inputs) < 1 || len(n.Outputs) != 1 || !pl.isFloatAct(n.Inputs[0], false) {
		return nil, "the input is not a float32 activation (or its type is unknown)"
	}
	return &Layer{Acts: []*ir.Value{n.Inputs[0]}, WeightAxis: -1}, ""
}

// NewPlan marks what static quantization of m with cfg quantizes. Only
// the main graph is quantized.
func NewPlan(m *ir.Model, cfg Config) (*Plan, error) {
	if cfg.Mode == "" {
		cfg.Mode = Static
	}
	if cfg.Activations == ir.Undefined {
		cfg.Activations = ir.Uint8
	}
	if cfg.Activations != ir.Uint8 && cfg.Activations != ir.Int8 {
		return nil, fmt.Errorf("quant: activations must be uint8 or int8, not %s", cfg.Activations)
	}
	ops := cfg.Ops
	if ops == nil {
		ops = DefaultOps(cfg.Mode)
	}
	g := m.Graph
	_ = ir.InferShapes(m) // types where they can be had; unknown ones are handled
	pl := &planner{g: g, ix: g.BuildIndex(), inputs: map[*ir.Value]bool{}, cfg: cfg}
	if m.IRVersion >= 4 || m.IRVersion == 0 {
		for _, v := range g.Inputs {
			pl.inputs[v] = true
		}
	}
	p := &Plan{Model: m, Config: cfg, same: map[*ir.Value]*ir.Value{}}
	marked := map[*ir.Value]bool{}
	graphs := []*ir.Graph{g}
	if cfg.Mode == Dynamic {
		graphs = nil
		g.Walk(func(sg *ir.Graph) { graphs = append(graphs, sg) })
	}
	for _, sg := range graphs {
		spl := pl
		if sg != g {
			spl = &planner{g: sg, ix: sg.BuildIndex(), inputs: map[*ir.Value]bool{}, cfg: cfg}
			for _, v := range sg.Inputs {
				spl.inputs[v] = true
			}
		}
		p.planGraph(spl, sg, ops, marked)
	}
	if cfg.Mode == Dynamic {
		return p, nil
	}
	// Layout ops pass their input's parameters on.
	root := func(v *ir.Value) *ir.Value {
		if r := p.same[v]; r != nil {
			return r
		}
		return v
	}
	for _, n := range g.Nodes {
		if !layoutOps[n.OpType] || n.Domain != "" || len(n.Inputs) == 0 || len(n.Outputs) != 1 || !marked[n.Inputs[0]] {
			continue
		}
		o := n.Outputs[0]
		if o == nil || pl.inputs[o] {
			continue
		}
		if n.OpType == "Gather" && pl.constOf(n.Inputs[0]) != nil {
			continue
		}
		p.same[o] = root(n.Inputs[0])
		marked[o] = true
	}
	// Graph order: graph inputs first, then node outputs.
	for _, v := range g.Inputs {
		if marked[v] {
			p.marks = append(p.marks, v)
		}
	}
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			if o != nil && marked[o] {
				p.marks = append(p.marks, o)
			}
		}
	}
	return p, nil
}

// planGraph plans the nodes of one graph.
func (p *Plan) planGraph(pl *planner, g *ir.Graph, ops []string, marked map[*ir.Value]bool) {
	cfg := p.Config
	for _, n := range g.Nodes {
		if n.Domain != "" && n.Domain != "ai.onnx" || !slices.Contains(ops, n.OpType) {
			continue
		}
		id := n.Label()
		var r rule
		if cfg.Mode == Dynamic {
			r = dynamicRules[n.OpType]
		} else {
			r = rules[n.OpType]
		}
		if r == nil {
			p.Declined = append(p.Declined, Decline{id, n.OpType, fmt.Sprintf("%s quantization does not handle %s", cfg.Mode, n.OpType)})
			continue
		}
		if cfg.Exclude[id] {
			p.Declined = append(p.Declined, Decline{id, n.OpType, "excluded"})
			continue
		}
		l, why := r(pl, n)
		if l == nil {
			p.Declined = append(p.Declined, Decline{id, n.OpType, why})
			continue
		}
		l.ID, l.OpType, l.Node, l.Graph, l.Raw, l.Out = id, n.OpType, n, g, n.Outputs[0], n.Outputs[0]
		if cfg.Mode == Static {
			if act := pl.soleReader(l.Raw); act != nil && (act.OpType == "Relu" || act.OpType == "Clip") && act.Inputs[0] == l.Raw && len(act.Outputs) == 1 {
				l.Out = act.Outputs[0]
			}
			for _, a := range l.Acts {
				marked[a] = true
			}
			marked[l.Out] = true
		}
		p.Layers = append(p.Layers, l)
	}
}
