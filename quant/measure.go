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

// CorrectBias shifts the int32 bias of every layer of res by the mean
// error its weight quantization adds to each output channel on the
// calibration data: for output channel n, δ_n = Σ_k (W_q − W)[n,k]·E[x_k],
// with E[x_k] the float model's mean of input channel k over the first
// limit samples (fast bias correction; the layers are corrected
// independently, so corrections do not compound). Border padding is not
// modelled. ConvTranspose is left as it is.
func CorrectBias(ref, q *ir.Model, res *Result, data calib.Dataset, limit int, o RunOptions) error {
	var ids []string
	for id, b := range res.biases {
		if b.op == "Conv" || b.op == "Gemm" {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	slices.Sort(ids)
	var names []string
	for _, id := range ids {
		names = append(names, res.biases[id].input)
	}
	names = slices.Compact(slices.Sorted(slices.Values(names)))
	sum := map[string][]float64{}
	cnt := map[string]float64{}
	err := forBatches(ref, names, data, limit, "", RunOptions{Threads: o.Threads, Batch: o.Batch}, func(_ int, outs map[string]*ir.Tensor) error {
		for _, n := range names {
			t := outs[n]
			if t == nil || len(t.Dims) < 2 || t.DType != ir.Float32 {
				return fmt.Errorf("quant: no float input %s to correct the bias with", n)
			}
			ch := int(t.Dims[1])
			inner := int(ir.NumElements(t.Dims[2:]))
			if sum[n] == nil {
				sum[n] = make([]float64, ch)
			}
			if len(sum[n]) != ch {
				return fmt.Errorf("quant: input %s changed shape", n)
			}
			for j, x := range t.Float32View() {
				sum[n][(j/inner)%ch] += float64(x)
			}
			cnt[n] += float64(t.NumElements()) / float64(ch)
		}
		return nil
	})
	if err != nil {
		return err
	}
	byID := map[string]*LayerReport{}
	for _, l := range res.Layers {
		byID[l.ID] = l
	}
	for _, id := range ids {
		b := res.biases[id]
		mean := sum[b.input]
		for c := range mean {
			mean[c] /= cnt[b.input]
		}
		nb := slices.Clone(b.float)
		shift := 0.0
		for n := range nb {
			d := 0.0
			switch b.op {
			case "Conv":
				m := int(b.wdims[0])
				cg := int(b.wdims[1])
				k := int(ir.NumElements(b.wdims[2:]))
				g := n / (m / b.group)
				for c := 0; c < cg; c++ {
					e := 0.0
					for j := 0; j < k; j++ {
						i := (n*cg+c)*k + j
						e += float64(b.wq[i] - b.w[i])
					}
					if x := g*cg + c; x < len(mean) {
						d += e * mean[x]
					}
				}
			case "Gemm":
				if b.transB {
					kk := int(b.wdims[1])
					for k := 0; k < kk && k < len(mean); k++ {
						i := n*kk + k
						d += float64(b.wq[i]-b.w[i]) * mean[k]
					}
				} else {
					nn := int(b.wdims[1])
					for k := 0; k < int(b.wdims[0]) && k < len(mean); k++ {
						i := k*nn + n
						d += float64(b.wq[i]-b.w[i]) * mean[k]
					}
				}
			}
			nb[n] -= d
			shift = math.Max(shift, math.Abs(d))
		}
		for c := range mean {
			mean[c] *= cnt[b.input] // restore the sum for layers sharing the input
		}
		b.q.Const = quantBias(nb, b.scales)
		if l := byID[id]; l != nil {
			l.BiasShift = &shift
		}
	}
	return nil
}
