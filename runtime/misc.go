package runtime

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/nncc/nncc/ir"
)

func init() {
	register("Cast", 6, func(b *buildCtx) (kernel, error) {
		to := ir.DType(b.n.AttrInt("to", 0))
		if !to.Valid() {
			return nil, fmt.Errorf("invalid target type %d", to)
		}
		return kernelFunc(func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
			if err := needInputs(in, 1); err != nil {
				return nil, err
			}
			y, err := castTensor(e, in[0], to)
			return []*ir.Tensor{y}, err
		}), nil
	})
	simple("CastLike", 15, func(b *buildCtx) kernelFunc {
		return func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
			if err := needInputs(in, 2); err != nil {
				return nil, err
			}
			y, err := castTensor(e, in[0], in[1].DType)
			return []*ir.Tensor{y}, err
		}
	})
	register("Dropout", 7, buildDropout)
	register("Constant", 1, buildConstant)
	register("ConstantOfShape", 9, func(b *buildCtx) (kernel, error) {
		val := ir.FromFloat32(nil, []float32{0})
		if a := b.n.Attr("value"); a != nil {
			if a.T == nil || a.T.NumElements() != 1 {
				return nil, fmt.Errorf("value must be a one-element tensor")
			}
			val = a.T
		}
		if _, err := elemWidth(val.DType); err != nil {
			return nil, err
		}
		return kernelFunc(func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
			if err := needInputs(in, 1); err != nil {
				return nil, err
			}
			dims, err := intsOf(in[0], "shape")
			if err != nil {
				return nil, err
			}
			y, err := e.alloc(val.DType, dims)
			if err != nil {
				return nil, err
			}
			w := len(val.Data)
			for i := 0; i < len(y.Data); i += w {
				copy(y.Data[i:i+w], val.Data)
			}
			return []*ir.Tensor{y}, nil
		}), nil
	})
	simple("Range", 11, func(b *buildCtx) kernelFunc { return rangeOp })
}

// castTensor converts x to type to. Strings are parsed and formatted as
// decimal numbers.
func castTensor(e *env, x *ir.Tensor, to ir.DType) (*ir.Tensor, error) {
	if x.DType == to {
		return x, nil
	}
	if to == ir.String {
		return castToString(x)
	}
	var vals []float64
	if x.DType == ir.String {
		vals = make([]float64, len(x.Strings))
		for i, s := range x.Strings {
			v, err := strconv.ParseFloat(strings.TrimSpace(string(s)), 64)
			if err != nil && !isRangeErr(err) {
				return nil, fmt.Errorf("cannot parse %q as a number", s)
			}
			vals[i] = v
		}
		if to == ir.Float32 {
			// Parse directly at float32 precision to avoid double rounding.
			for i, s := range x.Strings {
				if v, err := strconv.ParseFloat(strings.TrimSpace(string(s)), 32); err == nil || isRangeErr(err) {
					vals[i] = v
				}
			}
		}
		return fromFloat64s(e, to, x.Dims, vals)
	}
	if !numeric(to) && !isHalf(to) && to != ir.Bool {
		return nil, unsupportedf("cast to %s is not supported", to)
	}
	if !numeric(x.DType) && !isHalf(x.DType) && x.DType != ir.Bool {
		return nil, unsupportedf("cast from %s is not supported", x.DType)
	}
	y, err := e.alloc(to, x.Dims)
	if err != nil {
		return nil, err
	}
	switch {
	case x.DType == ir.Int64 && (to == ir.Int32 || to == ir.Int64 || to == ir.Int8 || to == ir.Int16 || to == ir.Uint8 || to == ir.Uint16 || to == ir.Uint32 || to == ir.Uint64):
		castInts(view[int64](x), y)
	case x.DType == ir.Uint64 && !to.IsFloat():
		castInts(view[uint64](x), y)
	case x.DType == ir.Float32 && to == ir.Float16 || x.DType == ir.Float32 && to == ir.BFloat16:
		storeFloat32(y, view[float32](x))
	default:
		// Every remaining source converts to float64 exactly (int64 and
		// uint64 beyond 2^53 only reach here when casting to a float,
		// where rounding is expected anyway).
		if x.DType == ir.Int64 || x.DType == ir.Uint64 {
			vals = make([]float64, numel(x.Dims))
			for i, v := range x.Int64s() {
				if x.DType == ir.Uint64 {
					vals[i] = float64(uint64(v))
				} else {
					vals[i] = float64(v)
				}
			}
		} else {
			vals = x.Float64s()
		}
		if to == ir.Float16 || to == ir.BFloat16 {
			// Round once, from float64, through float32 as numpy does.
			f := make([]float32, len(vals))
			for i, v := range vals {
				f[i] = float32(v)
			}
			storeFloat32(y, f)
		} else if err := putFloat64s(y, vals); err != nil {
			return nil, err
		}
	}
	return y, nil
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

func castInts[S int64 | uint64](x []S, y *ir.Tensor) {
	switch y.DType {
	case ir.Int8:
		convertInts(x, view[int8](y))
	case ir.Int16:
		convertInts(x, view[int16](y))
	case ir.Int32:
		convertInts(x, view[int32](y))
	case ir.Int64:
		convertInts(x, view[int64](y))
	case ir.Uint8:
		convertInts(x, view[uint8](y))
	case ir.Uint16:
		convertInts(x, view[uint16](y))
	case ir.Uint32:
		convertInts(x, view[uint32](y))
	case ir.Uint64:
		convertInts(x, view[uint64](y))
	case ir.Bool:
		d := view[uint8](y)
		for i, v := range x {
			d[i] = b2u(v != 0)
		}
	}
}

func convertInts[S int64 | uint64, D intT](x []S, d []D) {
	for i, v := range x {
		d[i] = D(v)
	}
}

func castToString(x *ir.Tensor) (*ir.Tensor, error) {
	if !numeric(x.DType) && !isHalf(x.DType) && x.DType != ir.Bool {
		return nil, unsupportedf("cast from %s to string is not supported", x.DType)
	}
	n := numel(x.Dims)
	y := &ir.Tensor{DType: ir.String, Dims: cloneDims(x.Dims), Strings: make([][]byte, n)}
	bits := 64
	if x.DType == ir.Float32 || isHalf(x.DType) {
		bits = 32
	}
	for i, v := range x.Float64s() {
		var s string
		switch {
		case math.IsNaN(v):
			s = "NaN"
		case math.IsInf(v, 1):
			s = "INF"
		case math.IsInf(v, -1):
			s = "-INF"
		case x.DType.IsFloat():
			s = strconv.FormatFloat(v, 'g', -1, bits)
		default:
			s = strconv.FormatInt(int64(v), 10)
		}
		y.Strings[i] = []byte(s)
	}
	if x.DType == ir.Int64 || x.DType == ir.Uint64 {
		for i, v := range x.Int64s() {
			if x.DType == ir.Uint64 {
				y.Strings[i] = []byte(strconv.FormatUint(uint64(v), 10))
			} else {
				y.Strings[i] = []byte(strconv.FormatInt(v, 10))
			}
		}
	}
	return y, nil
}

func buildDropout(b *buildCtx) (kernel, error) {
	wantMask := len(b.n.Outputs) > 1 && b.n.Outputs[1] != nil
	return kernelFunc(func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := needInputs(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		if b.opset >= 12 && len(in) > 2 && in[2] != nil {
			training := in[2].NumElements() == 1 && in[2].Data[0] != 0
			ratio := 0.5
			if len(in) > 1 && in[1] != nil && in[1].NumElements() == 1 {
				ratio = in[1].Float64s()[0]
			}
			if training && ratio != 0 {
				return nil, unsupportedf("training-mode dropout (random) is not supported")
			}
		}
		outs := []*ir.Tensor{x}
		if wantMask {
			if b.opset < 10 {
				// Before opset 10 the mask has the input's type.
				ones, err := fillOnes(e, x.DType, x.Dims)
				if err != nil {
					return nil, err
				}
				return append(outs, ones), nil
			}
			m, err := e.alloc(ir.Bool, x.Dims)
			if err != nil {
				return nil, err
			}
			for i := range m.Data {
				m.Data[i] = 1
			}
			outs = append(outs, m)
		}
		return outs, nil
	}), nil
}

func buildConstant(b *buildCtx) (kernel, error) {
	var t *ir.Tensor
	for _, a := range b.n.Attrs {
		switch a.Name {
		case "value":
			t = a.T
		case "value_float":
			t = ir.FromFloat32(nil, []float32{a.F})
		case "value_floats":
			t = ir.FromFloat32([]int64{int64(len(a.Floats))}, a.Floats)
		case "value_int":
			t = ir.FromInt64(nil, []int64{a.I})
		case "value_ints":
			t = ir.FromInt64([]int64{int64(len(a.Ints))}, a.Ints)
		case "value_string":
			t = &ir.Tensor{DType: ir.String, Strings: [][]byte{a.S}}
		case "value_strings":
			t = &ir.Tensor{DType: ir.String, Dims: []int64{int64(len(a.Strings))}, Strings: a.Strings}
		case "sparse_value":
			return nil, unsupportedf("sparse constants are not supported")
		}
	}
	if t == nil {
		return nil, fmt.Errorf("constant has no value attribute")
	}
	if err := t.Check(); err != nil {
		return nil, err
	}
	return kernelFunc(func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
		return []*ir.Tensor{t}, nil
	}), nil
}

func rangeOp(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := needInputs(in, 3); err != nil {
		return nil, err
	}
	dt := in[0].DType
	for _, t := range in[:3] {
		if t.DType != dt || t.NumElements() != 1 {
			return nil, fmt.Errorf("start, limit and delta must be scalars of one type")
		}
	}
	switch dt {
	case ir.Float32, ir.Float64:
		s, l, d := in[0].Float64s()[0], in[1].Float64s()[0], in[2].Float64s()[0]
		if d == 0 {
			return nil, fmt.Errorf("delta is 0")
		}
		n := math.Max(math.Ceil((l-s)/d), 0)
		if n > maxTensorBytes {
			return nil, fmt.Errorf("range is too long")
		}
		v := make([]float64, int(n))
		if dt == ir.Float32 {
			// Accumulate in float32 like the reference.
			fs, fd := float32(s), float32(d)
			for i := range v {
				v[i] = float64(fs + float32(i)*fd)
			}
		} else {
			for i := range v {
				v[i] = s + float64(i)*d
			}
		}
		y, err := fromFloat64s(e, dt, []int64{int64(len(v))}, v)
		return []*ir.Tensor{y}, err
	case ir.Int16, ir.Int32, ir.Int64:
		s, l, d := in[0].Int64s()[0], in[1].Int64s()[0], in[2].Int64s()[0]
		if d == 0 {
			return nil, fmt.Errorf("delta is 0")
		}
		n := int64(0)
		if d > 0 && l > s {
			n = (l - s + d - 1) / d
		} else if d < 0 && l < s {
			n = (s - l - d - 1) / -d
		}
		if n > maxTensorBytes {
			return nil, fmt.Errorf("range is too long")
		}
		y, err := e.alloc(dt, []int64{n})
		if err != nil {
			return nil, err
		}
		v := make([]float64, n)
		for i := range v {
			v[i] = float64(s + int64(i)*d)
		}
		if dt == ir.Int64 {
			d64 := view[int64](y)
			for i := range d64 {
				d64[i] = s + int64(i)*d
			}
		} else if err := putFloat64s(y, v); err != nil {
			return nil, err
		}
		return []*ir.Tensor{y}, nil
	}
	return nil, errType(dt)
}

// fillOnes returns a tensor of dt and dims whose elements are all 1.
func fillOnes(e *env, dt ir.DType, dims []int64) (*ir.Tensor, error) {
	one := ir.FromFloat64(ir.Float64, nil, []float64{1})
	if dt != ir.Float64 {
		var err error
		if one, err = castTensor(e, one, dt); err != nil {
			return nil, err
		}
	}
	t, err := e.alloc(dt, dims)
	if err != nil {
		return nil, err
	}
	for i := 0; i < len(t.Data); i += len(one.Data) {
		copy(t.Data[i:], one.Data)
	}
	return t, nil
}
