package passes

import (
	"encoding/binary"
	"slices"
	"strings"

	"github.com/nncc/nncc/ir"
)

// ConvertFloat16 stores and computes a float32 model in float16.
var ConvertFloat16 = &Pass{
	Name: "convert-float16",
	Doc: `Convert float32 weights and computation to float16, keeping float32 where onnxruntime's CPU provider has no float16 kernel.

Every float32 constant becomes float16 (halving weight bytes); nodes run
in float16 unless their op type is in block, in which case they run in
float32 with Casts at their edges (their float16 weights are cast back
when the model loads, which onnxruntime folds). Constants above the
float16 range saturate to ±65504. With keep-io (the default) the graph's
inputs and outputs stay float32, with Casts at the edges. Inputs that
must stay float32 whatever T is (Resize's roi and scales) are left
alone; nodes with subgraphs, and nodes whose output types are unknown,
stay float32. Cast nodes to float32 inside the float16 region cast to
float16 instead.`,
	Options: []Option{
		{Name: "keep-io", Type: Bool, Default: true, Doc: "keep graph inputs and outputs float32 (Casts at the edges)"},
		{Name: "block", Type: String, Default: strings.Join(fp16Blocked, ":"), Doc: "op types left in float32, separated by ':' (default: those onnxruntime's CPU provider cannot run in float16)"},
	},
	Lossy: true,
	Run:   runConvertFloat16,
}

// fp16Blocked are op types left in float32 by default: those whose
// results are indices or depend on exact float32 arithmetic (box
// selection, ranges, cumulative sums), and those whose outputs are float32
// by definition (random generators, ConstantOfShape, EyeLike). Measured:
// onnxruntime 1.30's CPU provider runs every other op of the digits
// models, PaddleOCR's classifier and the torchvision models in float16,
// inserting its own Casts around ops it has no float16 kernel for.
var fp16Blocked = []string{
	"ConstantOfShape", "CumSum", "EyeLike", "Multinomial", "NonMaxSuppression", "RandomNormal", "RandomNormalLike",
	"RandomUniform", "RandomUniformLike", "Range", "RoiAlign", "TopK",
}

// fp32Inputs are inputs that are float32 whatever the op's T is.
var fp32Inputs = map[string][]int{"Resize": {1, 2}, "Upsample": {1}}

func toF16(t *ir.Tensor) *ir.Tensor {
	xs := t.Float32View()
	out := ir.NewTensor(ir.Float16, t.Dims...)
	for i, x := range xs {
		if x > 65504 {
			x = 65504
		} else if x < -65504 {
			x = -65504
		}
		binary.LittleEndian.PutUint16(out.Data[2*i:], ir.Float32ToFloat16(x))
	}
	return out
}

func runConvertFloat16(c *Context) error {
	m := c.Model
	g := m.Graph
	blocked := map[string]bool{}
	for _, op := range splitList(c.String("block")) {
		blocked[op] = true
	}
	keepIO := c.Bool("keep-io")
	_ = ir.InferShapes(m)
	isF32 := func(v *ir.Value) bool {
		if v == nil {
			return false
		}
		if v.Const != nil {
			return v.Const.DType == ir.Float32
		}
		return v.Type != nil && v.Type.IsTensor() && v.Type.DType == ir.Float32
	}
	// Decide which nodes run in float16.
	half := map[*ir.Node]bool{}
	count := 0
	for _, n := range g.Nodes {
		if blocked[n.OpType] || n.Domain != "" || len(n.Subgraphs()) > 0 {
			continue
		}
		ok, any := true, false
		for _, o := range n.Outputs {
			if o == nil {
				continue
			}
			if o.Type == nil || !o.Type.IsTensor() || o.Type.DType == ir.Undefined {
				ok = false
			}
			any = any || isF32(o)
		}
		for _, in := range n.Inputs {
			any = any || isF32(in)
		}
		if ok && any {
			half[n] = true
			count++
		}
	}
	constF16 := map[*ir.Value]bool{}
	for _, v := range g.Consts {
		if v.Const.DType == ir.Float32 && c.ConstOf(v) != nil {
			constF16[v] = true
		}
	}
	if count == 0 && len(constF16) == 0 {
		c.Declinef(nil, "no float32 weights or computation")
		return nil
	}
	// Which float32 runtime values become float16: outputs of float16
	// nodes that were float32 (and graph inputs with keep-io=false).
	f16 := map[*ir.Value]bool{}
	inputs := map[*ir.Value]bool{}
	for _, v := range g.Inputs {
		inputs[v] = true
		if !keepIO && isF32(v) && v.Const == nil {
			f16[v] = true
		}
	}
	for n := range half {
		for _, o := range n.Outputs {
			if isF32(o) {
				f16[o] = true
			}
		}
	}
	fresh := func(base string) string { return c.NewName(g, base) }
	toHalf := map[*ir.Value]*ir.Value{} // float32 value -> its float16 cast
	toFull := map[*ir.Value]*ir.Value{} // float16 value -> its float32 cast
	halfConst := map[*ir.Value]*ir.Value{}
	var pre []*ir.Node
	after := map[*ir.Value][]*ir.Node{}
	emitAfter := func(v *ir.Value, n *ir.Node) {
		after[v] = append(after[v], n)
	}
	constHalf := func(v *ir.Value) *ir.Value {
		if h := halfConst[v]; h != nil {
			return h
		}
		h := &ir.Value{Name: fresh(v.Name + "_fp16"), Const: toF16(v.Const)}
		h.Type = ir.TensorType(ir.Float16, v.Const.Dims...)
		g.Consts = append(g.Consts, h)
		halfConst[v] = h
		return h
	}
	for _, n := range g.Nodes {
		for i, in := range n.Inputs {
			if in == nil || !(isF32(in) || f16[in]) {
				continue
			}
			wantHalf := half[n] && !slices.Contains(fp32Inputs[n.OpType], i)
			if n.OpType == "Cast" || n.OpType == "Shape" || n.OpType == "Size" {
				wantHalf = f16[in] || (constF16[in])
			}
			switch {
			case constF16[in]:
				h := constHalf(in)
				if wantHalf {
					n.Inputs[i] = h
				} else {
					if toFull[h] == nil {
						out := &ir.Value{Name: fresh(in.Name + "_fp32"), Type: ir.TensorType(ir.Float32, in.Const.Dims...)}
						pre = append(pre, castNode(fresh(in.Name+"_Cast"), h, out, ir.Float32))
						toFull[h] = out
					}
					n.Inputs[i] = toFull[h]
				}
			case f16[in] && !wantHalf:
				if toFull[in] == nil {
					out := &ir.Value{Name: fresh(in.Name + "_fp32"), Type: retype(in.Type, ir.Float32)}
					cn := castNode(fresh(in.Name+"_Cast"), in, out, ir.Float32)
					if inputs[in] {
						pre = append(pre, cn)
					} else {
						emitAfter(in, cn)
					}
					toFull[in] = out
				}
				n.Inputs[i] = toFull[in]
			case !f16[in] && in.Const == nil && wantHalf:
				if toHalf[in] == nil {
					out := &ir.Value{Name: fresh(in.Name + "_fp16"), Type: retype(in.Type, ir.Float16)}
					cn := castNode(fresh(in.Name+"_Cast"), in, out, ir.Float16)
					if inputs[in] {
						pre = append(pre, cn)
					} else {
						emitAfter(in, cn)
					}
					toHalf[in] = out
				}
				n.Inputs[i] = toHalf[in]
			}
		}
		if half[n] && n.OpType == "Cast" && n.AttrInt("to", 0) == int64(ir.Float32) {
			n.SetAttr(ir.IntAttr("to", int64(ir.Float16)))
		}
	}
	// Retype the float16 values; graph outputs get a Cast back under
	// their name with keep-io.
	for v := range f16 {
		if v.Type != nil {
			v.Type = retype(v.Type, ir.Float16)
		}
	}
	for i, o := range g.Outputs {
		if !f16[o] || !keepIO {
			continue
		}
		name := o.Name
		o.Name = fresh(name + "_fp16")
		out := &ir.Value{Name: name, Type: retype(o.Type, ir.Float32), DocString: o.DocString}
		emitAfter(o, castNode(fresh(name+"_Cast"), o, out, ir.Float32))
		g.Outputs[i] = out
	}
	var nodes []*ir.Node
	nodes = append(nodes, pre...)
	for _, v := range g.Inputs {
		nodes = append(nodes, after[v]...)
	}
	for _, n := range g.Nodes {
		nodes = append(nodes, n)
		for _, o := range n.Outputs {
			nodes = append(nodes, after[o]...)
		}
	}
	g.Nodes = nodes
	dropUnreadConsts(g, constF16)
	c.Changed()
	return nil
}

func retype(t *ir.Type, dt ir.DType) *ir.Type {
	if t == nil {
		return &ir.Type{Kind: ir.KindTensor, DType: dt}
	}
	c := t.Clone()
	c.DType = dt
	return c
}

func castNode(name string, in, out *ir.Value, to ir.DType) *ir.Node {
	return &ir.Node{Name: name, OpType: "Cast", Inputs: []*ir.Value{in}, Outputs: []*ir.Value{out},
		Attrs: []*ir.Attribute{ir.IntAttr("to", int64(to))}}
}
