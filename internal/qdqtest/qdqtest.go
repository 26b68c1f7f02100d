// Package qdqtest converts a float32 model to the QDQ form nncc's
// quantize pass writes (onnxruntime's tool's style), with min/max scales
// from one calibration run, so that the runtime's int8 execution can be
// tested and benchmarked on real models without the pass. It is a test
// helper: no percentile or entropy calibration, no accuracy budget, no
// checks beyond what its callers need.
//
// The form: each quantised activation x becomes
// QuantizeLinear(x, s, zp) → DequantizeLinear(s, zp) with a float32
// scalar scale and a uint8 (or int8) scalar zero point from x's observed
// range (widened to hold 0); weights are int8 initializers, symmetric per
// output channel (Conv axis 0, Gemm with transB axis 0 else 1, MatMul
// axis 1), behind DequantizeLinear with int8 zero points; biases are
// int32 with scale s_x·s_w and int32 zero points. Activations quantised
// are the inputs and outputs of Conv, Gemm, MatMul (after a Relu or Clip
// that alone reads them), Add, GlobalAveragePool, MaxPool, AveragePool,
// Flatten and Reshape; MaxPool, Flatten and Reshape outputs share their
// input's parameters.
package qdqtest

import (
	"fmt"
	"math"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/runtime"
)

// Options configure Quantize.
type Options struct {
	// Signed quantises activations to int8 (zero point in [-128, 127])
	// instead of uint8.
	Signed bool
	// PerTensor uses one weight scale per tensor instead of one per
	// output channel.
	PerTensor bool
	// ReduceRange quantises weights to 7 bits ([-63, 63]), so that
	// 16-bit pairwise sums of u8·s8 products cannot saturate in kernels
	// without VNNI (onnxruntime's reduce_range).
	ReduceRange bool
}

type minmax struct{ lo, hi float32 }

// Quantize returns a QDQ copy of m (opset 13 or newer) calibrated on the
// input sets calib.
func Quantize(m *ir.Model, calib []map[string]*ir.Tensor, o Options) (*ir.Model, error) {
	if m.Opset("") < 13 {
		return nil, fmt.Errorf("qdqtest: opset %d < 13", m.Opset(""))
	}
	ranges := map[string]*minmax{}
	observe := func(name string, t *ir.Tensor) {
		if t == nil || t.DType != ir.Float32 {
			return
		}
		r := ranges[name]
		if r == nil {
			r = &minmax{float32(math.Inf(1)), float32(math.Inf(-1))}
			ranges[name] = r
		}
		for _, v := range t.Float32View() {
			r.lo, r.hi = min(r.lo, v), max(r.hi, v)
		}
	}
	// Every node output becomes a graph output for the calibration run,
	// so the runtime fuses nothing and each value is seen as it is.
	cm := m.Clone()
	outs := map[*ir.Value]bool{}
	for _, v := range cm.Graph.Outputs {
		outs[v] = true
	}
	for _, n := range cm.Graph.Nodes {
		for _, v := range n.Outputs {
			if v != nil && v.Name != "" && !outs[v] {
				outs[v] = true
				cm.Graph.Outputs = append(cm.Graph.Outputs, v)
			}
		}
	}
	sess, err := runtime.NewSession(cm, runtime.Options{Threads: 1})
	if err != nil {
		return nil, err
	}
	for _, in := range calib {
		for name, t := range in {
			observe(name, t)
		}
		res, err := sess.Run(in)
		if err != nil {
			return nil, err
		}
		for name, t := range res {
			observe(name, t)
		}
	}
	q := m.Clone()
	g := q.Graph
	used := map[string]bool{}
	for _, v := range append(append([]*ir.Value{}, g.Inputs...), g.Consts...) {
		used[v.Name] = true
	}
	for _, n := range g.Nodes {
		used[n.Name] = true
		for _, v := range n.Outputs {
			if v != nil {
				used[v.Name] = true
			}
		}
	}
	uniq := func(name string) string {
		u := name
		for i := 1; used[u]; i++ {
			u = fmt.Sprintf("%s_%d", name, i)
		}
		used[u] = true
		return u
	}
	addConst := func(name string, t *ir.Tensor) *ir.Value {
		v := g.AddConst(uniq(name), t)
		return v
	}
	ix := g.BuildIndex()
	byName := map[string]*ir.Value{}
	for _, v := range g.Inputs {
		byName[v.Name] = v
	}
	for _, n := range g.Nodes {
		for _, v := range n.Outputs {
			if v != nil {
				byName[v.Name] = v
			}
		}
	}
	soleReader := func(v *ir.Value) *ir.Node {
		us := ix.Uses[v]
		if len(us) != 1 || us[0].Node == nil {
			return nil
		}
		return us[0].Node
	}
	// after returns v, or the output of a Relu/Clip that alone reads it.
	after := func(v *ir.Value) *ir.Value {
		if r := soleReader(v); r != nil && (r.OpType == "Relu" || r.OpType == "Clip") && r.Inputs[0] == v {
			return r.Outputs[0]
		}
		return v
	}
	isConst := func(v *ir.Value) bool { return v != nil && v.Const != nil && ix.Producer[v] == nil }
	// Activations to quantise, in graph order.
	var acts []*ir.Value
	seen := map[*ir.Value]bool{}
	same := map[*ir.Value]*ir.Value{} // output → input whose parameters it shares
	want := func(v *ir.Value) {
		if v != nil && !isConst(v) && !seen[v] && ranges[v.Name] != nil {
			seen[v] = true
			acts = append(acts, v)
		}
	}
	weighted := map[*ir.Node]*ir.Value{} // → its activation input
	for _, n := range g.Nodes {
		switch n.OpType {
		case "Conv", "Gemm", "MatMul":
			if len(n.Inputs) < 2 || !isConst(n.Inputs[1]) || n.Inputs[1].Const.DType != ir.Float32 ||
				(n.OpType == "Gemm" && n.AttrInt("transA", 0) != 0) || (n.OpType != "Conv" && len(n.Inputs[1].Const.Dims) != 2) {
				continue
			}
			if len(n.Inputs) > 2 && n.Inputs[2] != nil && !isConst(n.Inputs[2]) {
				continue
			}
			weighted[n] = n.Inputs[0]
			want(n.Inputs[0])
			want(after(n.Outputs[0]))
		case "Add":
			if isConst(n.Inputs[0]) || isConst(n.Inputs[1]) {
				continue
			}
			want(n.Inputs[0])
			want(n.Inputs[1])
			want(after(n.Outputs[0]))
		case "GlobalAveragePool", "AveragePool":
			want(n.Inputs[0])
			want(n.Outputs[0])
		case "MaxPool", "Flatten", "Reshape":
			if len(n.Outputs) != 1 {
				continue
			}
			want(n.Inputs[0])
			want(n.Outputs[0])
			same[n.Outputs[0]] = n.Inputs[0]
		}
	}
	type qp struct {
		scale float32
		zero  int64
	}
	params := map[*ir.Value]qp{}
	zdt := ir.Uint8
	if o.Signed {
		zdt = ir.Int8
	}
	paramOf := func(v *ir.Value) qp {
		for {
			src, ok := same[v]
			if !ok || !seen[src] {
				break
			}
			v = src
		}
		if p, ok := params[v]; ok {
			return p
		}
		r := ranges[v.Name]
		lo, hi := min(r.lo, 0), max(r.hi, 0)
		s := (hi - lo) / 255
		if !(s > 0) {
			s = 1
		}
		var z float64
		if o.Signed {
			z = min(max(math.RoundToEven(float64(-128-lo/s)), -128), 127)
		} else {
			z = min(max(math.RoundToEven(float64(-lo/s)), 0), 255)
		}
		p := qp{s, int64(z)}
		params[v] = p
		return p
	}
	var newNodes []*ir.Node
	insertAfter := map[*ir.Node][]*ir.Node{}
	var atStart []*ir.Node
	for _, v := range acts {
		p := paramOf(v)
		sc := addConst((v.Name + "_scale"), ir.Scalar(p.scale))
		zt := ir.NewTensor(zdt)
		zt.Data[0] = byte(p.zero)
		zp := addConst((v.Name + "_zero_point"), zt)
		vq := &ir.Value{Name: uniq(v.Name + "_quantized")}
		prod := ix.Producer[v]
		var src, dq *ir.Value
		if prod == nil {
			// A graph input: its readers read the dequantised copy.
			dq = &ir.Value{Name: uniq(v.Name + "_dequantized")}
			for _, n := range g.Nodes {
				for i, in := range n.Inputs {
					if in == v {
						n.Inputs[i] = dq
					}
				}
			}
			src = v
		} else {
			// The producer writes a new value; the DQ writes v.
			src = &ir.Value{Name: uniq(v.Name + "_float"), Type: v.Type}
			for i, o := range prod.Outputs {
				if o == v {
					prod.Outputs[i] = src
				}
			}
			dq = v
		}
		qn := &ir.Node{Name: uniq(v.Name + "_QuantizeLinear"), OpType: "QuantizeLinear", Inputs: []*ir.Value{src, sc, zp}, Outputs: []*ir.Value{vq}}
		dn := &ir.Node{Name: uniq(v.Name + "_DequantizeLinear"), OpType: "DequantizeLinear", Inputs: []*ir.Value{vq, sc, zp}, Outputs: []*ir.Value{dq}}
		if prod == nil {
			atStart = append(atStart, qn, dn)
		} else {
			insertAfter[prod] = append(insertAfter[prod], qn, dn)
		}
	}
	// Weights and biases.
	type wq struct {
		v     *ir.Value
		scale []float32
	}
	wcache := map[string]wq{}
	for _, n := range g.Nodes {
		x := weighted[n]
		if x == nil {
			continue
		}
		w := n.Inputs[1]
		axis := 0
		switch {
		case n.OpType == "MatMul", n.OpType == "Gemm" && n.AttrInt("transB", 0) == 0:
			axis = 1
		}
		key := fmt.Sprintf("%s/%d", w.Name, axis)
		q, ok := wcache[key]
		if !ok {
			var dqn *ir.Node
			q.v, q.scale, dqn = quantWeights(uniq, addConst, w, axis, o.PerTensor, o.ReduceRange)
			wcache[key] = q
			insertAfter[nil] = append(insertAfter[nil], dqn)
		}
		n.Inputs[1] = q.v
		if len(n.Inputs) > 2 && n.Inputs[2] != nil && seen[x] {
			sx := paramOf(x).scale
			bv, dqn := quantBias(uniq, addConst, n.Inputs[2], sx, q.scale)
			n.Inputs[2] = bv
			insertAfter[nil] = append(insertAfter[nil], dqn)
		}
	}
	newNodes = append(newNodes, insertAfter[nil]...)
	newNodes = append(newNodes, atStart...)
	for _, n := range g.Nodes {
		newNodes = append(newNodes, n)
		newNodes = append(newNodes, insertAfter[n]...)
	}
	g.Nodes = newNodes
	// Drop the float weights nothing reads any more.
	read := map[*ir.Value]bool{}
	for _, n := range g.Nodes {
		for _, v := range n.Inputs {
			read[v] = true
		}
	}
	for _, v := range g.Outputs {
		read[v] = true
	}
	consts := g.Consts[:0]
	for _, c := range g.Consts {
		if read[c] {
			consts = append(consts, c)
		}
	}
	g.Consts = consts
	if err := g.TopoSort(); err != nil {
		return nil, err
	}
	if err := ir.Verify(q); err != nil {
		return nil, fmt.Errorf("qdqtest: %v", err)
	}
	return q, nil
}

// quantWeights adds w quantised to int8 symmetric per index of axis (or
// per tensor) and a DequantizeLinear of it; it returns the DQ output, the
// scales and the node.
func quantWeights(uniq func(string) string, addConst func(string, *ir.Tensor) *ir.Value, w *ir.Value, axis int, perTensor, reduce bool) (*ir.Value, []float32, *ir.Node) {
	t := w.Const
	dims := t.Dims
	vals := t.Float32View()
	n := int(dims[axis])
	inner := int(ir.NumElements(dims[axis+1:]))
	absmax := make([]float32, n)
	for i, v := range vals {
		c := (i / inner) % n
		absmax[c] = max(absmax[c], float32(math.Abs(float64(v))))
	}
	if perTensor {
		m := float32(0)
		for _, a := range absmax {
			m = max(m, a)
		}
		absmax = []float32{m}
	}
	qmax := float32(127)
	if reduce {
		qmax = 63
	}
	scale := make([]float32, len(absmax))
	for i, a := range absmax {
		scale[i] = a / qmax
		if !(scale[i] > 0) {
			scale[i] = 1
		}
	}
	q := ir.NewTensor(ir.Int8, dims...)
	for i, v := range vals {
		s := scale[0]
		if len(scale) > 1 {
			s = scale[(i/inner)%n]
		}
		q.Data[i] = byte(int8(min(max(math.RoundToEven(float64(v/s)), -float64(qmax)), float64(qmax))))
	}
	var sdims []int64
	if len(scale) > 1 {
		sdims = []int64{int64(len(scale))}
	}
	qv := addConst((w.Name + "_quantized"), q)
	sv := addConst((w.Name + "_scale"), ir.FromFloat32(sdims, scale))
	zv := addConst((w.Name + "_zero_point"), ir.NewTensor(ir.Int8, sdims...))
	out := &ir.Value{Name: uniq(w.Name + "_dequantized")}
	dn := &ir.Node{Name: uniq(w.Name + "_DequantizeLinear"), OpType: "DequantizeLinear",
		Inputs: []*ir.Value{qv, sv, zv}, Outputs: []*ir.Value{out}}
	if len(scale) > 1 {
		dn.Attrs = []*ir.Attribute{ir.IntAttr("axis", int64(axis))}
	}
	full := make([]float32, n)
	for i := range full {
		full[i] = scale[min(i, len(scale)-1)]
	}
	return out, full, dn
}

// quantBias adds bias b quantised to int32 with scale sx·sw[m].
func quantBias(uniq func(string) string, addConst func(string, *ir.Tensor) *ir.Value, b *ir.Value, sx float32, sw []float32) (*ir.Value, *ir.Node) {
	vals := b.Const.Float32View()
	n := len(vals)
	q := ir.NewTensor(ir.Int32, int64(n))
	qv := make([]int32, n)
	scale := make([]float32, n)
	for i, v := range vals {
		scale[i] = sx * sw[min(i, len(sw)-1)]
		qv[i] = int32(min(max(math.RoundToEven(float64(v/scale[i])), math.MinInt32), math.MaxInt32))
	}
	for i, v := range qv {
		q.Data[4*i], q.Data[4*i+1], q.Data[4*i+2], q.Data[4*i+3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
	}
	bq := addConst((b.Name + "_quantized"), q)
	sv := addConst((b.Name + "_scale"), ir.FromFloat32([]int64{int64(n)}, scale))
	zv := addConst((b.Name + "_zero_point"), ir.NewTensor(ir.Int32, int64(n)))
	out := &ir.Value{Name: uniq(b.Name + "_dequantized")}
	dn := &ir.Node{Name: uniq(b.Name + "_DequantizeLinear"), OpType: "DequantizeLinear",
		Inputs: []*ir.Value{bq, sv, zv}, Outputs: []*ir.Value{out}, Attrs: []*ir.Attribute{ir.IntAttr("axis", 0)}}
	return out, dn
}
