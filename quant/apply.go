package quant

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/nncc/nncc/ir"
)

// LayerReport is what the report says about one quantized layer.
type LayerReport struct {
	ID     string `json:"node"`
	OpType string `json:"op_type"`
	// Inputs and Output give the activations' scales and zero points.
	Inputs []TensorParams `json:"inputs,omitempty"`
	Output *TensorParams  `json:"output,omitempty"`
	// WeightScale is the weight's scale, or the smallest and largest of
	// its per-channel scales; WeightChannels counts the scales.
	WeightScaleMin float32 `json:"weight_scale_min,omitempty"`
	WeightScaleMax float32 `json:"weight_scale_max,omitempty"`
	WeightChannels int     `json:"weight_channels,omitempty"`
	// BiasRaised counts channels whose weight scale was raised so the
	// int32 bias would not overflow.
	BiasRaised int `json:"bias_scale_raised,omitempty"`
	// SQNR is the layer output's signal-to-quantization-noise ratio in dB
	// against the float model on the calibration data (set by Measure).
	SQNR *float64 `json:"sqnr_db,omitempty"`
	// BiasShift is the largest bias change of bias correction.
	BiasShift *float64 `json:"bias_shift,omitempty"`
}

// TensorParams are one activation tensor's parameters.
type TensorParams struct {
	Tensor    string  `json:"tensor"`
	Scale     float32 `json:"scale"`
	ZeroPoint int32   `json:"zero_point"`
	Min       float64 `json:"min"`
	Max       float64 `json:"max"`
}

// Result describes what Apply did.
type Result struct {
	Layers []*LayerReport
	// Biases maps a layer ID to its int32 bias constant and the bias
	// scale per channel, for bias correction.
	biases map[string]*biasRec
}

type biasRec struct {
	q      *ir.Value // the int32 constant DequantizeLinear reads
	float  []float64 // the float bias it was made from
	scales []float64 // per channel (one value: per tensor)
	// For the weight's quantization error: the float and dequantized
	// weights, the op's layout, and the input tensor whose per-channel
	// mean the error meets.
	w, wq  []float32
	wdims  []int64
	op     string
	transB bool
	group  int
	input  string
}

// namer hands out names no value of the graph uses.
type namer struct{ used map[string]bool }

func newNamer(g *ir.Graph) *namer {
	nm := &namer{used: map[string]bool{}}
	g.Walk(func(sg *ir.Graph) {
		for _, v := range sg.Inputs {
			nm.used[v.Name] = true
		}
		for _, v := range sg.Consts {
			nm.used[v.Name] = true
		}
		for _, n := range sg.Nodes {
			for _, o := range n.Outputs {
				if o != nil {
					nm.used[o.Name] = true
				}
			}
		}
	})
	return nm
}

func (nm *namer) name(base string) string {
	n := base
	for i := 1; nm.used[n]; i++ {
		n = fmt.Sprintf("%s_%d", base, i)
	}
	nm.used[n] = true
	return n
}

// builder adds constants and nodes to a graph.
type builder struct {
	g  *ir.Graph
	nm *namer
}

func (b *builder) konst(base string, t *ir.Tensor) *ir.Value {
	v := &ir.Value{Name: b.nm.name(base), Const: t, Type: ir.TensorType(t.DType, t.Dims...)}
	b.g.Consts = append(b.g.Consts, v)
	return v
}

func (b *builder) value(base string, dt ir.DType) *ir.Value {
	return &ir.Value{Name: b.nm.name(base), Type: &ir.Type{Kind: ir.KindTensor, DType: dt}}
}

func scalarOf(dt ir.DType, x int32) *ir.Tensor {
	t := ir.NewTensor(dt)
	putInt(t, 0, x)
	return t
}

func putInt(t *ir.Tensor, i int, x int32) {
	switch t.DType {
	case ir.Uint8, ir.Int8:
		t.Data[i] = byte(x)
	case ir.Int32:
		binary.LittleEndian.PutUint32(t.Data[4*i:], uint32(x))
	}
}

func floats32(dims []int64, xs []float32) *ir.Tensor { return ir.FromFloat32(dims, xs) }

// weightRec is one quantized weight (shared by every node reading it
// with the same axis).
type weightRec struct {
	v      *ir.Value
	axis   int
	scales []float32
	dq     *ir.Value
	raised int
}

func channelAbsMax(t *ir.Tensor, axis int) []float64 {
	xs := t.Float32View()
	if axis < 0 {
		m := 0.0
		for _, x := range xs {
			m = math.Max(m, math.Abs(float64(x)))
		}
		return []float64{m}
	}
	ch := int(t.Dims[axis])
	inner := int(ir.NumElements(t.Dims[axis+1:]))
	out := make([]float64, ch)
	for i, x := range xs {
		c := (i / inner) % ch
		out[c] = math.Max(out[c], math.Abs(float64(x)))
	}
	return out
}

// Apply materialises the plan on p.Model (the model NewPlan was given):
// every marked activation gets QuantizeLinear → DequantizeLinear with
// the parameters calibrated in st, every weight becomes an int8
// constant read through DequantizeLinear (per channel along its axis
// when planned so), and biases become int32 constants with scale
// s_x·s_w. The model's opset must be 13 or newer when weights are per
// channel.
func (p *Plan) Apply(st Stats) (*Result, error) {
	m, g, cfg := p.Model, p.Model.Graph, p.Config
	if cfg.Mode == Dynamic {
		return p.applyDynamic()
	}
	if m.Opset("") < 13 {
		for _, l := range p.Layers {
			if l.WeightAxis >= 0 {
				return nil, fmt.Errorf("quant: per-channel weights need opset 13 or newer (the model has %d)", m.Opset(""))
			}
		}
	}
	// Parameters of every marked activation.
	params := map[*ir.Value]Params{}
	ranges := map[*ir.Value][2]float64{}
	for _, v := range p.marks {
		if p.same[v] != nil {
			continue
		}
		r, ok := st[v.Name]
		if !ok {
			return nil, fmt.Errorf("quant: no calibration statistics for tensor %s", v.Name)
		}
		params[v] = ActParams(r[0], r[1], cfg.Activations)
		ranges[v] = r
	}
	for _, v := range p.marks {
		if r := p.same[v]; r != nil {
			params[v], ranges[v] = params[r], ranges[r]
		}
	}
	b := &builder{g: g, nm: newNamer(g)}
	res := &Result{biases: map[string]*biasRec{}}
	// Weights, keyed by value and axis so that a shared weight is
	// quantized once.
	type wkey struct {
		v    *ir.Value
		axis int
	}
	weights := map[wkey]*weightRec{}
	var worder []*weightRec
	for _, l := range p.Layers {
		if l.Weight == nil {
			continue
		}
		k := wkey{l.Weight, l.WeightAxis}
		if weights[k] == nil {
			am := channelAbsMax(l.Weight.Const, l.WeightAxis)
			rec := &weightRec{v: l.Weight, axis: l.WeightAxis, scales: make([]float32, len(am))}
			for i, a := range am {
				rec.scales[i] = WeightScale(a, cfg.weightMax())
			}
			weights[k] = rec
			worder = append(worder, rec)
		}
	}
	// A bias must fit int32 at scale s_x·s_w: raise s_w where it would
	// not (a tiny weight scale under a large bias).
	for _, l := range p.Layers {
		if l.Bias == nil || l.Weight == nil {
			continue
		}
		rec := weights[wkey{l.Weight, l.WeightAxis}]
		sx := float64(params[l.Acts[0]].Scale)
		bs := l.Bias.Const.Float32View()
		for c, bv := range bs {
			i := 0
			if len(rec.scales) > 1 {
				i = c
			}
			need := math.Abs(float64(bv)) / (sx * float64(math.MaxInt32-1))
			if float64(rec.scales[i]) < need {
				rec.scales[i] = float32(need * 1.0001)
				rec.raised++
			}
		}
	}
	var pre, prefix []*ir.Node
	qm := float64(cfg.weightMax())
	for _, rec := range worder {
		t := rec.v.Const
		xs := t.Float32View()
		q := ir.NewTensor(ir.Int8, t.Dims...)
		inner, ch := 1, 1
		if rec.axis >= 0 {
			inner, ch = int(ir.NumElements(t.Dims[rec.axis+1:])), int(t.Dims[rec.axis])
		}
		for i, x := range xs {
			s := rec.scales[(i/inner)%ch]
			v := math.RoundToEven(float64(x) / float64(s))
			q.Data[i] = byte(int8(math.Max(-qm, math.Min(qm, v))))
		}
		qv := b.konst(rec.v.Name+"_quantized", q)
		var sv, zv *ir.Value
		if rec.axis >= 0 {
			sv = b.konst(rec.v.Name+"_scale", floats32([]int64{int64(ch)}, rec.scales))
			zv = b.konst(rec.v.Name+"_zero_point", ir.NewTensor(ir.Int8, int64(ch)))
		} else {
			sv = b.konst(rec.v.Name+"_scale", floats32(nil, rec.scales))
			zv = b.konst(rec.v.Name+"_zero_point", ir.NewTensor(ir.Int8))
		}
		rec.dq = b.value(rec.v.Name+"_dequantized", ir.Float32)
		rec.dq.Type = ir.TensorType(ir.Float32, t.Dims...)
		n := &ir.Node{Name: b.nm.name(rec.v.Name + "_DequantizeLinear"), OpType: "DequantizeLinear",
			Inputs: []*ir.Value{qv, sv, zv}, Outputs: []*ir.Value{rec.dq}}
		if rec.axis >= 0 {
			n.SetAttr(ir.IntAttr("axis", int64(rec.axis)))
		}
		pre = append(pre, n)
	}
	// Biases: int32, zero point 0, scale s_x·s_w.
	for _, l := range p.Layers {
		lr := &LayerReport{ID: l.ID, OpType: l.OpType}
		for _, a := range l.Acts {
			pa, r := params[a], ranges[a]
			lr.Inputs = append(lr.Inputs, TensorParams{a.Name, pa.Scale, pa.ZeroPoint, r[0], r[1]})
		}
		po, r := params[l.Out], ranges[l.Out]
		lr.Output = &TensorParams{l.Out.Name, po.Scale, po.ZeroPoint, r[0], r[1]}
		res.Layers = append(res.Layers, lr)
		if l.Weight == nil {
			continue
		}
		rec := weights[wkey{l.Weight, l.WeightAxis}]
		lr.WeightScaleMin, lr.WeightScaleMax = slices.Min(rec.scales), slices.Max(rec.scales)
		lr.WeightChannels, lr.BiasRaised = len(rec.scales), rec.raised
		l.Node.Inputs[l.WeightIdx] = rec.dq
		if l.Bias == nil {
			continue
		}
		sx := params[l.Acts[0]].Scale
		bt := l.Bias.Const
		scales := make([]float32, len(rec.scales))
		sc64 := make([]float64, len(rec.scales))
		for i, sw := range rec.scales {
			scales[i] = sx * sw
			sc64[i] = float64(scales[i])
		}
		fl := make([]float64, bt.Dims[0])
		for i, x := range bt.Float32View() {
			fl[i] = float64(x)
		}
		qv := b.konst(l.Bias.Name+"_quantized", quantBias(fl, sc64))
		var sv, zv *ir.Value
		if len(scales) > 1 {
			sv = b.konst(l.Bias.Name+"_scale", floats32([]int64{int64(len(scales))}, scales))
			zv = b.konst(l.Bias.Name+"_zero_point", ir.NewTensor(ir.Int32, int64(len(scales))))
		} else {
			sv = b.konst(l.Bias.Name+"_scale", floats32(nil, scales))
			zv = b.konst(l.Bias.Name+"_zero_point", ir.NewTensor(ir.Int32))
		}
		dq := b.value(l.Bias.Name+"_dequantized", ir.Float32)
		dq.Type = ir.TensorType(ir.Float32, bt.Dims...)
		n := &ir.Node{Name: b.nm.name(l.Bias.Name + "_DequantizeLinear"), OpType: "DequantizeLinear",
			Inputs: []*ir.Value{qv, sv, zv}, Outputs: []*ir.Value{dq}}
		if len(scales) > 1 {
			n.SetAttr(ir.IntAttr("axis", 0))
		}
		pre = append(pre, n)
		l.Node.Inputs[l.BiasIdx] = dq
		wf := l.Weight.Const.Float32View()
		wd := make([]float32, len(wf))
		inner, ch := 1, 1
		if rec.axis >= 0 {
			inner, ch = int(ir.NumElements(l.Weight.Const.Dims[rec.axis+1:])), int(l.Weight.Const.Dims[rec.axis])
		}
		for i, x := range wf {
			s := rec.scales[(i/inner)%ch]
			wd[i] = s * float32(math.Max(-qm, math.Min(qm, math.RoundToEven(float64(x)/float64(s)))))
		}
		res.biases[l.ID] = &biasRec{q: qv, float: fl, scales: sc64, w: wf, wq: wd, wdims: l.Weight.Const.Dims,
			op: l.OpType, transB: l.Node.AttrInt("transB", 0) != 0, group: int(l.Node.AttrInt("group", 1)), input: l.Acts[0].Name}
	}
	// Activations: Q → DQ after the producer; every reader takes the DQ.
	after := map[*ir.Node][]*ir.Node{}
	ix := g.BuildIndex()
	readers := map[*ir.Value][]ir.Use{}
	for _, v := range p.marks {
		readers[v] = slices.Clone(ix.Uses[v])
	}
	for _, v := range p.marks {
		pa := params[v]
		sv := b.konst(v.Name+"_scale", ir.Scalar(pa.Scale))
		zv := b.konst(v.Name+"_zero_point", scalarOf(pa.DType, pa.ZeroPoint))
		qo := b.value(v.Name+"_quantized", pa.DType)
		dqo := b.value(v.Name+"_dequantized", ir.Float32)
		if v.Type != nil {
			qo.Type = v.Type.Clone()
			qo.Type.DType = pa.DType
			dqo.Type = v.Type.Clone()
		}
		qn := &ir.Node{Name: b.nm.name(v.Name + "_QuantizeLinear"), OpType: "QuantizeLinear",
			Inputs: []*ir.Value{v, sv, zv}, Outputs: []*ir.Value{qo}}
		dqn := &ir.Node{Name: b.nm.name(v.Name + "_DequantizeLinear"), OpType: "DequantizeLinear",
			Inputs: []*ir.Value{qo, sv, zv}, Outputs: []*ir.Value{dqo}}
		for _, u := range readers[v] {
			if u.Node != nil && u.Index >= 0 {
				u.Node.Inputs[u.Index] = dqo
			}
		}
		if prod := ix.Producer[v]; prod != nil && ix.IsGraphOutput(v) {
			// The graph output becomes the dequantized tensor, under its
			// name, as an int8 runtime would hand it out.
			name := v.Name
			v.Name = b.nm.name(name + "_float")
			dqo.Name = name
			for i, o := range g.Outputs {
				if o == v {
					g.Outputs[i] = dqo
				}
			}
		}
		if prod := ix.Producer[v]; prod != nil {
			after[prod] = append(after[prod], qn, dqn)
		} else {
			prefix = append(prefix, qn, dqn)
		}
	}
	nodes := append(pre, prefix...)
	for _, n := range g.Nodes {
		nodes = append(nodes, n)
		nodes = append(nodes, after[n]...)
	}
	g.Nodes = nodes
	dropUnusedConsts(g)
	return res, nil
}

func quantBias(b, scales []float64) *ir.Tensor {
	q := ir.NewTensor(ir.Int32, int64(len(b)))
	for i, x := range b {
		s := scales[0]
		if len(scales) > 1 {
			s = scales[i]
		}
		v := math.RoundToEven(x / s)
		v = math.Max(math.MinInt32+1, math.Min(math.MaxInt32, v))
		putInt(q, i, int32(v))
	}
	return q
}

// dropUnusedConsts removes the constants of g no node, subgraph or graph
// output reads (the float weights quantization replaced).
func dropUnusedConsts(g *ir.Graph) {
	used := map[*ir.Value]bool{}
	for _, o := range g.Outputs {
		used[o] = true
	}
	for _, v := range g.Inputs {
		used[v] = true
	}
	g.Walk(func(sg *ir.Graph) {
		for _, n := range sg.Nodes {
			for _, in := range n.Inputs {
				used[in] = true
			}
		}
		for _, o := range sg.Outputs {
			used[o] = true
		}
	})
	kept := g.Consts[:0]
	for _, v := range g.Consts {
		if used[v] {
			kept = append(kept, v)
		}
	}
	for i := len(kept); i < len(g.Consts); i++ {
		g.Consts[i] = nil
	}
	g.Consts = kept
}
