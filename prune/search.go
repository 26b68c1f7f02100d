package prune

import (
	"fmt"
	"sort"

	"github.com/nncc/nncc/budget"
	"github.com/nncc/nncc/calib"
	"github.com/nncc/nncc/cost"
	"github.com/nncc/nncc/ir"
)

// Levels are the sparsities (or channel ratios) the sensitivity sweep
// measures each layer at.
var Levels = []float64{0.3, 0.5, 0.7, 0.8, 0.9}

// Point is one measurement: a level and the score there.
type Point struct {
	Level float64 `json:"level"`
	Score float64 `json:"score"` // accuracy (or agreement), in [0, 1]
}

// LayerCurve is one layer's sensitivity: the model's score with only this
// layer pruned at each level.
type LayerCurve struct {
	Layer  string  `json:"layer"`
	MACs   int64   `json:"macs"`
	Points []Point `json:"points"`
	// Chosen is the level the greedy search settled on.
	Chosen float64 `json:"chosen"`
}

// Sensitivity is the record of a budgeted search.
type Sensitivity struct {
	Base   float64      `json:"base"`
	Metric string       `json:"metric"` // accuracy or agreement
	Layers []LayerCurve `json:"layers"`
	// Model is the whole model's curve under uniform (global) pruning.
	Model []Point `json:"model"`
	// Final is the score of the chosen configuration.
	Final    float64 `json:"final"`
	MaxDrop  float64 `json:"max_drop"`
	Measured int     `json:"measurements"`
}

// SearchOptions tune the budgeted searches.
type SearchOptions struct {
	// Calib, when set, re-fits every candidate before measuring it.
	Calib    calib.Dataset
	Refit    RefitOptions
	Progress func(label string, done, total int)
}

// SampleShapes returns the shapes of one sample of d by input name (nil
// when d is nil or empty), to bind symbolic dims for cost.Analyze.
func SampleShapes(d calib.Dataset) map[string][]int64 {
	if d == nil || d.Len() == 0 {
		return nil
	}
	in, err := d.Batch(0, 1)
	if err != nil {
		return nil
	}
	out := map[string][]int64{}
	for k, t := range in {
		out[k] = t.Dims
	}
	return out
}

// layerMACs returns the dense MACs of each layer by name for one sample
// shaped like the budget's data.
func layerMACs(m *ir.Model, shapes map[string][]int64) map[string]int64 {
	out := map[string]int64{}
	r, err := cost.Analyze(m, shapes, nil)
	if err != nil {
		return out
	}
	for _, n := range r.Nodes {
		out[nodeName(n.Node)] += n.MACs
	}
	return out
}

func metricName(b *budget.Budget) string {
	if b.Base.Accuracy >= 0 {
		return "accuracy"
	}
	return "agreement"
}

// SearchMagnitude measures each selected layer's sensitivity to magnitude
// pruning and then raises per-layer sparsities greedily — at each step
// the move that removes the most MACs per point of measured loss — while
// the budget holds. It returns the sensitivity record and the chosen
// per-layer sparsities. m is not modified.
func SearchMagnitude(m *ir.Model, o MagnitudeOptions, b *budget.Budget, so SearchOptions) (*Sensitivity, map[string]float64, error) {
	o.Sparsity, o.Threshold, o.PerLayer = -1, -1, nil
	layers := o.Selected(m.Graph, nil)
	if len(layers) == 0 {
		return nil, nil, fmt.Errorf("prune: no prunable layer")
	}
	macs := layerMACs(m, SampleShapes(b.Eval.Data))
	sens := &Sensitivity{Base: b.Base.Metric(), Metric: metricName(b), MaxDrop: b.MaxDrop}
	eval := func(per map[string]float64, global float64) (float64, error) {
		c := m.Clone()
		oo := o
		if per != nil {
			oo.PerLayer = per
		} else {
			oo.Sparsity, oo.Global = global, true
		}
		mask, _, err := Magnitude(c, oo, nil)
		if err != nil {
			return 0, err
		}
		if so.Calib != nil && len(mask) > 0 {
			if _, err := RefitMagnitude(m, c, mask, so.Calib, so.Refit); err != nil {
				return 0, err
			}
		}
		s, _, err := b.Measure(c)
		sens.Measured++
		return s.Metric(), err
	}
	total := len(layers)*len(Levels) + len(Levels)
	step := 0
	for _, l := range layers {
		lc := LayerCurve{Layer: l.Name(), MACs: macs[l.Name()]}
		for _, s := range Levels {
			sc, err := eval(map[string]float64{l.Name(): s}, 0)
			if err != nil {
				return nil, nil, err
			}
			lc.Points = append(lc.Points, Point{s, sc})
			step++
			if so.Progress != nil {
				so.Progress("sensitivity", step, total)
			}
		}
		sens.Layers = append(sens.Layers, lc)
	}
	for _, s := range Levels {
		sc, err := eval(nil, s)
		if err != nil {
			return nil, nil, err
		}
		sens.Model = append(sens.Model, Point{s, sc})
		step++
		if so.Progress != nil {
			so.Progress("sensitivity", step, total)
		}
	}
	per, final, err := greedy(sens, b, func(per map[string]float64) (float64, error) { return eval(per, 0) })
	if err != nil {
		return nil, nil, err
	}
	sens.Final = final
	return sens, per, nil
}

// greedy raises per-layer levels one step at a time. Candidates are
// ranked by MACs removed per point lost in the layer's own sensitivity
// curve; the first candidate whose combined configuration still holds
// the budget is taken; a layer whose next step breaks the budget is
// frozen at its level.
func greedy(sens *Sensitivity, b *budget.Budget, eval func(map[string]float64) (float64, error)) (map[string]float64, float64, error) {
	idx := map[string]int{} // index into Levels reached, -1: none
	for _, l := range sens.Layers {
		idx[l.Layer] = -1
	}
	frozen := map[string]bool{}
	per := map[string]float64{}
	final := sens.Base
	for {
		type cand struct {
			layer string
			gain  float64
		}
		var cs []cand
		for _, l := range sens.Layers {
			i := idx[l.Layer]
			if frozen[l.Layer] || i+1 >= len(Levels) {
				continue
			}
			prev := sens.Base
			if i >= 0 {
				prev = l.Points[i].Score
			}
			loss := prev - l.Points[i+1].Score
			if loss < 1e-4 {
				loss = 1e-4
			}
			lvl := 0.0
			if i >= 0 {
				lvl = Levels[i]
			}
			cs = append(cs, cand{l.Layer, float64(l.MACs) * (Levels[i+1] - lvl) / loss})
		}
		if len(cs) == 0 {
			break
		}
		sort.SliceStable(cs, func(i, j int) bool { return cs[i].gain > cs[j].gain })
		c := cs[0]
		try := map[string]float64{}
		for k, v := range per {
			try[k] = v
		}
		try[c.layer] = Levels[idx[c.layer]+1]
		sc, err := eval(try)
		if err != nil {
			return nil, 0, err
		}
		if b.Holds(budget.Score{Accuracy: accOr(b, sc), Agreement: agrOr(b, sc)}) {
			per, final = try, sc
			idx[c.layer]++
		} else {
			frozen[c.layer] = true
		}
	}
	for i := range sens.Layers {
		sens.Layers[i].Chosen = per[sens.Layers[i].Layer]
	}
	return per, final, nil
}

func accOr(b *budget.Budget, s float64) float64 {
	if b.Base.Accuracy >= 0 {
		return s
	}
	return -1
}

func agrOr(b *budget.Budget, s float64) float64 {
	if b.Base.Accuracy >= 0 {
		return -1
	}
	return s
}

// SearchChannels measures each prunable group's sensitivity to channel
// removal and raises per-group ratios greedily while the budget holds.
// m is not modified. Layer names in the record are the groups' first
// producers.
func SearchChannels(m *ir.Model, o ChannelOptions, b *budget.Budget, so SearchOptions) (*Sensitivity, map[int]float64, error) {
	base := m.Clone()
	_ = ir.InferShapes(base)
	an := Analyze(base)
	macs := layerMACs(base, SampleShapes(b.Eval.Data))
	type gi struct {
		id   int
		name string
		macs int64
	}
	var groups []gi
	for _, gr := range an.Groups {
		if gr.Frozen != "" || len(gr.Producers) == 0 {
			continue
		}
		var mc int64
		for _, p := range gr.Producers {
			mc += macs[nodeName(p)]
		}
		groups = append(groups, gi{gr.ID, nodeName(gr.Producers[0]), mc})
	}
	if len(groups) == 0 {
		return nil, nil, fmt.Errorf("prune: no prunable channel group")
	}
	sens := &Sensitivity{Base: b.Base.Metric(), Metric: metricName(b), MaxDrop: b.MaxDrop}
	levels := []float64{0.1, 0.25, 0.4, 0.5, 0.6, 0.75}
	eval := func(per map[int]float64, uniform float64) (float64, error) {
		c := base.Clone()
		a := Analyze(c)
		oo := o
		oo.Ratio, oo.PerGroup = uniform, per
		if _, err := a.Plan(oo); err != nil {
			return 0, err
		}
		a.Apply(c)
		if so.Calib != nil {
			if _, err := Refit(base, c, a.RefitLayers(c), so.Calib, so.Refit); err != nil {
				return 0, err
			}
		}
		s, _, err := b.Measure(c)
		sens.Measured++
		return s.Metric(), err
	}
	saved := Levels
	Levels = levels
	defer func() { Levels = saved }()
	byName := map[string]int{}
	for _, g := range groups {
		lc := LayerCurve{Layer: g.name, MACs: g.macs}
		byName[g.name] = g.id
		for _, s := range levels {
			sc, err := eval(map[int]float64{g.id: s}, 0)
			if err != nil {
				return nil, nil, err
			}
			lc.Points = append(lc.Points, Point{s, sc})
		}
		sens.Layers = append(sens.Layers, lc)
		if so.Progress != nil {
			so.Progress("sensitivity", len(sens.Layers), len(groups))
		}
	}
	for _, s := range levels {
		sc, err := eval(nil, s)
		if err != nil {
			return nil, nil, err
		}
		sens.Model = append(sens.Model, Point{s, sc})
	}
	toIDs := func(per map[string]float64) map[int]float64 {
		out := map[int]float64{}
		for k, v := range per {
			out[byName[k]] = v
		}
		return out
	}
	per, final, err := greedy(sens, b, func(p map[string]float64) (float64, error) { return eval(toIDs(p), 0) })
	if err != nil {
		return nil, nil, err
	}
	sens.Final = final
	return sens, toIDs(per), nil
}
