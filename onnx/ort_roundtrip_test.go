package onnx_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/nncc/nncc/check"
	"github.com/nncc/nncc/internal/ortref"
	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/onnx"
)

// roundTripJobs saves each model through nncc into dir and returns
// onnxruntime jobs for the original and the copy on the same inputs.
func roundTripJobs(t *testing.T, dir string, models map[string][]string) (names []string, jobs []ortref.Job) {
	for name := range models {
		names = append(names, name)
	}
	sort.Strings(names)
	for i, name := range names {
		src := models[name][0]
		m, err := onnx.Load(src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		dst := filepath.Join(dir, fmt.Sprintf("m%d.onnx", i))
		if err := onnx.Save(m, dst, onnx.SaveOptions{}); err != nil {
			t.Fatalf("%s: save: %v", src, err)
		}
		in := models[name][1:]
		// The graph as written, so any difference is the file's, not an
		// optimizer's.
		jobs = append(jobs,
			ortref.Job{Model: src, InputFiles: in, Out: filepath.Join(dir, fmt.Sprintf("o%d_a", i)), Opt: ortref.OptDisabled},
			ortref.Job{Model: dst, InputFiles: in, Out: filepath.Join(dir, fmt.Sprintf("o%d_b", i)), Opt: ortref.OptDisabled})
	}
	return names, jobs
}

// checkBitIdentical runs the jobs in pairs and requires identical output
// bytes wherever onnxruntime runs the original.
func checkBitIdentical(t *testing.T, names []string, jobs []ortref.Job) (compared, skipped int) {
	res, err := ortref.Run(jobs)
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range names {
		a, b := res[2*i], res[2*i+1]
		if a.Err != "" {
			skipped++
			continue
		}
		if b.Err != "" {
			t.Errorf("%s: onnxruntime runs the original but not nncc's copy: %s", name, b.Err)
			continue
		}
		ta, err := a.Tensors()
		if err != nil {
			t.Fatal(err)
		}
		tb, err := b.Tensors()
		if err != nil {
			t.Fatal(err)
		}
		if len(ta) != len(tb) {
			t.Errorf("%s: %d outputs became %d", name, len(ta), len(tb))
			continue
		}
		for k := range ta {
			if ta[k].DType != tb[k].DType || fmt.Sprint(ta[k].Dims) != fmt.Sprint(tb[k].Dims) || !bytes.Equal(ta[k].Data, tb[k].Data) {
				t.Errorf("%s: output %d differs after the round trip", name, k)
			}
		}
		compared++
	}
	return compared, skipped
}

// TestORTRoundTripConformance: every conformance model that onnxruntime
// runs gives bit-identical outputs after an nncc load/save.
func TestORTRoundTripConformance(t *testing.T) {
	ortref.Require(t)
	dirs, _ := filepath.Glob("/usr/share/libonnx-testdata/data/node/*/test_data_set_0")
	if len(dirs) == 0 {
		t.Skip("no conformance data")
	}
	models := map[string][]string{}
	for _, d := range dirs {
		inputs, _ := filepath.Glob(filepath.Join(d, "input_*.pb"))
		sort.Strings(inputs)
		name := filepath.Base(filepath.Dir(d))
		models[name] = append([]string{filepath.Join(filepath.Dir(d), "model.onnx")}, inputs...)
	}
	names, jobs := roundTripJobs(t, t.TempDir(), models)
	compared, skipped := checkBitIdentical(t, names, jobs)
	t.Logf("%d models bit-identical in onnxruntime after a round trip; %d not runnable by onnxruntime in their original form", compared, skipped)
	if compared < len(names)/2 {
		t.Errorf("only %d of %d models compared", compared, len(names))
	}
}

// TestORTRoundTripTestModels does the same for the trained models,
// including the one whose weights are Constant nodes and whose batch
// dim is symbolic.
func TestORTRoundTripTestModels(t *testing.T) {
	ortref.Require(t)
	models := map[string][]string{}
	for _, name := range []string{"digits_cnn", "digits_mlp", "digits_cnn_constnodes"} {
		sets, _ := filepath.Glob(filepath.Join("..", "testmodels", "data", name, "test_data_set_*"))
		if len(sets) == 0 {
			t.Fatalf("no test data for %s", name)
		}
		for _, s := range sets {
			inputs, _ := filepath.Glob(filepath.Join(s, "input_*.pb"))
			sort.Strings(inputs)
			models[name+"/"+filepath.Base(s)] = append([]string{filepath.Join("..", "testmodels", name+".onnx")}, inputs...)
		}
	}
	names, jobs := roundTripJobs(t, t.TempDir(), models)
	compared, _ := checkBitIdentical(t, names, jobs)
	if compared != len(names) {
		t.Errorf("onnxruntime ran %d of %d trained-model cases", compared, len(names))
	}

}

// TestORTRoundTripThirdParty does the same for larger real models when
// they are present: the torchvision CNNs bench/ exports and the Silero
// VAD models (PyTorch exports with If, LSTM and STFT-as-Conv, from npm)
// that passes/testdata/models/fetch.sh fetches, on seeded random inputs.
func TestORTRoundTripThirdParty(t *testing.T) {
	ortref.Require(t)
	extra := os.Getenv("NNCC_EXTRA_MODELS")
	if extra == "" {
		extra = "/tmp/nncc-models"
	}
	var paths []string
	for _, pat := range []string{"../bench/models/*.onnx", filepath.Join(extra, "*.onnx")} {
		found, _ := filepath.Glob(pat)
		paths = append(paths, found...)
	}
	if len(paths) == 0 {
		t.Skip("no third-party models present (make bench exports the CNNs; passes/testdata/models/fetch.sh fetches Silero VAD)")
	}
	dir := t.TempDir()
	models := map[string][]string{}
	for i, p := range paths {
		m, err := onnx.Load(p)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		// Silero VAD takes 512 samples at 16 kHz; its v5 export leaves the
		// dims unnamed.
		// PaddleOCR's models leave every dim dynamic: give them the sizes
		// PaddleOCR feeds (the detector smaller, to keep the test short).
		var shapes map[string][]int64
		switch base := filepath.Base(p); {
		case strings.HasPrefix(base, "silero"):
			shapes = map[string][]int64{"input": {1, 512}, "state": {2, 1, 128}}
		case base == "ppocr_cls.onnx":
			shapes = map[string][]int64{"x": {1, 3, 48, 192}}
		case base == "ppocr_rec.onnx":
			shapes = map[string][]int64{"x": {1, 3, 48, 320}}
		case base == "ppocr_det.onnx":
			shapes = map[string][]int64{"x": {1, 3, 160, 160}}
		}
		specs, err := check.InputSpecs(m.Graph, shapes, map[string]int64{"batch": 1, "sequence": 512})
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		inputs, err := check.RandomInputs(specs, 1)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if sr := inputs["sr"]; sr != nil {
			inputs["sr"] = ir.FromInt64(nil, []int64{16000})
		}
		files := []string{p}
		for _, s := range specs {
			f := filepath.Join(dir, fmt.Sprintf("in%d_%s.pb", i, s.Name))
			if err := onnx.WriteTensorFile(f, inputs[s.Name], s.Name); err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
		models[filepath.Base(p)] = files
	}
	names, jobs := roundTripJobs(t, dir, models)
	compared, skipped := checkBitIdentical(t, names, jobs)
	t.Logf("%d third-party models bit-identical after a round trip (%d not runnable by onnxruntime on random inputs)", compared, skipped)
	if skipped > 0 {
		t.Errorf("onnxruntime could not run %d of the originals: the test's inputs are wrong", skipped)
	}
}
