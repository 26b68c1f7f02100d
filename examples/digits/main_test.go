package main

import (
	"os"
	"testing"

	"github.com/nncc/nncc/backend/gosrc"
	"github.com/nncc/nncc/examples/digits/digitscnn"
	"github.com/nncc/nncc/onnx"
	"github.com/nncc/nncc/passes"
)

// TestClassify runs the committed generated package on the 450 held-out
// digits: 446 correct, onnxruntime's 99.11% on the same rows.
func TestClassify(t *testing.T) {
	x, _, err := readNPY("../../testmodels/data/digits_test_x.npy", "<f4")
	if err != nil {
		t.Fatal(err)
	}
	y, _, err := readNPY("../../testmodels/data/digits_test_y.npy", "<i8")
	if err != nil {
		t.Fatal(err)
	}
	m := digitscnn.New()
	preds, err := classify(m, x)
	if err != nil {
		t.Fatal(err)
	}
	correct := 0
	for i, p := range preds {
		if float32(p) == y[i] {
			correct++
		}
	}
	if len(preds) != 450 || correct != 446 {
		t.Errorf("%d of %d correct, want 446 of 450 (onnxruntime's 99.11%%)", correct, len(preds))
	}
	// one row at a time gives the same answers (the arena re-prepared
	// for batch 1)
	for i := 0; i < 20; i++ {
		p, err := classify(m, x[i*64:(i+1)*64])
		if err != nil {
			t.Fatal(err)
		}
		if p[0] != preds[i] {
			t.Errorf("row %d alone: %d, in the batch: %d", i, p[0], preds[i])
		}
	}
}

// TestGeneratedUpToDate regenerates the package as the go:generate line
// does and compares it with the committed files.
func TestGeneratedUpToDate(t *testing.T) {
	m, err := onnx.Load("../../testmodels/digits_cnn.onnx")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := passes.Default(m).Run(m, passes.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	files, err := gosrc.Generate(m, gosrc.Options{Package: "digitscnn", Source: "digits_cnn.onnx"})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range files {
		got, err := os.ReadFile("digitscnn/" + name)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("digitscnn/%s is stale: run go generate ./examples/digits", name)
		}
	}
}
