package onnx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"google.golang.org/protobuf/proto"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/onnx/onnxpb"
)

// MaxDepth bounds the nesting of subgraphs (If/Loop/Scan bodies) a model
// may have.
const MaxDepth = 64

// ErrBadModel is wrapped by every error that is the model file's fault
// (as opposed to I/O failures of the machine).
var ErrBadModel = errors.New("bad model")

// Error describes a problem with a model file.
type Error struct {
	File string // the model file (or the data file for external data)
	Msg  string
}

func (e *Error) Error() string {
	if e.File == "" {
		return e.Msg
	}
	return e.File + ": " + e.Msg
}

// Unwrap lets errors.Is(err, ErrBadModel) hold.
func (e *Error) Unwrap() error { return ErrBadModel }

// LoadOptions tune Load and Decode.
type LoadOptions struct {
	// Dir is the directory that external data locations are relative to.
	// Load sets it to the model's directory; with Decode and no Dir,
	// external data is refused.
	Dir string
	// SkipVerify skips the final ir.Verify (for tools that repair models).
	SkipVerify bool
}

// Load reads the model at path, with its external data.
func Load(path string) (*ir.Model, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m, err := Decode(data, LoadOptions{Dir: filepath.Dir(path)})
	if err != nil {
		var e *Error
		if errors.As(err, &e) && e.File == "" {
			e.File = path
			return nil, e
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// Decode converts a serialised ModelProto into the IR.
func Decode(data []byte, opts LoadOptions) (*ir.Model, error) {
	if len(data) == 0 {
		return nil, &Error{Msg: "empty file, not an ONNX model"}
	}
	var mp onnxpb.ModelProto
	if err := proto.Unmarshal(data, &mp); err != nil {
		return nil, &Error{Msg: "not an ONNX model: " + err.Error()}
	}
	if mp.Graph == nil {
		return nil, &Error{Msg: "not an ONNX model: no graph (is this an ONNX file?)"}
	}
	d := &decoder{opts: opts}
	defer d.close()
	m := &ir.Model{
		IRVersion:       mp.GetIrVersion(),
		ProducerName:    mp.GetProducerName(),
		ProducerVersion: mp.GetProducerVersion(),
		Domain:          mp.GetDomain(),
		ModelVersion:    mp.GetModelVersion(),
		DocString:       mp.GetDocString(),
		Unknown:         unknown(&mp),
	}
	for _, o := range mp.OpsetImport {
		m.Opsets = append(m.Opsets, ir.OpsetImport{Domain: o.GetDomain(), Version: o.GetVersion()})
	}
	for _, p := range mp.MetadataProps {
		m.Metadata = append(m.Metadata, ir.StringPair{Key: p.GetKey(), Value: p.GetValue()})
	}
	var err error
	for _, f := range mp.Functions {
		b, e := marshal(f)
		if e != nil {
			return nil, e
		}
		m.Functions = append(m.Functions, b)
	}
	for _, t := range mp.TrainingInfo {
		b, e := marshal(t)
		if e != nil {
			return nil, e
		}
		m.TrainingInfo = append(m.TrainingInfo, b)
	}
	if m.Graph, err = d.graph(mp.Graph, nil, 0); err != nil {
		return nil, err
	}
	if !opts.SkipVerify {
		if err := ir.Verify(m); err != nil {
			return nil, &Error{Msg: err.Error()}
		}
	}
	return m, nil
}

func marshal(m proto.Message) ([]byte, error) {
	return proto.MarshalOptions{Deterministic: true}.Marshal(m)
}

func unknown(m proto.Message) []byte {
	u := m.ProtoReflect().GetUnknown()
	if len(u) == 0 {
		return nil
	}
	return append([]byte(nil), u...)
}

type decoder struct {
	opts  LoadOptions
	files *externalFiles
}

func (d *decoder) close() {
	if d.files != nil {
		d.files.close()
	}
}

// scope resolves value names in a graph and the graphs around it.
type scope struct {
	parent *scope
	names  map[string]*ir.Value
}

func (s *scope) lookup(name string) *ir.Value {
	for ; s != nil; s = s.parent {
		if v, ok := s.names[name]; ok {
			return v
		}
	}
	return nil
}

func (d *decoder) graph(gp *onnxpb.GraphProto, parent *scope, depth int) (*ir.Graph, error) {
	if depth > MaxDepth {
		return nil, &Error{Msg: fmt.Sprintf("subgraphs nested more than %d deep", MaxDepth)}
	}
	g := &ir.Graph{Name: gp.GetName(), DocString: gp.GetDocString(), Unknown: unknown(gp)}
	where := "graph"
	if g.Name != "" {
		where = fmt.Sprintf("graph %q", g.Name)
	}
	sc := &scope{parent: parent, names: map[string]*ir.Value{}}
	define := func(v *ir.Value, what string) error {
		if v.Name == "" {
			return &Error{Msg: fmt.Sprintf("%s: %s with an empty name", where, what)}
		}
		if _, dup := sc.names[v.Name]; dup {
			return &Error{Msg: fmt.Sprintf("%s: value %q is defined more than once", where, v.Name)}
		}
		sc.names[v.Name] = v
		return nil
	}
	// Constants: initializers, sparse initializers, then Constant nodes.
	for _, tp := range gp.Initializer {
		t, err := d.tensor(tp)
		if err != nil {
			return nil, &Error{Msg: fmt.Sprintf("%s: initializer %q: %v", where, tp.GetName(), err)}
		}
		v := &ir.Value{Name: tp.GetName(), Const: t, Type: constType(t)}
		if err := define(v, "initializer"); err != nil {
			return nil, err
		}
		g.Consts = append(g.Consts, v)
	}
	for _, sp := range gp.SparseInitializer {
		t, err := d.sparse(sp)
		name := sp.GetValues().GetName()
		if err != nil {
			return nil, &Error{Msg: fmt.Sprintf("%s: sparse initializer %q: %v", where, name, err)}
		}
		v := &ir.Value{Name: name, Const: t, Type: constType(t)}
		if err := define(v, "sparse initializer"); err != nil {
			return nil, err
		}
		g.Consts = append(g.Consts, v)
	}
	for _, vi := range gp.Input {
		typ, err := decodeType(vi.Type)
		if err != nil {
			return nil, &Error{Msg: fmt.Sprintf("%s: input %q: %v", where, vi.GetName(), err)}
		}
		if v, ok := sc.names[vi.GetName()]; ok && v.Const != nil {
			// IR < 4: an initializer listed as an input is an input
			// with a default value.
			if typ != nil {
				v.Type = typ
			}
			v.DocString, v.Unknown = vi.GetDocString(), unknown(vi)
			g.Inputs = append(g.Inputs, v)
			continue
		}
		v := &ir.Value{Name: vi.GetName(), Type: typ, DocString: vi.GetDocString(), Unknown: unknown(vi)}
		if err := define(v, "input"); err != nil {
			return nil, err
		}
		g.Inputs = append(g.Inputs, v)
	}
	// Node outputs are defined before inputs are resolved, so a file whose
	// nodes are out of order still loads (and is sorted below).
	type pending struct {
		np   *onnxpb.NodeProto
		node *ir.Node
	}
	var nodes []pending
	for i, np := range gp.Node {
		if np.GetOpType() == "Constant" && isDefaultDomain(np.GetDomain()) && len(np.Output) == 1 {
			t, ok, err := d.constantNode(np)
			if err != nil {
				return nil, &Error{Msg: fmt.Sprintf("%s: Constant node %q: %v", where, nodeLabel(np, i), err)}
			}
			if ok {
				v := &ir.Value{Name: np.Output[0], Const: t, Type: constType(t), FromConstantNode: true}
				if err := define(v, "Constant output"); err != nil {
					return nil, err
				}
				g.Consts = append(g.Consts, v)
				continue
			}
		}
		n := &ir.Node{Name: np.GetName(), OpType: np.GetOpType(), Domain: np.GetDomain(), Doc: np.GetDocString(), Unknown: unknown(np)}
		if n.Domain == "ai.onnx" {
			n.Domain = ""
		}
		for _, o := range np.Output {
			if o == "" {
				n.Outputs = append(n.Outputs, nil)
				continue
			}
			v := &ir.Value{Name: o}
			if err := define(v, fmt.Sprintf("output of node %q", nodeLabel(np, i))); err != nil {
				return nil, err
			}
			n.Outputs = append(n.Outputs, v)
		}
		nodes = append(nodes, pending{np, n})
	}
	for _, p := range nodes {
		label := p.node.Name
		for _, in := range p.np.Input {
			if in == "" {
				p.node.Inputs = append(p.node.Inputs, nil)
				continue
			}
			v := sc.lookup(in)
			if v == nil {
				return nil, &Error{Msg: fmt.Sprintf("%s: node %q (%s): input %q is not defined", where, label, p.node.OpType, in)}
			}
			p.node.Inputs = append(p.node.Inputs, v)
		}
		for _, ap := range p.np.Attribute {
			a, err := d.attribute(ap, sc, depth)
			if err != nil {
				return nil, &Error{Msg: fmt.Sprintf("%s: node %q (%s): attribute %q: %v", where, label, p.node.OpType, ap.GetName(), unwrapMsg(err))}
			}
			p.node.Attrs = append(p.node.Attrs, a)
		}
		g.Nodes = append(g.Nodes, p.node)
	}
	for _, vi := range gp.Output {
		v := sc.lookup(vi.GetName())
		if v == nil {
			return nil, &Error{Msg: fmt.Sprintf("%s: output %q is not defined", where, vi.GetName())}
		}
		typ, err := decodeType(vi.Type)
		if err != nil {
			return nil, &Error{Msg: fmt.Sprintf("%s: output %q: %v", where, vi.GetName(), err)}
		}
		if typ != nil && v.Const == nil {
			v.Type = typ
		}
		if v.DocString == "" {
			v.DocString = vi.GetDocString()
		}
		g.Outputs = append(g.Outputs, v)
	}
	for _, vi := range gp.ValueInfo {
		v := sc.names[vi.GetName()]
		if v == nil {
			continue // annotation of a value that does not exist: dropped
		}
		typ, err := decodeType(vi.Type)
		if err != nil {
			return nil, &Error{Msg: fmt.Sprintf("%s: value_info %q: %v", where, vi.GetName(), err)}
		}
		if v.Type == nil {
			v.Type = typ
		}
		v.DocString, v.Unknown = vi.GetDocString(), unknown(vi)
		g.ValueInfo = append(g.ValueInfo, v)
	}
	for _, qa := range gp.QuantizationAnnotation {
		b, err := marshal(qa)
		if err != nil {
			return nil, err
		}
		g.QuantAnnotations = append(g.QuantAnnotations, b)
	}
	if !topological(g) {
		if err := g.TopoSort(); err != nil {
			return nil, &Error{Msg: err.Error()}
		}
	}
	return g, nil
}

func unwrapMsg(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Msg
	}
	return err.Error()
}

func nodeLabel(np *onnxpb.NodeProto, i int) string {
	if np.GetName() != "" {
		return np.GetName()
	}
	return fmt.Sprintf("#%d", i)
}

func isDefaultDomain(d string) bool { return d == "" || d == "ai.onnx" }

// topological reports whether every node input produced in g is produced
// by an earlier node.
func topological(g *ir.Graph) bool {
	produced := map[*ir.Value]int{}
	for i, n := range g.Nodes {
		for _, o := range n.Outputs {
			if o != nil {
				produced[o] = i
			}
		}
	}
	for i, n := range g.Nodes {
		for _, in := range n.Inputs {
			if p, ok := produced[in]; ok && p >= i {
				return false
			}
		}
		for _, sg := range n.Subgraphs() {
			for v := range sg.Captures() {
				if p, ok := produced[v]; ok && p >= i {
					return false
				}
			}
		}
	}
	return true
}

func constType(t *ir.Tensor) *ir.Type {
	return &ir.Type{Kind: ir.KindTensor, DType: t.DType, HasShape: true, Shape: ir.ShapeOf(t.Dims...)}
}

// constantNode decodes the value of a Constant node. ok is false for forms
// kept as a node (sparse_value).
func (d *decoder) constantNode(np *onnxpb.NodeProto) (*ir.Tensor, bool, error) {
	if len(np.Attribute) != 1 {
		return nil, false, fmt.Errorf("want exactly one value attribute, have %d", len(np.Attribute))
	}
	a := np.Attribute[0]
	switch a.GetName() {
	case "value":
		if a.T == nil {
			return nil, false, errors.New("value attribute holds no tensor")
		}
		t, err := d.tensor(a.T)
		return t, err == nil, err
	case "value_float":
		return ir.FromFloat32(nil, []float32{a.GetF()}), true, nil
	case "value_floats":
		return ir.FromFloat32([]int64{int64(len(a.Floats))}, a.Floats), true, nil
	case "value_int":
		return ir.FromInt64(nil, []int64{a.GetI()}), true, nil
	case "value_ints":
		return ir.FromInt64([]int64{int64(len(a.Ints))}, a.Ints), true, nil
	case "value_string":
		return &ir.Tensor{DType: ir.String, Strings: [][]byte{a.S}}, true, nil
	case "value_strings":
		return &ir.Tensor{DType: ir.String, Dims: []int64{int64(len(a.Strings))}, Strings: a.Strings}, true, nil
	case "sparse_value":
		return nil, false, nil
	}
	return nil, false, fmt.Errorf("unknown value attribute %q", a.GetName())
}

func (d *decoder) attribute(ap *onnxpb.AttributeProto, sc *scope, depth int) (*ir.Attribute, error) {
	a := &ir.Attribute{Name: ap.GetName(), Type: ir.AttrType(ap.GetType()), RefAttrName: ap.GetRefAttrName(), DocString: ap.GetDocString(), Unknown: unknown(ap)}
	if a.Type == ir.AttrUndefined && a.RefAttrName == "" {
		// Very old files omit the type; infer it from the field set.
		a.Type = guessAttrType(ap)
	}
	var err error
	switch a.Type {
	case ir.AttrFloat:
		a.F = ap.GetF()
	case ir.AttrInt:
		a.I = ap.GetI()
	case ir.AttrString:
		a.S = ap.S
		if a.S == nil {
			a.S = []byte{}
		}
	case ir.AttrTensor:
		if ap.T == nil {
			return nil, errors.New("tensor attribute holds no tensor")
		}
		if a.T, err = d.tensor(ap.T); err != nil {
			return nil, err
		}
	case ir.AttrGraph:
		if ap.G == nil {
			return nil, errors.New("graph attribute holds no graph")
		}
		if a.G, err = d.graph(ap.G, sc, depth+1); err != nil {
			return nil, err
		}
	case ir.AttrFloats:
		a.Floats = ap.Floats
	case ir.AttrInts:
		a.Ints = ap.Ints
	case ir.AttrStrings:
		a.Strings = ap.Strings
	case ir.AttrTensors:
		for _, tp := range ap.Tensors {
			t, err := d.tensor(tp)
			if err != nil {
				return nil, err
			}
			a.Tensors = append(a.Tensors, t)
		}
	case ir.AttrGraphs:
		for _, gp := range ap.Graphs {
			g, err := d.graph(gp, sc, depth+1)
			if err != nil {
				return nil, err
			}
			a.Graphs = append(a.Graphs, g)
		}
	case ir.AttrSparseTensor:
		b, err := marshal(ap.SparseTensor)
		if err != nil {
			return nil, err
		}
		a.Opaque = [][]byte{b}
	case ir.AttrSparseTensors:
		for _, s := range ap.SparseTensors {
			b, err := marshal(s)
			if err != nil {
				return nil, err
			}
			a.Opaque = append(a.Opaque, b)
		}
	case ir.AttrTypeProto:
		b, err := marshal(ap.Tp)
		if err != nil {
			return nil, err
		}
		a.Opaque = [][]byte{b}
	case ir.AttrTypeProtos:
		for _, s := range ap.TypeProtos {
			b, err := marshal(s)
			if err != nil {
				return nil, err
			}
			a.Opaque = append(a.Opaque, b)
		}
	case ir.AttrUndefined:
		// A reference to a function attribute; nothing else to keep.
	default:
		return nil, fmt.Errorf("unknown attribute type %d", int32(a.Type))
	}
	return a, nil
}

func guessAttrType(ap *onnxpb.AttributeProto) ir.AttrType {
	switch {
	case ap.F != nil:
		return ir.AttrFloat
	case ap.I != nil:
		return ir.AttrInt
	case ap.S != nil:
		return ir.AttrString
	case ap.T != nil:
		return ir.AttrTensor
	case ap.G != nil:
		return ir.AttrGraph
	case len(ap.Floats) > 0:
		return ir.AttrFloats
	case len(ap.Ints) > 0:
		return ir.AttrInts
	case len(ap.Strings) > 0:
		return ir.AttrStrings
	case len(ap.Tensors) > 0:
		return ir.AttrTensors
	case len(ap.Graphs) > 0:
		return ir.AttrGraphs
	}
	return ir.AttrUndefined
}

func decodeType(tp *onnxpb.TypeProto) (*ir.Type, error) {
	return decodeTypeDepth(tp, 0)
}

func decodeTypeDepth(tp *onnxpb.TypeProto, depth int) (*ir.Type, error) {
	if tp == nil {
		return nil, nil
	}
	if depth > MaxDepth {
		return nil, fmt.Errorf("type nested more than %d deep", MaxDepth)
	}
	t := &ir.Type{Denotation: tp.GetDenotation()}
	var err error
	switch v := tp.Value.(type) {
	case *onnxpb.TypeProto_TensorType:
		t.Kind = ir.KindTensor
		t.DType = ir.DType(v.TensorType.GetElemType())
		if t.HasShape, t.Shape, err = decodeShape(v.TensorType.Shape); err != nil {
			return nil, err
		}
	case *onnxpb.TypeProto_SparseTensorType:
		t.Kind = ir.KindSparseTensor
		t.DType = ir.DType(v.SparseTensorType.GetElemType())
		if t.HasShape, t.Shape, err = decodeShape(v.SparseTensorType.Shape); err != nil {
			return nil, err
		}
	case *onnxpb.TypeProto_SequenceType:
		t.Kind = ir.KindSequence
		if t.Elem, err = decodeTypeDepth(v.SequenceType.ElemType, depth+1); err != nil {
			return nil, err
		}
	case *onnxpb.TypeProto_OptionalType:
		t.Kind = ir.KindOptional
		if t.Elem, err = decodeTypeDepth(v.OptionalType.ElemType, depth+1); err != nil {
			return nil, err
		}
	case *onnxpb.TypeProto_MapType:
		t.Kind = ir.KindMap
		t.KeyType = ir.DType(v.MapType.GetKeyType())
		if t.Elem, err = decodeTypeDepth(v.MapType.ValueType, depth+1); err != nil {
			return nil, err
		}
	case nil:
		return t, nil
	}
	if (t.Kind == ir.KindTensor || t.Kind == ir.KindSparseTensor) && t.DType != ir.Undefined && !t.DType.Valid() {
		return nil, fmt.Errorf("unknown element type %d", int32(t.DType))
	}
	return t, nil
}

func decodeShape(sp *onnxpb.TensorShapeProto) (bool, ir.Shape, error) {
	if sp == nil {
		return false, nil, nil
	}
	s := make(ir.Shape, len(sp.Dim))
	for i, d := range sp.Dim {
		s[i] = ir.UnknownDim
		s[i].Denotation = d.GetDenotation()
		switch v := d.Value.(type) {
		case *onnxpb.TensorShapeProto_Dimension_DimValue:
			if v.DimValue < 0 {
				return false, nil, fmt.Errorf("dim %d is negative (%d)", i, v.DimValue)
			}
			s[i].Value = v.DimValue
		case *onnxpb.TensorShapeProto_Dimension_DimParam:
			s[i].Param = v.DimParam
		}
	}
	return true, s, nil
}

// tensor converts a TensorProto to an ir.Tensor, checking sizes before
// allocating anything.
func (d *decoder) tensor(tp *onnxpb.TensorProto) (*ir.Tensor, error) {
	dt := ir.DType(tp.GetDataType())
	if !dt.Valid() {
		return nil, fmt.Errorf("unknown data type %d", int32(dt))
	}
	if tp.Segment != nil {
		return nil, errors.New("segmented tensors are not supported")
	}
	for i, dim := range tp.Dims {
		if dim < 0 {
			return nil, fmt.Errorf("dim %d is negative (%d)", i, dim)
		}
	}
	n := ir.NumElements(tp.Dims)
	if n < 0 {
		return nil, fmt.Errorf("dims %v overflow", tp.Dims)
	}
	t := &ir.Tensor{DType: dt, Dims: append([]int64{}, tp.Dims...), DocString: tp.GetDocString()}
	if t.Dims == nil {
		t.Dims = []int64{}
	}
	if dt == ir.String {
		if len(tp.RawData) > 0 {
			return nil, errors.New("string tensor with raw_data")
		}
		if int64(len(tp.StringData)) != n {
			return nil, fmt.Errorf("%d strings for dims %v", len(tp.StringData), tp.Dims)
		}
		t.Strings = tp.StringData
		return t, nil
	}
	size, ok := dt.ByteSize(n)
	if !ok {
		return nil, fmt.Errorf("dims %v of %s overflow", tp.Dims, dt)
	}
	typed := typedCount(tp)
	external := tp.GetDataLocation() == onnxpb.TensorProto_EXTERNAL
	sources := 0
	if len(tp.RawData) > 0 {
		sources++
	}
	if typed > 0 {
		sources++
	}
	if external {
		sources++
	}
	if sources > 1 {
		return nil, errors.New("tensor has data in more than one field (raw_data, typed data, external data)")
	}
	switch {
	case external:
		data, err := d.external(tp, size)
		if err != nil {
			return nil, err
		}
		t.Data = data
	case len(tp.RawData) > 0 || size == 0:
		if int64(len(tp.RawData)) != size {
			return nil, fmt.Errorf("raw_data has %d bytes, %s%v needs %d", len(tp.RawData), dt, tp.Dims, size)
		}
		t.Data = tp.RawData
		if t.Data == nil {
			t.Data = []byte{}
		}
	default:
		data, err := typedToRaw(tp, dt, n, size, typed)
		if err != nil {
			return nil, err
		}
		t.Data = data
	}
	return t, nil
}

func typedCount(tp *onnxpb.TensorProto) int {
	return len(tp.FloatData) + len(tp.Int32Data) + len(tp.Int64Data) + len(tp.DoubleData) + len(tp.Uint64Data) + len(tp.StringData)
}

// typedToRaw converts the typed data fields to raw little-endian bytes.
func typedToRaw(tp *onnxpb.TensorProto, dt ir.DType, n, size int64, typed int) ([]byte, error) {
	le := binary.LittleEndian
	want := n
	switch dt {
	case ir.Complex64, ir.Complex128:
		want = 2 * n
	case ir.Int4, ir.Uint4, ir.Float4E2M1:
		want = (n + 1) / 2
	}
	field, have := "", 0
	switch dt {
	case ir.Float32, ir.Complex64:
		field, have = "float_data", len(tp.FloatData)
	case ir.Float64, ir.Complex128:
		field, have = "double_data", len(tp.DoubleData)
	case ir.Int64:
		field, have = "int64_data", len(tp.Int64Data)
	case ir.Uint32, ir.Uint64:
		field, have = "uint64_data", len(tp.Uint64Data)
	default:
		field, have = "int32_data", len(tp.Int32Data)
	}
	if have != typed {
		return nil, fmt.Errorf("%s tensor stores data outside %s", dt, field)
	}
	if int64(have) != want {
		return nil, fmt.Errorf("%s has %d values, %s%v needs %d", field, have, dt, tp.Dims, want)
	}
	out := make([]byte, size)
	switch dt {
	case ir.Float32, ir.Complex64:
		for i, v := range tp.FloatData {
			le.PutUint32(out[4*i:], math.Float32bits(v))
		}
	case ir.Float64, ir.Complex128:
		for i, v := range tp.DoubleData {
			le.PutUint64(out[8*i:], math.Float64bits(v))
		}
	case ir.Int64:
		for i, v := range tp.Int64Data {
			le.PutUint64(out[8*i:], uint64(v))
		}
	case ir.Uint32:
		for i, v := range tp.Uint64Data {
			le.PutUint32(out[4*i:], uint32(v))
		}
	case ir.Uint64:
		for i, v := range tp.Uint64Data {
			le.PutUint64(out[8*i:], v)
		}
	case ir.Int32:
		for i, v := range tp.Int32Data {
			le.PutUint32(out[4*i:], uint32(v))
		}
	case ir.Int16, ir.Uint16, ir.Float16, ir.BFloat16:
		for i, v := range tp.Int32Data {
			le.PutUint16(out[2*i:], uint16(v))
		}
	default: // 8-bit and packed 4-bit types: one byte per int32 value
		for i, v := range tp.Int32Data {
			out[i] = byte(v)
		}
	}
	return out, nil
}

// sparse converts a SparseTensorProto to a dense tensor.
func (d *decoder) sparse(sp *onnxpb.SparseTensorProto) (*ir.Tensor, error) {
	if sp.Values == nil || sp.Indices == nil {
		return nil, errors.New("sparse tensor without values or indices")
	}
	vals, err := d.tensor(sp.Values)
	if err != nil {
		return nil, fmt.Errorf("values: %v", err)
	}
	idx, err := d.tensor(sp.Indices)
	if err != nil {
		return nil, fmt.Errorf("indices: %v", err)
	}
	if vals.DType == ir.String || vals.DType.Bits() < 8 {
		return nil, fmt.Errorf("sparse %s tensors are not supported", vals.DType)
	}
	if idx.DType != ir.Int64 {
		return nil, errors.New("sparse indices must be int64")
	}
	for i, dim := range sp.Dims {
		if dim < 0 {
			return nil, fmt.Errorf("dim %d is negative (%d)", i, dim)
		}
	}
	total := ir.NumElements(sp.Dims)
	size, ok := vals.DType.ByteSize(total)
	if total < 0 || !ok || size > maxDenseSparse {
		return nil, fmt.Errorf("dense form of dims %v is too large", sp.Dims)
	}
	nnz := vals.NumElements()
	if len(vals.Dims) != 1 {
		return nil, errors.New("sparse values must be 1-D")
	}
	rank := int64(len(sp.Dims))
	ind := idx.Int64s()
	linear := len(idx.Dims) == 1
	if linear && int64(len(ind)) != nnz || !linear && (len(idx.Dims) != 2 || idx.Dims[0] != nnz || idx.Dims[1] != rank) {
		return nil, fmt.Errorf("indices of shape %v do not fit %d values of rank %d", idx.Dims, nnz, rank)
	}
	out := ir.NewTensor(vals.DType, sp.Dims...)
	es := int64(vals.DType.Bits() / 8)
	for k := int64(0); k < nnz; k++ {
		var off int64
		if linear {
			off = ind[k]
		} else {
			for j := int64(0); j < rank; j++ {
				c := ind[k*rank+j]
				if c < 0 || c >= sp.Dims[j] {
					return nil, fmt.Errorf("index %d out of range for dim %d", c, j)
				}
				off = off*sp.Dims[j] + c
			}
		}
		if off < 0 || off >= total {
			return nil, fmt.Errorf("index %d out of range", off)
		}
		copy(out.Data[off*es:(off+1)*es], vals.Data[k*es:(k+1)*es])
	}
	return out, nil
}

// maxDenseSparse bounds the dense size a sparse initializer may expand to.
const maxDenseSparse = 4 << 30
