package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/npy"
)

const digits = "../../testmodels"

// nncc compile with quantize writes the model, a report with per-layer
// scales and SQNR and the budget's scores, and PNG charts.
func TestCompileQuantizeReport(t *testing.T) {
	dir := t.TempDir()
	out, rep, plots := filepath.Join(dir, "q.onnx"), filepath.Join(dir, "r.json"), filepath.Join(dir, "plots")
	code, _, stderr := nncc(t, "compile", digits+"/digits_cnn.onnx", "-o", out, "--passes", "default,quantize",
		"--calib", digits+"/data/digits_calib_x.npy", "--eval", digits+"/data/digits_test_x.npy",
		"--labels", digits+"/data/digits_test_y.npy", "--max-drop", "0.5", "--report", rep, "--report-plots", plots, "--quiet")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if stderr != "" {
		t.Errorf("--quiet, yet stderr says %q", stderr)
	}
	var r struct {
		Passes []struct {
			Name    string
			Details struct {
				Layers []struct {
					Node   string
					SQNR   *float64 `json:"sqnr_db"`
					Output struct {
						Scale     float64
						ZeroPoint *int `json:"zero_point"`
					}
				}
				Budget struct {
					Holds bool
					Final struct{ Accuracy float64 }
				}
			}
		}
	}
	b, err := os.ReadFile(rep)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	q := r.Passes[len(r.Passes)-1]
	if q.Name != "quantize" || len(q.Details.Layers) != 3 {
		t.Fatalf("last pass %s with %d layers", q.Name, len(q.Details.Layers))
	}
	for _, l := range q.Details.Layers {
		if l.SQNR == nil || l.Output.Scale <= 0 || l.Output.ZeroPoint == nil {
			t.Errorf("layer %s: incomplete record %+v", l.Node, l)
		}
	}
	if !q.Details.Budget.Holds || q.Details.Budget.Final.Accuracy < 0.98 {
		t.Errorf("budget %+v", q.Details.Budget)
	}
	for _, f := range []string{"07-quantize-sqnr.png", "07-quantize-accuracy.png"} {
		b, err := os.ReadFile(filepath.Join(plots, f))
		if err != nil || !strings.HasPrefix(string(b), "\x89PNG") {
			t.Errorf("%s: not a PNG (%v)", f, err)
		}
	}
}

// Bad calibration data: exit 3, an error naming the file, no output.
func TestCompileQuantizeBadCalib(t *testing.T) {
	dir := t.TempDir()
	x, err := npy.Read(digits + "/data/digits_calib_x.npy")
	if err != nil {
		t.Fatal(err)
	}
	xs := x.Float32s()
	xs[5] = float32(nan())
	bad := filepath.Join(dir, "nan.npy")
	if err := writeNPY(bad, ir.FromFloat32(x.Dims, xs)); err != nil {
		t.Fatal(err)
	}
	wrong := filepath.Join(dir, "wrong.npy")
	if err := writeNPY(wrong, ir.FromFloat32([]int64{4, 64}, make([]float32, 256))); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{bad, wrong, filepath.Join(dir, "missing.npy")} {
		out := filepath.Join(dir, "q.onnx")
		code, _, stderr := nncc(t, "compile", digits+"/digits_cnn.onnx", "-o", out, "--passes", "quantize", "--calib", f)
		if code != 3 || !strings.Contains(stderr, filepath.Base(f)) {
			t.Errorf("%s: exit %d, stderr %q; want 3 naming the file", f, code, stderr)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%s: output written", f)
		}
	}
}

func nan() float64 { return math.NaN() }

func writeNPY(path string, t *ir.Tensor) error {
	var b bytes.Buffer
	if err := npy.Encode(&b, t); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}
