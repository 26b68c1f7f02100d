package onnx

import (
	"encoding/binary"

	"google.golang.org/protobuf/proto"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/onnx/onnxpb"
)

// Sparse storage of pruned weights.
//
// A SparseTensorProto holds the non-zero values (a 1-D tensor named after
// the initializer) and their positions as int64 offsets into the
// row-major dense tensor (ONNX allows no narrower index type). Each
// non-zero thus costs its element size plus 8 bytes, so an initializer is
// written sparse only when that is smaller than its dense bytes: above
// 2/3 zeros for float32. Graph inputs with defaults, Constant nodes and
// subgraph constants stay dense, and so do float16/bfloat16 (the same
// rule, above 80% zeros, rarely pays). The decoder densifies sparse
// initializers on load, so a round trip gives back the same tensors.

// sparseInit returns c as a sparse initializer, or nil to write it dense.
func (e *encoder) sparseInit(g *ir.Graph, c *ir.Value) *onnxpb.SparseTensorProto {
	if !e.sparse || c.FromConstantNode {
		return nil
	}
	t := c.Const
	if t.DType != ir.Float32 && t.DType != ir.Float64 || len(t.Dims) == 0 {
		return nil
	}
	for _, in := range g.Inputs {
		if in == c {
			return nil
		}
	}
	es := t.DType.Bits() / 8
	n := len(t.Data) / es
	var idx []int64
	for i := 0; i < n; i++ {
		if !allZero(t.Data[i*es : (i+1)*es]) {
			idx = append(idx, int64(i))
		}
	}
	// Signed zeros (-0.0) count as non-zero above so that they survive.
	if len(idx)*(es+8) >= len(t.Data) {
		return nil
	}
	vals := make([]byte, 0, len(idx)*es)
	for _, i := range idx {
		vals = append(vals, t.Data[int(i)*es:int(i+1)*es]...)
	}
	ib := make([]byte, 8*len(idx))
	for k, i := range idx {
		binary.LittleEndian.PutUint64(ib[8*k:], uint64(i))
	}
	return &onnxpb.SparseTensorProto{
		Values:  &onnxpb.TensorProto{Name: proto.String(c.Name), Dims: []int64{int64(len(idx))}, DataType: proto.Int32(int32(t.DType)), RawData: vals},
		Indices: &onnxpb.TensorProto{Dims: []int64{int64(len(idx))}, DataType: proto.Int32(int32(ir.Int64)), RawData: ib},
		Dims:    append([]int64{}, t.Dims...),
	}
}

func allZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}
