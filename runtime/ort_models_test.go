package runtime

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/nncc/nncc/internal/ortref"
	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/onnx"
)

// TestModelsMatchOnnxruntime runs whole models in nncc and in
// onnxruntime on the same inputs: the digits models on their whole test
// split, where every top-1 prediction must agree, and the torchvision
// CNNs (when bench/ has exported them). Outputs must agree within 1e-5 of
// the output's range (max |nncc − ort| / max |ort|).
func TestModelsMatchOnnxruntime(t *testing.T) {
	ortref.Require(t)
	dir := t.TempDir()
	var jobs []ortref.Job
	var cases []int
	for i, c := range modelCases {
		path := filepath.Join("..", c.model)
		if _, err := os.Stat(path); err != nil {
			continue
		}
		jobs = append(jobs, ortref.Job{
			Model:      path,
			InputFiles: []string{filepath.Join("..", c.data, "test_data_set_0", "input_0.pb")},
			Out:        filepath.Join(dir, fmt.Sprint(i)),
			Opt:        ortref.OptAll,
			Threads:    1,
		})
		cases = append(cases, i)
	}
	res, err := ortref.Run(jobs)
	if err != nil {
		t.Fatal(err)
	}
	for k, i := range cases {
		c := modelCases[i]
		t.Run(filepath.Base(c.model), func(t *testing.T) {
			want, err := res[k].Tensors()
			if err != nil {
				t.Fatal(err)
			}
			m, err := onnx.Load(filepath.Join("..", c.model))
			if err != nil {
				t.Fatal(err)
			}
			in, _, err := onnx.ReadTensorFile(jobs[k].InputFiles[0])
			if err != nil {
				t.Fatal(err)
			}
			sess, err := NewSession(m, Options{Threads: 1})
			if err != nil {
				t.Fatal(err)
			}
			out, err := sess.Run(map[string]*ir.Tensor{sess.InputNames()[0]: in})
			if err != nil {
				t.Fatal(err)
			}
			got := out[sess.OutputNames()[0]].Float64s()
			ref := want[0].Float64s()
			if len(got) != len(ref) {
				t.Fatalf("%d outputs, onnxruntime %d", len(got), len(ref))
			}
			var maxDiff, maxRef float64
			for j := range got {
				maxDiff = math.Max(maxDiff, math.Abs(got[j]-ref[j]))
				maxRef = math.Max(maxRef, math.Abs(ref[j]))
			}
			rel := maxDiff / maxRef
			if rel > 1e-5 {
				t.Errorf("max |nncc - ort| = %.3g, %.3g of the output range (limit 1e-5)", maxDiff, rel)
			}
			rows := int(in.Dims[0])
			classes := len(ref) / rows
			disagree := 0
			for r := 0; r < rows; r++ {
				if argmax(got[r*classes:(r+1)*classes]) != argmax(ref[r*classes:(r+1)*classes]) {
					disagree++
				}
			}
			if disagree > 0 {
				t.Errorf("top-1 differs from onnxruntime on %d of %d inputs", disagree, rows)
			}
			t.Logf("%d inputs: top-1 identical, max |diff| %.3g (%.3g of range)", rows, maxDiff, rel)
		})
	}
}

func argmax(xs []float64) int {
	best := 0
	for i, x := range xs {
		if x > xs[best] {
			best = i
		}
	}
	return best
}
