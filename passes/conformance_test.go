package passes_test

import (
	"fmt"

	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/onnx"
	"github.com/nncc/nncc/passes"
	"github.com/nncc/nncc/runtime"
)

// ONNX's conformance models (Debian's libonnx-testdata): one operator per
// node test at every opset ONNX 1.12 wrote them for, plus small PyTorch
// exports. Every model nncc's runtime runs correctly on its test data is
// compiled with upgrade-opset{to=21} and the default pipeline under
// VerifyEach with the test inputs: no pass may change an output beyond
// 1e-4 + 1e-3·|x|, and where upgrade-opset refuses, the model must be left
// unchanged.
const conformanceRoot = "/usr/share/libonnx-testdata/data"

func TestConformanceModels(t *testing.T) {
	if testing.Short() {
		t.Skip("conformance sweep is not short")
	}
	var dirs []string
	for _, set := range []string{"node", "pytorch-converted", "pytorch-operator", "simple"} {
		ds, _ := filepath.Glob(filepath.Join(conformanceRoot, set, "*"))
		dirs = append(dirs, ds...)
	}
	if len(dirs) == 0 {
		t.Skipf("%s not installed (Debian package libonnx-testdata)", conformanceRoot)
	}
	var compiled, upgraded, refused, unsupported int
	refusals := map[string]int{}
	for _, dir := range dirs {
		m, in, want, ok := loadConformance(dir)
		if !ok {
			unsupported++
			continue
		}
		name := filepath.Base(filepath.Dir(dir)) + "/" + filepath.Base(dir)
		before := dump(m)
		spec := "upgrade-opset{to=21},default"
		if m.Opset("") > 21 {
			spec = "default"
		}
		p := mustParse(t, spec)
		rep, err := p.Run(m, passes.RunOptions{VerifyEach: true, Inputs: in, Atol: 1e-4, Rtol: 1e-3})
		if err != nil && strings.HasPrefix(err.Error(), "pass upgrade-opset: cannot upgrade") {
			refused++
			_, list, _ := strings.Cut(err.Error(), "unchanged:\n")
			refusals[firstLine(list)]++
			if dump(m) != before {
				t.Errorf("%s: refused upgrade changed the model", name)
			}
			p = mustParse(t, "default")
			rep, err = p.Run(m, passes.RunOptions{VerifyEach: true, Inputs: in, Atol: 1e-4, Rtol: 1e-3})
		} else if err == nil && spec != "default" {
			upgraded++
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		_ = rep
		compiled++
		// And the result still matches ONNX's expected outputs.
		got, err := runOnce(m, in)
		if err != nil {
			t.Errorf("%s: after %s: %v", name, spec, err)
			continue
		}
		for i, o := range m.Graph.Outputs {
			if d, r := maxDiffQuiet(want[i], got[o.Name]); d > 1e-3+1e-3*r {
				t.Errorf("%s: output %s differs from ONNX's expected output by %g", name, o.Name, d)
			}
		}
	}
	var rs []string
	for r, n := range refusals {
		rs = append(rs, fmt.Sprintf("%d× %s", n, r))
	}
	sort.Strings(rs)
	t.Logf("%d models compiled (%d upgraded to opset 21, %d refused: %s); %d not run by nncc's runtime or without test data",
		compiled, upgraded, refused, strings.Join(rs, "; "), unsupported)
	if compiled < 300 {
		t.Errorf("only %d conformance models compiled", compiled)
	}
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	// "node (Op): reason" → "Op: reason"
	if i := strings.Index(s, " ("); i >= 0 {
		s = s[i+2:]
		s = strings.Replace(s, "): ", ": ", 1)
	}
	return s
}

// loadConformance reads a test directory's model and first data set, and
// reports whether nncc's runtime reproduces the expected outputs (only
// then is the model a fair test of the passes).
func loadConformance(dir string) (*ir.Model, map[string]*ir.Tensor, []*ir.Tensor, bool) {
	m, err := onnx.Load(filepath.Join(dir, "model.onnx"))
	if err != nil {
		return nil, nil, nil, false
	}
	data := filepath.Join(dir, "test_data_set_0")
	in := map[string]*ir.Tensor{}
	k := 0
	for _, v := range m.Graph.Inputs {
		if v.Const != nil {
			continue
		}
		t, _, err := onnx.ReadTensorFile(filepath.Join(data, fmt.Sprintf("input_%d.pb", k)))
		if err != nil {
			return nil, nil, nil, false
		}
		in[v.Name] = t
		k++
	}
	var want []*ir.Tensor
	for i := range m.Graph.Outputs {
		t, _, err := onnx.ReadTensorFile(filepath.Join(data, fmt.Sprintf("output_%d.pb", i)))
		if err != nil {
			return nil, nil, nil, false
		}
		want = append(want, t)
	}
	got, err := runOnce(m, in)
	if err != nil {
		return nil, nil, nil, false
	}
	for i, o := range m.Graph.Outputs {
		g := got[o.Name]
		if g == nil || g.DType != want[i].DType || fmt.Sprint(g.Dims) != fmt.Sprint(want[i].Dims) {
			return nil, nil, nil, false
		}
		if d, r := maxDiffQuiet(want[i], g); d > 1e-3+1e-3*r {
			return nil, nil, nil, false
		}
	}
	return m, in, want, true
}

func runOnce(m *ir.Model, in map[string]*ir.Tensor) (map[string]*ir.Tensor, error) {
	s, err := runtime.NewSession(m, runtime.Options{})
	if err != nil {
		return nil, err
	}
	return s.Run(in)
}

// maxDiffQuiet is max |a-b| and max |a| for numeric tensors of one
// shape (0, 0 for strings; +Inf when shapes differ).
func maxDiffQuiet(a, b *ir.Tensor) (diff, mag float64) {
	if a == nil || b == nil || a.DType != b.DType || fmt.Sprint(a.Dims) != fmt.Sprint(b.Dims) {
		return 1e300, 0
	}
	if a.DType == ir.String || a.DType.Bits() < 8 || a.DType == ir.Complex64 || a.DType == ir.Complex128 {
		return 0, 0
	}
	switch a.DType {
	case ir.Float8E4M3FN, ir.Float8E4M3FNUZ, ir.Float8E5M2, ir.Float8E5M2FNUZ:
		return 0, 0
	}
	av, bv := a.Float64s(), b.Float64s()
	for i := range av {
		if av[i] != av[i] && bv[i] != bv[i] { // both NaN
			continue
		}
		d := av[i] - bv[i]
		if d < 0 {
			d = -d
		}
		if d != d {
			d = 1e300
		}
		diff = max(diff, d)
		mag = max(mag, abs(av[i]))
	}
	return diff, mag
}
