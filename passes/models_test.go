package passes_test

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nncc/nncc/internal/ortref"
	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/onnx"
	"github.com/nncc/nncc/passes"
)

// modelCase is a real model the default pipeline is checked on.
type modelCase struct {
	name   string
	path   string // .onnx file
	data   string // directory with test_data_set_0/{input_0,output_0}.pb
	spec   string
	labels string // .npy labels of the test set, for accuracy
	// feed gives the inputs when there is no data directory.
	feed func() map[string]*ir.Tensor
	// ops that must be gone and ops that must appear after the pipeline.
	gone, fused []string
	optional    bool // skip when the file is missing (git-ignored models)
}

// extraModels is where testdata/models/fetch.sh puts third-party models.
func extraModels() string {
	if d := os.Getenv("NNCC_EXTRA_MODELS"); d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), "nncc-models")
}

// vadFeed is 32 ms of a 16 kHz tone for Silero VAD, with a zero state.
func vadFeed(legacy bool) func() map[string]*ir.Tensor {
	return func() map[string]*ir.Tensor {
		x := make([]float32, 512)
		for i := range x {
			x[i] = float32(0.3 * math.Sin(float64(i)*0.07))
		}
		in := map[string]*ir.Tensor{"input": ir.FromFloat32([]int64{1, 512}, x), "sr": ir.FromInt64(nil, []int64{16000})}
		if legacy {
			in["h"], in["c"] = ir.NewTensor(ir.Float32, 2, 1, 64), ir.NewTensor(ir.Float32, 2, 1, 64)
		} else {
			in["state"] = ir.NewTensor(ir.Float32, 2, 1, 128)
		}
		return in
	}
}

var modelCases = []modelCase{
	{name: "digits_cnn", path: "../testmodels/digits_cnn.onnx", data: "../testmodels/data/digits_cnn", spec: "default",
		labels: "../testmodels/data/digits_test_y.npy", gone: []string{"BatchNormalization", "Dropout"}},
	{name: "digits_cnn_constnodes", path: "../testmodels/digits_cnn_constnodes.onnx", data: "../testmodels/data/digits_cnn_constnodes", spec: "default",
		labels: "../testmodels/data/digits_test_y.npy", gone: []string{"BatchNormalization", "Dropout"}},
	{name: "digits_mlp", path: "../testmodels/digits_mlp.onnx", data: "../testmodels/data/digits_mlp", spec: "upgrade-opset{to=20},default",
		labels: "../testmodels/data/digits_test_y.npy", gone: []string{"Dropout", "ReduceMean", "Erf", "Sqrt", "Pow"},
		fused: []string{"LayerNormalization", "Gelu"}},
	{name: "vit_tiny", path: "testdata/models/vit_tiny.onnx", data: "testdata/models/vit_tiny", spec: "upgrade-opset{to=20},default",
		gone: []string{"ReduceMean", "Erf", "Sqrt", "Pow", "Identity"}, fused: []string{"LayerNormalization", "Gelu"}},
	{name: "decoder", path: "testdata/models/decoder.onnx", data: "testdata/models/decoder", spec: "default",
		gone: []string{"BatchNormalization", "Identity"}},
	{name: "mobilenet_v2", path: "../bench/models/mobilenet_v2.onnx", data: "../bench/models/mobilenet_v2", spec: "default",
		gone: []string{"BatchNormalization"}, optional: true},
	{name: "resnet18", path: "../bench/models/resnet18.onnx", data: "../bench/models/resnet18", spec: "default",
		gone: []string{"BatchNormalization"}, optional: true},
	{name: "silero_vad_v5", path: filepath.Join(extraModels(), "silero_vad_v5.onnx"), spec: "default",
		feed: vadFeed(false), gone: []string{"Dropout"}, optional: true},
	{name: "silero_vad_legacy", path: filepath.Join(extraModels(), "silero_vad_legacy.onnx"), spec: "default",
		feed: vadFeed(true), gone: []string{"Dropout"}, optional: true},
}

// modelResult is one row of docs/passes-results.md.
type modelResult struct {
	name, spec                string
	nodesBefore, nodesAfter   int
	paramsBefore, paramsAfter int64
	opsBefore, opsAfter       string
	compile                   time.Duration
	maxDiff, outRange         float64
	accBefore, accAfter       float64 // -1 without labels
}

// TestModels runs the pipelines on trained and exported models: no
// foldable BatchNormalization or Dropout may remain, decomposed LayerNorm
// and GELU must be fused, onnxruntime's outputs on the test data must stay
// within 1e-4 of the original outputs' range, and test accuracy must not
// change. With -update it rewrites docs/passes-results.md.
func TestModels(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end model checks are not short")
	}
	var results []modelResult
	for _, mc := range modelCases {
		t.Run(mc.name, func(t *testing.T) {
			if _, err := os.Stat(mc.path); err != nil && mc.optional {
				t.Skipf("%s not present (testmodels/train.py --big-out bench/models or testdata/models/fetch.sh writes it)", mc.path)
			}
			r := checkModel(t, mc)
			results = append(results, r)
		})
	}
	if t.Failed() {
		return
	}
	table := resultsTable(results, false)
	path := filepath.Join("..", "docs", "passes-results.md")
	if *update {
		doc := resultsDoc(results)
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./passes -run TestModels -update writes it)", err)
	}
	// Timings vary; the node and parameter counts must be current for the
	// models present here.
	for _, line := range strings.Split(table, "\n") {
		if line != "" && !strings.Contains(string(old), line) {
			t.Errorf("%s is stale (go test ./passes -run TestModels -update): missing %q", path, line)
		}
	}
}

func checkModel(t *testing.T, mc modelCase) modelResult {
	m, err := onnx.Load(mc.path)
	if err != nil {
		t.Fatal(err)
	}
	orig := clone(t, m)
	r := modelResult{name: mc.name, spec: mc.spec, accBefore: -1, accAfter: -1}
	r.nodesBefore, r.paramsBefore, r.opsBefore = stats(m)

	// The compile time is the pipeline alone; verification runs after.
	p := mustParse(t, mc.spec)
	start := time.Now()
	rep, err := p.Run(m, passes.RunOptions{})
	r.compile = time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	r.nodesAfter, r.paramsAfter, r.opsAfter = stats(m)
	if err := ir.Verify(m); err != nil {
		t.Fatal(err)
	}
	for _, op := range mc.gone {
		if n := countOps(m, op); n > 0 {
			t.Errorf("%d %s remain", n, op)
			for _, pr := range rep.Passes {
				for _, d := range pr.Declined {
					t.Logf("%s declined: %s", pr.Name, d)
				}
			}
		}
	}
	for _, op := range mc.fused {
		if countOps(m, op) == 0 {
			t.Errorf("no %s after the pipeline", op)
		}
	}

	// Idempotent: the default pipeline finds nothing more to do.
	again, err := mustParse(t, "default").Run(m, passes.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, pr := range again.Passes {
		if pr.Changed {
			t.Errorf("second run: %s changed the model again", pr.Name)
		}
	}
	// Deterministic: compiling again gives the same bytes.
	m2 := clone(t, orig)
	if _, err := p.Run(m2, passes.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	b1, err1 := onnx.Encode(m)
	b2, err2 := onnx.Encode(m2)
	if err1 != nil || err2 != nil || string(b1) != string(b2) {
		t.Errorf("two compilations differ (%v, %v)", err1, err2)
	}

	// The inputs: the first test data set, or the case's own.
	var feed map[string]*ir.Tensor
	if mc.feed != nil {
		feed = mc.feed()
	} else {
		feed = map[string]*ir.Tensor{}
		k := 0
		for _, v := range orig.Graph.Inputs {
			if v.Const != nil {
				continue
			}
			in, _, err := onnx.ReadTensorFile(filepath.Join(mc.data, "test_data_set_0", fmt.Sprintf("input_%d.pb", k)))
			if err != nil {
				t.Fatal(err)
			}
			feed[v.Name] = in
			k++
		}
	}

	// The pipeline again with VerifyEach: nncc's runtime agrees pass by
	// pass, on the test inputs and (where the shapes allow) random ones.
	if _, err := p.Run(clone(t, orig), passes.RunOptions{VerifyEach: true, Inputs: feed, Samples: 1, Seed: 3}); err != nil {
		t.Errorf("--verify-each: %v", err)
	}

	// onnxruntime on the test data, original and result.
	wants := ortOutputs(t, orig, feed)
	gots := ortOutputs(t, m, feed)
	for i := range wants {
		d, rng := maxDiff(t, wants[i], gots[i])
		if rng == 0 { // a single value (or a constant output): its size is the scale
			rng = maxAbs(wants[i])
		}
		if d > 1e-4*rng {
			t.Errorf("onnxruntime output %d moved by %.3g, more than 1e-4 of its range %.3g", i, d, rng)
		}
		if i == 0 || d > r.maxDiff {
			r.maxDiff, r.outRange = d, rng
		}
	}
	want, got := wants[0], gots[0]
	if mc.labels != "" {
		labels, err := ortref.ReadNPY(mc.labels)
		if err != nil {
			t.Fatal(err)
		}
		r.accBefore, r.accAfter = accuracy(want, labels), accuracy(got, labels)
		if r.accBefore != r.accAfter {
			t.Errorf("accuracy %.4f → %.4f", r.accBefore, r.accAfter)
		}
	}
	return r
}

// stats counts nodes and parameters and lists op types with counts.
func stats(m *ir.Model) (nodes int, params int64, ops string) {
	hist := map[string]int{}
	m.Graph.Walk(func(g *ir.Graph) {
		nodes += len(g.Nodes)
		for _, n := range g.Nodes {
			hist[n.OpType]++
		}
	})
	params, _ = m.Graph.ParamStats()
	var names []string
	for op := range hist {
		names = append(names, op)
	}
	sort.Slice(names, func(i, j int) bool {
		if hist[names[i]] != hist[names[j]] {
			return hist[names[i]] > hist[names[j]]
		}
		return names[i] < names[j]
	})
	var parts []string
	for _, op := range names {
		parts = append(parts, fmt.Sprintf("%s %d", op, hist[op]))
	}
	return nodes, params, strings.Join(parts, ", ")
}

// accuracy is the fraction of rows of logits whose argmax is the label.
func accuracy(logits, labels *ir.Tensor) float64 {
	rows := int(logits.Dims[0])
	cols := int(logits.NumElements()) / rows
	v, y := logits.Float64s(), labels.Int64s()
	right := 0
	for i := 0; i < rows; i++ {
		best := 0
		for j := 1; j < cols; j++ {
			if v[i*cols+j] > v[i*cols+best] {
				best = j
			}
		}
		if int64(best) == y[i] {
			right++
		}
	}
	return float64(right) / float64(rows)
}

// resultsTable renders the deterministic columns (and, with timing, the
// compile times and errors).
func resultsTable(rs []modelResult, timing bool) string {
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "| %s | `%s` | %d → %d | %d → %d |", r.name, r.spec, r.nodesBefore, r.nodesAfter, r.paramsBefore, r.paramsAfter)
		if timing {
			acc := "–"
			if r.accBefore >= 0 {
				acc = fmt.Sprintf("%.2f%% → %.2f%%", 100*r.accBefore, 100*r.accAfter)
			}
			fmt.Fprintf(&b, " %.1f ms | %.2g (range %.3g) | %s |", float64(r.compile.Microseconds())/1000, r.maxDiff, r.outRange, acc)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func resultsDoc(rs []modelResult) string {
	var b strings.Builder
	b.WriteString(`<!-- Written by "go test ./passes -run TestModels -update"; the node and parameter counts are checked by that test. -->

# Pass pipeline results on real models

What the pipelines of [passes.md](passes.md) do to the trained test
models (testmodels/), to two small PyTorch exports of torchvision and
PyTorch architectures (passes/testdata/models/export.py) and, where they
have been exported (testmodels/train.py --big-out bench/models), to
torchvision's MobileNetV2 and ResNet-18 with random weights.

For every model, passes.TestModels checks that no BatchNormalization or
Dropout remains, that decomposed LayerNorm and GELU are fused after
upgrade-opset, that onnxruntime's outputs on the test data move by less
than 1e-4 of the original outputs' range, that test accuracy is unchanged,
and that --verify-each (nncc's runtime, pass by pass) agrees.

Compile time is the pipeline alone (no loading, saving or verification),
measured on the development machine (2 shared cores), single run.
Nodes are operator nodes in all graphs (ONNX Constant nodes are loaded
as constants, so they count as parameters, not nodes). "Max |Δ|" is
onnxruntime's largest output difference between the original and the
compiled model on the test data (both run with onnxruntime's own graph
optimizations disabled, so each runs as written), next to the original
outputs' range.

| model | pipeline | nodes | parameters | compile | max \|Δ\| (onnxruntime) | test accuracy |
|---|---|---|---|---|---|---|
`)
	b.WriteString(resultsTable(rs, true))
	b.WriteString("\nOperators before and after:\n\n")
	for _, r := range rs {
		fmt.Fprintf(&b, "- **%s**: %s\n  → %s\n", r.name, r.opsBefore, r.opsAfter)
	}
	return b.String()
}

func maxAbs(t *ir.Tensor) float64 {
	m := 0.0
	for _, v := range t.Float64s() {
		m = max(m, abs(v))
	}
	return m
}
