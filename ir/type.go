package ir

import (
	"strconv"
	"strings"
)

// TypeKind says which family of ONNX type a Type describes.
type TypeKind uint8

// The type kinds. KindUnknown means the type is not recorded.
const (
	KindUnknown TypeKind = iota
	KindTensor
	KindSequence
	KindMap
	KindOptional
	KindSparseTensor
)

// Dim is one dimension of a shape: a known size (Value ≥ 0), a symbolic
// name (Param != ""), or unknown (Value < 0 and no Param).
type Dim struct {
	Value      int64
	Param      string
	Denotation string
}

// Known reports whether the dimension has a concrete size.
func (d Dim) Known() bool { return d.Param == "" && d.Value >= 0 }

// String returns the size, the symbolic name, or "?".
func (d Dim) String() string {
	switch {
	case d.Param != "":
		return d.Param
	case d.Value >= 0:
		return strconv.FormatInt(d.Value, 10)
	}
	return "?"
}

// D returns a known dimension of size n.
func D(n int64) Dim { return Dim{Value: n} }

// Sym returns a symbolic dimension.
func Sym(name string) Dim { return Dim{Value: -1, Param: name} }

// UnknownDim is a dimension about which nothing is known.
var UnknownDim = Dim{Value: -1}

// Shape is a list of dimensions. A nil Shape inside a Type whose HasShape
// is false means the rank is unknown.
type Shape []Dim

// Static returns the concrete sizes and true when every dim is known.
func (s Shape) Static() ([]int64, bool) {
	out := make([]int64, len(s))
	for i, d := range s {
		if !d.Known() {
			return nil, false
		}
		out[i] = d.Value
	}
	return out, true
}

// String formats the shape as [1,3,N,?].
func (s Shape) String() string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = d.String()
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// ShapeOf returns a Shape of known dims.
func ShapeOf(dims ...int64) Shape {
	s := make(Shape, len(dims))
	for i, d := range dims {
		s[i] = D(d)
	}
	return s
}

// Type is the type of a value. Tensor types carry an element type and,
// when HasShape is set, a shape; sequence and optional types carry Elem,
// map types KeyType and Elem.
type Type struct {
	Kind       TypeKind
	DType      DType // element type of a tensor or sparse tensor
	HasShape   bool
	Shape      Shape
	Elem       *Type // sequence/optional element, map value
	KeyType    DType // map key
	Denotation string
}

// TensorType returns the type of a tensor with the given element type and
// known shape.
func TensorType(dt DType, dims ...int64) *Type {
	return &Type{Kind: KindTensor, DType: dt, HasShape: true, Shape: ShapeOf(dims...)}
}

// IsTensor reports whether t describes a dense tensor.
func (t *Type) IsTensor() bool { return t != nil && t.Kind == KindTensor }

// Rank returns the rank, or -1 when unknown.
func (t *Type) Rank() int {
	if t == nil || !t.HasShape {
		return -1
	}
	return len(t.Shape)
}

// Clone returns a deep copy of t.
func (t *Type) Clone() *Type {
	if t == nil {
		return nil
	}
	c := *t
	if t.Shape != nil {
		c.Shape = append(Shape{}, t.Shape...)
	}
	c.Elem = t.Elem.Clone()
	return &c
}

// String formats the type as float32[1,3,N,?], seq(float32[?]) and so on.
func (t *Type) String() string {
	if t == nil {
		return "?"
	}
	switch t.Kind {
	case KindTensor, KindSparseTensor:
		s := t.DType.String()
		if t.Kind == KindSparseTensor {
			s = "sparse " + s
		}
		if t.HasShape {
			s += t.Shape.String()
		}
		return s
	case KindSequence:
		return "seq(" + t.Elem.String() + ")"
	case KindOptional:
		return "optional(" + t.Elem.String() + ")"
	case KindMap:
		return "map(" + t.KeyType.String() + "," + t.Elem.String() + ")"
	}
	return "?"
}
