package gosrc

import (
	"fmt"
	"slices"

	"github.com/nncc/nncc/check"
	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/runtime"
)

// info is what generation knows about one value of the main graph.
type info struct {
	v      *ir.Value
	dtype  ir.DType
	dims   []int64    // dims at batch 1 (per-sample dims when scaled)
	scaled bool       // the leading dim is the batch: n·dims[0] at run time
	static *ir.Tensor // folded value (at the first evaluation batch), nil if dynamic
	prod   *ir.Node
	uses   []*ir.Node
	// shapeOnly marks a static value whose data depends on the batch
	// size: an operand that only shapes a result (Reshape's shape) may
	// read it, data may not.
	shapeOnly bool
	input     int // index among the graph's runtime inputs, or -1
	output    bool
}

// size is the element count at batch 1 (per sample when scaled).
func (in *info) size() int64 { return ir.NumElements(in.dims) }

// analysis resolves every value's shape, folds what does not depend on
// the inputs' data and works out how each value scales with a symbolic
// batch.
type analysis struct {
	m        *ir.Model
	g        *ir.Graph
	opset    int64
	vals     map[*ir.Value]*info
	inputs   []*ir.Value // runtime inputs in graph order
	symbolic bool        // a leading batch dim stays symbolic
	batchSym string      // its name (for docs)
	nodes    []*ir.Node  // dynamic nodes in order
	// qgap maps a fused QGlobalAveragePool step to its DequantizeLinear
	// and QuantizeLinear nodes (their parameters).
	qgap map[*ir.Node][2]*ir.Node
}

// evalBatches runs the model node by node at two batch sizes (1 and 2
// when the batch is symbolic) to learn every value's dims and the
// contents of the values that depend on shapes only.
func analyze(m *ir.Model, opts Options) (*analysis, error) {
	if m == nil || m.Graph == nil {
		return nil, fmt.Errorf("gosrc: model has no graph")
	}
	a := &analysis{m: m, g: m.Graph, opset: m.Opset(""), vals: map[*ir.Value]*info{}}
	if a.opset <= 0 {
		a.opset = ir.DefaultOpset
	}
	g := a.g
	for _, n := range g.Nodes {
		if n.Domain != "" && n.Domain != "ai.onnx" {
			return nil, unsupported(n, "operator domain %q", n.Domain)
		}
		if len(n.Subgraphs()) > 0 {
			return nil, unsupported(n, "control flow (subgraphs)")
		}
	}
	// Bind input shapes; an unbound leading dim stays symbolic.
	syms := map[string]int64{}
	for k, v := range opts.Syms {
		syms[k] = v
	}
	for _, v := range g.Inputs {
		if v.Const != nil {
			continue
		}
		a.inputs = append(a.inputs, v)
		if d, ok := opts.Shapes[v.Name]; ok && len(d) > 0 && d[0] < 0 {
			a.symbolic = true
			continue
		}
		if _, ok := opts.Shapes[v.Name]; ok || v.Type == nil || !v.Type.HasShape || len(v.Type.Shape) == 0 {
			continue
		}
		d := v.Type.Shape[0]
		if !d.Known() && (d.Param == "" || syms[d.Param] == 0) {
			a.symbolic = true
			a.batchSym = d.Param
		}
	}
	specsAt := func(batch int64) ([]check.InputSpec, error) {
		sy := map[string]int64{}
		for k, v := range syms {
			sy[k] = v
		}
		if a.symbolic && a.batchSym != "" {
			sy[a.batchSym] = batch
		}
		shapes := map[string][]int64{}
		for k, d := range opts.Shapes {
			d = slices.Clone(d)
			if len(d) > 0 && d[0] < 0 {
				d[0] = batch
			}
			shapes[k] = d
		}
		specs, err := check.InputSpecs(g, shapes, sy)
		if err != nil {
			return nil, err
		}
		if a.symbolic {
			for i := range specs {
				v := a.inputs[i]
				if _, ok := opts.Shapes[v.Name]; !ok && !v.Type.Shape[0].Known() && syms[v.Type.Shape[0].Param] == 0 {
					specs[i].Dims[0] = batch
				}
			}
		}
		return specs, nil
	}
	for i, v := range a.inputs {
		a.vals[v] = &info{v: v, input: i}
	}
	for _, v := range g.Consts {
		a.vals[v] = &info{v: v, dtype: v.Const.DType, dims: v.Const.Dims, static: v.Const, input: -1}
	}
	for _, v := range g.Inputs {
		if v.Const != nil {
			a.vals[v] = &info{v: v, dtype: v.Const.DType, dims: v.Const.Dims, static: v.Const, input: -1}
		}
	}
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			if o != nil && o.Name != "" {
				a.vals[o] = &info{v: o, prod: n, input: -1}
			}
		}
		for _, in := range n.Inputs {
			if in != nil {
				if a.vals[in] == nil {
					return nil, fmt.Errorf("gosrc: node %s reads %q before it is defined", n.Name, in.Name)
				}
				a.vals[in].uses = append(a.vals[in].uses, n)
			}
		}
	}
	for _, v := range g.Outputs {
		if in := a.vals[v]; in != nil {
			in.output = true
		}
	}
	batches := []int64{1}
	if a.symbolic {
		batches = append(batches, 2)
	}
	dims := make([]map[*ir.Value][]int64, len(batches))
	statics := make([]map[*ir.Value]*ir.Tensor, len(batches))
	var dtypes map[*ir.Value]ir.DType
	for bi, b := range batches {
		specs, err := specsAt(b)
		if err != nil {
			return nil, err
		}
		feeds, err := check.RandomInputs(specs, 1)
		if err != nil {
			return nil, err
		}
		d, s, dt, err := a.eval(feeds)
		if err != nil {
			return nil, err
		}
		dims[bi], statics[bi] = d, s
		if bi == 0 {
			dtypes = dt
		}
	}
	for v, in := range a.vals {
		if in.static != nil && in.prod == nil {
			continue
		}
		d0 := dims[0][v]
		in.dims = d0
		if dt, ok := dtypes[v]; ok {
			in.dtype = dt
		}
		if t := statics[0][v]; t != nil {
			in.static = t
			in.dtype = t.DType
		}
		if len(batches) == 2 {
			d1 := dims[1][v]
			if len(d0) != len(d1) {
				return nil, fmt.Errorf("gosrc: %s changes rank with the batch size; bind it with --shape", v.Name)
			}
			for i := range d0 {
				if d0[i] == d1[i] {
					continue
				}
				if i != 0 || d1[i] != 2*d0[i] {
					return nil, fmt.Errorf("gosrc: %s (%v at batch 1, %v at batch 2) does not keep the batch as its leading dim; bind the batch with --shape", v.Name, d0, d1)
				}
				in.scaled = true
			}
			if t1 := statics[1][v]; in.static != nil && (in.scaled || t1 == nil || !slices.Equal(t1.Data, in.static.Data)) {
				in.shapeOnly = true // known at generation for each batch, so usable only as a shape operand
			}
		}
	}
	// dead code: nodes none of whose outputs is read by a live node or
	// is a graph output (e.g. a DequantizeLinear whose Conv now reads the
	// integers directly)
	live := map[*ir.Node]bool{}
	for i := len(g.Nodes) - 1; i >= 0; i-- {
		n := g.Nodes[i]
		for _, o := range n.Outputs {
			if o == nil || a.vals[o] == nil {
				continue
			}
			if a.vals[o].output {
				live[n] = true
			}
			for _, u := range a.vals[o].uses {
				if live[u] {
					live[n] = true
				}
			}
		}
	}
	for _, n := range g.Nodes {
		if live[n] && !a.vals[n.Outputs[0]].isStatic() {
			a.nodes = append(a.nodes, n)
		}
	}
	for _, in := range a.vals {
		in.uses = slices.DeleteFunc(in.uses, func(u *ir.Node) bool { return !live[u] })
	}
	return a, nil
}

func (in *info) isStatic() bool { return in.static != nil }

// eval runs every node once with runtime.EvalNode and returns the dims
// and element type of every value and the data of those that do not
// depend on input data.
func (a *analysis) eval(feeds map[string]*ir.Tensor) (map[*ir.Value][]int64, map[*ir.Value]*ir.Tensor, map[*ir.Value]ir.DType, error) {
	dims := map[*ir.Value][]int64{}
	dtypes := map[*ir.Value]ir.DType{}
	static := map[*ir.Value]*ir.Tensor{}
	live := map[*ir.Value]*ir.Tensor{}
	left := map[*ir.Value]int{}
	for v, in := range a.vals {
		left[v] = len(in.uses)
		if in.static != nil && in.prod == nil {
			live[v] = in.static
			static[v] = in.static
			dims[v] = in.static.Dims
		}
	}
	for _, v := range a.inputs {
		t := feeds[v.Name]
		live[v] = t
		dims[v] = t.Dims
	}
	for _, n := range a.g.Nodes {
		ins := make([]*ir.Tensor, len(n.Inputs))
		isStatic := n.OpType == "Shape" || n.OpType == "Size"
		allStatic := true
		for i, v := range n.Inputs {
			if v == nil {
				continue
			}
			ins[i] = live[v]
			if static[v] == nil {
				allStatic = false
			}
		}
		isStatic = isStatic || allStatic
		if n.OpType == "RandomNormal" || n.OpType == "RandomUniform" || n.OpType == "RandomNormalLike" || n.OpType == "RandomUniformLike" || n.OpType == "Multinomial" || n.OpType == "Bernoulli" {
			return nil, nil, nil, unsupported(n, "random operators")
		}
		outs, err := runtime.EvalNode(n, ins, a.opset)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("gosrc: resolving shapes: %w", err)
		}
		for i, o := range n.Outputs {
			if o == nil || o.Name == "" || i >= len(outs) || outs[i] == nil {
				continue
			}
			dims[o] = slices.Clone(outs[i].Dims)
			dtypes[o] = outs[i].DType
			live[o] = outs[i]
			if isStatic {
				static[o] = outs[i]
			}
		}
		for _, v := range n.Inputs {
			if v == nil {
				continue
			}
			if left[v]--; left[v] == 0 && static[v] == nil {
				delete(live, v)
			}
		}
	}
	return dims, static, dtypes, nil
}

// UnsupportedError names a node the back end cannot generate code for.
type UnsupportedError struct {
	Node, Op string
	Reason   string
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("gosrc: node %q (%s): not supported by the Go back end: %s", e.Node, e.Op, e.Reason)
}

func unsupported(n *ir.Node, format string, args ...any) error {
	return &UnsupportedError{Node: n.Name, Op: n.OpType, Reason: fmt.Sprintf(format, args...)}
}
