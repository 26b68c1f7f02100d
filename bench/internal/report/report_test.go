package report

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReplaceBlock(t *testing.T) {
	doc := "# Title\n\nintro\n<!-- t:begin -->\nold 1\nold 2\n<!-- t:end -->\ntail\n"
	for _, tc := range []struct{ content, want string }{
		{"new\n", "# Title\n\nintro\n<!-- t:begin -->\nnew\n<!-- t:end -->\ntail\n"},
		{"no newline", "# Title\n\nintro\n<!-- t:begin -->\nno newline\n<!-- t:end -->\ntail\n"},
		{"", "# Title\n\nintro\n<!-- t:begin -->\n<!-- t:end -->\ntail\n"},
	} {
		got, err := replaceBlock([]byte(doc), "t", tc.content)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tc.want {
			t.Errorf("content %q:\ngot  %q\nwant %q", tc.content, got, tc.want)
		}
		// Regenerating is idempotent.
		again, err := replaceBlock(got, "t", tc.content)
		if err != nil || string(again) != tc.want {
			t.Errorf("second replacement of %q gave %q, %v", tc.content, again, err)
		}
	}
}

func TestReplaceBlockRefuses(t *testing.T) {
	for name, doc := range map[string]string{
		"no markers":    "text\n",
		"no end":        "<!-- t:begin -->\nx\n",
		"end first":     "<!-- t:end -->\n<!-- t:begin -->\n",
		"twice":         "<!-- t:begin -->\n<!-- t:end -->\n<!-- t:begin -->\n<!-- t:end -->\n",
		"other block":   "<!-- u:begin -->\n<!-- u:end -->\n",
		"inline marker": "see <!-- t:begin --> here\n<!-- t:end -->\n",
	} {
		if _, err := replaceBlock([]byte(doc), "t", "x\n"); !errors.Is(err, ErrNoBlock) {
			t.Errorf("%s: got %v, want ErrNoBlock", name, err)
		}
	}
}

func TestReplaceBlockFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "doc.md")
	if err := os.WriteFile(path, []byte("a\n<!-- t:begin -->\n<!-- t:end -->\nb\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := ReplaceBlock(path, "t", "| x |\n"); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := "a\n<!-- t:begin -->\n| x |\n<!-- t:end -->\nb\n"; string(got) != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if err := ReplaceBlock(path, "missing", "x"); !errors.Is(err, ErrNoBlock) {
		t.Errorf("missing block: got %v", err)
	}
}

func TestMachineMarkdown(t *testing.T) {
	m := Machine{CPU: "Test CPU", CPUs: 2, GoVersion: "go1.x", OS: "linux/amd64", Date: "2000-01-01 00:00 UTC", LoadAvg: "0.10 0.20 0.30"}
	md := m.Markdown()
	for _, want := range []string{"Test CPU, 2 logical CPUs", "go1.x", "2000-01-01", "load average 0.10 0.20 0.30"} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown() = %q lacks %q", md, want)
		}
	}
}

func TestDescribeCPU(t *testing.T) {
	info := "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 26\nmodel\t\t: 2\nmodel name\t: AMD EPYC\nflags\t\t: fpu fma avx2 avx512f\n\nprocessor\t: 1\nmodel name\t: Other\n"
	if got, want := describeCPU(info), "AMD EPYC (family 26, model 2), AVX-512F, AVX2, FMA"; got != want {
		t.Errorf("describeCPU = %q, want %q", got, want)
	}
	if got := describeCPU("processor\t: 0\n"); got != "" {
		t.Errorf("no model name: got %q, want empty", got)
	}
}
