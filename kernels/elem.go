package kernels

// Element-wise float32 kernels: the binary operators against a scalar or
// a second vector, clamping (Relu, Clip), scale-and-shift and the
// hard-swish pattern. Each computes exactly what the scalar loop computes
// (one rounding per operation, no fused multiply-add), with AVX2 where the
// CPU has it (see elem_amd64.go) and plain Go elsewhere; dst may be x (or
// y) itself, but must not overlap them otherwise.

// BinOp is an element-wise binary operator.
type BinOp int

const (
	OpAdd BinOp = iota
	OpSub
	OpMul
	OpDiv
)

// BinaryVS sets dst[i] = x[i] op s, or s op x[i] when rev, for i <
// len(dst); len(x) ≥ len(dst).
func BinaryVS(op BinOp, dst, x []float32, s float32, rev bool) {
	x = x[:len(dst)]
	n := elemVS(op, dst, x, s, rev)
	binaryVSGo(op, dst[n:], x[n:], s, rev)
}

// BinaryVV sets dst[i] = x[i] op y[i] for i < len(dst); len(x), len(y) ≥
// len(dst).
func BinaryVV(op BinOp, dst, x, y []float32) {
	x, y = x[:len(dst)], y[:len(dst)]
	n := elemVV(op, dst, x, y)
	binaryVVGo(op, dst[n:], x[n:], y[n:])
}

// Clamp sets dst[i] = min(max(x[i], lo), hi), keeping NaNs: Relu is
// Clamp(0, +Inf), Relu6 Clamp(0, 6).
func Clamp(dst, x []float32, lo, hi float32) {
	x = x[:len(dst)]
	n := elemClamp(dst, x, lo, hi)
	x, d := x[n:], dst[n:]
	for i, v := range x {
		d[i] = min(max(v, lo), hi)
	}
}

// MulAdd sets dst[i] = x[i]·m + b, rounding the product before the sum
// (a Mul node then an Add node).
func MulAdd(dst, x []float32, m, b float32) {
	x = x[:len(dst)]
	n := elemMulAdd(dst, x, m, b)
	x, d := x[n:], dst[n:]
	for i, v := range x {
		d[i] = float32(v*m) + b
	}
}

// HardSwishPattern sets dst[i] = x[i]·min(max(x[i]+c, lo), hi): the
// hard-swish of exporters that spell it Add, Clip, Mul (before the final
// division by 6), with the same roundings.
func HardSwishPattern(dst, x []float32, c, lo, hi float32) {
	x = x[:len(dst)]
	n := elemHswish(dst, x, c, lo, hi)
	x, d := x[n:], dst[n:]
	for i, v := range x {
		d[i] = v * min(max(v+c, lo), hi)
	}
}

func binaryVSGo(op BinOp, d, x []float32, s float32, rev bool) {
	switch {
	case op == OpAdd:
		for i, v := range x {
			d[i] = v + s
		}
	case op == OpMul:
		for i, v := range x {
			d[i] = v * s
		}
	case op == OpSub && !rev:
		for i, v := range x {
			d[i] = v - s
		}
	case op == OpSub:
		for i, v := range x {
			d[i] = s - v
		}
	case op == OpDiv && !rev:
		for i, v := range x {
			d[i] = v / s
		}
	case op == OpDiv:
		for i, v := range x {
			d[i] = s / v
		}
	default:
		panic("kernels: BinaryVS: unknown operator")
	}
}

func binaryVVGo(op BinOp, d, x, y []float32) {
	switch op {
	case OpAdd:
		for i, v := range x {
			d[i] = v + y[i]
		}
	case OpSub:
		for i, v := range x {
			d[i] = v - y[i]
		}
	case OpMul:
		for i, v := range x {
			d[i] = v * y[i]
		}
	case OpDiv:
		for i, v := range x {
			d[i] = v / y[i]
		}
	default:
		panic("kernels: BinaryVV: unknown operator")
	}
}
