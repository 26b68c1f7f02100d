package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// inspect --shape counts the MACs of each op type and the zeros of each
// weight; prune-magnitude's zeros show up there.
func TestInspectMACsAndSparsity(t *testing.T) {
	code, out, errs := nncc(t, "inspect", "--json", "--shape", "input=1x1x8x8", cnn)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var s ModelSummary
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatal(err)
	}
	// conv 1→16 3×3 on 8×8, conv 16→32 3×3 on 4×4, Gemm 128→10.
	want := int64(16*9*64 + 32*16*9*16 + 128*10)
	if s.MACs != want || len(s.MACsByOp) != 2 {
		t.Errorf("MACs %d by op %v, want %d", s.MACs, s.MACsByOp, want)
	}
	var sum int64
	for _, b := range s.ParamBytesByDType {
		sum += b
	}
	if sum != s.ParamBytes || s.ParamBytesByDType["float32"] < 24000 {
		t.Errorf("bytes by dtype %v, total %d", s.ParamBytesByDType, s.ParamBytes)
	}
	if len(s.Weights) != 3 || s.Sparsity != 0 {
		t.Errorf("weights %v sparsity %v", s.Weights, s.Sparsity)
	}

	dir := t.TempDir()
	pruned := filepath.Join(dir, "p.onnx")
	if code, _, errs := nncc(t, "compile", cnn, "-o", pruned, "--quiet", "--passes", "prune-magnitude{sparsity=0.6}"); code != 0 {
		t.Fatalf("compile: exit %d: %s", code, errs)
	}
	code, out, errs = nncc(t, "inspect", "--json", pruned)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	s = ModelSummary{}
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatal(err)
	}
	if s.Sparsity < 0.59 || s.Sparsity > 0.61 {
		t.Errorf("sparsity %v after prune-magnitude{sparsity=0.6}", s.Sparsity)
	}
	if len(s.UnknownCost) == 0 {
		t.Errorf("without --shape the batch dim is unbound, yet no node has unknown cost")
	}
}

// Options out of range are usage errors (2), data that does not fit the
// model bad input (3); nothing is written.
func TestPruneBadInputExitCodes(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "o.onnx")
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"--passes", "prune-magnitude{sparsity=1.5}"}, exitUsage},
		{[]string{"--passes", "prune-magnitude{sparsity=-0.1}"}, exitUsage},
		{[]string{"--passes", "prune-channels{ratio=1}"}, exitUsage},
		{[]string{"--passes", "prune-magnitude{sparsity=0.5,reconstruct=true}"}, exitUsage},
		{[]string{"--passes", "prune-channels{ratio=0.3,reconstruct=true}", "--calib", "../../testmodels/data/digits_calib_x_flat.npy"}, exitBadInput},
	} {
		args := append([]string{"compile", cnn, "-o", out, "--quiet"}, tc.args...)
		code, _, errs := nncc(t, args...)
		if code != tc.code || errs == "" {
			t.Errorf("%v: exit %d (%q), want %d", tc.args, code, errs, tc.code)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%v: wrote %s", tc.args, out)
		}
	}
}
