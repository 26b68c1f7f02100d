package runtime

import (
	"fmt"
	"math"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/kernels"
)

// Element-wise binary and variadic operators with numpy broadcasting.

func init() {
	for _, op := range []string{"Add", "Sub", "Mul", "Div"} {
		simple(op, 7, func(b *buildCtx) kernelFunc {
			return func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
				if err := needInputs(in, 2); err != nil {
					return nil, err
				}
				y, err := arith(e, op, false, in[0], in[1])
				return []*ir.Tensor{y}, err
			}
		})
	}
	simple("Mod", 10, func(b *buildCtx) kernelFunc {
		fmod := b.n.AttrInt("fmod", 0) != 0
		return func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
			if err := needInputs(in, 2); err != nil {
				return nil, err
			}
			if !fmod && in[0].DType.IsFloat() {
				return nil, fmt.Errorf("fmod must be 1 for floating-point inputs")
			}
			y, err := arith(e, "Mod", fmod, in[0], in[1])
			return []*ir.Tensor{y}, err
		}
	})
	simple("Pow", 7, func(b *buildCtx) kernelFunc { return pow })
	for _, op := range []string{"Min", "Max", "Sum", "Mean"} {
		simple(op, 8, func(b *buildCtx) kernelFunc {
			return func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
				return variadic(e, op, in)
			}
		})
	}
	for _, op := range []string{"Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual"} {
		since := int64(7)
		if op == "LessOrEqual" || op == "GreaterOrEqual" {
			since = 12
		}
		simple(op, since, func(b *buildCtx) kernelFunc {
			return func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
				if err := needInputs(in, 2); err != nil {
					return nil, err
				}
				y, err := compare(e, op, in[0], in[1])
				return []*ir.Tensor{y}, err
			}
		})
	}
	for _, op := range []string{"And", "Or", "Xor"} {
		simple(op, 7, func(b *buildCtx) kernelFunc {
			return func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
				if err := needInputs(in, 2); err != nil {
					return nil, err
				}
				y, err := logic(e, op, in[0], in[1])
				return []*ir.Tensor{y}, err
			}
		})
	}
	simple("Not", 1, func(b *buildCtx) kernelFunc {
		return func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
			if err := needInputs(in, 1); err != nil {
				return nil, err
			}
			if in[0].DType != ir.Bool {
				return nil, errType(in[0].DType)
			}
			y, err := e.alloc(ir.Bool, in[0].Dims)
			if err != nil {
				return nil, err
			}
			d := view[uint8](y)
			for i, v := range view[uint8](in[0]) {
				d[i] = b2u(v == 0)
			}
			return []*ir.Tensor{y}, nil
		}
	})
	simple("Where", 9, func(b *buildCtx) kernelFunc { return where })
}

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// binaryPrep checks dtypes and broadcasts a and b, allocating an output
// of type outType (the inputs' type when Undefined).
func binaryPrep(e *env, a, b *ir.Tensor, outType ir.DType) (*bcast, *ir.Tensor, error) {
	if a.DType != b.DType {
		return nil, nil, fmt.Errorf("input types differ: %s and %s", a.DType, b.DType)
	}
	shape, err := broadcastShape(a.Dims, b.Dims)
	if err != nil {
		return nil, nil, err
	}
	if outType == ir.Undefined {
		outType = a.DType
	}
	out, err := e.alloc(outType, shape)
	if err != nil {
		return nil, nil, err
	}
	return newBcast(shape, a.Dims, b.Dims), out, nil
}

// arith computes a op b for Add, Sub, Mul, Div, Mod, Min, Max.
func arith(e *env, op string, fmod bool, a, b *ir.Tensor) (*ir.Tensor, error) {
	if isHalf(a.DType) && a.DType == b.DType {
		w := widen([]*ir.Tensor{a, b})
		y, err := arith(e, op, fmod, w[0], w[1])
		if err != nil {
			return nil, err
		}
		return narrow(e, y, a.DType)
	}
	bc, out, err := binaryPrep(e, a, b, ir.Undefined)
	if err != nil {
		return nil, err
	}
	switch a.DType {
	case ir.Float32:
		if !arithF32(e, op, bc, view[float32](a), view[float32](b), view[float32](out)) {
			err = arithRun[float32](bc, a, b, out, op, fmod)
		}
	case ir.Float64:
		err = arithRun[float64](bc, a, b, out, op, fmod)
	case ir.Int8:
		err = arithRun[int8](bc, a, b, out, op, fmod)
	case ir.Int16:
		err = arithRun[int16](bc, a, b, out, op, fmod)
	case ir.Int32:
		err = arithRun[int32](bc, a, b, out, op, fmod)
	case ir.Int64:
		err = arithRun[int64](bc, a, b, out, op, fmod)
	case ir.Uint8:
		err = arithRun[uint8](bc, a, b, out, op, fmod)
	case ir.Uint16:
		err = arithRun[uint16](bc, a, b, out, op, fmod)
	case ir.Uint32:
		err = arithRun[uint32](bc, a, b, out, op, fmod)
	case ir.Uint64:
		err = arithRun[uint64](bc, a, b, out, op, fmod)
	default:
		err = errType(a.DType)
	}
	if err != nil {
		e.release(out)
		return nil, err
	}
	return out, nil
}

func arithRun[T numT](bc *bcast, a, b, out *ir.Tensor, op string, fmod bool) error {
	x, y, d := view[T](a), view[T](b), view[T](out)
	isF := isFloatT[T]()
	if !isF && (op == "Div" || op == "Mod") {
		for _, v := range y {
			if v == 0 {
				return fmt.Errorf("integer %s by zero", op)
			}
		}
	}
	switch op {
	case "Add":
		if fastSame(x, y, d, func(p, q T) T { return p + q }) {
			return nil
		}
		binaryMap(bc, x, y, d, func(p, q T) T { return p + q })
	case "Sub":
		binaryMap(bc, x, y, d, func(p, q T) T { return p - q })
	case "Mul":
		if fastSame(x, y, d, func(p, q T) T { return p * q }) {
			return nil
		}
		binaryMap(bc, x, y, d, func(p, q T) T { return p * q })
	case "Div":
		binaryMap(bc, x, y, d, func(p, q T) T { return p / q })
	case "Min":
		binaryMap(bc, x, y, d, func(p, q T) T {
			if p != p || p < q { // NaN propagates
				return p
			}
			return q
		})
	case "Max":
		binaryMap(bc, x, y, d, func(p, q T) T {
			if p != p || p > q {
				return p
			}
			return q
		})
	case "Mod":
		if isF {
			binaryMap(bc, x, y, d, func(p, q T) T { return T(math.Mod(float64(p), float64(q))) })
		} else {
			binaryMap(bc, x, y, d, func(p, q T) T { return intMod(p, q, fmod) })
		}
	default:
		return fmt.Errorf("unknown arithmetic %s", op)
	}
	return nil
}

// fastSame handles the common case of equal shapes with a flat loop.
func fastSame[T any](x, y, d []T, f func(T, T) T) bool {
	if len(x) != len(d) || len(y) != len(d) {
		return false
	}
	for i := range d {
		d[i] = f(x[i], y[i])
	}
	return true
}

// intMod is Mod for integers: the result takes the sign of the divisor
// (Python's %) unless fmod is set (C's %, sign of the dividend).
func intMod[T numT](p, q T, fmod bool) T {
	var r T
	switch any(p).(type) {
	case int8:
		r = T(int8(any(p).(int8)) % any(q).(int8))
	case int16:
		r = T(any(p).(int16) % any(q).(int16))
	case int32:
		r = T(any(p).(int32) % any(q).(int32))
	case int64:
		r = T(any(p).(int64) % any(q).(int64))
	case uint8:
		return T(any(p).(uint8) % any(q).(uint8))
	case uint16:
		return T(any(p).(uint16) % any(q).(uint16))
	case uint32:
		return T(any(p).(uint32) % any(q).(uint32))
	case uint64:
		return T(any(p).(uint64) % any(q).(uint64))
	}
	var zero T
	if !fmod && r != zero && (r < zero) != (q < zero) {
		r += q
	}
	return r
}

// pow computes x^y; the exponent may have a different numeric type from
// the base (opset 12+), and the result has the base's type.
func pow(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := needInputs(in, 2); err != nil {
		return nil, err
	}
	a, b := in[0], in[1]
	if !numeric(a.DType) && !isHalf(a.DType) || !numeric(b.DType) && !isHalf(b.DType) {
		return nil, fmt.Errorf("unsupported types %s ^ %s", a.DType, b.DType)
	}
	shape, err := broadcastShape(a.Dims, b.Dims)
	if err != nil {
		return nil, err
	}
	bc := newBcast(shape, a.Dims, b.Dims)
	if a.DType == ir.Float32 && b.DType == ir.Float32 {
		out, err := e.alloc(ir.Float32, shape)
		if err != nil {
			return nil, err
		}
		x, y, d := view[float32](a), view[float32](b), view[float32](out)
		if len(y) == 1 && y[0] == 2 && len(x) == len(d) {
			for i, v := range x {
				d[i] = v * v
			}
		} else {
			binaryMap(bc, x, y, d, func(p, q float32) float32 { return float32(math.Pow(float64(p), float64(q))) })
		}
		return []*ir.Tensor{out}, nil
	}
	x, y := a.Float64s(), b.Float64s()
	r := make([]float64, numel(shape))
	binaryMap(bc, x, y, r, math.Pow)
	out, err := fromFloat64s(e, a.DType, shape, r)
	return []*ir.Tensor{out}, err
}

// fromFloat64s builds a tensor of dt from float64 values (integers are
// truncated toward zero).
func fromFloat64s(e *env, dt ir.DType, dims []int64, v []float64) (*ir.Tensor, error) {
	out, err := e.alloc(dt, dims)
	if err != nil {
		return nil, err
	}
	if err := putFloat64s(out, v); err != nil {
		return nil, err
	}
	return out, nil
}

// putFloat64s stores v into t converting to t's type.
func putFloat64s(t *ir.Tensor, v []float64) error {
	switch t.DType {
	case ir.Float32:
		d := view[float32](t)
		for i, x := range v {
			d[i] = float32(x)
		}
	case ir.Float64:
		copy(view[float64](t), v)
	case ir.Float16, ir.BFloat16:
		f := make([]float32, len(v))
		for i, x := range v {
			f[i] = float32(x)
		}
		storeFloat32(t, f)
	case ir.Int8:
		convertFrom(view[int8](t), v)
	case ir.Int16:
		convertFrom(view[int16](t), v)
	case ir.Int32:
		convertFrom(view[int32](t), v)
	case ir.Int64:
		convertFrom(view[int64](t), v)
	case ir.Uint8:
		convertFrom(view[uint8](t), v)
	case ir.Uint16:
		convertFrom(view[uint16](t), v)
	case ir.Uint32:
		convertFrom(view[uint32](t), v)
	case ir.Uint64:
		convertFrom(view[uint64](t), v)
	case ir.Bool:
		d := view[uint8](t)
		for i, x := range v {
			d[i] = b2u(x != 0)
		}
	default:
		return errType(t.DType)
	}
	return nil
}

func convertFrom[T numT](d []T, v []float64) {
	for i, x := range v {
		d[i] = T(x)
	}
}

// variadic folds Min, Max, Sum or Mean over its inputs with broadcasting.
func variadic(e *env, op string, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if len(in) == 0 || in[0] == nil {
		return nil, fmt.Errorf("needs at least one input")
	}
	base := op
	if op == "Sum" || op == "Mean" {
		base = "Add"
	}
	acc := in[0]
	if len(in) == 1 {
		c, err := e.alloc(acc.DType, acc.Dims)
		if err != nil {
			return nil, err
		}
		copy(c.Data, acc.Data)
		acc = c
	}
	for _, t := range in[1:] {
		if t == nil {
			return nil, fmt.Errorf("input is missing")
		}
		next, err := arith(e, base, false, acc, t)
		if err != nil {
			return nil, err
		}
		if acc != in[0] {
			e.release(acc)
		}
		acc = next
	}
	if op == "Mean" {
		k := float64(len(in))
		switch acc.DType {
		case ir.Float32:
			for i, v := range view[float32](acc) {
				view[float32](acc)[i] = v / float32(k)
			}
		case ir.Float64:
			d := view[float64](acc)
			for i := range d {
				d[i] /= k
			}
		case ir.Float16, ir.BFloat16:
			f := toFloat32(acc)
			for i := range f {
				f[i] /= float32(k)
			}
			storeFloat32(acc, f)
		default:
			return nil, unsupportedf("Mean of %s is not supported", acc.DType)
		}
	}
	return []*ir.Tensor{acc}, nil
}

// compare evaluates a comparison into a bool tensor.
func compare(e *env, op string, a, b *ir.Tensor) (*ir.Tensor, error) {
	if isHalf(a.DType) && a.DType == b.DType {
		w := widen([]*ir.Tensor{a, b})
		a, b = w[0], w[1]
	}
	bc, out, err := binaryPrep(e, a, b, ir.Bool)
	if err != nil {
		return nil, err
	}
	switch a.DType {
	case ir.Float32:
		err = compareRun[float32](bc, a, b, out, op)
	case ir.Float64:
		err = compareRun[float64](bc, a, b, out, op)
	case ir.Int8:
		err = compareRun[int8](bc, a, b, out, op)
	case ir.Int16:
		err = compareRun[int16](bc, a, b, out, op)
	case ir.Int32:
		err = compareRun[int32](bc, a, b, out, op)
	case ir.Int64:
		err = compareRun[int64](bc, a, b, out, op)
	case ir.Uint8:
		err = compareRun[uint8](bc, a, b, out, op)
	case ir.Uint16:
		err = compareRun[uint16](bc, a, b, out, op)
	case ir.Uint32:
		err = compareRun[uint32](bc, a, b, out, op)
	case ir.Uint64:
		err = compareRun[uint64](bc, a, b, out, op)
	case ir.Bool:
		if op != "Equal" {
			err = errType(a.DType)
		} else {
			binaryMap(bc, view[uint8](a), view[uint8](b), view[uint8](out), func(p, q uint8) uint8 { return b2u((p != 0) == (q != 0)) })
		}
	default:
		err = errType(a.DType)
	}
	if err != nil {
		e.release(out)
		return nil, err
	}
	return out, nil
}

func compareRun[T numT](bc *bcast, a, b, out *ir.Tensor, op string) error {
	x, y, d := view[T](a), view[T](b), view[uint8](out)
	switch op {
	case "Equal":
		binaryMap(bc, x, y, d, func(p, q T) uint8 { return b2u(p == q) })
	case "Less":
		binaryMap(bc, x, y, d, func(p, q T) uint8 { return b2u(p < q) })
	case "Greater":
		binaryMap(bc, x, y, d, func(p, q T) uint8 { return b2u(p > q) })
	case "LessOrEqual":
		binaryMap(bc, x, y, d, func(p, q T) uint8 { return b2u(p <= q) })
	case "GreaterOrEqual":
		binaryMap(bc, x, y, d, func(p, q T) uint8 { return b2u(p >= q) })
	default:
		return fmt.Errorf("unknown comparison %s", op)
	}
	return nil
}

func logic(e *env, op string, a, b *ir.Tensor) (*ir.Tensor, error) {
	if a.DType != ir.Bool {
		return nil, errType(a.DType)
	}
	bc, out, err := binaryPrep(e, a, b, ir.Bool)
	if err != nil {
		return nil, err
	}
	x, y, d := view[uint8](a), view[uint8](b), view[uint8](out)
	switch op {
	case "And":
		binaryMap(bc, x, y, d, func(p, q uint8) uint8 { return b2u(p != 0 && q != 0) })
	case "Or":
		binaryMap(bc, x, y, d, func(p, q uint8) uint8 { return b2u(p != 0 || q != 0) })
	case "Xor":
		binaryMap(bc, x, y, d, func(p, q uint8) uint8 { return b2u((p != 0) != (q != 0)) })
	}
	return out, nil
}

// where selects x where cond is true and y elsewhere, broadcasting all
// three.
func where(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := needInputs(in, 3); err != nil {
		return nil, err
	}
	c, x, y := in[0], in[1], in[2]
	if c.DType != ir.Bool {
		return nil, fmt.Errorf("condition must be bool, not %s", c.DType)
	}
	if x.DType != y.DType {
		return nil, fmt.Errorf("input types differ: %s and %s", x.DType, y.DType)
	}
	w, err := elemWidth(x.DType)
	if err != nil {
		return nil, err
	}
	shape, err := broadcastShape(c.Dims, x.Dims, y.Dims)
	if err != nil {
		return nil, err
	}
	out, err := e.alloc(x.DType, shape)
	if err != nil {
		return nil, err
	}
	bc := newBcast(shape, c.Dims, x.Dims, y.Dims)
	switch w {
	case 1:
		whereRun[uint8](bc, c, x, y, out)
	case 2:
		whereRun[uint16](bc, c, x, y, out)
	case 4:
		whereRun[uint32](bc, c, x, y, out)
	case 8:
		whereRun[uint64](bc, c, x, y, out)
	}
	return []*ir.Tensor{out}, nil
}

func whereRun[T wordT](bc *bcast, c, x, y, out *ir.Tensor) {
	cv, xv, yv, d := view[uint8](c), view[T](x), view[T](y), view[T](out)
	sc, sx, sy := bc.innerStride(0), bc.innerStride(1), bc.innerStride(2)
	n := bc.inner()
	bc.each(func(o int, offs []int) {
		ci, xi, yi := offs[0], offs[1], offs[2]
		for i := 0; i < n; i++ {
			if cv[ci+i*sc] != 0 {
				d[o+i] = xv[xi+i*sx]
			} else {
				d[o+i] = yv[yi+i*sy]
			}
		}
	})
}

// arithF32 computes Add, Sub, Mul and Div on float32 with the kernels'
// vector loops (no call per element) for every broadcast form: equal
// shapes, a scalar on either side, and runs of the output along which
// each input advances by 1 or stays (per-channel operands and the like),
// split over threads. It reports false for other operators.
func arithF32(e *env, op string, bc *bcast, x, y, d []float32) bool {
	kop, ok := binOps[op]
	if !ok {
		return false
	}
	switch {
	case len(x) == len(d) && len(y) == len(d):
		e.parallel(len(d), elementGrain, func(lo, hi int) { kernels.BinaryVV(kop, d[lo:hi], x[lo:hi], y[lo:hi]) })
		return true
	case len(y) == 1 && len(x) == len(d):
		e.parallel(len(d), elementGrain, func(lo, hi int) { kernels.BinaryVS(kop, d[lo:hi], x[lo:hi], y[0], false) })
		return true
	case len(x) == 1 && len(y) == len(d):
		e.parallel(len(d), elementGrain, func(lo, hi int) { kernels.BinaryVS(kop, d[lo:hi], y[lo:hi], x[0], true) })
		return true
	}
	sx, sy := bc.innerStride(0), bc.innerStride(1)
	n := bc.inner()
	if bc.n == 0 {
		return true
	}
	e.parallel(bc.n/n, max(1, elementGrain/n), func(lo, hi int) {
		offs := make([]int, 2)
		for r := lo; r < hi; r++ {
			bc.offsetsAt(r, offs)
			o := r * n
			runF32(kop, d[o:o+n], x[offs[0]:], y[offs[1]:], sx, sy)
		}
	})
	return true
}

var binOps = map[string]kernels.BinOp{"Add": kernels.OpAdd, "Sub": kernels.OpSub, "Mul": kernels.OpMul, "Div": kernels.OpDiv}

// runF32 sets d[i] = x[i·sx] op y[i·sy] with strides 0 or 1.
func runF32(op kernels.BinOp, d, x, y []float32, sx, sy int) {
	switch {
	case sx == 1 && sy == 1:
		kernels.BinaryVV(op, d, x, y)
	case sx == 1:
		kernels.BinaryVS(op, d, x, y[0], false)
	case sy == 1:
		kernels.BinaryVS(op, d, y, x[0], true)
	default:
		kernels.BinaryVS(op, d[:1], x[:1], y[0], false)
		for i := 1; i < len(d); i++ {
			d[i] = d[0]
		}
	}
}

// addF32 sets d[i] = x[i·sx] + y[i·sy] with strides 0 or 1.
func addF32(d, x, y []float32, sx, sy int) { runF32(kernels.OpAdd, d, x, y, sx, sy) }

// offsetsAt sets offs[k] to input k's offset at the start of innermost
// run r of b (the r-th call of b.each), so that runs can be split over
// threads.
func (b *bcast) offsetsAt(r int, offs []int) {
	for k := range offs {
		offs[k] = 0
	}
	for d := len(b.dims) - 2; d >= 0 && r > 0; d-- {
		i := r % b.dims[d]
		r /= b.dims[d]
		for k := range offs {
			offs[k] += i * b.strides[k][d]
		}
	}
}
