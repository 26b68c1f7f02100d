package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestGeneratedUpToDate fails when the committed assembly differs from
// what the generator writes now: run `go generate ./kernels`.
func TestGeneratedUpToDate(t *testing.T) {
	for _, o := range outputs {
		want, err := render(o.gen, o.goSrc)
		if err != nil {
			t.Fatalf("%s: %v", o.name, err)
		}
		got, err := os.ReadFile(filepath.Join("..", "..", o.name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale; run go generate ./kernels", o.name)
		}
	}
}
