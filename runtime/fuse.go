package runtime

import (
	"math"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/kernels"
)

// Activation fusion: a Conv whose output is read only by a Relu, or by a
// Clip with constant bounds, applies the activation itself while its
// output is in cache (kernels.Fused), and the activation node becomes a
// pass-through. Results are identical: the activation is the same
// element-wise clamp, applied to the same float32 values.

// fusions maps each absorbing Conv to its activation, and each absorbed
// activation node to true.
type fusions struct {
	conv     map[*ir.Node]kernels.Fused
	absorbed map[*ir.Node]bool
}

func findFusions(g *ir.Graph, opset int64, constOf func(*ir.Value) *ir.Tensor) *fusions {
	f := &fusions{conv: map[*ir.Node]kernels.Fused{}, absorbed: map[*ir.Node]bool{}}
	ix := g.BuildIndex()
	for _, n := range g.Nodes {
		if n.OpType != "Conv" || (n.Domain != "" && n.Domain != "ai.onnx") || len(n.Outputs) != 1 || n.Outputs[0] == nil {
			continue
		}
		uses := ix.Uses[n.Outputs[0]]
		if len(uses) != 1 || uses[0].Node == nil || uses[0].Index != 0 {
			continue // a graph output, a subgraph capture or several readers
		}
		act := uses[0].Node
		if act.Domain != "" && act.Domain != "ai.onnx" {
			continue
		}
		switch act.OpType {
		case "Relu":
			f.conv[n] = kernels.Fused{Act: kernels.ActRelu}
			f.absorbed[act] = true
		case "Clip":
			if lo, hi, ok := clipBounds(act, opset, constOf); ok {
				f.conv[n] = kernels.Fused{Act: kernels.ActClip, Lo: lo, Hi: hi}
				f.absorbed[act] = true
			}
		}
	}
	return f
}

// clipBounds returns a Clip's bounds when they are known at build time.
func clipBounds(n *ir.Node, opset int64, constOf func(*ir.Value) *ir.Tensor) (lo, hi float32, ok bool) {
	lo, hi = float32(math.Inf(-1)), float32(math.Inf(1))
	if opset < 11 {
		return n.AttrFloat("min", lo), n.AttrFloat("max", hi), true
	}
	for i, dst := range []*float32{&lo, &hi} {
		v := n.Input(i + 1)
		if v == nil {
			continue
		}
		c := constOf(v)
		if c == nil || c.DType != ir.Float32 || c.NumElements() != 1 {
			return 0, 0, false
		}
		*dst = view[float32](c)[0]
	}
	return lo, hi, true
}

// passThrough is the kernel of an absorbed activation: its input already
// carries the activation.
var passThrough = kernelFunc(func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
	return []*ir.Tensor{in[0]}, nil
})
