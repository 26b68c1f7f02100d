package ir

import (
	"errors"
	"fmt"
	"math"
)

// Shape inference.
//
// InferShapes walks a model's graphs in node order and gives each node
// output the most specific type that follows from the types of its
// inputs, the node's attributes and the contents of constant inputs.
// Shapes are static where sizes are known and symbolic where a graph
// input names a dimension ("N"): symbols pass through ops that keep them
// (elementwise ops, Conv's batch dimension, Gemm's rows, Reshape's 0)
// and are dropped where the result is not a single symbol.
//
// Besides types, inference tracks the contents of small integer tensors
// as lists of Dims: the output of Shape is the input's dimensions, and
// Gather, Slice, Concat, Unsqueeze, Squeeze, Cast, arithmetic and so on
// carry those values along, so the shape a PyTorch export computes with
// Shape→Gather→Unsqueeze→Concat→Reshape resolves like a constant one.
//
// Inferred types are merged with types already on the values (declared
// value_info, graph outputs, earlier runs): a known size is never
// replaced by a symbol or unknown, a recorded symbol gives way to the
// inferred name of the same size, and a conflict between two known facts
// is an error naming the node. Merging never loosens a type, so a pass
// that changes what a value holds should clear its Type before running
// inference again.

// DefaultOpset is the default-domain opset shape inference assumes when a
// model does not import the default domain.
const DefaultOpset = 21

// maxTrackedValues bounds the length of integer tensors whose contents
// inference follows; shape tensors are far shorter.
const maxTrackedValues = 1024

// ShapeError reports an inconsistency shape inference found at a node.
type ShapeError struct {
	Node *Node
	Err  error
}

func (e *ShapeError) Error() string {
	if e.Node.Name != "" {
		return fmt.Sprintf("node %q (%s): %v", e.Node.Name, e.Node.OpType, e.Err)
	}
	return fmt.Sprintf("node (%s): %v", e.Node.OpType, e.Err)
}

func (e *ShapeError) Unwrap() error { return e.Err }

// InferShapes sets the types of node outputs in m's main graph and,
// best-effort, in the bodies of If, Loop and Scan. It returns the
// inconsistencies it found (each a *ShapeError, joined with errors.Join);
// it still types every node it can. Outputs of operators it does not know
// are left as they are.
func InferShapes(m *Model) error {
	if m == nil || m.Graph == nil {
		return errors.New("ir: InferShapes: model has no graph")
	}
	opset := m.Opset("")
	if opset <= 0 {
		opset = DefaultOpset
	}
	s := &shapeInferer{opset: opset, vals: map[*Value][]sval{}}
	s.graph(m.Graph)
	return errors.Join(s.errs...)
}

// InferNode returns the output types of n (one per output, nil where
// unknown) from the current types of its inputs, at the given
// default-domain opset. It neither changes n nor looks into subgraphs;
// it does not see the tracked contents of computed shape tensors, only
// constant inputs. An operator without a schema yields all nil types.
func InferNode(n *Node, opset int64) ([]*Type, error) {
	if n == nil {
		return nil, errors.New("ir: InferNode: nil node")
	}
	if opset <= 0 {
		opset = DefaultOpset
	}
	ins := make([]*Type, len(n.Inputs))
	for i, v := range n.Inputs {
		ins[i] = valueType(v)
	}
	s := &shapeInferer{opset: opset}
	outs, _, err := s.node(n, ins, false)
	if err != nil {
		return nil, &ShapeError{Node: n, Err: err}
	}
	return outs, nil
}

// valueType returns the type of v as inference sees it: a constant's own
// type, or the recorded one.
func valueType(v *Value) *Type {
	if v == nil {
		return nil
	}
	if v.Const != nil {
		t := &Type{Kind: KindTensor, DType: v.Const.DType, HasShape: true, Shape: ShapeOf(v.Const.Dims...)}
		return t
	}
	return v.Type
}

type shapeInferer struct {
	opset int64
	// vals holds the known contents of small integer tensors computed by
	// nodes, element by element in row-major order.
	vals map[*Value][]sval
	errs []error
}

// sval is one element of a tracked tensor: a known integer, a symbol
// standing for a dimension size, a known floating-point number (isf), or
// unknown. Integer code reads only known and sym, so a float is unknown
// to it.
type sval struct {
	known bool
	v     int64
	sym   string
	isf   bool
	f     float64
}

func (x sval) String() string {
	switch {
	case x.known:
		return fmt.Sprint(x.v)
	case x.sym != "":
		return x.sym
	case x.isf:
		return fmt.Sprint(x.f)
	}
	return "?"
}

// fval returns a known floating-point sval.
func fval(f float64) sval { return sval{isf: true, f: f} }

// roundTo rounds f to the precision of the floating-point type dt.
func roundTo(dt DType, f float64) float64 {
	switch dt {
	case Float32:
		return float64(float32(f))
	case Float16:
		return float64(Float16ToFloat32(Float32ToFloat16(float32(f))))
	case BFloat16:
		return float64(math.Float32frombits(uint32(Float32ToBFloat16(float32(f))) << 16))
	}
	return f
}

func isTrackedFloat(dt DType) bool {
	return dt == Float32 || dt == Float64 || dt == Float16 || dt == BFloat16
}

// known returns a known sval.
func kval(v int64) sval { return sval{known: true, v: v} }

// dimVal is the element holding dimension d.
func dimVal(d Dim) sval {
	switch {
	case d.Known():
		return kval(d.Value)
	case d.Param != "":
		return sval{sym: d.Param}
	}
	return sval{}
}

// dim reads an element as a dimension size; negative or unknown elements
// give an unknown dimension.
func (x sval) dim() Dim {
	switch {
	case x.known && x.v >= 0:
		return D(x.v)
	case x.sym != "":
		return Sym(x.sym)
	}
	return UnknownDim
}

func (s *shapeInferer) fail(n *Node, err error) {
	s.errs = append(s.errs, &ShapeError{Node: n, Err: err})
}

// graph infers the node outputs of g in order.
func (s *shapeInferer) graph(g *Graph) {
	for _, c := range g.Consts {
		if c != nil && c.Const != nil && c.Type == nil {
			c.Type = valueType(c)
		}
	}
	for _, n := range g.Nodes {
		if n == nil {
			continue
		}
		ins := make([]*Type, len(n.Inputs))
		for i, v := range n.Inputs {
			ins[i] = valueType(v)
		}
		outs, vals, err := s.node(n, ins, true)
		if err != nil {
			s.fail(n, err)
			continue
		}
		for i, o := range n.Outputs {
			if o == nil || i >= len(outs) {
				continue
			}
			if outs[i] != nil {
				t, err := mergeTypes(o.Type, outs[i])
				if err != nil {
					s.fail(n, fmt.Errorf("output %d %q: %v", i, o.Name, err))
					continue
				}
				o.Type = t
			}
			if i < len(vals) && vals[i] != nil {
				s.vals[o] = vals[i]
			}
		}
	}
}

// node runs n's inference function. withSub lets If, Loop and Scan infer
// their bodies first.
func (s *shapeInferer) node(n *Node, ins []*Type, withSub bool) (outs []*Type, vals [][]sval, err error) {
	if n.Domain != "" && n.Domain != "ai.onnx" {
		if withSub {
			s.subgraphs(n)
		}
		return nil, nil, nil
	}
	c := &inferCtx{n: n, ins: ins, opset: s.opset, vals: s.vals}
	if withSub {
		c.s = s
	}
	defer func() {
		// Inference functions check what they index; a panic here is a
		// bug, reported against the node rather than taking the caller
		// down.
		if r := recover(); r != nil {
			outs, vals, err = nil, nil, fmt.Errorf("internal error in shape inference: %v", r)
		}
	}()
	var fn func(*inferCtx) ([]*Type, error)
	if f := inferFns[n.OpType]; f != nil {
		fn = f
	} else if sc := LookupSchema(n.Domain, n.OpType); sc != nil && sc.Infer != nil {
		fn = func(c *inferCtx) ([]*Type, error) { return sc.Infer(n, ins, s.opset) }
	}
	if fn == nil {
		if withSub {
			s.subgraphs(n)
		}
		return make([]*Type, len(n.Outputs)), nil, nil
	}
	outs, err = fn(c)
	if err != nil {
		return nil, nil, err
	}
	// One type per output: drop extras, pad with nil.
	res := make([]*Type, len(n.Outputs))
	for i := range res {
		if i < len(outs) && outs[i] != nil && (outs[i].Kind != KindUnknown) {
			res[i] = outs[i].Clone()
		}
	}
	return res, c.outVals, nil
}

// subgraphs infers the bodies of a node inference knows nothing else of.
func (s *shapeInferer) subgraphs(n *Node) {
	for _, g := range n.Subgraphs() {
		s.graph(g)
	}
}

// inferCtx is what an inference function sees of a node.
type inferCtx struct {
	n       *Node
	ins     []*Type
	opset   int64
	vals    map[*Value][]sval
	outVals [][]sval
	s       *shapeInferer // nil when subgraphs must not be inferred
}

// inferFns holds the inference functions of the built-in schemas.
var inferFns = map[string]func(*inferCtx) ([]*Type, error){}

// errorf returns an error for the node being inferred (InferShapes adds
// the node's name).
func (c *inferCtx) errorf(format string, args ...any) error {
	return fmt.Errorf(format, args...)
}

// errorf is fmt.Errorf, for helpers that have no context.
func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

// has reports whether input i is present.
func (c *inferCtx) has(i int) bool {
	return i < len(c.n.Inputs) && c.n.Inputs[i] != nil
}

// in returns the type of input i, or nil.
func (c *inferCtx) in(i int) *Type {
	if i < len(c.ins) && c.has(i) {
		return c.ins[i]
	}
	return nil
}

// dtype returns the element type of tensor input i, or Undefined.
func (c *inferCtx) dtype(i int) DType {
	if t := c.in(i); t.IsTensor() {
		return t.DType
	}
	return Undefined
}

// shape returns the shape of tensor input i and whether its rank is known.
func (c *inferCtx) shape(i int) (Shape, bool) {
	if t := c.in(i); t.IsTensor() && t.HasShape {
		return t.Shape, true
	}
	return nil, false
}

// rank returns the rank of input i, or -1.
func (c *inferCtx) rank(i int) int {
	if s, ok := c.shape(i); ok {
		return len(s)
	}
	return -1
}

// values returns the contents of input i (known, symbolic or unknown per
// element, row-major) when the input is a small integer constant or a
// tracked tensor.
func (c *inferCtx) values(i int) ([]sval, bool) {
	if !c.has(i) {
		return nil, false
	}
	v := c.n.Inputs[i]
	if t := v.Const; t != nil {
		if n := t.NumElements(); n < 0 || n > maxTrackedValues || !(isIntegral(t.DType) || isTrackedFloat(t.DType)) || t.Check() != nil {
			return nil, false
		}
		if isTrackedFloat(t.DType) {
			fs := t.Float64s()
			xs := make([]sval, len(fs))
			for k, f := range fs {
				xs[k] = fval(f)
			}
			return xs, true
		}
		ints := t.Int64s()
		xs := make([]sval, len(ints))
		for k, x := range ints {
			xs[k] = kval(x)
		}
		return xs, true
	}
	xs, ok := c.vals[v]
	return xs, ok
}

// ints returns the contents of input i when every element is known.
func (c *inferCtx) ints(i int) ([]int64, bool) {
	xs, ok := c.values(i)
	if !ok {
		return nil, false
	}
	out := make([]int64, len(xs))
	for k, x := range xs {
		if !x.known {
			return nil, false
		}
		out[k] = x.v
	}
	return out, true
}

// floats returns the contents of input i as numbers when every element
// is a known integer or float.
func (c *inferCtx) floats(i int) ([]float64, bool) {
	xs, ok := c.values(i)
	if !ok {
		return nil, false
	}
	fs := make([]float64, len(xs))
	for k, x := range xs {
		switch {
		case x.isf:
			fs[k] = x.f
		case x.known:
			fs[k] = float64(x.v)
		default:
			return nil, false
		}
	}
	return fs, true
}

// setValues records the contents of output i.
func (c *inferCtx) setValues(i int, xs []sval) {
	if c.vals == nil || xs == nil || len(xs) > maxTrackedValues {
		return
	}
	for len(c.outVals) <= i {
		c.outVals = append(c.outVals, nil)
	}
	c.outVals[i] = xs
}

func isIntegral(d DType) bool {
	switch d {
	case Int64, Int32, Int16, Int8, Uint64, Uint32, Uint16, Uint8, Bool:
		return true
	}
	return false
}

// tensor returns a tensor type of dt with a copy of shape.
func tensor(dt DType, shape Shape) *Type {
	return &Type{Kind: KindTensor, DType: dt, HasShape: true, Shape: append(Shape{}, shape...)}
}

// unranked returns a tensor type of dt whose shape is unknown, or nil when
// dt is unknown too.
func unranked(dt DType) *Type {
	if dt == Undefined {
		return nil
	}
	return &Type{Kind: KindTensor, DType: dt}
}

// tensorIf returns tensor(dt, shape) when ok, else unranked(dt).
func tensorIf(dt DType, shape Shape, ok bool) *Type {
	if ok {
		return tensor(dt, shape)
	}
	return unranked(dt)
}

// mergeTypes combines a recorded type with an inferred one (either may be
// nil), keeping the more specific facts of each and reporting conflicts.
func mergeTypes(old, inf *Type) (*Type, error) {
	switch {
	case inf == nil || inf.Kind == KindUnknown:
		return old, nil
	case old == nil || old.Kind == KindUnknown:
		return inf.Clone(), nil
	case old.Kind != inf.Kind:
		return nil, fmt.Errorf("inferred type %s conflicts with recorded %s", inf, old)
	}
	t := old.Clone()
	switch old.Kind {
	case KindTensor, KindSparseTensor:
		if t.DType == Undefined {
			t.DType = inf.DType
		} else if inf.DType != Undefined && inf.DType != t.DType {
			return nil, fmt.Errorf("inferred type %s conflicts with recorded %s", inf, old)
		}
		if !inf.HasShape {
			return t, nil
		}
		if !t.HasShape {
			t.HasShape = true
			t.Shape = append(Shape{}, inf.Shape...)
			return t, nil
		}
		if len(t.Shape) != len(inf.Shape) {
			return nil, fmt.Errorf("inferred shape %s conflicts with recorded %s", inf.Shape, old.Shape)
		}
		for i := range t.Shape {
			d, ok := mergeDim(t.Shape[i], inf.Shape[i])
			if !ok {
				return nil, fmt.Errorf("inferred shape %s conflicts with recorded %s", inf.Shape, old.Shape)
			}
			// Of two names for the same size, the inferred one is used
			// consistently across the graph; a recorded one is often an
			// exporter's invention ("unk__3").
			if p := inf.Shape[i].Param; p != "" && d.Param != "" {
				d = inf.Shape[i]
			}
			t.Shape[i] = d
		}
	case KindSequence, KindOptional:
		e, err := mergeTypes(old.Elem, inf.Elem)
		if err != nil {
			return nil, err
		}
		t.Elem = e
	case KindMap:
		if t.KeyType == Undefined {
			t.KeyType = inf.KeyType
		}
		e, err := mergeTypes(old.Elem, inf.Elem)
		if err != nil {
			return nil, err
		}
		t.Elem = e
	}
	return t, nil
}

// joinTypes describes a value that has type a or type b: what they have
// in common.
func joinTypes(a, b *Type) *Type {
	if a == nil || b == nil || a.Kind != b.Kind {
		return nil
	}
	t := &Type{Kind: a.Kind}
	switch a.Kind {
	case KindTensor, KindSparseTensor:
		if a.DType == b.DType {
			t.DType = a.DType
		}
		if a.HasShape && b.HasShape && len(a.Shape) == len(b.Shape) {
			t.HasShape = true
			t.Shape = make(Shape, len(a.Shape))
			for i := range a.Shape {
				t.Shape[i] = joinDim(a.Shape[i], b.Shape[i])
			}
		}
	case KindSequence, KindOptional:
		t.Elem = joinTypes(a.Elem, b.Elem)
	case KindMap:
		if a.KeyType == b.KeyType {
			t.KeyType = a.KeyType
		}
		t.Elem = joinTypes(a.Elem, b.Elem)
	}
	return t
}

// sameType reports whether a and b say the same thing.
func sameType(a, b *Type) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.Kind != b.Kind || a.DType != b.DType || a.HasShape != b.HasShape || len(a.Shape) != len(b.Shape) || a.KeyType != b.KeyType {
		return false
	}
	for i := range a.Shape {
		if a.Shape[i].Value != b.Shape[i].Value || a.Shape[i].Param != b.Shape[i].Param {
			return false
		}
	}
	if a.Elem != nil || b.Elem != nil {
		return sameType(a.Elem, b.Elem)
	}
	return true
}

// attrIntsOr returns the ints attribute name, or def when absent.
func attrIntsOr(n *Node, name string, def []int64) []int64 {
	if a := n.Attr(name); a != nil && a.Type == AttrInts {
		return a.Ints
	}
	return def
}

// bigEnd reports whether a slice bound stands for "to the end" (PyTorch
// writes INT64_MAX, other exporters INT32_MAX).
func bigEnd(x int64) bool { return x >= math.MaxInt32 }
