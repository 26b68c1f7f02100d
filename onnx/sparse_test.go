package onnx_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/nncc/nncc/internal/ortref"
	"github.com/nncc/nncc/onnx"
	"github.com/nncc/nncc/prune"
)

// A model pruned to 80% saved with Sparse: smaller, the same tensors
// after a load, and onnxruntime loads it and computes what it computes on
// the dense file.
func TestSparseInitializers(t *testing.T) {
	m, err := onnx.Load("../testmodels/digits_cnn.onnx")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := prune.Magnitude(m, prune.MagnitudeOptions{Sparsity: 0.8, Threshold: -1, Global: true}, nil); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	dense, sparse := filepath.Join(dir, "dense.onnx"), filepath.Join(dir, "sparse.onnx")
	if err := onnx.Save(m, dense, onnx.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := onnx.Save(m, sparse, onnx.SaveOptions{Sparse: true}); err != nil {
		t.Fatal(err)
	}
	a, _ := os.Stat(dense)
	b, _ := os.Stat(sparse)
	t.Logf("dense %d bytes, sparse %d", a.Size(), b.Size())
	if b.Size() >= a.Size()*3/4 {
		t.Errorf("sparse file %d bytes, dense %d: want at least a quarter smaller", b.Size(), a.Size())
	}
	back, err := onnx.Load(sparse)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{}
	for _, v := range m.Graph.Consts {
		want[v.Name] = v.Const.Data
	}
	if len(back.Graph.Consts) != len(want) {
		t.Fatalf("%d constants back, %d written", len(back.Graph.Consts), len(want))
	}
	for _, v := range back.Graph.Consts {
		if !bytes.Equal(v.Const.Data, want[v.Name]) {
			t.Errorf("constant %s changed in the round trip", v.Name)
		}
	}
	// Deterministic.
	b1, _, _, _ := onnx.Marshal(m, "x.onnx", onnx.SaveOptions{Sparse: true})
	b2, _, _, _ := onnx.Marshal(m, "x.onnx", onnx.SaveOptions{Sparse: true})
	if !bytes.Equal(b1, b2) {
		t.Errorf("sparse encoding is not deterministic")
	}

	ortref.Require(t)
	in := []string{"../testmodels/data/digits_cnn/test_data_set_0/input_0.pb"}
	res, err := ortref.Run([]ortref.Job{
		{Model: dense, InputFiles: in, Out: filepath.Join(dir, "od")},
		{Model: sparse, InputFiles: in, Out: filepath.Join(dir, "os")},
	})
	if err != nil {
		t.Fatal(err)
	}
	od, err := res[0].Tensors()
	if err != nil {
		t.Fatal(err)
	}
	os_, err := res[1].Tensors()
	if err != nil {
		t.Fatalf("onnxruntime on the sparse file: %v", err)
	}
	if !bytes.Equal(od[0].Data, os_[0].Data) {
		t.Errorf("onnxruntime's outputs differ between the dense and the sparse file")
	}
}
