package runtime

import (
	"fmt"

	"github.com/nncc/nncc/ir"
)

type floatT interface{ ~float32 | ~float64 }

type signedT interface {
	~int8 | ~int16 | ~int32 | ~int64
}

type unsignedT interface {
	~uint8 | ~uint16 | ~uint32 | ~uint64
}

type intT interface{ signedT | unsignedT }

type numT interface{ floatT | intT }

// wordT are the unsigned types used to move elements of any dtype by
// width alone (copies, gathers, transposes).
type wordT interface {
	~uint8 | ~uint16 | ~uint32 | ~uint64
}

func isFloatT[T numT]() bool {
	var z T
	switch any(z).(type) {
	case float32, float64:
		return true
	}
	return false
}

// elemWidth returns the byte width of dt's elements, or an error for
// types that cannot be moved element-wise (strings, sub-byte types).
func elemWidth(dt ir.DType) (int, error) {
	switch dt.Bits() {
	case 8, 16, 32, 64:
		return dt.Bits() / 8, nil
	}
	return 0, fmt.Errorf("unsupported element type %s", dt)
}

// numeric reports whether dt is one of the numeric types the generic
// kernels instantiate (not bool, strings or 8-bit floats).
func numeric(dt ir.DType) bool {
	switch dt {
	case ir.Float32, ir.Float64, ir.Int8, ir.Int16, ir.Int32, ir.Int64,
		ir.Uint8, ir.Uint16, ir.Uint32, ir.Uint64:
		return true
	}
	return false
}

func errType(dt ir.DType) error { return fmt.Errorf("unsupported element type %s", dt) }
