package quant

import (
	"math"

	"github.com/nncc/nncc/ir"
)

// Dynamic quantization: weights are quantized offline to int8 (per
// output channel or per tensor, symmetric); activations are quantized
// at run time by DynamicQuantizeLinear (uint8, from each run's own
// range), multiplied in integers by MatMulInteger or ConvInteger, and the
// int32 result is scaled back to float (Cast, Mul by s_x·s_w, Add bias).
// No calibration data is needed.

var dynamicRules = map[string]rule{
	"MatMul": func(pl *planner, n *ir.Node) (*Layer, string) {
		l, _, why := weighted(pl, n, true, twoDims, "B is not a 2-D float32 constant", "A is not a float32 activation")
		if l == nil {
			return nil, why
		}
		if pl.cfg.PerChannel {
			l.WeightAxis = 1
		}
		return l, ""
	},
	"Gemm": func(pl *planner, n *ir.Node) (*Layer, string) {
		if len(n.Inputs) < 2 || len(n.Outputs) != 1 {
			return nil, "unexpected arity"
		}
		if n.AttrInt("transA", 0) != 0 {
			return nil, "transA is set"
		}
		l, _, why := weighted(pl, n, false, twoDims, "B is not a 2-D float32 constant", "A is not a float32 activation")
		if l == nil {
			return nil, why
		}
		if pl.cfg.PerChannel {
			l.WeightAxis = 1 // after B is transposed to (K, N)
		}
		if len(n.Inputs) > 2 && n.Inputs[2] != nil {
			if pl.constOf(n.Inputs[2]) == nil && !pl.isFloatAct(n.Inputs[2], false) {
				return nil, "C is not float32"
			}
			l.Bias = n.Inputs[2]
		}
		return l, ""
	},
	"Conv": func(pl *planner, n *ir.Node) (*Layer, string) {
		l, _, why := weighted(pl, n, false, func(d []int64) bool { return len(d) >= 3 }, "the weight is not a float32 constant", "the input is not a float32 activation")
		if l == nil {
			return nil, why
		}
		if pl.cfg.PerChannel {
			l.WeightAxis = 0
		}
		if len(n.Inputs) > 2 && n.Inputs[2] != nil {
			l.Bias = n.Inputs[2]
		}
		return l, ""
	},
}

func transpose2(t *ir.Tensor) *ir.Tensor {
	r, c := int(t.Dims[0]), int(t.Dims[1])
	xs := t.Float32View()
	out := make([]float32, len(xs))
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			out[j*r+i] = xs[i*c+j]
		}
	}
	return ir.FromFloat32([]int64{int64(c), int64(r)}, out)
}

func (p *Plan) applyDynamic() (*Result, error) {
	g := p.Model.Graph
	nm := newNamer(g)
	builders := map[*ir.Graph]*builder{}
	res := &Result{}
	repl := map[*ir.Node][]*ir.Node{}
	// One quantized weight per (weight, transposed) pair.
	type wq struct {
		q, scale *ir.Value
		scales   []float32
	}
	type wkey struct {
		g *ir.Graph
		v *ir.Value
	}
	shared := map[wkey]map[bool]*wq{}
	for _, l := range p.Layers {
		n := l.Node
		b := builders[l.Graph]
		if b == nil {
			b = &builder{g: l.Graph, nm: nm}
			builders[l.Graph] = b
		}
		wk := wkey{l.Graph, l.Weight}
		x := l.Acts[0]
		wt := l.Weight.Const
		trans := n.OpType == "Gemm" && n.AttrInt("transB", 0) != 0
		if shared[wk] == nil {
			shared[wk] = map[bool]*wq{}
		}
		w := shared[wk][trans]
		if w == nil {
			if trans {
				wt = transpose2(wt)
			}
			am := channelAbsMax(wt, l.WeightAxis)
			scales := make([]float32, len(am))
			for i, a := range am {
				scales[i] = WeightScale(a, p.Config.weightMax())
			}
			qm := float64(p.Config.weightMax())
			xs := wt.Float32View()
			q := ir.NewTensor(ir.Int8, wt.Dims...)
			inner, ch := 1, 1
			if l.WeightAxis >= 0 {
				inner, ch = int(ir.NumElements(wt.Dims[l.WeightAxis+1:])), int(wt.Dims[l.WeightAxis])
			}
			for i, v := range xs {
				s := scales[(i/inner)%ch]
				q.Data[i] = byte(int8(math.Max(-qm, math.Min(qm, math.RoundToEven(float64(v)/float64(s))))))
			}
			w = &wq{q: b.konst(l.Weight.Name+"_quantized", q), scales: scales}
			shared[wk][trans] = w
		}
		alpha := float32(1)
		if n.OpType == "Gemm" {
			alpha = n.AttrFloat("alpha", 1)
		}
		sc := make([]float32, len(w.scales))
		for i, s := range w.scales {
			sc[i] = s * alpha
		}
		var scaleT *ir.Tensor
		switch {
		case len(sc) == 1:
			scaleT = ir.FromFloat32(nil, sc)
		case n.OpType == "Conv":
			dims := []int64{int64(len(sc))}
			for range len(wt.Dims) - 2 {
				dims = append(dims, 1)
			}
			scaleT = ir.FromFloat32(dims, sc)
		default:
			scaleT = ir.FromFloat32([]int64{int64(len(sc))}, sc)
		}
		base := x.Name
		xq, xs, xz := b.value(base+"_quantized", ir.Uint8), b.value(base+"_scale", ir.Float32), b.value(base+"_zero_point", ir.Uint8)
		dql := &ir.Node{Name: b.nm.name(l.ID + "_DynamicQuantizeLinear"), OpType: "DynamicQuantizeLinear",
			Inputs: []*ir.Value{x}, Outputs: []*ir.Value{xq, xs, xz}}
		acc := b.value(l.Raw.Name+"_int32", ir.Int32)
		wz := b.konst(l.Weight.Name+"_zero_point", ir.NewTensor(ir.Int8))
		var mm *ir.Node
		if n.OpType == "Conv" {
			mm = &ir.Node{Name: b.nm.name(l.ID + "_ConvInteger"), OpType: "ConvInteger",
				Inputs: []*ir.Value{xq, w.q, xz, wz}, Outputs: []*ir.Value{acc}}
			for _, a := range n.Attrs {
				mm.Attrs = append(mm.Attrs, a)
			}
		} else {
			mm = &ir.Node{Name: b.nm.name(l.ID + "_MatMulInteger"), OpType: "MatMulInteger",
				Inputs: []*ir.Value{xq, w.q, xz, wz}, Outputs: []*ir.Value{acc}}
		}
		accf := b.value(l.Raw.Name+"_int32_float", ir.Float32)
		cast := &ir.Node{Name: b.nm.name(l.ID + "_Cast"), OpType: "Cast", Inputs: []*ir.Value{acc}, Outputs: []*ir.Value{accf},
			Attrs: []*ir.Attribute{ir.IntAttr("to", int64(ir.Float32))}}
		ws := b.konst(l.Weight.Name+"_scale", scaleT)
		s := b.value(l.Raw.Name+"_scale", ir.Float32)
		mulS := &ir.Node{Name: b.nm.name(l.ID + "_scale_Mul"), OpType: "Mul", Inputs: []*ir.Value{xs, ws}, Outputs: []*ir.Value{s}}
		nodes := []*ir.Node{dql, mm, cast, mulS}
		out := l.Raw
		if l.Bias != nil {
			y0 := b.value(l.Raw.Name+"_unbiased", ir.Float32)
			nodes = append(nodes, &ir.Node{Name: b.nm.name(l.ID + "_Mul"), OpType: "Mul", Inputs: []*ir.Value{accf, s}, Outputs: []*ir.Value{y0}})
			bias := l.Bias
			if bt := p.constOf(l.Bias); bt != nil {
				beta := float32(1)
				if n.OpType == "Gemm" {
					beta = n.AttrFloat("beta", 1)
				}
				xs := bt.Float32s()
				for i := range xs {
					xs[i] *= beta
				}
				dims := bt.Dims
				if n.OpType == "Conv" {
					dims = []int64{bt.Dims[0]}
					for range len(wt.Dims) - 2 {
						dims = append(dims, 1)
					}
				}
				bias = b.konst(l.Bias.Name+"_scaled", ir.FromFloat32(dims, xs))
			} else if n.OpType == "Gemm" && n.AttrFloat("beta", 1) != 1 {
				bb := b.value(l.Bias.Name+"_scaled", ir.Float32)
				beta := b.konst(l.Bias.Name+"_beta", ir.Scalar(n.AttrFloat("beta", 1)))
				nodes = append(nodes, &ir.Node{Name: b.nm.name(l.ID + "_beta_Mul"), OpType: "Mul", Inputs: []*ir.Value{l.Bias, beta}, Outputs: []*ir.Value{bb}})
				bias = bb
			}
			nodes = append(nodes, &ir.Node{Name: b.nm.name(l.ID + "_Add"), OpType: "Add", Inputs: []*ir.Value{y0, bias}, Outputs: []*ir.Value{out}})
		} else {
			nodes = append(nodes, &ir.Node{Name: b.nm.name(l.ID + "_Mul"), OpType: "Mul", Inputs: []*ir.Value{accf, s}, Outputs: []*ir.Value{out}})
		}
		repl[n] = nodes
		res.Layers = append(res.Layers, &LayerReport{ID: l.ID, OpType: l.OpType,
			WeightScaleMin: minF(w.scales), WeightScaleMax: maxF(w.scales), WeightChannels: len(w.scales)})
	}
	g.Walk(func(sg *ir.Graph) {
		if builders[sg] == nil {
			return
		}
		var nodes []*ir.Node
		for _, n := range sg.Nodes {
			if r, ok := repl[n]; ok {
				nodes = append(nodes, r...)
			} else {
				nodes = append(nodes, n)
			}
		}
		sg.Nodes = nodes
	})
	g.Walk(dropUnusedConsts)
	return res, nil
}

func (p *Plan) constOf(v *ir.Value) *ir.Tensor {
	if v == nil || v.Const == nil {
		return nil
	}
	for _, in := range p.Model.Graph.Inputs {
		if in == v && (p.Model.IRVersion >= 4 || p.Model.IRVersion == 0) {
			return nil
		}
	}
	return v.Const
}

func minF(xs []float32) float32 {
	m := xs[0]
	for _, x := range xs {
		m = min(m, x)
	}
	return m
}

func maxF(xs []float32) float32 {
	m := xs[0]
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}
