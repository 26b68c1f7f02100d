package split

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/nncc/nncc/check"
	"github.com/nncc/nncc/cost"
	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/runtime"
)

// Balance names the quantity stages are balanced on.
type Balance string

// The balance quantities.
const (
	FLOPs   Balance = "flops"   // floating-point operations from inferred shapes
	Latency Balance = "latency" // median time of each node in nncc's runtime
	Params  Balance = "params"  // bytes of the weights a stage holds
)

// Options say how to split.
type Options struct {
	// Stages is the number of stages (1 ≤ Stages ≤ nodes). Zero with
	// MaxStageBytes set: the fewest stages whose weights each fit.
	Stages int
	// Balance is the cost balanced across stages (default FLOPs).
	Balance Balance
	// MaxStageBytes > 0 picks the fewest stages whose weight bytes each
	// stay within it (Stages must then be 0).
	MaxStageBytes int64
	// Shapes binds graph inputs by name and Dims symbolic dims by name,
	// for the costs that need shapes (FLOPs, Latency, activation bytes).
	// An unbound leading dim is taken as 1; any other unbound dim is an
	// error when the balance needs shapes.
	Shapes map[string][]int64
	Dims   map[string]int64
	// Runs is how many timed runs Latency takes the median of (default
	// 5, after one untimed run); Threads is the runtime's thread count
	// (default 1); Seed seeds the random inputs it runs on.
	Runs    int
	Threads int
	Seed    int64
	// Feed gives inputs for the latency runs by name (a model whose
	// branches depend on an input's value, such as a sample rate, needs
	// real values); the others are drawn from Seed.
	Feed map[string]*ir.Tensor
}

// Stage is one consecutive run of nodes.
type Stage struct {
	Index      int
	Start, End int         // nodes [Start, End) of the model's graph
	Inputs     []*ir.Value // graph inputs and earlier stages' outputs it reads
	Outputs    []*ir.Value // what later stages read, and graph outputs it computes
	Consts     []*ir.Value // the constants it reads (copied into its model)
	FLOPs      int64
	ParamBytes int64
	// ActBytesIn and ActBytesOut are the bytes of its inputs and outputs
	// at the bound shapes (unknown sizes count 0).
	ActBytesIn, ActBytesOut int64
	// Cost is the balanced quantity: FLOPs, milliseconds or bytes.
	Cost float64
	// LatencyMS is the sum of its nodes' median times when measured.
	LatencyMS float64
}

// Plan is a split of a model into stages.
type Plan struct {
	// Model is a copy of the input with inferred types; the stages' nodes
	// and values are its.
	Model   *ir.Model
	Balance Balance
	Stages  []*Stage
	// Bound is the largest stage cost, the pipeline's pace.
	Bound float64
	// NodeFLOPs and NodeMS are per node, in graph order (NodeMS only with
	// Latency).
	NodeFLOPs []int64
	NodeMS    []float64
	// ValueBytes is each activation's size at the bound shapes (-1 when
	// unknown).
	ValueBytes map[*ir.Value]int64
	// Warnings are things the caller should tell the user.
	Warnings []string

	gi *graphInfo
}

// CutBytes is, for each cut (between stage s and s+1), the bytes of the
// tensors produced before it and read after it, skip connections
// included, at the bound shapes (unknown sizes count 0). Graph inputs go
// to the stages that read them straight from the caller and are not
// counted.
func (p *Plan) CutBytes() []int64 {
	var out []int64
	for s := 1; s < len(p.Stages); s++ {
		at := p.Stages[s].Start
		var b int64
		for _, v := range p.gi.acts {
			pr := p.gi.prod[v]
			rs := p.gi.readers[v]
			if pr >= 0 && pr < at && len(rs) > 0 && rs[len(rs)-1] >= at {
				b += max(p.ValueBytes[v], 0)
			}
		}
		out = append(out, b)
	}
	return out
}

// MaxStages is the largest stage count Split accepts for m: one node per
// stage.
func MaxStages(m *ir.Model) int { return len(m.Graph.Nodes) }

// Split plans the stages of m. m is not modified.
func Split(m *ir.Model, o Options) (*Plan, error) {
	if o.Balance == "" {
		o.Balance = FLOPs
	}
	switch o.Balance {
	case FLOPs, Latency, Params:
	default:
		return nil, usagef("unknown balance %q (want flops, latency or params)", o.Balance)
	}
	n := len(m.Graph.Nodes)
	if n == 0 {
		return nil, usagef("the model has no nodes to split")
	}
	switch {
	case o.MaxStageBytes > 0 && o.Stages > 0:
		return nil, usagef("give either a stage count or a byte limit per stage, not both")
	case o.MaxStageBytes < 0:
		return nil, usagef("the byte limit per stage must be positive")
	case o.MaxStageBytes == 0 && (o.Stages < 1 || o.Stages > n):
		return nil, usagef("%d stages: want 1 to %d (the model has %d nodes, so %d places to cut)", o.Stages, n, n, n-1)
	}
	p := &Plan{Model: m.Clone(), Balance: o.Balance}
	_ = ir.InferShapes(p.Model) // best effort: types what it can, symbolic dims kept
	needShapes := o.Balance != Params
	bound, alt, err := bindTwice(m, o, needShapes)
	if err != nil {
		return nil, err
	}
	g := p.Model.Graph
	gi := analyze(g)
	p.gi = gi
	p.ValueBytes = refineTypes(gi, bound, alt)
	// Per-node FLOPs from the bound shapes.
	p.NodeFLOPs = make([]int64, n)
	var unknown []string
	for i, bn := range bound.Graph.Nodes {
		c := nodeCost(bn)
		p.NodeFLOPs[i] = c.FLOPs
		if !c.Known {
			unknown = append(unknown, nodeLabel(g.Nodes[i]))
		}
	}
	if len(unknown) > 0 && o.Balance == FLOPs {
		p.Warnings = append(p.Warnings, fmt.Sprintf("%d node(s) have unknown shapes and count 0 FLOPs (first: %s)", len(unknown), unknown[0]))
	}
	var costRow rowFunc
	switch o.Balance {
	case FLOPs:
		c := make([]float64, n)
		for i, f := range p.NodeFLOPs {
			c[i] = float64(f)
		}
		costRow = prefixRow(c)
	case Latency:
		ms, err := measure(bound, o)
		if err != nil {
			return nil, err
		}
		p.NodeMS = ms
		costRow = prefixRow(ms)
	case Params:
		costRow = gi.paramRow()
	}
	k := o.Stages
	if o.MaxStageBytes > 0 {
		var bad int
		k, bad = fewestStages(n, gi.paramRow(), float64(o.MaxStageBytes))
		if k < 0 {
			var b int64
			for _, c := range gi.consts[bad] {
				b += constBytes(c)
			}
			return nil, usagef("node %s alone reads %d bytes of weights, more than the limit of %d per stage", nodeLabel(g.Nodes[bad]), b, o.MaxStageBytes)
		}
		costRow = limitRow(costRow, gi.paramRow(), float64(o.MaxStageBytes))
	}
	cuts, worst := partition(n, k, costRow, gi.inRow(p.ValueBytes))
	if cuts == nil {
		return nil, fmt.Errorf("split: no partition into %d stages meets the limits", k)
	}
	p.Bound = worst
	row := make([]float64, n+1)
	for s := 0; s < k; s++ {
		st, err := p.stage(gi, s, cuts[s], cuts[s+1])
		if err != nil {
			return nil, err
		}
		costRow(st.Start, row)
		st.Cost = row[st.End]
		p.Stages = append(p.Stages, st)
	}
	return p, nil
}

// nodeCost is cost.Of, with the work of If, Loop and Scan bodies added:
// the costlier branch of an If, one iteration of a Loop or Scan body
// (trip counts are data).
func nodeCost(n *ir.Node) cost.Node {
	c := cost.Of(n)
	var branches []int64
	for _, sg := range n.Subgraphs() {
		var f int64
		for _, bn := range sg.Nodes {
			f += nodeCost(bn).FLOPs
		}
		branches = append(branches, f)
	}
	if len(branches) > 0 {
		if n.OpType == "If" {
			c.FLOPs += slices.Max(branches)
		} else {
			for _, f := range branches {
				c.FLOPs += f
			}
		}
	}
	return c
}

func nodeLabel(n *ir.Node) string {
	if n.Name != "" {
		return fmt.Sprintf("%q (%s)", n.Name, n.OpType)
	}
	if len(n.Outputs) > 0 && n.Outputs[0] != nil {
		return fmt.Sprintf("%s -> %s", n.OpType, n.Outputs[0].Name)
	}
	return n.OpType
}

// bindTwice returns two typed copies of m: one with the inputs bound to
// the requested shapes, one with every dim that was not fixed in the
// file doubled. A dim that comes out the same in both does not depend on
// the bound sizes. Without needShapes, unbound dims are left symbolic.
func bindTwice(m *ir.Model, o Options, needShapes bool) (*ir.Model, *ir.Model, error) {
	shapes := map[string][]int64{}
	specs, err := check.InputSpecs(m.Graph, o.Shapes, o.Dims)
	if err != nil {
		if needShapes {
			return nil, nil, usagef("the %s balance needs every input's shape: %v", o.Balance, err)
		}
		specs = nil
	}
	for _, s := range specs {
		shapes[s.Name] = s.Dims
	}
	for name, d := range o.Shapes {
		if _, ok := shapes[name]; !ok && !isInput(m.Graph, name) && len(d) != 1 {
			return nil, nil, usagef("--shape %s: the model has no input %q", name, name)
		}
	}
	bound := m.Clone()
	if err := cost.Bind(bound, shapes, o.Dims); err != nil {
		return nil, nil, usagef("%v", err)
	}
	_ = ir.InferShapes(bound)
	alt := m.Clone()
	doubled := map[string][]int64{}
	for _, v := range m.Graph.Inputs {
		d, ok := shapes[v.Name]
		if !ok || v.Type == nil {
			continue
		}
		dd := slices.Clone(d)
		for i := range dd {
			if !v.Type.HasShape || i >= len(v.Type.Shape) || !v.Type.Shape[i].Known() {
				dd[i] *= 2
			}
		}
		doubled[v.Name] = dd
	}
	_ = cost.Bind(alt, doubled, nil)
	_ = ir.InferShapes(alt)
	return bound, alt, nil
}

func isInput(g *ir.Graph, name string) bool {
	for _, v := range g.Inputs {
		if v.Name == name {
			return true
		}
	}
	return false
}

// refineTypes completes the types of the activations of the typed model
// (gi's graph) from the two bound copies: a dim the symbolic inference
// left unknown becomes the bound size when both bindings agree on it.
// It returns each activation's byte size at the bound shapes (-1 when
// unknown).
func refineTypes(gi *graphInfo, bound, alt *ir.Model) map[*ir.Value]int64 {
	bt, at := valueTypes(bound.Graph), valueTypes(alt.Graph)
	sizes := map[*ir.Value]int64{}
	for _, v := range gi.acts {
		b, a := bt[v.Name], at[v.Name]
		sizes[v] = -1
		if b == nil || b.Kind != ir.KindTensor || !b.HasShape {
			continue
		}
		if d, ok := b.Shape.Static(); ok {
			if sz, ok := b.DType.ByteSize(ir.NumElements(d)); ok {
				sizes[v] = sz
			}
		}
		t := v.Type
		if t == nil || t.Kind == ir.KindUnknown {
			t = &ir.Type{Kind: ir.KindTensor, DType: b.DType}
			v.Type = t
		}
		if t.Kind != ir.KindTensor {
			continue
		}
		if t.DType == ir.Undefined {
			t.DType = b.DType
		}
		if t.HasShape && len(t.Shape) != len(b.Shape) {
			continue
		}
		if !t.HasShape {
			t.HasShape = true
			t.Shape = make(ir.Shape, len(b.Shape))
			for i := range t.Shape {
				t.Shape[i] = ir.UnknownDim
			}
		}
		for i, d := range t.Shape {
			if d.Known() || d.Param != "" {
				continue
			}
			bd := b.Shape[i]
			if bd.Known() && a != nil && a.HasShape && len(a.Shape) == len(b.Shape) && a.Shape[i].Known() && a.Shape[i].Value == bd.Value {
				t.Shape[i] = ir.D(bd.Value)
			}
		}
	}
	return sizes
}

func valueTypes(g *ir.Graph) map[string]*ir.Type {
	m := map[string]*ir.Type{}
	for _, v := range g.Inputs {
		m[v.Name] = v.Type
	}
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			if o != nil {
				m[o.Name] = o.Type
			}
		}
	}
	return m
}

// measure times every node of the bound model in nncc's runtime: one
// untimed run, then the median of o.Runs timed runs per node. A step the
// runtime fused (a Conv and its activation) is charged to its first node.
func measure(bound *ir.Model, o Options) ([]float64, error) {
	runs := o.Runs
	if runs <= 0 {
		runs = 5
	}
	threads := o.Threads
	if threads <= 0 {
		threads = 1
	}
	specs, err := check.InputSpecs(bound.Graph, nil, nil)
	if err != nil {
		return nil, usagef("the latency balance needs every input's shape: %v", err)
	}
	var draw []check.InputSpec
	for _, s := range specs {
		if t := o.Feed[s.Name]; t != nil {
			s.Dims = t.Dims
		} else {
			draw = append(draw, s)
		}
	}
	inputs, err := check.RandomInputs(draw, o.Seed)
	if err != nil {
		return nil, err
	}
	for name, t := range o.Feed {
		inputs[name] = t
	}
	pos := map[*ir.Node]int{}
	for i, n := range bound.Graph.Nodes {
		pos[n] = i
	}
	shapes := map[string][]int64{}
	for name, t := range inputs {
		shapes[name] = t.Dims
	}
	times := make([][]float64, len(bound.Graph.Nodes))
	cur := make([]float64, len(bound.Graph.Nodes))
	// A step's time is the lesser of its wall time and the CPU time the
	// process used since the previous step of the main graph: on a busy
	// machine the wall time also counts the time other processes held the
	// core, which the CPU time does not.
	lastCPU, haveCPU := processCPU()
	sess, err := runtime.NewSession(bound, runtime.Options{
		Threads: threads, Shapes: shapes,
		Observe: func(n *ir.Node, _, _ []*ir.Tensor, d time.Duration) {
			i, ok := pos[n]
			if !ok {
				return // inside a subgraph: its owner is charged
			}
			if haveCPU {
				now, _ := processCPU()
				d, lastCPU = min(d, now-lastCPU), now
			}
			cur[i] += float64(d.Nanoseconds()) / 1e6
		},
	})
	if err != nil {
		return nil, fmt.Errorf("split: timing the nodes: %w", err)
	}
	for r := 0; r <= runs; r++ {
		clear(cur)
		if haveCPU {
			lastCPU, _ = processCPU()
		}
		if _, err := sess.Run(inputs); err != nil {
			return nil, fmt.Errorf("split: timing the nodes: %w", err)
		}
		if r == 0 {
			continue
		}
		for i, c := range cur {
			times[i] = append(times[i], c)
		}
	}
	ms := make([]float64, len(times))
	for i, ts := range times {
		sort.Float64s(ts)
		ms[i] = ts[len(ts)/2]
		if len(ts)%2 == 0 {
			ms[i] = (ts[len(ts)/2-1] + ts[len(ts)/2]) / 2
		}
	}
	return ms, nil
}

// stage collects the inputs, outputs and constants of nodes [a, b).
func (p *Plan) stage(gi *graphInfo, s, a, b int) (*Stage, error) {
	g := p.Model.Graph
	st := &Stage{Index: s, Start: a, End: b}
	seenIn, seenC := map[*ir.Value]bool{}, map[*ir.Value]bool{}
	var ins []*ir.Value
	for i := a; i < b; i++ {
		for _, v := range gi.reads[i] {
			if gi.prod[v] < a && !seenIn[v] {
				seenIn[v] = true
				ins = append(ins, v)
			}
		}
		st.ParamBytes += gi.inner[i]
		for _, c := range gi.consts[i] {
			if !seenC[c] {
				seenC[c] = true
				st.ParamBytes += constBytes(c)
			}
		}
		st.FLOPs += p.NodeFLOPs[i]
		if p.NodeMS != nil {
			st.LatencyMS += p.NodeMS[i]
		}
	}
	// Inputs in a stable order: graph inputs as the graph lists them,
	// then by producer position and output slot.
	order := map[*ir.Value]int{}
	for i, v := range gi.acts {
		order[v] = i
	}
	sort.Slice(ins, func(x, y int) bool { return order[ins[x]] < order[ins[y]] })
	st.Inputs = ins
	for _, c := range g.Consts {
		if seenC[c] {
			st.Consts = append(st.Consts, c)
		}
	}
	for _, v := range g.Inputs {
		if seenC[v] && !slices.Contains(st.Consts, v) {
			st.Consts = append(st.Consts, v)
		}
	}
	// Outputs: the graph outputs it computes (in graph order), then what
	// later stages read.
	for _, v := range g.Outputs {
		if pp, ok := gi.prod[v]; ok && pp >= a && pp < b && !slices.Contains(st.Outputs, v) {
			st.Outputs = append(st.Outputs, v)
		}
	}
	for i := a; i < b; i++ {
		for _, o := range g.Nodes[i].Outputs {
			if o == nil || o.Name == "" || slices.Contains(st.Outputs, o) {
				continue
			}
			if rs := gi.readers[o]; len(rs) > 0 && rs[len(rs)-1] >= b {
				st.Outputs = append(st.Outputs, o)
			}
		}
	}
	if len(st.Outputs) == 0 {
		return nil, fmt.Errorf("split: stage %d (nodes %d..%d) computes nothing later stages or the graph outputs read; remove dead nodes first (e.g. --passes dce)", s, a, b-1)
	}
	for _, v := range st.Inputs {
		if v.Type == nil || v.Type.Kind != ir.KindTensor {
			return nil, fmt.Errorf("split: stage %d input %q is not a tensor of known type", s, v.Name)
		}
		st.ActBytesIn += max(p.ValueBytes[v], 0)
	}
	for _, v := range st.Outputs {
		if v.Type == nil || v.Type.Kind != ir.KindTensor {
			return nil, fmt.Errorf("split: stage %d output %q is not a tensor of known type", s, v.Name)
		}
		st.ActBytesOut += max(p.ValueBytes[v], 0)
	}
	return st, nil
}

// StageModel returns stage s as a model of its own: the source model's
// opsets and metadata, the stage's nodes, its inputs and outputs under
// their original names, and copies of the constants it reads. It shares
// nodes and values with p.Model; do not edit it.
func (p *Plan) StageModel(s int) *ir.Model {
	st := p.Stages[s]
	src := p.Model
	g := &ir.Graph{
		Name:    fmt.Sprintf("%s_stage_%d", strings.TrimSpace(src.Graph.Name), s),
		Inputs:  st.Inputs,
		Outputs: st.Outputs,
		Consts:  st.Consts,
		Nodes:   src.Graph.Nodes[st.Start:st.End],
	}
	inside := map[*ir.Value]bool{}
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			inside[o] = true
		}
	}
	for _, v := range src.Graph.ValueInfo {
		if inside[v] {
			g.ValueInfo = append(g.ValueInfo, v)
		}
	}
	m := *src
	m.Graph = g
	m.TrainingInfo = nil
	m.DocString = fmt.Sprintf("stage %d of %d of a split by nncc", s, len(p.Stages))
	return &m
}
