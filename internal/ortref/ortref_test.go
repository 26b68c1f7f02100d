package ortref_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nncc/nncc/internal/ortref"
	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/onnx"
)

// TestRunErrorsPerJob checks that failing jobs report their own errors
// while the jobs around them still run, and that results keep job order.
func TestRunErrorsPerJob(t *testing.T) {
	ortref.Require(t)
	dir := filepath.Join(modelDir, "data", "digits_mlp", "test_data_set_1")
	out := t.TempDir()
	model := filepath.Join(modelDir, "digits_mlp.onnx")
	jobs := []ortref.Job{
		{Model: model, Inputs: map[string]string{"nope": filepath.Join(dir, "input_0.pb")}, Out: filepath.Join(out, "0")},
		{Model: model, Inputs: map[string]string{"input": filepath.Join(dir, "input_0.pb")}, Out: filepath.Join(out, "1")},
		{Model: filepath.Join(out, "missing.onnx"), Out: filepath.Join(out, "2")},
		// The CNN's input is N x 1 x 8 x 8; the flat images must be refused.
		{Model: filepath.Join(modelDir, "digits_cnn.onnx"), InputFiles: []string{filepath.Join(modelDir, "data", "digits_test_x_flat.npy")}, Out: filepath.Join(out, "3")},
		{Model: model, Opt: "bogus", Out: filepath.Join(out, "4")},
	}
	res, err := ortref.Run(jobs)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(jobs) {
		t.Fatalf("%d results for %d jobs", len(res), len(jobs))
	}
	for _, i := range []int{0, 2, 3, 4} {
		if res[i].Err == "" {
			t.Errorf("job %d: no error", i)
		}
	}
	if !strings.Contains(res[0].Err, "nope") {
		t.Errorf("job 0: error %q does not name the input", res[0].Err)
	}
	got, err := res[1].Tensors()
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := onnx.ReadTensorFile(filepath.Join(dir, "output_0.pb"))
	if err != nil {
		t.Fatal(err)
	}
	if err := ortref.Compare(got[0], want, logitTol); err != nil {
		t.Error(err)
	}
	if o := res[1].Outputs[0]; o.Name != "logits" || o.DType != "float32" || len(o.Dims) != 2 || o.Dims[1] != 10 {
		t.Errorf("output description %+v", o)
	}
}

// TestRunNonFloat32 runs ONNX's own node tests with int64, bool and
// float16 outputs through the harness, checking its TensorProto encoder
// and decoder against the files ONNX ships.
func TestRunNonFloat32(t *testing.T) {
	ortref.Require(t)
	root := "/usr/share/libonnx-testdata/data/node"
	cases := []string{"test_argmax_default_axis_example", "test_equal", "test_cast_FLOAT_to_FLOAT16", "test_nonzero_example"}
	var jobs []ortref.Job
	var names []string
	for _, c := range cases {
		dir := filepath.Join(root, c)
		if _, err := os.Stat(filepath.Join(dir, "model.onnx")); err != nil {
			continue
		}
		ins, _ := filepath.Glob(filepath.Join(dir, "test_data_set_0", "input_*.pb"))
		jobs = append(jobs, ortref.Job{Model: filepath.Join(dir, "model.onnx"), InputFiles: ins, Out: filepath.Join(t.TempDir(), c)})
		names = append(names, c)
	}
	if len(jobs) != len(cases) {
		t.Skipf("libonnx-testdata not installed (found %d of %d cases)", len(jobs), len(cases))
	}
	res, err := ortref.Run(jobs)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		got, err := r.Tensors()
		if err != nil {
			t.Errorf("%s: %v", names[i], err)
			continue
		}
		for k, g := range got {
			want, _, err := onnx.ReadTensorFile(filepath.Join(root, names[i], "test_data_set_0", fmt.Sprintf("output_%d.pb", k)))
			if err != nil {
				t.Fatal(err)
			}
			if err := ortref.Compare(g, want, ortref.Tolerance{Abs: 1e-6}); err != nil {
				t.Errorf("%s output %d: %v", names[i], k, err)
			}
		}
	}
}

func TestCompare(t *testing.T) {
	f := func(dims []int64, v ...float32) *ir.Tensor { return ir.FromFloat32(dims, v) }
	nan := float32(0)
	nan = nan / nan
	tol := ortref.Tolerance{Abs: 1e-3, Rel: 1e-2}
	for _, c := range []struct {
		name      string
		got, want *ir.Tensor
		ok        bool
	}{
		{"equal", f([]int64{2}, 1, 2), f([]int64{2}, 1, 2), true},
		{"within abs", f([]int64{2}, 0.0009, 2), f([]int64{2}, 0, 2), true},
		{"within rel", f([]int64{1}, 100.9), f([]int64{1}, 100), true},
		{"outside", f([]int64{2}, 1, 2.1), f([]int64{2}, 1, 2), false},
		{"nan matches nan", f([]int64{1}, nan), f([]int64{1}, nan), true},
		{"nan vs number", f([]int64{1}, nan), f([]int64{1}, 0), false},
		{"dims", f([]int64{2, 1}, 1, 2), f([]int64{2}, 1, 2), false},
		{"dtype", ir.FromInt64([]int64{1}, []int64{1}), f([]int64{1}, 1), false},
		{"ints equal", ir.FromInt64([]int64{2}, []int64{-3, 5}), ir.FromInt64([]int64{2}, []int64{-3, 5}), true},
		{"ints differ", ir.FromInt64([]int64{2}, []int64{-3, 5}), ir.FromInt64([]int64{2}, []int64{-3, 6}), false},
		{"strings", &ir.Tensor{DType: ir.String, Dims: []int64{1}, Strings: [][]byte{[]byte("a")}},
			&ir.Tensor{DType: ir.String, Dims: []int64{1}, Strings: [][]byte{[]byte("b")}}, false},
		{"bad storage", &ir.Tensor{DType: ir.Float32, Dims: []int64{2}, Data: make([]byte, 4)}, f([]int64{2}, 0, 0), false},
	} {
		err := ortref.Compare(c.got, c.want, tol)
		if (err == nil) != c.ok {
			t.Errorf("%s: Compare = %v, want ok=%v", c.name, err, c.ok)
		}
	}
	// The message points at the worst element.
	err := ortref.Compare(f([]int64{2, 2}, 0, 0.5, 0, 2), f([]int64{2, 2}, 0, 0, 0, 0), tol)
	if err == nil || !strings.Contains(err.Error(), "2 of 4") || !strings.Contains(err.Error(), "[1 1]") {
		t.Errorf("error %v should count 2 of 4 and name [1 1]", err)
	}
}

func TestDecodeNPYErrors(t *testing.T) {
	good, err := os.ReadFile(filepath.Join(modelDir, "data", "digits_test_y.npy"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ortref.DecodeNPY(good); err != nil {
		t.Fatalf("good file: %v", err)
	}
	header := func(h string) []byte {
		b := []byte("\x93NUMPY\x01\x00")
		b = append(b, byte(len(h)), byte(len(h)>>8))
		return append(b, h...)
	}
	for name, b := range map[string][]byte{
		"empty":       nil,
		"magic":       []byte("\x93NUMPX\x01\x00\x00\x00"),
		"truncated":   good[:len(good)-1],
		"version":     append([]byte("\x93NUMPY\x09\x00"), good[8:]...),
		"long header": append([]byte("\x93NUMPY\x01\x00\xff\xff"), good[10:20]...),
		"fortran":     header("{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }"),
		"dtype":       header("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }"),
		"shape":       header("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }"),
		"no shape":    header("{'descr': '<f4', 'fortran_order': False}"),
		"data size":   append(header("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }"), 0, 0, 0, 0),
	} {
		if _, err := ortref.DecodeNPY(b); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	// A scalar: shape () has one element.
	if s, err := ortref.DecodeNPY(append(header("{'descr': '<i8', 'fortran_order': False, 'shape': (), }"), 7, 0, 0, 0, 0, 0, 0, 0)); err != nil || len(s.Dims) != 0 || s.Int64s()[0] != 7 {
		t.Errorf("scalar: %v %v", s, err)
	}
}
