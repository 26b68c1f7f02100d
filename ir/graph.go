package ir

// OpsetImport names an operator set and its version.
type OpsetImport struct {
	Domain  string // "" (or "ai.onnx") is the default domain
	Version int64
}

// StringPair is one metadata entry.
type StringPair struct{ Key, Value string }

// Model is a whole ONNX model: its main graph and everything around it.
type Model struct {
	IRVersion       int64
	Opsets          []OpsetImport
	ProducerName    string
	ProducerVersion string
	Domain          string
	ModelVersion    int64
	DocString       string
	Metadata        []StringPair
	Graph           *Graph

	// Functions and TrainingInfo are kept serialised (FunctionProto and
	// TrainingInfoProto) so they survive a round trip; nncc does not
	// rewrite them.
	Functions    [][]byte
	TrainingInfo [][]byte
	// Unknown holds wire fields this build's schema does not know (from
	// newer ONNX releases), re-emitted unchanged.
	Unknown []byte
}

// Opset returns the version imported for domain ("" and "ai.onnx" are the
// same), or 0 when the domain is not imported.
func (m *Model) Opset(domain string) int64 {
	if domain == "ai.onnx" {
		domain = ""
	}
	for _, o := range m.Opsets {
		d := o.Domain
		if d == "ai.onnx" {
			d = ""
		}
		if d == domain {
			return o.Version
		}
	}
	return 0
}

// SetOpset sets the imported version of domain, adding the import if
// needed.
func (m *Model) SetOpset(domain string, version int64) {
	for i, o := range m.Opsets {
		if o.Domain == domain || (domain == "" && o.Domain == "ai.onnx") {
			m.Opsets[i].Version = version
			return
		}
	}
	m.Opsets = append(m.Opsets, OpsetImport{Domain: domain, Version: version})
}

// Value is a named edge of the graph: a graph input, a weight, or a node
// output. Node inputs and outputs point at Values, so renaming a Value
// renames it everywhere.
type Value struct {
	Name string
	// Type is the declared or inferred type; nil when unknown.
	Type *Type
	// Const holds the value of a weight. A Value with Const set and no
	// producing node is a constant of its graph.
	Const *Tensor
	// FromConstantNode records that the constant was written in the
	// source file as a Constant node (so export can write it back the same
	// way); it does not change meaning.
	FromConstantNode bool
	DocString        string
	Unknown          []byte // unknown wire fields of its ValueInfoProto
}

// IsConst reports whether v holds a constant tensor.
func (v *Value) IsConst() bool { return v != nil && v.Const != nil }

// Node is one operator application.
type Node struct {
	Name     string
	OpType   string
	Domain   string // "" is the default ONNX domain
	Inputs   []*Value
	Outputs  []*Value
	Attrs    []*Attribute
	Doc      string
	Overload string // IR 10 function overload
	Unknown  []byte
}

// Graph is a list of nodes over values. The main graph of a model and the
// bodies of If, Loop and Scan are Graphs; a body may use values of the
// graphs that enclose it.
type Graph struct {
	Name      string
	DocString string
	// Inputs are the values the caller supplies. A Value that is both an
	// input and has Const set is an input with a default (IR < 4 style).
	Inputs  []*Value
	Outputs []*Value
	// Consts are the graph's constants (initializers and Constant nodes),
	// in file order.
	Consts []*Value
	// Nodes are kept in a topological order (see Verify).
	Nodes []*Node
	// ValueInfo lists annotated values that are neither inputs, outputs
	// nor constants, in the order they are written; their types live on
	// the Values.
	ValueInfo []*Value
	// Annotations: quantization_annotation and similar are kept
	// serialised.
	QuantAnnotations [][]byte
	Unknown          []byte
}

// AttrType is the kind of value an attribute holds. Values match
// onnx.AttributeProto.AttributeType.
type AttrType int32

// Attribute kinds.
const (
	AttrUndefined     AttrType = 0
	AttrFloat         AttrType = 1
	AttrInt           AttrType = 2
	AttrString        AttrType = 3
	AttrTensor        AttrType = 4
	AttrGraph         AttrType = 5
	AttrFloats        AttrType = 6
	AttrInts          AttrType = 7
	AttrStrings       AttrType = 8
	AttrTensors       AttrType = 9
	AttrGraphs        AttrType = 10
	AttrSparseTensor  AttrType = 11
	AttrSparseTensors AttrType = 12
	AttrTypeProto     AttrType = 13
	AttrTypeProtos    AttrType = 14
)

var attrTypeNames = [...]string{"undefined", "float", "int", "string", "tensor", "graph", "floats", "ints", "strings", "tensors", "graphs", "sparse_tensor", "sparse_tensors", "type_proto", "type_protos"}

// String returns the attribute kind's name.
func (a AttrType) String() string {
	if a >= 0 && int(a) < len(attrTypeNames) {
		return attrTypeNames[a]
	}
	return "attr_type(?)"
}

// Attribute is a named node parameter. Exactly the field matching Type is
// meaningful.
type Attribute struct {
	Name    string
	Type    AttrType
	F       float32
	I       int64
	S       []byte
	T       *Tensor
	G       *Graph
	Floats  []float32
	Ints    []int64
	Strings [][]byte
	Tensors []*Tensor
	Graphs  []*Graph
	// Opaque holds serialised sparse tensors and type protos, which nncc
	// passes through unchanged.
	Opaque [][]byte
	// RefAttrName refers to an attribute of an enclosing function.
	RefAttrName string
	DocString   string
	Unknown     []byte
}

// Label names n in messages and reports: its name, or "→" and its first
// output's name when it has none.
func (n *Node) Label() string {
	if n.Name != "" {
		return n.Name
	}
	for _, o := range n.Outputs {
		if o != nil {
			return "→" + o.Name
		}
	}
	return "(unnamed)"
}

// Attr returns the attribute called name, or nil.
func (n *Node) Attr(name string) *Attribute {
	for _, a := range n.Attrs {
		if a.Name == name {
			return a
		}
	}
	return nil
}

// AttrInt returns the int attribute name, or def when absent.
func (n *Node) AttrInt(name string, def int64) int64 {
	if a := n.Attr(name); a != nil && a.Type == AttrInt {
		return a.I
	}
	return def
}

// AttrFloat returns the float attribute name, or def when absent.
func (n *Node) AttrFloat(name string, def float32) float32 {
	if a := n.Attr(name); a != nil && a.Type == AttrFloat {
		return a.F
	}
	return def
}

// AttrString returns the string attribute name, or def when absent.
func (n *Node) AttrString(name string, def string) string {
	if a := n.Attr(name); a != nil && a.Type == AttrString {
		return string(a.S)
	}
	return def
}

// AttrInts returns the ints attribute name, or nil when absent.
func (n *Node) AttrInts(name string) []int64 {
	if a := n.Attr(name); a != nil && a.Type == AttrInts {
		return a.Ints
	}
	return nil
}

// AttrFloats returns the floats attribute name, or nil when absent.
func (n *Node) AttrFloats(name string) []float32 {
	if a := n.Attr(name); a != nil && a.Type == AttrFloats {
		return a.Floats
	}
	return nil
}

// SetAttr replaces or adds an attribute.
func (n *Node) SetAttr(a *Attribute) {
	for i, old := range n.Attrs {
		if old.Name == a.Name {
			n.Attrs[i] = a
			return
		}
	}
	n.Attrs = append(n.Attrs, a)
}

// DelAttr removes the attribute name if present.
func (n *Node) DelAttr(name string) {
	for i, a := range n.Attrs {
		if a.Name == name {
			n.Attrs = append(n.Attrs[:i], n.Attrs[i+1:]...)
			return
		}
	}
}

// Input returns input i, or nil when absent or omitted.
func (n *Node) Input(i int) *Value {
	if i < len(n.Inputs) {
		return n.Inputs[i]
	}
	return nil
}

// IntAttr, FloatAttr, ... build attributes.
func IntAttr(name string, v int64) *Attribute { return &Attribute{Name: name, Type: AttrInt, I: v} }

// FloatAttr builds a float attribute.
func FloatAttr(name string, v float32) *Attribute {
	return &Attribute{Name: name, Type: AttrFloat, F: v}
}

// StringAttr builds a string attribute.
func StringAttr(name, v string) *Attribute {
	return &Attribute{Name: name, Type: AttrString, S: []byte(v)}
}

// IntsAttr builds an ints attribute.
func IntsAttr(name string, v ...int64) *Attribute {
	return &Attribute{Name: name, Type: AttrInts, Ints: v}
}

// FloatsAttr builds a floats attribute.
func FloatsAttr(name string, v ...float32) *Attribute {
	return &Attribute{Name: name, Type: AttrFloats, Floats: v}
}

// TensorAttr builds a tensor attribute.
func TensorAttr(name string, t *Tensor) *Attribute {
	return &Attribute{Name: name, Type: AttrTensor, T: t}
}

// GraphAttr builds a graph attribute.
func GraphAttr(name string, g *Graph) *Attribute {
	return &Attribute{Name: name, Type: AttrGraph, G: g}
}

// Subgraphs returns the graphs held by the node's attributes.
func (n *Node) Subgraphs() []*Graph {
	var gs []*Graph
	for _, a := range n.Attrs {
		if a.G != nil {
			gs = append(gs, a.G)
		}
		gs = append(gs, a.Graphs...)
	}
	return gs
}
