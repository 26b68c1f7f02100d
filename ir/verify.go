package ir

import (
	"fmt"
	"strings"
)

// VerifyError lists every broken invariant Verify found.
type VerifyError struct {
	Problems []string
}

func (e *VerifyError) Error() string {
	if len(e.Problems) == 1 {
		return "invalid graph: " + e.Problems[0]
	}
	return fmt.Sprintf("invalid graph: %d problems:\n  %s", len(e.Problems), strings.Join(e.Problems, "\n  "))
}

// Verify checks the invariants of a model's IR and reports all that are
// broken:
//
//   - every value has a name, and names are unique across a graph and the
//     graphs that enclose it (single assignment);
//   - every node input and graph output is defined before it is read: by a
//     graph input, a constant, an earlier node of the same graph, or a value
//     of an enclosing graph (so the node order is topological and the graph
//     acyclic);
//   - constants hold data that agrees with their dtype and dims;
//   - attributes carry the kind their type says, and known operators get
//     the attribute kinds and the input/output counts of their schema;
//   - every operator's domain is imported by the model.
func Verify(m *Model) error {
	v := &verifier{m: m}
	if m.Graph == nil {
		v.errorf("model has no graph")
	} else {
		v.graph(m.Graph, nil, "")
	}
	if len(v.problems) > 0 {
		return &VerifyError{Problems: v.problems}
	}
	return nil
}

// VerifyGraph checks a graph on its own (with no model around it, so
// opset imports are not checked).
func VerifyGraph(g *Graph) error {
	v := &verifier{}
	v.graph(g, nil, "")
	if len(v.problems) > 0 {
		return &VerifyError{Problems: v.problems}
	}
	return nil
}

type verifier struct {
	m        *Model
	problems []string
}

const maxProblems = 100

func (v *verifier) errorf(format string, args ...any) {
	if len(v.problems) == maxProblems {
		v.problems = append(v.problems, "... (further problems not listed)")
	}
	if len(v.problems) > maxProblems {
		return
	}
	v.problems = append(v.problems, fmt.Sprintf(format, args...))
}

// scope is the set of values visible in a graph, chained to its parent.
type scope struct {
	parent *scope
	byName map[string]*Value
	values map[*Value]bool
}

func (s *scope) lookup(val *Value) bool {
	for ; s != nil; s = s.parent {
		if s.values[val] {
			return true
		}
	}
	return false
}

func (s *scope) nameTaken(name string) *Value {
	for ; s != nil; s = s.parent {
		if v, ok := s.byName[name]; ok {
			return v
		}
	}
	return nil
}

func (v *verifier) graph(g *Graph, parent *scope, where string) {
	if where == "" {
		where = "graph"
		if g.Name != "" {
			where = fmt.Sprintf("graph %q", g.Name)
		}
	}
	sc := &scope{parent: parent, byName: map[string]*Value{}, values: map[*Value]bool{}}
	define := func(val *Value, what string) {
		if val.Name == "" {
			v.errorf("%s: %s has no name", where, what)
		} else if other := sc.nameTaken(val.Name); other != nil && other != val {
			v.errorf("%s: %s %q is defined more than once", where, what, val.Name)
		} else if sc.values[val] {
			v.errorf("%s: %s %q is assigned more than once", where, what, val.Name)
		}
		sc.byName[val.Name] = val
		sc.values[val] = true
	}
	for _, in := range g.Inputs {
		if in == nil {
			v.errorf("%s: nil graph input", where)
			continue
		}
		define(in, "input")
	}
	for _, c := range g.Consts {
		if c == nil || c.Const == nil {
			v.errorf("%s: constant without a tensor", where)
			continue
		}
		if sc.values[c] {
			continue // an input with a default value
		}
		define(c, "constant")
		if err := c.Const.Check(); err != nil {
			v.errorf("%s: constant %q: %v", where, c.Name, err)
		}
		if c.Type != nil && c.Type.IsTensor() && c.Type.DType != c.Const.DType {
			v.errorf("%s: constant %q has type %s but holds %s", where, c.Name, c.Type.DType, c.Const.DType)
		}
	}
	for i, n := range g.Nodes {
		if n == nil {
			v.errorf("%s: node %d is nil", where, i)
			continue
		}
		nw := fmt.Sprintf("%s: node %q (%s)", where, n.Name, n.OpType)
		if n.Name == "" {
			nw = fmt.Sprintf("%s: node #%d (%s)", where, i, n.OpType)
		}
		if n.OpType == "" {
			v.errorf("%s has no op type", nw)
		}
		for j, in := range n.Inputs {
			if in == nil {
				continue // omitted optional input
			}
			if !sc.lookup(in) {
				if in.Name == "" {
					v.errorf("%s: input %d is an unnamed value", nw, j)
				} else {
					v.errorf("%s: input %d %q is not defined before it is used", nw, j, in.Name)
				}
			}
		}
		v.attrs(n, nw, sc)
		v.arity(n, nw)
		if n.Domain == "" || n.Domain == "ai.onnx" {
			for _, msg := range attrValueProblems(n) {
				v.errorf("%s: %s", nw, msg)
			}
		}
		if v.m != nil && n.Domain != "" && n.Domain != "ai.onnx" && v.m.Opset(n.Domain) == 0 && !v.functionDomain(n.Domain) {
			v.errorf("%s: domain %q is not imported by the model", nw, n.Domain)
		}
		for _, o := range n.Outputs {
			if o == nil {
				continue
			}
			define(o, fmt.Sprintf("output of node %q", n.Name))
		}
	}
	for i, o := range g.Outputs {
		if o == nil {
			v.errorf("%s: output %d is nil", where, i)
			continue
		}
		if !sc.lookup(o) {
			v.errorf("%s: output %q is not defined", where, o.Name)
		}
	}
}

func (v *verifier) functionDomain(string) bool {
	// Models with local functions may name domains only their functions
	// define; those are serialised opaquely, so accept any domain when the
	// model carries functions.
	return v.m != nil && len(v.m.Functions) > 0
}

func (v *verifier) attrs(n *Node, nw string, sc *scope) {
	seen := map[string]bool{}
	var schema *Schema
	if v.m == nil || n.Domain == "" || n.Domain == "ai.onnx" {
		schema = LookupSchema(n.Domain, n.OpType)
	}
	for _, a := range n.Attrs {
		if a == nil {
			v.errorf("%s: nil attribute", nw)
			continue
		}
		if seen[a.Name] {
			v.errorf("%s: attribute %q appears twice", nw, a.Name)
		}
		seen[a.Name] = true
		if a.RefAttrName != "" {
			continue
		}
		if msg := a.check(); msg != "" {
			v.errorf("%s: attribute %q: %s", nw, a.Name, msg)
		}
		if schema != nil {
			if want, ok := schema.Attrs[a.Name]; ok && want != a.Type {
				v.errorf("%s: attribute %q must be %s, not %s", nw, a.Name, want, a.Type)
			} else if !ok && schema.Strict {
				v.errorf("%s: unknown attribute %q", nw, a.Name)
			}
		}
		if a.T != nil {
			if err := a.T.Check(); err != nil {
				v.errorf("%s: attribute %q: %v", nw, a.Name, err)
			}
		}
		for _, t := range a.Tensors {
			if err := t.Check(); err != nil {
				v.errorf("%s: attribute %q: %v", nw, a.Name, err)
			}
		}
		if a.G != nil {
			v.graph(a.G, sc, fmt.Sprintf("%s: subgraph %q", nw, a.Name))
		}
		for k, g := range a.Graphs {
			v.graph(g, sc, fmt.Sprintf("%s: subgraph %q[%d]", nw, a.Name, k))
		}
	}
}

// check reports a mismatch between an attribute's kind and its payload.
func (a *Attribute) check() string {
	switch a.Type {
	case AttrFloat, AttrInt, AttrString:
		return ""
	case AttrTensor:
		if a.T == nil {
			return "tensor attribute without a tensor"
		}
	case AttrGraph:
		if a.G == nil {
			return "graph attribute without a graph"
		}
	case AttrFloats, AttrInts, AttrStrings, AttrTensors, AttrGraphs:
		return ""
	case AttrSparseTensor, AttrSparseTensors, AttrTypeProto, AttrTypeProtos:
		return ""
	default:
		return fmt.Sprintf("unknown attribute type %d", int32(a.Type))
	}
	return ""
}

func (v *verifier) arity(n *Node, nw string) {
	if n.Domain != "" && n.Domain != "ai.onnx" {
		return
	}
	s := LookupSchema(n.Domain, n.OpType)
	if s == nil {
		return
	}
	nin := len(n.Inputs)
	for nin > 0 && n.Inputs[nin-1] == nil {
		nin--
	}
	if nin < s.MinIn || (s.MaxIn >= 0 && nin > s.MaxIn) {
		v.errorf("%s: has %d inputs, want %s", nw, nin, arityString(s.MinIn, s.MaxIn))
	}
	nout := len(n.Outputs)
	if nout < s.MinOut || (s.MaxOut >= 0 && nout > s.MaxOut) {
		v.errorf("%s: has %d outputs, want %s", nw, nout, arityString(s.MinOut, s.MaxOut))
	}
}

func arityString(lo, hi int) string {
	switch {
	case hi < 0:
		return fmt.Sprintf("at least %d", lo)
	case lo == hi:
		return fmt.Sprint(lo)
	}
	return fmt.Sprintf("%d to %d", lo, hi)
}

// windowOps take the convolution/pooling window attributes.
var windowOps = map[string]bool{
	"Conv": true, "ConvTranspose": true, "ConvInteger": true, "QLinearConv": true,
	"MaxPool": true, "AveragePool": true, "LpPool": true, "MaxUnpool": true,
}

// attrValueProblems reports attribute values no input could make valid:
// zero or negative strides, dilations and kernel sizes, negative pads,
// and a group count below one.
func attrValueProblems(n *Node) []string {
	if !windowOps[n.OpType] {
		return nil
	}
	var probs []string
	positive := func(name string) {
		for i, x := range n.AttrInts(name) {
			if x <= 0 {
				probs = append(probs, fmt.Sprintf("attribute %q[%d] is %d; it must be positive", name, i, x))
			}
		}
	}
	positive("strides")
	positive("dilations")
	positive("kernel_shape")
	for i, x := range n.AttrInts("pads") {
		if x < 0 {
			probs = append(probs, fmt.Sprintf("attribute \"pads\"[%d] is %d; pads must not be negative", i, x))
		}
	}
	if p := n.AttrInts("pads"); len(p)%2 != 0 {
		probs = append(probs, fmt.Sprintf("attribute \"pads\" has %d values; it needs a begin and an end per axis", len(p)))
	}
	if a := n.Attr("group"); a != nil && a.Type == AttrInt && a.I < 1 {
		probs = append(probs, fmt.Sprintf("attribute \"group\" is %d; it must be at least 1", a.I))
	}
	return probs
}
