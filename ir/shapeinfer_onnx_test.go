package ir_test

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/onnx"
)

const onnxNodeTests = "/usr/share/libonnx-testdata/data/node"

// TestInferShapesONNXNodeTests runs shape inference on every model of the
// ONNX operator test suite with the graph outputs' declared types
// removed, and compares what it infers with the shapes of the expected
// output tensors. A known inferred dimension that differs from the real
// one fails the test, as does an inference error on these valid models;
// dimensions left unknown only lower the agreement figure, which is
// logged.
func TestInferShapesONNXNodeTests(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join(onnxNodeTests, "*", "model.onnx"))
	if err != nil || len(paths) == 0 {
		t.Skipf("ONNX node tests not installed at %s", onnxNodeTests)
	}
	t.Run("inputs", func(t *testing.T) { checkNodeTests(t, paths, false, 0.80) })
	// With the test inputs bound as constants, every constant-driven rule
	// (Reshape targets, Resize sizes, Slice bounds, ...) meets real data.
	t.Run("bound", func(t *testing.T) { checkNodeTests(t, paths, true, 0.92) })
}

func checkNodeTests(t *testing.T, paths []string, bind bool, minAgree float64) {
	var (
		loaded    int
		outputs   int // tensor outputs with expected data
		full      int // inferred shape equals the real one
		rankOnly  int // rank right, some dims unknown
		none      int // no shape inferred
		wrong     []string
		inferErrs []string
		declErrs  []string
		missing   = map[string]int{}
	)
	for _, path := range paths {
		test := filepath.Base(filepath.Dir(path))
		data := filepath.Join(filepath.Dir(path), "test_data_set_0")
		m, err := onnx.Load(path)
		if err != nil {
			// The loader's own checks are not under test here, except
			// where Verify disagrees with a schema of ours.
			if strings.Contains(err.Error(), " want ") || strings.Contains(err.Error(), "must be") {
				t.Errorf("%s: loading fails on a schema check: %v", test, err)
			}
			continue
		}
		loaded++
		bindInputs := func(m *ir.Model) {
			if !bind {
				return
			}
			for i, in := range m.Graph.Inputs {
				// (Skipping data whose type is not the declared one: the
				// suite stores bfloat16 as uint16.)
				if tv, _, err := onnx.ReadTensorFile(filepath.Join(data, "input_"+itoa(i)+".pb")); err == nil && in.Const == nil && in.Type.IsTensor() && in.Type.DType == tv.DType {
					in.Const = tv
				}
			}
		}
		// First with the declared output types kept: inference must agree
		// with them.
		bindInputs(m)
		if err := ir.InferShapes(m); err != nil {
			declErrs = append(declErrs, test+": "+err.Error())
		}
		m, _ = onnx.Load(path)
		bindInputs(m)
		for _, o := range m.Graph.Outputs {
			o.Type = nil
		}
		for _, v := range m.Graph.ValueInfo {
			v.Type = nil
		}
		if err := ir.InferShapes(m); err != nil {
			inferErrs = append(inferErrs, test+": "+err.Error())
			continue
		}
		for i, o := range m.Graph.Outputs {
			want, _, err := onnx.ReadTensorFile(filepath.Join(data, "output_"+itoa(i)+".pb"))
			if err != nil {
				continue // sequences, optionals, missing data
			}
			outputs++
			got := o.Type
			real := ir.ShapeOf(want.Dims...)
			what := test + ": output " + o.Name + ": inferred " + got.String() + ", real " + want.DType.String() + real.String()
			// The test data stores bfloat16 results as uint16.
			if got != nil && got.DType != ir.Undefined && got.DType != want.DType && !(got.DType == ir.BFloat16 && want.DType == ir.Uint16) {
				wrong = append(wrong, what)
				continue
			}
			if got == nil || !got.HasShape {
				none++
				missing[opOf(m, o)]++
				if testing.Verbose() {
					t.Logf("untyped: %s", what)
				}
				continue
			}
			if len(got.Shape) != len(real) {
				wrong = append(wrong, what)
				continue
			}
			exact, bad := true, false
			for k, d := range got.Shape {
				switch {
				case !d.Known():
					exact = false
				case d.Value != real[k].Value:
					bad = true
				}
			}
			switch {
			case bad:
				wrong = append(wrong, what)
			case exact:
				full++
			default:
				rankOnly++
				missing[opOf(m, o)+" (partial)"]++
				if testing.Verbose() {
					t.Logf("partial: %s", what)
				}
			}
		}
	}
	t.Logf("%d models loaded; %d tensor outputs with data: %d shapes exactly right (%.1f%%), %d right rank with unknown dims, %d untyped, %d wrong",
		loaded, outputs, full, 100*float64(full)/float64(max(outputs, 1)), rankOnly, none, len(wrong))
	t.Logf("not fully inferred, by producing op: %s", counts(missing))
	for _, e := range wrong {
		t.Errorf("wrong: %s", e)
	}
	for _, e := range inferErrs {
		t.Errorf("inference error on a valid model: %s", e)
	}
	for _, e := range declErrs {
		t.Errorf("inference disagrees with declared types: %s", e)
	}
	if float64(full) < minAgree*float64(outputs) {
		t.Errorf("only %d of %d output shapes inferred exactly; want at least %.0f%%", full, outputs, 100*minAgree)
	}
}

func opOf(m *ir.Model, v *ir.Value) string {
	for _, n := range m.Graph.Nodes {
		for _, o := range n.Outputs {
			if o == v {
				return n.OpType
			}
		}
	}
	return "?"
}

func counts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] || m[keys[i]] == m[keys[j]] && keys[i] < keys[j] })
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k + ":" + itoa(m[k]) + " ")
	}
	return b.String()
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var buf []byte
	for ; i > 0; i /= 10 {
		buf = append([]byte{byte('0' + i%10)}, buf...)
	}
	return string(buf)
}

// TestInferShapesTorchExports infers the shapes of PyTorch exports with
// symbolic batch and sequence dimensions (testdata/export_torch.py) from
// their inputs alone: every node output must get a full shape, known or
// symbolic, that agrees with what the exporter recorded, and the
// symbols must follow the data through the run-time shape computations.
func TestInferShapesTorchExports(t *testing.T) {
	cases := []struct {
		file string
		want map[string]string // graph output or node output -> type
	}{
		{"torch_cnn_op11.onnx", map[string]string{"y": "float32[N,10]"}},
		{"torch_attention_op13.onnx", map[string]string{"y": "float32[T,B,4]"}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			m, err := onnx.Load(filepath.Join("testdata", c.file))
			if err != nil {
				t.Fatal(err)
			}
			declared := map[*ir.Value]*ir.Type{}
			for _, n := range m.Graph.Nodes {
				for _, o := range n.Outputs {
					declared[o] = o.Type
					o.Type = nil
				}
			}
			if err := ir.InferShapes(m); err != nil {
				t.Fatal(err)
			}
			for _, n := range m.Graph.Nodes {
				for _, o := range n.Outputs {
					got := o.Type
					if got == nil || !got.HasShape {
						t.Errorf("%s (%s): no shape", o.Name, n.OpType)
						continue
					}
					for _, d := range got.Shape {
						if !d.Known() && d.Param == "" {
							t.Errorf("%s (%s): %s has unknown dims", o.Name, n.OpType, got)
							break
						}
					}
					if d := declared[o]; d != nil && d.HasShape {
						if _, err := mergeCheck(d, got); err != nil {
							t.Errorf("%s (%s): %v", o.Name, n.OpType, err)
						}
					}
				}
			}
			for _, o := range m.Graph.Outputs {
				if w, ok := c.want[o.Name]; ok && o.Type.String() != w {
					t.Errorf("output %s: got %s, want %s", o.Name, o.Type, w)
				}
			}
		})
	}
}

// mergeCheck reports whether an exporter's type and an inferred one
// agree where both know a size.
func mergeCheck(declared, inferred *ir.Type) (bool, error) {
	if declared.DType != inferred.DType || len(declared.Shape) != len(inferred.Shape) {
		return false, fmt.Errorf("inferred %s, exporter recorded %s", inferred, declared)
	}
	for i, d := range declared.Shape {
		if d.Known() && inferred.Shape[i].Known() && d.Value != inferred.Shape[i].Value {
			return false, fmt.Errorf("inferred %s, exporter recorded %s", inferred, declared)
		}
	}
	return true, nil
}
