package runtime

import (
	"fmt"
	"math"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/kernels"
)

// Normalisation operators. Statistics accumulate in float64.

func init() {
	register("BatchNormalization", 7, buildBatchNorm)
	register("LayerNormalization", 17, buildLayerNorm)
	simple("InstanceNormalization", 6, func(b *buildCtx) kernelFunc {
		eps := float64(b.n.AttrFloat("epsilon", 1e-5))
		return func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) { return instanceNorm(e, in, eps) }
	})
}

// channelVec reads a per-channel parameter of C elements.
func channelVec(t *ir.Tensor, c int, what string) ([]float64, error) {
	if t == nil {
		return nil, fmt.Errorf("%s is missing", what)
	}
	if !t.DType.IsFloat() || numel(t.Dims) != c {
		return nil, fmt.Errorf("%s must hold %d floats, has %s%v", what, c, t.DType, t.Dims)
	}
	return t.Float64s(), nil
}

func buildBatchNorm(b *buildCtx) (kernel, error) {
	eps := float64(b.n.AttrFloat("epsilon", 1e-5))
	momentum := float64(b.n.AttrFloat("momentum", 0.9))
	training := b.opset >= 14 && b.n.AttrInt("training_mode", 0) != 0
	if b.opset < 9 && b.n.AttrInt("spatial", 1) == 0 {
		return nil, unsupportedf("spatial=0 is not supported")
	}
	nout := len(b.n.Outputs)
	if !training && b.opset >= 14 && nout > 1 {
		return nil, fmt.Errorf("outputs beyond Y need training_mode=1")
	}
	// Before opset 14, extra outputs mean training; the runtime computes
	// them like training mode.
	if b.opset < 14 && nout > 1 {
		training = true
	}
	return kernelFunc(func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := needInputs(in, 5); err != nil {
			return nil, err
		}
		x := in[0]
		N, C, inner, err := channelsFirst(x, 2)
		if err != nil {
			return nil, err
		}
		scale, err := channelVec(in[1], C, "scale")
		if err != nil {
			return nil, err
		}
		bias, err := channelVec(in[2], C, "B")
		if err != nil {
			return nil, err
		}
		mean, err := channelVec(in[3], C, "mean")
		if err != nil {
			return nil, err
		}
		variance, err := channelVec(in[4], C, "var")
		if err != nil {
			return nil, err
		}
		var outs []*ir.Tensor
		var xv []float64
		if training || x.DType != ir.Float32 {
			xv = x.Float64s()
		}
		if training {
			bm, bv := make([]float64, C), make([]float64, C)
			cnt := float64(N * inner)
			for n := 0; n < N; n++ {
				for c := 0; c < C; c++ {
					for _, v := range xv[(n*C+c)*inner : (n*C+c+1)*inner] {
						bm[c] += v
					}
				}
			}
			for c := range bm {
				bm[c] /= cnt
			}
			for n := 0; n < N; n++ {
				for c := 0; c < C; c++ {
					for _, v := range xv[(n*C+c)*inner : (n*C+c+1)*inner] {
						bv[c] += (v - bm[c]) * (v - bm[c])
					}
				}
			}
			rm, rv := make([]float64, C), make([]float64, C)
			for c := range bv {
				bv[c] /= cnt
				rm[c] = mean[c]*momentum + bm[c]*(1-momentum)
				rv[c] = variance[c]*momentum + bv[c]*(1-momentum)
			}
			mean, variance = bm, bv
			for _, v := range [][]float64{rm, rv, bm, bv}[:min(nout-1, 4)] {
				t, err := fromFloat64s(e, in[3].DType, []int64{int64(C)}, v)
				if err != nil {
					return nil, err
				}
				outs = append(outs, t)
			}
		}
		y, err := e.alloc(x.DType, x.Dims)
		if err != nil {
			return nil, err
		}
		if x.DType == ir.Float32 {
			// y = x·a + b per channel, with a and b folded in float64.
			yv, xf := view[float32](y), view[float32](x)
			fa, fb := make([]float32, C), make([]float32, C)
			for c := range fa {
				a := scale[c] / math.Sqrt(variance[c]+eps)
				fa[c], fb[c] = float32(a), float32(bias[c]-mean[c]*a)
			}
			e.parallel(N*C, max(1, elementGrain/max(inner, 1)), func(lo, hi int) {
				for p := lo; p < hi; p++ {
					c := p % C
					a, b := fa[c], fb[c]
					kernels.MulAdd(yv[p*inner:(p+1)*inner], xf[p*inner:(p+1)*inner], a, b)
				}
			})
		} else {
			r := make([]float64, len(xv))
			for n := 0; n < N; n++ {
				for c := 0; c < C; c++ {
					a := scale[c] / math.Sqrt(variance[c]+eps)
					base := (n*C + c) * inner
					for i, v := range xv[base : base+inner] {
						r[base+i] = (v-mean[c])*a + bias[c]
					}
				}
			}
			if err := putFloat64s(y, r); err != nil {
				return nil, err
			}
		}
		return append([]*ir.Tensor{y}, outs...), nil
	}), nil
}

func buildLayerNorm(b *buildCtx) (kernel, error) {
	axis := b.n.AttrInt("axis", -1)
	eps := float64(b.n.AttrFloat("epsilon", 1e-5))
	return kernelFunc(func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := needInputs(in, 2); err != nil {
			return nil, err
		}
		x, scale := in[0], in[1]
		var bias *ir.Tensor
		if len(in) > 2 {
			bias = in[2]
		}
		if !x.DType.IsFloat() {
			return nil, errType(x.DType)
		}
		r := len(x.Dims)
		ax, err := normAxis(axis, r)
		if err != nil {
			return nil, err
		}
		outer, inner := numel(x.Dims[:ax]), numel(x.Dims[ax:])
		norm := x.Dims[ax:]
		// Scale and B broadcast to the normalised shape.
		expand := func(t *ir.Tensor, what string) ([]float64, error) {
			if t == nil {
				return nil, nil
			}
			if !t.DType.IsFloat() {
				return nil, fmt.Errorf("%s must be float, is %s", what, t.DType)
			}
			s, err := broadcastShape(norm, t.Dims)
			if err != nil || !sameDims(s, norm) {
				return nil, fmt.Errorf("%s %v does not broadcast to %v", what, t.Dims, norm)
			}
			out := make([]float64, inner)
			expandTo(newBcast(norm, t.Dims), t.Float64s(), out)
			return out, nil
		}
		sv, err := expand(scale, "scale")
		if err != nil {
			return nil, err
		}
		bv, err := expand(bias, "B")
		if err != nil {
			return nil, err
		}
		means, invs := make([]float64, outer), make([]float64, outer)
		if x.DType == ir.Float32 {
			y, err := e.alloc(ir.Float32, x.Dims)
			if err != nil {
				return nil, err
			}
			layerNormF32(e, view[float32](x), view[float32](y), outer, inner, eps, toF32s(sv), toF32s(bv), means, invs)
			return layerNormOutputs(e, y, x.Dims, ax, means, invs)
		}
		xv := x.Float64s()
		res := make([]float64, len(xv))
		for o := 0; o < outer; o++ {
			row := xv[o*inner : (o+1)*inner]
			var m float64
			for _, v := range row {
				m += v
			}
			m /= float64(inner)
			var vr float64
			for _, v := range row {
				vr += (v - m) * (v - m)
			}
			vr /= float64(inner)
			inv := 1 / math.Sqrt(vr+eps)
			means[o], invs[o] = m, inv
			out := res[o*inner : (o+1)*inner]
			for i, v := range row {
				z := (v - m) * inv * sv[i]
				if bv != nil {
					z += bv[i]
				}
				out[i] = z
			}
		}
		y, err := fromFloat64s(e, x.DType, x.Dims, res)
		if err != nil {
			return nil, err
		}
		return layerNormOutputs(e, y, x.Dims, ax, means, invs)
	}), nil
}

// layerNormOutputs returns Y with the Mean and InvStdDev outputs, whose
// dims are X's with the normalised ones set to 1.
func layerNormOutputs(e *env, y *ir.Tensor, dims []int64, ax int, means, invs []float64) ([]*ir.Tensor, error) {
	statDims := cloneDims(dims)
	for i := ax; i < len(dims); i++ {
		statDims[i] = 1
	}
	outs := []*ir.Tensor{y}
	for _, v := range [][]float64{means, invs} {
		t, err := fromFloat64s(e, ir.Float32, statDims, v)
		if err != nil {
			return nil, err
		}
		outs = append(outs, t)
	}
	return outs, nil
}

// layerNormF32 normalises rows of float32 data: statistics in float64,
// the affine map in float32. scale is required, bias optional.
func layerNormF32(e *env, x, y []float32, outer, inner int, eps float64, scale, bias []float32, means, invs []float64) {
	e.parallel(outer, max(1, elementGrain/max(inner, 1)), func(lo, hi int) {
		for o := lo; o < hi; o++ {
			row, out := x[o*inner:(o+1)*inner], y[o*inner:(o+1)*inner]
			var s float64
			for _, v := range row {
				s += float64(v)
			}
			m := s / float64(inner)
			var q float64
			for _, v := range row {
				d := float64(v) - m
				q += d * d
			}
			inv := 1 / math.Sqrt(q/float64(inner)+eps)
			means[o], invs[o] = m, inv
			fm, fi := float32(m), float32(inv)
			if bias != nil {
				for i, v := range row {
					out[i] = (v-fm)*fi*scale[i] + bias[i]
				}
			} else {
				for i, v := range row {
					out[i] = (v - fm) * fi * scale[i]
				}
			}
		}
	})
}

func toF32s(v []float64) []float32 {
	if v == nil {
		return nil
	}
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

func instanceNorm(e *env, in []*ir.Tensor, eps float64) ([]*ir.Tensor, error) {
	if err := needInputs(in, 3); err != nil {
		return nil, err
	}
	x := in[0]
	N, C, inner, err := channelsFirst(x, 3)
	if err != nil {
		return nil, err
	}
	scale, err := channelVec(in[1], C, "scale")
	if err != nil {
		return nil, err
	}
	bias, err := channelVec(in[2], C, "B")
	if err != nil {
		return nil, err
	}
	xv := x.Float64s()
	res := make([]float64, len(xv))
	for n := 0; n < N; n++ {
		for c := 0; c < C; c++ {
			base := (n*C + c) * inner
			row := xv[base : base+inner]
			var m, vr float64
			for _, v := range row {
				m += v
			}
			m /= float64(inner)
			for _, v := range row {
				vr += (v - m) * (v - m)
			}
			vr /= float64(inner)
			a := scale[c] / math.Sqrt(vr+eps)
			for i, v := range row {
				res[base+i] = (v-m)*a + bias[c]
			}
		}
	}
	y, err := fromFloat64s(e, x.DType, x.Dims, res)
	return []*ir.Tensor{y}, err
}

// channelsFirst checks that x is a float tensor of at least minRank laid
// out (N, C, spatial…) and returns N, C and the spatial size.
func channelsFirst(x *ir.Tensor, minRank int) (n, c, inner int, err error) {
	if !x.DType.IsFloat() || len(x.Dims) < minRank {
		return 0, 0, 0, fmt.Errorf("input must be a float tensor of rank ≥ %d, is %s%v", minRank, x.DType, x.Dims)
	}
	return int(x.Dims[0]), int(x.Dims[1]), numel(x.Dims[2:]), nil
}
