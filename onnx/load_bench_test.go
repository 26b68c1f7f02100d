package onnx_test

import (
	"encoding/binary"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/onnx"
	"github.com/nncc/nncc/testmodels"
)

// The load and save benchmarks use a chain of MatMuls with 64 MiB of
// float32 weights: big enough that copying weights dominates, small
// enough for `go test -bench` loops. B/op against the 64 MiB of weights
// shows how many times each path copies them; bench/bigload measures the
// same paths at 1 GiB, with peak RSS.
const (
	benchWeights = 4    // weight tensors
	benchSide    = 2048 // each benchSide × benchSide float32
	benchBytes   = benchWeights * benchSide * benchSide * 4
)

func benchModel(b *testing.B) *ir.Model {
	b.Helper()
	mb := testmodels.NewBuilder("loadbench", 13)
	x := mb.Input("x", ir.Float32, 1, benchSide)
	for i := range benchWeights {
		data := make([]byte, benchSide*benchSide*4)
		for j := 0; j < len(data); j += 4 {
			binary.LittleEndian.PutUint32(data[j:], 0x3f800000|uint32(i*len(data)+j)>>2)
		}
		w := mb.Const(fmt.Sprintf("w%d", i), &ir.Tensor{DType: ir.Float32, Dims: []int64{benchSide, benchSide}, Data: data})
		x = mb.Node("MatMul", []*ir.Value{x, w})
	}
	x.Type = ir.TensorType(ir.Float32, 1, benchSide)
	mb.Output(x)
	return mb.Model()
}

// checkLoaded fails b unless m holds the weights benchModel made.
func checkLoaded(b *testing.B, m *ir.Model) {
	var n int
	for _, v := range m.Graph.Consts {
		n += len(v.Const.Data)
	}
	if len(m.Graph.Consts) != benchWeights || n != benchBytes {
		b.Fatalf("loaded %d weights of %d bytes, want %d of %d", len(m.Graph.Consts), n, benchWeights, benchBytes)
	}
}

func BenchmarkDecode(b *testing.B) {
	data, err := onnx.Encode(benchModel(b))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(benchBytes)
	b.ReportAllocs()
	for b.Loop() {
		m, err := onnx.Decode(data, onnx.LoadOptions{})
		if err != nil {
			b.Fatal(err)
		}
		checkLoaded(b, m)
	}
}

func BenchmarkEncode(b *testing.B) {
	m := benchModel(b)
	b.SetBytes(benchBytes)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := onnx.Encode(m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLoad(b *testing.B) {
	m := benchModel(b)
	for _, layout := range []struct {
		name string
		opts onnx.SaveOptions
	}{{"inline", onnx.SaveOptions{}}, {"external", onnx.SaveOptions{ExternalData: true}}} {
		path := filepath.Join(b.TempDir(), "m.onnx")
		if err := onnx.Save(m, path, layout.opts); err != nil {
			b.Fatal(err)
		}
		b.Run(layout.name, func(b *testing.B) {
			b.SetBytes(benchBytes)
			b.ReportAllocs()
			for b.Loop() {
				loaded, err := onnx.Load(path)
				if err != nil {
					b.Fatal(err)
				}
				checkLoaded(b, loaded)
			}
		})
	}
}
