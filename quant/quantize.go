package quant

import (
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/nncc/nncc/budget"
	"github.com/nncc/nncc/calib"
	"github.com/nncc/nncc/ir"
)

// Options are everything one quantization needs besides the model.
type Options struct {
	Config
	// Method and Percentile choose activation ranges (static mode).
	Method     string
	Percentile float64
	// BiasCorrection shifts biases so each layer's mean output matches
	// float on the calibration data.
	BiasCorrection bool
	// MeasureSamples bounds the calibration samples used for per-layer
	// SQNR, sensitivity and bias correction (default 32).
	MeasureSamples int
	Run            RunOptions
}

func (o *Options) samples() int {
	if o.MeasureSamples > 0 {
		return o.MeasureSamples
	}
	return 32
}

// Build quantizes a copy of orig with the statistics st (static) and
// returns it with what was done. orig is not modified.
func Build(orig *ir.Model, o Options, st Stats, data calib.Dataset) (*ir.Model, *Plan, *Result, error) {
	m := orig.Clone()
	p, err := NewPlan(m, o.Config)
	if err != nil {
		return nil, nil, nil, err
	}
	if len(p.Layers) == 0 {
		return m, p, &Result{}, nil
	}
	res, err := p.Apply(st)
	if err != nil {
		return nil, nil, nil, err
	}
	if o.Mode != Dynamic && o.BiasCorrection && data != nil {
		if err := CorrectBias(orig, m, res, data, o.samples(), o.Run); err != nil {
			return nil, nil, nil, fmt.Errorf("bias correction: %w", err)
		}
	}
	if o.Mode != Dynamic && o.Format == QOp {
		ToQOperator(m)
	}
	return m, p, res, nil
}

// Sensitivity is one layer's damage when quantized alone: the SQNR of
// the model's outputs against float with only that layer quantized.
type Sensitivity struct {
	ID   string  `json:"node"`
	SQNR float64 `json:"output_sqnr_db"`
}

// Sensitivities quantizes each layer of ids alone and measures the
// model's output SQNR on the first samples of data; the most damaging
// layer (lowest SQNR) comes first, ties in graph order.
func Sensitivities(orig *ir.Model, o Options, st Stats, data calib.Dataset, ids []string) ([]Sensitivity, error) {
	out := make([]Sensitivity, 0, len(ids))
	for i, id := range ids {
		oo := o
		oo.Exclude = map[string]bool{}
		for _, other := range ids {
			if other != id {
				oo.Exclude[other] = true
			}
		}
		for k := range o.Exclude {
			oo.Exclude[k] = true
		}
		oo.BiasCorrection = false
		q, _, _, err := Build(orig, oo, st, data)
		if err != nil {
			return nil, err
		}
		s, err := OutputSQNR(orig, q, data, o.samples(), o.Run)
		if err != nil {
			return nil, err
		}
		out = append(out, Sensitivity{id, s})
		if o.Run.Progress != nil {
			o.Run.Progress("ranking layers", i+1, len(ids))
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].SQNR < out[j].SQNR })
	return out, nil
}

// Fallback is what the accuracy budget did.
type Fallback struct {
	MaxDrop float64      `json:"max_drop_points"`
	Base    budget.Score `json:"float"`
	// First is the fully quantized model's score, Final the kept one's.
	First     budget.Score  `json:"all_quantized"`
	Final     budget.Score  `json:"final"`
	FirstDrop float64       `json:"all_quantized_drop_points"`
	FinalDrop float64       `json:"final_drop_points"`
	Measured  int           `json:"candidates_measured"`
	Returned  []string      `json:"returned_to_float,omitempty"`
	Ranking   []Sensitivity `json:"sensitivity,omitempty"`
	Holds     bool          `json:"holds"`
}

// WithBudget quantizes orig and, while the accuracy drop measured by b
// exceeds its budget, returns the most sensitive layers to float: it
// ranks the layers by the damage each does alone (Sensitivities), then
// searches (doubling, then bisection) for the fewest leading layers of
// the ranking whose return makes the budget hold (quantizing nothing
// always holds).
func WithBudget(orig *ir.Model, o Options, st Stats, data calib.Dataset, b *budget.Budget) (*ir.Model, *Plan, *Result, *Fallback, error) {
	q, p, res, err := Build(orig, o, st, data)
	if err != nil || b == nil || len(p.Layers) == 0 {
		return q, p, res, nil, err
	}
	fb := &Fallback{MaxDrop: b.MaxDrop, Base: b.Base}
	s, ok, err := b.Measure(q)
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("measuring the quantized model: %w", err)
	}
	fb.Measured++
	fb.First, fb.Final, fb.FirstDrop, fb.FinalDrop, fb.Holds = s, s, b.Drop(s), b.Drop(s), ok
	if ok {
		return q, p, res, fb, nil
	}
	if data == nil {
		return nil, nil, nil, nil, fmt.Errorf("the quantized model loses %.2f points (budget %.2f) and there is no calibration data to rank layers on", b.Drop(s), b.MaxDrop)
	}
	var ids []string
	for _, l := range p.Layers {
		ids = append(ids, l.ID)
	}
	rank, err := Sensitivities(orig, o, st, data, ids)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	fb.Ranking = rank
	try := func(k int) (*ir.Model, *Plan, *Result, budget.Score, bool, error) {
		oo := o
		oo.Exclude = map[string]bool{}
		for kk := range o.Exclude {
			oo.Exclude[kk] = true
		}
		for _, r := range rank[:k] {
			oo.Exclude[r.ID] = true
		}
		q, p, res, err := Build(orig, oo, st, data)
		if err != nil {
			return nil, nil, nil, budget.Score{}, false, err
		}
		s, ok, err := b.Measure(q)
		fb.Measured++
		return q, p, res, s, ok, err
	}
	// Exponential search from the most sensitive layer (1, 2, 4, ...
	// layers back to float) until the budget holds, then bisection in
	// the last doubling: it prefers returning few layers even where
	// accuracy is not monotone in k. k = len(rank) (all float) holds.
	var best struct {
		q   *ir.Model
		p   *Plan
		res *Result
		s   budget.Score
	}
	lo, hi := 0, len(rank)
	for k := 1; k < len(rank); k *= 2 {
		q, p, res, s, ok, err := try(k)
		if err != nil {
			return nil, nil, nil, nil, err
		}
		if ok {
			hi = k
			best.q, best.p, best.res, best.s = q, p, res, s
			break
		}
		lo = k
	}
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		q, p, res, s, ok, err := try(mid)
		if err != nil {
			return nil, nil, nil, nil, err
		}
		if ok {
			hi = mid
			best.q, best.p, best.res, best.s = q, p, res, s
		} else {
			lo = mid
		}
	}
	if best.q == nil {
		q, p, res, s, _, err := try(hi)
		if err != nil {
			return nil, nil, nil, nil, err
		}
		best.q, best.p, best.res, best.s = q, p, res, s
	}
	for _, r := range rank[:hi] {
		fb.Returned = append(fb.Returned, r.ID)
	}
	fb.Final, fb.FinalDrop, fb.Holds = best.s, b.Drop(best.s), b.Holds(best.s)
	return best.q, best.p, best.res, fb, nil
}

// WeightBytes returns the bytes of constants by dtype in m's main graph.
func WeightBytes(m *ir.Model) map[string]int64 {
	out := map[string]int64{}
	for _, v := range m.Graph.Consts {
		out[v.Const.DType.String()] += v.Const.Bytes()
	}
	return out
}

// Int8Fraction is the fraction of the weight elements of orig's layers
// that q stores in int8 (by element count, over float32 constants of
// orig).
func Int8Fraction(orig, q *ir.Model) float64 {
	var f, i float64
	for _, v := range orig.Graph.Consts {
		if v.Const.DType == ir.Float32 {
			f += float64(v.Const.NumElements())
		}
	}
	for _, v := range q.Graph.Consts {
		if v.Const.DType == ir.Int8 && len(v.Const.Dims) > 0 {
			i += float64(v.Const.NumElements())
		}
	}
	if f == 0 {
		return 0
	}
	return math.Min(1, i/f)
}

var _ = slices.Sort[[]string]
