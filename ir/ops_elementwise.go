package ir

import "math"

// Inference for elementwise operators: unary maps, broadcasting binary
// and variadic operators, comparisons and logic, and the tracking of
// integer arithmetic on shape values.

func init() {
	setInfer(inferSameAsInput,
		"Acos", "Acosh", "Asin", "Asinh", "Atan", "Atanh", "BitwiseNot",
		"Celu", "Clip", "Cos", "Cosh", "CumSum", "Elu", "Erf", "Exp",
		"Gelu", "HardSigmoid", "HardSwish", "Hardmax", "LeakyRelu",
		"Log", "LogSoftmax", "Mish", "Reciprocal",
		"Selu", "Shrink", "Sigmoid", "Sign", "Sin", "Sinh", "Softmax",
		"Softplus", "Softsign", "Sqrt", "Tan", "Tanh", "ThresholdedRelu",
		"Trilu", "ReverseSequence", "LRN", "MeanVarianceNormalization",
		"LpNormalization", "InstanceNormalization", "GroupNormalization",
		"ScatterND", "ScatterElements", "Scatter")
	setInfer(inferIdentity, "Identity")
	setInfer(inferNegAbs, "Neg", "Abs")
	setInfer(inferRounding, "Floor", "Ceil", "Round", "Relu")
	setInfer(inferPRelu, "PRelu")
	setInfer(inferDropout, "Dropout")
	setInfer(inferBool1, "IsNaN", "IsInf")
	setInfer(inferNot, "Not")
	setInfer(inferBroadcastOp(false, arithVals), "Add", "Sub", "Mul", "Div")
	setInfer(inferBroadcastOp(false, nil), "Pow", "Mod", "BitShift",
		"BitwiseAnd", "BitwiseOr", "BitwiseXor", "Sum", "Mean")
	setInfer(inferBroadcastOp(false, minMaxVals), "Min", "Max")
	setInfer(inferBroadcastOp(true, compareVals), "Equal", "Less", "Greater",
		"LessOrEqual", "GreaterOrEqual")
	setInfer(inferBroadcastOp(true, nil), "And", "Or", "Xor")
	setInfer(inferWhere, "Where")
}

// inferSameAsInput: the output has the type of input 0.
func inferSameAsInput(c *inferCtx) ([]*Type, error) {
	return []*Type{c.in(0)}, nil
}

// inferIdentity passes type and tracked contents through.
func inferIdentity(c *inferCtx) ([]*Type, error) {
	if xs, ok := c.values(0); ok {
		c.setValues(0, xs)
	}
	return []*Type{c.in(0)}, nil
}

// Neg and Abs keep their input's type and act on tracked integers.
func inferNegAbs(c *inferCtx) ([]*Type, error) {
	if xs, ok := c.values(0); ok && isIntegral(c.dtype(0)) {
		out := make([]sval, len(xs))
		for i, x := range xs {
			switch {
			case !x.known || x.v == math.MinInt64:
			case c.n.OpType == "Neg":
				out[i] = kval(-x.v)
			default:
				out[i] = kval(max(x.v, -x.v))
			}
			if x.sym != "" && c.n.OpType == "Abs" {
				out[i] = x // sizes are not negative
			}
		}
		c.setValues(0, out)
	}
	return []*Type{c.in(0)}, nil
}

// Floor, Ceil, Round and Relu keep their input's type; they act on
// tracked numbers (the size computations of exported resizes).
func inferRounding(c *inferCtx) ([]*Type, error) {
	if xs, ok := c.values(0); ok {
		out := make([]sval, len(xs))
		for i, x := range xs {
			switch {
			case x.isf:
				f := x.f
				switch c.n.OpType {
				case "Floor":
					f = math.Floor(f)
				case "Ceil":
					f = math.Ceil(f)
				case "Round":
					f = math.RoundToEven(f)
				case "Relu":
					f = max(f, 0)
				}
				out[i] = fval(f)
			case c.n.OpType != "Relu":
				out[i] = x
			case x.known:
				out[i] = kval(max(x.v, 0))
			case x.sym != "":
				out[i] = x
			}
		}
		c.setValues(0, out)
	}
	return []*Type{c.in(0)}, nil
}

// PRelu's output has the shape of X (the slope broadcasts to it).
func inferPRelu(c *inferCtx) ([]*Type, error) {
	x, ok := c.shape(0)
	if s, sok := c.shape(1); ok && sok {
		b, err := broadcastShapes(x, s)
		if err != nil {
			return nil, err
		}
		if len(b) != len(x) {
			return nil, c.errorf("slope of rank %d does not broadcast to X of rank %d", len(s), len(x))
		}
		for i := range b {
			if differentDim(b[i], x[i]) {
				return nil, c.errorf("slope %s does not broadcast to X %s", s, x)
			}
		}
	}
	return []*Type{tensorIf(c.dtype(0), x, ok)}, nil
}

// Dropout returns its input and, optionally, a mask (bool since opset 10,
// the input's type before).
func inferDropout(c *inferCtx) ([]*Type, error) {
	x, ok := c.shape(0)
	maskDT := Bool
	if c.opset < 10 {
		maskDT = c.dtype(0)
	}
	return []*Type{c.in(0), tensorIf(maskDT, x, ok)}, nil
}

// inferBool1: a bool tensor shaped like input 0.
func inferBool1(c *inferCtx) ([]*Type, error) {
	x, ok := c.shape(0)
	return []*Type{tensorIf(Bool, x, ok)}, nil
}

func inferNot(c *inferCtx) ([]*Type, error) {
	if xs, ok := c.values(0); ok && c.rank(0) >= 0 && c.rank(0) <= 1 {
		out := make([]sval, len(xs))
		for i, x := range xs {
			if x.known {
				out[i] = kval(b2i(x.v == 0))
			}
		}
		c.setValues(0, out)
	}
	return inferBool1(c)
}

// broadcastAll broadcasts the shapes of all present inputs; ok is false
// when a rank is unknown.
func broadcastAll(c *inferCtx) (Shape, bool, error) {
	var shapes []Shape
	for i := range c.n.Inputs {
		if !c.has(i) {
			continue
		}
		s, ok := c.shape(i)
		if !ok {
			return nil, false, nil
		}
		shapes = append(shapes, s)
	}
	if len(shapes) == 0 {
		return nil, false, nil
	}
	out, err := broadcastShapes(shapes...)
	return out, err == nil, err
}

// firstDType returns the element type of the first input that has one.
func firstDType(c *inferCtx) DType {
	for i := range c.n.Inputs {
		if dt := c.dtype(i); dt != Undefined {
			return dt
		}
	}
	return Undefined
}

// valsFunc combines two elements of tracked tensors; op is the node's op
// type.
type valsFunc func(op string, a, b sval) sval

// inferBroadcastOp infers a broadcasting operator whose output has the
// type of its inputs, or bool when boolOut is set. When vf is non-nil and
// the inputs are tracked vectors or scalars, the output is tracked too.
func inferBroadcastOp(boolOut bool, vf valsFunc) func(*inferCtx) ([]*Type, error) {
	return func(c *inferCtx) ([]*Type, error) {
		shape, ok, err := broadcastAll(c)
		if err != nil {
			return nil, err
		}
		dt := firstDType(c)
		if boolOut {
			dt = Bool
		}
		if vf != nil && (boolOut || isIntegral(dt) || isTrackedFloat(dt)) {
			trackBroadcast(c, vf, dt)
		}
		return []*Type{tensorIf(dt, shape, ok)}, nil
	}
}

// trackBroadcast applies vf elementwise over tracked inputs of rank 0 or
// 1 (all inputs, folded left to right); float results are rounded to dt.
func trackBroadcast(c *inferCtx, vf valsFunc, dt DType) {
	var acc []sval
	for i := range c.n.Inputs {
		xs, ok := c.values(i)
		if r := c.rank(i); !ok || r < 0 || r > 1 {
			return
		}
		if acc == nil {
			acc = xs
			continue
		}
		n := max(len(acc), len(xs))
		if (len(acc) != n && len(acc) != 1) || (len(xs) != n && len(xs) != 1) {
			return
		}
		out := make([]sval, n)
		for k := range out {
			out[k] = vf(c.n.OpType, acc[min(k, len(acc)-1)], xs[min(k, len(xs)-1)])
			if out[k].isf {
				out[k].f = roundTo(dt, out[k].f)
			}
		}
		acc = out
	}
	c.setValues(0, acc)
}

// num reads a float or integer element as a number.
func num(x sval) (float64, bool) {
	switch {
	case x.isf:
		return x.f, true
	case x.known:
		return float64(x.v), true
	}
	return 0, false
}

// floatVals does arithmetic and comparisons when an operand is a float.
func floatVals(op string, a, b sval) (sval, bool) {
	if !a.isf && !b.isf {
		return sval{}, false
	}
	x, ok1 := num(a)
	y, ok2 := num(b)
	if !ok1 || !ok2 {
		return sval{}, true
	}
	switch op {
	case "Add":
		return fval(x + y), true
	case "Sub":
		return fval(x - y), true
	case "Mul":
		return fval(x * y), true
	case "Div":
		return fval(x / y), true
	case "Max":
		return fval(max(x, y)), true
	case "Min":
		return fval(min(x, y)), true
	case "Equal":
		return kval(b2i(x == y)), true
	case "Less":
		return kval(b2i(x < y)), true
	case "Greater":
		return kval(b2i(x > y)), true
	case "LessOrEqual":
		return kval(b2i(x <= y)), true
	case "GreaterOrEqual":
		return kval(b2i(x >= y)), true
	}
	return sval{}, true
}

// arithVals does integer Add, Sub, Mul and Div on tracked elements, with
// the identities that keep a symbol (N+0, N-0, N*1, N/1).
func arithVals(op string, a, b sval) sval {
	if r, ok := floatVals(op, a, b); ok {
		return r
	}
	if a.known && b.known {
		switch op {
		case "Add":
			return kval(a.v + b.v)
		case "Sub":
			return kval(a.v - b.v)
		case "Mul":
			if p, ok := mulInt(a.v, b.v); ok {
				return kval(p)
			}
		case "Div":
			// Integer division truncates; where signs differ exporters
			// disagree, so that case stays unknown.
			if b.v != 0 && (a.v >= 0) == (b.v > 0) {
				return kval(a.v / b.v)
			}
		}
		return sval{}
	}
	isK := func(x sval, v int64) bool { return x.known && x.v == v }
	switch op {
	case "Add":
		if isK(a, 0) {
			return b
		}
		if isK(b, 0) {
			return a
		}
	case "Sub":
		if isK(b, 0) {
			return a
		}
		if a.sym != "" && a.sym == b.sym {
			return kval(0)
		}
	case "Mul":
		if isK(a, 0) || isK(b, 0) {
			return kval(0)
		}
		if isSize(a) && isSize(b) {
			return dimVal(productOf([]Dim{a.dim(), b.dim()}).dim())
		}
	case "Div":
		// Only exact cancellations: N*4/4, N*T/T, N/N (a size of 0 does
		// not divide anything, so N is not 0 here).
		if isSize(a) && isSize(b) {
			if d, known, _ := productOf([]Dim{a.dim()}).div(productOf([]Dim{b.dim()})); known {
				return dimVal(d)
			}
		}
	}
	return sval{}
}

// isSize reports whether x can stand for a dimension size: a symbol or
// a non-negative integer.
func isSize(x sval) bool { return x.sym != "" || (x.known && x.v >= 0) }

func minMaxVals(op string, a, b sval) sval {
	if r, ok := floatVals(op, a, b); ok {
		return r
	}
	switch {
	case a.known && b.known:
		if (op == "Max") == (a.v > b.v) {
			return a
		}
		return b
	case a.sym != "" && a.sym == b.sym:
		return a
	}
	return sval{}
}

func compareVals(op string, a, b sval) sval {
	if r, ok := floatVals(op, a, b); ok {
		return r
	}
	if a.known && b.known {
		var r bool
		switch op {
		case "Equal":
			r = a.v == b.v
		case "Less":
			r = a.v < b.v
		case "Greater":
			r = a.v > b.v
		case "LessOrEqual":
			r = a.v <= b.v
		case "GreaterOrEqual":
			r = a.v >= b.v
		}
		return kval(b2i(r))
	}
	if a.sym != "" && a.sym == b.sym {
		switch op {
		case "Equal", "LessOrEqual", "GreaterOrEqual":
			return kval(1)
		case "Less", "Greater":
			return kval(0)
		}
	}
	// A dimension size is never negative: N == -1 is false.
	if op == "Equal" && ((a.sym != "" && b.known && b.v < 0) || (b.sym != "" && a.known && a.v < 0)) {
		return kval(0)
	}
	return sval{}
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// Where picks from X or Y; its type is theirs, its shape the broadcast of
// all three. A known condition picks tracked elements.
func inferWhere(c *inferCtx) ([]*Type, error) {
	shape, ok, err := broadcastAll(c)
	if err != nil {
		return nil, err
	}
	dt := c.dtype(1)
	if dt == Undefined {
		dt = c.dtype(2)
	}
	if isIntegral(dt) {
		cond, ok0 := c.values(0)
		x, ok1 := c.values(1)
		y, ok2 := c.values(2)
		if ok0 && ok1 && ok2 && c.rank(0) <= 1 && c.rank(1) <= 1 && c.rank(2) <= 1 && c.rank(0) >= 0 && c.rank(1) >= 0 && c.rank(2) >= 0 {
			n := max(len(cond), len(x), len(y))
			good := func(l int) bool { return l == n || l == 1 }
			if good(len(cond)) && good(len(x)) && good(len(y)) {
				out := make([]sval, n)
				for k := range out {
					cv := cond[min(k, len(cond)-1)]
					switch {
					case !cv.known:
					case cv.v != 0:
						out[k] = x[min(k, len(x)-1)]
					default:
						out[k] = y[min(k, len(y)-1)]
					}
				}
				c.setValues(0, out)
			}
		}
	}
	return []*Type{tensorIf(dt, shape, ok)}, nil
}
