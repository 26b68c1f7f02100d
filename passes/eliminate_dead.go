package passes

import "github.com/nncc/nncc/ir"

// EliminateDead removes what no graph output depends on.
var EliminateDead = &Pass{
	Name: "eliminate-dead",
	Doc: `Remove nodes, constants and defaulted inputs that no graph output depends on.

A node is live when a graph output, or a live node (through its inputs or
the values its subgraphs read), reads one of its outputs. Dead nodes and
unread constants are removed from every graph, bodies of If, Loop and Scan
included. A main-graph input that has a default value (an initializer
listed as an input) and is read by nothing is removed with its
initializer; plain graph inputs are part of the model's interface and
stay, read or not.`,
	Run: runEliminateDead,
}

func runEliminateDead(c *Context) error {
	removed := eliminateDead(c.Model.Graph, true)
	if removed > 0 {
		c.Changed()
		c.Logf("  removed %d nodes, constants and inputs", removed)
	}
	return nil
}

// eliminateDead cleans g and the bodies of its remaining nodes and
// returns how many things it removed.
func eliminateDead(g *ir.Graph, main bool) int {
	live := map[*ir.Value]bool{}
	for _, o := range g.Outputs {
		live[o] = true
	}
	dead := map[*ir.Node]bool{}
	for i := len(g.Nodes) - 1; i >= 0; i-- {
		n := g.Nodes[i]
		used := false
		for _, o := range n.Outputs {
			if o != nil && live[o] {
				used = true
				break
			}
		}
		if !used {
			dead[n] = true
			continue
		}
		for _, in := range n.Inputs {
			if in != nil {
				live[in] = true
			}
		}
		for _, sg := range n.Subgraphs() {
			for v := range sg.Captures() {
				live[v] = true
			}
		}
	}
	removed := len(dead)
	g.RemoveNodes(dead)

	deadInput := map[*ir.Value]bool{}
	kept := g.Consts[:0]
	for _, v := range g.Consts {
		switch {
		case live[v]:
			kept = append(kept, v)
		case isGraphInput(g, v):
			if main {
				deadInput[v] = true
				removed++
			} else {
				kept = append(kept, v)
			}
		default:
			removed++
		}
	}
	for i := len(kept); i < len(g.Consts); i++ {
		g.Consts[i] = nil
	}
	g.Consts = kept
	if len(deadInput) > 0 {
		ins := g.Inputs[:0]
		for _, v := range g.Inputs {
			if !deadInput[v] {
				ins = append(ins, v)
			}
		}
		g.Inputs = ins
	}
	for _, n := range g.Nodes {
		for _, sg := range n.Subgraphs() {
			removed += eliminateDead(sg, false)
		}
	}
	return removed
}
