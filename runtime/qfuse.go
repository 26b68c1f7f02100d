package runtime

import (
	"fmt"
	"math"
	"slices"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/kernels"
)

// QDQ fusion: a graph in QDQ form (QuantizeLinear/DequantizeLinear pairs
// around float operators) runs on integer kernels. When a plan is built,
// fuseQDQ finds
//
//	DequantizeLinear(x_q) ─┐
//	DequantizeLinear(w_q) ─┼─ Conv | Gemm | MatMul ─ [Relu | Clip] ─ QuantizeLinear ─ y_q
//	DequantizeLinear(b_q) ─┘
//
// with constant int8 (or uint8) weights, per-tensor or per-output-channel
// scales and an int32 (or float) constant bias, and runs it as one step
// that reads x_q and writes y_q: an exact int32 GEMM or convolution
// (VNNI where present), the bias added in int32, and one requantisation
// to the output scale whose clamp also applies the Relu or Clip. Add of
// two dequantised tensors followed by QuantizeLinear (residuals) and
// GlobalAveragePool between a DQ and a Q run on the 8-bit tensors too,
// and layout operators (MaxPool, Reshape, Flatten, Squeeze, Unsqueeze,
// Transpose, Concat, Identity) run on them directly when their input and
// output quantisation parameters are equal. A DequantizeLinear or
// QuantizeLinear whose outputs nothing reads any more is dropped, so a
// Q→DQ pair between two fused steps costs nothing: the 8-bit tensor
// flows straight from one to the next.
//
// The graph itself is not changed: fused steps are synthetic nodes in
// the plan (OpType "QDQ" + the float operator, e.g. "QDQConv", named
// after it), and the values they read and write are the graph's own.
//
// Results agree with the unfused graph within one quantisation step of
// the output: the fused step rounds once, from the exact integer sum,
// where the float graph rounds the dequantised products and sums in
// float32 before quantising.

// qdqFusion switches the fusion off (tests compare against it).
var qdqFusion = true

// qparams are the constant quantisation parameters of a Q or DQ node.
type qparams struct {
	scale []float32 // one per tensor, or one per index of axis
	zero  []int32   // one, or len(scale)
	dt    ir.DType  // the quantised type
	axis  int64     // as written (may be negative)
}

func (q *qparams) perTensor() bool { return len(q.scale) == 1 && len(q.zero) == 1 }

// equal reports whether q and r quantise identically (per tensor).
func (q *qparams) equal(r *qparams) bool {
	return q.perTensor() && r.perTensor() && q.dt == r.dt &&
		math.Float32bits(q.scale[0]) == math.Float32bits(r.scale[0]) && q.zero[0] == r.zero[0]
}

// qrange32 is the range of the 8-bit type dt.
func qrange32(dt ir.DType) (lo, hi int32) {
	if dt == ir.Int8 {
		return -128, 127
	}
	return 0, 255
}

// quantize maps v to dt with these (per-tensor) parameters as
// QuantizeLinear does.
func (q *qparams) quantize(v float32) int32 {
	lo, hi := qrange32(q.dt)
	r := math.RoundToEven(float64(v/q.scale[0])) + float64(q.zero[0])
	return int32(clamp(r, float64(lo), float64(hi)))
}

// fuser holds what fuseQDQ needs to match patterns.
type fuser struct {
	ix      *ir.Index
	opset   int64
	constOf func(*ir.Value) *ir.Tensor
	// gone marks nodes absorbed into a fused step.
	gone map[*ir.Node]bool
}

// params returns the constant parameters of DequantizeLinear or
// QuantizeLinear node n; dt is its quantised type when known from
// elsewhere (Undefined: from the zero point).
func (f *fuser) params(n *ir.Node) (qparams, bool) {
	if n == nil || !isDefaultDomain(n) || n.AttrInt("block_size", 0) != 0 || len(n.Inputs) < 2 {
		return qparams{}, false
	}
	s := f.constOf(n.Inputs[1])
	if s == nil || s.DType != ir.Float32 || len(s.Dims) > 1 || s.NumElements() == 0 {
		return qparams{}, false
	}
	q := qparams{scale: view[float32](s), axis: n.AttrInt("axis", 1)}
	for _, v := range q.scale {
		if !(v > 0) || math.IsInf(float64(v), 0) {
			return qparams{}, false
		}
	}
	zv := n.Input(2)
	if zv == nil {
		q.zero = []int32{0}
		q.dt = ir.Uint8
		if n.OpType == "QuantizeLinear" {
			if dt := ir.DType(n.AttrInt("output_dtype", 0)); dt != ir.Undefined {
				q.dt = dt
			}
		} else if x := f.constOf(n.Inputs[0]); x != nil {
			q.dt = x.DType
		} else {
			return qparams{}, false // the input type is not known here
		}
	} else {
		z := f.constOf(zv)
		if z == nil || len(z.Dims) > 1 || (z.NumElements() != 1 && z.NumElements() != int64(len(q.scale))) {
			return qparams{}, false
		}
		q.dt = z.DType
		for _, v := range z.Float64s() {
			q.zero = append(q.zero, int32(v))
		}
	}
	return q, true
}

// soleReader returns the node that alone reads v (not a graph output,
// not captured by a subgraph), and the input index.
func (f *fuser) soleReader(v *ir.Value) (*ir.Node, int) {
	uses := f.ix.Uses[v]
	if len(uses) != 1 || uses[0].Node == nil || uses[0].Index < 0 || f.gone[uses[0].Node] {
		return nil, 0
	}
	return uses[0].Node, uses[0].Index
}

// dqInput matches an activation input v = DequantizeLinear(x_q) with
// per-tensor 8-bit parameters; it returns x_q and them.
func (f *fuser) dqInput(v *ir.Value) (*ir.Value, qparams, bool) {
	if v == nil {
		return nil, qparams{}, false
	}
	n := f.ix.Producer[v]
	if n == nil || n.OpType != "DequantizeLinear" || f.gone[n] {
		return nil, qparams{}, false
	}
	q, ok := f.params(n)
	if !ok || !q.perTensor() || (q.dt != ir.Uint8 && q.dt != ir.Int8) {
		return nil, qparams{}, false
	}
	return n.Inputs[0], q, true
}

// dqConst matches v = DequantizeLinear(c) of a constant c; it returns
// c and the parameters.
func (f *fuser) dqConst(v *ir.Value) (*ir.Tensor, qparams, bool) {
	if v == nil {
		return nil, qparams{}, false
	}
	n := f.ix.Producer[v]
	if n == nil || n.OpType != "DequantizeLinear" || f.gone[n] {
		return nil, qparams{}, false
	}
	c := f.constOf(n.Inputs[0])
	if c == nil {
		return nil, qparams{}, false
	}
	q, ok := f.params(n)
	if !ok || q.dt != c.DType {
		return nil, qparams{}, false
	}
	return c, q, true
}

// qOutput matches the end of a fused chain from v: an optional Relu or
// Clip (constant bounds), then QuantizeLinear to 8 bits per tensor. It
// returns the quantised value, its parameters, the clamp range in the
// quantised domain and the nodes absorbed.
func (f *fuser) qOutput(v *ir.Value) (yq *ir.Value, q qparams, lo, hi int32, absorbed []*ir.Node, ok bool) {
	r, at := f.soleReader(v)
	if r == nil || at != 0 || !isDefaultDomain(r) {
		return
	}
	actLo, actHi := float32(math.Inf(-1)), float32(math.Inf(1))
	switch r.OpType {
	case "Relu":
		actLo = 0
	case "Clip":
		l, h, cok := clipBounds(r, f.opset, f.constOf)
		if !cok {
			return
		}
		actLo, actHi = l, h
	}
	if r.OpType == "Relu" || r.OpType == "Clip" {
		if len(r.Outputs) != 1 || r.Outputs[0] == nil {
			return
		}
		absorbed = append(absorbed, r)
		if r, at = f.soleReader(r.Outputs[0]); r == nil || at != 0 {
			return
		}
	}
	if r.OpType != "QuantizeLinear" || !isDefaultDomain(r) || len(r.Outputs) != 1 || r.Outputs[0] == nil {
		return
	}
	if q, ok = f.params(r); !ok || !q.perTensor() || (q.dt != ir.Uint8 && q.dt != ir.Int8) {
		return yq, q, 0, 0, nil, false
	}
	lo, hi = qrange32(q.dt)
	if !math.IsInf(float64(actLo), -1) {
		lo = max(lo, q.quantize(actLo))
	}
	if !math.IsInf(float64(actHi), 1) {
		hi = min(hi, q.quantize(actHi))
	}
	if lo > hi {
		return yq, q, 0, 0, nil, false
	}
	return r.Outputs[0], q, lo, hi, append(absorbed, r), true
}

// fuseQDQ rewrites the execution order of g: matched chains become one
// synthetic node each, built here (kernels maps it to its kernel), and
// DequantizeLinear/QuantizeLinear nodes whose outputs are no longer read
// are dropped.
func fuseQDQ(g *ir.Graph, order []*ir.Node, opset int64, constOf func(*ir.Value) *ir.Tensor) ([]*ir.Node, map[*ir.Node]kernel) {
	if !qdqFusion {
		return order, nil
	}
	has := false
	for _, n := range order {
		if n.OpType == "DequantizeLinear" && isDefaultDomain(n) {
			has = true
			break
		}
	}
	if !has {
		return order, nil
	}
	f := &fuser{ix: g.BuildIndex(), opset: opset, constOf: constOf, gone: map[*ir.Node]bool{}}
	built := map[*ir.Node]kernel{}
	replace := map[*ir.Node]*ir.Node{}
	for _, n := range order {
		if f.gone[n] || !isDefaultDomain(n) || len(n.Outputs) != 1 || n.Outputs[0] == nil {
			continue
		}
		var syn *ir.Node
		var k kernel
		var absorbed []*ir.Node
		switch n.OpType {
		case "Conv":
			syn, k, absorbed = f.conv(n)
		case "Gemm", "MatMul":
			syn, k, absorbed = f.gemm(n)
		case "Add":
			syn, k, absorbed = f.add(n)
		case "GlobalAveragePool":
			syn, k, absorbed = f.gap(n)
		case "DequantizeLinear":
			syn, k, absorbed = f.lut(n) // qfuse_lut.go
		case "MaxPool", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose", "Concat", "Identity":
			syn, k, absorbed = f.layout(n)
		}
		if syn == nil {
			continue
		}
		for _, a := range absorbed {
			f.gone[a] = true
		}
		f.gone[n] = true
		replace[n] = syn
		built[syn] = k
	}
	if len(built) == 0 {
		return order, nil
	}
	out := make([]*ir.Node, 0, len(order))
	for _, n := range order {
		if s := replace[n]; s != nil {
			out = append(out, s)
		} else if !f.gone[n] {
			out = append(out, n)
		}
	}
	return dropDeadQDQ(g, out), built
}

// dropDeadQDQ removes DequantizeLinear and QuantizeLinear nodes of order
// whose outputs nothing reads.
func dropDeadQDQ(g *ir.Graph, order []*ir.Node) []*ir.Node {
	reads := map[*ir.Value]int{}
	for _, v := range g.Outputs {
		reads[v]++
	}
	for _, n := range order {
		for _, v := range n.Inputs {
			reads[v]++
		}
		for _, sg := range n.Subgraphs() {
			for v := range sg.Captures() {
				reads[v]++
			}
		}
	}
	keep := make([]bool, len(order))
	for i := len(order) - 1; i >= 0; i-- {
		n := order[i]
		keep[i] = true
		if (n.OpType != "DequantizeLinear" && n.OpType != "QuantizeLinear") || !isDefaultDomain(n) {
			continue
		}
		used := false
		for _, o := range n.Outputs {
			if o != nil && reads[o] > 0 {
				used = true
			}
		}
		if !used {
			keep[i] = false
			for _, v := range n.Inputs {
				reads[v]--
			}
		}
	}
	out := order[:0]
	for i, n := range order {
		if keep[i] {
			out = append(out, n)
		}
	}
	return out
}

// synthetic returns the node standing for a fused chain that starts at
// n: it reads ins and writes out.
func synthetic(n *ir.Node, ins []*ir.Value, out *ir.Value) *ir.Node {
	return &ir.Node{Name: n.Name, OpType: "QDQ" + n.OpType, Inputs: ins, Outputs: []*ir.Value{out}}
}

// qout is the output stage of a fused step: requantisation to an 8-bit
// type with a clamp.
type qout struct {
	dt       ir.DType
	zero     int32
	lo, hi   int32
	outScale float32
}

// int32Bias returns the bias of a fused GEMM or convolution in units of
// sx·sw[m] for m < n: from DequantizeLinear of an int32 constant (exactly
// b_q when its scale is sx·sw, as quantisers write it), or a float
// constant. ok is false when the bias has another form.
func (f *fuser) int32Bias(v *ir.Value, n int, accScale []float32) ([]int32, bool) {
	b := make([]int32, n)
	if v == nil {
		return b, true
	}
	var fb []float32
	if c, q, ok := f.dqConst(v); ok {
		if c.DType != ir.Int32 || c.NumElements() != int64(n) && c.NumElements() != 1 {
			return nil, false
		}
		raw := view[int32](c)
		fb = make([]float32, n)
		for m := range fb {
			r := raw[0]
			if len(raw) > 1 {
				r = raw[m]
			}
			s, z := q.scale[0], q.zero[0]
			if len(q.scale) > 1 {
				if len(q.scale) != n {
					return nil, false
				}
				s = q.scale[m]
			}
			if len(q.zero) > 1 {
				z = q.zero[m]
			}
			if len(q.scale) == n && len(accScale) == n && math.Float32bits(s) == math.Float32bits(accScale[m]) && z == 0 {
				b[m] = r // already in the accumulator's units
				fb[m] = float32(math.NaN())
				continue
			}
			fb[m] = float32(r-z) * s
		}
	} else if c := f.constOf(v); c != nil && c.DType == ir.Float32 && (c.NumElements() == int64(n) || c.NumElements() == 1) {
		raw := view[float32](c)
		fb = make([]float32, n)
		for m := range fb {
			fb[m] = raw[min(m, len(raw)-1)]
		}
	} else {
		return nil, false
	}
	for m, x := range fb {
		if math.IsNaN(float64(x)) {
			continue
		}
		s := accScale[0]
		if len(accScale) > 1 {
			s = accScale[m]
		}
		r := math.RoundToEven(float64(x) / float64(s))
		if math.Abs(r) > 1<<30 {
			return nil, false
		}
		b[m] = int32(r)
	}
	return b, true
}

// weightParams returns per-output-channel scales and 8-bit zero points of
// weights quantised with q, for outputs along axis (of a tensor of rank
// rank) with count values; ok is false when q is along another axis.
func weightParams(q *qparams, rank, axis, count int) (scale []float32, zero []byte, ok bool) {
	if len(q.scale) > 1 || len(q.zero) > 1 {
		a := int(q.axis)
		if a < 0 {
			a += rank
		}
		if a != axis || len(q.scale) != count {
			return nil, nil, false
		}
	}
	scale = make([]float32, count)
	zero = make([]byte, count)
	for m := range scale {
		scale[m] = q.scale[min(m, len(q.scale)-1)]
		zero[m] = byte(q.zero[min(m, len(q.zero)-1)])
	}
	return scale, zero, true
}

// qconvStep is a fused int8 convolution.
type qconvStep struct {
	attrs   *windowAttrs
	group   int
	wDims   []int64
	w       []byte
	wSigned bool
	wZero   []byte
	xdt     ir.DType
	xZero   byte
	bias    []int32
	scale   []float32 // sx·sw[m] / sy
	out     qout
	rq      kernels.Requant
	packed  map[kernels.Conv2DParams]*kernels.QPackedConv2D
	// The geometry of the last run's input dims, reused while they
	// repeat (runs of a session are serialised).
	lastX   []int64
	lastOut []int64
	lastP   *kernels.Conv2DParams
	lastPC  *kernels.QPackedConv2D
}

func (f *fuser) conv(n *ir.Node) (*ir.Node, kernel, []*ir.Node) {
	if len(n.Inputs) < 2 || len(n.Inputs) > 3 {
		return nil, nil, nil
	}
	xq, xp, ok := f.dqInput(n.Inputs[0])
	if !ok {
		return nil, nil, nil
	}
	w, wp, ok := f.dqConst(n.Inputs[1])
	if !ok || (w.DType != ir.Int8 && w.DType != ir.Uint8) || len(w.Dims) < 3 || len(w.Dims) > 4 {
		return nil, nil, nil
	}
	yq, yp, lo, hi, absorbed, ok := f.qOutput(n.Outputs[0])
	if !ok {
		return nil, nil, nil
	}
	attrs, err := parseWindowAttrs(n)
	group := int(n.AttrInt("group", 1))
	if err != nil || group < 1 {
		return nil, nil, nil
	}
	M := int(w.Dims[0])
	ws, wz, ok := weightParams(&wp, len(w.Dims), 0, M)
	if !ok {
		return nil, nil, nil
	}
	acc := make([]float32, M)
	scale := make([]float32, M)
	for m := range acc {
		acc[m] = xp.scale[0] * ws[m]
		scale[m] = acc[m] / yp.scale[0]
	}
	bias, ok := f.int32Bias(n.Input(2), M, acc)
	if !ok {
		return nil, nil, nil
	}
	k := &qconvStep{attrs: attrs, group: group, wDims: w.Dims, w: w.Data, wSigned: w.DType == ir.Int8, wZero: wz,
		xdt: xp.dt, xZero: byte(xp.zero[0]), bias: bias, scale: scale,
		out:    qout{dt: yp.dt, zero: yp.zero[0], lo: lo, hi: hi, outScale: yp.scale[0]},
		packed: map[kernels.Conv2DParams]*kernels.QPackedConv2D{}}
	k.rq = kernels.Requant{Bias: bias, Scale: scale, Zero: k.out.zero, Lo: lo, Hi: hi}
	absorbed = append(absorbed, f.ix.Producer[n.Inputs[0]])
	return synthetic(n, []*ir.Value{xq}, yq), k, dqsOf(f, n, absorbed)
}

// dqsOf lists absorbed plus the DequantizeLinear nodes of n's inputs
// that only n reads (their outputs die with n).
func dqsOf(f *fuser, n *ir.Node, absorbed []*ir.Node) []*ir.Node {
	out := absorbed[:0:0]
	for _, a := range absorbed {
		if a != nil && (a.OpType != "DequantizeLinear" || len(f.ix.Uses[a.Outputs[0]]) == 1) {
			out = append(out, a)
		}
	}
	return out
}

func (k *qconvStep) run(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := needInputs(in, 1); err != nil {
		return nil, err
	}
	x := in[0]
	if x.DType != k.xdt {
		return nil, fmt.Errorf("quantised input is %s, want %s", x.DType, k.xdt)
	}
	if k.lastPC != nil && slices.Equal(x.Dims, k.lastX) {
		y, err := e.alloc(k.out.dt, k.lastOut)
		if err != nil {
			return nil, err
		}
		k.lastPC.RunRequant(x.Data, k.xdt == ir.Int8, k.xZero, &k.rq, y.Data)
		return []*ir.Tensor{y}, nil
	}
	g, err := convShapes(k.attrs, k.group, x.Dims, k.wDims)
	if err != nil {
		return nil, err
	}
	N, C, M := int(x.Dims[0]), int(x.Dims[1]), int(k.wDims[0])
	dims := g.outDims(int64(N), int64(M))
	y, err := e.alloc(k.out.dt, dims)
	if err != nil {
		return nil, err
	}
	if g.outPlane == 0 || N == 0 {
		return []*ir.Tensor{y}, nil
	}
	p := conv2DParams(g, k.group, N, C, M)
	if p == nil {
		e.release(y)
		return nil, fmt.Errorf("only 1-D and 2-D convolutions are supported")
	}
	pc := k.packed[*p]
	if pc == nil {
		if len(k.packed) >= 8 {
			clear(k.packed)
		}
		pc = kernels.QPackConv2D(p, k.w, k.wSigned, k.wZero)
		k.packed[*p] = pc
	}
	k.lastX, k.lastOut, k.lastP, k.lastPC = slices.Clone(x.Dims), slices.Clone(dims), p, pc
	pc.RunRequant(x.Data, k.xdt == ir.Int8, k.xZero, &k.rq, y.Data)
	return []*ir.Tensor{y}, nil
}

// qgemmStep is a fused int8 Gemm or MatMul: y = x·W (+ bias) over the
// last axis of x.
type qgemmStep struct {
	K, N   int
	pb     *kernels.QPackedB
	xdt    ir.DType
	xZero  byte
	bias   []int32
	scale  []float32 // per column
	out    qout
	matmul bool
}

func (f *fuser) gemm(n *ir.Node) (*ir.Node, kernel, []*ir.Node) {
	isGemm := n.OpType == "Gemm"
	if len(n.Inputs) < 2 || isGemm && len(n.Inputs) > 3 || !isGemm && len(n.Inputs) != 2 {
		return nil, nil, nil
	}
	if isGemm && n.AttrInt("transA", 0) != 0 {
		return nil, nil, nil
	}
	xq, xp, ok := f.dqInput(n.Inputs[0])
	if !ok {
		return nil, nil, nil
	}
	w, wp, ok := f.dqConst(n.Inputs[1])
	if !ok || (w.DType != ir.Int8 && w.DType != ir.Uint8) || len(w.Dims) != 2 {
		return nil, nil, nil
	}
	yq, yp, lo, hi, absorbed, ok := f.qOutput(n.Outputs[0])
	if !ok {
		return nil, nil, nil
	}
	transB := isGemm && n.AttrInt("transB", 0) != 0
	K, N := int(w.Dims[0]), int(w.Dims[1])
	axis := 1
	if transB {
		K, N, axis = N, K, 0
	}
	if K == 0 || N == 0 {
		return nil, nil, nil
	}
	ws, wz, ok := weightParams(&wp, 2, axis, N)
	if !ok {
		return nil, nil, nil
	}
	alpha, beta := float32(1), float32(1)
	if isGemm {
		alpha, beta = n.AttrFloat("alpha", 1), n.AttrFloat("beta", 1)
	}
	if !(alpha > 0) {
		return nil, nil, nil
	}
	acc := make([]float32, N)
	scale := make([]float32, N)
	for j := range acc {
		acc[j] = xp.scale[0] * ws[j] * alpha
		scale[j] = acc[j] / yp.scale[0]
	}
	var bias []int32
	if bv := n.Input(2); bv != nil {
		if beta != 1 {
			return nil, nil, nil
		}
		if bias, ok = f.int32Bias(bv, N, acc); !ok {
			return nil, nil, nil
		}
	} else {
		bias = make([]int32, N)
	}
	wb := w.Data
	if transB {
		wb = make([]byte, K*N)
		for j := 0; j < N; j++ {
			for kk := 0; kk < K; kk++ {
				wb[kk*N+j] = w.Data[j*K+kk]
			}
		}
	}
	k := &qgemmStep{K: K, N: N, pb: kernels.QPackB(K, N, wb, N, w.DType == ir.Int8, wz),
		xdt: xp.dt, xZero: byte(xp.zero[0]), bias: bias, scale: scale,
		out:    qout{dt: yp.dt, zero: yp.zero[0], lo: lo, hi: hi, outScale: yp.scale[0]},
		matmul: !isGemm}
	absorbed = append(absorbed, f.ix.Producer[n.Inputs[0]])
	return synthetic(n, []*ir.Value{xq}, yq), k, dqsOf(f, n, absorbed)
}

func (k *qgemmStep) run(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := needInputs(in, 1); err != nil {
		return nil, err
	}
	x := in[0]
	if x.DType != k.xdt {
		return nil, fmt.Errorf("quantised input is %s, want %s", x.DType, k.xdt)
	}
	r := len(x.Dims)
	if r < 1 || int(x.Dims[r-1]) != k.K || (!k.matmul && r != 2) || (k.matmul && r < 2) {
		return nil, fmt.Errorf("input %v does not fit weights %d×%d", x.Dims, k.K, k.N)
	}
	M := numel(x.Dims) / k.K
	dims := append(cloneDims(x.Dims[:r-1]), int64(k.N))
	y, err := e.alloc(k.out.dt, dims)
	if err != nil {
		return nil, err
	}
	if M == 0 {
		return []*ir.Tensor{y}, nil
	}
	acc, err := e.alloc(ir.Int32, dims)
	if err != nil {
		e.release(y)
		return nil, err
	}
	av := view[int32](acc)
	kernels.QGemmPackedB(M, x.Data, k.K, k.xdt == ir.Int8, []byte{k.xZero}, k.pb, av, k.N)
	zf := float32(k.out.zero)
	lo, hi := float32(k.out.lo), float32(k.out.hi)
	for i := 0; i < M; i++ {
		row, dst := av[i*k.N:(i+1)*k.N], y.Data[i*k.N:(i+1)*k.N]
		for j, a := range row {
			v := roundHalfEven(float32(a+k.bias[j])*k.scale[j]) + zf
			v = min(max(v, lo), hi)
			dst[j] = byte(int32(v))
		}
	}
	e.release(acc)
	return []*ir.Tensor{y}, nil
}

// roundHalfEven rounds v to the nearest integer, ties to even, after
// clamping it to ±2²² (callers clamp to an 8-bit range).
func roundHalfEven(v float32) float32 {
	const magic = 1.5 * (1 << 23)
	v = min(max(v, -(1<<22)), 1<<22)
	return (v + magic) - magic
}

// qaddStep is a fused Add of two 8-bit tensors of the same shape:
// y = q((sa·(a − za) + sb·(b − zb))), computed as fa·a + fb·b + c in
// float32 with fa = sa/sy, fb = sb/sy. Other shapes run the float
// operator between dequantisation and quantisation.
type qaddStep struct {
	adt, bdt   ir.DType
	fa, fb, c  float32
	out        qout
	a, b       qparams
	floatAdd   kernel
	floatQuant func(e *env, t *ir.Tensor) (*ir.Tensor, error)
}

func (f *fuser) add(n *ir.Node) (*ir.Node, kernel, []*ir.Node) {
	if len(n.Inputs) != 2 {
		return nil, nil, nil
	}
	aq, ap, ok1 := f.dqInput(n.Inputs[0])
	bq, bp, ok2 := f.dqInput(n.Inputs[1])
	if !ok1 || !ok2 {
		return nil, nil, nil
	}
	yq, yp, lo, hi, absorbed, ok := f.qOutput(n.Outputs[0])
	if !ok {
		return nil, nil, nil
	}
	add, err := buildWith(&buildCtx{n: n, opset: f.opset})
	if err != nil {
		return nil, nil, nil
	}
	sy := yp.scale[0]
	fa, fb := ap.scale[0]/sy, bp.scale[0]/sy
	k := &qaddStep{adt: ap.dt, bdt: bp.dt, fa: fa, fb: fb,
		c:   float32(yp.zero[0]) - fa*float32(ap.zero[0]) - fb*float32(bp.zero[0]),
		out: qout{dt: yp.dt, zero: yp.zero[0], lo: lo, hi: hi, outScale: sy},
		a:   ap, b: bp, floatAdd: add}
	absorbed = append(absorbed, f.ix.Producer[n.Inputs[0]], f.ix.Producer[n.Inputs[1]])
	return synthetic(n, []*ir.Value{aq, bq}, yq), k, dqsOf(f, n, absorbed)
}

func (k *qaddStep) run(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := needInputs(in, 2); err != nil {
		return nil, err
	}
	a, b := in[0], in[1]
	if a.DType != k.adt || b.DType != k.bdt {
		return nil, fmt.Errorf("quantised inputs are %s and %s, want %s and %s", a.DType, b.DType, k.adt, k.bdt)
	}
	if !sameDims(a.Dims, b.Dims) {
		return k.slow(e, a, b)
	}
	y, err := e.alloc(k.out.dt, a.Dims)
	if err != nil {
		return nil, err
	}
	kernels.QAdd(y.Data, a.Data, k.adt == ir.Int8, b.Data, k.bdt == ir.Int8, k.fa, k.fb, k.c, k.out.lo, k.out.hi)
	return []*ir.Tensor{y}, nil
}

// slow dequantises a and b, adds them with broadcasting and quantises.
func (k *qaddStep) slow(e *env, a, b *ir.Tensor) ([]*ir.Tensor, error) {
	fa := dequantPerTensor(a, &k.a)
	fb := dequantPerTensor(b, &k.b)
	sum, err := k.floatAdd.run(nil, []*ir.Tensor{fa, fb})
	if err != nil {
		return nil, err
	}
	s := view[float32](sum[0])
	y, err := e.alloc(k.out.dt, sum[0].Dims)
	if err != nil {
		return nil, err
	}
	for i, v := range s {
		q := roundHalfEven(v/k.out.outScale) + float32(k.out.zero)
		y.Data[i] = byte(int32(min(max(q, float32(k.out.lo)), float32(k.out.hi))))
	}
	return []*ir.Tensor{y}, nil
}

// dequantPerTensor returns x dequantised with per-tensor parameters q.
func dequantPerTensor(x *ir.Tensor, q *qparams) *ir.Tensor {
	t := &ir.Tensor{DType: ir.Float32, Dims: cloneDims(x.Dims), Data: alignedBytes(4 * len(x.Data))}
	kernels.Dequantize8(view[float32](t), x.Data, x.DType == ir.Int8, q.scale[0], q.zero[0])
	return t
}

// qgapStep is a fused GlobalAveragePool of an 8-bit tensor:
// y = q(sx/(sy·HW) · Σ(x − zx)); with flat, a Flatten (axis 1) after
// the pool is absorbed too and y has dims (N, C).
type qgapStep struct {
	xdt   ir.DType
	xZero int32
	ratio float32 // sx / sy
	out   qout
	flat  bool
}

func (f *fuser) gap(n *ir.Node) (*ir.Node, kernel, []*ir.Node) {
	if len(n.Inputs) != 1 {
		return nil, nil, nil
	}
	xq, xp, ok := f.dqInput(n.Inputs[0])
	if !ok {
		return nil, nil, nil
	}
	yq, yp, lo, hi, absorbed, ok := f.qOutput(n.Outputs[0])
	flat := false
	if r, at := f.soleReader(n.Outputs[0]); !ok && r != nil && at == 0 && r.OpType == "Flatten" && isDefaultDomain(r) &&
		r.AttrInt("axis", 1) == 1 && len(r.Outputs) == 1 && r.Outputs[0] != nil {
		// GlobalAveragePool → Flatten → Q (torchvision's classifiers):
		// Flatten moves no element, so it runs on the pooled bytes.
		if yq, yp, lo, hi, absorbed, ok = f.qOutput(r.Outputs[0]); ok {
			flat, absorbed = true, append(absorbed, r)
		}
	}
	if !ok {
		return nil, nil, nil
	}
	k := &qgapStep{xdt: xp.dt, xZero: xp.zero[0], ratio: xp.scale[0] / yp.scale[0],
		out: qout{dt: yp.dt, zero: yp.zero[0], lo: lo, hi: hi, outScale: yp.scale[0]}, flat: flat}
	absorbed = append(absorbed, f.ix.Producer[n.Inputs[0]])
	return synthetic(n, []*ir.Value{xq}, yq), k, dqsOf(f, n, absorbed)
}

func (k *qgapStep) run(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := needInputs(in, 1); err != nil {
		return nil, err
	}
	x := in[0]
	if x.DType != k.xdt {
		return nil, fmt.Errorf("quantised input is %s, want %s", x.DType, k.xdt)
	}
	if len(x.Dims) < 3 {
		return nil, fmt.Errorf("input %v must have rank ≥ 3", x.Dims)
	}
	dims := cloneDims(x.Dims)
	for i := 2; i < len(dims); i++ {
		dims[i] = 1
	}
	if k.flat {
		dims = dims[:2]
	}
	y, err := e.alloc(k.out.dt, dims)
	if err != nil {
		return nil, err
	}
	planes := int(x.Dims[0] * x.Dims[1])
	if planes == 0 {
		return []*ir.Tensor{y}, nil
	}
	hw := len(x.Data) / planes
	if hw == 0 {
		e.release(y)
		return nil, fmt.Errorf("empty planes in %v", x.Dims)
	}
	sums := make([]int32, planes)
	kernels.SumPlanes8(sums, x.Data, hw, x.DType == ir.Int8)
	kernels.RequantizeClamp(y.Data, sums, -k.xZero*int32(hw), k.ratio/float32(hw), k.out.zero, k.out.lo, k.out.hi)
	return []*ir.Tensor{y}, nil
}

// layout matches DQ → op → Q where op only moves or selects elements
// and every DQ'd input and the Q share their parameters: op then runs
// on the 8-bit tensors.
func (f *fuser) layout(n *ir.Node) (*ir.Node, kernel, []*ir.Node) {
	if n.OpType == "MaxPool" && len(n.Outputs) != 1 {
		return nil, nil, nil
	}
	data := []int{0}
	if n.OpType == "Concat" {
		data = data[:0]
		for i := range n.Inputs {
			data = append(data, i)
		}
	}
	r, at := f.soleReader(n.Outputs[0])
	if r == nil || at != 0 || r.OpType != "QuantizeLinear" || !isDefaultDomain(r) || len(r.Outputs) != 1 || r.Outputs[0] == nil {
		return nil, nil, nil
	}
	yp, ok := f.params(r)
	if !ok {
		return nil, nil, nil
	}
	ins := append([]*ir.Value(nil), n.Inputs...)
	var absorbed []*ir.Node
	for _, i := range data {
		xq, xp, ok := f.dqInput(n.Inputs[i])
		if !ok || !xp.equal(&yp) {
			return nil, nil, nil
		}
		ins[i] = xq
		absorbed = append(absorbed, f.ix.Producer[n.Inputs[i]])
	}
	syn := &ir.Node{Name: n.Name, OpType: n.OpType, Inputs: ins, Outputs: []*ir.Value{r.Outputs[0]}, Attrs: n.Attrs}
	k, err := buildWith(&buildCtx{n: syn, opset: f.opset, constOf: f.constOf})
	if err != nil {
		return nil, nil, nil
	}
	if n.OpType == "MaxPool" {
		if attrs, err := parseWindowAttrs(syn); err == nil && attrs.kernel != nil {
			k = &qmaxPoolStep{attrs: attrs, general: k}
		}
	}
	return syn, k, dqsOf(f, n, append(absorbed, r))
}

// qmaxPoolStep is a MaxPool of an 8-bit tensor: 2-D pooling runs on
// kernels.MaxPool2DU8 (vector row maxima), the rest on the general
// kernel.
type qmaxPoolStep struct {
	attrs   *windowAttrs
	general kernel
}

func (k *qmaxPoolStep) run(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if len(in) != 1 || in[0] == nil || len(in[0].Dims) < 3 || (in[0].DType != ir.Uint8 && in[0].DType != ir.Int8) {
		return k.general.run(e, in)
	}
	x := in[0]
	g, err := k.attrs.resolve(x.Dims[2:], k.attrs.kernel)
	if err != nil {
		return k.general.run(e, in)
	}
	N, C := int(x.Dims[0]), int(x.Dims[1])
	p := pool2DParams(g, N, C, false)
	if p == nil {
		return k.general.run(e, in)
	}
	y, err := e.alloc(x.DType, g.outDims(int64(N), int64(C)))
	if err != nil {
		return nil, err
	}
	kernels.MaxPool2DU8(p, x.Data, x.DType == ir.Int8, y.Data)
	return []*ir.Tensor{y}, nil
}
