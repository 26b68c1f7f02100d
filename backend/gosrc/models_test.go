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
}

const tvDir = "/tmp/nncc-models/tv"

var modelCases = []modelCase{
	{name: "digits_cnn", path: "../../testmodels/digits_cnn.onnx", data: "../../testmodels/data/digits_test_x.npy", labels: "../../testmodels/data/digits_test_y.npy", batch: 450, tol: 1e-4},
	{name: "digits_cnn_constnodes", path: "../../testmodels/digits_cnn_constnodes.onnx", data: "../../testmodels/data/digits_test_x.npy", labels: "../../testmodels/data/digits_test_y.npy", batch: 64, tol: 1e-4},
	{name: "digits_mlp", path: "../../testmodels/digits_mlp.onnx", data: "../../testmodels/data/digits_test_x_flat.npy", labels: "../../testmodels/data/digits_test_y.npy", batch: 450, tol: 1e-4},
	{name: "ppocr_cls", path: "/tmp/nncc-models/ppocr_cls.onnx", shapes: map[string][]int64{"x": {-1, 3, 48, 192}}, data: "/tmp/nncc-models/ppocr_cls_data/eval_x.npy", labels: "/tmp/nncc-models/ppocr_cls_data/eval_y.npy", batch: 50, tol: 1e-4},
	{name: "mobilenet_v2", path: tvDir + "/mobilenet_v2.onnx", rows: 2, batch: 2, tol: 1e-4},
	{name: "mobilenet_v3_small", path: tvDir + "/mobilenet_v3_small.onnx", rows: 2, batch: 2, tol: 1e-4},
	{name: "resnet18", path: tvDir + "/resnet18.onnx", rows: 2, batch: 2, tol: 1e-4},
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
			if _, err := os.Stat(c.path); err != nil {
				t.Skipf("%s not present (sh passes/testdata/models/fetch.sh /tmp/nncc-models)", c.path)
			}
			testModel(t, c)
		})
	}
}

func testModel(t *testing.T, c modelCase) {
	m := compileForGo(t, c.path)
	h := buildGenerated(t, m, Options{Package: c.name, Shapes: c.shapes, Source: filepath.Base(c.path)})
	var x *ir.Tensor
	dataFile := c.data
	if c.data != "" {
		var err error
		if x, err = npy.Read(c.data); err != nil {
			t.Fatal(err)
		}
	} else {
		in := m.Graph.Inputs[0]
		dims := []int64{int64(c.rows)}
		for _, d := range in.Type.Shape[1:] {
			dims = append(dims, d.Value)
		}
		vals := make([]float32, ir.NumElements(dims))
		for i := range vals {
			vals[i] = float32(math.Sin(float64(i)*0.37)) * 1.5
		}
		x = ir.FromFloat32(dims, vals)
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
	res, err := ortref.Run([]ortref.Job{{Model: c.path, Inputs: map[string]string{m.Graph.Inputs[0].Name: dataFile}, Out: t.TempDir(), Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	ts, err := res[0].Tensors()
	if err != nil {
		t.Fatal(err)
	}
	ref := ts[0].Float32s()
	gTop, oTop := argmaxRows(got, rows), argmaxRows(ref, rows)
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
		t.Logf("top-1 accuracy: generated %d/%d, onnxruntime %d/%d; agreement %d/%d", gc, rows, oc, rows, agree, rows)
		if gc != oc {
			t.Errorf("generated code's accuracy %d/%d differs from onnxruntime's %d/%d", gc, rows, oc, rows)
		}
		return
	}
	t.Logf("top-1 agreement with onnxruntime: %d/%d", agree, rows)
	if agree != rows {
		t.Errorf("top-1 agrees with onnxruntime on %d of %d rows", agree, rows)
	}
}
