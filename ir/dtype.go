package ir

import "fmt"

// DType is a tensor element type. Its values are those of ONNX's
// TensorProto.DataType, so a DType converts to and from the wire format
// without a table.
type DType int32

// The element types. Values match onnx.TensorProto.DataType.
const (
	Undefined  DType = 0
	Float32    DType = 1
	Uint8      DType = 2
	Int8       DType = 3
	Uint16     DType = 4
	Int16      DType = 5
	Int32      DType = 6
	Int64      DType = 7
	String     DType = 8
	Bool       DType = 9
	Float16    DType = 10
	Float64    DType = 11
	Uint32     DType = 12
	Uint64     DType = 13
	Complex64  DType = 14
	Complex128 DType = 15
	BFloat16   DType = 16
	// Float8 and 4-bit types (IR version 9 and later).
	Float8E4M3FN   DType = 17
	Float8E4M3FNUZ DType = 18
	Float8E5M2     DType = 19
	Float8E5M2FNUZ DType = 20
	Uint4          DType = 21
	Int4           DType = 22
	Float4E2M1     DType = 23
)

var dtypeInfo = map[DType]struct {
	name string
	bits int
}{
	Float32: {"float32", 32}, Uint8: {"uint8", 8}, Int8: {"int8", 8},
	Uint16: {"uint16", 16}, Int16: {"int16", 16}, Int32: {"int32", 32},
	Int64: {"int64", 64}, String: {"string", 0}, Bool: {"bool", 8},
	Float16: {"float16", 16}, Float64: {"float64", 64}, Uint32: {"uint32", 32},
	Uint64: {"uint64", 64}, Complex64: {"complex64", 64}, Complex128: {"complex128", 128},
	BFloat16: {"bfloat16", 16}, Float8E4M3FN: {"float8e4m3fn", 8},
	Float8E4M3FNUZ: {"float8e4m3fnuz", 8}, Float8E5M2: {"float8e5m2", 8},
	Float8E5M2FNUZ: {"float8e5m2fnuz", 8}, Uint4: {"uint4", 4}, Int4: {"int4", 4},
	Float4E2M1: {"float4e2m1", 4},
}

// Valid reports whether d is a known element type other than Undefined.
func (d DType) Valid() bool { _, ok := dtypeInfo[d]; return ok }

// String returns the lower-case name of d, such as "float32".
func (d DType) String() string {
	if i, ok := dtypeInfo[d]; ok {
		return i.name
	}
	if d == Undefined {
		return "undefined"
	}
	return fmt.Sprintf("dtype(%d)", int32(d))
}

// Bits returns the storage width of one element in bits, or 0 for String
// and unknown types.
func (d DType) Bits() int { return dtypeInfo[d].bits }

// ByteSize returns the number of bytes n elements of d occupy in raw
// little-endian form (sub-byte types are packed two to a byte). It reports
// false when the size overflows int64 or d has no fixed size.
func (d DType) ByteSize(n int64) (int64, bool) {
	b := int64(d.Bits())
	if b == 0 || n < 0 {
		return 0, false
	}
	if b < 8 {
		return (n*b + 7) / 8, n <= (1<<62)/b
	}
	bytes := b / 8
	if n > (1<<62)/bytes {
		return 0, false
	}
	return n * bytes, true
}

// IsFloat reports whether d is a floating-point type.
func (d DType) IsFloat() bool {
	switch d {
	case Float32, Float64, Float16, BFloat16, Float8E4M3FN, Float8E4M3FNUZ, Float8E5M2, Float8E5M2FNUZ, Float4E2M1:
		return true
	}
	return false
}

// ParseDType returns the DType named s (as printed by String).
func ParseDType(s string) (DType, error) {
	for d, i := range dtypeInfo {
		if i.name == s {
			return d, nil
		}
	}
	switch s {
	case "float":
		return Float32, nil
	case "double":
		return Float64, nil
	}
	return Undefined, fmt.Errorf("unknown dtype %q", s)
}
