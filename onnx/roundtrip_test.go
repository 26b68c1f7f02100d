package onnx

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/nncc/nncc/ir"
)

const conformanceDir = "/usr/share/libonnx-testdata/data/node"

// conformanceModels lists the model.onnx files of ONNX's node tests, or
// skips the test when the package is not installed.
func conformanceModels(t testing.TB) []string {
	paths, _ := filepath.Glob(filepath.Join(conformanceDir, "*", "model.onnx"))
	if len(paths) == 0 {
		if os.Getenv("NNCC_REQUIRE_TESTDATA") != "" {
			t.Fatalf("no ONNX conformance data under %s", conformanceDir)
		}
		t.Skipf("no ONNX conformance data under %s (apt-get install libonnx-testdata)", conformanceDir)
	}
	return paths
}

// TestRoundTripConformanceModels loads every conformance model, encodes
// it, and checks that decoding the result and encoding again gives the
// same bytes (a fixed point), that the tensors survive bit for bit, and
// that graph structure is kept.
func TestRoundTripConformanceModels(t *testing.T) {
	for _, p := range conformanceModels(t) {
		name := filepath.Base(filepath.Dir(p))
		m, err := Load(p)
		if err != nil {
			t.Errorf("%s: load: %v", name, err)
			continue
		}
		b1, err := Encode(m)
		if err != nil {
			t.Errorf("%s: encode: %v", name, err)
			continue
		}
		m2, err := Decode(b1, LoadOptions{})
		if err != nil {
			t.Errorf("%s: decode of encoded model: %v", name, err)
			continue
		}
		b2, err := Encode(m2)
		if err != nil {
			t.Errorf("%s: second encode: %v", name, err)
			continue
		}
		if !bytes.Equal(b1, b2) {
			t.Errorf("%s: encoding is not a fixed point (%d vs %d bytes)", name, len(b1), len(b2))
		}
		if err := sameGraph(m.Graph, m2.Graph); err != "" {
			t.Errorf("%s: %s", name, err)
		}
	}
}

func sameGraph(a, b *ir.Graph) string {
	if len(a.Nodes) != len(b.Nodes) || len(a.Consts) != len(b.Consts) || len(a.Inputs) != len(b.Inputs) || len(a.Outputs) != len(b.Outputs) {
		return "graph shape changed"
	}
	for i, c := range a.Consts {
		d := b.Consts[i]
		if c.Name != d.Name || c.Const.DType != d.Const.DType || !bytes.Equal(c.Const.Data, d.Const.Data) {
			return "constant " + c.Name + " changed"
		}
	}
	for i, n := range a.Nodes {
		if n.OpType != b.Nodes[i].OpType || len(n.Attrs) != len(b.Nodes[i].Attrs) {
			return "node " + n.Name + " changed"
		}
	}
	return ""
}
