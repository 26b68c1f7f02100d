package ortref_test

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/nncc/nncc/internal/ortref"
	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/onnx"
	"github.com/nncc/nncc/onnx/onnxpb"
	"github.com/nncc/nncc/testmodels"
)

// le packs values little-endian, as ONNX raw_data holds them.
func le(vals ...any) []byte {
	var b bytes.Buffer
	for _, v := range vals {
		if err := binary.Write(&b, binary.LittleEndian, v); err != nil {
			panic(err)
		}
	}
	return b.Bytes()
}

// TestHarnessTypedFields feeds the harness TensorProtos whose elements sit
// in the typed fields (float_data, int32_data, int64_data, ...), not in
// raw_data, through an Identity model, and checks what comes back in
// raw_data element by element. This covers the harness's decoder paths
// that ONNX's raw_data test files do not reach.
func TestHarnessTypedFields(t *testing.T) {
	ortref.Require(t)
	i32 := func(dt ir.DType, v ...int32) *onnxpb.TensorProto {
		return &onnxpb.TensorProto{Dims: []int64{int64(len(v))}, DataType: proto.Int32(int32(dt)), Int32Data: v}
	}
	// A float_data field written unpacked (one fixed32 record per element)
	// with packed dims, as some writers do.
	var unpacked []byte
	unpacked = protowire.AppendTag(unpacked, 1, protowire.BytesType)
	unpacked = protowire.AppendBytes(unpacked, protowire.AppendVarint(nil, 2))
	unpacked = protowire.AppendTag(unpacked, 2, protowire.VarintType)
	unpacked = protowire.AppendVarint(unpacked, uint64(ir.Float32))
	for _, f := range []float32{0.25, -7} {
		unpacked = protowire.AppendTag(unpacked, 4, protowire.Fixed32Type)
		unpacked = protowire.AppendFixed32(unpacked, math.Float32bits(f))
	}

	cases := []struct {
		name string
		dt   ir.DType
		in   *onnxpb.TensorProto // nil: use raw
		raw  []byte              // a hand-encoded TensorProto
		want []byte
		n    int64
	}{
		{"float_data", ir.Float32, &onnxpb.TensorProto{Dims: []int64{3}, DataType: proto.Int32(1), FloatData: []float32{1.5, -2, 3e-8}}, nil,
			le(float32(1.5), float32(-2), float32(3e-8)), 3},
		{"float_data unpacked", ir.Float32, nil, unpacked, le(float32(0.25), float32(-7)), 2},
		{"double_data", ir.Float64, &onnxpb.TensorProto{Dims: []int64{2}, DataType: proto.Int32(11), DoubleData: []float64{math.Pi, -1e300}}, nil,
			le(math.Pi, -1e300), 2},
		{"int32", ir.Int32, i32(ir.Int32, -5, 7, math.MaxInt32), nil, le(int32(-5), int32(7), int32(math.MaxInt32)), 3},
		{"int16", ir.Int16, i32(ir.Int16, -32768, 1, 32767), nil, le(int16(-32768), int16(1), int16(32767)), 3},
		{"uint16", ir.Uint16, i32(ir.Uint16, 65535, 1, 2), nil, le(uint16(65535), uint16(1), uint16(2)), 3},
		{"int8", ir.Int8, i32(ir.Int8, -128, 127, 0), nil, le(int8(-128), int8(127), int8(0)), 3},
		{"uint8", ir.Uint8, i32(ir.Uint8, 0, 255, 3), nil, le(uint8(0), uint8(255), uint8(3)), 3},
		{"bool", ir.Bool, i32(ir.Bool, 1, 0, 1), nil, le(uint8(1), uint8(0), uint8(1)), 3},
		{"float16 bits", ir.Float16, i32(ir.Float16, 0x3C00, 0xC000, 0x7BFF), nil, le(uint16(0x3C00), uint16(0xC000), uint16(0x7BFF)), 3},
		{"int64_data", ir.Int64, &onnxpb.TensorProto{Dims: []int64{3}, DataType: proto.Int32(7), Int64Data: []int64{-1 << 40, 5, math.MaxInt64}}, nil,
			le(int64(-1<<40), int64(5), int64(math.MaxInt64)), 3},
		{"uint64_data", ir.Uint64, &onnxpb.TensorProto{Dims: []int64{2}, DataType: proto.Int32(13), Uint64Data: []uint64{1<<63 + 5, 7}}, nil,
			le(uint64(1<<63+5), uint64(7)), 2},
		{"uint32 in uint64_data", ir.Uint32, &onnxpb.TensorProto{Dims: []int64{2}, DataType: proto.Int32(12), Uint64Data: []uint64{math.MaxUint32, 1}}, nil,
			le(uint32(math.MaxUint32), uint32(1)), 2},
	}
	dir := t.TempDir()
	var jobs []ortref.Job
	for _, c := range cases {
		b := testmodels.NewBuilder("identity", 13)
		x := b.Input("x", c.dt, c.n)
		y := b.Node("Identity", []*ir.Value{x})
		y.Type = ir.TensorType(c.dt, c.n)
		b.Output(y)
		sub := filepath.Join(dir, c.name)
		if err := os.MkdirAll(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		model := filepath.Join(sub, "model.onnx")
		if err := onnx.Save(b.Model(), model, onnx.SaveOptions{}); err != nil {
			t.Fatal(err)
		}
		data := c.raw
		if c.in != nil {
			var err error
			if data, err = proto.Marshal(c.in); err != nil {
				t.Fatal(err)
			}
		}
		in := filepath.Join(sub, "input_0.pb")
		if err := os.WriteFile(in, data, 0o644); err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs, ortref.Job{Model: model, InputFiles: []string{in}, Out: filepath.Join(sub, "out")})
	}
	res, err := ortref.Run(jobs)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		c := cases[i]
		got, err := r.Tensors()
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		want := &ir.Tensor{DType: c.dt, Dims: []int64{c.n}, Data: c.want}
		if err := ortref.Compare(got[0], want, ortref.Tolerance{}); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		if !bytes.Equal(got[0].Data, c.want) {
			t.Errorf("%s: bytes % x, want % x", c.name, got[0].Data, c.want)
		}
	}
}
