package runtime

import (
	"fmt"
	"math"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/kernels"
)

// Reductions and ArgMax/ArgMin.

func init() {
	// The opset at which the axes attribute became an input.
	for op, moved := range map[string]int64{
		"ReduceSum": 13, "ReduceMean": 18, "ReduceMax": 18, "ReduceMin": 18,
		"ReduceProd": 18, "ReduceL1": 18, "ReduceL2": 18, "ReduceLogSum": 18,
		"ReduceLogSumExp": 18, "ReduceSumSquare": 18,
	} {
		register(op, 1, func(b *buildCtx) (kernel, error) { return buildReduce(b, op, moved) })
	}
	register("ArgMax", 1, func(b *buildCtx) (kernel, error) { return buildArg(b, true) })
	register("ArgMin", 1, func(b *buildCtx) (kernel, error) { return buildArg(b, false) })
}

func buildReduce(b *buildCtx, op string, moved int64) (kernel, error) {
	keep := b.n.AttrInt("keepdims", 1) != 0
	noop := b.n.AttrInt("noop_with_empty_axes", 0) != 0
	return kernelFunc(func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := needInputs(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		axes, _, err := axesArg(b, moved, 1, in)
		if err != nil {
			return nil, err
		}
		if len(axes) == 0 && noop && b.opset >= moved {
			return []*ir.Tensor{x}, nil
		}
		y, err := reduce(e, op, x, axes, keep)
		return []*ir.Tensor{y}, err
	}), nil
}

// reduceShape returns the kept-dims output shape and the final shape.
func reduceShape(dims []int64, axes []int64, keep bool) (kept, final []int64, err error) {
	r := len(dims)
	red := make([]bool, r)
	if len(axes) == 0 {
		for i := range red {
			red[i] = true
		}
	}
	for _, a := range axes {
		k, err := normAxis(a, r)
		if err != nil {
			return nil, nil, err
		}
		red[k] = true
	}
	kept = make([]int64, r)
	final = []int64{}
	for i, d := range dims {
		if red[i] {
			kept[i] = 1
			if keep {
				final = append(final, 1)
			}
		} else {
			kept[i] = d
			final = append(final, d)
		}
	}
	return kept, final, nil
}

func reduce(e *env, op string, x *ir.Tensor, axes []int64, keep bool) (*ir.Tensor, error) {
	kept, final, err := reduceShape(x.Dims, axes, keep)
	if err != nil {
		return nil, err
	}
	nout := numel(kept)
	count := 0
	if nout > 0 {
		count = numel(x.Dims) / nout
	}
	if y, ok, err := reduceRows(e, op, x, kept, final, nout, count); ok {
		return y, err
	}
	bc := newBcast(x.Dims, kept)
	dt := x.DType
	// Floats, and integer means and norms, accumulate in float64.
	if dt.IsFloat() || op == "ReduceMean" || op == "ReduceL2" || op == "ReduceLogSum" || op == "ReduceLogSumExp" {
		acc := make([]float64, nout)
		var init float64
		var f func(a, v float64) float64
		switch op {
		case "ReduceSum", "ReduceMean", "ReduceLogSum":
			f = func(a, v float64) float64 { return a + v }
		case "ReduceSumSquare", "ReduceL2":
			f = func(a, v float64) float64 { return a + v*v }
		case "ReduceL1":
			f = func(a, v float64) float64 { return a + math.Abs(v) }
		case "ReduceProd":
			init, f = 1, func(a, v float64) float64 { return a * v }
		case "ReduceMax", "ReduceLogSumExp":
			init, f = math.Inf(-1), func(a, v float64) float64 {
				if v > a || v != v {
					return v
				}
				return a
			}
		case "ReduceMin":
			init, f = math.Inf(1), func(a, v float64) float64 {
				if v < a || v != v {
					return v
				}
				return a
			}
		}
		for i := range acc {
			acc[i] = init
		}
		if err := reduceWalk(bc, x, acc, f); err != nil {
			return nil, err
		}
		if op == "ReduceLogSumExp" {
			mx := acc
			acc = make([]float64, nout)
			// Second pass: Σ exp(x - max).
			if err := reduceWalkIdx(bc, x, func(o int, v float64) {
				m := mx[o]
				if math.IsInf(m, 0) {
					m = 0
				}
				acc[o] += math.Exp(v - m)
			}); err != nil {
				return nil, err
			}
			for i := range acc {
				m := mx[i]
				if math.IsInf(m, 0) {
					m = 0
				}
				acc[i] = math.Log(acc[i]) + m
			}
		}
		for i := range acc {
			switch op {
			case "ReduceMean":
				acc[i] /= float64(count)
			case "ReduceL2":
				acc[i] = math.Sqrt(acc[i])
			case "ReduceLogSum":
				acc[i] = math.Log(acc[i])
			}
		}
		return fromFloat64s(e, dt, final, acc)
	}
	// Integer reductions are exact in int64.
	acc := make([]int64, nout)
	var init int64
	var f func(a, v int64) int64
	switch op {
	case "ReduceSum", "ReduceMean":
		f = func(a, v int64) int64 { return a + v }
	case "ReduceSumSquare":
		f = func(a, v int64) int64 { return a + v*v }
	case "ReduceL1":
		f = func(a, v int64) int64 {
			if v < 0 {
				v = -v
			}
			return a + v
		}
	case "ReduceProd":
		init, f = 1, func(a, v int64) int64 { return a * v }
	case "ReduceMax":
		init, f = math.MinInt64, func(a, v int64) int64 { return max(a, v) }
	case "ReduceMin":
		init, f = math.MaxInt64, func(a, v int64) int64 { return min(a, v) }
	default:
		return nil, unsupportedf("%s of %s is not supported", op, dt)
	}
	if !numeric(dt) {
		return nil, errType(dt)
	}
	for i := range acc {
		acc[i] = init
	}
	xi := x.Int64s()
	sx := bc.innerStride(0)
	n := bc.inner()
	bc.each(func(o int, offs []int) {
		for i := 0; i < n; i++ {
			p := offs[0] + i*sx
			acc[p] = f(acc[p], xi[o+i])
		}
	})
	y, err := e.alloc(dt, final)
	if err != nil {
		return nil, err
	}
	v := make([]float64, nout)
	for i, a := range acc {
		v[i] = float64(a)
	}
	if dt == ir.Int64 {
		copy(view[int64](y), acc)
		return y, nil
	}
	return y, putFloat64s(y, v)
}

// reduceRows reduces float32 x over trailing axes (kept is dims up to
// some axis, then ones) as nout rows of count elements on the vector row
// kernels, for ReduceSum, ReduceMean (GlobalAveragePool), ReduceMax and
// ReduceMin, and reports whether it applied.
func reduceRows(e *env, op string, x *ir.Tensor, kept, final []int64, nout, count int) (*ir.Tensor, bool, error) {
	if x.DType != ir.Float32 || nout == 0 || count == 0 {
		return nil, false, nil
	}
	switch op {
	case "ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin":
	default:
		return nil, false, nil
	}
	p := len(kept)
	for p > 0 && kept[p-1] == 1 {
		p--
	}
	for i := 0; i < p; i++ {
		if kept[i] != x.Dims[i] {
			return nil, false, nil // a reduced axis before a kept one
		}
	}
	y, err := e.alloc(ir.Float32, final)
	if err != nil {
		return nil, true, err
	}
	xv, yv := view[float32](x), view[float32](y)
	switch op {
	case "ReduceSum":
		kernels.SumRows(yv, xv, count, 1)
	case "ReduceMean":
		kernels.SumRows(yv, xv, count, 1/float32(count))
	case "ReduceMax":
		kernels.MaxRows(yv, xv, count)
	case "ReduceMin":
		kernels.MinRows(yv, xv, count)
	}
	return y, true, nil
}

// reduceWalk folds every element of x into acc at its output position.
func reduceWalk(bc *bcast, x *ir.Tensor, acc []float64, f func(a, v float64) float64) error {
	sx := bc.innerStride(0)
	n := bc.inner()
	switch x.DType {
	case ir.Float32:
		xv := view[float32](x)
		bc.each(func(o int, offs []int) {
			if sx == 0 {
				a := acc[offs[0]]
				for _, v := range xv[o : o+n] {
					a = f(a, float64(v))
				}
				acc[offs[0]] = a
				return
			}
			ac := acc[offs[0] : offs[0]+n]
			for i, v := range xv[o : o+n] {
				ac[i] = f(ac[i], float64(v))
			}
		})
		return nil
	}
	xv := x.Float64s()
	bc.each(func(o int, offs []int) {
		for i := 0; i < n; i++ {
			p := offs[0] + i*sx
			acc[p] = f(acc[p], xv[o+i])
		}
	})
	return nil
}

// reduceWalkIdx calls f with each element and its output position.
func reduceWalkIdx(bc *bcast, x *ir.Tensor, f func(o int, v float64)) error {
	sx := bc.innerStride(0)
	n := bc.inner()
	xv := x.Float64s()
	bc.each(func(o int, offs []int) {
		for i := 0; i < n; i++ {
			f(offs[0]+i*sx, xv[o+i])
		}
	})
	return nil
}

func buildArg(b *buildCtx, isMax bool) (kernel, error) {
	axis := b.n.AttrInt("axis", 0)
	keep := b.n.AttrInt("keepdims", 1) != 0
	last := b.n.AttrInt("select_last_index", 0) != 0
	return kernelFunc(func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := needInputs(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		if !numeric(x.DType) && !isHalf(x.DType) {
			return nil, errType(x.DType)
		}
		ax, err := normAxis(axis, len(x.Dims))
		if err != nil {
			return nil, err
		}
		dim := int(x.Dims[ax])
		if dim == 0 {
			return nil, fmt.Errorf("arg-reduction over an empty axis")
		}
		outer, inner := numel(x.Dims[:ax]), numel(x.Dims[ax+1:])
		dims := cloneDims(x.Dims)
		if keep {
			dims[ax] = 1
		} else {
			dims = append(dims[:ax], dims[ax+1:]...)
		}
		y, err := e.alloc(ir.Int64, dims)
		if err != nil {
			return nil, err
		}
		d := view[int64](y)
		xv := x.Float64s()
		for o := 0; o < outer; o++ {
			for i := 0; i < inner; i++ {
				base := o*dim*inner + i
				best, bi := xv[base], 0
				for k := 1; k < dim; k++ {
					v := xv[base+k*inner]
					better := v > best
					if !isMax {
						better = v < best
					}
					if better || (last && v == best) {
						best, bi = v, k
					}
				}
				d[o*inner+i] = int64(bi)
			}
		}
		return []*ir.Tensor{y}, nil
	}), nil
}
