package gosrc

import (
	"slices"

	"github.com/nncc/nncc/ir"
)

// lowerQOps rewrites the QOperator forms onnxruntime's quantizer writes
// (QLinearConv, QLinearMatMul, ConvInteger, MatMulInteger,
// DynamicQuantizeLinear) into standard operators on integer values held
// in float32, which the rest of the back end fuses and plans like any
// other: the input's zero point subtracted (Cast, Sub), a float Conv or
// MatMul with the zero-point-corrected integer weights (exact while the
// accumulator stays below 2^24), then the requantization as Mul by
// x_scale·w_scale/y_scale and QuantizeLinear with scale 1 and the output's
// zero point. A node whose weights or scales are not constants is left as
// it is (and reported as unsupported later). m is cloned first when
// anything changes.
func lowerQOps(m *ir.Model) *ir.Model {
	need := false
	for _, n := range m.Graph.Nodes {
		switch n.OpType {
		case "QLinearConv", "QLinearMatMul", "ConvInteger", "MatMulInteger", "DynamicQuantizeLinear":
			need = true
		}
	}
	if !need {
		return m
	}
	m = m.Clone()
	g := m.Graph
	l := &lowerer{g: g}
	var nodes []*ir.Node
	for _, n := range g.Nodes {
		l.out = nil
		ok := false
		switch n.OpType {
		case "QLinearConv":
			ok = l.linear(n, true, true)
		case "ConvInteger":
			ok = l.linear(n, true, false)
		case "QLinearMatMul":
			ok = l.linear(n, false, true)
		case "MatMulInteger":
			ok = l.linear(n, false, false)
		case "DynamicQuantizeLinear":
			ok = l.dynamicQuantize(n)
		}
		if ok {
			nodes = append(nodes, l.out...)
		} else {
			nodes = append(nodes, n)
		}
	}
	g.Nodes = nodes
	return m
}

type lowerer struct {
	g   *ir.Graph
	out []*ir.Node
	k   int
}

func (l *lowerer) val(base string) *ir.Value {
	l.k++
	return &ir.Value{Name: l.g.UniqueName(base)}
}

func (l *lowerer) node(op string, ins []*ir.Value, out *ir.Value, attrs ...*ir.Attribute) *ir.Value {
	if out == nil {
		out = l.val(op + "_lowered")
	}
	l.out = append(l.out, &ir.Node{Name: l.g.UniqueName(op + "_lowered"), OpType: op, Inputs: ins, Outputs: []*ir.Value{out}, Attrs: attrs})
	return out
}

func (l *lowerer) cnst(base string, t *ir.Tensor) *ir.Value {
	return l.g.AddConst(l.g.UniqueName(base), t)
}

func (l *lowerer) scalar(f float32) *ir.Value { return l.cnst("lowered_scalar", ir.Scalar(f)) }

// constOf returns v's constant data as float64, or nil.
func constOf(v *ir.Value) []float64 {
	if v == nil || v.Const == nil || v.Const.DType == ir.String {
		return nil
	}
	return v.Const.Float64s()
}

func opt(n *ir.Node, i int) *ir.Value {
	if i < len(n.Inputs) {
		return n.Inputs[i]
	}
	return nil
}

// linear lowers QLinearConv/ConvInteger (conv) or
// QLinearMatMul/MatMulInteger; requant adds the QLinear output stage.
func (l *lowerer) linear(n *ir.Node, conv, requant bool) bool {
	var x, xzp, w, wzp, xs, ws, ys, yzp, bias *ir.Value
	if requant {
		x, xs, xzp, w, ws, wzp, ys, yzp = n.Inputs[0], n.Inputs[1], n.Inputs[2], n.Inputs[3], n.Inputs[4], n.Inputs[5], n.Inputs[6], n.Inputs[7]
		bias = opt(n, 8)
	} else {
		x, w, xzp, wzp = n.Inputs[0], n.Inputs[1], opt(n, 2), opt(n, 3)
	}
	wd := constOf(w)
	if wd == nil || w.Const.DType == ir.Float32 {
		return false
	}
	dims := w.Const.Dims
	var M int // output channels (conv) or columns (matmul)
	switch {
	case conv && len(dims) >= 3:
		M = int(dims[0])
	case !conv && len(dims) == 2:
		M = int(dims[1])
	default:
		return false
	}
	at := func(v []float64, c int) float64 {
		if len(v) == 1 {
			return v[0]
		}
		return v[c]
	}
	wz := []float64{0}
	if wzp != nil {
		if wz = constOf(wzp); wz == nil || len(wz) != 1 && len(wz) != M {
			return false
		}
	}
	var xsD, wsD, ysD, yzD []float64
	if requant {
		xsD, wsD, ysD, yzD = constOf(xs), constOf(ws), constOf(ys), constOf(yzp)
		if xsD == nil || wsD == nil || ysD == nil || yzD == nil || len(xsD) != 1 || len(ysD) != 1 || len(wsD) != 1 && len(wsD) != M {
			return false
		}
	}
	var xz []float64
	dynZero := false
	if xzp != nil {
		if xz = constOf(xzp); xz == nil {
			dynZero = xzp.Const == nil // computed (DynamicQuantizeLinear's zero point)
			if !dynZero {
				return false
			}
		} else if len(xz) != 1 {
			return false
		}
	}
	// weights minus their zero point, as float32
	wf := make([]float32, len(wd))
	per := len(wd) / int(dims[0])
	for i, v := range wd {
		c := i / per // conv: output channel
		if !conv {
			c = i % M // matmul: column
		}
		wf[i] = float32(v - at(wz, c))
	}
	cur := l.node("Cast", []*ir.Value{x}, nil, ir.IntAttr("to", int64(ir.Float32)))
	switch {
	case dynZero:
		zf := l.node("Cast", []*ir.Value{xzp}, nil, ir.IntAttr("to", int64(ir.Float32)))
		cur = l.node("Sub", []*ir.Value{cur, zf}, nil)
	case xz != nil && xz[0] != 0:
		cur = l.node("Sub", []*ir.Value{cur, l.scalar(float32(xz[0]))}, nil)
	}
	wv := l.cnst(n.Name+"_w", ir.FromFloat32(slices.Clone(dims), wf))
	final := n.Outputs[0]
	var acc *ir.Value
	if !requant {
		acc = final
	}
	if conv {
		ins := []*ir.Value{cur, wv}
		if bias != nil {
			bd := constOf(bias)
			if bd == nil {
				return false
			}
			bf := make([]float32, len(bd))
			for i, v := range bd {
				bf[i] = float32(v)
			}
			ins = append(ins, l.cnst(n.Name+"_b", ir.FromFloat32([]int64{int64(len(bf))}, bf)))
		}
		acc = l.node("Conv", ins, acc, n.Attrs...)
	} else {
		acc = l.node("MatMul", []*ir.Value{cur, wv}, acc)
	}
	if !requant {
		return true
	}
	scale := make([]float32, len(wsD))
	for c := range scale {
		scale[c] = float32(xsD[0]) * float32(wsD[c]) / float32(ysD[0])
	}
	sdims := []int64{int64(len(scale))}
	if conv && len(scale) > 1 {
		sdims = make([]int64, len(dims)-1) // (M, 1, ...) against (N, M, spatial...)
		for i := range sdims {
			sdims[i] = 1
		}
		sdims[0] = int64(len(scale))
	}
	if len(scale) == 1 {
		sdims = nil
	}
	sc := l.node("Mul", []*ir.Value{acc, l.cnst(n.Name+"_requant", ir.FromFloat32(sdims, scale))}, nil)
	l.node("QuantizeLinear", []*ir.Value{sc, l.scalar(1), yzp}, final)
	return true
}

// dynamicQuantize lowers DynamicQuantizeLinear to reductions and
// element-wise operators, as its definition states it.
func (l *lowerer) dynamicQuantize(n *ir.Node) bool {
	x := n.Inputs[0]
	outs := make([]*ir.Value, 3)
	for i := range outs {
		if i < len(n.Outputs) && n.Outputs[i] != nil && n.Outputs[i].Name != "" {
			outs[i] = n.Outputs[i]
		}
	}
	zero, full := l.scalar(0), l.scalar(255)
	mn := l.node("Min", []*ir.Value{l.node("ReduceMin", []*ir.Value{x}, nil, ir.IntAttr("keepdims", 0)), zero}, nil)
	mx := l.node("Max", []*ir.Value{l.node("ReduceMax", []*ir.Value{x}, nil, ir.IntAttr("keepdims", 0)), zero}, nil)
	scale := l.node("Div", []*ir.Value{l.node("Sub", []*ir.Value{mx, mn}, nil), full}, outs[1])
	zp := l.node("Clip", []*ir.Value{l.node("Round", []*ir.Value{l.node("Div", []*ir.Value{l.node("Neg", []*ir.Value{mn}, nil), scale}, nil)}, nil), zero, full}, outs[2])
	q := l.node("Add", []*ir.Value{l.node("Round", []*ir.Value{l.node("Div", []*ir.Value{x, scale}, nil)}, nil), zp}, nil)
	l.node("Clip", []*ir.Value{q, zero, full}, outs[0])
	return true
}
