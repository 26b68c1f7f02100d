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

// Residual fusion: a Conv whose output is read only by an Add, whose
// other operand is ready before the Conv runs, adds that operand in its
// store (kernels.Conv2DFusedAdd), and the activation after the Add, if
// any, too. The Add passes the Conv's output through. The kernels may
// accumulate the convolution onto the operand, so the float32 sum can
// differ from conv-then-add in the last bits (rounding order only).

// fusions maps each absorbing Conv to its activation (and residual
// operand), and each absorbed node to the index of the input it passes
// through.
type fusions struct {
	conv     map[*ir.Node]kernels.Fused
	residual map[*ir.Node]*ir.Value
	absorbed map[*ir.Node]int
}

func findFusions(g *ir.Graph, order []*ir.Node, opset int64, constOf func(*ir.Value) *ir.Tensor) *fusions {
	f := &fusions{conv: map[*ir.Node]kernels.Fused{}, residual: map[*ir.Node]*ir.Value{}, absorbed: map[*ir.Node]int{}}
	ix := g.BuildIndex()
	pos := make(map[*ir.Node]int, len(order))
	for i, n := range order {
		pos[n] = i
	}
	// soleReader returns the node that alone reads v, and at which input.
	soleReader := func(v *ir.Value) (*ir.Node, int) {
		uses := ix.Uses[v]
		if len(uses) != 1 || uses[0].Node == nil || uses[0].Index < 0 || !isDefaultDomain(uses[0].Node) {
			return nil, 0 // a graph output, a subgraph capture or several readers
		}
		return uses[0].Node, uses[0].Index
	}
	activation := func(act *ir.Node) (kernels.Fused, bool) {
		switch act.OpType {
		case "Relu":
			return kernels.Fused{Act: kernels.ActRelu}, true
		case "Clip":
			if lo, hi, ok := clipBounds(act, opset, constOf); ok {
				return kernels.Fused{Act: kernels.ActClip, Lo: lo, Hi: hi}, true
			}
		}
		return kernels.Fused{}, false
	}
	for _, n := range order {
		if n.OpType != "Conv" || !isDefaultDomain(n) || len(n.Outputs) != 1 || n.Outputs[0] == nil {
			continue
		}
		next, at := soleReader(n.Outputs[0])
		if next == nil {
			continue
		}
		if act, ok := activation(next); ok && at == 0 {
			f.conv[n] = act
			f.absorbed[next] = 0
			continue
		}
		if next.OpType != "Add" || len(next.Inputs) != 2 || len(next.Outputs) != 1 || next.Outputs[0] == nil {
			continue
		}
		res := next.Inputs[1-at]
		if res == nil || res == n.Outputs[0] || foldable(n, constOf) {
			continue // a Conv of constants is folded at build time, without the operand
		}
		if p := ix.Producer[res]; p != nil && pos[p] > pos[n] {
			continue // computed after the Conv: not ready for its store
		}
		f.residual[n] = res
		f.absorbed[next] = at
		if act, _ := soleReader(next.Outputs[0]); act != nil {
			if fused, ok := activation(act); ok && act.Inputs[0] == next.Outputs[0] {
				f.conv[n] = fused
				f.absorbed[act] = 0
			}
		}
	}
	return f
}

func isDefaultDomain(n *ir.Node) bool { return n.Domain == "" || n.Domain == "ai.onnx" }

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

// passThrough returns the kernel of an absorbed node: input i already
// carries the node's result.
func passThrough(i int) kernel {
	return kernelFunc(func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
		return []*ir.Tensor{in[i]}, nil
	})
}

// foldable reports whether every input of n is a build-time constant.
func foldable(n *ir.Node, constOf func(*ir.Value) *ir.Tensor) bool {
	for _, v := range n.Inputs {
		if v != nil && constOf(v) == nil {
			return false
		}
	}
	return true
}
