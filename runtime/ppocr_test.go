package runtime

import (
	"fmt"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/nncc/nncc/internal/ortref"
	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/onnx"
)

// TestPaddleOCRMatchesOnnxruntime runs PaddleOCR's three models as
// shipped (/tmp/nncc-models, fetched by passes/testdata/models/fetch.sh;
// skipped without them) with their element-wise chains fused, on one and
// two threads, against onnxruntime on the same seeded input, and against
// themselves without chain fusion. Outputs must agree with onnxruntime's
// within 1e-4 of the output's range or 1e-6, whichever is larger, and be
// bit-identical to the unfused run (the fused steps round as the nodes
// do; -0 and +0 count equal).
func TestPaddleOCRMatchesOnnxruntime(t *testing.T) {
	dir := os.Getenv("NNCC_MODELS")
	if dir == "" {
		dir = "/tmp/nncc-models"
	}
	cases := []struct {
		file string
		dims []int64
	}{
		{"ppocr_cls.onnx", []int64{1, 3, 48, 192}},
		{"ppocr_rec.onnx", []int64{1, 3, 48, 320}},
		{"ppocr_det.onnx", []int64{1, 3, 320, 320}},
	}
	for _, c := range cases {
		if _, err := os.Stat(filepath.Join(dir, c.file)); err != nil {
			t.Skipf("%s not found in %s", c.file, dir)
		}
	}
	ortref.Require(t)
	tmp := t.TempDir()
	var jobs []ortref.Job
	var ins []*ir.Tensor
	r := rand.New(rand.NewSource(3))
	for i, c := range cases {
		x := randT(r, c.dims...)
		in := filepath.Join(tmp, fmt.Sprintf("in%d.pb", i))
		if err := onnx.WriteTensorFile(in, x, "x"); err != nil {
			t.Fatal(err)
		}
		ins = append(ins, x)
		jobs = append(jobs, ortref.Job{Model: filepath.Join(dir, c.file), InputFiles: []string{in}, Out: filepath.Join(tmp, fmt.Sprint(i)), Opt: ortref.OptAll, Threads: 1})
	}
	res, err := ortref.Run(jobs)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		want, err := res[i].Tensors()
		if err != nil {
			t.Fatalf("%s: onnxruntime: %v", c.file, err)
		}
		m, err := onnx.Load(filepath.Join(dir, c.file))
		if err != nil {
			t.Fatal(err)
		}
		noChains = true
		s, err := NewSession(m, Options{Threads: 1})
		noChains = false
		if err != nil {
			t.Fatal(err)
		}
		out, err := s.Run(map[string]*ir.Tensor{"x": ins[i]})
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		unfused := out[s.OutputNames()[0]].Float32View()
		for _, threads := range []int{1, 2} {
			s, err := NewSession(m, Options{Threads: threads})
			if err != nil {
				t.Fatal(err)
			}
			chains := 0
			for _, st := range s.plan.steps {
				if _, ok := st.k.(*chainKernel); ok {
					chains++
				}
			}
			if chains == 0 {
				t.Errorf("%s: no element-wise chain was fused", c.file)
			}
			out, err := s.Run(map[string]*ir.Tensor{"x": ins[i]})
			if err != nil {
				t.Fatalf("%s: %v", c.file, err)
			}
			got, ref := out[s.OutputNames()[0]].Float64s(), want[0].Float64s()
			if len(got) != len(ref) {
				t.Fatalf("%s: %d outputs, onnxruntime %d", c.file, len(got), len(ref))
			}
			var maxDiff, maxRef float64
			for j := range got {
				maxDiff = math.Max(maxDiff, math.Abs(got[j]-ref[j]))
				maxRef = math.Max(maxRef, math.Abs(ref[j]))
			}
			if maxDiff > max(1e-4*maxRef, 1e-6) || math.IsNaN(maxDiff) {
				t.Errorf("%s (%d threads): max |nncc - ort| = %.3g of range %.3g", c.file, threads, maxDiff, maxRef)
			}
			for j, v := range out[s.OutputNames()[0]].Float32View() {
				if v != unfused[j] {
					t.Fatalf("%s (%d threads): [%d] = %g fused, %g unfused", c.file, threads, j, v, unfused[j])
				}
			}
			t.Logf("%s (%d threads): %d chains, max |nncc - ort| = %.3g of range %.3g", c.file, threads, chains, maxDiff, maxRef)
		}
	}
}
