package ir

import (
	"math"
)

// Inference for operators that move, select or create data: Reshape and
// its relatives, Concat and Split, Slice and Gather, Shape and Size,
// Expand, Tile, Pad, Resize, Cast, Constant and friends. Most of them
// also carry tracked integer contents, which is what resolves shapes
// computed at run time by exported graphs.

func init() {
	setInfer(inferReshape, "Reshape")
	setInfer(inferFlatten, "Flatten")
	setInfer(inferTranspose, "Transpose")
	setInfer(inferSqueeze, "Squeeze")
	setInfer(inferUnsqueeze, "Unsqueeze")
	setInfer(inferConcat, "Concat")
	setInfer(inferSplit, "Split")
	setInfer(inferSlice, "Slice")
	setInfer(inferGather, "Gather")
	setInfer(inferGatherElements, "GatherElements")
	setInfer(inferGatherND, "GatherND")
	setInfer(inferShape, "Shape")
	setInfer(inferSize, "Size")
	setInfer(inferExpand, "Expand")
	setInfer(inferTile, "Tile")
	setInfer(inferPad, "Pad")
	setInfer(inferResize, "Resize", "Upsample")
	setInfer(inferCast, "Cast")
	setInfer(inferCastLike, "CastLike")
	setInfer(inferConstant, "Constant")
	setInfer(inferConstantOfShape, "ConstantOfShape")
	setInfer(inferRange, "Range")
	setInfer(inferNonZero, "NonZero")
	setInfer(inferOneHot, "OneHot")
	setInfer(inferCompress, "Compress")
	setInfer(inferUnique, "Unique")
	setInfer(inferEyeLike, "EyeLike")
	setInfer(inferRandomLike, "RandomNormalLike", "RandomUniformLike", "Bernoulli")
	setInfer(inferRandom, "RandomNormal", "RandomUniform")
	setInfer(inferMultinomial, "Multinomial")
	setInfer(inferNonMaxSuppression, "NonMaxSuppression")
	setInfer(inferDet, "Det")
	setInfer(inferCenterCropPad, "CenterCropPad")
}

// passValues copies the tracked contents of input i to output 0; used by
// operators that keep the row-major order of elements.
func passValues(c *inferCtx, i int) {
	if xs, ok := c.values(i); ok {
		c.setValues(0, xs)
	}
}

// shapeFromValues turns tracked contents into a shape (negative or
// unknown entries become unknown dims).
func shapeFromValues(xs []sval) Shape {
	s := make(Shape, len(xs))
	for i, x := range xs {
		s[i] = x.dim()
	}
	return s
}

// vectorLen returns the length of a 1-D input when its shape says so.
func vectorLen(c *inferCtx, i int) (int, bool) {
	s, ok := c.shape(i)
	if !ok || len(s) != 1 || !s[0].Known() || s[0].Value > maxTrackedValues {
		return 0, false
	}
	return int(s[0].Value), true
}

func inferReshape(c *inferCtx) ([]*Type, error) {
	dt := c.dtype(0)
	var target []sval
	have := false
	if c.has(1) {
		target, have = c.values(1)
	} else if a := c.n.Attr("shape"); a != nil && a.Type == AttrInts {
		for _, x := range a.Ints {
			target = append(target, kval(x))
		}
		have = true
	}
	if !have {
		if n, ok := vectorLen(c, 1); ok {
			return []*Type{tensor(dt, unknownShape(n))}, nil
		}
		return []*Type{unranked(dt)}, nil
	}
	in, inOK := c.shape(0)
	out, err := reshapeShape(in, inOK, target, c.n.AttrInt("allowzero", 0) != 0)
	if err != nil {
		return nil, err
	}
	passValues(c, 0)
	return []*Type{tensor(dt, out)}, nil
}

// reshapeShape resolves Reshape's target against the input shape: 0
// copies the input's dimension (unless allowzero), -1 takes what is left.
func reshapeShape(in Shape, inOK bool, target []sval, allowzero bool) (Shape, error) {
	out := make(Shape, len(target))
	infer := -1
	for i, x := range target {
		switch {
		case !x.known:
			out[i] = x.dim()
		case x.v == -1:
			if infer >= 0 {
				return nil, errorf("shape %v has more than one -1", target)
			}
			infer = i
			out[i] = UnknownDim
		case x.v < -1:
			return nil, errorf("shape %v has a negative size", target)
		case x.v == 0 && !allowzero:
			out[i] = UnknownDim
			if inOK {
				if i >= len(in) {
					return nil, errorf("shape %v copies dimension %d of input %s, which has none", target, i, in)
				}
				out[i] = in[i]
			}
		default:
			out[i] = D(x.v)
		}
	}
	if !inOK {
		return out, nil
	}
	total := productOf(in)
	if infer >= 0 {
		rest := append(append(Shape{}, out[:infer]...), out[infer+1:]...)
		d, known, exact := total.div(productOf(rest))
		if !exact {
			return nil, errorf("cannot reshape %s to %v", in, target)
		}
		if known {
			out[infer] = d
		}
		return out, nil
	}
	if a, ok := in.Static(); ok {
		if b, ok := out.Static(); ok && NumElements(a) != NumElements(b) {
			return nil, errorf("cannot reshape %s (%d elements) to %s (%d elements)", in, NumElements(a), out, NumElements(b))
		}
	}
	return out, nil
}

func inferFlatten(c *inferCtx) ([]*Type, error) {
	dt := c.dtype(0)
	in, ok := c.shape(0)
	if !ok {
		return []*Type{tensor(dt, unknownShape(2))}, nil
	}
	axis := c.n.AttrInt("axis", 1)
	r := int64(len(in))
	if axis < -r || axis > r {
		return nil, c.errorf("axis %d out of range for rank %d", axis, r)
	}
	if axis < 0 {
		axis += r
	}
	passValues(c, 0)
	return []*Type{tensor(dt, Shape{productOf(in[:axis]).dim(), productOf(in[axis:]).dim()})}, nil
}

func inferTranspose(c *inferCtx) ([]*Type, error) {
	dt := c.dtype(0)
	in, ok := c.shape(0)
	perm := c.n.AttrInts("perm")
	if !ok {
		if perm != nil {
			return []*Type{tensor(dt, unknownShape(len(perm)))}, nil
		}
		return []*Type{unranked(dt)}, nil
	}
	if perm == nil {
		perm = make([]int64, len(in))
		for i := range perm {
			perm[i] = int64(len(in) - 1 - i)
		}
	}
	if len(perm) != len(in) {
		return nil, c.errorf("perm %v does not fit input %s", perm, in)
	}
	axes, err := normAxes(perm, len(in))
	if err != nil {
		return nil, c.errorf("perm %v: %v", perm, err)
	}
	out := make(Shape, len(in))
	for i, a := range axes {
		out[i] = in[a]
	}
	if len(in) <= 1 {
		passValues(c, 0)
	}
	return []*Type{tensor(dt, out)}, nil
}

// axesInput returns the axes of Squeeze, Unsqueeze and the reductions:
// from input i when present (newer opsets), else from the "axes"
// attribute. present says whether axes were given at all; known whether
// their values are.
func axesInput(c *inferCtx, i int) (axes []int64, present, known bool) {
	if c.has(i) {
		axes, known = c.ints(i)
		return axes, true, known
	}
	if a := c.n.Attr("axes"); a != nil && a.Type == AttrInts {
		return a.Ints, true, true
	}
	return nil, false, true
}

func inferSqueeze(c *inferCtx) ([]*Type, error) {
	dt := c.dtype(0)
	in, ok := c.shape(0)
	axes, present, known := axesInput(c, 1)
	if !ok {
		return []*Type{unranked(dt)}, nil
	}
	passValues(c, 0)
	if !known {
		if n, ok := vectorLen(c, 1); ok && n <= len(in) {
			return []*Type{tensor(dt, unknownShape(len(in)-n))}, nil
		}
		return []*Type{unranked(dt)}, nil
	}
	drop := map[int]bool{}
	if present {
		norm, err := normAxes(axes, len(in))
		if err != nil {
			return nil, err
		}
		for _, a := range norm {
			if in[a].Known() && in[a].Value != 1 {
				return nil, c.errorf("cannot squeeze axis %d of size %d", a, in[a].Value)
			}
			drop[a] = true
		}
	} else {
		for i, d := range in {
			if !d.Known() {
				return []*Type{unranked(dt)}, nil // might or might not be 1
			}
			drop[i] = d.Value == 1
		}
	}
	out := Shape{}
	for i, d := range in {
		if !drop[i] {
			out = append(out, d)
		}
	}
	return []*Type{tensor(dt, out)}, nil
}

func inferUnsqueeze(c *inferCtx) ([]*Type, error) {
	dt := c.dtype(0)
	in, ok := c.shape(0)
	axes, present, known := axesInput(c, 1)
	if !present {
		return nil, c.errorf("no axes")
	}
	passValues(c, 0)
	if !ok {
		return []*Type{unranked(dt)}, nil
	}
	if !known {
		if n, ok := vectorLen(c, 1); ok {
			return []*Type{tensor(dt, unknownShape(len(in)+n))}, nil
		}
		return []*Type{unranked(dt)}, nil
	}
	r := len(in) + len(axes)
	norm, err := normAxes(axes, r)
	if err != nil {
		return nil, err
	}
	out := make(Shape, r)
	ins := map[int]bool{}
	for _, a := range norm {
		ins[a] = true
	}
	k := 0
	for i := range out {
		if ins[i] {
			out[i] = D(1)
		} else {
			out[i] = in[k]
			k++
		}
	}
	return []*Type{tensor(dt, out)}, nil
}

func inferConcat(c *inferCtx) ([]*Type, error) {
	dt := firstDType(c)
	a := c.n.Attr("axis")
	if a == nil || a.Type != AttrInt {
		return []*Type{unranked(dt)}, nil
	}
	// The rank comes from any input that knows it.
	rank := -1
	for i := range c.n.Inputs {
		if r := c.rank(i); r >= 0 {
			if rank >= 0 && r != rank {
				return nil, c.errorf("inputs of rank %d and %d", rank, r)
			}
			rank = r
		}
	}
	if rank < 0 {
		return []*Type{unranked(dt)}, nil
	}
	axis, err := normAxis(a.I, rank)
	if err != nil {
		return nil, err
	}
	out := unknownShape(rank)
	seen := false
	sum := int64(0)
	sumKnown := true
	var symbolic Dim // the single non-empty part, when the others are empty
	parts := 0
	for i := range c.n.Inputs {
		if !c.has(i) {
			continue
		}
		s, ok := c.shape(i)
		if !ok {
			sumKnown = false
			parts = 2
			continue
		}
		for k, d := range s {
			if k == axis {
				continue
			}
			if !seen {
				out[k] = d
				continue
			}
			m, good := mergeDim(out[k], d)
			if !good {
				return nil, c.errorf("inputs differ in dimension %d (%s and %s)", k, out[k], d)
			}
			out[k] = m
		}
		seen = true
		d := s[axis]
		if d.Known() {
			sum += d.Value
			if d.Value != 0 {
				parts++
			}
		} else {
			sumKnown = false
			symbolic = d
			parts++
		}
	}
	switch {
	case sumKnown:
		out[axis] = D(sum)
	case parts == 1:
		out[axis] = symbolic
	}
	if rank == 1 {
		var all []sval
		for i := range c.n.Inputs {
			xs, ok := c.values(i)
			if !ok {
				all = nil
				break
			}
			all = append(all, xs...)
		}
		c.setValues(0, all)
	}
	return []*Type{tensor(dt, out)}, nil
}

func inferSplit(c *inferCtx) ([]*Type, error) {
	dt := c.dtype(0)
	nout := len(c.n.Outputs)
	outs := make([]*Type, nout)
	in, ok := c.shape(0)
	if !ok {
		for i := range outs {
			outs[i] = unranked(dt)
		}
		return outs, nil
	}
	axis, err := normAxis(c.n.AttrInt("axis", 0), len(in))
	if err != nil {
		return nil, err
	}
	d := in[axis]
	sizes := make([]Dim, nout)
	var split []int64
	known := true
	if c.has(1) {
		split, known = c.ints(1)
	} else if a := c.n.Attr("split"); a != nil && a.Type == AttrInts {
		split = a.Ints
	}
	switch {
	case !known:
		for i := range sizes {
			sizes[i] = UnknownDim
		}
	case split != nil:
		if len(split) != nout {
			return nil, c.errorf("split %v has %d parts for %d outputs", split, len(split), nout)
		}
		sum := int64(0)
		for i, s := range split {
			if s < 0 {
				return nil, c.errorf("negative split %v", split)
			}
			sizes[i] = D(s)
			sum += s
		}
		if d.Known() && sum != d.Value {
			return nil, c.errorf("split %v does not add up to dimension %d", split, d.Value)
		}
	case nout == 1:
		sizes[0] = d
	case !d.Known():
		for i := range sizes {
			sizes[i] = UnknownDim
		}
	default:
		n := int64(nout)
		if no := c.n.AttrInt("num_outputs", 0); no > 0 && no != n {
			return nil, c.errorf("num_outputs %d but %d outputs", no, n)
		}
		chunk := (d.Value + n - 1) / n
		if d.Value%n != 0 && (c.opset < 18 || c.n.Attr("num_outputs") == nil) {
			return nil, c.errorf("dimension %d does not split evenly into %d", d.Value, n)
		}
		last := d.Value - chunk*(n-1)
		if last < 0 {
			return nil, c.errorf("dimension %d cannot be split into %d parts", d.Value, n)
		}
		for i := range sizes {
			sizes[i] = D(chunk)
		}
		sizes[nout-1] = D(last)
	}
	for i := range outs {
		s := append(Shape{}, in...)
		s[axis] = sizes[i]
		outs[i] = tensor(dt, s)
	}
	if xs, ok := c.values(0); ok && len(in) == 1 {
		off := 0
		for i, sz := range sizes {
			if !sz.Known() || off+int(sz.Value) > len(xs) {
				break
			}
			c.setValues(i, xs[off:off+int(sz.Value)])
			off += int(sz.Value)
		}
	}
	return outs, nil
}

// sliceLen computes how many elements of a dimension of size d a slice
// takes, and the first index it reads.
func sliceLen(d, start, end, step int64) (first, n int64) {
	if start < 0 {
		start += d
	}
	if end < 0 {
		end += d
	}
	if step > 0 {
		start = min(max(start, 0), d)
		end = min(max(end, 0), d)
		if end > start {
			return start, (end - start + step - 1) / step
		}
		return start, 0
	}
	start = min(max(start, 0), d-1)
	end = min(max(end, -1), d-1)
	if start > end {
		return start, (start - end - step - 1) / -step
	}
	return start, 0
}

// sliceSymbolic is the size of a slice of an unknown or symbolic
// dimension: the dimension itself when the slice takes everything.
func sliceSymbolic(d Dim, start, end, step int64) Dim {
	switch {
	case step == 1 && (start == 0 || start <= -math.MaxInt32) && bigEnd(end):
		return d
	case step == -1 && (start == -1 || bigEnd(start)) && end <= -math.MaxInt32:
		return d
	}
	return UnknownDim
}

func inferSlice(c *inferCtx) ([]*Type, error) {
	dt := c.dtype(0)
	in, ok := c.shape(0)
	var starts, ends, axes, steps []int64
	known := true
	if c.opset < 10 || (len(c.n.Inputs) == 1 && c.n.Attr("starts") != nil) {
		starts, ends, axes = c.n.AttrInts("starts"), c.n.AttrInts("ends"), c.n.AttrInts("axes")
	} else {
		var k1, k2, k3, k4 bool
		starts, k1 = c.ints(1)
		ends, k2 = c.ints(2)
		k3, k4 = true, true
		if c.has(3) {
			axes, k3 = c.ints(3)
		}
		if c.has(4) {
			steps, k4 = c.ints(4)
		}
		known = k1 && k2 && k3 && k4
	}
	if !ok {
		return []*Type{unranked(dt)}, nil
	}
	if !known {
		out := append(Shape{}, in...)
		if axes != nil && c.has(3) {
			if norm, err := normAxes(axes, len(in)); err == nil {
				for _, a := range norm {
					out[a] = UnknownDim
				}
				return []*Type{tensor(dt, out)}, nil
			}
		}
		return []*Type{tensor(dt, unknownShape(len(in)))}, nil
	}
	if len(starts) != len(ends) {
		return nil, c.errorf("starts %v and ends %v differ in length", starts, ends)
	}
	if axes == nil {
		if len(starts) > len(in) {
			return nil, c.errorf("%d starts for rank %d", len(starts), len(in))
		}
		axes = make([]int64, len(starts))
		for i := range axes {
			axes[i] = int64(i)
		}
	}
	if steps == nil {
		steps = make([]int64, len(starts))
		for i := range steps {
			steps[i] = 1
		}
	}
	if len(axes) != len(starts) || len(steps) != len(starts) {
		return nil, c.errorf("starts %v, ends %v, axes %v and steps %v differ in length", starts, ends, axes, steps)
	}
	norm, err := normAxes(axes, len(in))
	if err != nil {
		return nil, err
	}
	out := append(Shape{}, in...)
	for i, a := range norm {
		if steps[i] == 0 {
			return nil, c.errorf("step 0 on axis %d", a)
		}
		if in[a].Known() {
			_, n := sliceLen(in[a].Value, starts[i], ends[i], steps[i])
			out[a] = D(n)
		} else {
			out[a] = sliceSymbolic(in[a], starts[i], ends[i], steps[i])
		}
	}
	if xs, ok := c.values(0); ok && len(in) == 1 && len(norm) == 1 {
		first, n := sliceLen(int64(len(xs)), starts[0], ends[0], steps[0])
		sel := make([]sval, 0, n)
		for k := int64(0); k < n; k++ {
			sel = append(sel, xs[first+k*steps[0]])
		}
		c.setValues(0, sel)
	}
	return []*Type{tensor(dt, out)}, nil
}

func inferGather(c *inferCtx) ([]*Type, error) {
	dt := c.dtype(0)
	data, okd := c.shape(0)
	idx, oki := c.shape(1)
	if !okd || !oki {
		return []*Type{unranked(dt)}, nil
	}
	if len(data) == 0 {
		return nil, c.errorf("Gather from a scalar")
	}
	axis, err := normAxis(c.n.AttrInt("axis", 0), len(data))
	if err != nil {
		return nil, err
	}
	if ix, ok := c.ints(1); ok && data[axis].Known() {
		n := data[axis].Value
		for _, i := range ix {
			if i < -n || i >= n {
				return nil, c.errorf("index %d out of range for dimension %d", i, n)
			}
		}
	}
	out := append(append(append(Shape{}, data[:axis]...), idx...), data[axis+1:]...)
	if xs, ok := c.values(0); ok && len(data) == 1 {
		if ix, ok := c.ints(1); ok {
			sel := make([]sval, len(ix))
			for k, i := range ix {
				if i < 0 {
					i += int64(len(xs))
				}
				if i < 0 || i >= int64(len(xs)) {
					return nil, c.errorf("index %d out of range for %d elements", ix[k], len(xs))
				}
				sel[k] = xs[i]
			}
			c.setValues(0, sel)
		}
	}
	return []*Type{tensor(dt, out)}, nil
}

func inferGatherElements(c *inferCtx) ([]*Type, error) {
	dt := c.dtype(0)
	idx, ok := c.shape(1)
	if data, okd := c.shape(0); okd && ok && len(data) != len(idx) {
		return nil, c.errorf("data %s and indices %s differ in rank", data, idx)
	}
	return []*Type{tensorIf(dt, idx, ok)}, nil
}

func inferGatherND(c *inferCtx) ([]*Type, error) {
	dt := c.dtype(0)
	data, okd := c.shape(0)
	idx, oki := c.shape(1)
	if !okd || !oki {
		return []*Type{unranked(dt)}, nil
	}
	b := int(c.n.AttrInt("batch_dims", 0))
	if len(idx) < 1 || b < 0 || b >= len(idx) || b >= len(data) {
		return nil, c.errorf("batch_dims %d does not fit data %s and indices %s", b, data, idx)
	}
	last := idx[len(idx)-1]
	if !last.Known() {
		return []*Type{unranked(dt)}, nil
	}
	k := int(last.Value)
	if b+k > len(data) {
		return nil, c.errorf("indices %s index %d axes of data %s past batch_dims %d", idx, k, data, b)
	}
	out := append(append(Shape{}, idx[:len(idx)-1]...), data[b+k:]...)
	return []*Type{tensor(dt, out)}, nil
}

func inferShape(c *inferCtx) ([]*Type, error) {
	in, ok := c.shape(0)
	if !ok {
		return []*Type{tensor(Int64, Shape{UnknownDim})}, nil
	}
	r := int64(len(in))
	start, end := c.n.AttrInt("start", 0), c.n.AttrInt("end", r)
	clampIdx := func(x int64) int64 {
		if x < 0 {
			x += r
		}
		return min(max(x, 0), r)
	}
	start, end = clampIdx(start), clampIdx(end)
	end = max(end, start)
	xs := make([]sval, 0, end-start)
	for _, d := range in[start:end] {
		xs = append(xs, dimVal(d))
	}
	c.setValues(0, xs)
	return []*Type{tensor(Int64, Shape{D(end - start)})}, nil
}

func inferSize(c *inferCtx) ([]*Type, error) {
	if in, ok := c.shape(0); ok {
		c.setValues(0, []sval{dimVal(productOf(in).dim())})
	}
	return []*Type{tensor(Int64, Shape{})}, nil
}

func inferExpand(c *inferCtx) ([]*Type, error) {
	dt := c.dtype(0)
	in, ok := c.shape(0)
	target, have := c.values(1)
	if !have {
		if n, lok := vectorLen(c, 1); lok {
			target = make([]sval, n)
			have = true
		}
	}
	if !ok || !have {
		return []*Type{unranked(dt)}, nil
	}
	r := max(len(in), len(target))
	out := make(Shape, r)
	for i := range out {
		a, b := D(1), D(1)
		if k := i - (r - len(in)); k >= 0 {
			a = in[k]
		}
		var x sval
		if k := i - (r - len(target)); k >= 0 {
			x = target[k]
			b = x.dim()
		}
		if x.known && x.v < 0 {
			return nil, c.errorf("negative size %d in shape %v", x.v, target)
		}
		d, err := broadcastDim(a, b)
		if err != nil {
			return nil, c.errorf("cannot expand %s to %v: %v", in, target, err)
		}
		out[i] = d
	}
	return []*Type{tensor(dt, out)}, nil
}

func inferTile(c *inferCtx) ([]*Type, error) {
	dt := c.dtype(0)
	in, ok := c.shape(0)
	if !ok {
		return []*Type{unranked(dt)}, nil
	}
	reps, have := c.values(1)
	if !have {
		return []*Type{tensor(dt, unknownShape(len(in)))}, nil
	}
	if len(reps) != len(in) {
		return nil, c.errorf("%d repeats for rank %d", len(reps), len(in))
	}
	out := make(Shape, len(in))
	for i, r := range reps {
		if r.known && r.v < 0 {
			return nil, c.errorf("negative repeat %d", r.v)
		}
		out[i] = mulDim(in[i], r.dim())
	}
	return []*Type{tensor(dt, out)}, nil
}

func inferPad(c *inferCtx) ([]*Type, error) {
	dt := c.dtype(0)
	in, ok := c.shape(0)
	if !ok {
		return []*Type{unranked(dt)}, nil
	}
	var pads []int64
	have := true
	if c.has(1) {
		pads, have = c.ints(1)
	} else if a := c.n.Attr("pads"); a != nil && a.Type == AttrInts {
		pads = a.Ints
	} else if a := c.n.Attr("paddings"); a != nil && a.Type == AttrInts {
		pads = a.Ints
	} else {
		have = c.opset < 11
	}
	if !have {
		return []*Type{tensor(dt, unknownShape(len(in)))}, nil
	}
	axes := make([]int, len(in))
	for i := range axes {
		axes[i] = i
	}
	if c.has(3) {
		ax, ok := c.ints(3)
		if !ok {
			return []*Type{tensor(dt, unknownShape(len(in)))}, nil
		}
		norm, err := normAxes(ax, len(in))
		if err != nil {
			return nil, err
		}
		axes = norm
	}
	if pads == nil {
		pads = make([]int64, 2*len(axes))
	}
	if len(pads) != 2*len(axes) {
		return nil, c.errorf("%d pads for %d axes", len(pads), len(axes))
	}
	out := append(Shape{}, in...)
	for i, a := range axes {
		d := addDim(out[a], pads[i]+pads[i+len(axes)])
		if d.Known() && d.Value < 0 || (out[a].Known() && !d.Known()) {
			return nil, c.errorf("pads %v make axis %d of %s negative", pads, a, in)
		}
		out[a] = d
	}
	return []*Type{tensor(dt, out)}, nil
}

func inferResize(c *inferCtx) ([]*Type, error) {
	dt := c.dtype(0)
	in, ok := c.shape(0)
	if !ok {
		return []*Type{unranked(dt)}, nil
	}
	// Resize 10 and Upsample take (X, scales); Resize 11+ takes
	// (X, roi, scales, sizes).
	scalesAt, sizesAt := 2, 3
	if c.n.OpType == "Upsample" || c.opset < 11 {
		scalesAt, sizesAt = 1, -1
	}
	axes := make([]int, len(in))
	for i := range axes {
		axes[i] = i
	}
	if ax := c.n.AttrInts("axes"); ax != nil {
		norm, err := normAxes(ax, len(in))
		if err != nil {
			return nil, err
		}
		axes = norm
	}
	out := append(Shape{}, in...)
	if sizesAt > 0 && c.has(sizesAt) {
		sizes, ok := c.values(sizesAt)
		if ok && len(sizes) > 0 {
			if len(sizes) != len(axes) {
				return nil, c.errorf("%d sizes for %d axes", len(sizes), len(axes))
			}
			policy := c.n.AttrString("keep_aspect_ratio_policy", "stretch")
			if policy == "stretch" {
				for i, a := range axes {
					out[a] = sizes[i].dim()
				}
				return []*Type{tensor(dt, out)}, nil
			}
			return []*Type{tensor(dt, keepAspect(in, axes, sizes, policy))}, nil
		}
		if !ok {
			return []*Type{tensor(dt, unknownShape(len(in)))}, nil
		}
	}
	var scales []float64
	have := false
	if c.has(scalesAt) {
		scales, have = c.floats(scalesAt)
	} else if a := c.n.Attr("scales"); a != nil && a.Type == AttrFloats {
		for _, f := range a.Floats {
			scales = append(scales, float64(f))
		}
		have = true
	}
	if !have || len(scales) == 0 {
		return []*Type{tensor(dt, unknownShape(len(in)))}, nil
	}
	if len(scales) != len(axes) {
		return nil, c.errorf("%d scales for %d axes", len(scales), len(axes))
	}
	for i, a := range axes {
		s := scales[i]
		switch {
		case s <= 0 || math.IsNaN(s) || math.IsInf(s, 0):
			return nil, c.errorf("scale %g must be positive", s)
		case s == 1:
		case in[a].Known():
			// Computed in float32, as the scales are.
			out[a] = D(int64(math.Floor(float64(float32(in[a].Value) * float32(s)))))
		default:
			out[a] = UnknownDim
		}
	}
	return []*Type{tensor(dt, out)}, nil
}

// keepAspect resizes so that all axes scale alike and the result fits
// inside (not_larger) or covers (not_smaller) the requested sizes.
func keepAspect(in Shape, axes []int, sizes []sval, policy string) Shape {
	out := append(Shape{}, in...)
	scale := 0.0
	for i, a := range axes {
		if !in[a].Known() || !sizes[i].known || in[a].Value == 0 {
			for _, a := range axes {
				out[a] = UnknownDim
			}
			return out
		}
		s := float64(float32(sizes[i].v) / float32(in[a].Value))
		if i == 0 || (policy == "not_larger" && s < scale) || (policy == "not_smaller" && s > scale) {
			scale = s
		}
	}
	for _, a := range axes {
		out[a] = D(int64(math.Round(float64(float32(scale) * float32(in[a].Value)))))
	}
	return out
}

func inferCast(c *inferCtx) ([]*Type, error) {
	to := DType(c.n.AttrInt("to", 0))
	if !to.Valid() {
		return nil, c.errorf("cast to unknown type %d", int32(to))
	}
	in, ok := c.shape(0)
	castValues(c, to)
	return []*Type{tensorIf(to, in, ok)}, nil
}

func inferCastLike(c *inferCtx) ([]*Type, error) {
	in, ok := c.shape(0)
	to := c.dtype(1)
	castValues(c, to)
	return []*Type{tensorIf(to, in, ok)}, nil
}

// castValues converts tracked contents: integers to floats, floats to
// integers (truncating), and integers through integer types unchanged.
func castValues(c *inferCtx, to DType) {
	xs, ok := c.values(0)
	if !ok {
		return
	}
	out := make([]sval, len(xs))
	for i, x := range xs {
		switch {
		case to == Bool:
			if f, ok := num(x); ok {
				out[i] = kval(b2i(f != 0))
			}
		case isTrackedFloat(to):
			if f, ok := num(x); ok {
				out[i] = fval(roundTo(to, f))
			}
		case !isIntegral(to):
		case x.isf:
			if !math.IsNaN(x.f) && math.Abs(x.f) < 1<<62 {
				out[i] = kval(int64(x.f))
			}
		default:
			out[i] = x
		}
	}
	c.setValues(0, out)
}

func inferConstant(c *inferCtx) ([]*Type, error) {
	for _, a := range c.n.Attrs {
		switch a.Name {
		case "value":
			if a.T == nil {
				return nil, c.errorf("value attribute without a tensor")
			}
			if isIntegral(a.T.DType) && a.T.Check() == nil && a.T.NumElements() <= maxTrackedValues {
				ints := a.T.Int64s()
				xs := make([]sval, len(ints))
				for i, x := range ints {
					xs[i] = kval(x)
				}
				c.setValues(0, xs)
			}
			return []*Type{tensor(a.T.DType, ShapeOf(a.T.Dims...))}, nil
		case "value_float":
			return []*Type{tensor(Float32, Shape{})}, nil
		case "value_floats":
			return []*Type{tensor(Float32, ShapeOf(int64(len(a.Floats))))}, nil
		case "value_int":
			c.setValues(0, []sval{kval(a.I)})
			return []*Type{tensor(Int64, Shape{})}, nil
		case "value_ints":
			xs := make([]sval, len(a.Ints))
			for i, x := range a.Ints {
				xs[i] = kval(x)
			}
			c.setValues(0, xs)
			return []*Type{tensor(Int64, ShapeOf(int64(len(a.Ints))))}, nil
		case "value_string":
			return []*Type{tensor(String, Shape{})}, nil
		case "value_strings":
			return []*Type{tensor(String, ShapeOf(int64(len(a.Strings))))}, nil
		}
	}
	return []*Type{nil}, nil
}

func inferConstantOfShape(c *inferCtx) ([]*Type, error) {
	dt := Float32
	var fill *Tensor
	if a := c.n.Attr("value"); a != nil && a.T != nil {
		dt = a.T.DType
		if a.T.NumElements() != 1 {
			return nil, c.errorf("value must hold one element, not %d", a.T.NumElements())
		}
		fill = a.T
	}
	dims, have := c.values(0)
	if !have {
		if n, ok := vectorLen(c, 0); ok {
			return []*Type{tensor(dt, unknownShape(n))}, nil
		}
		return []*Type{unranked(dt)}, nil
	}
	for _, x := range dims {
		if x.known && x.v < 0 {
			return nil, c.errorf("negative size in shape %v", dims)
		}
	}
	out := shapeFromValues(dims)
	if st, ok := out.Static(); ok && isIntegral(dt) {
		if n := NumElements(st); n >= 0 && n <= maxTrackedValues {
			v := int64(0)
			if fill != nil && fill.Check() == nil {
				v = fill.Int64s()[0]
			}
			xs := make([]sval, n)
			for i := range xs {
				xs[i] = kval(v)
			}
			c.setValues(0, xs)
		}
	}
	return []*Type{tensor(dt, out)}, nil
}

func inferRange(c *inferCtx) ([]*Type, error) {
	dt := firstDType(c)
	for i := range 3 {
		if r := c.rank(i); r > 0 {
			if s, _ := c.shape(i); len(s) != 1 || !s[0].Known() || s[0].Value != 1 {
				return nil, c.errorf("input %d must be a scalar, not %s", i, s)
			}
		}
	}
	if isIntegral(dt) {
		st, ok0 := c.values(0)
		li, ok1 := c.values(1)
		de, ok2 := c.values(2)
		if ok0 && ok1 && ok2 && len(st) == 1 && len(li) == 1 && len(de) == 1 {
			s, l, d := st[0], li[0], de[0]
			if d.known && d.v == 0 {
				return nil, c.errorf("delta is 0")
			}
			if s.known && l.known && d.known {
				n := int64(0)
				if (d.v > 0 && l.v > s.v) || (d.v < 0 && l.v < s.v) {
					// |l-s| and |d| in uint64 cannot overflow.
					span, step := uint64(l.v)-uint64(s.v), uint64(d.v)
					if d.v < 0 {
						span, step = uint64(s.v)-uint64(l.v), -uint64(d.v)
					}
					q := (span-1)/step + 1
					if q > math.MaxInt32 {
						return nil, c.errorf("range of %d to %d by %d is too long", s.v, l.v, d.v)
					}
					n = int64(q)
				}
				if n <= maxTrackedValues {
					xs := make([]sval, n)
					for i := range xs {
						xs[i] = kval(s.v + int64(i)*d.v)
					}
					c.setValues(0, xs)
				}
				return []*Type{tensor(dt, ShapeOf(n))}, nil
			}
			if s.known && s.v == 0 && d.known && d.v == 1 && l.sym != "" {
				return []*Type{tensor(dt, Shape{Sym(l.sym)})}, nil
			}
		}
	} else {
		st, ok0 := c.floats(0)
		li, ok1 := c.floats(1)
		de, ok2 := c.floats(2)
		if ok0 && ok1 && ok2 && len(st) == 1 && len(li) == 1 && len(de) == 1 {
			if de[0] == 0 {
				return nil, c.errorf("delta is 0")
			}
			n := math.Ceil((li[0] - st[0]) / de[0])
			if math.IsNaN(n) || n > math.MaxInt32 {
				return nil, c.errorf("range of %g to %g by %g", st[0], li[0], de[0])
			}
			return []*Type{tensor(dt, ShapeOf(int64(max(n, 0))))}, nil
		}
	}
	return []*Type{tensor(dt, Shape{UnknownDim})}, nil
}

func inferNonZero(c *inferCtx) ([]*Type, error) {
	r := UnknownDim
	if in, ok := c.shape(0); ok {
		r = D(int64(len(in)))
	}
	return []*Type{tensor(Int64, Shape{r, UnknownDim})}, nil
}

func inferOneHot(c *inferCtx) ([]*Type, error) {
	dt := c.dtype(2)
	in, ok := c.shape(0)
	if !ok {
		return []*Type{unranked(dt)}, nil
	}
	axis, err := normAxis(c.n.AttrInt("axis", -1), len(in)+1)
	if err != nil {
		return nil, err
	}
	depth := UnknownDim
	if xs, ok := c.values(1); ok && len(xs) == 1 && !xs[0].isf {
		depth = xs[0].dim()
	} else if fs, ok := c.floats(1); ok && len(fs) == 1 && fs[0] >= 0 && fs[0] < 1<<62 {
		depth = D(int64(fs[0]))
	}
	out := append(append(append(Shape{}, in[:axis]...), depth), in[axis:]...)
	return []*Type{tensor(dt, out)}, nil
}

func inferCompress(c *inferCtx) ([]*Type, error) {
	dt := c.dtype(0)
	a := c.n.Attr("axis")
	if a == nil {
		return []*Type{tensor(dt, Shape{UnknownDim})}, nil
	}
	in, ok := c.shape(0)
	if !ok {
		return []*Type{unranked(dt)}, nil
	}
	axis, err := normAxis(a.I, len(in))
	if err != nil {
		return nil, err
	}
	out := append(Shape{}, in...)
	out[axis] = UnknownDim
	return []*Type{tensor(dt, out)}, nil
}

func inferUnique(c *inferCtx) ([]*Type, error) {
	dt := c.dtype(0)
	y := tensor(dt, Shape{UnknownDim})
	if a := c.n.Attr("axis"); a != nil {
		y = unranked(dt)
		if in, ok := c.shape(0); ok {
			axis, err := normAxis(a.I, len(in))
			if err != nil {
				return nil, err
			}
			s := append(Shape{}, in...)
			s[axis] = UnknownDim
			y = tensor(dt, s)
		}
	}
	v := tensor(Int64, Shape{UnknownDim})
	// inverse_indices has one entry per input element, or per slice along
	// the axis.
	inv := tensor(Int64, Shape{UnknownDim})
	if in, ok := c.shape(0); ok {
		if a := c.n.Attr("axis"); a != nil {
			if axis, err := normAxis(a.I, len(in)); err == nil {
				inv = tensor(Int64, Shape{in[axis]})
			}
		} else {
			inv = tensor(Int64, Shape{productOf(in).dim()})
		}
	}
	return []*Type{y, v, inv, v}, nil
}

func inferEyeLike(c *inferCtx) ([]*Type, error) {
	dt := c.dtype(0)
	if d := c.n.AttrInt("dtype", 0); d != 0 {
		dt = DType(d)
	}
	in, ok := c.shape(0)
	if ok && len(in) != 2 {
		return nil, c.errorf("input %s needs rank 2", in)
	}
	return []*Type{tensorIf(dt, in, ok)}, nil
}

func inferRandomLike(c *inferCtx) ([]*Type, error) {
	dt := c.dtype(0)
	if d := c.n.AttrInt("dtype", 0); d != 0 {
		dt = DType(d)
	}
	in, ok := c.shape(0)
	return []*Type{tensorIf(dt, in, ok)}, nil
}

func inferRandom(c *inferCtx) ([]*Type, error) {
	dt := DType(c.n.AttrInt("dtype", int64(Float32)))
	s := c.n.AttrInts("shape")
	if s == nil {
		return []*Type{unranked(dt)}, nil
	}
	return []*Type{tensor(dt, ShapeOf(s...))}, nil
}

func inferMultinomial(c *inferCtx) ([]*Type, error) {
	dt := DType(c.n.AttrInt("dtype", int64(Int32)))
	batch := UnknownDim
	if in, ok := c.shape(0); ok && len(in) == 2 {
		batch = in[0]
	}
	return []*Type{tensor(dt, Shape{batch, D(c.n.AttrInt("sample_size", 1))})}, nil
}

func inferNonMaxSuppression(c *inferCtx) ([]*Type, error) {
	return []*Type{tensor(Int64, Shape{UnknownDim, D(3)})}, nil
}

func inferDet(c *inferCtx) ([]*Type, error) {
	dt := c.dtype(0)
	in, ok := c.shape(0)
	if !ok {
		return []*Type{unranked(dt)}, nil
	}
	if len(in) < 2 {
		return nil, c.errorf("input %s needs rank 2 or more", in)
	}
	if differentDim(in[len(in)-1], in[len(in)-2]) {
		return nil, c.errorf("matrices %s are not square", in)
	}
	return []*Type{tensor(dt, in[:len(in)-2])}, nil
}

func inferCenterCropPad(c *inferCtx) ([]*Type, error) {
	dt := c.dtype(0)
	in, ok := c.shape(0)
	if !ok {
		return []*Type{unranked(dt)}, nil
	}
	sizes, have := c.values(1)
	if !have {
		return []*Type{tensor(dt, unknownShape(len(in)))}, nil
	}
	axes := make([]int, len(in))
	for i := range axes {
		axes[i] = i
	}
	if ax := c.n.AttrInts("axes"); ax != nil {
		norm, err := normAxes(ax, len(in))
		if err != nil {
			return nil, err
		}
		axes = norm
	}
	if len(sizes) != len(axes) {
		return nil, c.errorf("%d sizes for %d axes", len(sizes), len(axes))
	}
	out := append(Shape{}, in...)
	for i, a := range axes {
		out[a] = sizes[i].dim()
	}
	return []*Type{tensor(dt, out)}, nil
}
