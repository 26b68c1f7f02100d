package passes_test

import (
	"fmt"
	"log"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/passes"
	"github.com/nncc/nncc/testmodels"
)

// Build a pipeline in Go, register a pass of one's own, and run both.
func Example() {
	// A pass that removes Neg(Neg(x)), with an option.
	doubleNeg := &passes.Pass{
		Name: "example-double-neg",
		Doc:  "Remove pairs of Neg.\n\nNeg(Neg(x)) is x.",
		Options: []passes.Option{
			{Name: "dry-run", Type: passes.Bool, Default: false, Doc: "only report what would change"},
		},
		Run: func(c *passes.Context) error {
			g := c.Model.Graph
			ix := g.BuildIndex()
			for _, n := range g.Nodes {
				inner := ix.Producer[n.Inputs[0]]
				if n.OpType != "Neg" || inner == nil || inner.OpType != "Neg" || ix.IsGraphOutput(n.Inputs[0]) {
					continue
				}
				if c.Bool("dry-run") {
					c.Declinef(n, "dry run")
					continue
				}
				n.OpType, n.Inputs = "Identity", inner.Inputs // eliminate-identity finishes the job
				c.Changed()
			}
			return nil
		},
	}
	if err := passes.Register(doubleNeg); err != nil {
		log.Fatal(err)
	}

	b := testmodels.NewBuilder("example", 13)
	x := b.Input("x", ir.Float32, 4)
	n1 := b.Node("Neg", []*ir.Value{b.Node("Dropout", []*ir.Value{x})})
	b.Output(b.Node("Relu", []*ir.Value{b.Node("Neg", []*ir.Value{n1})}))
	m := b.Model()

	// The pipeline built step by step; passes.Parse(p.String()) gives the
	// same one from its spec.
	p := passes.NewPipeline()
	for _, step := range []struct {
		name string
		opts map[string]any
	}{
		{"remove-dropout", nil},
		{"example-double-neg", map[string]any{"dry-run": false}},
		{"eliminate-identity", nil},
		{"eliminate-dead", nil},
	} {
		if err := p.Add(step.name, step.opts); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Println(p)

	rep, err := p.Run(m, passes.RunOptions{VerifyEach: true, Seed: 1})
	if err != nil {
		log.Fatal(err)
	}
	for _, pr := range rep.Passes {
		fmt.Printf("%-20s %d -> %d nodes\n", pr.Name, pr.NodesBefore, pr.NodesAfter)
	}
	// Output:
	// remove-dropout,example-double-neg{dry-run=false},eliminate-identity,eliminate-dead
	// remove-dropout       4 -> 3 nodes
	// example-double-neg   3 -> 3 nodes
	// eliminate-identity   3 -> 2 nodes
	// eliminate-dead       2 -> 1 nodes
}
