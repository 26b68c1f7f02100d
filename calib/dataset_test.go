package calib_test

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nncc/nncc/calib"
	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/npy"
	"github.com/nncc/nncc/onnx"
)

func writeNpy(t *testing.T, path string, x *ir.Tensor) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := npy.Encode(f, x); err != nil {
		t.Fatal(err)
	}
}

func TestLoadDigits(t *testing.T) {
	m, err := onnx.Load("../testmodels/digits_cnn.onnx")
	if err != nil {
		t.Fatal(err)
	}
	d, err := calib.Load(m, []string{"../testmodels/data/digits_test_x.npy"})
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 450 {
		t.Fatalf("%d samples, want 450", d.Len())
	}
	b, err := d.Batch(10, 13)
	if err != nil {
		t.Fatal(err)
	}
	in := m.Graph.Inputs[0].Name
	if got := b[in].Dims; len(got) != 4 || got[0] != 3 || got[1] != 1 || got[2] != 8 || got[3] != 8 {
		t.Errorf("batch dims %v, want [3 1 8 8]", got)
	}
	all := d.Tensor(in).Float32View()
	if b[in].Float32View()[0] != all[10*64] {
		t.Errorf("batch 10..13 does not start at sample 10")
	}

	// A directory of files is the same data, concatenated in name order.
	dir := t.TempDir()
	first, _ := d.Slice(0, 200)
	rest, _ := d.Slice(200, 450)
	writeNpy(t, filepath.Join(dir, "a.npy"), first.Tensor(in))
	writeNpy(t, filepath.Join(dir, "b.npy"), rest.Tensor(in))
	d2, err := calib.Load(m, []string{dir})
	if err != nil {
		t.Fatal(err)
	}
	if d2.Len() != 450 || string(d2.Tensor(in).Data) != string(d.Tensor(in).Data) {
		t.Errorf("directory load differs from the single file")
	}
}

func TestLoadRejectsBadData(t *testing.T) {
	m, err := onnx.Load("../testmodels/digits_cnn.onnx")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	nan := make([]float32, 2*64)
	nan[70] = float32(math.NaN())
	cases := map[string]*ir.Tensor{
		"wrong_dims.npy":  ir.FromFloat32([]int64{2, 1, 8, 9}, make([]float32, 2*72)),
		"wrong_rank.npy":  ir.FromFloat32([]int64{2, 64}, make([]float32, 128)),
		"wrong_dtype.npy": ir.FromFloat64(ir.Float64, []int64{2, 1, 8, 8}, make([]float64, 128)),
		"empty.npy":       ir.FromFloat32([]int64{0, 1, 8, 8}, nil),
		"nan.npy":         ir.FromFloat32([]int64{2, 1, 8, 8}, nan),
	}
	for name, x := range cases {
		path := filepath.Join(dir, name)
		writeNpy(t, path, x)
		_, err := calib.Load(m, []string{path})
		if err == nil || !errors.Is(err, calib.ErrBadData) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error %v; want ErrBadData naming the file", name, err)
		}
	}
	if _, err := calib.Load(m, []string{"nosuchinput=" + filepath.Join(dir, "nan.npy")}); err == nil || !strings.Contains(err.Error(), "nosuchinput") {
		t.Errorf("unknown input name: error %v", err)
	}
	if _, err := calib.Load(m, []string{filepath.Join(dir, "missing.npy")}); !errors.Is(err, calib.ErrBadData) {
		t.Errorf("missing file: error %v", err)
	}
}
