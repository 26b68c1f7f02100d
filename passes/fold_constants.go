package passes

import (
	"fmt"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/runtime"
)

// FoldConstants evaluates nodes whose inputs are all constant.
var FoldConstants = &Pass{
	Name: "fold-constants",
	Doc: `Evaluate nodes whose inputs are all constant and replace them by their results.

Nodes are evaluated with nncc's runtime in graph order, so chains of
constant nodes fold in one run. Shape and Size of a value whose shape is
static (declared or found by shape inference) fold too, so the
Shape→Gather→Concat→Reshape chains exporters write collapse to a constant
shape. Random operators, nodes with subgraphs and operators outside the
default domain are never folded, and a graph input with a default value
is not a constant (the caller may override it).

Folding must not blow up the model. The pass evaluates every node it
can, then looks at each region of folded nodes (joined by the values
they pass each other): only its results that something outside reads (a
node left in the graph, a subgraph, a graph output) become constants,
and the constants only the region read disappear. When that adds more
than max-bytes, the node producing the region's largest result is left
unfolded (what it reads becomes the result instead) until every region
fits. So a weight that stays alive is not copied by slicing or reshaping
it, ConstantOfShape, Expand and Tile cannot materialise large tensors
(a large intermediate that its region reduces is fine, but results of
ConstantOfShape, Expand, Tile and Range over 64 MiB are not even
computed), and a transposed or cast weight that nothing else reads is
folded whatever its size. The pass repeats until
nothing more folds, so running it again changes nothing. A node the
runtime cannot evaluate is left as it is, with the reason.`,
	Options: []Option{
		{Name: "max-bytes", Type: Int, Default: int64(4 << 10),
			Doc: "most bytes a region of folded nodes may add to the constants (results made minus constants freed)"},
		{Name: "shapes", Type: Bool, Default: true,
			Doc: "fold Shape and Size of values with a static shape"},
	},
	Run: runFoldConstants,
}

// nondeterministic lists operators whose result is not a function of
// their inputs.
var nondeterministic = map[string]bool{
	"RandomNormal": true, "RandomNormalLike": true, "RandomUniform": true,
	"RandomUniformLike": true, "Multinomial": true, "Bernoulli": true,
}

func runFoldConstants(c *Context) error {
	maxBytes := c.Int("max-bytes")
	if maxBytes < 0 {
		return fmt.Errorf("max-bytes must not be negative")
	}
	shapes := c.Bool("shapes")
	if shapes {
		c.inferShapes()
	}
	c.Model.Graph.Walk(func(g *ir.Graph) {
		// Folding can make more nodes foldable within the limit (their
		// inputs are now constants): repeat to a fixed point, so that
		// running the pass again finds nothing to do.
		for {
			f := &folder{c: c, g: g, maxBytes: maxBytes, shapes: shapes, opset: c.Opset(),
				val: map[*ir.Value]*ir.Tensor{}, folded: map[*ir.Node]bool{}}
			f.evaluate()
			f.limit()
			if !f.apply() {
				for _, d := range f.declined {
					c.declined = append(c.declined, d)
					c.Logf("  declined %s", d)
				}
				break
			}
		}
	})
	return nil
}

// evalCap bounds the results fold-constants computes at all, when they
// are larger than their inputs.
const evalCap = 64 << 20

// folder folds one graph in three steps: evaluate every node it can
// (tentatively), limit what that would add to the graph's constants, and
// apply what is left.
type folder struct {
	c        *Context
	g        *ir.Graph
	maxBytes int64
	shapes   bool
	opset    int64

	val      map[*ir.Value]*ir.Tensor // values of folded nodes' outputs
	folded   map[*ir.Node]bool
	order    []*ir.Node // folded nodes in graph order
	declined []Decline  // reported once the graph reaches its fixed point
}

func (f *folder) decline(n *ir.Node, format string, args ...any) {
	f.declined = append(f.declined, Decline{Node: n.Label(), OpType: n.OpType, Reason: fmt.Sprintf(format, args...)})
}

// known returns the constant value of v: a constant, or the output of a
// node folded so far.
func (f *folder) known(v *ir.Value) *ir.Tensor {
	if t := f.val[v]; t != nil {
		return t
	}
	return f.c.ConstOf(v)
}

func (f *folder) evaluate() {
	for _, n := range f.g.Nodes {
		if !isDefault(n) || nondeterministic[n.OpType] || len(n.Subgraphs()) > 0 || len(n.Inputs) == 0 {
			continue
		}
		if n.OpType == "DequantizeLinear" && is8Bit(f.known(n.Inputs[0])) {
			// The 8-bit weights of a quantised (QDQ) graph: folding would
			// store them as float32 again, and the runtime runs the
			// convolutions and GEMMs reading them on integer kernels.
			f.decline(n, "keeps the 8-bit constant of a quantised graph")
			continue
		}
		var outs []*ir.Tensor
		if f.shapes && (n.OpType == "Shape" || n.OpType == "Size") {
			if t := foldShape(n, f.opset); t != nil {
				outs = []*ir.Tensor{t}
			}
		}
		if outs == nil {
			ins := make([]*ir.Tensor, len(n.Inputs))
			inBytes := int64(0)
			all := true
			for i, v := range n.Inputs {
				if v == nil {
					continue
				}
				if ins[i] = f.known(v); ins[i] == nil {
					all = false
					break
				}
				inBytes += ins[i].Bytes()
			}
			if !all {
				continue
			}
			// Do not even compute a result far larger than any model
			// growth allowed; a large intermediate whose region reduces
			// it to a small result is fine.
			if est, ok := estimateBytes(n, ins); ok && est > max(f.maxBytes, evalCap) && est > inBytes {
				f.decline(n, "the result would take %d bytes; not computed", est)
				continue
			}
			var err error
			if outs, err = runtime.EvalNode(n, ins, f.opset); err != nil {
				f.decline(n, "cannot evaluate: %v", err)
				continue
			}
		}
		if why := checkOutputs(n, outs); why != "" {
			f.decline(n, "%s", why)
			continue
		}
		for i, o := range n.Outputs {
			if o != nil {
				f.val[o] = outs[i]
			}
		}
		f.folded[n] = true
		f.order = append(f.order, n)
	}
}

// regions groups the folded nodes into connected regions (nodes joined
// by a value one computes and the other reads), each in graph order.
func (f *folder) regions(ix *ir.Index) [][]*ir.Node {
	parent := map[*ir.Node]*ir.Node{}
	var find func(n *ir.Node) *ir.Node
	find = func(n *ir.Node) *ir.Node {
		for parent[n] != n {
			parent[n] = parent[parent[n]]
			n = parent[n]
		}
		return n
	}
	for _, n := range f.order {
		if f.folded[n] {
			parent[n] = n
		}
	}
	for _, n := range f.order {
		if !f.folded[n] {
			continue
		}
		for _, v := range n.Inputs {
			if p := ix.Producer[v]; p != nil && f.folded[p] {
				parent[find(p)] = find(n)
			}
		}
	}
	byRoot := map[*ir.Node]int{}
	var rs [][]*ir.Node
	for _, n := range f.order {
		if !f.folded[n] {
			continue
		}
		r := find(n)
		i, ok := byRoot[r]
		if !ok {
			i = len(rs)
			byRoot[r] = i
			rs = append(rs, nil)
		}
		rs[i] = append(rs[i], n)
	}
	return rs
}

// needed returns the values a region computes that something outside it
// reads (a node left in the graph, a subgraph, a graph output): they
// become constants. The region's other values disappear with it.
func (f *folder) needed(ix *ir.Index, region []*ir.Node) []*ir.Value {
	in := map[*ir.Node]bool{}
	for _, n := range region {
		in[n] = true
	}
	var vs []*ir.Value
	for _, n := range region {
		for _, o := range n.Outputs {
			if o == nil {
				continue
			}
			for _, u := range ix.Uses[o] {
				if u.Node == nil || u.Index < 0 || !in[u.Node] {
					vs = append(vs, o)
					break
				}
			}
		}
	}
	return vs
}

// freedBytes is the size of the graph's own constants that only the
// region reads: they die with it.
func (f *folder) freedBytes(ix *ir.Index, region []*ir.Node) int64 {
	in := map[*ir.Node]bool{}
	for _, n := range region {
		in[n] = true
	}
	var b int64
	seen := map[*ir.Value]bool{}
	for _, n := range region {
		for _, v := range n.Inputs {
			if v == nil || v.Const == nil || seen[v] || !constOfGraph(f.g, v) || isGraphOutput(f.g, v) {
				continue
			}
			seen[v] = true
			dies := true
			for _, u := range ix.Uses[v] {
				if u.Node == nil || u.Index < 0 || !in[u.Node] {
					dies = false
					break
				}
			}
			if dies {
				b += v.Const.Bytes()
			}
		}
	}
	return b
}

func constOfGraph(g *ir.Graph, v *ir.Value) bool {
	for _, c := range g.Consts {
		if c == v {
			return !isGraphInput(g, v)
		}
	}
	return false
}

// limit un-folds nodes until no region adds more than max-bytes to the
// graph's constants: a region over the limit loses the producer of its
// largest result (the values that producer reads then become results in
// its place, and the region may split).
func (f *folder) limit() {
	if len(f.order) == 0 {
		return
	}
	ix := f.g.BuildIndex()
	for {
		over := false
		for _, r := range f.regions(ix) {
			var added int64
			var largest *ir.Value
			for _, v := range f.needed(ix, r) {
				added += f.val[v].Bytes()
				if largest == nil || f.val[v].Bytes() > f.val[largest].Bytes() {
					largest = v
				}
			}
			freed := f.freedBytes(ix, r)
			if largest == nil || added-freed <= f.maxBytes {
				continue
			}
			p := ix.Producer[largest]
			f.folded[p] = false
			f.decline(p, "folding would add %d bytes of constants (%d made, %d freed; max-bytes %d)", added-freed, added, freed, f.maxBytes)
			over = true
		}
		if !over {
			return
		}
	}
}

// apply turns the regions' results into constants, removes the folded
// nodes and reports whether it changed anything.
func (f *folder) apply() bool {
	ix := f.g.BuildIndex()
	dead := map[*ir.Node]bool{}
	for _, r := range f.regions(ix) {
		for _, o := range f.needed(ix, r) {
			t := f.val[o]
			o.Const = t
			o.Type = &ir.Type{Kind: ir.KindTensor, DType: t.DType, HasShape: true, Shape: ir.ShapeOf(t.Dims...)}
			o.FromConstantNode = false
			f.g.Consts = append(f.g.Consts, o)
		}
		for _, n := range r {
			dead[n] = true
		}
	}
	if len(dead) == 0 {
		return false
	}
	f.g.RemoveNodes(dead)
	f.c.Changed()
	return true
}

// checkOutputs says why outs cannot stand for n's outputs, or returns "".
func checkOutputs(n *ir.Node, outs []*ir.Tensor) string {
	for i, o := range n.Outputs {
		if o == nil {
			continue
		}
		if i >= len(outs) || outs[i] == nil {
			return fmt.Sprintf("the runtime computed no value for output %q", o.Name)
		}
		t := outs[i]
		if err := t.Check(); err != nil {
			return fmt.Sprintf("output %q: %v", o.Name, err)
		}
		if o.Type != nil && o.Type.IsTensor() && o.Type.DType != ir.Undefined && o.Type.DType != t.DType {
			return fmt.Sprintf("output %q is declared %s but evaluates to %s", o.Name, o.Type.DType, t.DType)
		}
		if o.Type != nil && !o.Type.IsTensor() && o.Type.Kind != ir.KindUnknown {
			return fmt.Sprintf("output %q is a %s, not a tensor", o.Name, o.Type)
		}
	}
	return ""
}

// foldShape computes Shape (with start and end from opset 15) or Size of
// a value whose shape is static, or returns nil.
func foldShape(n *ir.Node, opset int64) *ir.Tensor {
	x := n.Input(0)
	s, ok := shapeOf(x)
	if !ok {
		return nil
	}
	dims, static := s.Static()
	if !static {
		return nil
	}
	if n.OpType == "Size" {
		return ir.FromInt64(nil, []int64{ir.NumElements(dims)})
	}
	r := int64(len(dims))
	start, end := int64(0), r
	if opset >= 15 {
		start = n.AttrInt("start", 0)
		end = n.AttrInt("end", r)
	}
	clamp := func(v int64) int64 {
		if v < 0 {
			v += r
		}
		return max(0, min(v, r))
	}
	start, end = clamp(start), clamp(end)
	if end < start {
		end = start
	}
	sel := append([]int64{}, dims[start:end]...)
	return ir.FromInt64([]int64{int64(len(sel))}, sel)
}

// estimateBytes sizes the result of the operators whose output can be
// far larger than their inputs, before they are run.
func estimateBytes(n *ir.Node, ins []*ir.Tensor) (int64, bool) {
	size := func(dt ir.DType, numel int64) (int64, bool) {
		if numel < 0 {
			return 1 << 62, true
		}
		b, ok := dt.ByteSize(numel)
		if !ok {
			return 1 << 62, true
		}
		return b, true
	}
	switch n.OpType {
	case "ConstantOfShape":
		if ins[0] == nil {
			return 0, false
		}
		dt := ir.Float32
		if a := n.Attr("value"); a != nil && a.T != nil {
			dt = a.T.DType
		}
		return size(dt, ir.NumElements(ins[0].Int64s()))
	case "Expand":
		if len(ins) < 2 || ins[0] == nil || ins[1] == nil {
			return 0, false
		}
		a, b := ins[0].Dims, ins[1].Int64s()
		r := max(len(a), len(b))
		out := make([]int64, r)
		for i := range r {
			da, db := int64(1), int64(1)
			if j := i - (r - len(a)); j >= 0 {
				da = a[j]
			}
			if j := i - (r - len(b)); j >= 0 {
				db = b[j]
			}
			out[i] = max(da, db)
		}
		return size(ins[0].DType, ir.NumElements(out))
	case "Tile":
		if len(ins) < 2 || ins[0] == nil || ins[1] == nil {
			return 0, false
		}
		reps := ins[1].Int64s()
		total := ins[0].NumElements()
		for _, r := range reps {
			if r < 0 || (r > 0 && total > (1<<62)/r) {
				return 1 << 62, true
			}
			total *= r
		}
		return size(ins[0].DType, total)
	case "Range":
		if len(ins) < 3 || ins[0] == nil || ins[1] == nil || ins[2] == nil {
			return 0, false
		}
		start, ok1 := scalarOf(ins[0])
		limit, ok2 := scalarOf(ins[1])
		delta, ok3 := scalarOf(ins[2])
		if !ok1 || !ok2 || !ok3 || delta == 0 {
			return 0, false
		}
		cnt := (limit - start) / delta
		if cnt > 1<<50 {
			return 1 << 62, true
		}
		return size(ins[0].DType, max(0, int64(cnt)+1))
	}
	return 0, false
}

// is8Bit reports whether t is a constant of 8-bit integers.
func is8Bit(t *ir.Tensor) bool {
	return t != nil && (t.DType == ir.Int8 || t.DType == ir.Uint8)
}
