package ir

import "strings"

// Inference for reductions (Reduce*, ArgMax, ArgMin), TopK and Einsum.

func init() {
	setInfer(inferReduce, "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin",
		"ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp",
		"ReduceSumSquare")
	setInfer(inferArgReduce, "ArgMax", "ArgMin")
	setInfer(inferTopK, "TopK")
	setInfer(inferEinsum, "Einsum")
}

func inferReduce(c *inferCtx) ([]*Type, error) {
	dt := c.dtype(0)
	in, ok := c.shape(0)
	keep := c.n.AttrInt("keepdims", 1) != 0
	axes, present, known := axesInput(c, 1)
	if !ok {
		return []*Type{unranked(dt)}, nil
	}
	if !known {
		if keep {
			return []*Type{tensor(dt, unknownShape(len(in)))}, nil
		}
		if n, ok := vectorLen(c, 1); ok && n > 0 && n <= len(in) {
			return []*Type{tensor(dt, unknownShape(len(in)-n))}, nil
		}
		return []*Type{unranked(dt)}, nil
	}
	reduce := make([]bool, len(in))
	if !present || len(axes) == 0 {
		if c.n.AttrInt("noop_with_empty_axes", 0) != 0 {
			passValues(c, 0)
			return []*Type{tensor(dt, in)}, nil
		}
		for i := range reduce {
			reduce[i] = true
		}
	} else {
		norm, err := normAxes(axes, len(in))
		if err != nil {
			return nil, err
		}
		for _, a := range norm {
			reduce[a] = true
		}
	}
	out := Shape{}
	for i, d := range in {
		switch {
		case !reduce[i]:
			out = append(out, d)
		case keep:
			out = append(out, D(1))
		}
	}
	// Sums and products of a tracked vector (element counts of shapes).
	if xs, ok := c.values(0); ok && len(in) == 1 && reduce[0] && isIntegral(dt) {
		switch c.n.OpType {
		case "ReduceProd":
			ds := make([]Dim, len(xs))
			for i, x := range xs {
				ds[i] = x.dim()
				if x.known && x.v < 0 {
					ds[i] = UnknownDim
				}
			}
			c.setValues(0, []sval{dimVal(productOf(ds).dim())})
		case "ReduceSum":
			acc := kval(0)
			for _, x := range xs {
				acc = arithVals("Add", acc, x)
			}
			c.setValues(0, []sval{acc})
		}
	}
	return []*Type{tensor(dt, out)}, nil
}

func inferArgReduce(c *inferCtx) ([]*Type, error) {
	in, ok := c.shape(0)
	if !ok {
		return []*Type{unranked(Int64)}, nil
	}
	axis, err := normAxis(c.n.AttrInt("axis", 0), len(in))
	if err != nil {
		return nil, err
	}
	out := append(Shape{}, in...)
	if c.n.AttrInt("keepdims", 1) != 0 {
		out[axis] = D(1)
	} else {
		out = append(out[:axis], out[axis+1:]...)
	}
	return []*Type{tensor(Int64, out)}, nil
}

func inferTopK(c *inferCtx) ([]*Type, error) {
	dt := c.dtype(0)
	in, ok := c.shape(0)
	if !ok {
		return []*Type{unranked(dt), unranked(Int64)}, nil
	}
	axis, err := normAxis(c.n.AttrInt("axis", -1), len(in))
	if err != nil {
		return nil, err
	}
	k := UnknownDim
	if c.has(1) {
		if xs, ok := c.values(1); ok && len(xs) == 1 {
			k = xs[0].dim()
		}
	} else if a := c.n.Attr("k"); a != nil && a.Type == AttrInt {
		k = D(a.I)
	}
	if k.Known() && in[axis].Known() && k.Value > in[axis].Value {
		return nil, c.errorf("k %d exceeds dimension %d", k.Value, in[axis].Value)
	}
	out := append(Shape{}, in...)
	out[axis] = k
	return []*Type{tensor(dt, out), tensor(Int64, out)}, nil
}

// inferEinsum reads the equation's subscripts, binds each letter to a
// dimension (checking repeats agree) and builds the output from the
// explicit or implicit right-hand side.
func inferEinsum(c *inferCtx) ([]*Type, error) {
	dt := firstDType(c)
	eq := strings.ReplaceAll(c.n.AttrString("equation", ""), " ", "")
	lhs, rhs, explicit := strings.Cut(eq, "->")
	terms := strings.Split(lhs, ",")
	nin := 0
	for i := range c.n.Inputs {
		if c.has(i) {
			nin = i + 1
		}
	}
	if len(terms) != nin {
		return nil, c.errorf("equation %q has %d operands for %d inputs", eq, len(terms), nin)
	}
	letters := map[byte]Dim{}
	count := map[byte]int{}
	var ell Shape
	ellSeen := false
	for i, term := range terms {
		s, ok := c.shape(i)
		if !ok {
			return []*Type{unranked(dt)}, nil
		}
		pre, post, hasEll := strings.Cut(term, "...")
		if strings.Contains(post, "...") || !validSubscripts(pre) || !validSubscripts(post) {
			return nil, c.errorf("bad operand %q in equation %q", term, eq)
		}
		nl := len(pre) + len(post)
		if (!hasEll && nl != len(s)) || (hasEll && nl > len(s)) {
			return nil, c.errorf("operand %q does not fit input %d of shape %s", term, i, s)
		}
		bind := func(l byte, d Dim) error {
			count[l]++
			if old, seen := letters[l]; seen {
				m, good := mergeDim(old, d)
				// A size 1 broadcasts against the others.
				switch {
				case good:
					letters[l] = m
				case old.Known() && old.Value == 1:
					letters[l] = d
				case d.Known() && d.Value == 1:
				default:
					return errorf("subscript %c is %s and %s", l, old, d)
				}
				return nil
			}
			letters[l] = d
			return nil
		}
		for k := range len(pre) {
			if err := bind(pre[k], s[k]); err != nil {
				return nil, err
			}
		}
		for k := range len(post) {
			if err := bind(post[k], s[len(s)-len(post)+k]); err != nil {
				return nil, err
			}
		}
		if hasEll {
			e := s[len(pre) : len(s)-len(post)]
			if !ellSeen {
				ell, ellSeen = append(Shape{}, e...), true
			} else {
				b, err := broadcastShapes(ell, e)
				if err != nil {
					return nil, err
				}
				ell = b
			}
		}
	}
	var out Shape
	if explicit {
		pre, post, hasEll := strings.Cut(rhs, "...")
		if !validSubscripts(pre) || !validSubscripts(post) || strings.Contains(post, "...") {
			return nil, c.errorf("bad output %q in equation %q", rhs, eq)
		}
		for k := range len(pre) {
			d, seen := letters[pre[k]]
			if !seen {
				return nil, c.errorf("output subscript %c not in the inputs", pre[k])
			}
			out = append(out, d)
		}
		if hasEll {
			out = append(out, ell...)
		}
		for k := range len(post) {
			d, seen := letters[post[k]]
			if !seen {
				return nil, c.errorf("output subscript %c not in the inputs", post[k])
			}
			out = append(out, d)
		}
	} else {
		out = append(out, ell...)
		for l := byte('A'); l <= 'z'; l++ {
			if count[l] == 1 {
				out = append(out, letters[l])
			}
		}
	}
	return []*Type{tensor(dt, out)}, nil
}

func validSubscripts(s string) bool {
	for i := range len(s) {
		l := s[i]
		if !(l >= 'a' && l <= 'z' || l >= 'A' && l <= 'Z') {
			return false
		}
	}
	return true
}
