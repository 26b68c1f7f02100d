package budget

import (
	"fmt"

	"github.com/nncc/nncc/calib"
	"github.com/nncc/nncc/check"
	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/runtime"
)

// Score is a model's top-1 result on an Evaluator's data.
type Score struct {
	// Accuracy is the fraction of samples whose top-1 class equals the
	// label; -1 without labels.
	Accuracy float64 `json:"accuracy"`
	// Agreement is the fraction of samples whose top-1 class equals the
	// original model's; -1 before a reference is set.
	Agreement float64 `json:"agreement"`
	// N is the number of samples.
	N int `json:"n"`
}

// Metric is the score a budget is held on: Accuracy with labels,
// Agreement without.
func (s Score) Metric() float64 {
	if s.Accuracy >= 0 {
		return s.Accuracy
	}
	return s.Agreement
}

// MetricName names Metric: "top-1 accuracy" or "top-1 agreement".
func (s Score) MetricName() string {
	if s.Accuracy >= 0 {
		return "top-1 accuracy"
	}
	return "top-1 agreement"
}

// Evaluator scores models on a labelled or unlabelled data set.
type Evaluator struct {
	Data calib.Dataset
	// Labels holds one class per sample, or is nil (agreement only).
	Labels []int64
	// Output names the graph output to take the top-1 of; "" means the
	// first. Its shape is (samples, classes) or (samples, ..., classes);
	// for the latter a sample counts as right when every position is.
	Output string
	// Batch is the number of samples per run (default 32; 1 when the
	// model's first input dim is fixed to 1).
	Batch   int
	Threads int

	ref []int64 // the original model's predictions, flattened
}

// NewEvaluator checks that labels (if any) fit data.
func NewEvaluator(data calib.Dataset, labels []int64) (*Evaluator, error) {
	if data == nil || data.Len() == 0 {
		return nil, fmt.Errorf("budget: no evaluation data")
	}
	if labels != nil && len(labels) != data.Len() {
		return nil, fmt.Errorf("budget: %d labels for %d samples", len(labels), data.Len())
	}
	return &Evaluator{Data: data, Labels: labels}, nil
}

// Predict runs m over the data and returns the top-1 class of every
// sample and position (samples × positions, flattened) and the number of
// positions per sample.
func (e *Evaluator) Predict(m *ir.Model) (preds []int64, per int, err error) {
	out := e.Output
	if out == "" {
		out = m.Graph.Outputs[0].Name
	}
	batch := e.Batch
	if batch <= 0 {
		batch = 32
	}
	for _, v := range m.Graph.Inputs {
		if v.Const == nil && v.Type != nil && len(v.Type.Shape) > 0 && v.Type.Shape[0].Known() {
			batch = int(v.Type.Shape[0].Value)
		}
	}
	n := e.Data.Len()
	var sess *runtime.Session
	sessBatch := 0
	for start := 0; start < n; start += batch {
		end := min(start+batch, n)
		in, err := e.Data.Batch(start, end)
		if err != nil {
			return nil, 0, err
		}
		if sess == nil || sessBatch != end-start {
			shapes := map[string][]int64{}
			for k, t := range in {
				shapes[k] = t.Dims
			}
			if sess, err = runtime.NewSession(m, runtime.Options{Threads: e.Threads, Shapes: shapes}); err != nil {
				return nil, 0, err
			}
			sessBatch = end - start
		}
		outs, err := sess.Run(in)
		if err != nil {
			return nil, 0, err
		}
		t := outs[out]
		if t == nil {
			return nil, 0, fmt.Errorf("budget: the model has no output %q", out)
		}
		if len(t.Dims) < 2 || t.Dims[0] != int64(end-start) {
			return nil, 0, fmt.Errorf("budget: output %s has shape %v; want (%d, ..., classes)", out, t.Dims, end-start)
		}
		classes := int(t.Dims[len(t.Dims)-1])
		vals := t.Float64s()
		p := len(vals) / classes / (end - start)
		if per != 0 && p != per {
			return nil, 0, fmt.Errorf("budget: output %s changed shape between batches", out)
		}
		per = p
		for r := 0; r+classes <= len(vals); r += classes {
			preds = append(preds, int64(check.Argmax(vals[r:r+classes])))
		}
	}
	return preds, per, nil
}

// SetReference takes the original model's predictions, against which
// Agreement is measured, and returns its score.
func (e *Evaluator) SetReference(m *ir.Model) (Score, error) {
	preds, per, err := e.Predict(m)
	if err != nil {
		return Score{}, err
	}
	if e.Labels != nil && per != 1 {
		return Score{}, fmt.Errorf("budget: labels need an output of shape (samples, classes), but each sample has %d predictions", per)
	}
	e.ref = preds
	return e.score(preds, per), nil
}

// Score measures m. Agreement is -1 until SetReference has run.
func (e *Evaluator) Score(m *ir.Model) (Score, error) {
	preds, per, err := e.Predict(m)
	if err != nil {
		return Score{}, err
	}
	if e.ref != nil && len(e.ref) != len(preds) {
		return Score{}, fmt.Errorf("budget: the model gives %d predictions, the original %d", len(preds), len(e.ref))
	}
	return e.score(preds, per), nil
}

func (e *Evaluator) score(preds []int64, per int) Score {
	n := e.Data.Len()
	s := Score{Accuracy: -1, Agreement: -1, N: n}
	if e.Labels != nil && per == 1 {
		right := 0
		for i, p := range preds {
			if p == e.Labels[i] {
				right++
			}
		}
		s.Accuracy = float64(right) / float64(n)
	}
	if e.ref != nil {
		same := 0
		for i := 0; i < n; i++ {
			ok := true
			for j := i * per; j < (i+1)*per; j++ {
				ok = ok && preds[j] == e.ref[j]
			}
			if ok {
				same++
			}
		}
		s.Agreement = float64(same) / float64(n)
	}
	return s
}

// Budget is the accuracy a lossy pass may spend.
type Budget struct {
	Eval *Evaluator
	// MaxDrop is the largest loss allowed, in points (percent of the
	// samples) of Accuracy with labels, of Agreement without.
	MaxDrop float64
	// Base is the original model's score (set by New).
	Base Score
}

// New measures the original model once and returns its budget.
func New(original *ir.Model, eval *Evaluator, maxDrop float64) (*Budget, error) {
	if maxDrop < 0 || maxDrop > 100 {
		return nil, fmt.Errorf("budget: --max-drop %v is outside [0, 100] points", maxDrop)
	}
	base, err := eval.SetReference(original)
	if err != nil {
		return nil, err
	}
	return &Budget{Eval: eval, MaxDrop: maxDrop, Base: base}, nil
}

// Drop is how many points s loses against the original.
func (b *Budget) Drop(s Score) float64 { return 100 * (b.Base.Metric() - s.Metric()) }

// Holds reports whether s is within the budget. A tiny tolerance absorbs
// floating-point error in the subtraction.
func (b *Budget) Holds(s Score) bool { return b.Drop(s) <= b.MaxDrop+1e-9 }

// Measure scores m and reports whether it is within the budget.
func (b *Budget) Measure(m *ir.Model) (Score, bool, error) {
	s, err := b.Eval.Score(m)
	if err != nil {
		return Score{}, false, err
	}
	return s, b.Holds(s), nil
}
