package gosrc

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/nncc/nncc/internal/ortref"
	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/npy"
	"github.com/nncc/nncc/onnx"
	"github.com/nncc/nncc/passes"
	"github.com/nncc/nncc/runtime"
)

// modelCase is a model the generated code is checked on.
type modelCase struct {
	name   string
	path   string
	data   string // .npy rows (first axis = samples); "" draws seeded random rows
	labels string // .npy labels for data: accuracy must equal onnxruntime's
	shapes map[string][]int64
	rows   int // random rows when data is ""
	batch  int // rows per Run
	// tolerance on |generated - runtime| relative to the output's range
	tol float64
	// classes is the length of the last output axis top-1 is taken over
	// when a row has several predictions (0: one prediction per row)
	classes int
	// ortOpt is onnxruntime's optimisation level ("": all)
	ortOpt string
	// dense compares every output value with onnxruntime (within tol of
	// the range) instead of top-1: a segmentation map
	dense bool
	// input builds the rows when data is "" (else seeded values)
	input func(t testing.TB) *ir.Tensor
	// heavy cases are skipped with -short
	heavy bool
	// raw generates from the model as it is (no default pipeline)
	raw bool
}

const tvDir = "/tmp/nncc-models/tv"

var modelCases = []modelCase{
	{name: "digits_cnn", path: "../../testmodels/digits_cnn.onnx", data: "../../testmodels/data/digits_test_x.npy", labels: "../../testmodels/data/digits_test_y.npy", batch: 450, tol: 1e-4},
	{name: "digits_cnn_constnodes", path: "../../testmodels/digits_cnn_constnodes.onnx", data: "../../testmodels/data/digits_test_x.npy", labels: "../../testmodels/data/digits_test_y.npy", batch: 64, tol: 1e-4},
	{name: "digits_mlp", path: "../../testmodels/digits_mlp.onnx", data: "../../testmodels/data/digits_test_x_flat.npy", labels: "../../testmodels/data/digits_test_y.npy", batch: 450, tol: 1e-4},
	{name: "ppocr_cls", path: "/tmp/nncc-models/ppocr_cls.onnx", shapes: map[string][]int64{"x": {-1, 3, 48, 192}}, data: "/tmp/nncc-models/ppocr_cls_data/eval_x.npy", labels: "/tmp/nncc-models/ppocr_cls_data/eval_y.npy", batch: 50, tol: 1e-4},
	{name: "ppocr_rec", heavy: true, path: "/tmp/nncc-models/ppocr_rec.onnx", shapes: map[string][]int64{"x": {1, 3, 48, 320}}, rows: 1, batch: 1, tol: 1e-3, classes: 6625},
	{name: "ppocr_det", heavy: true, path: "/tmp/nncc-models/ppocr_det.onnx", shapes: map[string][]int64{"x": {-1, 3, 96, 192}}, input: textPage, batch: 1, tol: 1e-4, dense: true},
	{name: "mobilenet_v2", heavy: true, path: tvDir + "/mobilenet_v2.onnx", rows: 2, batch: 2, tol: 1e-4},
	{name: "mobilenet_v3_small", heavy: true, path: tvDir + "/mobilenet_v3_small.onnx", rows: 2, batch: 2, tol: 1e-4},
	{name: "resnet18", heavy: true, path: tvDir + "/resnet18.onnx", rows: 2, batch: 2, tol: 1e-4},
}

// compileForGo loads a model and runs the default pipeline, as
// `nncc compile --emit go` does.
func compileForGo(t testing.TB, path string) *ir.Model {
	t.Helper()
	m, err := onnx.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := passes.Default(m).Run(m, passes.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	return m
}

// buildGenerated generates the package for m, checks that a second
// generation gives the same bytes, writes it and builds its harness
// (with go vet).
func buildGenerated(t testing.TB, m *ir.Model, opts Options) *Harness {
	t.Helper()
	files, err := Generate(m, opts)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Generate(m, opts)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range files {
		if string(again[k]) != string(v) {
			t.Fatalf("%s differs between two generations", k)
		}
	}
	dir := filepath.Join(t.TempDir(), opts.Package)
	if err := WriteDir(dir, files); err != nil {
		t.Fatal(err)
	}
	root, err := SourceRoot()
	if err != nil {
		t.Fatal(err)
	}
	h, err := Build(dir, root, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// rowsOf returns the rows of x as batches of at most batch rows.
func batches(x *ir.Tensor, batch int) [][][]float32 {
	n := int(x.Dims[0])
	per := int(x.NumElements()) / n
	all := x.Float32s()
	var sets [][][]float32
	for s := 0; s < n; s += batch {
		e := min(n, s+batch)
		sets = append(sets, [][]float32{all[s*per : e*per]})
	}
	return sets
}

func argmaxRows(out []float32, rows int) []int {
	cols := len(out) / rows
	res := make([]int, rows)
	for r := range res {
		best := 0
		for c := 1; c < cols; c++ {
			if out[r*cols+c] > out[r*cols+best] {
				best = c
			}
		}
		res[r] = best
	}
	return res
}

// TestModels generates Go for every model, builds it, runs it on real
// rows and compares with nncc's runtime (outputs within tol of the
// range) and onnxruntime (top-1 accuracy equal on labelled data, top-1
// agreement otherwise).
func TestModels(t *testing.T) {
	for _, c := range modelCases {
		t.Run(c.name, func(t *testing.T) {
			if c.heavy && testing.Short() {
				t.Skip("big model; -short")
			}
			if _, err := os.Stat(c.path); err != nil {
				t.Skipf("%s not present (sh passes/testdata/models/fetch.sh /tmp/nncc-models)", c.path)
			}
			testModel(t, c)
		})
	}
}

func testModel(t *testing.T, c modelCase) {
	var m *ir.Model
	if c.raw {
		var err error
		if m, err = onnx.Load(c.path); err != nil {
			t.Fatal(err)
		}
	} else {
		m = compileForGo(t, c.path)
	}
	h := buildGenerated(t, m, Options{Package: c.name, Shapes: c.shapes, Source: filepath.Base(c.path)})
	var x *ir.Tensor
	dataFile := c.data
	if c.data != "" {
		var err error
		if x, err = npy.Read(c.data); err != nil {
			t.Fatal(err)
		}
	} else if c.input != nil {
		x = c.input(t)
	} else {
		in := m.Graph.Inputs[0]
		dims := []int64{int64(c.rows)}
		for i, d := range in.Type.Shape[1:] {
			if sh := c.shapes[in.Name]; sh != nil {
				d.Value = sh[i+1]
			}
			dims = append(dims, d.Value)
		}
		vals := make([]float32, ir.NumElements(dims))
		for i := range vals {
			vals[i] = float32(math.Sin(float64(i)*0.37)) * 1.5
		}
		x = ir.FromFloat32(dims, vals)
	}
	if dataFile == "" {
		dataFile = filepath.Join(t.TempDir(), "x.npy")
		f, err := os.Create(dataFile)
		if err != nil {
			t.Fatal(err)
		}
		if err := npy.Encode(f, x); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	rows := int(x.Dims[0])
	sets := batches(x, c.batch)
	outs, err := h.Run(sets)
	if err != nil {
		t.Fatal(err)
	}
	var got []float32
	for _, o := range outs {
		got = append(got, o[0]...)
	}
	// nncc's runtime on the same compiled model
	sess, err := runtime.NewSession(m, runtime.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	var want []float32
	for _, s := range sets {
		dims := append([]int64{int64(len(s[0]) / (int(x.NumElements()) / rows))}, x.Dims[1:]...)
		res, err := sess.Run(map[string]*ir.Tensor{sess.InputNames()[0]: ir.FromFloat32(dims, s[0])})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, res[sess.OutputNames()[0]].Float32s()...)
	}
	if len(got) != len(want) {
		t.Fatalf("generated code gave %d values, the runtime %d", len(got), len(want))
	}
	var maxDiff, maxRef float64
	for i := range got {
		maxDiff = math.Max(maxDiff, math.Abs(float64(got[i]-want[i])))
		maxRef = math.Max(maxRef, math.Abs(float64(want[i])))
	}
	if rel := maxDiff / maxRef; !(rel <= c.tol) {
		t.Errorf("max |generated - runtime| = %.3g, %.3g of the output range (limit %g)", maxDiff, rel, c.tol)
	}
	// onnxruntime on the original model
	ortref.Require(t) // after the runtime comparison, which stands on its own
	res, err := ortref.Run([]ortref.Job{{Model: c.path, Inputs: map[string]string{m.Graph.Inputs[0].Name: dataFile}, Out: t.TempDir(), Threads: 1, Opt: c.ortOpt}})
	if err != nil {
		t.Fatal(err)
	}
	ts, err := res[0].Tensors()
	if err != nil {
		t.Fatal(err)
	}
	ref := ts[0].Float32s()
	if c.dense {
		var d, r float64
		for i := range ref {
			d = math.Max(d, math.Abs(float64(got[i]-ref[i])))
			r = math.Max(r, math.Abs(float64(ref[i])))
		}
		t.Logf("max |generated - onnxruntime| = %.3g (output range %.3g)", d, r)
		if !(d <= c.tol*r) {
			t.Errorf("max |generated - onnxruntime| = %.3g, over %g of the range %.3g", d, c.tol, r)
		}
		return
	}
	preds := rows
	if c.classes > 0 {
		preds = len(ref) / c.classes
	}
	gTop, oTop := argmaxRows(got, preds), argmaxRows(ref, preds)
	agree := 0
	for i := range gTop {
		if gTop[i] == oTop[i] {
			agree++
		}
	}
	if c.labels != "" {
		y, err := npy.Read(c.labels)
		if err != nil {
			t.Fatal(err)
		}
		labels := y.Int64s()
		var gc, oc int
		for i := range gTop {
			if int64(gTop[i]) == labels[i] {
				gc++
			}
			if int64(oTop[i]) == labels[i] {
				oc++
			}
		}
		rc := 0
		for i, p := range argmaxRows(want, preds) {
			if int64(p) == labels[i] {
				rc++
			}
		}
		t.Logf("top-1 accuracy: generated %d/%d, nncc runtime %d/%d, onnxruntime %d/%d; agreement with onnxruntime %d/%d", gc, rows, rc, rows, oc, rows, agree, rows)
		if gc != oc {
			t.Errorf("generated code's accuracy %d/%d differs from onnxruntime's %d/%d", gc, rows, oc, rows)
		}
		return
	}
	t.Logf("top-1 agreement with onnxruntime: %d/%d", agree, preds)
	if agree != preds {
		t.Errorf("top-1 agrees with onnxruntime on %d of %d predictions", agree, preds)
	}
}

// textPage stacks pairs of PaddleOCR's rendered text lines (3×48×192
// each) into two 3×96×192 pages for the detector.
func textPage(t testing.TB) *ir.Tensor {
	lines, err := npy.Read("/tmp/nncc-models/ppocr_cls_data/eval_x.npy")
	if err != nil {
		t.Skip("PaddleOCR data absent:", err)
	}
	const c, h, w = 3, 48, 192
	src := lines.Float32s()
	out := make([]float32, 2*c*2*h*w)
	for p := 0; p < 2; p++ {
		for half := 0; half < 2; half++ {
			line := src[(2*p+half)*c*h*w:][:c*h*w]
			for ch := 0; ch < c; ch++ {
				copy(out[((p*c+ch)*2*h+half*h)*w:][:h*w], line[ch*h*w:][:h*w])
			}
		}
	}
	return ir.FromFloat32([]int64{2, c, 2 * h, w}, out)
}
