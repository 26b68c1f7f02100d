package gosrc

import (
	"math"
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
func lowerQOps(m *ir.Model) (*ir.Model, map[*ir.Node]*qinfo) {
	need := false
	for _, n := range m.Graph.Nodes {
		switch n.OpType {
		case "QLinearConv", "QLinearMatMul", "ConvInteger", "MatMulInteger", "DynamicQuantizeLinear", "DequantizeLinear":
			need = true
		}
	}
	if !need {
		return m, nil
	}
	m = m.Clone()
	g := m.Graph
	l := &lowerer{g: g, q: map[*ir.Node]*qinfo{}, prod: map[*ir.Value]*ir.Node{}}
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			l.prod[o] = n
		}
	}
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
		case "Conv":
			ok = l.qdqConv(n)
		case "Gemm", "MatMul":
			ok = l.qdqGemm(n)
		}
		if ok {
			nodes = append(nodes, l.out...)
		} else {
			nodes = append(nodes, n)
		}
	}
	g.Nodes = nodes
	return m, l.q
}

// qinfo marks a lowered Conv or MatMul that the generated code runs on
// package kernels' exact 8-bit integer kernels: its float input is the
// integer data itself (a Cast, no zero-point Sub), and w, wSigned, wZero,
// xSigned, xZero describe the 8-bit operands. The float weights the
// lowered node carries are (w - wZero), which only shape inference sees.
type qinfo struct {
	w       []byte
	wSigned bool
	wZero   []byte
	xSigned bool
	xZero   byte
	xZeroV  *ir.Value // a zero point computed at run time (MatMul only), or nil
	// bias is the bias in the accumulator's units (one per output
	// channel or column; zeros when there is none) for the requantizing
	// kernels; nil when it does not fit an int32. addBias marks a MatMul
	// whose bias is the Add after its scale Mul (the QDQ Gemm).
	bias    []int32
	addBias bool
}

// accBias returns the bias bf (float, in real units) in units of acc
// (per channel), rounded half to even, or nil when a value does not fit
// comfortably in an int32. exact, when not nil, holds int32 values
// already in those units (a DequantizeLinear whose scale is acc's).
func accBias(bf []float64, acc []float32, exact []int32) []int32 {
	b := make([]int32, len(acc))
	for c := range b {
		if exact != nil {
			b[c] = exact[c]
			continue
		}
		if bf == nil {
			continue
		}
		r := math.RoundToEven(float64(float32(bf[c])) / float64(acc[c]))
		if math.Abs(r) > 1<<30 {
			return nil
		}
		b[c] = int32(r)
	}
	return b
}

// dqExactBias returns the int32 data of a DequantizeLinear(int32) bias
// whose scales are bitwise acc's and zero point 0, or nil.
func dqExactBias(q []float64, sb []float64, zb []byte, acc []float32) []int32 {
	if len(q) != len(acc) || !allZero(zb) {
		return nil
	}
	out := make([]int32, len(q))
	for c := range q {
		s := sb[0]
		if len(sb) > 1 {
			s = sb[c]
		}
		if math.Float32bits(float32(s)) != math.Float32bits(acc[c]) {
			return nil
		}
		out[c] = int32(q[c])
	}
	return out
}

type lowerer struct {
	g    *ir.Graph
	out  []*ir.Node
	k    int
	q    map[*ir.Node]*qinfo
	prod map[*ir.Value]*ir.Node
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
		wf[i] = float32(v - paramAt(wz, c))
	}
	cur := l.node("Cast", []*ir.Value{x}, nil, ir.IntAttr("to", int64(ir.Float32)))
	// The integer kernels take 8-bit x with a constant zero point and
	// 8-bit weights; then the Sub stays out (the kernel subtracts).
	var qi *qinfo
	if xdt, wdt := l.dtypeOf(x), w.Const.DType; (xdt == ir.Uint8 || xdt == ir.Int8) && (wdt == ir.Uint8 || wdt == ir.Int8) && (!dynZero || !conv) {
		qi = &qinfo{w: w.Const.Data, wSigned: wdt == ir.Int8, xSigned: xdt == ir.Int8}
		if wzp != nil {
			qi.wZero = wzp.Const.Data
		}
		if xz != nil {
			qi.xZero = byte(int8(xz[0]))
			if !qi.xSigned {
				qi.xZero = byte(uint8(xz[0]))
			}
		}
		if dynZero {
			qi.xZeroV = xzp
		}
		if conv && len(dims) != 4 && len(dims) != 3 {
			qi = nil
		}
	}
	switch {
	case qi != nil:
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
	if qi != nil {
		qi.bias = make([]int32, M)
	}
	if conv {
		ins := []*ir.Value{cur, wv}
		if bias != nil {
			bd := constOf(bias)
			if bd == nil || len(bd) != M {
				return false
			}
			if qi != nil {
				for c, v := range bd {
					qi.bias[c] = int32(v)
				}
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
	if qi != nil {
		l.q[l.out[len(l.out)-1]] = qi
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

// dtypeOf is the element type of v as far as the graph says: a
// constant's, a graph input's or a value-info's declared type, or the
// type a QuantizeLinear/DynamicQuantizeLinear produces.
func (l *lowerer) dtypeOf(v *ir.Value) ir.DType {
	if v.Const != nil {
		return v.Const.DType
	}
	if v.Type != nil && v.Type.DType != ir.Undefined {
		return v.Type.DType
	}
	for _, n := range l.g.Nodes {
		for i, o := range n.Outputs {
			if o != v {
				continue
			}
			switch {
			case viewOps[n.OpType] && n.OpType != "Cast" || n.OpType == "Transpose" || n.OpType == "MaxPool" || n.OpType == "Slice" || n.OpType == "Pad":
				return l.dtypeOf(n.Inputs[0])
			case n.OpType == "QuantizeLinear" && len(n.Inputs) > 2 && n.Inputs[2] != nil && n.Inputs[2].Const != nil:
				return n.Inputs[2].Const.DType
			case n.OpType == "QuantizeLinear":
				return ir.Uint8
			case n.OpType == "DynamicQuantizeLinear" && i == 0:
				return ir.Uint8
			case (n.OpType == "QLinearConv" || n.OpType == "QLinearMatMul") && n.Inputs[len(n.Inputs)-1] != nil:
				z := n.Inputs[7]
				if z != nil && z.Const != nil {
					return z.Const.DType
				}
			}
		}
	}
	return ir.Undefined
}

// dqOf returns the DequantizeLinear node producing v with constant scale
// and zero point, its scales and zero points (nil zp: 0) and axis.
func (l *lowerer) dqOf(v *ir.Value) (n *ir.Node, scale []float64, zp []byte, axis int64, ok bool) {
	n = l.prod[v]
	if v == nil || n == nil || n.OpType != "DequantizeLinear" {
		return nil, nil, nil, 0, false
	}
	if scale = constOf(n.Inputs[1]); scale == nil {
		return nil, nil, nil, 0, false
	}
	if z := opt(n, 2); z != nil {
		if z.Const == nil {
			return nil, nil, nil, 0, false
		}
		zp = z.Const.Data
	}
	return n, scale, zp, n.AttrInt("axis", 1), true
}

// qdqOperands matches the two operands of a Conv or Gemm in QDQ form:
// x a DequantizeLinear of 8-bit activations (one scale, at most one
// zero point) and w a DequantizeLinear of constant 8-bit weights. It
// returns the quantised values with their parameters.
func (l *lowerer) qdqOperands(n *ir.Node) (xq *ir.Value, xdt ir.DType, sx []float64, zx []byte, wq *ir.Value, sw []float64, zw []byte, wax int64, ok bool) {
	dx, sx, zx, _, ok := l.dqOf(n.Inputs[0])
	if !ok || len(sx) != 1 || len(zx) > 1 {
		return nil, 0, nil, nil, nil, nil, nil, 0, false
	}
	xq = dx.Inputs[0]
	xdt = l.dtypeOf(xq)
	if xdt != ir.Uint8 && xdt != ir.Int8 {
		return nil, 0, nil, nil, nil, nil, nil, 0, false
	}
	dw, sw, zw, wax, ok := l.dqOf(n.Inputs[1])
	if !ok {
		return nil, 0, nil, nil, nil, nil, nil, 0, false
	}
	wq = dw.Inputs[0]
	if wq.Const == nil || wq.Const.DType != ir.Int8 && wq.Const.DType != ir.Uint8 {
		return nil, 0, nil, nil, nil, nil, nil, 0, false
	}
	return xq, xdt, sx, zx, wq, sw, zw, wax, true
}

// paramAt is a quantisation parameter for channel c: v's only value,
// or its c-th.
func paramAt(v []float64, c int) float64 {
	if len(v) == 1 {
		return v[0]
	}
	return v[c]
}

// qdqConv runs a Conv of the QDQ form — activation DequantizeLinear(x_q)
// with one scale, weights DequantizeLinear(w_q) of constant 8-bit weights
// per tensor or per output channel, bias constant or
// DequantizeLinear(int32) — on the integer kernel: the exact sum
// Σ (x_q - zx)(w_q - zw) plus the bias in those units, times
// s_x·s_w per channel. The DequantizeLinear nodes stay for their other
// readers (unread ones are dropped as dead code).
func (l *lowerer) qdqConv(n *ir.Node) bool {
	xq, xdt, sx, zx, wq, sw, zw, wax, ok := l.qdqOperands(n)
	if !ok || len(wq.Const.Dims) < 3 || len(wq.Const.Dims) > 4 {
		return false
	}
	dims := wq.Const.Dims
	M := int(dims[0])
	if len(sw) != 1 && (len(sw) != M || wax != 0) || len(zw) > 1 && len(zw) != M {
		return false
	}
	scale := make([]float32, M)
	for c := range scale {
		scale[c] = float32(sx[0]) * float32(paramAt(sw, c))
	}
	bias := make([]float32, M)
	var bf []float64
	var exact []int32
	if b := opt(n, 2); b != nil {
		if db, sb, zb, _, ok := l.dqOf(b); ok && db.Inputs[0].Const != nil && len(zb) == 0 || ok && allZero(zb) {
			q := constOf(db.Inputs[0])
			if q == nil || len(q) != M {
				return false
			}
			bf = make([]float64, M)
			for c := range bf {
				bf[c] = q[c] * paramAt(sb, c)
			}
			if db.Inputs[0].Const.DType == ir.Int32 {
				exact = dqExactBias(q, sb, zb, scale)
			}
		} else if bf = constOf(b); bf == nil || len(bf) != M {
			return false
		}
		for c := range bias {
			bias[c] = float32(bf[c] / float64(scale[c]))
		}
	}
	qi := &qinfo{w: wq.Const.Data, wSigned: wq.Const.DType == ir.Int8, wZero: zw, xSigned: xdt == ir.Int8, bias: accBias(bf, scale, exact)}
	if len(zx) == 1 {
		qi.xZero = zx[0]
	}
	// float weights (w - zw) for shape inference only
	wd := wq.Const.Float64s()
	wz := make([]float64, M)
	if len(zw) > 0 {
		zt := &ir.Tensor{DType: wq.Const.DType, Dims: []int64{int64(len(zw))}, Data: zw}
		for c, z := range zt.Float64s() {
			wz[c] = z
		}
		if len(zw) == 1 {
			for c := range wz {
				wz[c] = wz[0]
			}
		}
	}
	wf := make([]float32, len(wd))
	per := len(wd) / M
	for i, v := range wd {
		wf[i] = float32(v - wz[i/per])
	}
	cur := l.node("Cast", []*ir.Value{xq}, nil, ir.IntAttr("to", int64(ir.Float32)))
	acc := l.node("Conv", []*ir.Value{cur, l.cnst(n.Name+"_wq", ir.FromFloat32(slices.Clone(dims), wf)), l.cnst(n.Name+"_bq", ir.FromFloat32([]int64{int64(M)}, bias))}, nil, n.Attrs...)
	l.q[l.out[len(l.out)-1]] = qi
	sdims := make([]int64, len(dims)-1)
	for i := range sdims {
		sdims[i] = 1
	}
	sdims[0] = int64(M)
	l.node("Mul", []*ir.Value{acc, l.cnst(n.Name+"_scale", ir.FromFloat32(sdims, scale))}, n.Outputs[0])
	return true
}

func allZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

// qdqGemm runs a Gemm (transA 0, alpha and beta 1) or a MatMul of the QDQ
// form — DequantizeLinear(x_q) with one scale times DequantizeLinear of
// constant 8-bit 2-D weights, per tensor or per output column — on the
// integer GEMM, then scales per column and adds the bias (constant or
// DequantizeLinear of int32).
func (l *lowerer) qdqGemm(n *ir.Node) bool {
	transB := false
	if n.OpType == "Gemm" {
		if n.AttrInt("transA", 0) != 0 || n.AttrFloat("alpha", 1) != 1 || n.AttrFloat("beta", 1) != 1 {
			return false
		}
		transB = n.AttrInt("transB", 0) != 0
	}
	xq, xdt, sx, zx, wq, sw, zw, wax, ok := l.qdqOperands(n)
	if !ok || len(wq.Const.Dims) != 2 {
		return false
	}
	K, N := int(wq.Const.Dims[0]), int(wq.Const.Dims[1])
	outAxis := int64(1)
	if transB {
		K, N = N, K
		outAxis = 0
	}
	if len(sw) != 1 && (len(sw) != N || wax != outAxis && wax != outAxis-2) || len(zw) > 1 && len(zw) != N {
		return false
	}
	// bytes as K×N
	wb := make([]byte, K*N)
	for k := 0; k < K; k++ {
		for j := 0; j < N; j++ {
			if transB {
				wb[k*N+j] = wq.Const.Data[j*K+k]
			} else {
				wb[k*N+j] = wq.Const.Data[k*N+j]
			}
		}
	}
	zt := &ir.Tensor{DType: wq.Const.DType, Dims: []int64{int64(len(zw))}, Data: zw}
	zf := zt.Float64s()
	wf := make([]float32, K*N)
	for i, b := range wb {
		v := float64(b)
		if wq.Const.DType == ir.Int8 {
			v = float64(int8(b))
		}
		if len(zf) > 0 {
			v -= paramAt(zf, i%N)
		}
		wf[i] = float32(v)
	}
	scale := make([]float32, N)
	for j := range scale {
		scale[j] = float32(sx[0]) * float32(paramAt(sw, j))
	}
	var bias []float32
	var bf []float64
	var exact []int32
	if b := opt(n, 2); b != nil && n.OpType == "Gemm" {
		if db, sb, zb, _, ok := l.dqOf(b); ok && allZero(zb) {
			q := constOf(db.Inputs[0])
			if q == nil || len(q) != N {
				return false
			}
			bf = make([]float64, N)
			for j := range bf {
				bf[j] = q[j] * paramAt(sb, j)
			}
			if db.Inputs[0].Const.DType == ir.Int32 {
				exact = dqExactBias(q, sb, zb, scale)
			}
		} else if bf = constOf(b); bf == nil || len(bf) != N {
			return false
		}
		bias = make([]float32, N)
		for j := range bias {
			bias[j] = float32(bf[j])
		}
	}
	qi := &qinfo{w: wb, wSigned: wq.Const.DType == ir.Int8, wZero: zw, xSigned: xdt == ir.Int8, bias: accBias(bf, scale, exact), addBias: bias != nil}
	if len(zx) == 1 {
		qi.xZero = zx[0]
	}
	cur := l.node("Cast", []*ir.Value{xq}, nil, ir.IntAttr("to", int64(ir.Float32)))
	acc := l.node("MatMul", []*ir.Value{cur, l.cnst(n.Name+"_wq", ir.FromFloat32([]int64{int64(K), int64(N)}, wf))}, nil)
	l.q[l.out[len(l.out)-1]] = qi
	if bias == nil {
		l.node("Mul", []*ir.Value{acc, l.cnst(n.Name+"_scale", ir.FromFloat32([]int64{int64(N)}, scale))}, n.Outputs[0])
		return true
	}
	y := l.node("Mul", []*ir.Value{acc, l.cnst(n.Name+"_scale", ir.FromFloat32([]int64{int64(N)}, scale))}, nil)
	l.node("Add", []*ir.Value{y, l.cnst(n.Name+"_bias", ir.FromFloat32([]int64{int64(N)}, bias))}, n.Outputs[0])
	return true
}
