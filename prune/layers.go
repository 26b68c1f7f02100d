package prune

import (
	"fmt"

	"github.com/nncc/nncc/ir"
)

// A Layer is a node with a constant float32 weight that pruning works on:
// Conv, ConvTranspose, Gemm or MatMul.
type Layer struct {
	Node *ir.Node
	// Weight is the input index of the weight (always 1: a MatMul whose
	// constant operand is on the left is not a layer).
	Weight int
}

// Name returns the node's name, or its first output's when unnamed.
func (l Layer) Name() string { return nodeName(l.Node) }

func nodeName(n *ir.Node) string {
	if n.Name != "" {
		return n.Name
	}
	if len(n.Outputs) > 0 && n.Outputs[0] != nil {
		return n.Outputs[0].Name
	}
	return "(unnamed " + n.OpType + ")"
}

// isDefault reports whether n is in the default ONNX domain.
func isDefault(n *ir.Node) bool { return n.Domain == "" || n.Domain == "ai.onnx" }

// constOf returns v's constant tensor unless v is also a graph input (a
// default the caller may override).
func constOf(g *ir.Graph, v *ir.Value) *ir.Tensor {
	if v == nil || v.Const == nil {
		return nil
	}
	for _, in := range g.Inputs {
		if in == v {
			return nil
		}
	}
	return v.Const
}

// Layers returns the prunable layers of g's main body, in node order: a
// Conv, ConvTranspose or Gemm whose weight (input 1) is a constant
// float32 tensor, and a MatMul whose right operand is a constant float32
// matrix. The reason a candidate is left out is reported through skip
// (may be nil).
func Layers(g *ir.Graph, skip func(n *ir.Node, why string)) []Layer {
	var out []Layer
	for _, n := range g.Nodes {
		if !isDefault(n) {
			continue
		}
		switch n.OpType {
		case "Conv", "ConvTranspose", "Gemm", "MatMul":
		default:
			continue
		}
		w := constOf(g, n.Input(1))
		why := ""
		switch {
		case w == nil:
			why = "the weight is not a constant"
		case w.DType != ir.Float32:
			why = fmt.Sprintf("the weight is %s, not float32", w.DType)
		case n.OpType == "MatMul" && len(w.Dims) != 2:
			why = "the MatMul weight is not a matrix"
		case n.OpType == "Gemm" && n.AttrInt("transA", 0) != 0:
			why = "transA is set"
		}
		if why != "" {
			if skip != nil {
				skip(n, why)
			}
			continue
		}
		out = append(out, Layer{Node: n, Weight: 1})
	}
	return out
}

// rowsCols views a layer's weight as a matrix of output rows by input
// columns and returns an index function (row, col) → element offset.
// Conv: (M, C/g·k…); Gemm: B as (N, K) whatever transB; MatMul: (N, K)
// from the (K, N) weight; ConvTranspose: (C_out/g·…) is not a row layout
// the re-fit supports, so ok is false.
func rowsCols(n *ir.Node, w *ir.Tensor) (rows, cols int, at func(r, c int) int, ok bool) {
	switch n.OpType {
	case "Conv":
		rows = int(w.Dims[0])
		cols = int(w.NumElements()) / max(rows, 1)
		return rows, cols, func(r, c int) int { return r*cols + c }, true
	case "Gemm":
		if len(w.Dims) != 2 {
			return 0, 0, nil, false
		}
		if n.AttrInt("transB", 0) != 0 {
			rows, cols = int(w.Dims[0]), int(w.Dims[1])
			return rows, cols, func(r, c int) int { return r*cols + c }, true
		}
		rows, cols = int(w.Dims[1]), int(w.Dims[0])
		return rows, cols, func(r, c int) int { return c*rows + r }, true
	case "MatMul":
		rows, cols = int(w.Dims[1]), int(w.Dims[0])
		return rows, cols, func(r, c int) int { return c*rows + r }, true
	}
	return 0, 0, nil, false
}

// sparsity returns the fraction of exact zeros in t (float32).
func sparsity(t *ir.Tensor) float64 {
	v := t.Float32View()
	if len(v) == 0 {
		return 0
	}
	z := 0
	for _, x := range v {
		if x == 0 {
			z++
		}
	}
	return float64(z) / float64(len(v))
}

// Sparsity returns the fraction of elements of t that are exactly zero
// (for any numeric dtype).
func Sparsity(t *ir.Tensor) float64 {
	if t.DType == ir.Float32 {
		return sparsity(t)
	}
	if t.DType == ir.String || t.NumElements() == 0 {
		return 0
	}
	z := 0
	vals := t.Float64s()
	for _, x := range vals {
		if x == 0 {
			z++
		}
	}
	return float64(z) / float64(len(vals))
}
