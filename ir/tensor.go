package ir

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"
)

// Tensor is a dense constant: a weight, a Constant node's value or a tensor
// attribute.
//
// Elements of every type but String are held once, in Data, in ONNX's raw
// little-endian layout; nothing is boxed per element. Strings are held in
// Strings. Tensors are treated as immutable once built: passes that change
// a weight build a new Tensor.
type Tensor struct {
	DType   DType
	Dims    []int64
	Data    []byte   // raw little-endian elements (nil for String)
	Strings [][]byte // String elements
	// DocString is kept for round trips.
	DocString string
}

// NumElements returns the product of the dims (1 for a scalar).
func (t *Tensor) NumElements() int64 { return NumElements(t.Dims) }

// NumElements returns the product of dims, or -1 if a dim is negative or
// the product overflows int64.
func NumElements(dims []int64) int64 {
	n := int64(1)
	for _, d := range dims {
		if d < 0 {
			return -1
		}
		if d != 0 && n > math.MaxInt64/d {
			return -1
		}
		n *= d
	}
	return n
}

// Check reports whether the tensor's storage agrees with its type and dims.
func (t *Tensor) Check() error {
	if !t.DType.Valid() {
		return fmt.Errorf("unknown dtype %d", int32(t.DType))
	}
	n := NumElements(t.Dims)
	if n < 0 {
		return fmt.Errorf("dims %v are negative or overflow", t.Dims)
	}
	if t.DType == String {
		if int64(len(t.Strings)) != n {
			return fmt.Errorf("%d strings for dims %v", len(t.Strings), t.Dims)
		}
		return nil
	}
	want, ok := t.DType.ByteSize(n)
	if !ok {
		return fmt.Errorf("dims %v of %s overflow", t.Dims, t.DType)
	}
	if int64(len(t.Data)) != want {
		return fmt.Errorf("%d bytes of data for %s%v (want %d)", len(t.Data), t.DType, t.Dims, want)
	}
	return nil
}

// Bytes returns the storage size of the tensor in bytes.
func (t *Tensor) Bytes() int64 {
	if t.DType == String {
		var n int64
		for _, s := range t.Strings {
			n += int64(len(s))
		}
		return n
	}
	return int64(len(t.Data))
}

// Clone returns a deep copy of t.
func (t *Tensor) Clone() *Tensor {
	c := *t
	c.Dims = append([]int64(nil), t.Dims...)
	if t.Data != nil {
		c.Data = append([]byte(nil), t.Data...)
	}
	if t.Strings != nil {
		c.Strings = make([][]byte, len(t.Strings))
		for i, s := range t.Strings {
			c.Strings[i] = append([]byte(nil), s...)
		}
	}
	return &c
}

// Float32View returns the float32 elements of a Float32 tensor without
// copying where the data is suitably aligned; the result aliases t.Data and
// must not be modified.
func (t *Tensor) Float32View() []float32 {
	if t.DType != Float32 {
		panic("ir: Float32View of " + t.DType.String())
	}
	if len(t.Data) == 0 {
		return nil
	}
	if uintptr(unsafe.Pointer(&t.Data[0]))%4 == 0 {
		return unsafe.Slice((*float32)(unsafe.Pointer(&t.Data[0])), len(t.Data)/4)
	}
	return t.Float32s()
}

// Float32s returns the elements converted to float32 (a new slice). It
// accepts every numeric and bool type.
func (t *Tensor) Float32s() []float32 {
	n := int(t.NumElements())
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(t.float64At(i))
	}
	return out
}

// Float64s returns the elements converted to float64 (a new slice).
func (t *Tensor) Float64s() []float64 {
	n := int(t.NumElements())
	out := make([]float64, n)
	for i := range out {
		out[i] = t.float64At(i)
	}
	return out
}

// Int64s returns the elements converted to int64 (a new slice). Floating
// elements are truncated toward zero.
func (t *Tensor) Int64s() []int64 {
	n := int(t.NumElements())
	out := make([]int64, n)
	le := binary.LittleEndian
	for i := range out {
		switch t.DType {
		case Int64:
			out[i] = int64(le.Uint64(t.Data[8*i:]))
		case Uint64:
			out[i] = int64(le.Uint64(t.Data[8*i:]))
		case Int32:
			out[i] = int64(int32(le.Uint32(t.Data[4*i:])))
		case Uint32:
			out[i] = int64(le.Uint32(t.Data[4*i:]))
		default:
			out[i] = int64(t.float64At(i))
		}
	}
	return out
}

func (t *Tensor) float64At(i int) float64 {
	le := binary.LittleEndian
	d := t.Data
	switch t.DType {
	case Float32:
		return float64(math.Float32frombits(le.Uint32(d[4*i:])))
	case Float64:
		return math.Float64frombits(le.Uint64(d[8*i:]))
	case Float16:
		return float64(Float16ToFloat32(le.Uint16(d[2*i:])))
	case BFloat16:
		return float64(math.Float32frombits(uint32(le.Uint16(d[2*i:])) << 16))
	case Int8:
		return float64(int8(d[i]))
	case Uint8, Bool:
		return float64(d[i])
	case Int16:
		return float64(int16(le.Uint16(d[2*i:])))
	case Uint16:
		return float64(le.Uint16(d[2*i:]))
	case Int32:
		return float64(int32(le.Uint32(d[4*i:])))
	case Uint32:
		return float64(le.Uint32(d[4*i:]))
	case Int64:
		return float64(int64(le.Uint64(d[8*i:])))
	case Uint64:
		return float64(le.Uint64(d[8*i:]))
	}
	panic("ir: numeric access to " + t.DType.String() + " tensor")
}

// NewTensor returns a zero-filled tensor of the given type and dims.
func NewTensor(dt DType, dims ...int64) *Tensor {
	t := &Tensor{DType: dt, Dims: append([]int64{}, dims...)}
	n := NumElements(dims)
	if dt == String {
		t.Strings = make([][]byte, n)
		return t
	}
	size, _ := dt.ByteSize(n)
	t.Data = make([]byte, size)
	return t
}

// FromFloat32 returns a Float32 tensor holding a copy of data.
func FromFloat32(dims []int64, data []float32) *Tensor {
	t := NewTensor(Float32, dims...)
	for i, v := range data {
		binary.LittleEndian.PutUint32(t.Data[4*i:], math.Float32bits(v))
	}
	return t
}

// FromFloat64 returns a tensor of type dt (Float32, Float64, Float16 or
// BFloat16) holding data converted to dt.
func FromFloat64(dt DType, dims []int64, data []float64) *Tensor {
	t := NewTensor(dt, dims...)
	le := binary.LittleEndian
	for i, v := range data {
		switch dt {
		case Float32:
			le.PutUint32(t.Data[4*i:], math.Float32bits(float32(v)))
		case Float64:
			le.PutUint64(t.Data[8*i:], math.Float64bits(v))
		case Float16:
			le.PutUint16(t.Data[2*i:], Float32ToFloat16(float32(v)))
		case BFloat16:
			le.PutUint16(t.Data[2*i:], Float32ToBFloat16(float32(v)))
		default:
			panic("ir: FromFloat64 to " + dt.String())
		}
	}
	return t
}

// FromInt64 returns an Int64 tensor holding a copy of data.
func FromInt64(dims []int64, data []int64) *Tensor {
	t := NewTensor(Int64, dims...)
	for i, v := range data {
		binary.LittleEndian.PutUint64(t.Data[8*i:], uint64(v))
	}
	return t
}

// Scalar returns a rank-0 Float32 tensor.
func Scalar(v float32) *Tensor { return FromFloat32(nil, []float32{v}) }

// Float16ToFloat32 converts IEEE half-precision bits to float32.
func Float16ToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0:
		if mant == 0 {
			return math.Float32frombits(sign)
		}
		// Subnormal: value = mant * 2^-24.
		f := float32(mant) * (1.0 / (1 << 24))
		if sign != 0 {
			f = -f
		}
		return f
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	}
	return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
}

// Float32ToFloat16 converts a float32 to IEEE half-precision bits, rounding
// to nearest even.
func Float32ToFloat16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	mant := b & 0x7fffff
	if exp == 0xff {
		if mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		if e < -10 {
			return sign
		}
		mant |= 0x800000
		shift := uint32(14 - e)
		half := uint32(1) << (shift - 1)
		r := mant >> shift
		rem := mant & (1<<shift - 1)
		if rem > half || (rem == half && r&1 == 1) {
			r++
		}
		return sign | uint16(r)
	}
	r := uint32(e)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && r&1 == 1) {
		r++
	}
	return sign | uint16(r)
}

// Float32ToBFloat16 converts a float32 to bfloat16 bits, rounding to
// nearest even.
func Float32ToBFloat16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 {
		return uint16(b>>16) | 0x40
	}
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}
