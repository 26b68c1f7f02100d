package quant

import (
	"fmt"
	"math"
	"slices"

	"github.com/nncc/nncc/calib"
	"github.com/nncc/nncc/ir"
)

// SQNR returns 10·log10(Σx² / Σ(x−y)²) in dB: the signal-to-quantization-
// noise ratio of y against the reference x (+Inf when they are equal).
func SQNR(signal, noise float64) float64 {
	if noise == 0 {
		return math.Inf(1)
	}
	if signal == 0 {
		return math.Inf(-1)
	}
	return 10 * math.Log10(signal/noise)
}

// energies runs ref and q over the first limit samples and returns, per
// tensor name, Σ ref² and Σ (ref − q)². Both models must compute the
// tensors named.
func energies(ref, q *ir.Model, names []string, data calib.Dataset, limit int, o RunOptions) (sig, noise map[string]float64, err error) {
	refOuts := map[int]map[string][]float32{}
	keep := func(outs map[string]*ir.Tensor) map[string][]float32 {
		m := map[string][]float32{}
		for _, n := range names {
			if t := outs[n]; t != nil && t.DType == ir.Float32 {
				m[n] = slices.Clone(t.Float32View())
			}
		}
		return m
	}
	o.Progress = nil
	if err := forBatches(ref, names, data, limit, "", o, func(start int, outs map[string]*ir.Tensor) error {
		refOuts[start] = keep(outs)
		return nil
	}); err != nil {
		return nil, nil, err
	}
	sig, noise = map[string]float64{}, map[string]float64{}
	err = forBatches(q, names, data, limit, "", o, func(start int, outs map[string]*ir.Tensor) error {
		r := refOuts[start]
		for _, n := range names {
			x, ok := r[n]
			t := outs[n]
			if !ok || t == nil || t.DType != ir.Float32 || len(x) != len(t.Float32View()) {
				return fmt.Errorf("quant: tensor %s differs in type or size between the models", n)
			}
			s, e := 0.0, 0.0
			for i, y := range t.Float32View() {
				xf := float64(x[i])
				s += xf * xf
				d := xf - float64(y)
				e += d * d
			}
			sig[n] += s
			noise[n] += e
		}
		delete(refOuts, start)
		return nil
	})
	return sig, noise, err
}

// LayerSQNR sets each reported layer's SQNR: its quantized output
// tensor in q against the same tensor of the float model ref.
func LayerSQNR(ref, q *ir.Model, res *Result, data calib.Dataset, limit int, o RunOptions) error {
	var names []string
	for _, l := range res.Layers {
		if l.Output != nil {
			names = append(names, l.Output.Tensor)
		}
	}
	if len(names) == 0 {
		return nil
	}
	sig, noise, err := energies(ref, q, names, data, limit, o)
	if err != nil {
		return err
	}
	for _, l := range res.Layers {
		if l.Output != nil {
			v := SQNR(sig[l.Output.Tensor], noise[l.Output.Tensor])
			l.SQNR = &v
		}
	}
	return nil
}

// OutputSQNR is the SQNR of q's graph outputs against ref's, summed over
// the outputs, on the first limit samples.
func OutputSQNR(ref, q *ir.Model, data calib.Dataset, limit int, o RunOptions) (float64, error) {
	var names []string
	for _, v := range ref.Graph.Outputs {
		names = append(names, v.Name)
	}
	sig, noise, err := energies(ref, q, names, data, limit, o)
	if err != nil {
		return 0, err
	}
	s, e := 0.0, 0.0
	for _, n := range names {
		s += sig[n]
		e += noise[n]
	}
	return SQNR(s, e), nil
}

// CorrectBias shifts the int32 bias of every layer of res so that the
// mean of its raw output per channel over the first limit samples
// matches the float model ref (fast bias correction: one measurement of
// all layers at once). q must be the model Apply quantized into res. It
// returns the largest shift, per layer, in float units.
func CorrectBias(ref, q *ir.Model, res *Result, data calib.Dataset, limit int, o RunOptions) error {
	var ids, refNames, qNames []string
	for id := range res.biases {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		refNames = append(refNames, res.biases[id].name)
		qNames = append(qNames, res.biases[id].raw.Name)
	}
	if len(ids) == 0 {
		return nil
	}
	means := func(m *ir.Model, names []string) ([][]float64, error) {
		sum := make([][]float64, len(names))
		cnt := make([]float64, len(names))
		err := forBatches(m, names, data, limit, "", RunOptions{Threads: o.Threads, Batch: o.Batch}, func(_ int, outs map[string]*ir.Tensor) error {
			for i, n := range names {
				t := outs[n]
				b := res.biases[ids[i]]
				if t == nil || len(t.Dims) < 2 {
					return fmt.Errorf("quant: no output %s to correct the bias of", n)
				}
				ch := int(t.Dims[b.axis])
				if ch != len(b.float) {
					return fmt.Errorf("quant: output %s has %d channels, its bias %d", n, ch, len(b.float))
				}
				inner := int(ir.NumElements(t.Dims[b.axis+1:]))
				if sum[i] == nil {
					sum[i] = make([]float64, ch)
				}
				for j, x := range t.Float32View() {
					sum[i][(j/inner)%ch] += float64(x)
				}
				cnt[i] += float64(t.NumElements()) / float64(ch)
			}
			return nil
		})
		for i := range sum {
			for c := range sum[i] {
				sum[i][c] /= cnt[i]
			}
		}
		return sum, err
	}
	mf, err := means(ref, refNames)
	if err != nil {
		return err
	}
	mq, err := means(q, qNames)
	if err != nil {
		return err
	}
	byID := map[string]*LayerReport{}
	for _, l := range res.Layers {
		byID[l.ID] = l
	}
	for i, id := range ids {
		b := res.biases[id]
		nb := slices.Clone(b.float)
		shift := 0.0
		for c := range nb {
			d := mf[i][c] - mq[i][c]
			nb[c] += d
			shift = math.Max(shift, math.Abs(d))
		}
		b.q.Const = quantBias(nb, b.scales)
		if l := byID[id]; l != nil {
			l.BiasShift = &shift
		}
	}
	return nil
}
