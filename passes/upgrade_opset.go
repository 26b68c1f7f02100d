package passes

import (
	"errors"
	"fmt"
	"strings"

	"github.com/nncc/nncc/ir"
)

// UpgradeOpset raises the default-domain opset, rewriting the operators
// whose form changed on the way.
var UpgradeOpset = &Pass{
	Name: "upgrade-opset",
	Doc: `Raise the model's default-domain opset to "to", rewriting operators whose form changed on the way.

Conversions, by the opset where the form changed:

  2   Pad: paddings → pads; LpPool, GlobalLpPool: a float p → int.
  4   Concat: the axis, optional before, is written (1).
  5   Reshape: shape attribute → input.
  6   consumed_inputs is dropped everywhere; Cast: "to" as a type name → enum.
  7   Add, Sub, Mul, Div, Pow, And, Or, Xor, Equal, Greater, Less: legacy
      broadcast/axis attributes → NumPy broadcasting (a constant or
      static-shaped B aligned at axis is reshaped); Gemm drops broadcast;
      Dropout and BatchNormalization drop is_test; Upsample's
      height_scale/width_scale → scales.
  9   BatchNormalization drops spatial (spatial=0 is refused);
      Upsample: scales attribute → input.
  10  Slice: starts/ends/axes → inputs; TopK: k → input; Upsample → Resize
      (asymmetric coordinates, nearest_mode floor); Dropout's mask becomes
      bool (refused when the mask is read); experimental operators removed
      in 10 (ImageScaler, Crop, Affine, …) are refused.
  11  Clip: min/max → inputs; Pad: pads/value → inputs; Resize-10 →
      Resize-11 (roi input, asymmetric coordinates, nearest_mode floor or
      ceil from constant scales); Scatter → ScatterElements.
  12  Dropout: ratio → input.
  13  Squeeze, Unsqueeze, ReduceSum: axes → input; Split: split → input;
      Softmax, LogSoftmax, Hardmax: the axis now names one axis, so a
      non-last axis becomes Flatten → op → Reshape; Resize drops an empty
      roi ("tf_half_pixel_for_nn" is refused).
  14  BatchNormalization with statistics outputs (training) is refused.
  16  RoiAlign: the old behaviour is written as
      coordinate_transformation_mode="output_half_pixel" (the new default
      is half_pixel).
  18  ReduceMean/Max/Min/Prod/L1/L2/LogSum/LogSumExp/SumSquare: axes →
      input; Split without split gets num_outputs.
  20  GridSample: modes bilinear/bicubic → linear/cubic; DFT: axis
      attribute → input (written, as the default changed from 1 to −2).
  21  GroupNormalization: per-group scale and bias → per-channel.

Operators whose newer versions only add types or optional attributes
with the old behaviour as default need nothing (BatchNormalization at 15,
Resize at 18 and 19, Pad at 18 and 19, and so on). Scan before 9, Tile with three inputs, recurrent operators
with output_sequence and PRelu with a non-scalar slope across 7 are
refused. The pass checks every node before changing any: when one cannot
be converted the model is left unchanged and the error lists them all.
The IR version is raised to the one the target opset requires. Nodes of
other domains are left alone.`,
	Options: []Option{
		{Name: "to", Type: Int, Default: int64(21), Doc: "the default-domain opset to reach (at most 22)"},
	},
	Run: runUpgradeOpset,
}

// newestOpset is the newest opset upgrade-opset knows the changes up to.
const newestOpset = 22

// irVersionFor is the IR version each opset needs (from ONNX's version
// table); opsets below 9 work with IR 3.
var irVersionFor = map[int64]int64{9: 4, 10: 5, 11: 6, 12: 7, 13: 7, 14: 7, 15: 8, 16: 8, 17: 8, 18: 8, 19: 9, 20: 9, 21: 10, 22: 10}

// removedIn10 are experimental operators ONNX dropped at opset 10.
var removedIn10 = map[string]bool{
	"ATen": true, "Affine": true, "ConstantFill": true, "Crop": true, "DynamicSlice": true,
	"GRUUnit": true, "GivenTensorFill": true, "ImageScaler": true, "ParametricSoftplus": true,
	"Scale": true, "ScaledTanh": true,
}

var legacyBroadcast = map[string]bool{
	"Add": true, "Sub": true, "Mul": true, "Div": true, "Pow": true, "And": true, "Or": true,
	"Xor": true, "Equal": true, "Greater": true, "Less": true,
}

var reduceOps18 = map[string]bool{
	"ReduceMean": true, "ReduceMax": true, "ReduceMin": true, "ReduceProd": true, "ReduceL1": true,
	"ReduceL2": true, "ReduceLogSum": true, "ReduceLogSumExp": true, "ReduceSumSquare": true,
}

// upgrader converts one node of graph g.
type upgrader struct {
	c        *Context
	g        *ir.Graph
	ix       *ir.Index
	n        *ir.Node
	from, to int64
	edits    []func()
}

func (u *upgrader) crosses(v int64) bool { return u.from < v && v <= u.to }

// then queues an edit; edits run only once every node has been checked.
func (u *upgrader) then(f func()) { u.edits = append(u.edits, f) }

func runUpgradeOpset(c *Context) error {
	from, to := c.Opset(), c.Int("to")
	switch {
	case from == 0:
		return errors.New("the model does not import the default domain")
	case to < from:
		return fmt.Errorf("cannot lower the opset from %d to %d", from, to)
	case to > newestOpset:
		return fmt.Errorf("opset %d is newer than the newest this pass knows (%d)", to, newestOpset)
	case to == from:
		return nil
	}
	c.inferShapes()
	var problems []string
	var edits []func()
	c.Model.Graph.Walk(func(g *ir.Graph) {
		ix := g.BuildIndex()
		for _, n := range g.Nodes {
			if !isDefault(n) {
				continue
			}
			u := &upgrader{c: c, g: g, ix: ix, n: n, from: from, to: to}
			if err := u.plan(); err != nil {
				problems = append(problems, fmt.Sprintf("%s (%s): %v", n.Label(), n.OpType, err))
				continue
			}
			edits = append(edits, u.edits...)
		}
	})
	if len(problems) > 0 {
		const show = 20
		more := ""
		if len(problems) > show {
			more = fmt.Sprintf("\n  ... and %d more", len(problems)-show)
			problems = problems[:show]
		}
		return fmt.Errorf("cannot upgrade from opset %d to %d; model left unchanged:\n  %s%s", from, to, strings.Join(problems, "\n  "), more)
	}
	for _, e := range edits {
		e()
	}
	c.Model.SetOpset("", to)
	if v := irVersionFor[to]; c.Model.IRVersion < v {
		c.Model.IRVersion = v
	}
	c.Model.Graph.Walk(func(g *ir.Graph) {
		if err := g.TopoSort(); err != nil {
			panic(err) // the edits only add nodes fed by earlier values
		}
	})
	c.Changed()
	c.Logf("  opset %d → %d: %d edits", from, to, len(edits))
	return nil
}

// plan checks n and queues its conversion.
func (u *upgrader) plan() error {
	n := u.n
	if u.crosses(6) && n.Attr("consumed_inputs") != nil {
		u.then(func() { n.DelAttr("consumed_inputs") })
	}
	if u.crosses(7) && (n.OpType == "Dropout" || n.OpType == "BatchNormalization") && n.Attr("is_test") != nil {
		u.then(func() { n.DelAttr("is_test") })
	}
	if u.crosses(10) && removedIn10[n.OpType] {
		return fmt.Errorf("the experimental operator %s was removed from ONNX in opset 10", n.OpType)
	}
	switch op := n.OpType; {
	case legacyBroadcast[op]:
		return u.legacyBroadcast()
	case op == "Gemm":
		if u.crosses(7) && n.Attr("broadcast") != nil {
			u.then(func() { n.DelAttr("broadcast") })
		}
	case op == "Cast":
		return u.cast()
	case op == "Concat":
		if u.crosses(4) && n.Attr("axis") == nil {
			u.then(func() { n.SetAttr(ir.IntAttr("axis", 1)) })
		}
	case op == "Reshape":
		if u.crosses(5) {
			return u.attrToInts("shape", 1, true)
		}
	case op == "BatchNormalization":
		return u.batchNorm()
	case op == "Dropout":
		return u.dropout()
	case op == "Clip":
		return u.clip()
	case op == "Pad":
		return u.pad()
	case op == "Slice":
		if u.crosses(10) {
			if n.Attr("starts") == nil || n.Attr("ends") == nil {
				return fmt.Errorf("Slice without starts or ends")
			}
			u.attrToInts("starts", 1, true)
			u.attrToInts("ends", 2, true)
			return u.attrToInts("axes", 3, false)
		}
	case op == "TopK":
		if u.crosses(10) {
			k := n.Attr("k")
			if k == nil {
				return fmt.Errorf("TopK without k")
			}
			u.then(func() {
				u.setInput(1, u.c.addConst(u.g, n.Label()+"_k", ir.FromInt64([]int64{1}, []int64{k.I})))
				n.DelAttr("k")
			})
		}
	case op == "Squeeze", op == "Unsqueeze", op == "ReduceSum":
		if u.crosses(13) {
			return u.attrToInts("axes", 1, op == "Unsqueeze")
		}
	case reduceOps18[op]:
		if u.crosses(18) {
			return u.attrToInts("axes", 1, false)
		}
	case op == "Split":
		return u.split()
	case op == "Softmax", op == "LogSoftmax", op == "Hardmax":
		return u.softmax()
	case op == "Upsample":
		return u.upsample()
	case op == "Resize":
		return u.resize()
	case op == "Scatter":
		if u.crosses(11) {
			u.then(func() { n.OpType = "ScatterElements" })
		}
	case op == "Scan":
		if u.crosses(9) {
			return fmt.Errorf("Scan's batch axis was removed at opset 9; converting Scan-8 is not supported")
		}
	case op == "Tile":
		if u.crosses(6) && len(n.Inputs) == 3 {
			return fmt.Errorf("Tile-1 (tiles and axis inputs) is not supported")
		}
	case op == "LSTM", op == "GRU", op == "RNN":
		if u.crosses(7) && n.Attr("output_sequence") != nil {
			if n.AttrInt("output_sequence", 0) != 0 {
				return fmt.Errorf("output_sequence=1 was removed at opset 7")
			}
			u.then(func() { n.DelAttr("output_sequence") })
		}
	case op == "PRelu":
		if u.crosses(7) {
			if t := u.c.ConstOf(n.Input(1)); t == nil || t.NumElements() != 1 {
				return fmt.Errorf("PRelu's slope broadcasting changed at opset 7; only a single-element constant slope converts")
			}
		}
	case op == "GroupNormalization":
		return u.groupNorm()
	case op == "LpPool", op == "GlobalLpPool":
		if a := n.Attr("p"); u.crosses(2) && a != nil && a.Type == ir.AttrFloat {
			if a.F != float32(int64(a.F)) {
				return fmt.Errorf("p=%g is not an integer, which %s needs from opset 2", a.F, op)
			}
			u.then(func() { n.SetAttr(ir.IntAttr("p", int64(a.F))) })
		}
	case op == "RoiAlign":
		if u.crosses(16) && n.Attr("coordinate_transformation_mode") == nil {
			u.then(func() { n.SetAttr(ir.StringAttr("coordinate_transformation_mode", "output_half_pixel")) })
		}
	case op == "GridSample":
		if mode := n.AttrString("mode", "bilinear"); u.crosses(20) {
			renamed := map[string]string{"bilinear": "linear", "bicubic": "cubic"}[mode]
			if renamed != "" {
				u.then(func() { n.SetAttr(ir.StringAttr("mode", renamed)) })
			}
		}
	case op == "DFT":
		if u.crosses(20) {
			axis := n.AttrInt("axis", 1)
			u.then(func() {
				u.setInput(2, u.c.addConst(u.g, n.Label()+"_axis", ir.FromInt64(nil, []int64{axis})))
				n.DelAttr("axis")
			})
		}
	}
	return nil
}

// setInput sets input i of the node, extending the input list with
// omitted inputs as needed.
func (u *upgrader) setInput(i int, v *ir.Value) {
	for len(u.n.Inputs) <= i {
		u.n.Inputs = append(u.n.Inputs, nil)
	}
	u.n.Inputs[i] = v
}

// attrToInts queues moving the ints attribute name to input i as an
// int64 constant. A missing attribute stays missing (the input is then
// omitted too), unless required.
func (u *upgrader) attrToInts(name string, i int, required bool) error {
	n := u.n
	a := n.Attr(name)
	if a == nil {
		if required {
			return fmt.Errorf("%s without %s", n.OpType, name)
		}
		return nil
	}
	vals := append([]int64{}, a.Ints...)
	u.then(func() {
		u.setInput(i, u.c.addConst(u.g, n.Label()+"_"+name, ir.FromInt64([]int64{int64(len(vals))}, vals)))
		n.DelAttr(name)
	})
	return nil
}

// scalarLike returns a rank-0 constant of dt holding v. Clip and Pad,
// whose attributes become such inputs, take only float types before
// opset 11.
func scalarLike(dt ir.DType, v float64) (*ir.Tensor, error) {
	if !isFloatType(dt) {
		return nil, fmt.Errorf("element type %s is unknown or not a float type", dt)
	}
	return floatTensor(dt, nil, []float64{v}), nil
}

func (u *upgrader) legacyBroadcast() error {
	n := u.n
	if !u.crosses(7) || (n.Attr("broadcast") == nil && n.Attr("axis") == nil) {
		return nil
	}
	drop := func() { n.DelAttr("broadcast"); n.DelAttr("axis") }
	if n.AttrInt("broadcast", 0) == 0 || n.Attr("axis") == nil || len(n.Inputs) != 2 {
		u.then(drop)
		return nil
	}
	a, b := n.Inputs[0], n.Inputs[1]
	ra, rb := rankOf(a), rankOf(b)
	if ra < 0 || rb < 0 {
		return fmt.Errorf("legacy broadcast with axis needs the ranks of both inputs")
	}
	axis := n.AttrInt("axis", 0)
	if axis < 0 {
		axis += int64(ra)
	}
	if axis < 0 || axis+int64(rb) > int64(ra) {
		return fmt.Errorf("legacy broadcast axis %d does not fit ranks %d and %d", n.AttrInt("axis", 0), ra, rb)
	}
	if axis+int64(rb) == int64(ra) {
		u.then(drop) // aligned at the end: NumPy broadcasting agrees
		return nil
	}
	// B must be reshaped to rank ra − axis by appending ones.
	sb, _ := shapeOf(b)
	dims, static := sb.Static()
	newDims := append(append([]int64{}, dims...), ones(int(int64(ra)-axis)-rb)...)
	if t := u.c.ConstOf(b); t != nil {
		u.then(func() {
			r := t.Clone()
			r.Dims = newDims
			n.Inputs[1] = u.c.addConst(u.g, b.Name+"_aligned", r)
			drop()
		})
		return nil
	}
	if !static {
		return fmt.Errorf("legacy broadcast at axis %d needs B constant or of static shape", axis)
	}
	u.then(func() {
		shape := u.c.addConst(u.g, b.Name+"_aligned_shape", ir.FromInt64([]int64{int64(len(newDims))}, newDims))
		rs := u.c.newNode(u.g, "Reshape", b.Name+"_aligned", []*ir.Value{b, shape})
		insertBefore(u.g, n, rs)
		n.Inputs[1] = rs.Outputs[0]
		drop()
	})
	return nil
}

func ones(k int) []int64 {
	s := make([]int64, max(k, 0))
	for i := range s {
		s[i] = 1
	}
	return s
}

// castNames maps the type names Cast-1 used to DTypes.
var castNames = map[string]ir.DType{
	"FLOAT": ir.Float32, "UINT8": ir.Uint8, "INT8": ir.Int8, "UINT16": ir.Uint16, "INT16": ir.Int16,
	"INT32": ir.Int32, "INT64": ir.Int64, "STRING": ir.String, "BOOL": ir.Bool, "FLOAT16": ir.Float16,
	"DOUBLE": ir.Float64, "UINT32": ir.Uint32, "UINT64": ir.Uint64,
}

func (u *upgrader) cast() error {
	n := u.n
	a := n.Attr("to")
	if !u.crosses(6) || a == nil || a.Type != ir.AttrString {
		return nil
	}
	dt, ok := castNames[strings.ToUpper(string(a.S))]
	if !ok {
		return fmt.Errorf("unknown Cast target %q", a.S)
	}
	u.then(func() { n.SetAttr(ir.IntAttr("to", int64(dt))) })
	return nil
}

func (u *upgrader) batchNorm() error {
	n := u.n
	if u.crosses(9) && n.AttrInt("spatial", 1) == 0 {
		return fmt.Errorf("spatial=0 (per-activation statistics) was removed at opset 9")
	}
	if u.crosses(9) && n.Attr("spatial") != nil {
		u.then(func() { n.DelAttr("spatial") })
	}
	if u.crosses(14) {
		for _, o := range n.Outputs[1:] {
			if o != nil {
				return fmt.Errorf("statistics outputs (training mode) changed at opset 14")
			}
		}
	}
	return nil
}

func (u *upgrader) dropout() error {
	n := u.n
	if u.crosses(10) && len(n.Outputs) > 1 && n.Outputs[1] != nil && len(u.ix.Uses[n.Outputs[1]]) > 0 {
		return fmt.Errorf("the mask output is read and its type changes to bool at opset 10 (run remove-dropout first)")
	}
	if u.crosses(12) && n.Attr("ratio") != nil {
		r := float64(n.AttrFloat("ratio", 0.5))
		u.then(func() {
			u.setInput(1, u.c.addConst(u.g, n.Label()+"_ratio", floatTensor(ir.Float32, nil, []float64{r})))
			n.DelAttr("ratio")
		})
	}
	return nil
}

func (u *upgrader) clip() error {
	n := u.n
	if !u.crosses(11) || (n.Attr("min") == nil && n.Attr("max") == nil) {
		return nil
	}
	dt := dtypeOf(n.Input(0))
	var lo, hi *ir.Tensor
	var err error
	if a := n.Attr("min"); a != nil {
		if lo, err = scalarLike(dt, float64(a.F)); err != nil {
			return fmt.Errorf("Clip min → input: %v", err)
		}
	}
	if a := n.Attr("max"); a != nil {
		if hi, err = scalarLike(dt, float64(a.F)); err != nil {
			return fmt.Errorf("Clip max → input: %v", err)
		}
	}
	u.then(func() {
		if lo != nil {
			u.setInput(1, u.c.addConst(u.g, n.Label()+"_min", lo))
		}
		if hi != nil {
			u.setInput(2, u.c.addConst(u.g, n.Label()+"_max", hi))
		}
		n.DelAttr("min")
		n.DelAttr("max")
	})
	return nil
}

func (u *upgrader) pad() error {
	n := u.n
	if u.crosses(2) && n.Attr("paddings") != nil {
		p := n.Attr("paddings")
		u.then(func() {
			n.DelAttr("paddings")
			n.SetAttr(ir.IntsAttr("pads", p.Ints...))
		})
	}
	if !u.crosses(11) {
		return nil
	}
	pads := n.Attr("pads")
	if pads == nil {
		pads = n.Attr("paddings")
	}
	if pads == nil {
		return fmt.Errorf("Pad without pads")
	}
	vals := append([]int64{}, pads.Ints...)
	var cv *ir.Tensor
	if v := float64(n.AttrFloat("value", 0)); v != 0 {
		var err error
		if cv, err = scalarLike(dtypeOf(n.Input(0)), v); err != nil {
			return fmt.Errorf("Pad value → input: %v", err)
		}
	}
	u.then(func() {
		u.setInput(1, u.c.addConst(u.g, n.Label()+"_pads", ir.FromInt64([]int64{int64(len(vals))}, vals)))
		if cv != nil {
			u.setInput(2, u.c.addConst(u.g, n.Label()+"_value", cv))
		}
		n.DelAttr("pads")
		n.DelAttr("paddings")
		n.DelAttr("value")
	})
	return nil
}

func (u *upgrader) split() error {
	n := u.n
	if u.crosses(2) && len(n.Inputs) > 1 && n.Inputs[1] != nil {
		return fmt.Errorf("Split-1 with split as an input is not supported")
	}
	hasSplit := n.Attr("split") != nil || (u.from >= 13 && n.Input(1) != nil)
	if u.crosses(13) {
		if err := u.attrToInts("split", 1, false); err != nil {
			return err
		}
	}
	if u.crosses(18) && !hasSplit && n.Attr("num_outputs") == nil {
		k := int64(len(n.Outputs))
		u.then(func() { n.SetAttr(ir.IntAttr("num_outputs", k)) })
	}
	return nil
}

func (u *upgrader) softmax() error {
	n := u.n
	if !u.crosses(13) {
		return nil
	}
	x, y := n.Input(0), out0(n)
	if x == nil || y == nil {
		return fmt.Errorf("malformed %s", n.OpType)
	}
	axis := n.AttrInt("axis", 1)
	r := rankOf(x)
	if r >= 0 {
		a := axis
		if a < 0 {
			a += int64(r)
		}
		if a < 0 || a >= int64(max(r, 1)) {
			return fmt.Errorf("axis %d out of range for rank %d", axis, r)
		}
		if a == int64(r-1) || r == 0 {
			u.then(func() { n.SetAttr(ir.IntAttr("axis", -1)) })
			return nil
		}
	}
	// Before 13 the op works on x flattened to 2-D at axis: spell that out.
	u.then(func() {
		base := n.Label()
		flat := u.c.newNode(u.g, "Flatten", base+"_flat", []*ir.Value{x}, ir.IntAttr("axis", axis))
		shape := u.c.newNode(u.g, "Shape", base+"_shape", []*ir.Value{x})
		mid := &ir.Value{Name: u.c.NewName(u.g, base+"_2d")}
		reshape := &ir.Node{Name: u.c.NewName(u.g, base+"_reshape"), OpType: "Reshape", Inputs: []*ir.Value{mid, shape.Outputs[0]}, Outputs: []*ir.Value{y}}
		n.Inputs = []*ir.Value{flat.Outputs[0]}
		n.Outputs = []*ir.Value{mid}
		n.SetAttr(ir.IntAttr("axis", -1))
		insertBefore(u.g, n, flat, shape)
		insertAfter(u.g, n, reshape)
	})
	return nil
}

// insertAfter inserts nodes into g just after anchor.
func insertAfter(g *ir.Graph, anchor *ir.Node, nodes ...*ir.Node) {
	for i, n := range g.Nodes {
		if n == anchor {
			g.Nodes = append(g.Nodes[:i+1], append(append([]*ir.Node{}, nodes...), g.Nodes[i+1:]...)...)
			return
		}
	}
	g.Nodes = append(g.Nodes, nodes...)
}

// emptyRoi returns Resize's roi input for the target opset: omitted
// from 13, an empty float tensor before.
func (u *upgrader) emptyRoi() *ir.Value {
	if u.to >= 13 {
		return nil
	}
	return u.c.addConst(u.g, u.n.Label()+"_roi", ir.NewTensor(ir.Float32, 0))
}

func (u *upgrader) upsample() error {
	n := u.n
	mode := n.AttrString("mode", "nearest")
	if mode == "bilinear" {
		mode = "linear"
	}
	if mode != "nearest" && mode != "linear" {
		return fmt.Errorf("Upsample mode %q", mode)
	}
	var scales []float32
	if u.from < 9 {
		switch {
		case n.Attr("scales") != nil:
			scales = n.AttrFloats("scales")
		case n.Attr("height_scale") != nil || n.Attr("width_scale") != nil:
			scales = []float32{1, 1, n.AttrFloat("height_scale", 1), n.AttrFloat("width_scale", 1)}
		default:
			return fmt.Errorf("Upsample without scales")
		}
	} else if n.Input(1) == nil {
		return fmt.Errorf("Upsample without scales")
	}
	switch {
	case u.to < 9:
		if u.crosses(7) {
			u.then(func() {
				n.DelAttr("height_scale")
				n.DelAttr("width_scale")
				n.SetAttr(ir.FloatsAttr("scales", scales...))
				n.SetAttr(ir.StringAttr("mode", mode))
			})
		}
	case u.to == 9:
		if u.from < 9 {
			u.then(func() {
				u.setInput(1, u.c.addConst(u.g, n.Label()+"_scales", ir.FromFloat32([]int64{int64(len(scales))}, scales)))
				n.Attrs = []*ir.Attribute{ir.StringAttr("mode", mode)}
			})
		}
	default:
		// Upsample always enlarges: nearest takes the floor of the
		// asymmetric source coordinate.
		u.then(func() {
			sv := n.Input(1)
			if u.from < 9 {
				sv = u.c.addConst(u.g, n.Label()+"_scales", ir.FromFloat32([]int64{int64(len(scales))}, scales))
			}
			n.OpType = "Resize"
			n.Attrs = []*ir.Attribute{ir.StringAttr("mode", mode)}
			if u.to == 10 {
				n.Inputs = []*ir.Value{n.Inputs[0], sv}
				return
			}
			n.Inputs = []*ir.Value{n.Inputs[0], u.emptyRoi(), sv}
			n.SetAttr(ir.StringAttr("coordinate_transformation_mode", "asymmetric"))
			if mode == "nearest" {
				n.SetAttr(ir.StringAttr("nearest_mode", "floor"))
			}
		})
	}
	return nil
}

func (u *upgrader) resize() error {
	n := u.n
	if u.crosses(11) {
		// Resize-10: (X, scales), asymmetric coordinates; nearest rounds
		// down when enlarging and up when shrinking.
		mode := n.AttrString("mode", "nearest")
		sv := n.Input(1)
		if sv == nil {
			return fmt.Errorf("Resize-10 without scales")
		}
		nearest := ""
		if mode == "nearest" {
			t := u.c.ConstOf(sv)
			if t == nil || !isFloatType(t.DType) {
				return fmt.Errorf("Resize-10 nearest with non-constant scales: cannot choose nearest_mode")
			}
			up, down := false, false
			for _, s := range t.Float64s() {
				up = up || s > 1
				down = down || s < 1
			}
			if up && down {
				return fmt.Errorf("Resize-10 nearest that enlarges some axes and shrinks others has no Resize-11 equivalent")
			}
			nearest = "floor"
			if down {
				nearest = "ceil"
			}
		}
		u.then(func() {
			n.Inputs = []*ir.Value{n.Inputs[0], u.emptyRoi(), sv}
			n.SetAttr(ir.StringAttr("coordinate_transformation_mode", "asymmetric"))
			if nearest != "" {
				n.SetAttr(ir.StringAttr("nearest_mode", nearest))
			}
		})
		return nil
	}
	if u.crosses(13) {
		if n.AttrString("coordinate_transformation_mode", "") == "tf_half_pixel_for_nn" {
			return fmt.Errorf("coordinate_transformation_mode tf_half_pixel_for_nn was removed at opset 13")
		}
		if roi := u.c.ConstOf(n.Input(1)); roi != nil && roi.NumElements() == 0 {
			u.then(func() { n.Inputs[1] = nil })
		}
	}
	return nil
}

func (u *upgrader) groupNorm() error {
	n := u.n
	if !u.crosses(21) {
		return nil
	}
	groups := n.AttrInt("num_groups", 0)
	s, ok := shapeOf(n.Input(0))
	if !ok || len(s) < 2 || !s[1].Known() {
		return fmt.Errorf("GroupNormalization's scale became per-channel at opset 21; the channel count is unknown")
	}
	C := s[1].Value
	if groups <= 0 || C%groups != 0 {
		return fmt.Errorf("num_groups %d does not divide %d channels", groups, C)
	}
	var ts [2]*ir.Tensor
	for i := range ts {
		ts[i] = u.c.ConstOf(n.Input(i + 1))
		if ts[i] == nil || ts[i].NumElements() != groups || !isFloatType(ts[i].DType) {
			return fmt.Errorf("GroupNormalization's scale and bias must be constants of num_groups floats to become per-channel")
		}
	}
	u.then(func() {
		for i, t := range ts {
			src := t.Float64s()
			per := make([]float64, C)
			for ch := range per {
				per[ch] = src[int64(ch)/(C/groups)]
			}
			u.n.Inputs[i+1] = u.c.addConst(u.g, n.Inputs[i+1].Name+"_per_channel", floatTensor(t.DType, []int64{C}, per))
		}
	})
	return nil
}
