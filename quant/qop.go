package quant

import (
	"github.com/nncc/nncc/ir"
)

// ToQOperator rewrites the QDQ patterns Apply builds into QOperator
// nodes: DequantizeLinear → Conv [→ Relu] → QuantizeLinear becomes one
// QLinearConv (the int32 bias read directly; a Relu is absorbed when the
// output's zero point is the bottom of its range, where saturation
// clamps exactly as the Relu did), and DequantizeLinear → MatMul →
// QuantizeLinear one QLinearMatMul. Patterns that do not match (a Gemm
// with a bias, an op whose output is read by several nodes) stay in QDQ
// form, which onnxruntime runs as well; the Q/DQ pairs at the float
// boundaries stay. It returns the number of nodes converted.
func ToQOperator(m *ir.Model) int {
	g := m.Graph
	ix := g.BuildIndex()
	isOut := map[*ir.Value]bool{}
	for _, o := range g.Outputs {
		isOut[o] = true
	}
	sole := func(v *ir.Value) *ir.Node {
		us := ix.Uses[v]
		if isOut[v] || len(us) != 1 || us[0].Node == nil || us[0].Index < 0 {
			return nil
		}
		return us[0].Node
	}
	dq := func(v *ir.Value) *ir.Node {
		p := ix.Producer[v]
		if p == nil || p.OpType != "DequantizeLinear" || p.Domain != "" || len(p.Inputs) != 3 {
			return nil
		}
		return p
	}
	dead := map[*ir.Node]bool{}
	repl := map[*ir.Node]*ir.Node{}
	converted := 0
	for _, n := range g.Nodes {
		if (n.OpType != "Conv" && n.OpType != "MatMul") || n.Domain != "" || len(n.Outputs) != 1 {
			continue
		}
		dx, dw := dq(n.Inputs[0]), dq(n.Inputs[1])
		if dx == nil || dw == nil || dw.Inputs[0].Const == nil || dw.Inputs[1].Const == nil {
			continue
		}
		if dx.Inputs[1].Const == nil || len(dx.Inputs[1].Const.Dims) != 0 {
			continue // the activation must have one scale
		}
		var db *ir.Node
		if n.OpType == "Conv" && len(n.Inputs) > 2 && n.Inputs[2] != nil {
			if db = dq(n.Inputs[2]); db == nil || db.Inputs[0].Const == nil {
				continue
			}
		}
		next := sole(n.Outputs[0])
		var relu *ir.Node
		if next != nil && next.OpType == "Relu" {
			relu, next = next, sole(next.Outputs[0])
		}
		if next == nil || next.OpType != "QuantizeLinear" || len(next.Inputs) != 3 || next.Inputs[2] == nil || next.Inputs[2].Const == nil {
			continue
		}
		q := next
		if relu != nil {
			zp := q.Inputs[2].Const
			lo := int64(0)
			if zp.DType == ir.Int8 {
				lo = -128
			}
			if zp.Int64s()[0] != lo {
				continue
			}
		}
		if n.OpType == "MatMul" {
			wd := dw.Inputs[0].Const.Dims
			if len(wd) != 2 || len(dw.Inputs[1].Const.Dims) > 0 && dw.AttrInt("axis", 1) != 1 {
				continue // per-column scales only
			}
		}
		var nn *ir.Node
		if n.OpType == "Conv" {
			ins := []*ir.Value{dx.Inputs[0], dx.Inputs[1], dx.Inputs[2], dw.Inputs[0], dw.Inputs[1], dw.Inputs[2], q.Inputs[1], q.Inputs[2]}
			if db != nil {
				ins = append(ins, db.Inputs[0])
			}
			nn = &ir.Node{Name: n.Name, OpType: "QLinearConv", Inputs: ins, Outputs: []*ir.Value{q.Outputs[0]}, Attrs: n.Attrs}
		} else {
			ins := []*ir.Value{dx.Inputs[0], dx.Inputs[1], dx.Inputs[2], dw.Inputs[0], dw.Inputs[1], dw.Inputs[2], q.Inputs[1], q.Inputs[2]}
			nn = &ir.Node{Name: n.Name, OpType: "QLinearMatMul", Inputs: ins, Outputs: []*ir.Value{q.Outputs[0]}}
		}
		repl[n] = nn
		dead[q] = true
		if relu != nil {
			dead[relu] = true
		}
		converted++
	}
	if converted == 0 {
		return 0
	}
	// Place each new node where its QuantizeLinear was, so that its
	// inputs (the previous layer's output) are computed before it.
	at := map[*ir.Node]*ir.Node{}
	for n, nn := range repl {
		at[ix.Producer[nn.Outputs[0]]] = nn
		dead[n] = true
	}
	var nodes []*ir.Node
	for _, n := range g.Nodes {
		if nn := at[n]; nn != nil {
			nodes = append(nodes, nn)
			continue
		}
		if !dead[n] {
			nodes = append(nodes, n)
		}
	}
	g.Nodes = nodes
	removeDeadQDQ(g)
	dropUnusedConsts(g)
	return converted
}

// removeDeadQDQ drops QuantizeLinear/DequantizeLinear nodes whose
// outputs nothing reads.
func removeDeadQDQ(g *ir.Graph) {
	for {
		ix := g.BuildIndex()
		dead := map[*ir.Node]bool{}
		for _, n := range g.Nodes {
			if n.OpType != "QuantizeLinear" && n.OpType != "DequantizeLinear" {
				continue
			}
			if len(ix.Uses[n.Outputs[0]]) == 0 && !ix.IsGraphOutput(n.Outputs[0]) {
				dead[n] = true
			}
		}
		if len(dead) == 0 {
			return
		}
		g.RemoveNodes(dead)
	}
}
