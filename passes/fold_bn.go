package passes

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/nncc/nncc/ir"
)

// FoldBN folds inference-mode BatchNormalization into the layer before it.
var FoldBN = &Pass{
	Name: "fold-bn",
	Doc: `Fold inference-mode BatchNormalization into the Conv, ConvTranspose, Gemm or MatMul before it.

BatchNormalization computes y = s·x + t per channel (axis 1), with
s = scale/√(var+ε) and t = bias − mean·s. When the producer of x is

  - a Conv (any group count, depthwise included) with constant weights
    (M, C/group, k…): each output channel's filter is scaled by s and the
    bias becomes b·s + t;
  - a ConvTranspose with constant weights (C_in, C_out/group, k…): the
    weights feeding output channel o are scaled by s[o], likewise the bias;
  - a Gemm with a constant B (transB 0 or 1) and a constant or absent C:
    B's output columns are scaled and C becomes β·C·s + t (β then 1);
  - a MatMul of a rank-2 input by a constant (K, N) weight: the weight's
    columns are scaled and the BatchNormalization becomes an Add of t
    (which fuse-matmul-add can then merge into a Gemm);

and x is read by nothing else (not even as a graph output), the
BatchNormalization disappears into it. Weights are computed in float64
and stored in their own type (float16, float32, float64 or bfloat16); new
weight tensors are written, so weights shared with other nodes stay
intact.

A BatchNormalization that cannot fold (another producer, a producer whose
output is also read elsewhere) becomes Mul and Add with the precomputed s
and t when mul-add is set and x's rank is known; a factor of exactly 1 or
a term of exactly 0 is left out. Training-mode BatchNormalization (more
than one output before opset 14, training_mode=1 from 14), spatial=0
(before opset 9) and non-constant statistics are left alone.`,
	Options: []Option{
		{Name: "mul-add", Type: Bool, Default: true,
			Doc: "rewrite a BatchNormalization that cannot fold into its producer as Mul + Add with precomputed constants"},
	},
	Run: runFoldBN,
}

// bnAffine is a BatchNormalization reduced to y = s·x + t per channel.
type bnAffine struct {
	s, t []float64
}

func runFoldBN(c *Context) error {
	c.inferShapes()
	opset := c.Opset()
	mulAdd := c.Bool("mul-add")
	c.Model.Graph.Walk(func(g *ir.Graph) {
		ix := g.BuildIndex()
		// Rewrites insert and delete nodes; walk a snapshot, in which
		// each BatchNormalization appears once.
		for _, n := range append([]*ir.Node{}, g.Nodes...) {
			if !is(n, "BatchNormalization") {
				continue
			}
			bn, err := bnParams(c, ix, n, opset)
			if err != nil {
				c.Declinef(n, "%v", err)
				continue
			}
			why := foldBNInto(c, g, ix, n, bn, opset)
			if why == "" {
				c.Changed()
				ix = g.BuildIndex()
				continue
			}
			if !mulAdd {
				c.Declinef(n, "not folded: %s", why)
				continue
			}
			if err := bnToMulAdd(c, g, ix, n, bn); err != nil {
				c.Declinef(n, "not folded (%s), and not rewritten as Mul+Add: %v", why, err)
				continue
			}
			c.Declinef(n, "not folded (%s); rewritten as Mul+Add", why)
			c.Changed()
			ix = g.BuildIndex()
		}
	})
	return nil
}

// bnParams checks that n is an inference-mode BatchNormalization with
// constant statistics and returns its per-channel affine form.
func bnParams(c *Context, ix *ir.Index, n *ir.Node, opset int64) (*bnAffine, error) {
	if len(n.Inputs) < 5 || n.Inputs[0] == nil || len(n.Outputs) == 0 || n.Outputs[0] == nil {
		return nil, fmt.Errorf("malformed BatchNormalization (%d inputs)", len(n.Inputs))
	}
	extra := 0
	for _, o := range n.Outputs[1:] {
		if o != nil {
			extra++
		}
	}
	if opset >= 14 {
		if n.AttrInt("training_mode", 0) != 0 {
			return nil, fmt.Errorf("training_mode=1: statistics come from the batch")
		}
		for _, o := range n.Outputs[1:] {
			if o != nil && len(ix.Uses[o]) > 0 {
				return nil, fmt.Errorf("running statistics output %q is read", o.Name)
			}
		}
	} else if extra > 0 {
		return nil, fmt.Errorf("it declares %d statistics outputs, which means training mode before opset 14", extra)
	}
	if opset < 9 && n.AttrInt("spatial", 1) == 0 {
		return nil, fmt.Errorf("spatial=0 (per-activation statistics) is not supported")
	}
	var p [4][]float64
	names := [4]string{"scale", "bias", "mean", "var"}
	C := -1
	for k := 0; k < 4; k++ {
		v := n.Inputs[k+1]
		t := c.ConstOf(v)
		if t == nil {
			return nil, fmt.Errorf("%s is not a constant", names[k])
		}
		if !isFloatType(t.DType) || t.Check() != nil {
			return nil, fmt.Errorf("%s is %s, not a float tensor", names[k], t.DType)
		}
		if len(t.Dims) != 1 {
			return nil, fmt.Errorf("%s has shape %v, not (C)", names[k], t.Dims)
		}
		if C >= 0 && int(t.Dims[0]) != C {
			return nil, fmt.Errorf("%s has %d channels, %s has %d", names[k], t.Dims[0], names[0], C)
		}
		C = int(t.Dims[0])
		p[k] = t.Float64s()
	}
	if r := rankOf(n.Inputs[0]); r >= 0 && r < 2 {
		return nil, fmt.Errorf("input has rank %d; BatchNormalization needs a channel axis", r)
	}
	eps := float64(n.AttrFloat("epsilon", 1e-5))
	bn := &bnAffine{s: make([]float64, C), t: make([]float64, C)}
	for i := range C {
		d := p[3][i] + eps
		if !(d > 0) || math.IsInf(d, 0) {
			return nil, fmt.Errorf("var+epsilon of channel %d is %g", i, d)
		}
		bn.s[i] = p[0][i] / math.Sqrt(d)
		bn.t[i] = p[1][i] - p[2][i]*bn.s[i]
	}
	return bn, nil
}

// foldBNInto folds n into the producer of its input and returns "", or
// returns why it cannot (leaving the graph unchanged).
func foldBNInto(c *Context, g *ir.Graph, ix *ir.Index, n *ir.Node, bn *bnAffine, opset int64) string {
	x := n.Inputs[0]
	prod := ix.Producer[x]
	if prod == nil {
		return fmt.Sprintf("input %q is not computed by a node of this graph", x.Name)
	}
	if !isDefault(prod) {
		return fmt.Sprintf("producer %s is not a default-domain operator", prod.OpType)
	}
	if onlyUse(ix, x) != n {
		return fmt.Sprintf("the %s output %q is also read elsewhere or is a graph output", prod.OpType, x.Name)
	}
	var why string
	switch prod.OpType {
	case "Conv":
		why = foldBNConv(c, g, prod, n, bn, false)
	case "ConvTranspose":
		why = foldBNConv(c, g, prod, n, bn, true)
	case "Gemm":
		why = foldBNGemm(c, g, prod, n, bn, opset)
	case "MatMul":
		why = foldBNMatMul(c, g, prod, n, bn)
	default:
		return fmt.Sprintf("producer %s cannot absorb it", prod.OpType)
	}
	return why
}

// weightOf returns the constant float weight at input i of n.
func weightOf(c *Context, n *ir.Node, i int) (*ir.Tensor, string) {
	v := n.Input(i)
	if v == nil {
		return nil, fmt.Sprintf("%s has no input %d", n.OpType, i)
	}
	t := c.ConstOf(v)
	if t == nil {
		return nil, fmt.Sprintf("%s weight %q is not a constant", n.OpType, v.Name)
	}
	if !isFloatType(t.DType) || t.Check() != nil {
		return nil, fmt.Sprintf("%s weight %q is %s, not float", n.OpType, v.Name, t.DType)
	}
	return t, ""
}

// retire removes BatchNormalization n after its producer now computes n's
// output y directly.
func retire(g *ir.Graph, prod, n *ir.Node) {
	prod.Outputs[0] = n.Outputs[0]
	g.RemoveNodes(map[*ir.Node]bool{n: true})
}

func foldBNConv(c *Context, g *ir.Graph, conv, n *ir.Node, bn *bnAffine, transpose bool) string {
	w, why := weightOf(c, conv, 1)
	if w != nil && len(w.Dims) < 3 {
		why = fmt.Sprintf("%s weight has rank %d", conv.OpType, len(w.Dims))
	}
	if why != "" {
		return why
	}
	C := len(bn.s)
	group := conv.AttrInt("group", 1)
	if group <= 0 {
		return fmt.Sprintf("group=%d", group)
	}
	// outChan maps a weight element's leading index pair to its output
	// channel; inner is the number of elements per (dim0, dim1) pair.
	d0, d1 := int(w.Dims[0]), int(w.Dims[1])
	inner := int(ir.NumElements(w.Dims[2:]))
	var outChannels int
	var outChan func(i0, i1 int) int
	if !transpose {
		outChannels = d0
		outChan = func(i0, _ int) int { return i0 }
	} else {
		if int64(d0)%group != 0 {
			return fmt.Sprintf("ConvTranspose weight has %d input channels, not a multiple of group=%d", d0, group)
		}
		perGroup := d0 / int(group)
		outChannels = d1 * int(group)
		outChan = func(i0, i1 int) int { return (i0/perGroup)*d1 + i1 }
	}
	if outChannels != C {
		return fmt.Sprintf("%s has %d output channels, BatchNormalization has %d", conv.OpType, outChannels, C)
	}
	var bias []float64
	if b := conv.Input(2); b != nil {
		bt := c.ConstOf(b)
		if bt == nil || !isFloatType(bt.DType) || bt.NumElements() != int64(C) || bt.Check() != nil {
			return fmt.Sprintf("%s bias %q is not a constant of %d floats", conv.OpType, b.Name, C)
		}
		bias = bt.Float64s()
	}
	nw := scaleBlocks(w, d0, d1, inner, func(i0, i1 int) float64 { return bn.s[outChan(i0, i1)] })
	nb := make([]float64, C)
	for o := range nb {
		if bias != nil {
			nb[o] = bias[o] * bn.s[o]
		}
		nb[o] += bn.t[o]
	}
	wv := c.addConst(g, conv.Inputs[1].Name+"_bn", nw)
	bv := c.addConst(g, biasName(conv, n), floatTensor(w.DType, []int64{int64(C)}, nb))
	conv.Inputs[1] = wv
	for len(conv.Inputs) < 3 {
		conv.Inputs = append(conv.Inputs, nil)
	}
	conv.Inputs[2] = bv
	retire(g, conv, n)
	return ""
}

func biasName(prod, n *ir.Node) string {
	if b := prod.Input(2); b != nil {
		return b.Name + "_bn"
	}
	return prod.Label() + "_bias"
}

func foldBNGemm(c *Context, g *ir.Graph, gemm, n *ir.Node, bn *bnAffine, opset int64) string {
	w, why := weightOf(c, gemm, 1)
	if w != nil && len(w.Dims) != 2 {
		why = fmt.Sprintf("Gemm B has rank %d", len(w.Dims))
	}
	if why != "" {
		return why
	}
	C := len(bn.s)
	transB := gemm.AttrInt("transB", 0) != 0
	N := int(w.Dims[1])
	if transB {
		N = int(w.Dims[0])
	}
	if N != C {
		return fmt.Sprintf("Gemm has %d output columns, BatchNormalization has %d channels", N, C)
	}
	beta := float64(gemm.AttrFloat("beta", 1))
	// The new C: β·C·s + t, over C's rows (1 unless C is (M, N) or (M, 1)).
	rows := 1
	var cdata []float64
	var cdims []int64
	if cv := gemm.Input(2); cv != nil {
		ct := c.ConstOf(cv)
		if ct == nil || !isFloatType(ct.DType) || ct.Check() != nil {
			return fmt.Sprintf("Gemm C %q is not a float constant", cv.Name)
		}
		cdims = ct.Dims
		switch {
		case len(cdims) == 0, len(cdims) == 1 && (cdims[0] == 1 || cdims[0] == int64(N)):
		case len(cdims) == 2 && (cdims[1] == 1 || cdims[1] == int64(N)):
			rows = int(cdims[0])
		default:
			return fmt.Sprintf("Gemm C has shape %v, not broadcastable to (M, %d)", cdims, N)
		}
		cdata = ct.Float64s()
	}
	nc := make([]float64, rows*N)
	for r := 0; r < rows; r++ {
		for j := 0; j < N; j++ {
			v := 0.0
			if cdata != nil {
				idx := 0
				if len(cdims) == 2 {
					idx = r * int(cdims[1])
					if cdims[1] != 1 {
						idx += j
					}
				} else if len(cdims) == 1 && cdims[0] != 1 {
					idx = j
				}
				v = beta * cdata[idx] * bn.s[j]
			}
			nc[r*N+j] = v + bn.t[j]
		}
	}
	ncDims := []int64{int64(N)}
	if len(cdims) == 2 {
		ncDims = []int64{int64(rows), int64(N)}
	}
	var nw *ir.Tensor
	if transB { // (N, K): row j scaled by s[j]
		nw = scaleBlocks(w, N, 1, int(w.Dims[1]), func(j, _ int) float64 { return bn.s[j] })
	} else { // (K, N): column j scaled by s[j]
		nw = scaleBlocks(w, int(w.Dims[0]), N, 1, func(_, j int) float64 { return bn.s[j] })
	}
	cdt := w.DType
	if cv := gemm.Input(2); cv != nil {
		cdt = cv.Const.DType
	}
	wv := c.addConst(g, gemm.Inputs[1].Name+"_bn", nw)
	cv := c.addConst(g, biasName(gemm, n), floatTensor(cdt, ncDims, nc))
	gemm.Inputs[1] = wv
	for len(gemm.Inputs) < 3 {
		gemm.Inputs = append(gemm.Inputs, nil)
	}
	gemm.Inputs[2] = cv
	gemm.DelAttr("beta")
	if opset < 7 {
		gemm.SetAttr(ir.IntAttr("broadcast", 1))
	}
	retire(g, gemm, n)
	return ""
}

func foldBNMatMul(c *Context, g *ir.Graph, mm, n *ir.Node, bn *bnAffine) string {
	w, why := weightOf(c, mm, 1)
	if w != nil && len(w.Dims) != 2 {
		why = fmt.Sprintf("MatMul weight has rank %d", len(w.Dims))
	}
	if why != "" {
		return why
	}
	if r := rankOf(mm.Inputs[0]); r != 2 {
		if r < 0 {
			return "the rank of the MatMul input is unknown"
		}
		return fmt.Sprintf("the MatMul output has rank %d, so channel axis 1 is not the weight's column axis", r)
	}
	C := len(bn.s)
	K, N := int(w.Dims[0]), int(w.Dims[1])
	if N != C {
		return fmt.Sprintf("MatMul has %d output columns, BatchNormalization has %d channels", N, C)
	}
	nw := scaleBlocks(w, K, N, 1, func(_, j int) float64 { return bn.s[j] })
	mm.Inputs[1] = c.addConst(g, mm.Inputs[1].Name+"_bn", nw)
	if allEqual(bn.t, 0) {
		retire(g, mm, n)
		return ""
	}
	// The BatchNormalization becomes the Add of t.
	dt := dtypeOf(n.Outputs[0])
	if !isFloatType(dt) {
		dt = w.DType
	}
	t := c.addConst(g, n.Label()+"_shift", floatTensor(dt, []int64{int64(N)}, bn.t))
	n.OpType, n.Inputs, n.Attrs = "Add", []*ir.Value{n.Inputs[0], t}, nil
	n.Outputs = n.Outputs[:1]
	return ""
}

// bnToMulAdd rewrites n as y = x·s + t with s and t shaped (C, 1, …, 1)
// to broadcast over x's channel axis.
func bnToMulAdd(c *Context, g *ir.Graph, ix *ir.Index, n *ir.Node, bn *bnAffine) error {
	x, y := n.Inputs[0], n.Outputs[0]
	r := rankOf(x)
	if r < 2 {
		return fmt.Errorf("the rank of input %q is unknown", x.Name)
	}
	dt := dtypeOf(x)
	if !isFloatType(dt) {
		if c.Opset() < 15 {
			dt = c.ConstOf(n.Inputs[1]).DType
		} else {
			return fmt.Errorf("the element type of input %q is unknown", x.Name)
		}
	}
	C := len(bn.s)
	if s, ok := shapeOf(x); ok && s[1].Known() && s[1].Value != int64(C) {
		return fmt.Errorf("input %q has %d channels, the statistics %d", x.Name, s[1].Value, C)
	}
	dims := make([]int64, r-1)
	for i := range dims {
		dims[i] = 1
	}
	dims[0] = int64(C)
	needMul, needAdd := !allEqual(bn.s, 1), !allEqual(bn.t, 0)
	if !needMul && !needAdd {
		if !bypass(g, ix, y, x) {
			n.OpType, n.Inputs, n.Attrs, n.Outputs = "Identity", []*ir.Value{x}, nil, n.Outputs[:1]
			return nil
		}
		g.RemoveNodes(map[*ir.Node]bool{n: true})
		return nil
	}
	in := x
	if needMul {
		s := c.addConst(g, n.Label()+"_scale", floatTensor(dt, dims, bn.s))
		if !needAdd {
			n.OpType, n.Inputs, n.Attrs, n.Outputs = "Mul", []*ir.Value{x, s}, nil, n.Outputs[:1]
			return nil
		}
		mul := c.newNode(g, "Mul", n.Label()+"_mul", []*ir.Value{x, s})
		insertBefore(g, n, mul)
		in = mul.Outputs[0]
	}
	t := c.addConst(g, n.Label()+"_shift", floatTensor(dt, dims, bn.t))
	n.OpType, n.Inputs, n.Attrs, n.Outputs = "Add", []*ir.Value{in, t}, nil, n.Outputs[:1]
	return nil
}

// scaleBlocks returns a copy of w, viewed as (d0, d1, inner), with block
// (i0, i1) multiplied by s(i0, i1). Products are computed in float64 and
// rounded once to w's type.
func scaleBlocks(w *ir.Tensor, d0, d1, inner int, s func(i0, i1 int) float64) *ir.Tensor {
	if w.DType == ir.Float32 {
		src := w.Float32View()
		out := ir.NewTensor(ir.Float32, w.Dims...)
		for i0 := 0; i0 < d0; i0++ {
			for i1 := 0; i1 < d1; i1++ {
				f := s(i0, i1)
				base := (i0*d1 + i1) * inner
				for k := base; k < base+inner; k++ {
					binary.LittleEndian.PutUint32(out.Data[4*k:], math.Float32bits(float32(float64(src[k])*f)))
				}
			}
		}
		return out
	}
	wd := w.Float64s()
	for i0 := 0; i0 < d0; i0++ {
		for i1 := 0; i1 < d1; i1++ {
			f := s(i0, i1)
			base := (i0*d1 + i1) * inner
			for k := base; k < base+inner; k++ {
				wd[k] *= f
			}
		}
	}
	return floatTensor(w.DType, w.Dims, wd)
}

func allEqual(xs []float64, v float64) bool {
	for _, x := range xs {
		if x != v {
			return false
		}
	}
	return true
}
