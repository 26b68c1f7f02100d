package onnx

import (
	"errors"
	"fmt"
	"strconv"

	"google.golang.org/protobuf/proto"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/onnx/onnxpb"
)

// protoLimit is protobuf's 2 GiB message limit, less headroom for the
// graph's structure.
var protoLimit int64 = 2<<30 - 64<<20

// externalSink collects tensors moved out of the model file.
type externalSink struct {
	location  string
	threshold int64
	chunks    [][]byte
	size      int64
}

const externalAlign = 64

func (s *externalSink) add(tp *onnxpb.TensorProto, data []byte) {
	if pad := s.size % externalAlign; pad != 0 {
		s.chunks = append(s.chunks, make([]byte, externalAlign-pad))
		s.size += externalAlign - pad
	}
	tp.DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
	tp.ExternalData = []*onnxpb.StringStringEntryProto{
		{Key: proto.String("location"), Value: proto.String(s.location)},
		{Key: proto.String("offset"), Value: proto.String(strconv.FormatInt(s.size, 10))},
		{Key: proto.String("length"), Value: proto.String(strconv.FormatInt(int64(len(data)), 10))},
	}
	s.chunks = append(s.chunks, data)
	s.size += int64(len(data))
}

type encoder struct {
	ext    *externalSink // nil: all data inline
	sparse bool          // write mostly-zero initializers sparse (sparse.go)
}

// Encode serialises m deterministically with all tensor data inline.
func Encode(m *ir.Model) ([]byte, error) { return encodeWith(&encoder{}, m) }

func encodeWith(e *encoder, m *ir.Model) ([]byte, error) {
	mp, err := e.model(m)
	if err != nil {
		return nil, err
	}
	if proto.Size(mp) > 2<<30-1 {
		return nil, errors.New("model exceeds protobuf's 2 GiB limit; save it with external data")
	}
	return marshal(mp)
}

func (e *encoder) model(m *ir.Model) (*onnxpb.ModelProto, error) {
	if m.Graph == nil {
		return nil, errors.New("model has no graph")
	}
	mp := &onnxpb.ModelProto{
		IrVersion: proto.Int64(m.IRVersion),
		DocString: optString(m.DocString),
	}
	mp.ProducerName = optString(m.ProducerName)
	mp.ProducerVersion = optString(m.ProducerVersion)
	mp.Domain = optString(m.Domain)
	if m.ModelVersion != 0 {
		mp.ModelVersion = proto.Int64(m.ModelVersion)
	}
	for _, o := range m.Opsets {
		mp.OpsetImport = append(mp.OpsetImport, &onnxpb.OperatorSetIdProto{Domain: proto.String(o.Domain), Version: proto.Int64(o.Version)})
	}
	for _, p := range m.Metadata {
		mp.MetadataProps = append(mp.MetadataProps, &onnxpb.StringStringEntryProto{Key: proto.String(p.Key), Value: proto.String(p.Value)})
	}
	for _, b := range m.Functions {
		f := &onnxpb.FunctionProto{}
		if err := proto.Unmarshal(b, f); err != nil {
			return nil, err
		}
		mp.Functions = append(mp.Functions, f)
	}
	for _, b := range m.TrainingInfo {
		t := &onnxpb.TrainingInfoProto{}
		if err := proto.Unmarshal(b, t); err != nil {
			return nil, err
		}
		mp.TrainingInfo = append(mp.TrainingInfo, t)
	}
	g, err := e.graph(m.Graph)
	if err != nil {
		return nil, err
	}
	mp.Graph = g
	setUnknown(mp, m.Unknown)
	return mp, nil
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return proto.String(s)
}

func setUnknown(m proto.Message, u []byte) {
	if len(u) > 0 {
		m.ProtoReflect().SetUnknown(append([]byte(nil), u...))
	}
}

func (e *encoder) graph(g *ir.Graph) (*onnxpb.GraphProto, error) {
	gp := &onnxpb.GraphProto{Name: proto.String(g.Name), DocString: optString(g.DocString)}
	listed := map[*ir.Value]bool{}
	for _, v := range g.Inputs {
		gp.Input = append(gp.Input, valueInfo(v))
		listed[v] = true
	}
	for _, v := range g.Outputs {
		gp.Output = append(gp.Output, valueInfo(v))
		listed[v] = true
	}
	for _, c := range g.Consts {
		listed[c] = true
		if c.FromConstantNode {
			t, err := e.tensor(c.Const, "", false)
			if err != nil {
				return nil, fmt.Errorf("constant %q: %v", c.Name, err)
			}
			gp.Node = append(gp.Node, &onnxpb.NodeProto{
				Output: []string{c.Name}, OpType: proto.String("Constant"),
				Attribute: []*onnxpb.AttributeProto{{Name: proto.String("value"), Type: onnxpb.AttributeProto_TENSOR.Enum(), T: t}},
			})
			continue
		}
		if sp := e.sparseInit(g, c); sp != nil {
			gp.SparseInitializer = append(gp.SparseInitializer, sp)
			continue
		}
		t, err := e.tensor(c.Const, c.Name, true)
		if err != nil {
			return nil, fmt.Errorf("initializer %q: %v", c.Name, err)
		}
		gp.Initializer = append(gp.Initializer, t)
	}
	for _, n := range g.Nodes {
		np, err := e.node(n)
		if err != nil {
			return nil, err
		}
		gp.Node = append(gp.Node, np)
	}
	for _, v := range g.ValueInfo {
		if !listed[v] {
			gp.ValueInfo = append(gp.ValueInfo, valueInfo(v))
			listed[v] = true
		}
	}
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			if o != nil && !listed[o] && o.Type != nil && o.Type.Kind != ir.KindUnknown {
				gp.ValueInfo = append(gp.ValueInfo, valueInfo(o))
				listed[o] = true
			}
		}
	}
	for _, b := range g.QuantAnnotations {
		qa := &onnxpb.TensorAnnotation{}
		if err := proto.Unmarshal(b, qa); err != nil {
			return nil, err
		}
		gp.QuantizationAnnotation = append(gp.QuantizationAnnotation, qa)
	}
	setUnknown(gp, g.Unknown)
	return gp, nil
}

func valueName(v *ir.Value) string {
	if v == nil {
		return ""
	}
	return v.Name
}

func (e *encoder) node(n *ir.Node) (*onnxpb.NodeProto, error) {
	np := &onnxpb.NodeProto{OpType: proto.String(n.OpType), Name: optString(n.Name), Domain: optString(n.Domain), DocString: optString(n.Doc)}
	for _, v := range n.Inputs {
		np.Input = append(np.Input, valueName(v))
	}
	for _, v := range n.Outputs {
		np.Output = append(np.Output, valueName(v))
	}
	for _, a := range n.Attrs {
		ap, err := e.attribute(a)
		if err != nil {
			return nil, fmt.Errorf("node %q (%s): attribute %q: %v", n.Name, n.OpType, a.Name, err)
		}
		np.Attribute = append(np.Attribute, ap)
	}
	setUnknown(np, n.Unknown)
	return np, nil
}

func (e *encoder) attribute(a *ir.Attribute) (*onnxpb.AttributeProto, error) {
	ap := &onnxpb.AttributeProto{Name: proto.String(a.Name), DocString: optString(a.DocString), RefAttrName: optString(a.RefAttrName)}
	if a.Type != ir.AttrUndefined {
		ap.Type = onnxpb.AttributeProto_AttributeType(a.Type).Enum()
	}
	var err error
	switch a.Type {
	case ir.AttrFloat:
		ap.F = proto.Float32(a.F)
	case ir.AttrInt:
		ap.I = proto.Int64(a.I)
	case ir.AttrString:
		ap.S = a.S
		if ap.S == nil {
			ap.S = []byte{}
		}
	case ir.AttrTensor:
		if ap.T, err = e.tensor(a.T, "", false); err != nil {
			return nil, err
		}
	case ir.AttrGraph:
		if ap.G, err = e.graph(a.G); err != nil {
			return nil, err
		}
	case ir.AttrFloats:
		ap.Floats = a.Floats
	case ir.AttrInts:
		ap.Ints = a.Ints
	case ir.AttrStrings:
		ap.Strings = a.Strings
	case ir.AttrTensors:
		for _, t := range a.Tensors {
			tp, err := e.tensor(t, "", false)
			if err != nil {
				return nil, err
			}
			ap.Tensors = append(ap.Tensors, tp)
		}
	case ir.AttrGraphs:
		for _, g := range a.Graphs {
			gp, err := e.graph(g)
			if err != nil {
				return nil, err
			}
			ap.Graphs = append(ap.Graphs, gp)
		}
	case ir.AttrSparseTensor, ir.AttrSparseTensors:
		for _, b := range a.Opaque {
			s := &onnxpb.SparseTensorProto{}
			if err := proto.Unmarshal(b, s); err != nil {
				return nil, err
			}
			if a.Type == ir.AttrSparseTensor {
				ap.SparseTensor = s
			} else {
				ap.SparseTensors = append(ap.SparseTensors, s)
			}
		}
	case ir.AttrTypeProto, ir.AttrTypeProtos:
		for _, b := range a.Opaque {
			t := &onnxpb.TypeProto{}
			if err := proto.Unmarshal(b, t); err != nil {
				return nil, err
			}
			if a.Type == ir.AttrTypeProto {
				ap.Tp = t
			} else {
				ap.TypeProtos = append(ap.TypeProtos, t)
			}
		}
	}
	setUnknown(ap, a.Unknown)
	return ap, nil
}

// tensor converts an ir.Tensor; data of initializers may go external.
func (e *encoder) tensor(t *ir.Tensor, name string, mayExternal bool) (*onnxpb.TensorProto, error) {
	if err := t.Check(); err != nil {
		return nil, err
	}
	tp := &onnxpb.TensorProto{Dims: t.Dims, DataType: proto.Int32(int32(t.DType)), Name: optString(name), DocString: optString(t.DocString)}
	if t.DType == ir.String {
		tp.StringData = t.Strings
		if tp.StringData == nil {
			tp.StringData = [][]byte{}
		}
		return tp, nil
	}
	if mayExternal && e.ext != nil && int64(len(t.Data)) >= e.ext.threshold {
		e.ext.add(tp, t.Data)
		return tp, nil
	}
	tp.RawData = t.Data
	return tp, nil
}

func valueInfo(v *ir.Value) *onnxpb.ValueInfoProto {
	vi := &onnxpb.ValueInfoProto{Name: proto.String(v.Name), DocString: optString(v.DocString)}
	vi.Type = encodeType(v.Type)
	setUnknown(vi, v.Unknown)
	return vi
}

func encodeType(t *ir.Type) *onnxpb.TypeProto {
	if t == nil || t.Kind == ir.KindUnknown {
		return nil
	}
	tp := &onnxpb.TypeProto{Denotation: optString(t.Denotation)}
	switch t.Kind {
	case ir.KindTensor:
		tt := &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(t.DType))}
		if t.HasShape {
			tt.Shape = encodeShape(t.Shape)
		}
		tp.Value = &onnxpb.TypeProto_TensorType{TensorType: tt}
	case ir.KindSparseTensor:
		tt := &onnxpb.TypeProto_SparseTensor{ElemType: proto.Int32(int32(t.DType))}
		if t.HasShape {
			tt.Shape = encodeShape(t.Shape)
		}
		tp.Value = &onnxpb.TypeProto_SparseTensorType{SparseTensorType: tt}
	case ir.KindSequence:
		tp.Value = &onnxpb.TypeProto_SequenceType{SequenceType: &onnxpb.TypeProto_Sequence{ElemType: encodeType(t.Elem)}}
	case ir.KindOptional:
		tp.Value = &onnxpb.TypeProto_OptionalType{OptionalType: &onnxpb.TypeProto_Optional{ElemType: encodeType(t.Elem)}}
	case ir.KindMap:
		tp.Value = &onnxpb.TypeProto_MapType{MapType: &onnxpb.TypeProto_Map{KeyType: proto.Int32(int32(t.KeyType)), ValueType: encodeType(t.Elem)}}
	}
	return tp
}

func encodeShape(s ir.Shape) *onnxpb.TensorShapeProto {
	sp := &onnxpb.TensorShapeProto{Dim: make([]*onnxpb.TensorShapeProto_Dimension, len(s))}
	for i, d := range s {
		dim := &onnxpb.TensorShapeProto_Dimension{Denotation: optString(d.Denotation)}
		switch {
		case d.Param != "":
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: d.Param}
		case d.Value >= 0:
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d.Value}
		}
		sp.Dim[i] = dim
	}
	return sp
}
