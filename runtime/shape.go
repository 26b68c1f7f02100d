package runtime

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/nncc/nncc/ir"
)

// Shape-manipulating and data-movement operators.

func init() {
	simple("Identity", 1, func(b *buildCtx) kernelFunc {
		return func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
			if err := needInputs(in, 1); err != nil {
				return nil, err
			}
			return []*ir.Tensor{in[0]}, nil
		}
	})
	register("Reshape", 5, buildReshape)
	register("Flatten", 1, buildFlatten)
	register("Squeeze", 1, buildSqueeze)
	register("Unsqueeze", 1, buildUnsqueeze)
	register("Transpose", 1, buildTranspose)
	register("Concat", 4, buildConcat)
	register("Split", 2, buildSplit)
	register("Slice", 1, buildSlice)
	register("Gather", 1, buildGather)
	simple("Shape", 1, func(b *buildCtx) kernelFunc {
		start, end := b.n.AttrInt("start", 0), b.n.AttrInt("end", math.MaxInt64)
		return func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
			if err := needInputs(in, 1); err != nil {
				return nil, err
			}
			r := int64(len(in[0].Dims))
			s, en := clampIndex(start, r), clampIndex(end, r)
			dims := []int64{}
			if s < en {
				dims = in[0].Dims[s:en]
			}
			y, err := int64Tensor(e, []int64{int64(len(dims))}, dims)
			return []*ir.Tensor{y}, err
		}
	})
	simple("Size", 1, func(b *buildCtx) kernelFunc {
		return func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
			if err := needInputs(in, 1); err != nil {
				return nil, err
			}
			y, err := int64Tensor(e, nil, []int64{ir.NumElements(in[0].Dims)})
			return []*ir.Tensor{y}, err
		}
	})
	simple("Expand", 8, func(b *buildCtx) kernelFunc { return expand })
	simple("Tile", 6, func(b *buildCtx) kernelFunc { return tile })
	register("Pad", 2, buildPad)
}

// clampIndex resolves a Shape start/end index against rank r.
func clampIndex(i, r int64) int64 {
	if i < 0 {
		i += r
	}
	return min(max(i, 0), r)
}

func int64Tensor(e *env, dims []int64, v []int64) (*ir.Tensor, error) {
	t, err := e.alloc(ir.Int64, dims)
	if err != nil {
		return nil, err
	}
	copy(view[int64](t), v)
	return t, nil
}

func buildReshape(b *buildCtx) (kernel, error) {
	allowzero := b.opset >= 14 && b.n.AttrInt("allowzero", 0) != 0
	return kernelFunc(func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := needInputs(in, 2); err != nil {
			return nil, err
		}
		x := in[0]
		shape, err := intsOf(in[1], "shape")
		if err != nil {
			return nil, err
		}
		dims, err := reshapeDims(x.Dims, shape, allowzero)
		if err != nil {
			return nil, err
		}
		return []*ir.Tensor{aliasTensor(x, dims)}, nil
	}), nil
}

// reshapeDims resolves a Reshape target: 0 copies the input dimension
// (unless allowzero) and one -1 is inferred.
func reshapeDims(in, shape []int64, allowzero bool) ([]int64, error) {
	out := make([]int64, len(shape))
	infer := -1
	known := int64(1)
	for i, s := range shape {
		switch {
		case s == -1:
			if infer >= 0 {
				return nil, fmt.Errorf("shape %v has more than one -1", shape)
			}
			infer = i
			continue
		case s == 0 && !allowzero:
			if i >= len(in) {
				return nil, fmt.Errorf("shape %v copies dimension %d of a rank-%d input", shape, i, len(in))
			}
			s = in[i]
		case s < 0:
			return nil, fmt.Errorf("invalid shape %v", shape)
		}
		out[i] = s
		known *= s
	}
	total := ir.NumElements(in)
	if infer >= 0 {
		if known == 0 {
			if total != 0 {
				return nil, fmt.Errorf("cannot reshape %v to %v", in, shape)
			}
			out[infer] = 0
		} else {
			if total%known != 0 {
				return nil, fmt.Errorf("cannot reshape %v to %v", in, shape)
			}
			out[infer] = total / known
		}
	}
	if ir.NumElements(out) != total {
		return nil, fmt.Errorf("cannot reshape %v to %v", in, shape)
	}
	return out, nil
}

func buildFlatten(b *buildCtx) (kernel, error) {
	axis := b.n.AttrInt("axis", 1)
	return kernelFunc(func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := needInputs(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		r := len(x.Dims)
		a := axis
		if a < 0 {
			a += int64(r)
		}
		if a < 0 || a > int64(r) {
			return nil, fmt.Errorf("axis %d is out of range for rank %d", axis, r)
		}
		outer := ir.NumElements(x.Dims[:a])
		inner := ir.NumElements(x.Dims[a:])
		return []*ir.Tensor{aliasTensor(x, []int64{outer, inner})}, nil
	}), nil
}

// axesInput returns axes from attribute (before opset `moved`) or from
// input idx (from `moved` on); nil when absent.
func axesArg(b *buildCtx, moved int64, idx int, in []*ir.Tensor) ([]int64, bool, error) {
	if b.opset < moved {
		a := b.n.Attr("axes")
		if a == nil {
			return nil, false, nil
		}
		return a.Ints, true, nil
	}
	if idx >= len(in) || in[idx] == nil {
		return nil, false, nil
	}
	v, err := intsOf(in[idx], "axes")
	return v, true, err
}

func buildSqueeze(b *buildCtx) (kernel, error) {
	return kernelFunc(func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := needInputs(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		axes, given, err := axesArg(b, 13, 1, in)
		if err != nil {
			return nil, err
		}
		r := len(x.Dims)
		drop := make([]bool, r)
		if !given {
			for i, d := range x.Dims {
				drop[i] = d == 1
			}
		}
		for _, a := range axes {
			k, err := normAxis(a, r)
			if err != nil {
				return nil, err
			}
			if x.Dims[k] != 1 {
				return nil, fmt.Errorf("cannot squeeze axis %d of size %d", a, x.Dims[k])
			}
			drop[k] = true
		}
		dims := []int64{}
		for i, d := range x.Dims {
			if !drop[i] {
				dims = append(dims, d)
			}
		}
		return []*ir.Tensor{aliasTensor(x, dims)}, nil
	}), nil
}

func buildUnsqueeze(b *buildCtx) (kernel, error) {
	return kernelFunc(func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := needInputs(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		axes, given, err := axesArg(b, 13, 1, in)
		if err != nil {
			return nil, err
		}
		if !given {
			return nil, fmt.Errorf("axes are required")
		}
		r := len(x.Dims) + len(axes)
		ks, err := normAxes(axes, r)
		if err != nil {
			return nil, err
		}
		ins := make([]bool, r)
		for _, k := range ks {
			ins[k] = true
		}
		dims := make([]int64, 0, r)
		j := 0
		for i := 0; i < r; i++ {
			if ins[i] {
				dims = append(dims, 1)
			} else {
				dims = append(dims, x.Dims[j])
				j++
			}
		}
		return []*ir.Tensor{aliasTensor(x, dims)}, nil
	}), nil
}

func buildTranspose(b *buildCtx) (kernel, error) {
	permAttr := b.n.AttrInts("perm")
	return kernelFunc(func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := needInputs(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		r := len(x.Dims)
		perm := make([]int, r)
		if permAttr == nil {
			for i := range perm {
				perm[i] = r - 1 - i
			}
		} else {
			if len(permAttr) != r {
				return nil, fmt.Errorf("perm %v does not match rank %d", permAttr, r)
			}
			for i, p := range permAttr {
				perm[i] = int(p)
			}
		}
		y, err := transposeTensor(e, x, perm)
		return []*ir.Tensor{y}, err
	}), nil
}

func buildConcat(b *buildCtx) (kernel, error) {
	axis := b.n.AttrInt("axis", 0)
	if b.n.Attr("axis") == nil && b.opset >= 4 {
		return nil, fmt.Errorf("attribute axis is required")
	}
	return kernelFunc(func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if len(in) == 0 || in[0] == nil {
			return nil, fmt.Errorf("needs at least one input")
		}
		first := in[0]
		r := len(first.Dims)
		ax, err := normAxis(axis, r)
		if err != nil {
			return nil, err
		}
		dims := cloneDims(first.Dims)
		dims[ax] = 0
		for i, t := range in {
			if t == nil {
				return nil, fmt.Errorf("input %d is missing", i)
			}
			if t.DType != first.DType || len(t.Dims) != r {
				return nil, fmt.Errorf("input %d is %s%v, not compatible with %s%v", i, t.DType, t.Dims, first.DType, first.Dims)
			}
			for k, d := range t.Dims {
				if k != ax && d != first.Dims[k] {
					return nil, fmt.Errorf("input %d has shape %v, not compatible with %v on axis %d", i, t.Dims, first.Dims, ax)
				}
			}
			dims[ax] += t.Dims[ax]
		}
		w, err := elemWidth(first.DType)
		if err != nil {
			return nil, err
		}
		y, err := e.alloc(first.DType, dims)
		if err != nil {
			return nil, err
		}
		outer := numel(dims[:ax])
		inner := numel(dims[ax+1:]) * w
		rowOut := int(dims[ax]) * inner
		off := 0
		for _, t := range in {
			chunk := int(t.Dims[ax]) * inner
			for o := 0; o < outer; o++ {
				copy(y.Data[o*rowOut+off:o*rowOut+off+chunk], t.Data[o*chunk:(o+1)*chunk])
			}
			off += chunk
		}
		return []*ir.Tensor{y}, nil
	}), nil
}

func buildSplit(b *buildCtx) (kernel, error) {
	axis := b.n.AttrInt("axis", 0)
	nout := len(b.n.Outputs)
	numOutputs := b.n.AttrInt("num_outputs", 0)
	if b.opset >= 18 && numOutputs > 0 && int(numOutputs) != nout {
		return nil, fmt.Errorf("num_outputs is %d but the node has %d outputs", numOutputs, nout)
	}
	attrSplit := b.n.AttrInts("split")
	return kernelFunc(func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := needInputs(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		ax, err := normAxis(axis, len(x.Dims))
		if err != nil {
			return nil, err
		}
		dim := x.Dims[ax]
		split := attrSplit
		if b.opset >= 13 {
			split = nil
			if len(in) > 1 && in[1] != nil {
				if split, err = intsOf(in[1], "split"); err != nil {
					return nil, err
				}
			}
		}
		if split == nil {
			split = make([]int64, nout)
			if b.opset >= 18 {
				// Chunks of ceil(dim/n); the last may be smaller.
				c := (dim + int64(nout) - 1) / int64(nout)
				rest := dim
				for i := range split {
					split[i] = min(c, rest)
					rest -= split[i]
				}
			} else {
				if dim%int64(nout) != 0 {
					return nil, fmt.Errorf("axis of size %d does not split into %d equal parts", dim, nout)
				}
				for i := range split {
					split[i] = dim / int64(nout)
				}
			}
		}
		if len(split) != nout {
			return nil, fmt.Errorf("split %v has %d parts for %d outputs", split, len(split), nout)
		}
		var sum int64
		for _, s := range split {
			if s < 0 {
				return nil, fmt.Errorf("negative split %v", split)
			}
			sum += s
		}
		if sum != dim {
			return nil, fmt.Errorf("split %v does not add up to axis size %d", split, dim)
		}
		w, err := elemWidth(x.DType)
		if err != nil {
			return nil, err
		}
		outer := numel(x.Dims[:ax])
		inner := numel(x.Dims[ax+1:]) * w
		rowIn := int(dim) * inner
		outs := make([]*ir.Tensor, nout)
		off := 0
		for i, s := range split {
			dims := cloneDims(x.Dims)
			dims[ax] = s
			y, err := e.alloc(x.DType, dims)
			if err != nil {
				return nil, err
			}
			chunk := int(s) * inner
			for o := 0; o < outer; o++ {
				copy(y.Data[o*chunk:(o+1)*chunk], x.Data[o*rowIn+off:o*rowIn+off+chunk])
			}
			off += chunk
			outs[i] = y
		}
		return outs, nil
	}), nil
}

func buildSlice(b *buildCtx) (kernel, error) {
	n := b.n
	return kernelFunc(func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := needInputs(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		var starts, ends, axes, steps []int64
		var err error
		if b.opset < 10 {
			starts, ends, axes = n.AttrInts("starts"), n.AttrInts("ends"), n.AttrInts("axes")
		} else {
			if err := needInputs(in, 3); err != nil {
				return nil, err
			}
			if starts, err = intsOf(in[1], "starts"); err != nil {
				return nil, err
			}
			if ends, err = intsOf(in[2], "ends"); err != nil {
				return nil, err
			}
			if len(in) > 3 && in[3] != nil {
				if axes, err = intsOf(in[3], "axes"); err != nil {
					return nil, err
				}
			}
			if len(in) > 4 && in[4] != nil {
				if steps, err = intsOf(in[4], "steps"); err != nil {
					return nil, err
				}
			}
		}
		y, err := slice(e, x, starts, ends, axes, steps)
		return []*ir.Tensor{y}, err
	}), nil
}

// slice extracts x[starts:ends:steps] along axes with ONNX clamping.
func slice(e *env, x *ir.Tensor, starts, ends, axes, steps []int64) (*ir.Tensor, error) {
	r := len(x.Dims)
	if len(starts) != len(ends) {
		return nil, fmt.Errorf("starts %v and ends %v differ in length", starts, ends)
	}
	if axes == nil {
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
		return nil, fmt.Errorf("starts, ends, axes and steps differ in length")
	}
	g := &gatherSpec{odims: make([]int, r), st: strides(x.Dims), maps: make([][]int, r)}
	odims := cloneDims(x.Dims)
	for k := range odims {
		g.odims[k] = int(odims[k])
	}
	ks, err := normAxes(axes, r)
	if err != nil {
		return nil, err
	}
	for i, k := range ks {
		dim, step := x.Dims[k], steps[i]
		if step == 0 {
			return nil, fmt.Errorf("slice step is 0")
		}
		s, en := starts[i], ends[i]
		if s < 0 {
			s += dim
		}
		if en < 0 {
			en += dim
		}
		var cnt int64
		if step > 0 {
			s = min(max(s, 0), dim)
			en = min(max(en, 0), dim)
			if en > s {
				cnt = (en - s + step - 1) / step
			}
		} else {
			s = min(max(s, -1), dim-1)
			en = min(max(en, -1), dim-1)
			if s > en {
				cnt = (s - en - step - 1) / -step
			}
		}
		m := make([]int, cnt)
		for j := range m {
			m[j] = int(s + int64(j)*step)
		}
		odims[k] = cnt
		g.odims[k] = int(cnt)
		g.maps[k] = m
	}
	return g.apply(e, x, odims)
}

func buildGather(b *buildCtx) (kernel, error) {
	axis := b.n.AttrInt("axis", 0)
	return kernelFunc(func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := needInputs(in, 2); err != nil {
			return nil, err
		}
		x, idxT := in[0], in[1]
		ax, err := normAxis(axis, len(x.Dims))
		if err != nil {
			return nil, err
		}
		idx, err := intsOf(idxT, "indices")
		if err != nil {
			return nil, err
		}
		dim := x.Dims[ax]
		for i, v := range idx {
			if v < -dim || v >= dim {
				return nil, fmt.Errorf("index %d is out of range for axis of size %d", v, dim)
			}
			if v < 0 {
				idx[i] = v + dim
			}
		}
		dims := append(append(cloneDims(x.Dims[:ax]), idxT.Dims...), x.Dims[ax+1:]...)
		w, err := elemWidth(x.DType)
		if err != nil {
			return nil, err
		}
		y, err := e.alloc(x.DType, dims)
		if err != nil {
			return nil, err
		}
		outer := numel(x.Dims[:ax])
		inner := numel(x.Dims[ax+1:]) * w
		pos := 0
		for o := 0; o < outer; o++ {
			base := o * int(dim) * inner
			for _, v := range idx {
				src := base + int(v)*inner
				copy(y.Data[pos:pos+inner], x.Data[src:src+inner])
				pos += inner
			}
		}
		return []*ir.Tensor{y}, nil
	}), nil
}

// expand broadcasts x to the shape given by input 1 (bidirectionally).
func expand(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := needInputs(in, 2); err != nil {
		return nil, err
	}
	x := in[0]
	shape, err := intsOf(in[1], "shape")
	if err != nil {
		return nil, err
	}
	out, err := broadcastShape(x.Dims, shape)
	if err != nil {
		return nil, err
	}
	y, err := broadcastTo(e, x, out)
	return []*ir.Tensor{y}, err
}

// broadcastTo copies x broadcast to shape out.
func broadcastTo(e *env, x *ir.Tensor, out []int64) (*ir.Tensor, error) {
	w, err := elemWidth(x.DType)
	if err != nil {
		return nil, err
	}
	y, err := e.alloc(x.DType, out)
	if err != nil {
		return nil, err
	}
	bc := newBcast(out, x.Dims)
	switch w {
	case 1:
		expandTo(bc, view[uint8](x), view[uint8](y))
	case 2:
		expandTo(bc, view[uint16](x), view[uint16](y))
	case 4:
		expandTo(bc, view[uint32](x), view[uint32](y))
	case 8:
		expandTo(bc, view[uint64](x), view[uint64](y))
	}
	return y, nil
}

func tile(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := needInputs(in, 2); err != nil {
		return nil, err
	}
	x := in[0]
	reps, err := intsOf(in[1], "repeats")
	if err != nil {
		return nil, err
	}
	r := len(x.Dims)
	if len(reps) != r {
		return nil, fmt.Errorf("repeats %v do not match rank %d", reps, r)
	}
	g := &gatherSpec{odims: make([]int, r), st: strides(x.Dims), maps: make([][]int, r)}
	dims := make([]int64, r)
	for k, rep := range reps {
		if rep < 0 {
			return nil, fmt.Errorf("negative repeat %v", reps)
		}
		dims[k] = x.Dims[k] * rep
		if ir.NumElements(dims[:k+1]) < 0 {
			return nil, fmt.Errorf("tiled shape overflows")
		}
		g.odims[k] = int(dims[k])
		m := make([]int, dims[k])
		for j := range m {
			m[j] = j % int(x.Dims[k])
		}
		g.maps[k] = m
	}
	y, err := g.apply(e, x, dims)
	if err != nil {
		return nil, err
	}
	return []*ir.Tensor{y}, nil
}

func buildPad(b *buildCtx) (kernel, error) {
	mode := b.n.AttrString("mode", "constant")
	switch mode {
	case "constant", "reflect", "edge":
	case "wrap":
		if b.opset < 19 {
			return nil, fmt.Errorf("pad mode wrap needs opset 19")
		}
	default:
		return nil, fmt.Errorf("unknown pad mode %q", mode)
	}
	attrPads := b.n.AttrInts("pads")
	if b.opset < 11 && attrPads == nil {
		attrPads = b.n.AttrInts("paddings") // Pad-1
	}
	attrValue := float64(b.n.AttrFloat("value", 0))
	return kernelFunc(func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := needInputs(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		r := len(x.Dims)
		pads := attrPads
		var fill []byte
		var err error
		if b.opset >= 11 {
			if err := needInputs(in, 2); err != nil {
				return nil, err
			}
			if pads, err = intsOf(in[1], "pads"); err != nil {
				return nil, err
			}
			if len(in) > 2 && in[2] != nil && in[2].NumElements() > 0 {
				if in[2].DType != x.DType {
					return nil, fmt.Errorf("constant_value is %s, input is %s", in[2].DType, x.DType)
				}
				w, _ := elemWidth(x.DType)
				fill = in[2].Data[:w]
			}
		} else if attrValue != 0 {
			fill, err = scalarBytes(x.DType, attrValue)
			if err != nil {
				return nil, err
			}
		}
		axes := make([]int, r)
		for i := range axes {
			axes[i] = i
		}
		if b.opset >= 18 && len(in) > 3 && in[3] != nil {
			av, err := intsOf(in[3], "axes")
			if err != nil {
				return nil, err
			}
			axes = axes[:0]
			for _, a := range av {
				k, err := normAxis(a, r)
				if err != nil {
					return nil, err
				}
				axes = append(axes, k)
			}
		}
		if len(pads) != 2*len(axes) {
			return nil, fmt.Errorf("pads %v do not match %d axes", pads, len(axes))
		}
		before := make([]int64, r)
		after := make([]int64, r)
		for i, k := range axes {
			before[k], after[k] = pads[i], pads[i+len(axes)]
		}
		y, err := pad(e, x, before, after, mode, fill)
		return []*ir.Tensor{y}, err
	}), nil
}

// scalarBytes encodes v as one element of dt.
func scalarBytes(dt ir.DType, v float64) ([]byte, error) {
	t := ir.NewTensor(dt)
	if err := putFloat64s(t, []float64{v}); err != nil {
		return nil, err
	}
	return t.Data, nil
}

// pad pads (or, with negative amounts, crops) x. Cropping happens
// first, so reflect, edge and wrap padding read the cropped data (as the
// ONNX reference does).
func pad(e *env, x *ir.Tensor, before, after []int64, mode string, fill []byte) (*ir.Tensor, error) {
	r := len(x.Dims)
	g := &gatherSpec{odims: make([]int, r), st: strides(x.Dims), maps: make([][]int, r)}
	dims := make([]int64, r)
	for k := 0; k < r; k++ {
		d := x.Dims[k]
		o := d + before[k] + after[k]
		if o < 0 {
			return nil, fmt.Errorf("pads %v/%v crop axis %d of size %d below zero", before, after, k, d)
		}
		if o > maxTensorBytes {
			return nil, fmt.Errorf("padded size %d is too large", o)
		}
		lo := max(-before[k], 0)           // first input index kept
		kept := d - lo - max(-after[k], 0) // input elements kept
		if kept < 0 {
			return nil, fmt.Errorf("pads %v/%v crop axis %d of size %d below zero", before, after, k, d)
		}
		if kept == 0 && o > 0 && mode != "constant" {
			return nil, fmt.Errorf("cannot %s-pad an empty axis", mode)
		}
		dims[k] = o
		g.odims[k] = int(o)
		m := make([]int, o)
		lead := max(before[k], 0)
		for j := range m {
			i := int64(j) - lead // index into the kept elements
			if i < 0 || i >= kept {
				switch mode {
				case "constant":
					m[j] = -1
					continue
				case "edge":
					i = min(max(i, 0), kept-1)
				case "wrap":
					i = ((i % kept) + kept) % kept
				case "reflect":
					if kept == 1 {
						i = 0
					} else {
						period := 2 * (kept - 1)
						i = ((i % period) + period) % period
						if i >= kept {
							i = period - i
						}
					}
				}
			}
			m[j] = int(lo + i)
		}
		g.maps[k] = m
	}
	y, err := e.alloc(x.DType, dims)
	if err != nil {
		return nil, err
	}
	if err := g.run(x, y, fill); err != nil {
		return nil, err
	}
	return y, nil
}

// le is shorthand for little-endian encoding.
var le = binary.LittleEndian
