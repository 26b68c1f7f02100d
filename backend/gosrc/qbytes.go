package gosrc

import (
	"fmt"
	"math"
	"slices"

	"github.com/nncc/nncc/ir"
)

// 8-bit values. A computed value of type uint8 or int8 (a QuantizeLinear
// result, or a view of one) lives in the byte arena, as the bytes the
// integer kernels read and write. Element-wise loops convert such an
// operand as they load it (DequantizeLinear over a block is one
// kernels.Dequantize8) and store a QuantizeLinear result as bytes
// (kernels.Quantize8 over a block). A lowered integer convolution or
// GEMM followed by its requantization — the scale Mul, the bias Add of a
// Gemm, a Relu or Clip, and QuantizeLinear per tensor — is one kernels
// call that reads and writes bytes (QPackedConv2D.RunRequant, or
// QGemmPackedB and RequantizeCols), as nncc's runtime fuses it.

// isByte reports whether v's data is held in the byte arena.
func (gn *gen) isByte(v *ir.Value) bool {
	b := gn.a.vals[gn.base(v)]
	return b != nil && b.static == nil && b.input < 0 && (b.dtype == ir.Uint8 || b.dtype == ir.Int8)
}

// byteSigned reports whether the bytes of v are int8 values.
func (gn *gen) byteSigned(v *ir.Value) bool { return gn.a.vals[gn.base(v)].dtype == ir.Int8 }

// qreq is a lowered integer convolution or GEMM with its requantization.
type qreq struct {
	scale          []float32 // per output channel: the Mul's scale / the output scale
	zero, lo, hi   int32
	bias           []int32
	consumedBefore int
}

// qRequant matches the members of an integer anchor's group against
// Mul(scale) [→ Add(bias), Gemm] [→ Relu | Clip] → QuantizeLinear (per
// tensor, 8-bit) and returns the fused output stage, or nil.
func (gn *gen) qRequant(g *group) *qreq {
	a := gn.a
	n := g.anchor
	qi := gn.q[n]
	if n == nil || qi == nil || qi.bias == nil || qi.xZeroV != nil || !gn.isByte(g.out()) {
		return nil
	}
	ms := g.members
	cur := n.Outputs[0]
	rank := len(a.vals[cur].dims)
	M := len(qi.bias)
	next := func(op string) *ir.Node {
		if len(ms) == 0 || ms[0].OpType != op || len(a.vals[cur].uses) != 1 || a.vals[cur].uses[0] != ms[0] || ms[0].Inputs[0] != cur {
			return nil
		}
		m := ms[0]
		ms = ms[1:]
		cur = m.Outputs[0]
		return m
	}
	mul := next("Mul")
	if mul == nil || len(mul.Inputs) != 2 {
		return nil
	}
	sc := a.vals[mul.Inputs[1]]
	if !sc.isStatic() || sc.shapeOnly || sc.static.DType != ir.Float32 {
		return nil
	}
	var scale []float32
	if n.OpType == "Conv" {
		pc, ok := perChannel(sc, rank, M)
		if !ok {
			return nil
		}
		scale = pc
	} else {
		s := sc.static.Float32s()
		if len(sc.dims) > 1 || len(s) != 1 && len(s) != M {
			return nil
		}
		scale = make([]float32, M)
		for j := range scale {
			scale[j] = s[min(j, len(s)-1)]
		}
	}
	if qi.addBias && next("Add") == nil {
		return nil
	}
	actLo, actHi := float32(math.Inf(-1)), float32(math.Inf(1))
	if len(ms) > 0 && ms[0].OpType == "Relu" {
		next("Relu")
		actLo = 0
	} else if len(ms) > 0 && ms[0].OpType == "Clip" {
		lo, hi, err := gn.clipBounds(ms[0])
		if err != nil {
			return nil
		}
		next("Clip")
		actLo, actHi = lo, hi
	}
	q := next("QuantizeLinear")
	if q == nil || len(ms) != 0 || q.Outputs[0] != g.out() {
		return nil
	}
	sy, zp, lo, hi, ok := gn.qOut(q, actLo, actHi)
	if !ok {
		return nil
	}
	r := &qreq{scale: make([]float32, M), zero: zp, lo: lo, hi: hi, bias: qi.bias}
	for c := range r.scale {
		r.scale[c] = scale[c] / sy
	}
	return r
}

// qOut returns the constant per-tensor parameters of QuantizeLinear q
// and its output range narrowed to the quantized [actLo, actHi] (a Relu
// or Clip before it), as nncc's runtime computes them.
func (gn *gen) qOut(q *ir.Node, actLo, actHi float32) (sy float32, zp, lo, hi int32, ok bool) {
	a := gn.a
	if len(q.Inputs) < 2 {
		return
	}
	ys := a.vals[q.Inputs[1]]
	if !ys.isStatic() || ys.size() != 1 || ys.static.DType != ir.Float32 {
		return
	}
	sy = ys.static.Float32s()[0]
	if !(sy > 0) || math.IsInf(float64(sy), 0) {
		return
	}
	lo, hi = 0, 255
	if len(q.Inputs) > 2 && q.Inputs[2] != nil {
		z := a.vals[q.Inputs[2]]
		if !z.isStatic() || z.size() != 1 || z.static.DType != ir.Uint8 && z.static.DType != ir.Int8 {
			return
		}
		zp = int32(z.static.Float64s()[0])
		if z.static.DType == ir.Int8 {
			lo, hi = -128, 127
		}
	}
	quant := func(v float32) int32 {
		r := math.RoundToEven(float64(v/sy)) + float64(zp)
		return int32(min(max(r, float64(lo)), float64(hi)))
	}
	if !math.IsInf(float64(actLo), -1) {
		lo = max(lo, quant(actLo))
	}
	if !math.IsInf(float64(actHi), 1) {
		hi = min(hi, quant(actHi))
	}
	if lo > hi {
		return
	}
	return sy, zp, lo, hi, true
}

// actBounds returns the clamp of a Relu or Clip node n.
func (gn *gen) actBounds(n *ir.Node) (lo, hi float32, ok bool) {
	switch n.OpType {
	case "Relu":
		return 0, float32(math.Inf(1)), true
	case "Clip":
		l, h, err := gn.clipBounds(n)
		return l, h, err == nil
	}
	return 0, 0, false
}

// dqScalar returns the 8-bit operand of DequantizeLinear d and its
// constant per-tensor scale and zero point.
func (gn *gen) dqScalar(d *ir.Node) (x *ir.Value, s float32, z int32, ok bool) {
	a := gn.a
	if d.OpType != "DequantizeLinear" || len(d.Inputs) < 2 || !gn.isByte(d.Inputs[0]) {
		return
	}
	sv := a.vals[d.Inputs[1]]
	if !sv.isStatic() || sv.size() != 1 || sv.static.DType != ir.Float32 {
		return
	}
	s = sv.static.Float32s()[0]
	if len(d.Inputs) > 2 && d.Inputs[2] != nil {
		zv := a.vals[d.Inputs[2]]
		if !zv.isStatic() || zv.size() != 1 {
			return
		}
		z = int32(zv.static.Float64s()[0])
	}
	return d.Inputs[0], s, z, s > 0 && !math.IsInf(float64(s), 0)
}

// emitQAdd emits DequantizeLinear(a) + DequantizeLinear(b) [→ Relu |
// Clip] → QuantizeLinear of same-shape 8-bit operands as one kernels.QAdd
// (the runtime's fused residual), and reports whether it matched.
func (gn *gen) emitQAdd(g *group) bool {
	a := gn.a
	ms := g.members
	if len(ms) < 4 || len(ms) > 5 || ms[len(ms)-1].OpType != "QuantizeLinear" {
		return false
	}
	var add *ir.Node
	dqs := map[*ir.Value]*ir.Node{}
	actLo, actHi := float32(math.Inf(-1)), float32(math.Inf(1))
	for _, m := range ms[:len(ms)-1] {
		switch m.OpType {
		case "DequantizeLinear":
			dqs[m.Outputs[0]] = m
		case "Add":
			add = m
		default:
			if len(ms) != 5 {
				return false
			}
			lo, hi, ok := gn.actBounds(m)
			if !ok || m.Inputs[0] != add.Outputs[0] || ms[len(ms)-1].Inputs[0] != m.Outputs[0] {
				return false
			}
			actLo, actHi = lo, hi
		}
	}
	if add == nil || len(dqs) != 2 || len(add.Inputs) != 2 || dqs[add.Inputs[0]] == nil || dqs[add.Inputs[1]] == nil {
		return false
	}
	if len(ms) == 4 && ms[3].Inputs[0] != add.Outputs[0] {
		return false
	}
	out := a.vals[g.out()]
	xa, sa, za, ok1 := gn.dqScalar(dqs[add.Inputs[0]])
	xb, sb, zb, ok2 := gn.dqScalar(dqs[add.Inputs[1]])
	if !ok1 || !ok2 || !slices.Equal(a.vals[xa].dims, out.dims) || !slices.Equal(a.vals[xb].dims, out.dims) || a.vals[xa].scaled != out.scaled || a.vals[xb].scaled != out.scaled {
		return false
	}
	sy, zy, lo, hi, ok := gn.qOut(ms[len(ms)-1], actLo, actHi)
	if !ok {
		return false
	}
	fa, fb := sa/sy, sb/sy
	c := float32(zy) - fa*float32(za) - fb*float32(zb)
	gn.pr("kernels.QAdd(%s, %s, %v, %s, %v, %s, %s, %s, %d, %d)\n", gn.buf(g.out()), gn.buf(xa), gn.byteSigned(xa), gn.buf(xb), gn.byteSigned(xb), flit(fa), flit(fb), flit(c), lo, hi)
	return true
}

// xBytes returns the expression of an integer kernel's 8-bit input:
// the byte arena's slice, or (for integers held as float32, from a graph
// input) a conversion into a byte buffer of the Model.
func (gn *gen) xBytes(v *ir.Value) string {
	if gn.isByte(v) {
		return gn.buf(v)
	}
	x := gn.a.vals[v]
	xb := gn.field("qx", "[]byte")
	fmt.Fprintf(&gn.prep, "m.%s = make([]byte, %s)\n", xb, gn.sz(x.size(), x.scaled))
	gn.toBytes(gn.buf(v), "m."+xb)
	return "m." + xb
}

// emitQConvRequant runs a lowered integer convolution with its output
// stage r on QPackedConv2D.RunRequant, bytes in and out.
func (gn *gen) emitQConvRequant(n *ir.Node, r *qreq, out string) error {
	qi := gn.q[n]
	p, err := gn.convParams(n)
	if err != nil {
		return err
	}
	w := gn.qbytes(qi)
	zf := gn.field("qwz", "[]byte")
	fmt.Fprintf(&gn.once, "m.%s = %s\n", zf, byteLit(qi.wZero))
	f := gn.field("qconv", "*kernels.QPackedConv2D")
	fmt.Fprintf(&gn.prep, "m.%s = kernels.QPackConv2D(&kernels.Conv2DParams{%s}, m.%s, %v, m.%s)\n", f, p, w, qi.wSigned, zf)
	rq := gn.requantField(r)
	gn.pr("m.%s.RunRequant(%s, %v, %d, m.%s, %s)\n", f, gn.xBytes(n.Inputs[0]), qi.xSigned, qi.xZero, rq, out)
	return nil
}

// requantField declares the kernels.Requant of r, built in New.
func (gn *gen) requantField(r *qreq) string {
	bias := gn.int32Field("qbias", r.bias)
	f := gn.field("rq", "*kernels.Requant")
	fmt.Fprintf(&gn.once, "m.%s = &kernels.Requant{Bias: m.%s, Scale: %s, Zero: %d, Lo: %d, Hi: %d}\n",
		f, bias, wslice(gn.weights(r.scale), len(r.scale)), r.zero, r.lo, r.hi)
	return f
}

// emitQMatMulRequant runs a lowered integer GEMM with its output stage
// r: QGemmPackedB into int32 sums, then RequantizeCols into bytes.
func (gn *gen) emitQMatMulRequant(n *ir.Node, r *qreq, out string) error {
	qi := gn.q[n]
	A, rows, K, N, f, acc, az := gn.qgemmFields(n, qi)
	bias := gn.int32Field("qbias", r.bias)
	gn.pr("kernels.QGemmPackedB(%s, %s, %d, %v, m.%s, m.%s, m.%s, %d)\n", gn.sz(rows, A.scaled), gn.xBytes(n.Inputs[0]), K, qi.xSigned, az, f, acc, N)
	gn.pr("kernels.RequantizeCols(%s, m.%s, %d, m.%s, %s, %d, %d, %d)\n", out, acc, N, bias, wslice(gn.weights(r.scale), len(r.scale)), r.zero, r.lo, r.hi)
	return nil
}

// poolBytes rewrites DequantizeLinear → MaxPool → QuantizeLinear with
// the same per-tensor parameters on both sides into a MaxPool of the
// 8-bit values (dequantization is monotonic, so the maximum commutes
// with it), as nncc's runtime runs such layout steps.
func (a *analysis) poolBytes() {
	for i, n := range a.nodes {
		if n.OpType != "MaxPool" || len(n.Outputs) != 1 || len(n.Inputs) != 1 {
			continue
		}
		d := a.vals[n.Inputs[0]].prod
		if d == nil || d.OpType != "DequantizeLinear" || len(a.vals[d.Outputs[0]].uses) != 1 || a.vals[d.Outputs[0]].output {
			continue
		}
		uses := a.vals[n.Outputs[0]].uses
		if len(uses) != 1 || uses[0].OpType != "QuantizeLinear" || a.vals[n.Outputs[0]].output {
			continue
		}
		q := uses[0]
		xq, yq := d.Inputs[0], q.Outputs[0]
		if xi := a.vals[xq]; xi.static != nil || xi.input >= 0 || xi.dtype != a.vals[yq].dtype || xi.dtype != ir.Uint8 && xi.dtype != ir.Int8 {
			continue
		}
		if !a.sameQParams(d, q) {
			continue
		}
		pool := &ir.Node{Name: n.Name, OpType: "MaxPool", Inputs: []*ir.Value{xq}, Outputs: []*ir.Value{yq}, Attrs: n.Attrs}
		a.nodes[i] = pool
		a.nodes = slices.DeleteFunc(a.nodes, func(x *ir.Node) bool { return x == d || x == q })
		xu := a.vals[xq].uses
		for k, u := range xu {
			if u == d {
				xu[k] = pool
			}
		}
		a.vals[yq].prod = pool
		a.poolBytes() // a.nodes changed under the loop
		return
	}
}

// sameQParams reports whether DequantizeLinear d and QuantizeLinear q
// have the same constant per-tensor scale and zero point.
func (a *analysis) sameQParams(d, q *ir.Node) bool {
	get := func(n *ir.Node, i int) *ir.Tensor {
		if i >= len(n.Inputs) || n.Inputs[i] == nil {
			return nil
		}
		return a.vals[n.Inputs[i]].static
	}
	ds, qs := get(d, 1), get(q, 1)
	if ds == nil || qs == nil || ds.NumElements() != 1 || qs.NumElements() != 1 || ds.DType != ir.Float32 || qs.DType != ir.Float32 {
		return false
	}
	if math.Float32bits(ds.Float32s()[0]) != math.Float32bits(qs.Float32s()[0]) {
		return false
	}
	dz, qz := get(d, 2), get(q, 2)
	zero := func(t *ir.Tensor) (float64, ir.DType, bool) {
		if t == nil {
			return 0, ir.Uint8, true
		}
		if t.NumElements() != 1 {
			return 0, 0, false
		}
		return t.Float64s()[0], t.DType, true
	}
	z1, t1, ok1 := zero(dz)
	z2, t2, ok2 := zero(qz)
	return ok1 && ok2 && z1 == z2 && t1 == t2
}

// gapBytes rewrites DequantizeLinear → GlobalAveragePool →
// QuantizeLinear (per-tensor constant parameters) into one
// QGlobalAveragePool step on the 8-bit values: integer sums per plane,
// requantized with kernels.RequantizeClamp, as nncc's runtime fuses it.
func (a *analysis) gapBytes() {
	for i, n := range a.nodes {
		if n.OpType != "GlobalAveragePool" || len(n.Outputs) != 1 || len(n.Inputs) != 1 {
			continue
		}
		d := a.vals[n.Inputs[0]].prod
		if d == nil || d.OpType != "DequantizeLinear" {
			continue
		}
		// the DequantizeLinear stays for its other readers
		dOther := len(a.vals[d.Outputs[0]].uses) > 1 || a.vals[d.Outputs[0]].output
		uses := a.vals[n.Outputs[0]].uses
		if len(uses) != 1 || uses[0].OpType != "QuantizeLinear" || a.vals[n.Outputs[0]].output {
			continue
		}
		q := uses[0]
		xq, yq := d.Inputs[0], q.Outputs[0]
		xi := a.vals[xq]
		if xi.static != nil || xi.input >= 0 || xi.dtype != ir.Uint8 && xi.dtype != ir.Int8 || len(xi.dims) < 3 {
			continue
		}
		if a.vals[yq].dtype != ir.Uint8 && a.vals[yq].dtype != ir.Int8 {
			continue
		}
		g := &ir.Node{Name: n.Name, OpType: "QGlobalAveragePool", Inputs: []*ir.Value{xq}, Outputs: []*ir.Value{yq}}
		if a.qgap == nil {
			a.qgap = map[*ir.Node][2]*ir.Node{}
		}
		a.qgap[g] = [2]*ir.Node{d, q}
		a.nodes[i] = g
		a.nodes = slices.DeleteFunc(a.nodes, func(x *ir.Node) bool { return x == d && !dOther || x == q })
		du := a.vals[d.Outputs[0]]
		du.uses = slices.DeleteFunc(du.uses, func(x *ir.Node) bool { return x == n })
		xu := a.vals[xq].uses
		if dOther {
			a.vals[xq].uses = append(xu, g)
		} else {
			for k, u := range xu {
				if u == d {
					xu[k] = g
				}
			}
		}
		a.vals[yq].prod = g
		a.gapBytes()
		return
	}
}

// emitQGAP emits a QGlobalAveragePool step (see gapBytes), or reports
// that its parameters do not have the fused form (an error).
func (gn *gen) emitQGAP(n *ir.Node, x *info, xb, yb string) error {
	dq := gn.a.qgap[n]
	_, sx, zx, ok := gn.dqScalar(dq[0])
	if !ok {
		return unsupported(n, "DequantizeLinear parameters")
	}
	sy, zy, lo, hi, ok := gn.qOut(dq[1], float32(math.Inf(-1)), float32(math.Inf(1)))
	if !ok {
		return unsupported(n, "QuantizeLinear parameters")
	}
	planes := x.dims[0] * x.dims[1]
	hw := x.size() / planes
	f := gn.field("gsum", "[]int32")
	fmt.Fprintf(&gn.prep, "m.%s = make([]int32, %s)\n", f, gn.sz(planes, x.scaled))
	load := "int32(v)"
	if gn.byteSigned(n.Inputs[0]) {
		load = "int32(int8(v))"
	}
	gn.pr("x, s := %s, m.%s\nfor p := range s {\nvar t int32\nfor _, v := range x[p*%d : (p+1)*%d] {\nt += %s\n}\ns[p] = t\n}\n", xb, f, hw, hw, load)
	gn.pr("kernels.RequantizeClamp(%s, s, %d, %s, %d, %d, %d)\n", yb, -zx*int32(hw), flit(sx/sy/float32(hw)), zy, lo, hi)
	return nil
}
