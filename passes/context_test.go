package passes_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/passes"
	"github.com/nncc/nncc/testmodels"
)

// A single pass can be run by hand through NewContext.
func TestNewContextRunsOnePass(t *testing.T) {
	b := testmodels.NewBuilder("m", 13)
	x := b.Input("x", ir.Float32, 1, 2, 3)
	b.Output(bn(b, b.Node("Relu", []*ir.Value{x}), 2, ir.Float32, 1))
	m := b.Model()
	c, err := passes.NewContext(m, passes.FoldBN, map[string]any{"mul-add": false})
	if err != nil {
		t.Fatal(err)
	}
	if err := passes.FoldBN.Run(c); err != nil {
		t.Fatal(err)
	}
	if c.DidChange() || len(c.Declined()) != 1 || !strings.Contains(c.Declined()[0].String(), "cannot absorb it") {
		t.Errorf("changed=%v declined=%v", c.DidChange(), c.Declined())
	}
	for _, bad := range []map[string]any{{"nope": true}, {"mul-add": "yes"}} {
		if _, err := passes.NewContext(m, passes.FoldBN, bad); err == nil {
			t.Errorf("NewContext(%v) succeeded", bad)
		}
	}
}

// Options of every type parse from specs and reach the pass typed.
func TestOptionTypes(t *testing.T) {
	var got []any
	p := &passes.Pass{
		Name: "test-option-types", Doc: "Record its options.",
		Options: []passes.Option{
			{Name: "n", Type: passes.Int, Default: int64(1), Doc: "an int"},
			{Name: "f", Type: passes.Float, Default: 0.5, Doc: "a float"},
			{Name: "b", Type: passes.Bool, Default: false, Doc: "a bool"},
			{Name: "s", Type: passes.String, Default: "a", Doc: "a string", Choices: []string{"a", "b"}},
		},
		Run: func(c *passes.Context) error {
			got = []any{c.Int("n"), c.Float("f"), c.Bool("b"), c.String("s")}
			return nil
		},
	}
	if err := passes.Register(p); err != nil {
		t.Fatal(err)
	}
	m := testmodels.NewBuilder("m", 13).Model()
	for spec, want := range map[string]string{
		"test-option-types":                      "[1 0.5 false a]",
		"test-option-types{n=-3,f=1e-3,b=1,s=b}": "[-3 0.001 true b]",
	} {
		pl := mustParse(t, spec)
		if _, err := pl.Run(m, passes.RunOptions{}); err != nil {
			t.Fatal(err)
		}
		if s := fmt.Sprint(got); s != want {
			t.Errorf("%s: options %s, want %s", spec, s, want)
		}
		if back := mustParse(t, pl.String()).String(); back != pl.String() {
			t.Errorf("%s does not round-trip: %s", pl, back)
		}
	}
	for _, spec := range []string{"test-option-types{s=c}", "test-option-types{f=x}", "test-option-types{n=1.5}"} {
		if _, err := passes.Parse(spec); err == nil {
			t.Errorf("Parse(%q) succeeded", spec)
		}
	}
}
