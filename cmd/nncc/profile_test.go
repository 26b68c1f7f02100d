package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/npy"
	"github.com/nncc/nncc/onnx"
	"github.com/nncc/nncc/testmodels"
)

// bench --profile prints the per-operator table and the slowest nodes;
// the model is optimised in memory (its Dropout removed) unless
// --no-optimize; --trace writes a Chrome trace with one event per
// step of each timed run.
func TestBenchProfileAndTrace(t *testing.T) {
	dir := t.TempDir()
	trace := filepath.Join(dir, "trace.json")
	code, out, errs := nncc(t, "bench", cnn, "--shape", "batch=2", "--iters", "2", "--warmup", "1", "--profile", "--trace", trace)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"per operator type", "slowest nodes", "Conv", "2x1x8x8"} {
		if !strings.Contains(out, want) {
			t.Errorf("profile output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "Dropout") {
		t.Errorf("Dropout ran although the model is optimised in memory:\n%s", out)
	}
	b, err := os.ReadFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	var tr struct {
		TraceEvents []struct {
			Name string `json:"name"`
			Tid  int    `json:"tid"`
		} `json:"traceEvents"`
	}
	if err := json.Unmarshal(b, &tr); err != nil {
		t.Fatalf("trace: %v", err)
	}
	runs := map[int]int{}
	for _, e := range tr.TraceEvents {
		runs[e.Tid]++
	}
	if len(runs) != 2 || runs[1] != runs[2] || runs[1] == 0 {
		t.Errorf("trace events per run: %v, want two equal runs (the warm-up is not traced)", runs)
	}

	code, out, errs = nncc(t, "bench", cnn, "--shape", "batch=2", "--iters", "1", "--warmup", "0", "--profile", "--no-optimize")
	if code != 0 {
		t.Fatalf("--no-optimize: exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "Dropout") {
		t.Errorf("--no-optimize: the model's Dropout did not run:\n%s", out)
	}
}

// run gives the same outputs with and without the in-memory pipeline,
// and verify checks an optimised candidate against the reference as
// loaded.
func TestRunOptimizedMatchesAsLoaded(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	x := "../../testmodels/data/digits_test_x.npy"
	if code, _, errs := nncc(t, "run", cnn, "--input", x, "--out", a); code != 0 {
		t.Fatalf("run: %s", errs)
	}
	if code, _, errs := nncc(t, "run", cnn, "--input", x, "--out", b, "--no-optimize"); code != 0 {
		t.Fatalf("run --no-optimize: %s", errs)
	}
	code, out, errs := nncc(t, "verify", cnn, cnn, "--input", x)
	if code != 0 || !strings.Contains(out, "ok") {
		t.Fatalf("verify: exit %d: %s %s", code, out, errs)
	}
	ya, err := readTensor(filepath.Join(a, "output_0.npy"))
	if err != nil {
		t.Fatal(err)
	}
	yb, err := readTensor(filepath.Join(b, "output_0.npy"))
	if err != nil {
		t.Fatal(err)
	}
	va, vb := ya.Float32View(), yb.Float32View()
	if len(va) != len(vb) || len(va) == 0 {
		t.Fatalf("outputs of %d and %d elements", len(va), len(vb))
	}
	for i := range va {
		if d := va[i] - vb[i]; d > 1e-4 || d < -1e-4 {
			t.Fatalf("element %d: %g optimised, %g as loaded", i, va[i], vb[i])
		}
	}
}

// Inputs given as files bind their input's dims, named or not: a model
// whose inputs are [?, ?] and [2, ?, 4] runs on files alone; --shape
// contradicting a file is a usage error.
func TestInputFilesBindUnnamedDims(t *testing.T) {
	dir := t.TempDir()
	b := testmodels.NewBuilder("unnamed", 13)
	x := b.InputShape("x", ir.Float32, ir.Shape{{Value: -1}, {Value: -1}})
	st := b.InputShape("state", ir.Float32, ir.Shape{{Value: 2}, {Value: -1}, {Value: 4}})
	b.Output(b.Node("Relu", []*ir.Value{x}), b.Node("Neg", []*ir.Value{st}))
	model := filepath.Join(dir, "m.onnx")
	if err := onnx.Save(b.Model(), model, onnx.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	xf, sf := filepath.Join(dir, "x.npy"), filepath.Join(dir, "s.npy")
	for _, f := range []struct {
		path string
		dims []int64
	}{{xf, []int64{1, 5}}, {sf, []int64{2, 1, 4}}} {
		var buf bytes.Buffer
		if err := npy.Encode(&buf, ir.NewTensor(ir.Float32, f.dims...)); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f.path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, out, errs := nncc(t, "run", model, "--input", "x="+xf, "--input", "state="+sf)
	if code != 0 || !strings.Contains(out, "float32[2 1 4]") || !strings.Contains(out, "float32[1 5]") {
		t.Fatalf("run on files: exit %d: %s %s", code, out, errs)
	}
	code, _, errs = nncc(t, "run", model, "--input", "x="+xf, "--input", "state="+sf, "--shape", "x=1x6")
	if code != exitUsage || !strings.Contains(errs, "disagrees") {
		t.Errorf("--shape contradicting a file: exit %d: %s", code, errs)
	}
}
