package runtime

import (
	"fmt"
	"math"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/kernels"
)

func init() {
	register("Softmax", 1, func(b *buildCtx) (kernel, error) { return buildSoftmax(b, "Softmax") })
	register("LogSoftmax", 1, func(b *buildCtx) (kernel, error) { return buildSoftmax(b, "LogSoftmax") })
	register("Hardmax", 1, func(b *buildCtx) (kernel, error) { return buildSoftmax(b, "Hardmax") })
}

// buildSoftmax handles Softmax, LogSoftmax and Hardmax. Before opset 13
// the input is coerced to 2-D at axis (default 1) and normalised over the
// whole second dimension; from 13 on it is normalised along axis
// (default -1) alone.
func buildSoftmax(b *buildCtx, op string) (kernel, error) {
	legacy := b.opset < 13
	def := int64(-1)
	if legacy {
		def = 1
	}
	axis := b.n.AttrInt("axis", def)
	return kernelFunc(func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := needInputs(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		if !x.DType.IsFloat() {
			return nil, errType(x.DType)
		}
		r := len(x.Dims)
		var outer, dim, inner int
		if legacy {
			a := axis
			if a < 0 {
				a += int64(r)
			}
			if a < 0 || a > int64(r) {
				return nil, fmt.Errorf("axis %d is out of range for rank %d", axis, r)
			}
			outer, dim, inner = numel(x.Dims[:a]), numel(x.Dims[a:]), 1
		} else {
			if r == 0 {
				return nil, fmt.Errorf("input must have rank at least 1")
			}
			a, err := normAxis(axis, r)
			if err != nil {
				return nil, err
			}
			outer, dim, inner = numel(x.Dims[:a]), int(x.Dims[a]), numel(x.Dims[a+1:])
		}
		y, err := e.alloc(x.DType, x.Dims)
		if err != nil {
			return nil, err
		}
		if x.DType == ir.Float32 {
			softmaxF32(e, op, view[float32](x), view[float32](y), outer, dim, inner)
			return []*ir.Tensor{y}, nil
		}
		v := x.Float64s()
		softmax64(op, v, outer, dim, inner)
		return []*ir.Tensor{y}, putFloat64s(y, v)
	}), nil
}

func softmaxF32(e *env, op string, x, y []float32, outer, dim, inner int) {
	if inner == 1 && op != "Hardmax" {
		// Contiguous rows, in parallel.
		e.parallel(outer, max(1, elementGrain/max(dim, 1)), func(lo, hi int) {
			for o := lo; o < hi; o++ {
				softmaxRowF32(op == "LogSoftmax", x[o*dim:(o+1)*dim], y[o*dim:(o+1)*dim])
			}
		})
		return
	}
	row := make([]float64, dim)
	for o := 0; o < outer; o++ {
		for i := 0; i < inner; i++ {
			base := o*dim*inner + i
			for k := range row {
				row[k] = float64(x[base+k*inner])
			}
			softmaxRow(op, row)
			for k, v := range row {
				y[base+k*inner] = float32(v)
			}
		}
	}
}

func softmax64(op string, x []float64, outer, dim, inner int) {
	row := make([]float64, dim)
	for o := 0; o < outer; o++ {
		for i := 0; i < inner; i++ {
			base := o*dim*inner + i
			for k := range row {
				row[k] = x[base+k*inner]
			}
			softmaxRow(op, row)
			for k, v := range row {
				x[base+k*inner] = v
			}
		}
	}
}

// softmaxRow normalises one row in place.
func softmaxRow(op string, row []float64) {
	if len(row) == 0 {
		return
	}
	mx, arg := math.Inf(-1), 0
	for k, v := range row {
		if v > mx {
			mx, arg = v, k
		}
	}
	if op == "Hardmax" {
		for k := range row {
			row[k] = 0
		}
		row[arg] = 1
		return
	}
	var sum float64
	for _, v := range row {
		sum += math.Exp(v - mx)
	}
	if op == "LogSoftmax" {
		ls := math.Log(sum)
		for k, v := range row {
			row[k] = v - mx - ls
		}
		return
	}
	for k, v := range row {
		row[k] = math.Exp(v-mx) / sum
	}
}

// softmaxRowF32 normalises one contiguous row with the kernels' vector
// loops: x − max, the float32 exponential (kernels.Exp), their sum
// accumulated in float64, then a multiplication by its inverse (or, for
// LogSoftmax, x − max − log(sum)).
func softmaxRowF32(logSoftmax bool, x, y []float32) {
	if len(x) == 0 {
		return
	}
	y = y[:len(x)]
	mx := slicesMax(x)
	if math.IsInf(float64(mx), 0) || mx != mx {
		softmaxRowF32Slow(logSoftmax, x, y) // the infinities' rules
		return
	}
	kernels.BinaryVS(kernels.OpSub, y, x, mx, false)
	kernels.Exp(y, y)
	var sum float64
	for _, v := range y {
		sum += float64(v)
	}
	if logSoftmax {
		kernels.BinaryVS(kernels.OpSub, y, x, float32(float64(mx)+math.Log(sum)), false)
		return
	}
	kernels.BinaryVS(kernels.OpMul, y, y, float32(1/sum), false)
}

// softmaxRowF32Slow is softmaxRowF32 in float64 arithmetic, for rows
// whose maximum is infinite or NaN.
func softmaxRowF32Slow(logSoftmax bool, x, y []float32) {
	m := float64(slicesMax(x))
	var sum float64
	if logSoftmax {
		for _, v := range x {
			sum += math.Exp(float64(v) - m)
		}
		ls := m + math.Log(sum)
		for i, v := range x {
			y[i] = float32(float64(v) - ls)
		}
		return
	}
	for i, v := range x {
		ev := math.Exp(float64(v) - m)
		y[i] = float32(ev)
		sum += ev
	}
	inv := 1 / sum
	for i := range y {
		y[i] = float32(float64(y[i]) * inv)
	}
}

// slicesMax returns the largest element of x (NaN if the first is).
func slicesMax(x []float32) float32 {
	mx := x[0]
	for _, v := range x[1:] {
		mx = max(mx, v)
	}
	return mx
}
