package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/onnx"
	"github.com/nncc/nncc/testmodels"
)

// TestImpossibleConvAttributes: attributes no input can satisfy are
// refused with an error naming the node and the reason, by every command
// that loads or runs the model, never with a panic.
func TestImpossibleConvAttributes(t *testing.T) {
	dir := t.TempDir()
	conv := func(name string, c, m, k, group int64, attrs ...*ir.Attribute) string {
		b := testmodels.NewBuilder(name, 13)
		x := b.Input("x", ir.Float32, 1, c, 5, 5)
		w := b.F32("w", []int64{m, c / max(group, 1), k, k}, make([]float32, m*(c/max(group, 1))*k*k))
		b.Graph().Nodes = nil
		y := b.Node("Conv", []*ir.Value{x, w}, append(attrs, ir.IntAttr("group", group))...)
		b.Graph().Nodes[0].Name = "the_conv"
		b.Output(y)
		p := filepath.Join(dir, name+".onnx")
		if err := onnx.Save(b.Model(), p, onnx.SaveOptions{}); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name  string
		model string
		code  int
		want  string
	}{
		{"stride 0", conv("stride0", 4, 4, 3, 1, ir.IntsAttr("strides", 0, 1)), exitBadInput, `"strides"[0] is 0`},
		{"kernel larger than padded input", conv("bigkernel", 4, 4, 9, 1), exitBadInput, "bigkernel.onnx: runtime: node \"the_conv\" (Conv): kernel [9 9] (dilated) is larger than the padded input"},
		{"group not dividing channels", conv("group3", 4, 3, 3, 3), exitBadInput, "group3.onnx: runtime: node \"the_conv\" (Conv): weights [3 1 3 3] do not fit input [1 4 5 5] with group 3"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, args := range [][]string{{"run", c.model}, {"bench", c.model, "--iters", "1", "--warmup", "0"}} {
				code, _, errs := nncc(t, args...)
				if code == 0 {
					t.Fatalf("%s accepted the model", args[0])
				}
				if code != c.code {
					t.Errorf("%s: exit %d, want %d (%s)", args[0], code, c.code, errs)
				}
				if !strings.Contains(errs, c.want) {
					t.Errorf("%s: error %q does not mention %q", args[0], errs, c.want)
				}
			}
		})
	}
}

// TestUnsupportedOperatorExit: an operator the runtime lacks is nncc's
// limit (exit 4), named with the node and the file.
func TestUnsupportedOperatorExit(t *testing.T) {
	b := testmodels.NewBuilder("custom", 13)
	x := b.Input("x", ir.Float32, 2)
	b.Output(b.Node("NoSuchOp", []*ir.Value{x}))
	p := filepath.Join(t.TempDir(), "custom.onnx")
	if err := onnx.Save(b.Model(), p, onnx.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	code, _, errs := nncc(t, "run", p)
	if code != exitInternal || !strings.Contains(errs, "custom.onnx") || !strings.Contains(errs, "NoSuchOp") || !strings.Contains(errs, "not supported") {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
}

// TestOutputThroughLinkRefused: -o naming the input through a symlink or
// a hard link is refused and the input is untouched.
func TestOutputThroughLinkRefused(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.onnx")
	orig, err := os.ReadFile(cnn)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(in, orig, 0o644)
	sym := filepath.Join(dir, "sym.onnx")
	hard := filepath.Join(dir, "hard.onnx")
	os.Symlink(in, sym)
	os.Link(in, hard)
	for _, out := range []string{sym, hard} {
		code, _, errs := nncc(t, "compile", in, "-o", out, "--passes", "none")
		if code != exitUsage || !strings.Contains(errs, "refusing to overwrite") {
			t.Errorf("-o %s: exit %d, stderr %q", filepath.Base(out), code, errs)
		}
	}
	after, _ := os.ReadFile(in)
	if !bytes.Equal(orig, after) {
		t.Error("input changed")
	}
}
