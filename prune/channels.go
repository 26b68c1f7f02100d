package prune

import (
	"fmt"
	"math"
	"sort"

	"github.com/nncc/nncc/ir"
)

// Channel pruning: channel spaces, tied groups and the rewrite.
//
// Every tensor whose axis 1 carries channels belongs to a channel space;
// ops that keep the channels (BatchNormalization, activations, pooling,
// Resize, Pad off the channel axis, depthwise Conv, element-wise ops
// whose operands carry the same channels or broadcast over them) join
// their input's space to their output's, so residual Adds and the
// squeeze-excitation Mul tie the spaces of both operands into one group.
// A Conv (group 1), Gemm or MatMul starts a new space at its output (it
// "produces" the channels) and ends the input's space (it "consumes"
// them: its weight's input axis is sliced). Flatten turns (N, C, H, W)
// into (N, C·H·W); a Gemm or MatMul after it consumes blocks of H·W
// rows. A space that reaches a graph input or output, an op not listed,
// a Concat along the channels, or a shape that is not known, is frozen:
// its channels all stay.

// edit is one change a group's channel removal makes to a node.
type edit struct {
	node   *ir.Node
	input  int // input index of the constant to slice
	axis   int // axis of that constant (negative: from the end)
	factor int // each channel is factor consecutive entries along axis
	group  bool
}

// Group is a set of tied channels: removing channel i removes it from
// every tensor of the group.
type Group struct {
	ID        int
	C         int
	Values    []*ir.Value
	Producers []*ir.Node
	// Frozen says why the group's channels must all stay ("" if they
	// may go).
	Frozen string
	// Keep lists the channels kept, ascending (set by Plan).
	Keep []int

	edits []edit
	flat  map[*ir.Value]int // flattened values and their factor
	// parts, for the output group of a Concat along channels, are the
	// groups of its inputs in order: it keeps what they keep.
	parts []*Group
}

// Graph is the channel analysis of a model's main graph.
type Analysis struct {
	Groups []*Group
	// Of maps each channel-carrying value to its group.
	Of map[*ir.Value]*Group
}

type analyzer struct {
	g      *ir.Graph
	parent map[*ir.Value]*ir.Value
	chans  map[*ir.Value]int
	frozen map[*ir.Value]string
	prods  map[*ir.Value][]*ir.Node
	edits  map[*ir.Value][]edit
	flat   map[*ir.Value]flatInfo
	order  []*ir.Value
	concat []concatInfo
}

// concatInfo is a Concat along the channels: its output's channels are
// its inputs' channels, one block after another.
type concatInfo struct {
	node *ir.Node
	out  *ir.Value
	ins  []*ir.Value
}

type flatInfo struct {
	src    *ir.Value
	factor int
}

func (a *analyzer) find(v *ir.Value) *ir.Value {
	for a.parent[v] != v {
		a.parent[v] = a.parent[a.parent[v]]
		v = a.parent[v]
	}
	return v
}

// add registers v as channel-carrying (when its channel count is known).
func (a *analyzer) add(v *ir.Value) bool {
	if v == nil {
		return false
	}
	if _, ok := a.parent[v]; ok {
		return true
	}
	c := chanOf(v)
	a.parent[v] = v
	a.order = append(a.order, v)
	a.chans[v] = c
	if c <= 0 {
		a.frozen[v] = "its channel count is not known"
	}
	return true
}

func (a *analyzer) union(x, y *ir.Value) {
	a.add(x)
	a.add(y)
	rx, ry := a.find(x), a.find(y)
	if rx == ry {
		return
	}
	if a.chans[rx] != a.chans[ry] {
		a.freeze(rx, "tied tensors have different channel counts")
		a.freeze(ry, "tied tensors have different channel counts")
	}
	a.parent[ry] = rx
	if why, ok := a.frozen[ry]; ok {
		if _, ok2 := a.frozen[rx]; !ok2 {
			a.frozen[rx] = why
		}
	}
	a.prods[rx] = append(a.prods[rx], a.prods[ry]...)
	a.edits[rx] = append(a.edits[rx], a.edits[ry]...)
	delete(a.prods, ry)
	delete(a.edits, ry)
}

func (a *analyzer) freeze(v *ir.Value, why string) {
	if v == nil {
		return
	}
	if f, ok := a.flat[v]; ok {
		v = f.src
	}
	a.add(v)
	r := a.find(v)
	if _, ok := a.frozen[r]; !ok {
		a.frozen[r] = why
	}
}

func (a *analyzer) edit(v *ir.Value, e edit) {
	a.add(v)
	r := a.find(v)
	a.edits[r] = append(a.edits[r], e)
}

// chanOf returns v's axis-1 size, or 0 when unknown or rank < 2.
func chanOf(v *ir.Value) int {
	var s ir.Shape
	switch {
	case v.Const != nil:
		s = ir.ShapeOf(v.Const.Dims...)
	case v.Type != nil && v.Type.HasShape:
		s = v.Type.Shape
	default:
		return 0
	}
	if len(s) < 2 || !s[1].Known() {
		return 0
	}
	return int(s[1].Value)
}

func rankOfV(v *ir.Value) int {
	switch {
	case v == nil:
		return -1
	case v.Const != nil:
		return len(v.Const.Dims)
	case v.Type != nil && v.Type.HasShape:
		return len(v.Type.Shape)
	}
	return -1
}

func dimsOf(v *ir.Value) ([]int64, bool) {
	if v.Const != nil {
		return v.Const.Dims, true
	}
	if v.Type == nil || !v.Type.HasShape {
		return nil, false
	}
	return v.Type.Shape.Static()
}

var unaryOps = map[string]bool{
	"Relu": true, "Clip": true, "Sigmoid": true, "HardSigmoid": true, "HardSwish": true, "Tanh": true,
	"LeakyRelu": true, "Elu": true, "Selu": true, "Softplus": true, "Softsign": true, "Exp": true, "Neg": true,
	"Abs": true, "Sqrt": true, "Identity": true, "Dropout": true, "Erf": true, "Gelu": true, "PRelu": false,
	"MaxPool": true, "AveragePool": true, "GlobalAveragePool": true, "GlobalMaxPool": true, "LpPool": true,
	"Floor": true, "Ceil": true, "Round": true, "Reciprocal": true, "Mish": true, "ThresholdedRelu": true,
	"Celu": true, "Log": true, "Sin": true, "Cos": true,
}

var binaryOps = map[string]bool{"Add": true, "Sub": true, "Mul": true, "Div": true, "Max": true, "Min": true, "Sum": true, "Pow": true}

// Analyze finds the channel groups of m's main graph. Shapes must have
// been inferred (ir.InferShapes) so that channel counts are known.
func Analyze(m *ir.Model) *Analysis {
	g := m.Graph
	a := &analyzer{g: g, parent: map[*ir.Value]*ir.Value{}, chans: map[*ir.Value]int{}, frozen: map[*ir.Value]string{},
		prods: map[*ir.Value][]*ir.Node{}, edits: map[*ir.Value][]edit{}, flat: map[*ir.Value]flatInfo{}}
	isConst := func(v *ir.Value) bool { return constOf(g, v) != nil }
	for _, v := range g.Inputs {
		if v.Const == nil && rankOfV(v) >= 2 {
			a.freeze(v, "it reaches a graph input")
		}
	}
	for _, n := range g.Nodes {
		a.node(n, isConst)
	}
	for _, v := range g.Outputs {
		if rankOfV(v) >= 2 || a.flat[v].src != nil {
			a.freeze(v, "it reaches a graph output")
		}
	}
	// A Concat's output group takes its channels from its inputs' groups:
	// it must produce none itself and be distinct from each of them; when
	// it is frozen, so are they.
	for changed := true; changed; {
		changed = false
		for _, ci := range a.concat {
			ro := a.find(ci.out)
			why, frozen := a.frozen[ro]
			if !frozen && len(a.prods[ro]) > 0 {
				why, frozen = "a Concat's output is tied to channels produced elsewhere", true
				a.frozen[ro] = why
			}
			for _, v := range ci.ins {
				if a.find(v) == ro && !frozen {
					why, frozen = "a Concat reads its own output's channels", true
					a.frozen[ro] = why
				}
			}
			if !frozen {
				continue
			}
			for _, v := range ci.ins {
				if _, ok := a.frozen[a.find(v)]; !ok {
					a.frozen[a.find(v)] = "a Concat along channels reads it and " + why
					changed = true
				}
			}
		}
	}
	derived := map[*ir.Value]bool{}
	for _, ci := range a.concat {
		derived[a.find(ci.out)] = true
	}
	// Collect groups in first-seen order.
	an := &Analysis{Of: map[*ir.Value]*Group{}}
	byRoot := map[*ir.Value]*Group{}
	for _, v := range a.order {
		r := a.find(v)
		gr := byRoot[r]
		if gr == nil {
			gr = &Group{ID: len(an.Groups), C: a.chans[r], Frozen: a.frozen[r], Producers: a.prods[r], edits: a.edits[r], flat: map[*ir.Value]int{}}
			if gr.Frozen == "" && len(gr.Producers) == 0 && !derived[r] {
				gr.Frozen = "no layer produces its channels"
			}
			byRoot[r] = gr
			an.Groups = append(an.Groups, gr)
		}
		gr.Values = append(gr.Values, v)
		an.Of[v] = gr
	}
	for v, f := range a.flat {
		if gr := an.Of[a.find(f.src)]; gr != nil {
			gr.flat[v] = f.factor
		}
	}
	for _, ci := range a.concat {
		gr := an.Of[ci.out]
		if gr.Frozen != "" {
			continue
		}
		for _, v := range ci.ins {
			gr.parts = append(gr.parts, an.Of[v])
		}
	}
	return an
}

func (a *analyzer) node(n *ir.Node, isConst func(*ir.Value) bool) {
	g := a.g
	// freezeAll freezes every channel-carrying input and output of n.
	freezeAll := func(why string) {
		for _, v := range n.Inputs {
			if v != nil && !isConst(v) && (rankOfV(v) >= 2 || a.flat[v].src != nil) {
				a.freeze(v, why)
			}
		}
		for _, v := range n.Outputs {
			if v != nil && rankOfV(v) >= 2 {
				a.freeze(v, why)
			}
		}
	}
	if !isDefault(n) || len(n.Outputs) == 0 || n.Outputs[0] == nil {
		freezeAll(fmt.Sprintf("%s %s reads it", n.OpType, nodeName(n)))
		return
	}
	out := n.Outputs[0]
	in := n.Input(0)
	why := fmt.Sprintf("%s %s reads it", n.OpType, nodeName(n))
	for _, v := range n.Inputs {
		if v != nil && len(n.Subgraphs()) > 0 {
			freezeAll("a subgraph reads it")
			return
		}
	}
	// Flattened values: only a Gemm/MatMul (or Dropout/Identity) may read them.
	if f, ok := a.flat[in]; ok && in != nil {
		switch n.OpType {
		case "Dropout", "Identity":
			a.flat[out] = f
			for _, o := range n.Outputs[1:] {
				if o != nil && o.Name != "" {
					a.freeze(in, "a Dropout mask is used")
				}
			}
			return
		case "Gemm", "MatMul":
			w := constOf(g, n.Input(1))
			if w == nil || len(w.Dims) != 2 || (n.OpType == "Gemm" && n.AttrInt("transA", 0) != 0) {
				a.freeze(in, why)
				break
			}
			axis := 0
			if n.OpType == "Gemm" && n.AttrInt("transB", 0) != 0 {
				axis = 1
			}
			a.edit(f.src, edit{node: n, input: 1, axis: axis, factor: f.factor})
			a.produce(n, out)
			return
		default:
			a.freeze(in, why)
		}
		freezeAll(why)
		return
	}
	switch {
	case n.OpType == "Conv" || n.OpType == "ConvTranspose":
		w := constOf(g, n.Input(1))
		if w == nil || len(w.Dims) < 3 || chanOf(in) <= 0 {
			freezeAll(why)
			return
		}
		grp := int(n.AttrInt("group", 1))
		cin := chanOf(in)
		if grp == 1 {
			axIn, axOut := 1, 0
			if n.OpType == "ConvTranspose" {
				axIn, axOut = 0, 1
			}
			a.edit(in, edit{node: n, input: 1, axis: axIn, factor: 1})
			a.add(out)
			a.produceConv(n, out, axOut)
			return
		}
		if n.OpType == "Conv" && grp == cin && int(w.Dims[0]) == cin && w.Dims[1] == 1 {
			a.union(in, out)
			a.edit(in, edit{node: n, input: 1, axis: 0, factor: 1, group: true})
			if b := n.Input(2); b != nil {
				a.edit(in, edit{node: n, input: 2, axis: 0, factor: 1})
			}
			return
		}
		freezeAll("a grouped convolution reads it")
	case n.OpType == "Gemm" || n.OpType == "MatMul":
		w := constOf(g, n.Input(1))
		if w == nil || len(w.Dims) != 2 || rankOfV(in) != 2 || isConst(in) || (n.OpType == "Gemm" && n.AttrInt("transA", 0) != 0) {
			freezeAll(why)
			return
		}
		axis := 0
		if n.OpType == "Gemm" && n.AttrInt("transB", 0) != 0 {
			axis = 1
		}
		a.edit(in, edit{node: n, input: 1, axis: axis, factor: 1})
		a.produce(n, out)
	case n.OpType == "Flatten":
		var sh ir.Shape
		if in != nil && in.Type != nil && in.Type.HasShape {
			sh = in.Type.Shape
		}
		d, ok := ir.Shape(nil).Static()
		if len(sh) >= 2 {
			d, ok = sh[2:].Static()
		}
		if n.AttrInt("axis", 1) != 1 || !ok || len(sh) < 2 || chanOf(in) <= 0 {
			freezeAll(why)
			return
		}
		f := 1
		for _, x := range d {
			f *= int(x)
		}
		a.add(in)
		a.flat[out] = flatInfo{src: in, factor: f}
	case n.OpType == "BatchNormalization":
		if len(n.Outputs) > 1 && hasNamed(n.Outputs[1:]) {
			freezeAll("training-mode BatchNormalization")
			return
		}
		a.union(in, out)
		for i := 1; i <= 4 && i < len(n.Inputs); i++ {
			if !isConst(n.Inputs[i]) {
				freezeAll(why)
				return
			}
			a.edit(in, edit{node: n, input: i, axis: 0, factor: 1})
		}
	case unaryOps[n.OpType]:
		if rankOfV(in) < 2 {
			freezeAll(why)
			return
		}
		for _, o := range n.Outputs[1:] {
			if o != nil && o.Name != "" {
				freezeAll(why)
				return
			}
		}
		for _, v := range n.Inputs[1:] {
			if v != nil && !isConst(v) {
				freezeAll(why)
				return
			}
		}
		a.union(in, out)
	case n.OpType == "Pad":
		if !a.padOffChannels(n) {
			freezeAll("padding reaches the channel axis")
			return
		}
		a.union(in, out)
	case n.OpType == "Resize" || n.OpType == "Upsample":
		// scales keep channels; sizes would name them.
		if n.OpType == "Resize" && n.Input(3) != nil && n.Input(3).Name != "" {
			freezeAll("Resize by sizes")
			return
		}
		a.union(in, out)
	case binaryOps[n.OpType]:
		r := rankOfV(out)
		if r < 2 {
			freezeAll(why)
			return
		}
		a.add(out)
		for i, v := range n.Inputs {
			if v == nil {
				continue
			}
			if isConst(v) {
				t := constOf(g, v)
				if t.NumElements() == 1 {
					continue
				}
				ax := 1 - (r - len(t.Dims))
				if ax < 0 || ax >= len(t.Dims) {
					continue // broadcasts over the channels
				}
				if t.Dims[ax] == 1 {
					continue
				}
				if int(t.Dims[ax]) != chanOf(out) {
					freezeAll(why)
					return
				}
				a.edit(out, edit{node: n, input: i, axis: ax, factor: 1})
				continue
			}
			if rankOfV(v) != r {
				freezeAll("operands of different rank")
				return
			}
			switch c := chanOf(v); {
			case c == 1:
				// broadcast over the channels
			case c == chanOf(out) && c > 0:
				a.union(v, out)
			default:
				freezeAll(why)
				return
			}
		}
	case n.OpType == "Concat" && rankOfV(out) >= 2 && (n.AttrInt("axis", 0) == 1 || n.AttrInt("axis", 0) == -int64(rankOfV(out))+1):
		ci := concatInfo{node: n, out: out}
		sum := 0
		for _, v := range n.Inputs {
			if v == nil || isConst(v) || rankOfV(v) != rankOfV(out) || chanOf(v) <= 0 {
				freezeAll("a Concat along channels of constants or unknown shapes")
				return
			}
			a.add(v)
			sum += chanOf(v)
			ci.ins = append(ci.ins, v)
		}
		a.add(out)
		if sum != chanOf(out) {
			freezeAll("a Concat whose channel counts do not add up")
			return
		}
		a.concat = append(a.concat, ci)
	case n.OpType == "Concat" && n.AttrInt("axis", 0) != 1 && n.AttrInt("axis", 0) != -int64(rankOfV(out))+1:
		if rankOfV(out) < 2 {
			freezeAll(why)
			return
		}
		for _, v := range n.Inputs {
			if isConst(v) {
				freezeAll(why)
				return
			}
			a.union(v, out)
		}
	default:
		freezeAll(why)
	}
}

func hasNamed(vs []*ir.Value) bool {
	for _, v := range vs {
		if v != nil && v.Name != "" {
			return true
		}
	}
	return false
}

func (a *analyzer) padOffChannels(n *ir.Node) bool {
	r := rankOfV(n.Input(0))
	var pads []int64
	if p := n.Attr("pads"); p != nil {
		pads = p.Ints
	} else if t := constOf(a.g, n.Input(1)); t != nil {
		pads = t.Int64s()
	} else {
		return false
	}
	if n.Input(3) != nil { // axes
		return false
	}
	if r < 2 || len(pads) != 2*r {
		return false
	}
	return pads[1] == 0 && pads[r+1] == 0
}

// produce records n as the producer of out's channels (Gemm/MatMul).
func (a *analyzer) produce(n *ir.Node, out *ir.Value) {
	if rankOfV(out) != 2 {
		a.freeze(out, "a MatMul output of rank other than 2")
		return
	}
	a.add(out)
	r := a.find(out)
	a.prods[r] = append(a.prods[r], n)
	axis := 1
	if n.OpType == "Gemm" && n.AttrInt("transB", 0) != 0 {
		axis = 0
	}
	a.edit(out, edit{node: n, input: 1, axis: axis, factor: 1})
	if n.OpType == "Gemm" {
		if c := n.Input(2); c != nil {
			t := constOf(a.g, c)
			switch {
			case t == nil:
				a.freeze(out, "the Gemm's C is not a constant")
			case t.NumElements() == 1:
			case len(t.Dims) >= 1 && t.Dims[len(t.Dims)-1] == t.NumElements():
				a.edit(out, edit{node: n, input: 2, axis: -1, factor: 1})
			default:
				a.freeze(out, "the Gemm's C is not a vector")
			}
		}
	}
}

func (a *analyzer) produceConv(n *ir.Node, out *ir.Value, axis int) {
	r := a.find(out)
	a.prods[r] = append(a.prods[r], n)
	a.edit(out, edit{node: n, input: 1, axis: axis, factor: 1})
	if b := n.Input(2); b != nil {
		if constOf(a.g, b) == nil {
			a.freeze(out, "the bias is not a constant")
			return
		}
		a.edit(out, edit{node: n, input: 2, axis: 0, factor: 1})
	}
}

// ChannelOptions control Channels.
type ChannelOptions struct {
	// Ratio is the fraction of each prunable group's channels to remove,
	// in [0, 1); at least one channel always stays.
	Ratio float64
	// Criterion ranks channels: "l1" or "l2" of the producers' filters
	// (each producer's norms divided by their mean, then summed over the
	// group), or "bn-gamma" (|scale| of the group's BatchNormalizations,
	// summed; l1 where a group has none).
	Criterion string
	// Exclude names producer nodes whose groups stay whole.
	Exclude []string
	// PerGroup, when set, gives a ratio per group ID instead of Ratio
	// (groups absent keep all their channels).
	PerGroup map[int]float64
}

// Validate checks the options.
func (o *ChannelOptions) Validate() error {
	if !(o.Ratio >= 0 && o.Ratio < 1) {
		return fmt.Errorf("%w: ratio %v is outside [0, 1) (a ratio of 1 would remove every channel)", ErrOption, o.Ratio)
	}
	switch o.Criterion {
	case "", "l1", "l2", "bn-gamma":
	default:
		return fmt.Errorf("%w: criterion %q is not l1, l2 or bn-gamma", ErrOption, o.Criterion)
	}
	for id, r := range o.PerGroup {
		if !(r >= 0 && r < 1) {
			return fmt.Errorf("%w: ratio %v for group %d is outside [0, 1)", ErrOption, r, id)
		}
	}
	return nil
}

// Plan sets Keep for every prunable group of an (leaving frozen groups
// whole) and returns the number of channels removed.
func (an *Analysis) Plan(o ChannelOptions) (int, error) {
	if err := o.Validate(); err != nil {
		return 0, err
	}
	excl := map[string]bool{}
	for _, e := range o.Exclude {
		excl[e] = true
	}
	removed := 0
	for _, gr := range an.Groups {
		gr.Keep = nil
		if gr.Frozen != "" {
			continue
		}
		if gr.parts != nil {
			gr.Keep = concatKeep(gr.parts)
			continue
		}
		ratio := o.Ratio
		if o.PerGroup != nil {
			ratio = o.PerGroup[gr.ID]
		}
		for _, p := range gr.Producers {
			if excl[p.Name] || excl[nodeName(p)] {
				ratio = 0
			}
		}
		k := int(math.Floor(ratio * float64(gr.C)))
		if k >= gr.C {
			k = gr.C - 1
		}
		if k <= 0 {
			continue
		}
		score := gr.importance(o.Criterion)
		idx := make([]int, gr.C)
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(i, j int) bool { return score[idx[i]] > score[idx[j]] })
		keep := append([]int{}, idx[:gr.C-k]...)
		sort.Ints(keep)
		gr.Keep = keep
		removed += k
	}
	return removed, nil
}

// concatKeep is the channels a Concat's output keeps: each input's kept
// channels, offset by the channels before it; nil when every input keeps
// all of its channels. Input groups come before the output's in the
// analysis, so their Keep is already set.
func concatKeep(parts []*Group) []int {
	var keep []int
	off, pruned := 0, false
	for _, p := range parts {
		if p.Keep == nil {
			for i := 0; i < p.C; i++ {
				keep = append(keep, off+i)
			}
		} else {
			pruned = true
			for _, k := range p.Keep {
				keep = append(keep, off+k)
			}
		}
		off += p.C
	}
	if !pruned {
		return nil
	}
	return keep
}

// importance scores each channel of the group.
func (gr *Group) importance(criterion string) []float64 {
	s := make([]float64, gr.C)
	if criterion == "bn-gamma" {
		found := false
		for _, e := range gr.edits {
			if e.node.OpType == "BatchNormalization" && e.input == 1 {
				t := e.node.Inputs[1].Const
				if t == nil || int(t.NumElements()) != gr.C {
					continue
				}
				for i, v := range t.Float64s() {
					s[i] += math.Abs(v)
				}
				found = true
			}
		}
		if found {
			return s
		}
		criterion = "l1"
	}
	for _, p := range gr.Producers {
		w := p.Inputs[1].Const
		axis := 0
		switch {
		case p.OpType == "ConvTranspose", p.OpType == "MatMul", p.OpType == "Gemm" && p.AttrInt("transB", 0) == 0:
			axis = 1
		}
		norms := axisNorms(w, axis, criterion == "l2")
		if len(norms) != gr.C {
			continue
		}
		mean := 0.0
		for _, v := range norms {
			mean += v
		}
		mean /= float64(len(norms))
		if mean == 0 {
			mean = 1
		}
		for i, v := range norms {
			s[i] += v / mean
		}
	}
	return s
}

// axisNorms returns the L1 (or L2) norm of each slice of t along axis.
func axisNorms(t *ir.Tensor, axis int, l2 bool) []float64 {
	d := t.Dims
	outer, inner := 1, 1
	for i := 0; i < axis; i++ {
		outer *= int(d[i])
	}
	for i := axis + 1; i < len(d); i++ {
		inner *= int(d[i])
	}
	n := int(d[axis])
	v := t.Float64s()
	out := make([]float64, n)
	for o := 0; o < outer; o++ {
		for c := 0; c < n; c++ {
			for i := 0; i < inner; i++ {
				x := v[(o*n+c)*inner+i]
				if l2 {
					out[c] += x * x
				} else {
					out[c] += math.Abs(x)
				}
			}
		}
	}
	if l2 {
		for i := range out {
			out[i] = math.Sqrt(out[i])
		}
	}
	return out
}

// Apply removes the channels each group does not keep from every tensor
// of the group and every constant that carries them, writing new
// constants (old ones become unread) and updating the recorded shapes.
func (an *Analysis) Apply(m *ir.Model) {
	g := m.Graph
	created := map[*ir.Value]bool{} // constants this rewrite made or replaced
	defer func() {
		read := map[*ir.Value]bool{}
		for _, n := range g.Nodes {
			for _, in := range n.Inputs {
				read[in] = true
			}
		}
		for _, v := range g.Outputs {
			read[v] = true
		}
		for _, v := range g.Inputs {
			read[v] = true
		}
		for _, n := range g.Nodes {
			for _, sg := range n.Subgraphs() {
				for v := range sg.Captures() {
					read[v] = true
				}
			}
		}
		kept := g.Consts[:0]
		for _, v := range g.Consts {
			if !created[v] || read[v] {
				kept = append(kept, v)
			}
		}
		g.Consts = kept
	}()
	for _, gr := range an.Groups {
		if gr.Keep == nil {
			continue
		}
		for _, e := range gr.edits {
			v := e.node.Inputs[e.input]
			t := v.Const
			ax := e.axis
			if ax < 0 {
				ax += len(t.Dims)
			}
			nt := sliceAxis(t, ax, gr.Keep, e.factor)
			nv := g.AddConst(g.UniqueName(v.Name), nt)
			created[nv], created[v] = true, true
			e.node.Inputs[e.input] = nv
			if e.group {
				e.node.SetAttr(ir.IntAttr("group", int64(len(gr.Keep))))
			}
		}
		for _, v := range gr.Values {
			setChan(v, len(gr.Keep))
		}
		for v, f := range gr.flat {
			setChan(v, len(gr.Keep)*f)
		}
	}
}

func setChan(v *ir.Value, c int) {
	if v.Type == nil || !v.Type.HasShape || len(v.Type.Shape) < 2 {
		return
	}
	t := *v.Type
	t.Shape = append(ir.Shape{}, v.Type.Shape...)
	t.Shape[1] = ir.D(int64(c))
	v.Type = &t
}

// sliceAxis keeps, along axis, the blocks keep[i]·factor … +factor−1.
func sliceAxis(t *ir.Tensor, axis int, keep []int, factor int) *ir.Tensor {
	d := t.Dims
	outer, inner := 1, 1
	for i := 0; i < axis; i++ {
		outer *= int(d[i])
	}
	for i := axis + 1; i < len(d); i++ {
		inner *= int(d[i])
	}
	n := int(d[axis])
	es := int(t.Bytes() / max(t.NumElements(), 1))
	nd := append([]int64{}, d...)
	nd[axis] = int64(len(keep) * factor)
	out := ir.NewTensor(t.DType, nd...)
	blk := inner * es
	o := 0
	for oi := 0; oi < outer; oi++ {
		for _, k := range keep {
			for f := 0; f < factor; f++ {
				src := ((oi*n + k*factor + f) * inner) * es
				copy(out.Data[o:o+blk], t.Data[src:src+blk])
				o += blk
			}
		}
	}
	return out
}

// ChannelResult says what Channels did.
type ChannelResult struct {
	Groups []GroupReport `json:"groups"`
	// Removed counts channels removed over all groups.
	Removed int `json:"removed"`
}

// GroupReport is one group's line in the report.
type GroupReport struct {
	ID        int      `json:"id"`
	Producers []string `json:"producers,omitempty"`
	Channels  int      `json:"channels"`
	Kept      int      `json:"kept"`
	Frozen    string   `json:"frozen,omitempty"`
}

// Report summarises the analysis (after Plan).
func (an *Analysis) Report() ChannelResult {
	var r ChannelResult
	for _, gr := range an.Groups {
		if len(gr.Producers) == 0 && gr.Frozen != "" && gr.C <= 1 {
			continue
		}
		if len(gr.Producers) == 0 {
			continue // a Concat's output: counted in its inputs' groups
		}
		gp := GroupReport{ID: gr.ID, Channels: gr.C, Kept: gr.C, Frozen: gr.Frozen}
		for _, p := range gr.Producers {
			gp.Producers = append(gp.Producers, nodeName(p))
		}
		if gr.Keep != nil {
			gp.Kept = len(gr.Keep)
			r.Removed += gr.C - len(gr.Keep)
		}
		r.Groups = append(r.Groups, gp)
	}
	return r
}

// RefitLayers returns the layers of the pruned model to re-fit after
// Apply: every Conv, Gemm and MatMul from the first one whose weights
// changed, in node order, each mapped to the teacher's channels it keeps.
func (an *Analysis) RefitLayers(m *ir.Model) []RefitLayer {
	rows := map[*ir.Node][]int{}
	touched := map[*ir.Node]bool{}
	for _, gr := range an.Groups {
		if gr.Keep == nil {
			continue
		}
		for _, p := range gr.Producers {
			rows[p] = gr.Keep
		}
		for _, e := range gr.edits {
			touched[e.node] = true
			if e.group {
				rows[e.node] = gr.Keep
			}
		}
	}
	uses := map[*ir.Value]int{}
	for _, n := range m.Graph.Nodes {
		for _, in := range n.Inputs {
			uses[in]++
		}
	}
	var out []RefitLayer
	started := false
	for _, n := range m.Graph.Nodes {
		started = started || touched[n]
		if !started || !isDefault(n) {
			continue
		}
		switch n.OpType {
		case "Conv", "Gemm", "MatMul":
		default:
			continue
		}
		w := constOf(m.Graph, n.Input(1))
		if w == nil || w.DType != ir.Float32 || uses[n.Input(1)] > 1 || (n.Input(2) != nil && uses[n.Input(2)] > 1) {
			continue
		}
		if n.OpType == "Conv" && len(w.Dims) != 4 && len(w.Dims) != 3 {
			continue
		}
		if n.OpType != "Conv" && len(w.Dims) != 2 {
			continue
		}
		out = append(out, RefitLayer{Node: n, Target: n.Outputs[0].Name, Rows: rows[n]})
	}
	return out
}
