package split_test

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/nncc/nncc/check"
	"github.com/nncc/nncc/internal/ortref"
	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/npy"
	"github.com/nncc/nncc/onnx"
	"github.com/nncc/nncc/split"
)

// extraModels is where passes/testdata/models/fetch.sh puts third-party
// models.
func extraModels() string {
	if d := os.Getenv("NNCC_EXTRA_MODELS"); d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), "nncc-models")
}

// requireModel skips when a fetched model is absent, unless CI requires
// the models (NNCC_REQUIRE_TESTDATA).
func requireModel(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("NNCC_REQUIRE_TESTDATA") != "" {
			t.Fatalf("%s missing (run passes/testdata/models/fetch.sh)", path)
		}
		t.Skipf("%s missing (run passes/testdata/models/fetch.sh)", path)
	}
}

func writeNPY(t *testing.T, path string, x *ir.Tensor) {
	t.Helper()
	var b bytes.Buffer
	if err := npy.Encode(&b, x); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestORTChain splits a detector full of skip connections (PP-OCRv4's DB
// detector: FPN with upsampling and concat) into 3 stages and a CNN +
// bidirectional LSTM recogniser into 4, balanced on latency, and runs the
// stages in onnxruntime by the manifest alone: each stage is fed, by
// name, from the graph inputs and earlier stages' output files. The
// final outputs must match the whole model's within 1e-5 of their range,
// and the slowest stage must take at most 1.5× the mean stage time in
// onnxruntime.
func TestORTChain(t *testing.T) {
	ortref.Require(t)
	cases := []struct {
		name, path string
		stages     int
		shapes     map[string][]int64
	}{
		{"ppocr_det", filepath.Join(extraModels(), "ppocr_det.onnx"), 3, map[string][]int64{"x": {1, 3, 640, 640}}},
		{"crnn", "testdata/crnn.onnx", 4, map[string][]int64{"image": {1, 1, 32, 128}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			requireModel(t, tc.path)
			m, err := onnx.Load(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			p, err := split.Split(m, split.Options{Stages: tc.stages, Balance: split.Latency, Shapes: tc.shapes, Runs: 5})
			if err != nil {
				t.Fatal(err)
			}
			tmp := t.TempDir()
			dir := filepath.Join(tmp, "split")
			if err := p.Write(dir, split.WriteOptions{Source: tc.path, Triton: split.TritonOptions{Name: tc.name}}); err != nil {
				t.Fatal(err)
			}
			if err := split.CheckRepository(filepath.Join(dir, "triton")); err != nil {
				t.Fatal(err)
			}
			man, err := split.ReadManifest(dir)
			if err != nil {
				t.Fatal(err)
			}
			// Inputs: seeded random tensors of the bound shapes.
			specs, err := check.InputSpecs(m.Graph, tc.shapes, nil)
			if err != nil {
				t.Fatal(err)
			}
			feed, err := check.RandomInputs(specs, 7)
			if err != nil {
				t.Fatal(err)
			}
			files, stageIn := ortChain(t, dir, man, feed)
			whole, err := ortref.Run([]ortref.Job{{Model: tc.path, Inputs: stageInputsOf(files, man.Inputs), Out: filepath.Join(tmp, "whole")}})
			if err != nil {
				t.Fatal(err)
			}
			want, err := whole[0].Tensors()
			if err != nil {
				t.Fatal(err)
			}
			for i, name := range man.Outputs {
				got, _, err := onnx.ReadTensorFile(files[name])
				if err != nil {
					t.Fatal(err)
				}
				w := want[i]
				lo, hi := math.Inf(1), math.Inf(-1)
				for _, x := range w.Float64s() {
					lo, hi = math.Min(lo, x), math.Max(hi, x)
				}
				d, err := ortref.MaxAbsDiff(got, w)
				if err != nil {
					t.Fatalf("output %s: %v", name, err)
				}
				t.Logf("output %s: max |stages - whole| %.3g, range %.3g", name, d, hi-lo)
				if d > 1e-5*(hi-lo) {
					t.Errorf("output %s: stages differ from the whole model by %.3g, over 1e-5 of the range %.3g", name, d, hi-lo)
				}
			}
			// Balance in onnxruntime: medians of each stage on the same
			// inputs.
			times := ortStageTimes(t, dir, man, stageIn)
			var sum, worst float64
			for _, x := range times {
				sum += x
				worst = math.Max(worst, x)
			}
			mean := sum / float64(len(times))
			t.Logf("slowest/mean stage %.2f", worst/mean)
			if worst > 1.5*mean {
				t.Errorf("slowest stage %.3f ms is %.2f× the mean %.3f ms (want ≤ 1.5×)", worst, worst/mean, mean)
			}
		})
	}
}

func stageInputsOf(files map[string]string, names []string) map[string]string {
	in := map[string]string{}
	for _, n := range names {
		in[n] = files[n]
	}
	return in
}

// ortChain runs the stages of dir in onnxruntime in manifest order, each
// fed by name from the graph inputs (feed) and earlier stages' output
// files. It returns every tensor's file and each stage's inputs.
func ortChain(t *testing.T, dir string, man *split.Manifest, feed map[string]*ir.Tensor) (map[string]string, []map[string]string) {
	t.Helper()
	tmp := t.TempDir()
	files := map[string]string{} // tensor name -> file, as the chain fills it
	for name, x := range feed {
		f := filepath.Join(tmp, name+".npy")
		writeNPY(t, f, x)
		files[name] = f
	}
	stageIn := make([]map[string]string, len(man.Stages))
	for i, st := range man.Stages {
		for _, name := range st.Inputs {
			if _, ok := files[name]; !ok {
				t.Fatalf("stage %d reads %q, which no graph input or earlier stage provides", i, name)
			}
		}
		stageIn[i] = stageInputsOf(files, st.Inputs)
		res, err := ortref.Run([]ortref.Job{{Model: filepath.Join(dir, st.File), Inputs: stageIn[i], Out: filepath.Join(tmp, fmt.Sprintf("out%d", i))}})
		if err != nil {
			t.Fatal(err)
		}
		if res[0].Err != "" {
			t.Fatalf("stage %d in onnxruntime: %s", i, res[0].Err)
		}
		for _, o := range res[0].Outputs {
			files[o.Name] = o.File
		}
		for _, name := range st.Outputs {
			if files[name] == "" {
				t.Fatalf("stage %d did not write %q", i, name)
			}
		}
	}
	return files, stageIn
}

// ortStageTimes is each stage's latency in onnxruntime: rounds that
// time every stage in turn (so a change in the machine's load hits all
// stages alike), each stage's time the least of its per-round medians.
func ortStageTimes(t *testing.T, dir string, man *split.Manifest, stageIn []map[string]string) []float64 {
	t.Helper()
	times := make([]float64, len(man.Stages))
	for i := range times {
		times[i] = math.Inf(1)
	}
	for round := 0; round < 3; round++ {
		for i, st := range man.Stages {
			r, err := ortref.Bench(context.Background(), filepath.Join(dir, st.File), ortref.BenchOptions{Inputs: stageIn[i], Iters: 10, Warmup: 2})
			if err != nil {
				t.Fatal(err)
			}
			times[i] = math.Min(times[i], r.MedianMS)
		}
	}
	t.Logf("onnxruntime stage times (ms, least of 3 rounds' medians): %.3f", times)
	return times
}
