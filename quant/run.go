package quant

import (
	"fmt"
	"slices"

	"github.com/nncc/nncc/calib"
	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/runtime"
)

// RunOptions say how calibration and measurement runs use the runtime.
type RunOptions struct {
	// Threads bounds the runtime's goroutines (0: one per CPU). Results
	// do not depend on it: batches are run and observed in sample order.
	Threads int
	// Batch is the number of samples per run (default 16; a model whose
	// first input dim is fixed runs that many).
	Batch int
	// Progress, when set, is told how many samples of the pass are done.
	Progress func(label string, done, total int)
}

// withOutputs returns a copy of m whose graph also outputs the values
// named, so that a run returns them. Values the runtime would otherwise
// fuse away (a Conv's output read only by its Relu) are then computed and
// returned as they are.
func withOutputs(m *ir.Model, names []string) (*ir.Model, error) {
	c := m.Clone()
	g := c.Graph
	byName := map[string]*ir.Value{}
	for _, v := range g.Inputs {
		byName[v.Name] = v
	}
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			if o != nil {
				byName[o.Name] = o
			}
		}
	}
	isOut := map[*ir.Value]bool{}
	for _, o := range g.Outputs {
		isOut[o] = true
	}
	for _, name := range names {
		v := byName[name]
		if v == nil {
			return nil, fmt.Errorf("quant: no tensor %q to observe", name)
		}
		if !isOut[v] {
			isOut[v] = true
			g.Outputs = append(g.Outputs, v)
		}
	}
	return c, nil
}

// runner runs one model batch by batch, keeping a session per batch
// size.
type runner struct {
	m         *ir.Model
	o         RunOptions
	sess      *runtime.Session
	sessBatch int
}

func newRunner(m *ir.Model, names []string, o RunOptions) (*runner, error) {
	mm, err := withOutputs(m, names)
	if err != nil {
		return nil, err
	}
	return &runner{m: mm, o: o}, nil
}

func (r *runner) run(in map[string]*ir.Tensor, n int) (map[string]*ir.Tensor, error) {
	if r.sess == nil || r.sessBatch != n {
		shapes := map[string][]int64{}
		for k, t := range in {
			shapes[k] = slices.Clone(t.Dims)
		}
		s, err := runtime.NewSession(r.m, runtime.Options{Threads: r.o.Threads, Shapes: shapes})
		if err != nil {
			return nil, err
		}
		r.sess, r.sessBatch = s, n
	}
	return r.sess.Run(in)
}

// batchSize is the samples per run: o.Batch (default 16), or the
// model's fixed first input dim.
func batchSize(m *ir.Model, o RunOptions) int {
	batch := o.Batch
	if batch <= 0 {
		batch = 16
	}
	for _, v := range m.Graph.Inputs {
		if v.Const == nil && v.Type != nil && len(v.Type.Shape) > 0 && v.Type.Shape[0].Known() {
			batch = int(v.Type.Shape[0].Value)
		}
	}
	return batch
}

// forBatches runs the models over the first limit samples of data (all
// when limit ≤ 0), batch by batch in sample order, and calls visit with
// each batch's outputs named by names, one map per model. Memory holds
// one batch at a time.
func forBatches2(ms []*ir.Model, names []string, data calib.Dataset, limit int, label string, o RunOptions, visit func(start int, outs []map[string]*ir.Tensor) error) error {
	rs := make([]*runner, len(ms))
	for i, m := range ms {
		r, err := newRunner(m, names, o)
		if err != nil {
			return err
		}
		rs[i] = r
	}
	n := data.Len()
	if limit > 0 && limit < n {
		n = limit
	}
	batch := batchSize(ms[0], o)
	for start := 0; start < n; start += batch {
		end := min(start+batch, n)
		in, err := data.Batch(start, end)
		if err != nil {
			return err
		}
		outs := make([]map[string]*ir.Tensor, len(rs))
		for i, r := range rs {
			if outs[i], err = r.run(in, end-start); err != nil {
				return err
			}
		}
		if err := visit(start, outs); err != nil {
			return err
		}
		if o.Progress != nil {
			o.Progress(label, end, n)
		}
	}
	return nil
}

// forBatches is forBatches2 for one model.
func forBatches(m *ir.Model, names []string, data calib.Dataset, limit int, label string, o RunOptions, visit func(start int, outs map[string]*ir.Tensor) error) error {
	return forBatches2([]*ir.Model{m}, names, data, limit, label, o, func(start int, outs []map[string]*ir.Tensor) error {
		return visit(start, outs[0])
	})
}

// Stats are the calibrated ranges of activation tensors, by name.
type Stats map[string][2]float64

// Calibrate observes the tensors named over data with m and returns the
// range of each, chosen by method (pct: the percentile for Percentile).
// It streams: memory grows with the tensors' sizes, not the sample
// count. The histogram methods make two passes over the data (min/max,
// then histograms over the range found).
func Calibrate(m *ir.Model, names []string, data calib.Dataset, method string, pct float64, dt ir.DType, o RunOptions) (Stats, error) {
	if !slices.Contains(Methods, method) {
		return nil, fmt.Errorf("quant: unknown calibration method %q", method)
	}
	names = slices.Clone(names)
	slices.Sort(names)
	names = slices.Compact(names)
	obs := map[string]*Observer{}
	for _, name := range names {
		obs[name] = NewObserver(0)
	}
	observe := func(_ int, outs map[string]*ir.Tensor) error {
		for _, name := range names {
			t := outs[name]
			if t == nil || t.DType != ir.Float32 {
				return fmt.Errorf("quant: tensor %s is not float32", name)
			}
			obs[name].Add(t.Float32View())
		}
		return nil
	}
	if err := forBatches(m, names, data, 0, "calibrating", o, observe); err != nil {
		return nil, err
	}
	if method != MinMax {
		mm := obs
		obs = map[string]*Observer{}
		for _, name := range names {
			a := max(-mm[name].Min, mm[name].Max)
			if a <= 0 {
				a = 1
			}
			obs[name] = NewObserver(a)
		}
		if err := forBatches(m, names, data, 0, "calibrating ("+method+")", o, observe); err != nil {
			return nil, err
		}
	}
	st := Stats{}
	for _, name := range names {
		lo, hi, err := obs[name].Range(method, pct, dt)
		if err != nil {
			return nil, fmt.Errorf("quant: tensor %s: %w", name, err)
		}
		st[name] = [2]float64{lo, hi}
	}
	return st, nil
}
