package onnx_test

import (
	"path/filepath"
	"testing"

	"github.com/nncc/nncc/internal/onnxcheck"
	"github.com/nncc/nncc/onnx"
)

// TestCheckerAcceptsRoundTrip saves every conformance model through nncc
// and runs the reference ONNX checker (full_check) on the result. Models
// the checker rejects in their original form are not held against nncc.
func TestCheckerAcceptsRoundTrip(t *testing.T) {
	onnxcheck.Require(t)
	paths, _ := filepath.Glob("/usr/share/libonnx-testdata/data/node/*/model.onnx")
	if len(paths) == 0 {
		t.Skip("no conformance data")
	}
	dir := t.TempDir()
	var outs []string
	for _, p := range paths {
		m, err := onnx.Load(p)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		out := filepath.Join(dir, filepath.Base(filepath.Dir(p))+".onnx")
		if err := onnx.Save(m, out, onnx.SaveOptions{}); err != nil {
			t.Fatalf("%s: save: %v", p, err)
		}
		outs = append(outs, out)

	}
	orig, err := onnxcheck.Check(paths)
	if err != nil {
		t.Fatal(err)
	}
	got, err := onnxcheck.Check(outs)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for i := range paths {
		if !orig[i].OK {
			continue
		}
		checked++
		if !got[i].OK {
			t.Errorf("%s: checker rejects the round-tripped model: %s", paths[i], got[i].Error)
		}
	}
	t.Logf("%d of %d round-tripped models pass the checker (the originals of %d fail it)", checked, len(paths), len(paths)-checked)
	if checked == 0 {
		t.Fatal("checker accepted no original model")
	}

}
