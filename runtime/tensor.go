package runtime

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/nncc/nncc/ir"
)

// maxTensorBytes bounds a single tensor the runtime will allocate, so a
// hostile shape (an Expand to 1e12 elements, say) is an error rather than
// an out-of-memory crash.
const maxTensorBytes = 1 << 36

// alignedBytes returns n zeroed bytes whose first byte is 8-byte aligned,
// so that typed views of any element type are valid.
func alignedBytes(n int) []byte {
	if n == 0 {
		return []byte{}
	}
	words := make([]uint64, (n+7)/8)
	return unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), len(words)*8)[:n]
}

// view returns the elements of t as a []T aliasing t.Data. The runtime
// assumes a little-endian host (see doc.go). When t.Data is not aligned
// for T (possible only for tensors supplied from outside the runtime) the
// result is a copy, so views of such tensors must only be read.
func view[T any](t *ir.Tensor) []T {
	var z T
	size := int(unsafe.Sizeof(z))
	n := len(t.Data) / size
	if n == 0 {
		return []T{}
	}
	p := unsafe.Pointer(&t.Data[0])
	if uintptr(p)%unsafe.Alignof(z) != 0 {
		c := make([]T, n)
		copy(unsafe.Slice((*byte)(unsafe.Pointer(&c[0])), n*size), t.Data)
		return c
	}
	return unsafe.Slice((*T)(p), n)
}

// dataPtr identifies the storage of t (nil when it holds no bytes).
func dataPtr(t *ir.Tensor) *byte {
	if t == nil || len(t.Data) == 0 {
		return nil
	}
	return &t.Data[0]
}

// tensorBytes checks dims and returns the number of bytes a tensor of dt
// and dims occupies.
func tensorBytes(dt ir.DType, dims []int64) (int, error) {
	n := ir.NumElements(dims)
	if n < 0 {
		return 0, fmt.Errorf("invalid shape %v", dims)
	}
	if dt == ir.String {
		return 0, unsupportedf("string tensors are not supported")
	}
	size, ok := dt.ByteSize(n)
	if !ok || size > maxTensorBytes {
		return 0, fmt.Errorf("tensor %s%v is too large", dt, dims)
	}
	return int(size), nil
}

// newTensor allocates a zeroed, aligned tensor outside any arena.
func newTensor(dt ir.DType, dims []int64) (*ir.Tensor, error) {
	size, err := tensorBytes(dt, dims)
	if err != nil {
		return nil, err
	}
	return &ir.Tensor{DType: dt, Dims: cloneDims(dims), Data: alignedBytes(size)}, nil
}

func cloneDims(d []int64) []int64 { return append([]int64{}, d...) }

// numel returns the element count of dims, which the caller has already
// validated.
func numel(dims []int64) int {
	n := 1
	for _, d := range dims {
		n *= int(d)
	}
	return n
}

// sameDims reports whether a and b are the same shape.
func sameDims(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// aliasTensor returns a tensor with new dims sharing t's storage.
func aliasTensor(t *ir.Tensor, dims []int64) *ir.Tensor {
	return &ir.Tensor{DType: t.DType, Dims: cloneDims(dims), Data: t.Data}
}

// toFloat32 returns the elements of a float tensor of any width as
// float32; for Float32 it is a view.
func toFloat32(t *ir.Tensor) []float32 {
	switch t.DType {
	case ir.Float32:
		return view[float32](t)
	case ir.Float16:
		h := view[uint16](t)
		out := make([]float32, len(h))
		for i, v := range h {
			out[i] = ir.Float16ToFloat32(v)
		}
		return out
	case ir.BFloat16:
		h := view[uint16](t)
		out := make([]float32, len(h))
		for i, v := range h {
			out[i] = math.Float32frombits(uint32(v) << 16)
		}
		return out
	}
	return t.Float32s()
}

// storeFloat32 writes float32 values into t, converting to t's float type.
func storeFloat32(t *ir.Tensor, v []float32) {
	switch t.DType {
	case ir.Float32:
		copy(view[float32](t), v)
	case ir.Float16:
		h := view[uint16](t)
		for i, x := range v {
			h[i] = ir.Float32ToFloat16(x)
		}
	case ir.BFloat16:
		h := view[uint16](t)
		for i, x := range v {
			h[i] = ir.Float32ToBFloat16(x)
		}
	default:
		panic("runtime: storeFloat32 into " + t.DType.String())
	}
}

// isHalf reports whether dt is a 16-bit float the runtime computes in
// float32.
func isHalf(dt ir.DType) bool { return dt == ir.Float16 || dt == ir.BFloat16 }

// widen converts half-precision inputs to float32 tensors, leaving others
// unchanged; it lets float32 kernels serve float16 and bfloat16.
func widen(in []*ir.Tensor) []*ir.Tensor {
	out := make([]*ir.Tensor, len(in))
	for i, t := range in {
		if t != nil && isHalf(t.DType) {
			f := toFloat32(t)
			w := &ir.Tensor{DType: ir.Float32, Dims: t.Dims, Data: alignedBytes(4 * len(f))}
			copy(view[float32](w), f)
			out[i] = w
		} else {
			out[i] = t
		}
	}
	return out
}

// narrow converts a float32 result back to dt (a half type).
func narrow(e *env, t *ir.Tensor, dt ir.DType) (*ir.Tensor, error) {
	if t.DType != ir.Float32 || dt == ir.Float32 {
		return t, nil
	}
	out, err := e.alloc(dt, t.Dims)
	if err != nil {
		return nil, err
	}
	storeFloat32(out, view[float32](t))
	e.release(t)
	return out, nil
}
