package cost

import (
	"fmt"
	"sort"

	"github.com/nncc/nncc/ir"
)

// Node is the cost of one node.
type Node struct {
	Node       *ir.Node
	MACs       int64
	FLOPs      int64
	ParamBytes int64 // bytes of the constant inputs it reads
	OutBytes   int64 // bytes of the tensors it writes
	Known      bool  // false: some shape it depends on is unknown
}

// Report is the cost of every node of a model's main graph, in node
// order.
type Report struct {
	Nodes []Node
	// Unknown names the nodes whose cost could not be computed.
	Unknown []string
}

// MACs is the total of multiply-accumulates.
func (r *Report) MACs() int64 {
	var s int64
	for _, n := range r.Nodes {
		s += n.MACs
	}
	return s
}

// FLOPs is the total of floating-point operations.
func (r *Report) FLOPs() int64 {
	var s int64
	for _, n := range r.Nodes {
		s += n.FLOPs
	}
	return s
}

// ByOpType sums MACs per op type, op types sorted by name.
func (r *Report) ByOpType() []OpTotal {
	m := map[string]*OpTotal{}
	for _, n := range r.Nodes {
		t := m[n.Node.OpType]
		if t == nil {
			t = &OpTotal{OpType: n.Node.OpType}
			m[n.Node.OpType] = t
		}
		t.Nodes++
		t.MACs += n.MACs
		t.FLOPs += n.FLOPs
	}
	out := make([]OpTotal, 0, len(m))
	for _, t := range m {
		out = append(out, *t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].OpType < out[j].OpType })
	return out
}

// OpTotal is the cost of all nodes of one op type.
type OpTotal struct {
	OpType string `json:"op_type"`
	Nodes  int    `json:"nodes"`
	MACs   int64  `json:"macs"`
	FLOPs  int64  `json:"flops"`
}

// Analyze computes the cost of every node of m's main graph. shapes binds
// graph inputs by name; dims binds symbolic dims by name. Neither may
// contradict a known dim. m is not modified.
func Analyze(m *ir.Model, shapes map[string][]int64, dims map[string]int64) (*Report, error) {
	c := m.Clone()
	if err := Bind(c, shapes, dims); err != nil {
		return nil, err
	}
	_ = ir.InferShapes(c) // types what it can; unknown costs are reported
	r := &Report{}
	orig := m.Graph.Nodes
	for i, n := range c.Graph.Nodes {
		nc := Of(n)
		nc.Node = orig[i]
		if !nc.Known {
			r.Unknown = append(r.Unknown, label(orig[i]))
		}
		r.Nodes = append(r.Nodes, nc)
	}
	return r, nil
}

func label(n *ir.Node) string {
	if n.Name != "" {
		return n.Name
	}
	if len(n.Outputs) > 0 && n.Outputs[0] != nil {
		return n.OpType + " -> " + n.Outputs[0].Name
	}
	return n.OpType
}

// Bind sets the declared shapes of m's graph inputs: shapes by input
// name, dims by symbolic dim name.
func Bind(m *ir.Model, shapes map[string][]int64, dims map[string]int64) error {
	for _, v := range m.Graph.Inputs {
		if v.Const != nil || v.Type == nil {
			continue
		}
		if s, ok := shapes[v.Name]; ok {
			if v.Type.HasShape && len(v.Type.Shape) != len(s) {
				return fmt.Errorf("input %s has rank %d, not %d", v.Name, len(v.Type.Shape), len(s))
			}
			for i, d := range s {
				if v.Type.HasShape && v.Type.Shape[i].Known() && v.Type.Shape[i].Value != d {
					return fmt.Errorf("input %s: dim %d is %d, not %d", v.Name, i, v.Type.Shape[i].Value, d)
				}
			}
			v.Type.HasShape = true
			v.Type.Shape = ir.ShapeOf(s...)
			continue
		}
		for i, d := range v.Type.Shape {
			if d.Param != "" {
				if x, ok := dims[d.Param]; ok {
					v.Type.Shape[i] = ir.Dim{Value: x}
				}
			}
		}
	}
	return nil
}

// dims returns v's known dims, or nil.
func dims(v *ir.Value) []int64 {
	if v == nil {
		return nil
	}
	if v.Const != nil {
		return v.Const.Dims
	}
	if v.Type == nil || !v.Type.HasShape {
		return nil
	}
	out := make([]int64, len(v.Type.Shape))
	for i, d := range v.Type.Shape {
		if !d.Known() {
			return nil
		}
		out[i] = d.Value
	}
	return out
}

func numel(d []int64) int64 { return ir.NumElements(d) }

func dtypeOf(v *ir.Value) ir.DType {
	if v.Const != nil {
		return v.Const.DType
	}
	if v.Type != nil {
		return v.Type.DType
	}
	return ir.Undefined
}

// Of returns the cost of n from its inputs' and outputs' current types.
func Of(n *ir.Node) Node {
	c := Node{Node: n, Known: true}
	for _, v := range n.Inputs {
		if v != nil && v.Const != nil {
			c.ParamBytes += v.Const.Bytes()
		}
	}
	var outElems int64
	for _, v := range n.Outputs {
		if v == nil || v.Name == "" {
			continue
		}
		d := dims(v)
		if d == nil {
			c.Known = false
			continue
		}
		outElems += numel(d)
		if b, ok := dtypeOf(v).ByteSize(numel(d)); ok {
			c.OutBytes += b
		}
	}
	in := func(i int) []int64 {
		if i < len(n.Inputs) {
			return dims(n.Inputs[i])
		}
		return nil
	}
	out := func(i int) []int64 {
		if i < len(n.Outputs) {
			return dims(n.Outputs[i])
		}
		return nil
	}
	linear := true
	switch n.OpType {
	case "Conv", "ConvInteger", "QLinearConv":
		wi := 1
		if n.OpType == "QLinearConv" {
			wi = 3
		}
		w, y := in(wi), out(0)
		if w == nil || y == nil || len(w) < 2 {
			c.Known = false
			break
		}
		c.MACs = numel(y) * numel(w[1:])
	case "ConvTranspose":
		x, w := in(0), in(1)
		if x == nil || w == nil || len(w) < 2 {
			c.Known = false
			break
		}
		c.MACs = numel(x) * numel(w[1:])
	case "Gemm":
		a, y := in(0), out(0)
		if a == nil || y == nil || len(a) != 2 {
			c.Known = false
			break
		}
		k := a[1]
		if n.AttrInt("transA", 0) != 0 {
			k = a[0]
		}
		c.MACs = numel(y) * k
	case "MatMul", "MatMulInteger", "QLinearMatMul":
		a, y := in(0), out(0)
		if a == nil || y == nil || len(a) == 0 {
			c.Known = false
			break
		}
		c.MACs = numel(y) * a[len(a)-1]
	case "LSTM", "GRU", "RNN":
		x, w, r := in(0), in(1), in(2)
		if x == nil || w == nil || r == nil || len(x) != 3 || len(w) != 3 || len(r) != 3 {
			c.Known = false
			break
		}
		// Per step and direction: gates×hidden outputs, each over input
		// and hidden features.
		c.MACs = x[0] * x[1] * w[0] * w[1] * (w[2] + r[2])
	default:
		linear = false
	}
	if linear {
		c.FLOPs = 2 * c.MACs
	} else {
		c.FLOPs = outElems
	}
	return c
}
