package runtime

import (
	"fmt"
	"math"

	"github.com/nncc/nncc/ir"
)

// Element-wise unary operators and activations.

// floatUnary registers an op computing f on each element of a float
// tensor. vec, when set, computes it over a float32 slice without a call
// per element; it must agree with f rounded to float32.
func floatUnary(name string, since int64, f func(float64) float64, vec func(d, x []float32)) {
	simple(name, since, func(b *buildCtx) kernelFunc {
		return unaryKernel(f, vec)
	})
}

func unaryKernel(f func(float64) float64, vec func(d, x []float32)) kernelFunc {
	if vec == nil {
		vec = func(d, x []float32) {
			for i, v := range x {
				d[i] = float32(f(float64(v)))
			}
		}
	}
	return func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := needInputs(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		y, err := e.alloc(x.DType, x.Dims)
		if err != nil {
			return nil, err
		}
		switch x.DType {
		case ir.Float32:
			d, xv := view[float32](y), view[float32](x)
			e.parallel(len(d), elementGrain, func(lo, hi int) { vec(d[lo:hi], xv[lo:hi]) })
		case ir.Float64:
			d := view[float64](y)
			for i, v := range view[float64](x) {
				d[i] = f(v)
			}
		case ir.Float16, ir.BFloat16:
			v := toFloat32(x)
			vec(v, v)
			storeFloat32(y, v)
		default:
			e.release(y)
			return nil, errType(x.DType)
		}
		return []*ir.Tensor{y}, nil
	}
}

// numUnary registers an op defined on floats (f) and integers (fi).
func numUnary(name string, since int64, f func(float64) float64, fi func(int64) int64, vec func(d, x []float32)) {
	simple(name, since, func(b *buildCtx) kernelFunc {
		fk := unaryKernel(f, vec)
		return func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
			if err := needInputs(in, 1); err != nil {
				return nil, err
			}
			x := in[0]
			if x.DType.IsFloat() {
				return fk(e, in)
			}
			y, err := e.alloc(x.DType, x.Dims)
			if err != nil {
				return nil, err
			}
			switch x.DType {
			case ir.Int8:
				intUnary[int8](x, y, fi)
			case ir.Int16:
				intUnary[int16](x, y, fi)
			case ir.Int32:
				intUnary[int32](x, y, fi)
			case ir.Int64:
				intUnary[int64](x, y, fi)
			case ir.Uint8:
				intUnary[uint8](x, y, fi)
			case ir.Uint16:
				intUnary[uint16](x, y, fi)
			case ir.Uint32:
				intUnary[uint32](x, y, fi)
			case ir.Uint64:
				intUnary[uint64](x, y, fi)
			default:
				e.release(y)
				return nil, errType(x.DType)
			}
			return []*ir.Tensor{y}, nil
		}
	})
}

func intUnary[T intT](x, y *ir.Tensor, f func(int64) int64) {
	d := view[T](y)
	for i, v := range view[T](x) {
		d[i] = T(f(int64(v)))
	}
}

func sigmoid64(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	z := math.Exp(x)
	return z / (1 + z)
}

func softplus(x float64) float64 {
	if x > 0 {
		return x + math.Log1p(math.Exp(-x))
	}
	return math.Log1p(math.Exp(x))
}

func init() {
	floatUnary("Sqrt", 6, math.Sqrt, sqrtVec)
	floatUnary("Exp", 6, math.Exp, expVec)
	floatUnary("Log", 6, math.Log, nil)
	floatUnary("Erf", 9, math.Erf, erfVec)
	floatUnary("Reciprocal", 6, func(x float64) float64 { return 1 / x }, reciprocalVec)
	floatUnary("Floor", 6, math.Floor, nil)
	floatUnary("Ceil", 6, math.Ceil, nil)
	floatUnary("Round", 11, math.RoundToEven, nil)
	floatUnary("Sigmoid", 6, sigmoid64, sigmoidVec)
	floatUnary("Tanh", 6, math.Tanh, tanhVec)
	floatUnary("Softplus", 1, softplus, nil)
	floatUnary("Softsign", 1, func(x float64) float64 { return x / (1 + math.Abs(x)) }, nil)
	floatUnary("Sin", 7, math.Sin, nil)
	floatUnary("Cos", 7, math.Cos, nil)
	floatUnary("Tan", 7, math.Tan, nil)
	floatUnary("Asin", 7, math.Asin, nil)
	floatUnary("Acos", 7, math.Acos, nil)
	floatUnary("Atan", 7, math.Atan, nil)
	floatUnary("Sinh", 9, math.Sinh, nil)
	floatUnary("Cosh", 9, math.Cosh, nil)
	floatUnary("Asinh", 9, math.Asinh, nil)
	floatUnary("Acosh", 9, math.Acosh, nil)
	floatUnary("Atanh", 9, math.Atanh, nil)
	floatUnary("HardSwish", 14, func(x float64) float64 { return x * math.Max(0, math.Min(1, x/6+0.5)) }, hardSwishVec)

	numUnary("Neg", 6, func(x float64) float64 { return -x }, func(x int64) int64 { return -x }, negVec)
	numUnary("Abs", 6, math.Abs, func(x int64) int64 {
		if x < 0 {
			return -x
		}
		return x
	}, absVec)
	numUnary("Sign", 9, func(x float64) float64 {
		switch {
		case x > 0:
			return 1
		case x < 0:
			return -1
		}
		return x // 0 and NaN
	}, func(x int64) int64 {
		switch {
		case x > 0:
			return 1
		case x < 0:
			return -1
		}
		return 0
	}, nil)
	numUnary("Relu", 6, func(x float64) float64 { return math.Max(x, 0) }, func(x int64) int64 { return max(x, 0) }, reluVec)

	// Activations with attributes.
	param := func(name string, since int64, mk func(n *ir.Node) func(float64) float64) {
		simple(name, since, func(b *buildCtx) kernelFunc { return unaryKernel(mk(b.n), nil) })
	}
	simple("LeakyRelu", 6, func(b *buildCtx) kernelFunc {
		alpha := b.n.AttrFloat("alpha", 0.01)
		return unaryKernel(func(x float64) float64 {
			if x < 0 {
				return float64(alpha) * x
			}
			return x
		}, leakyReluVec(alpha))
	})
	param("Elu", 6, func(n *ir.Node) func(float64) float64 {
		alpha := float64(n.AttrFloat("alpha", 1))
		return func(x float64) float64 {
			if x < 0 {
				return alpha * (math.Exp(x) - 1)
			}
			return x
		}
	})
	param("Celu", 12, func(n *ir.Node) func(float64) float64 {
		alpha := float64(n.AttrFloat("alpha", 1))
		return func(x float64) float64 { return math.Max(0, x) + math.Min(0, alpha*(math.Exp(x/alpha)-1)) }
	})
	param("Selu", 6, func(n *ir.Node) func(float64) float64 {
		alpha := float64(n.AttrFloat("alpha", 1.67326319217681884765625))
		gamma := float64(n.AttrFloat("gamma", 1.05070102214813232421875))
		return func(x float64) float64 {
			if x <= 0 {
				return gamma * alpha * (math.Exp(x) - 1)
			}
			return gamma * x
		}
	})
	simple("HardSigmoid", 6, func(b *buildCtx) kernelFunc {
		alpha, beta := b.n.AttrFloat("alpha", 0.2), b.n.AttrFloat("beta", 0.5)
		return unaryKernel(func(x float64) float64 {
			return math.Max(0, math.Min(1, float64(alpha)*x+float64(beta)))
		}, hardSigmoidVec(alpha, beta))
	})
	param("ThresholdedRelu", 10, func(n *ir.Node) func(float64) float64 {
		alpha := float64(n.AttrFloat("alpha", 1))
		return func(x float64) float64 {
			if x > alpha {
				return x
			}
			return 0
		}
	})
	param("Shrink", 9, func(n *ir.Node) func(float64) float64 {
		bias := float64(n.AttrFloat("bias", 0))
		lambd := float64(n.AttrFloat("lambd", 0.5))
		return func(x float64) float64 {
			switch {
			case x < -lambd:
				return x + bias
			case x > lambd:
				return x - bias
			}
			return 0
		}
	})
	register("Gelu", 20, func(b *buildCtx) (kernel, error) {
		switch approx := b.n.AttrString("approximate", "none"); approx {
		case "none":
			return unaryKernel(func(x float64) float64 { return 0.5 * x * (1 + math.Erf(x/math.Sqrt2)) }, geluVec), nil
		case "tanh":
			c := math.Sqrt(2 / math.Pi)
			return unaryKernel(func(x float64) float64 { return 0.5 * x * (1 + math.Tanh(c*(x+0.044715*x*x*x))) }, geluTanhVec), nil
		default:
			return nil, fmt.Errorf("unknown approximate %q", approx)
		}
	})
	simple("IsNaN", 9, func(b *buildCtx) kernelFunc {
		return floatPredicate(func(x float64) bool { return x != x })
	})
	simple("IsInf", 10, func(b *buildCtx) kernelFunc {
		pos := b.n.AttrInt("detect_positive", 1) != 0
		neg := b.n.AttrInt("detect_negative", 1) != 0
		return floatPredicate(func(x float64) bool { return pos && math.IsInf(x, 1) || neg && math.IsInf(x, -1) })
	})
	register("Clip", 6, buildClip)
	simple("PRelu", 7, func(b *buildCtx) kernelFunc { return prelu })
}

func floatPredicate(f func(float64) bool) kernelFunc {
	return func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := needInputs(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		if !x.DType.IsFloat() {
			return nil, errType(x.DType)
		}
		y, err := e.alloc(ir.Bool, x.Dims)
		if err != nil {
			return nil, err
		}
		d := view[uint8](y)
		for i, v := range x.Float64s() {
			d[i] = b2u(f(v))
		}
		return []*ir.Tensor{y}, nil
	}
}

func buildClip(b *buildCtx) (kernel, error) {
	if b.opset < 11 {
		lo := float64(b.n.AttrFloat("min", float32(math.Inf(-1))))
		hi := float64(b.n.AttrFloat("max", float32(math.Inf(1))))
		return unaryKernel(func(x float64) float64 { return clamp(x, lo, hi) }, clampVec(float32(lo), float32(hi))), nil
	}
	return kernelFunc(func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := needInputs(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		bound := func(i int, def float64) (float64, error) {
			if i >= len(in) || in[i] == nil {
				return def, nil
			}
			if in[i].DType != x.DType || in[i].NumElements() != 1 {
				return 0, fmt.Errorf("clip bound %d must be a %s scalar, got %s%v", i, x.DType, in[i].DType, in[i].Dims)
			}
			return in[i].Float64s()[0], nil
		}
		lo, err := bound(1, math.Inf(-1))
		if err != nil {
			return nil, err
		}
		hi, err := bound(2, math.Inf(1))
		if err != nil {
			return nil, err
		}
		if x.DType.IsFloat() {
			return unaryKernel(func(v float64) float64 { return clamp(v, lo, hi) }, clampVec(float32(lo), float32(hi)))(e, in[:1])
		}
		if !numeric(x.DType) {
			return nil, errType(x.DType)
		}
		// Integer bounds: compare in int64 (uint64 beyond 2^63 is not
		// expected in clip bounds).
		ilo, ihi := int64(math.MinInt64), int64(math.MaxInt64)
		if len(in) > 1 && in[1] != nil {
			ilo = in[1].Int64s()[0]
		}
		if len(in) > 2 && in[2] != nil {
			ihi = in[2].Int64s()[0]
		}
		y, err := e.alloc(x.DType, x.Dims)
		if err != nil {
			return nil, err
		}
		f := func(v int64) int64 { return min(max(v, ilo), ihi) }
		switch x.DType {
		case ir.Int8:
			intUnary[int8](x, y, f)
		case ir.Int16:
			intUnary[int16](x, y, f)
		case ir.Int32:
			intUnary[int32](x, y, f)
		case ir.Int64:
			intUnary[int64](x, y, f)
		case ir.Uint8:
			intUnary[uint8](x, y, f)
		case ir.Uint16:
			intUnary[uint16](x, y, f)
		case ir.Uint32:
			intUnary[uint32](x, y, f)
		case ir.Uint64:
			intUnary[uint64](x, y, f)
		}
		return []*ir.Tensor{y}, nil
	}), nil
}

// clamp is numpy's clip: min(max(x, lo), hi), so lo > hi yields hi.
func clamp(x, lo, hi float64) float64 {
	if x < lo {
		x = lo
	}
	if x > hi {
		x = hi
	}
	return x
}

// prelu computes x<0 ? slope*x : x with slope broadcast to x's shape.
func prelu(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := needInputs(in, 2); err != nil {
		return nil, err
	}
	x, s := in[0], in[1]
	dt := x.DType
	if isHalf(dt) {
		w := widen(in[:2])
		y, err := prelu(e, w)
		if err != nil {
			return nil, err
		}
		out, err := narrow(e, y[0], dt)
		return []*ir.Tensor{out}, err
	}
	shape, err := broadcastShape(x.Dims, s.Dims)
	if err != nil {
		return nil, err
	}
	if !sameDims(shape, x.Dims) || s.DType != dt {
		return nil, fmt.Errorf("slope %s%v does not broadcast to input %s%v", s.DType, s.Dims, dt, x.Dims)
	}
	bc := newBcast(shape, x.Dims, s.Dims)
	y, err := e.alloc(dt, shape)
	if err != nil {
		return nil, err
	}
	switch dt {
	case ir.Float32:
		preluRun[float32](bc, x, s, y)
	case ir.Float64:
		preluRun[float64](bc, x, s, y)
	case ir.Int32:
		preluRun[int32](bc, x, s, y)
	case ir.Int64:
		preluRun[int64](bc, x, s, y)
	default:
		e.release(y)
		return nil, errType(dt)
	}
	return []*ir.Tensor{y}, nil
}

func preluRun[T numT](bc *bcast, x, s, y *ir.Tensor) {
	binaryMap(bc, view[T](x), view[T](s), view[T](y), func(v, a T) T {
		if v < 0 {
			return a * v
		}
		return v
	})
}
