package gosrc

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/nncc/nncc/ir"
)

func (gn *gen) pr(format string, args ...any) { fmt.Fprintf(&gn.run, format, args...) }

func (gn *gen) emitGroup(g *group) error {
	if g.view {
		n := g.root
		if n.OpType == "Dropout" && len(n.Outputs) > 1 && n.Outputs[1] != nil && len(gn.a.vals[n.Outputs[1]].uses) > 0 {
			return unsupported(n, "Dropout's mask output")
		}
		if n.OpType == "Cast" {
			to := ir.DType(n.AttrInt("to", 0))
			from := gn.a.vals[n.Inputs[0]].dtype
			if !to.IsFloat() && from.IsFloat() {
				return unsupported(n, "Cast from %s to %s of computed data", from, to)
			}
		}
		if gn.plan.of[g.out()].input >= 0 && gn.a.vals[g.out()].output {
			return unsupported(n, "an output that is a view of an input")
		}
		return nil
	}
	var names []string
	for _, n := range gn.nodesOf(g) {
		names = append(names, n.OpType)
	}
	gn.pr("\n// %s: %s\n{\n", safeText(g.root.Name), strings.Join(names, " → "))
	defer gn.pr("}\n")
	if g.anchor != nil {
		return gn.emitAnchor(g)
	}
	if g.members != nil {
		if gn.isByte(g.out()) && gn.emitQAdd(g) {
			return nil
		}
		return gn.emitLoop(g, gn.buf(g.out()), nil, g.members)
	}
	if g.root.OpType == "ConvTranspose" {
		a := gn.a
		return gn.emitConvTranspose(g, g.root, a.vals[g.root.Inputs[0]], a.vals[g.out()], gn.buf(g.root.Inputs[0]), gn.buf(g.out()))
	}
	return gn.emitSingle(g.root)
}

// epilogue is what a convolution kernel applies in its store: a bias
// (the convolution's own plus per-channel constants added after it), a
// residual operand and a clamp.
type epilogue struct {
	bias     []float32
	res      *ir.Value
	act      string // "", "relu" or "clip"
	lo, hi   float32
	consumed map[*ir.Node]bool
	cur      *ir.Value // the value the kernel's output holds
}

func (gn *gen) convEpilogue(g *group) (*epilogue, error) {
	a := gn.a
	n := g.anchor
	M := int(a.vals[n.Inputs[1]].dims[0])
	ep := &epilogue{consumed: map[*ir.Node]bool{}, cur: n.Outputs[0]}
	if len(n.Inputs) > 2 && n.Inputs[2] != nil {
		b, err := gn.constF32(n, n.Inputs[2])
		if err != nil {
			return nil, err
		}
		ep.bias = slices.Clone(b)
	}
	if gn.q[n] != nil {
		return ep, nil // the integer path adds the bias itself and fuses nothing
	}
	rank := len(a.vals[n.Outputs[0]].dims)
	inGroup := map[*ir.Node]bool{}
	for _, m := range g.members {
		inGroup[m] = true
	}
	for {
		uses := a.vals[ep.cur].uses
		if len(uses) != 1 || !inGroup[uses[0]] {
			break
		}
		u := uses[0]
		switch u.OpType {
		case "Add":
			other := u.Inputs[0]
			if other == ep.cur {
				other = u.Inputs[1]
			}
			if other == ep.cur {
				return ep, nil
			}
			oi := a.vals[other]
			if oi.isStatic() && !oi.shapeOnly {
				pc, ok := perChannel(oi, rank, M)
				if !ok {
					return ep, nil
				}
				if ep.bias == nil {
					ep.bias = make([]float32, M)
				}
				for i := range ep.bias {
					ep.bias[i] += pc[i]
				}
			} else if !oi.isStatic() && ep.res == nil && slices.Equal(oi.dims, a.vals[u.Outputs[0]].dims) && oi.scaled == a.vals[u.Outputs[0]].scaled {
				ep.res = other
			} else {
				return ep, nil
			}
		case "Relu":
			ep.act = "relu"
		case "Clip":
			lo, hi, err := gn.clipBounds(u)
			if err != nil {
				return nil, err
			}
			ep.act, ep.lo, ep.hi = "clip", lo, hi
		default:
			return ep, nil
		}
		ep.consumed[u] = true
		ep.cur = u.Outputs[0]
		if ep.act != "" {
			return ep, nil
		}
	}
	return ep, nil
}

// residualOf returns the residual operand a convolution group adds in
// its store, if any.
func (gn *gen) residualOf(g *group) *ir.Value {
	if g.anchor.OpType != "Conv" {
		return nil
	}
	ep, err := gn.convEpilogue(g)
	if err != nil || ep == nil {
		return nil
	}
	return ep.res
}

// perChannel returns a constant broadcast along axis 1 of a rank-r
// result with M channels as M values.
func perChannel(in *info, rank, M int) ([]float32, bool) {
	d := in.dims
	if len(d) > rank {
		return nil, false
	}
	full := make([]int64, rank)
	for i := range full {
		full[i] = 1
	}
	copy(full[rank-len(d):], d)
	for i, x := range full {
		if x != 1 && i != 1 {
			return nil, false
		}
	}
	vals := in.static.Float32s()
	if in.static.DType != ir.Float32 {
		return nil, false
	}
	out := make([]float32, M)
	for i := range out {
		if len(vals) == 1 {
			out[i] = vals[0]
		} else if len(vals) == M {
			out[i] = vals[i]
		} else {
			return nil, false
		}
	}
	return out, true
}

func (gn *gen) clipBounds(n *ir.Node) (float32, float32, error) {
	lo, hi := float32(math.Inf(-1)), float32(math.Inf(1))
	if gn.a.opset < 11 {
		return n.AttrFloat("min", lo), n.AttrFloat("max", hi), nil
	}
	for i, p := range []*float32{&lo, &hi} {
		if len(n.Inputs) > i+1 && n.Inputs[i+1] != nil {
			v, err := gn.constF32(n, n.Inputs[i+1])
			if err != nil {
				return 0, 0, err
			}
			if len(v) != 1 {
				return 0, 0, unsupported(n, "Clip bounds must be scalars")
			}
			*p = v[0]
		}
	}
	return lo, hi, nil
}

// scratchSize is the float32 scratch a group needs in the arena (not
// scaled with the batch); no group needs any at present.
func (gn *gen) scratchSize(g *group) int64 { return 0 }

func (gn *gen) emitAnchor(g *group) error {
	a := gn.a
	n := g.anchor
	out := gn.buf(g.out())
	if r := gn.qRequant(g); r != nil {
		if n.OpType == "Conv" {
			return gn.emitQConvRequant(n, r, out)
		}
		return gn.emitQMatMulRequant(n, r, out)
	}
	final := out
	if t := gn.plan.anchorTmp[g]; t != nil {
		// the result is 8-bit: the kernel writes float32 here, the loop
		// quantizes it into out
		ai := a.vals[n.Outputs[0]]
		out = gn.storageExpr(t, ai.size(), ai.scaled)
	}
	var rest []*ir.Node
	var cur *ir.Value
	switch n.OpType {
	case "Conv":
		ep, err := gn.convEpilogue(g)
		if err != nil {
			return err
		}
		emit := gn.emitConv
		if gn.q[n] != nil {
			emit = gn.emitQConv
		}
		if err := emit(n, ep, out); err != nil {
			return err
		}
		cur = ep.cur
		for _, m := range g.members {
			if !ep.consumed[m] {
				rest = append(rest, m)
			}
		}
	case "Gemm", "MatMul":
		cur = n.Outputs[0]
		rest = g.members
		if qi := gn.q[n]; qi != nil {
			if err := gn.emitQMatMul(n, qi, out); err != nil {
				return err
			}
			break
		}
		// a constant row vector added to the product joins its C operand
		var rowBias []float32
		if uses := a.vals[cur].uses; len(uses) == 1 && len(rest) > 0 && uses[0] == rest[0] && rest[0].OpType == "Add" {
			u := rest[0]
			other := u.Inputs[0]
			if other == cur {
				other = u.Inputs[1]
			}
			oi := a.vals[other]
			N := a.vals[cur].dims[len(a.vals[cur].dims)-1]
			if other != cur && oi.isStatic() && !oi.shapeOnly && oi.size() == N && (len(oi.dims) <= 1 || slices.Index(oi.dims, N) == len(oi.dims)-1) {
				if b, err := gn.constF32(u, other); err == nil {
					rowBias = b
					cur = u.Outputs[0]
					rest = rest[1:]
				}
			}
		}
		if err := gn.emitGemm(n, out, rowBias); err != nil {
			return err
		}
	}
	if len(rest) == 0 {
		if final != out {
			return unsupported(n, "8-bit result of a float kernel")
		}
		return nil
	}
	gn.curBuf = out
	defer func() { gn.curBuf = "" }()
	return gn.emitLoop(g, final, cur, rest)
}

func (gn *gen) emitConv(n *ir.Node, ep *epilogue, out string) error {
	if gn.isByte(n.Inputs[0]) || len(n.Inputs) > 1 && n.Inputs[1] != nil && gn.isByte(n.Inputs[1]) {
		return unsupported(n, "8-bit operand of a float32 kernel")
	}
	p, err := gn.convParams(n)
	if err != nil {
		return err
	}
	wdata, err := gn.constF32(n, n.Inputs[1])
	if err != nil {
		return err
	}
	woff := gn.weights(wdata)
	f := gn.field("conv", "*kernels.PackedConv2D")
	fmt.Fprintf(&gn.prep, "m.%s = kernels.PackConv2D(&kernels.Conv2DParams{%s}, %s)\n", f, p, wslice(woff, len(wdata)))
	bias := "nil"
	if ep.bias != nil {
		bias = wslice(gn.weights(ep.bias), len(ep.bias))
	}
	res := "nil"
	if ep.res != nil {
		res = gn.buf(ep.res)
	}
	fused := "kernels.Fused{}"
	switch ep.act {
	case "relu":
		fused = "kernels.Fused{Act: kernels.ActRelu}"
	case "clip":
		fused = fmt.Sprintf("kernels.Fused{Act: kernels.ActClip, Lo: %s, Hi: %s}", flit(ep.lo), flit(ep.hi))
	}
	gn.pr("m.%s.RunAdd(%s, %s, %s, %s, %s)\n", f, gn.buf(n.Inputs[0]), bias, res, out, fused)
	return nil
}

// windowGeom resolves the strides, dilations and pads (all begins, then
// all ends) of a convolution or pooling node n whose spatial input dims
// are in, output dims o and window k, applying auto_pad. The slices are
// new: n's attributes are not modified.
func windowGeom(n *ir.Node, in, o, k []int64) (strides, dil, pads []int64) {
	sp := len(in)
	ints := func(name string, def int64) []int64 {
		if v := n.AttrInts(name); len(v) > 0 {
			return slices.Clone(v)
		}
		v := make([]int64, sp)
		for i := range v {
			v[i] = def
		}
		return v
	}
	strides, dil = ints("strides", 1), ints("dilations", 1)
	pads = slices.Clone(n.AttrInts("pads"))
	if len(pads) == 0 {
		pads = make([]int64, 2*sp)
	}
	switch ap := n.AttrString("auto_pad", "NOTSET"); ap {
	case "SAME_UPPER", "SAME_LOWER":
		for i := 0; i < sp; i++ {
			total := max(0, (o[i]-1)*strides[i]+(k[i]-1)*dil[i]+1-in[i])
			lo := total / 2
			if ap == "SAME_LOWER" {
				lo = total - total/2
			}
			pads[i], pads[i+sp] = lo, total-lo
		}
	case "VALID":
		pads = make([]int64, 2*sp)
	}
	return strides, dil, pads
}

// convParams is the kernels.Conv2DParams literal (fields only) of a Conv.
func (gn *gen) convParams(n *ir.Node) (string, error) {
	a := gn.a
	x, wv := a.vals[n.Inputs[0]], a.vals[n.Inputs[1]]
	y := a.vals[n.Outputs[0]]
	if len(x.dims) != 4 && len(x.dims) != 3 {
		return "", unsupported(n, "only 1-D and 2-D convolutions")
	}
	sp := len(x.dims) - 2
	k := wv.dims[2:]
	in, o := x.dims[2:], y.dims[2:]
	strides, dil, pads := windowGeom(n, in, o, k)
	p := fmt.Sprintf("N: %s, C: %d, M: %d, Group: %d", gn.sz(x.dims[0], x.scaled), x.dims[1], wv.dims[0], n.AttrInt("group", 1))
	if sp == 2 {
		p += fmt.Sprintf(", H: %d, W: %d, KH: %d, KW: %d, StrideH: %d, StrideW: %d, DilH: %d, DilW: %d, PadT: %d, PadL: %d, PadB: %d, PadR: %d, OH: %d, OW: %d",
			in[0], in[1], k[0], k[1], strides[0], strides[1], dil[0], dil[1], pads[0], pads[1], pads[2], pads[3], o[0], o[1])
	} else {
		p += fmt.Sprintf(", H: 1, W: %d, KH: 1, KW: %d, StrideH: 1, StrideW: %d, DilH: 1, DilW: %d, PadL: %d, PadR: %d, OH: 1, OW: %d",
			in[0], k[0], strides[0], dil[0], pads[0], pads[1], o[0])
	}
	return p, nil
}

// qbytes declares the 8-bit weights of a lowered integer node, a slice
// of the byte section of the weights, and returns the field name.
func (gn *gen) qbytes(qi *qinfo) string {
	off := gn.byteWeights(qi.w)
	f := gn.field("qw", "[]byte")
	fmt.Fprintf(&gn.once, "m.%s = m.wb[%d:%d]\n", f, off, off+len(qi.w))
	return f
}

// byteLit is a []byte literal of zero points (nil when there are none).
func byteLit(b []byte) string {
	if len(b) == 0 {
		return "nil"
	}
	s := make([]string, len(b))
	for i, x := range b {
		s[i] = fmt.Sprint(x)
	}
	return "[]byte{" + strings.Join(s, ", ") + "}"
}

// toBytes emits the conversion of integer values held as float32 to the
// 8-bit bytes the integer kernels read.
func (gn *gen) toBytes(src, dst string) {
	gn.pr("for i, v := range %s {\n%s[i] = byte(int32(v))\n}\n", src, dst)
}

// emitQConv runs a lowered ConvInteger/QLinearConv on kernels' exact
// 8-bit convolution and writes float32(acc) + bias.
func (gn *gen) emitQConv(n *ir.Node, ep *epilogue, out string) error {
	qi := gn.q[n]
	p, err := gn.convParams(n)
	if err != nil {
		return err
	}
	y := gn.a.vals[n.Outputs[0]]
	w := gn.qbytes(qi)
	zf := gn.field("qwz", "[]byte")
	fmt.Fprintf(&gn.once, "m.%s = %s\n", zf, byteLit(qi.wZero))
	f := gn.field("qconv", "*kernels.QPackedConv2D")
	acc := gn.field("qacc", "[]int32")
	fmt.Fprintf(&gn.prep, "m.%s = kernels.QPackConv2D(&kernels.Conv2DParams{%s}, m.%s, %v, m.%s)\n", f, p, w, qi.wSigned, zf)
	fmt.Fprintf(&gn.prep, "m.%s = make([]int32, %s)\n", acc, gn.sz(y.size(), y.scaled))
	gn.pr("m.%s.Run(%s, %v, %d, m.%s)\n", f, gn.xBytes(n.Inputs[0]), qi.xSigned, qi.xZero, acc)
	M := y.dims[1]
	plane := y.size() / (y.dims[0] * M)
	bias := "nil"
	if ep.bias != nil {
		bias = wslice(gn.weights(ep.bias), len(ep.bias))
	}
	gn.pr("{\ny, acc, bias := %s, m.%s, []float32(%s)\nfor p := 0; p < %s; p++ {\nb := float32(0)\nif bias != nil {\nb = bias[p%%%d]\n}\nfor i, v := range acc[p*%d : (p+1)*%d] {\ny[p*%d+i] = float32(v) + b\n}\n}\n}\n",
		out, acc, bias, gn.sz(y.dims[0]*M, y.scaled), M, plane, plane, plane)
	return nil
}

// emitQMatMul runs a lowered MatMulInteger/QLinearMatMul on kernels'
// exact 8-bit GEMM.
func (gn *gen) emitQMatMul(n *ir.Node, qi *qinfo, out string) error {
	A, rows, K, N, f, acc, az := gn.qgemmFields(n, qi)
	xb := gn.xBytes(n.Inputs[0])
	if qi.xZeroV != nil {
		if gn.isByte(qi.xZeroV) {
			gn.pr("m.%s[0] = %s[0]\n", az, gn.buf(qi.xZeroV))
		} else {
			gn.pr("m.%s[0] = byte(int32(%s[0]))\n", az, gn.buf(qi.xZeroV))
		}
	}
	gn.pr("kernels.QGemmPackedB(%s, %s, %d, %v, m.%s, m.%s, m.%s, %d)\n", gn.sz(rows, A.scaled), xb, K, qi.xSigned, az, f, acc, N)
	gn.pr("for i, v := range m.%s {\n%s[i] = float32(v)\n}\n", acc, out)
	return nil
}

// qgemmFields declares what an integer GEMM with constant 8-bit weights
// needs: the weights packed once (field f), the int32 sums (acc, sized
// for the rows when the batch is prepared) and the activations' zero
// point (az). A is the left operand, rows × K by K × N.
func (gn *gen) qgemmFields(n *ir.Node, qi *qinfo) (A *info, rows, K, N int64, f, acc, az string) {
	A, B := gn.a.vals[n.Inputs[0]], gn.a.vals[n.Inputs[1]]
	K, N = B.dims[0], B.dims[1]
	rows = A.size() / K
	w := gn.qbytes(qi)
	f = gn.field("qgemm", "*kernels.QPackedB")
	fmt.Fprintf(&gn.once, "m.%s = kernels.QPackB(%d, %d, m.%s, %d, %v, %s)\n", f, K, N, w, N, qi.wSigned, byteLit(qi.wZero))
	acc, az = gn.field("qacc", "[]int32"), gn.field("qaz", "[]byte")
	fmt.Fprintf(&gn.once, "m.%s = []byte{%d}\n", az, qi.xZero)
	fmt.Fprintf(&gn.prep, "m.%s = make([]int32, %s)\n", acc, gn.sz(rows*N, A.scaled))
	return A, rows, K, N, f, acc, az
}

// emitGemm emits Gemm or MatMul with a constant right operand.
func (gn *gen) emitGemm(n *ir.Node, out string, rowBias []float32) error {
	if gn.isByte(n.Inputs[0]) || len(n.Inputs) > 1 && n.Inputs[1] != nil && gn.isByte(n.Inputs[1]) {
		return unsupported(n, "8-bit operand of a float32 kernel")
	}
	a := gn.a
	A, B := a.vals[n.Inputs[0]], a.vals[n.Inputs[1]]
	Y := a.vals[n.Outputs[0]]
	bdata, err := gn.constF32(n, n.Inputs[1])
	if err != nil {
		return err
	}
	transA, transB := false, false
	alpha, beta := float32(1), float32(1)
	var M, K, N int64
	rowsScaled := A.scaled
	if n.OpType == "Gemm" {
		transA, transB = n.AttrInt("transA", 0) != 0, n.AttrInt("transB", 0) != 0
		alpha, beta = n.AttrFloat("alpha", 1), n.AttrFloat("beta", 1)
		if len(A.dims) != 2 || len(B.dims) != 2 {
			return unsupported(n, "Gemm operands must be matrices")
		}
		if transA && A.scaled {
			return unsupported(n, "transA with a symbolic batch")
		}
		M, K = A.dims[0], A.dims[1]
		if transA {
			M, K = K, M
		}
		N = B.dims[1]
		if transB {
			N = B.dims[0]
		}
	} else {
		if len(A.dims) < 1 {
			return unsupported(n, "scalar MatMul operand")
		}
		K, N = B.dims[0], B.dims[1]
		M = A.size() / K
	}
	ldb := N
	if transB {
		ldb = K
	}
	woff := gn.weights(bdata)
	f := gn.field("gemm", "*kernels.PackedB")
	fmt.Fprintf(&gn.once, "m.%s = kernels.PackB(%v, %d, %d, %s, %d)\n", f, transB, K, N, wslice(woff, len(bdata)), ldb)
	lda := K
	if transA {
		lda = M
	}
	rows := gn.sz(M, rowsScaled)
	gemmBeta := "0"
	hasC := n.OpType == "Gemm" && len(n.Inputs) > 2 && n.Inputs[2] != nil && beta != 0
	if hasC || rowBias != nil {
		var cdata []float32
		var C *info
		if hasC {
			C = a.vals[n.Inputs[2]]
			c, err := gn.constF32(n, n.Inputs[2])
			if err != nil {
				return unsupported(n, "Gemm's C must be constant")
			}
			cdata = slices.Clone(c)
			for i := range cdata {
				cdata[i] *= beta
			}
		}
		if rowBias != nil {
			switch {
			case cdata == nil:
				cdata = slices.Clone(rowBias)
				C = &info{dims: []int64{N}}
			case len(cdata) == 1:
				c := cdata[0]
				cdata = slices.Clone(rowBias)
				for i := range cdata {
					cdata[i] += c
				}
				C = &info{dims: []int64{N}}
			case int64(len(cdata)) == N:
				for i := range cdata {
					cdata[i] += rowBias[i]
				}
			default:
				for i := range cdata {
					cdata[i] += rowBias[int64(i)%N]
				}
			}
		}
		switch {
		case int64(len(cdata)) == N && (len(C.dims) == 1 || C.dims[0] == 1):
			gn.pr("{\ny, c := %s, %s\nfor r := 0; r < %s; r++ {\ncopy(y[r*%d:(r+1)*%d], c)\n}\n}\n", out, wslice(gn.weights(cdata), len(cdata)), rows, N, N)
		case len(cdata) == 1:
			gn.pr("{\ny := %s\nfor i := range y {\ny[i] = %s\n}\n}\n", out, flit(cdata[0]))
		case int64(len(cdata)) == M*N && !Y.scaled:
			gn.pr("copy(%s, %s)\n", out, wslice(gn.weights(cdata), len(cdata)))
		default:
			return unsupported(n, "Gemm's C of shape %v", C.dims)
		}
		gemmBeta = "1"
	}
	gn.pr("kernels.SgemmPackedB(%v, %s, %s, %s, %d, m.%s, %s, %s, %d)\n", transA, rows, flit(alpha), gn.buf(n.Inputs[0]), lda, f, gemmBeta, out, N)
	return nil
}
