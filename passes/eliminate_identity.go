package passes

import "github.com/nncc/nncc/ir"

// EliminateIdentity removes Identity nodes.
var EliminateIdentity = &Pass{
	Name: "eliminate-identity",
	Doc: `Remove Identity nodes, making their readers read the input directly.

Graph outputs keep their names: when an Identity's output is a graph
output, its input takes that name. That is impossible when the input is a
graph input, another graph output or a value of an enclosing graph; such
an Identity is kept (it is what connects two names of the interface).
Identities inside If, Loop and Scan bodies are removed too.`,
	Run: runEliminateIdentity,
}

func runEliminateIdentity(c *Context) error {
	c.Model.Graph.Walk(func(g *ir.Graph) {
		ix := g.BuildIndex()
		dead := map[*ir.Node]bool{}
		for _, n := range g.Nodes {
			if !is(n, "Identity") || len(n.Inputs) != 1 || len(n.Outputs) != 1 || n.Inputs[0] == nil || n.Outputs[0] == nil {
				continue
			}
			in, out := n.Inputs[0], n.Outputs[0]
			if !bypass(g, ix, out, in) {
				c.Declinef(n, "%q is a graph output and %q cannot take its name (it is a graph input or output, or defined outside this graph)", out.Name, in.Name)
				continue
			}
			dead[n] = true
			c.Changed()
			ix = g.BuildIndex()
		}
		g.RemoveNodes(dead)
	})
	return nil
}
