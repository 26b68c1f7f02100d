package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// --max-drop gates the whole pipeline: a result that loses more than the
// budget exits 1 and writes no model (the report still says why); one
// within it is written, and the accuracy line is printed.
func TestCompileBudgetGate(t *testing.T) {
	dir := t.TempDir()
	eval := []string{"--eval", digits + "/data/digits_test_x.npy", "--labels", digits + "/data/digits_test_y.npy"}

	out, rep := filepath.Join(dir, "over.onnx"), filepath.Join(dir, "over.json")
	args := append([]string{"compile", digits + "/digits_cnn.onnx", "-o", out, "--passes", "default,prune-magnitude{sparsity=0.9}",
		"--max-drop", "3", "--report", rep, "--quiet"}, eval...)
	code, _, stderr := nncc(t, args...)
	if code != exitFailed || !strings.Contains(stderr, "accuracy budget") {
		t.Fatalf("90%% sparsity without re-fit: exit %d (%s); want %d naming the budget", code, stderr, exitFailed)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a model over budget was written (%v)", err)
	}
	var r struct {
		Accuracy struct {
			DropPoints float64 `json:"drop_points"`
			Holds      bool    `json:"holds"`
		}
	}
	b, err := os.ReadFile(rep)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &r); err != nil || r.Accuracy.Holds || r.Accuracy.DropPoints <= 3 {
		t.Errorf("report accuracy %+v (err %v); want a drop over 3 points that does not hold", r.Accuracy, err)
	}

	out = filepath.Join(dir, "ok.onnx")
	args = append([]string{"compile", digits + "/digits_cnn.onnx", "-o", out, "--passes", "default", "--max-drop", "0", "--quiet"}, eval...)
	code, stdout, stderr := nncc(t, args...)
	if code != 0 || !strings.Contains(stdout, "99.11% -> 99.11% (0.00 points lost, budget 0)") {
		t.Fatalf("lossless pipeline: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if _, err := os.Stat(out); err != nil {
		t.Errorf("the model within budget was not written: %v", err)
	}
}
