package runtime

import (
	"fmt"
	"math"

	"github.com/nncc/nncc/ir"
)

// Losses and local normalisations, computed in float64.

func init() {
	register("NegativeLogLikelihoodLoss", 12, func(b *buildCtx) (kernel, error) { return buildLoss(b, false) })
	register("SoftmaxCrossEntropyLoss", 12, func(b *buildCtx) (kernel, error) { return buildLoss(b, true) })
	register("LRN", 1, buildLRN)
	register("MeanVarianceNormalization", 9, buildMVN)
}

func buildLoss(b *buildCtx, softmax bool) (kernel, error) {
	reduction := b.n.AttrString("reduction", "mean")
	switch reduction {
	case "none", "sum", "mean":
	default:
		return nil, fmt.Errorf("unknown reduction %q", reduction)
	}
	ignore := b.n.Attr("ignore_index")
	wantLogProb := softmax && len(b.n.Outputs) > 1 && b.n.Outputs[1] != nil
	return kernelFunc(func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := needInputs(in, 2); err != nil {
			return nil, err
		}
		x, t := in[0], in[1]
		var w *ir.Tensor
		if len(in) > 2 {
			w = in[2]
		}
		N, C, inner, err := channelsFirst(x, 2)
		if err != nil {
			return nil, err
		}
		want := append([]int64{x.Dims[0]}, x.Dims[2:]...)
		if !sameDims(t.Dims, want) {
			return nil, fmt.Errorf("target %v does not match input %v", t.Dims, x.Dims)
		}
		labels, err := intsOf(t, "target")
		if err != nil {
			return nil, err
		}
		var wv []float64
		if w != nil {
			if wv, err = channelVec(w, C, "weight"); err != nil {
				return nil, err
			}
		}
		xv := x.Float64s()
		if softmax {
			softmax64("LogSoftmax", xv, N, C, inner)
		}
		loss := make([]float64, N*inner)
		var total, weights float64
		for n := 0; n < N; n++ {
			for i := 0; i < inner; i++ {
				l := labels[n*inner+i]
				if ignore != nil && l == ignore.I {
					continue
				}
				if l < 0 || l >= int64(C) {
					return nil, fmt.Errorf("target %d is out of range for %d classes", l, C)
				}
				wt := 1.0
				if wv != nil {
					wt = wv[l]
				}
				v := -xv[(n*C+int(l))*inner+i] * wt
				loss[n*inner+i] = v
				total += v
				weights += wt
			}
		}
		var y *ir.Tensor
		switch reduction {
		case "none":
			y, err = fromFloat64s(e, x.DType, want, loss)
		case "sum":
			y, err = fromFloat64s(e, x.DType, nil, []float64{total})
		case "mean":
			y, err = fromFloat64s(e, x.DType, nil, []float64{total / weights})
		}
		if err != nil {
			return nil, err
		}
		outs := []*ir.Tensor{y}
		if wantLogProb {
			lp, err := fromFloat64s(e, x.DType, x.Dims, xv)
			if err != nil {
				return nil, err
			}
			outs = append(outs, lp)
		}
		return outs, nil
	}), nil
}

func buildLRN(b *buildCtx) (kernel, error) {
	alpha := float64(b.n.AttrFloat("alpha", 1e-4))
	beta := float64(b.n.AttrFloat("beta", 0.75))
	bias := float64(b.n.AttrFloat("bias", 1))
	size := int(b.n.AttrInt("size", 0))
	if size < 1 {
		return nil, fmt.Errorf("size must be positive")
	}
	return kernelFunc(func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := needInputs(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		N, C, inner, err := channelsFirst(x, 3)
		if err != nil {
			return nil, err
		}
		xv := x.Float64s()
		res := make([]float64, len(xv))
		lo, hi := (size-1)/2, size-1-(size-1)/2
		for n := 0; n < N; n++ {
			for c := 0; c < C; c++ {
				for i := 0; i < inner; i++ {
					var sq float64
					for k := max(0, c-lo); k <= min(C-1, c+hi); k++ {
						v := xv[(n*C+k)*inner+i]
						sq += v * v
					}
					p := (n*C+c)*inner + i
					res[p] = xv[p] / math.Pow(bias+alpha/float64(size)*sq, beta)
				}
			}
		}
		y, err := fromFloat64s(e, x.DType, x.Dims, res)
		return []*ir.Tensor{y}, err
	}), nil
}

func buildMVN(b *buildCtx) (kernel, error) {
	axes := b.n.AttrInts("axes")
	if axes == nil {
		axes = []int64{0, 2, 3}
	}
	return kernelFunc(func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := needInputs(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		if !x.DType.IsFloat() {
			return nil, errType(x.DType)
		}
		kept, _, err := reduceShape(x.Dims, axes, true)
		if err != nil {
			return nil, err
		}
		nout := numel(kept)
		bc := newBcast(x.Dims, kept)
		mean, sq := make([]float64, nout), make([]float64, nout)
		if err := reduceWalkIdx(bc, x, func(o int, v float64) { mean[o] += v; sq[o] += v * v }); err != nil {
			return nil, err
		}
		cnt := float64(numel(x.Dims)) / float64(max(nout, 1))
		for i := range mean {
			mean[i] /= cnt
			sq[i] = math.Sqrt(sq[i]/cnt - mean[i]*mean[i])
		}
		res := make([]float64, numel(x.Dims))
		xv := x.Float64s()
		sx := bc.innerStride(0)
		n := bc.inner()
		bc.each(func(o int, offs []int) {
			for i := 0; i < n; i++ {
				p := offs[0] + i*sx
				res[o+i] = (xv[o+i] - mean[p]) / (sq[p] + 1e-9)
			}
		})
		y, err := fromFloat64s(e, x.DType, x.Dims, res)
		return []*ir.Tensor{y}, err
	}), nil
}
