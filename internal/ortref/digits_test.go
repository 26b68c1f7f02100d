package ortref_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nncc/nncc/internal/ortref"
	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/onnx"
)

const modelDir = "../../testmodels"

// digitsModels are the trained models testmodels/train.py writes, with the
// accuracy each must at least reach (a floor well under what they reach,
// there to catch a broken export or a broken test split).
var digitsModels = []struct {
	name  string
	floor float64
}{
	{"digits_cnn", 0.97},
	{"digits_mlp", 0.95},
	{"digits_cnn_constnodes", 0.97},
}

// Onnxruntime's logits must match torch's to this tolerance (the logits
// are of order 10; float32 summation order differs between the two).
var logitTol = ortref.Tolerance{Abs: 1e-4, Rel: 1e-4}

// TestDigitsModels runs every trained digits model through onnxruntime,
// with graph optimizations off and on, on both reference test sets;
// checks the logits against torch's; and checks that the accuracies the
// README states are what torch's and onnxruntime's logits give.
func TestDigitsModels(t *testing.T) {
	ortref.Require(t)
	labels := readLabels(t)
	table := readmeAccuracies(t)
	out := t.TempDir()

	type ref struct {
		model, set, opt string
		want            *ir.Tensor
	}
	var jobs []ortref.Job
	var refs []ref
	for _, m := range digitsModels {
		for _, set := range []string{"test_data_set_0", "test_data_set_1"} {
			dir := filepath.Join(modelDir, "data", m.name, set)
			want, _, err := onnx.ReadTensorFile(filepath.Join(dir, "output_0.pb"))
			if err != nil {
				t.Fatal(err)
			}
			for _, opt := range []string{ortref.OptDisabled, ortref.OptAll} {
				jobs = append(jobs, ortref.Job{
					Model:      filepath.Join(modelDir, m.name+".onnx"),
					InputFiles: []string{filepath.Join(dir, "input_0.pb")},
					Out:        filepath.Join(out, fmt.Sprint(len(jobs))),
					Opt:        opt,
				})
				refs = append(refs, ref{m.name, set, opt, want})
			}
		}
	}
	res, err := ortref.Run(jobs)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		ref := refs[i]
		what := fmt.Sprintf("%s %s opt=%s", ref.model, ref.set, ref.opt)
		got, err := r.Tensors()
		if err != nil {
			t.Errorf("%s: %v", what, err)
			continue
		}
		if len(got) != 1 {
			t.Errorf("%s: %d outputs, want 1", what, len(got))
			continue
		}
		if err := ortref.Compare(got[0], ref.want, logitTol); err != nil {
			t.Errorf("%s: onnxruntime vs torch: %v", what, err)
		}
		if ref.set != "test_data_set_0" {
			continue
		}
		// Set 0 is the whole test split: check the accuracies.
		row, ok := table[ref.model+".onnx"]
		if !ok {
			t.Errorf("%s: no row in testmodels/README.md", what)
			continue
		}
		ortAcc := accuracy(t, got[0], labels)
		torchAcc := accuracy(t, ref.want, labels)
		if s := percent(ortAcc); s != row.ort {
			t.Errorf("%s: onnxruntime accuracy %s, README says %s", what, s, row.ort)
		}
		if s := percent(torchAcc); s != row.torch {
			t.Errorf("%s: torch accuracy %s, README says %s", what, s, row.torch)
		}
		for _, m := range digitsModels {
			if m.name == ref.model && ortAcc < m.floor {
				t.Errorf("%s: accuracy %.4f is under %.2f", what, ortAcc, m.floor)
			}
		}
		t.Logf("%s: accuracy onnxruntime %s, torch %s", what, percent(ortAcc), percent(torchAcc))
	}
}

// TestDigitsNPYMatchesPB checks the .npy test split against the input .pb
// files written from the same arrays, which also tests ReadNPY against the
// independent TensorProto decoder.
func TestDigitsNPYMatchesPB(t *testing.T) {
	for _, c := range []struct{ npy, model string }{
		{"digits_test_x.npy", "digits_cnn"},
		{"digits_test_x.npy", "digits_cnn_constnodes"},
		{"digits_test_x_flat.npy", "digits_mlp"},
	} {
		x, err := ortref.ReadNPY(filepath.Join(modelDir, "data", c.npy))
		if err != nil {
			t.Fatal(err)
		}
		pb, _, err := onnx.ReadTensorFile(filepath.Join(modelDir, "data", c.model, "test_data_set_0", "input_0.pb"))
		if err != nil {
			t.Fatal(err)
		}
		if err := ortref.Compare(x, pb, ortref.Tolerance{}); err != nil {
			t.Errorf("%s vs %s input: %v", c.npy, c.model, err)
		}
	}
	y := readLabels(t)
	if len(y) == 0 {
		t.Fatal("no labels")
	}
	for i, l := range y {
		if l < 0 || l > 9 {
			t.Fatalf("label %d is %d, want 0..9", i, l)
		}
	}
}

func readLabels(t *testing.T) []int64 {
	t.Helper()
	y, err := ortref.ReadNPY(filepath.Join(modelDir, "data", "digits_test_y.npy"))
	if err != nil {
		t.Fatal(err)
	}
	if y.DType != ir.Int64 || len(y.Dims) != 1 {
		t.Fatalf("labels are %v%v, want int64[N]", y.DType, y.Dims)
	}
	return y.Int64s()
}

// accuracy is the fraction of rows of logits [N, 10] whose argmax is the
// label.
func accuracy(t *testing.T, logits *ir.Tensor, labels []int64) float64 {
	t.Helper()
	if len(logits.Dims) != 2 || logits.Dims[0] != int64(len(labels)) {
		t.Fatalf("logits dims %v for %d labels", logits.Dims, len(labels))
	}
	v := logits.Float64s()
	k := int(logits.Dims[1])
	right := 0
	for i, l := range labels {
		row := v[i*k : (i+1)*k]
		best := 0
		for j := range row {
			if row[j] > row[best] {
				best = j
			}
		}
		if int64(best) == l {
			right++
		}
	}
	return float64(right) / float64(len(labels))
}

// percent formats an accuracy the way train.py writes it into the README.
func percent(a float64) string { return fmt.Sprintf("%.2f%%", 100*a) }

type readmeRow struct{ torch, ort string }

// readmeAccuracies reads the digits table of testmodels/README.md: model
// file -> the two accuracy columns.
func readmeAccuracies(t *testing.T) map[string]readmeRow {
	t.Helper()
	f, err := os.Open(filepath.Join(modelDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cells := func(line string) []string {
		c := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), "|")
		for i := range c {
			c[i] = strings.Trim(strings.TrimSpace(c[i]), "`")
		}
		return c
	}
	rows := map[string]readmeRow{}
	torchCol, ortCol := -1, -1
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "|") {
			continue
		}
		c := cells(line)
		if torchCol < 0 {
			for i, h := range c {
				switch h {
				case "fp32 test accuracy (torch)":
					torchCol = i
				case "fp32 test accuracy (onnxruntime)":
					ortCol = i
				}
			}
			continue
		}
		if ortCol < 0 || len(c) <= max(torchCol, ortCol) || !strings.HasSuffix(c[0], ".onnx") {
			continue
		}
		rows[c[0]] = readmeRow{torch: c[torchCol], ort: c[ortCol]}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if torchCol < 0 || ortCol < 0 {
		t.Fatal("testmodels/README.md has no accuracy table")
	}
	return rows
}
