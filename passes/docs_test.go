package passes_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nncc/nncc/passes"
)

// docs/passes.md is generated from the registry; this test fails when it
// is stale and rewrites it with -update.
func TestDocs(t *testing.T) {
	var b bytes.Buffer
	if err := passes.WriteMarkdown(&b, passes.Builtin()); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "docs", "passes.md")
	if *update {
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./passes -run TestDocs -update writes it)", err)
	}
	if !bytes.Equal(old, b.Bytes()) {
		t.Errorf("%s is stale: run go test ./passes -run TestDocs -update", path)
	}
	for _, p := range passes.Builtin() {
		if !strings.Contains(b.String(), "\n## "+p.Name+"\n") {
			t.Errorf("no section for %s", p.Name)
		}
		for _, o := range p.Options {
			if !strings.Contains(b.String(), "| `"+o.Name+"` |") {
				t.Errorf("%s: option %s not documented", p.Name, o.Name)
			}
		}
	}
}

func TestWriteList(t *testing.T) {
	var b bytes.Buffer
	if err := passes.WriteList(&b, passes.Builtin(), false); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	for _, want := range []string{"fold-bn ", "Fold inference-mode BatchNormalization", "max-bytes: int, default 4096", "to: int, default 21"} {
		if !strings.Contains(s, want) {
			t.Errorf("listing lacks %q:\n%s", want, s)
		}
	}
	b.Reset()
	if err := passes.WriteList(&b, []*passes.Pass{passes.FoldBN}, true); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "ConvTranspose with constant weights") {
		t.Errorf("verbose listing lacks the details:\n%s", b.String())
	}
}
