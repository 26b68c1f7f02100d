package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestListPasses(t *testing.T) {
	var b bytes.Buffer
	if err := listPasses(&b, nil, false); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"remove-dropout", "fold-bn", "upgrade-opset", "to: int, default 21"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("listing lacks %q", want)
		}
	}
	b.Reset()
	if err := listPasses(&b, []string{"fuse-gelu"}, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "approximate") || strings.Contains(b.String(), "fold-bn") {
		t.Errorf("listing of fuse-gelu:\n%s", b.String())
	}
	b.Reset()
	if err := listPasses(&b, []string{"fold-bn"}, true); err != nil || !strings.HasPrefix(b.String(), "<!--") {
		t.Errorf("markdown: %v\n%s", err, b.String())
	}
	if err := listPasses(&b, []string{"nope"}, false); err == nil || exitCode(err) != exitUsage {
		t.Errorf("unknown pass: %v", err)
	}
}
