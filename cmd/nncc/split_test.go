package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/onnx"
	"github.com/nncc/nncc/split"
	"github.com/nncc/nncc/testmodels"
)

const crnn = "../../split/testdata/crnn.onnx"

// TestSplitChain splits the CNN + LSTM recogniser, checks the chain
// against the original with verify, runs and benches it, and replaces a
// stage file by a different model, which verify must fail.
func TestSplitChain(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "crnn")
	code, out, errs := nncc(t, "split", crnn, "-o", dir, "--stages", "4", "--shape", "N=1", "--replicas", "6")
	if code != 0 {
		t.Fatalf("split: exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "4 stages balanced on flops") {
		t.Errorf("split output: %s", out)
	}
	if err := split.CheckRepository(filepath.Join(dir, "triton")); err != nil {
		t.Fatal(err)
	}
	code, out, errs = nncc(t, "verify", crnn, dir, "--shape", "N=2", "--samples", "2", "--atol", "1e-5", "--rtol", "0")
	if code != 0 {
		t.Fatalf("verify: exit %d: %s%s", code, out, errs)
	}
	if !strings.Contains(out, "pipeline bound") || strings.Count(out, "crnn_stage_") != 4 {
		t.Errorf("verify output lacks the stage latencies: %s", out)
	}
	code, out, errs = nncc(t, "run", dir, "--shape", "N=1")
	if code != 0 || !strings.Contains(out, "output 0 logits: float32[32 1 37]") {
		t.Fatalf("run: exit %d: %s%s", code, out, errs)
	}
	code, out, errs = nncc(t, "bench", dir, "--iters", "3", "--warmup", "1", "--json")
	if code != 0 {
		t.Fatalf("bench: exit %d: %s", code, errs)
	}
	var br SplitBenchResult
	if err := json.Unmarshal([]byte(out), &br); err != nil {
		t.Fatal(err)
	}
	if len(br.Stages) != 4 || br.BoundMS <= 0 || br.ThroughputMax <= 0 {
		t.Errorf("bench result %+v", br)
	}

	// A stage with the same inputs and outputs but different weights.
	stage := filepath.Join(dir, "stage_1.onnx")
	orig, err := os.ReadFile(stage)
	if err != nil {
		t.Fatal(err)
	}
	m, err := onnx.Load(stage)
	if err != nil {
		t.Fatal(err)
	}
	changed := false
	for _, c := range m.Graph.Consts {
		if c.Const.DType == ir.Float32 && c.Const.NumElements() > 16 {
			f := c.Const.Float32s()
			for i := range f {
				f[i] = -f[i]
			}
			c.Const = ir.FromFloat32(c.Const.Dims, f)
			changed = true
			break
		}
	}
	if !changed {
		t.Fatal("stage 1 has no float weights to change")
	}
	if err := onnx.Save(m, stage, onnx.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	if code, out, _ := nncc(t, "verify", crnn, dir, "--shape", "N=1"); code != 1 {
		t.Errorf("verify with a stage's weights changed: exit %d, want 1\n%s", code, out)
	}
	// A different model altogether.
	other, err := os.ReadFile(cnn)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(stage, other, 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errs = nncc(t, "verify", crnn, dir, "--shape", "N=1")
	if code != 1 || !strings.Contains(errs, "stage_1.onnx") {
		t.Errorf("verify with stage_1.onnx replaced by digits_cnn: exit %d, want 1: %s", code, errs)
	}
	if code, _, _ := nncc(t, "run", dir); code != exitBadInput {
		t.Errorf("run with a mismatched stage: exit %d, want %d", code, exitBadInput)
	}
	if err := os.WriteFile(stage, orig, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errs := nncc(t, "verify", crnn, dir, "--shape", "N=1"); code != 0 {
		t.Errorf("verify after restoring stage_1.onnx: exit %d: %s%s", code, out, errs)
	}
}

func TestSplitBadInput(t *testing.T) {
	tmp := t.TempDir()
	busy := filepath.Join(tmp, "busy")
	if err := os.MkdirAll(busy, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(busy, "keep.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Every dim symbolic, as in PaddleOCR's exports: flops and latency need
	// --shape.
	bld := testmodels.NewBuilder("sym", 17)
	x := bld.InputShape("x", ir.Float32, ir.Shape{ir.Sym("N"), ir.Sym("W")})
	bld.Output(bld.Node("Relu", []*ir.Value{bld.Node("Relu", []*ir.Value{x})}))
	sym := filepath.Join(tmp, "sym.onnx")
	if err := onnx.Save(bld.Model(), sym, onnx.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"split", crnn, "-o", filepath.Join(tmp, "a"), "--stages", "0"}, exitUsage, "--stages"},
		{[]string{"split", crnn, "-o", filepath.Join(tmp, "a"), "--stages", "1000", "--shape", "N=1"}, exitUsage, "want 1 to 32"},
		{[]string{"split", crnn, "-o", filepath.Join(tmp, "a"), "--stages", "-2"}, exitUsage, "at least 1"},
		{[]string{"split", "../../testmodels/digits_cnn.onnx", "-o", filepath.Join(tmp, "a"), "--stages", "2", "--balance", "latency", "--shape", "input=1x1x8"}, exitUsage, "rank"},
		{[]string{"split", sym, "-o", filepath.Join(tmp, "a"), "--stages", "2"}, exitUsage, "--shape"},
		{[]string{"split", sym, "-o", filepath.Join(tmp, "a"), "--stages", "2", "--balance", "latency"}, exitUsage, "--shape"},
		{[]string{"split", crnn, "-o", busy, "--stages", "2"}, exitUsage, "not empty"},
		{[]string{"split", crnn, "-o", filepath.Join(tmp, "a"), "--stages", "2", "--balance", "speed"}, exitUsage, "balance"},
		{[]string{"split", crnn, "-o", filepath.Join(tmp, "a"), "--max-stage-bytes", "1K"}, exitUsage, "more than the limit"},
		{[]string{"split", filepath.Join(tmp, "missing.onnx"), "-o", filepath.Join(tmp, "a"), "--stages", "2"}, exitBadInput, "missing.onnx"},
	}
	for _, tc := range cases {
		code, _, errs := nncc(t, tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d (%s), want %d mentioning %q", tc.args, code, strings.TrimSpace(errs), tc.code, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(tmp, "a")); err == nil {
		t.Error("a failed split left its output directory")
	}
	if b, _ := os.ReadFile(filepath.Join(busy, "keep.txt")); string(b) != "x" {
		t.Error("the refused directory was changed")
	}
	// With --force the user's file survives.
	if code, _, errs := nncc(t, "split", crnn, "-o", busy, "--stages", "2", "--force", "--balance", "params"); code != 0 {
		t.Fatalf("--force: exit %d: %s", code, errs)
	}
	if b, _ := os.ReadFile(filepath.Join(busy, "keep.txt")); string(b) != "x" {
		t.Error("--force touched a file nncc did not write")
	}
	if code, _, errs := nncc(t, "split", crnn, "-o", filepath.Join(tmp, "ok"), "--stages", "2", "--max-stage-bytes", "1M"); code != exitUsage || !strings.Contains(errs, "not both") {
		t.Errorf("--stages with --max-stage-bytes: exit %d: %s", code, errs)
	}
	if code, _, errs := nncc(t, "split", sym, "-o", filepath.Join(tmp, "sym"), "--stages", "2", "--shape", "W=16"); code != 0 {
		t.Errorf("with W bound: exit %d: %s", code, errs)
	}
}

// TestSplitAfterPasses runs a pipeline before splitting: BatchNorm is
// folded into the convolutions, so no stage holds one, and the chain still
// matches the original.
func TestSplitAfterPasses(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "crnn")
	code, _, errs := nncc(t, "split", crnn, "-o", dir, "--stages", "3", "--shape", "N=1", "--passes", "default")
	if code != 0 {
		t.Fatalf("split --passes default: exit %d: %s", code, errs)
	}
	man, err := split.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range man.Stages {
		m, err := onnx.Load(filepath.Join(dir, st.File))
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range m.Graph.Nodes {
			if n.OpType == "BatchNormalization" {
				t.Errorf("%s still holds a BatchNormalization after --passes default", st.File)
			}
		}
	}
	if code, out, errs := nncc(t, "verify", crnn, dir, "--shape", "N=2"); code != 0 {
		t.Fatalf("verify: exit %d: %s%s", code, out, errs)
	}
	if code, _, _ := nncc(t, "split", crnn, "-o", filepath.Join(t.TempDir(), "x"), "--stages", "2", "--passes", "no-such-pass"); code != exitUsage {
		t.Errorf("unknown pass: exit %d, want %d", code, exitUsage)
	}
}

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]int64{"4000": 4000, "64K": 64 << 10, "3M": 3 << 20, "2GiB": 2 << 30, "5MB": 5 << 20} {
		if got, err := parseBytes(in); err != nil || got != want {
			t.Errorf("parseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"x", "-3", "0", "1T"} {
		if _, err := parseBytes(in); err == nil {
			t.Errorf("parseBytes(%q): no error", in)
		}
	}
}
