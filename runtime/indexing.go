package runtime

import (
	"fmt"
	"sort"

	"github.com/nncc/nncc/ir"
)

// Index-driven gathers and scatters, selection and sorting.

func init() {
	register("GatherElements", 11, buildGatherElements)
	register("ScatterElements", 11, func(b *buildCtx) (kernel, error) { return buildScatterElements(b) })
	register("Scatter", 9, func(b *buildCtx) (kernel, error) { return buildScatterElements(b) })
	register("GatherND", 11, buildGatherND)
	register("ScatterND", 11, buildScatterND)
	register("Compress", 9, buildCompress)
	simple("NonZero", 9, func(b *buildCtx) kernelFunc { return nonZero })
	register("OneHot", 9, buildOneHot)
	register("TopK", 1, buildTopK)
}

// indexList reads an index tensor, resolving negative indices against
// dim and rejecting ones out of range.
func indexList(t *ir.Tensor, dim int64, what string) ([]int64, error) {
	if t.DType != ir.Int64 && t.DType != ir.Int32 {
		return nil, fmt.Errorf("%s must be int32 or int64, is %s", what, t.DType)
	}
	idx := t.Int64s()
	for i, v := range idx {
		if v < -dim || v >= dim {
			return nil, fmt.Errorf("%s %d is out of range for size %d", what, v, dim)
		}
		if v < 0 {
			idx[i] = v + dim
		}
	}
	return idx, nil
}

// copyElem copies element j of src to element i of dst (width w bytes).
func copyElem(dst []byte, i int, src []byte, j int, w int) {
	copy(dst[i*w:(i+1)*w], src[j*w:(j+1)*w])
}

func buildGatherElements(b *buildCtx) (kernel, error) {
	axis := b.n.AttrInt("axis", 0)
	return kernelFunc(func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := needInputs(in, 2); err != nil {
			return nil, err
		}
		x, it := in[0], in[1]
		r := len(x.Dims)
		ax, err := normAxis(axis, r)
		if err != nil {
			return nil, err
		}
		if len(it.Dims) != r {
			return nil, fmt.Errorf("indices %v and data %v differ in rank", it.Dims, x.Dims)
		}
		for k := range it.Dims {
			if k != ax && it.Dims[k] > x.Dims[k] {
				return nil, fmt.Errorf("indices %v exceed data %v on axis %d", it.Dims, x.Dims, k)
			}
		}
		idx, err := indexList(it, x.Dims[ax], "index")
		if err != nil {
			return nil, err
		}
		w, err := elemWidth(x.DType)
		if err != nil {
			return nil, err
		}
		y, err := e.alloc(x.DType, it.Dims)
		if err != nil {
			return nil, err
		}
		xs := strides(x.Dims)
		forEachIndex(it.Dims, func(i int, c []int) {
			off := 0
			for k, v := range c {
				if k == ax {
					v = int(idx[i])
				}
				off += v * xs[k]
			}
			copyElem(y.Data, i, x.Data, off, w)
		})
		return []*ir.Tensor{y}, nil
	}), nil
}

// forEachIndex calls f with the flat index and coordinates of every
// element of dims, in row-major order. c is reused between calls.
func forEachIndex(dims []int64, f func(i int, c []int)) {
	n := numel(dims)
	c := make([]int, len(dims))
	for i := 0; i < n; i++ {
		f(i, c)
		for k := len(dims) - 1; k >= 0; k-- {
			c[k]++
			if c[k] < int(dims[k]) {
				break
			}
			c[k] = 0
		}
	}
}

// reducer combines an existing element with an update for the scatter
// operators' reduction attribute.
func reducer(name string) (func(a, b float64) float64, error) {
	switch name {
	case "none":
		return nil, nil
	case "add":
		return func(a, b float64) float64 { return a + b }, nil
	case "mul":
		return func(a, b float64) float64 { return a * b }, nil
	case "max":
		return func(a, b float64) float64 { return max(a, b) }, nil
	case "min":
		return func(a, b float64) float64 { return min(a, b) }, nil
	}
	return nil, fmt.Errorf("unknown reduction %q", name)
}

// scatterApply writes updates into a copy of x at the given element
// offsets, combining with red when set.
func scatterApply(e *env, x *ir.Tensor, offs []int, upd *ir.Tensor, inner int, red func(a, b float64) float64) (*ir.Tensor, error) {
	w, err := elemWidth(x.DType)
	if err != nil {
		return nil, err
	}
	y, err := e.alloc(x.DType, x.Dims)
	if err != nil {
		return nil, err
	}
	copy(y.Data, x.Data)
	if red == nil {
		for i, off := range offs {
			copy(y.Data[off*w:(off+inner)*w], upd.Data[i*inner*w:(i+1)*inner*w])
		}
		return y, nil
	}
	if !numeric(x.DType) && !isHalf(x.DType) {
		return nil, errType(x.DType)
	}
	yv, uv := y.Float64s(), upd.Float64s()
	if x.DType == ir.Int64 || x.DType == ir.Uint64 {
		return nil, unsupportedf("scatter reductions on %s are not supported", x.DType)
	}
	for i, off := range offs {
		for j := 0; j < inner; j++ {
			yv[off+j] = red(yv[off+j], uv[i*inner+j])
		}
	}
	return y, putFloat64s(y, yv)
}

func buildScatterElements(b *buildCtx) (kernel, error) {
	axis := b.n.AttrInt("axis", 0)
	red, err := reducer(b.n.AttrString("reduction", "none"))
	if err != nil {
		return nil, err
	}
	return kernelFunc(func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := needInputs(in, 3); err != nil {
			return nil, err
		}
		x, it, upd := in[0], in[1], in[2]
		r := len(x.Dims)
		ax, err := normAxis(axis, r)
		if err != nil {
			return nil, err
		}
		if len(it.Dims) != r || !sameDims(it.Dims, upd.Dims) || upd.DType != x.DType {
			return nil, fmt.Errorf("indices %v and updates %s%v do not fit data %s%v", it.Dims, upd.DType, upd.Dims, x.DType, x.Dims)
		}
		for k := range it.Dims {
			if k != ax && it.Dims[k] > x.Dims[k] {
				return nil, fmt.Errorf("indices %v exceed data %v on axis %d", it.Dims, x.Dims, k)
			}
		}
		idx, err := indexList(it, x.Dims[ax], "index")
		if err != nil {
			return nil, err
		}
		xs := strides(x.Dims)
		offs := make([]int, len(idx))
		forEachIndex(it.Dims, func(i int, c []int) {
			off := 0
			for k, v := range c {
				if k == ax {
					v = int(idx[i])
				}
				off += v * xs[k]
			}
			offs[i] = off
		})
		y, err := scatterApply(e, x, offs, upd, 1, red)
		return []*ir.Tensor{y}, err
	}), nil
}

// ndOffsets resolves GatherND/ScatterND index tuples: for indices of
// shape [..., k] into data (after batch dims), the element offsets of the
// addressed slices within each batch, and the slice length.
func ndOffsets(x, it *ir.Tensor, batch int) (offs []int, inner int, err error) {
	q, r := len(it.Dims), len(x.Dims)
	if q < 1 || batch >= q || batch >= r {
		return nil, 0, fmt.Errorf("indices %v and data %v do not fit batch_dims %d", it.Dims, x.Dims, batch)
	}
	k := int(it.Dims[q-1])
	if batch+k > r {
		return nil, 0, fmt.Errorf("index tuples of %d exceed data rank %d", k, r)
	}
	for i := 0; i < batch; i++ {
		if it.Dims[i] != x.Dims[i] {
			return nil, 0, fmt.Errorf("batch dims of indices %v and data %v differ", it.Dims, x.Dims)
		}
	}
	if it.DType != ir.Int64 && it.DType != ir.Int32 {
		return nil, 0, fmt.Errorf("indices must be int32 or int64, is %s", it.DType)
	}
	idx := it.Int64s()
	xs := strides(x.Dims)
	inner = numel(x.Dims[batch+k:])
	batchSize := numel(x.Dims[batch:])
	tuples := numel(it.Dims[:q-1])
	perBatch := tuples / max(numel(it.Dims[:batch]), 1)
	offs = make([]int, tuples)
	for t := 0; t < tuples; t++ {
		off := (t / max(perBatch, 1)) * batchSize
		for j := 0; j < k; j++ {
			v, dim := idx[t*k+j], x.Dims[batch+j]
			if v < -dim || v >= dim {
				return nil, 0, fmt.Errorf("index %d is out of range for size %d", v, dim)
			}
			if v < 0 {
				v += dim
			}
			off += int(v) * xs[batch+j]
		}
		offs[t] = off
	}
	return offs, inner, nil
}

func buildGatherND(b *buildCtx) (kernel, error) {
	batch := int(b.n.AttrInt("batch_dims", 0))
	return kernelFunc(func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := needInputs(in, 2); err != nil {
			return nil, err
		}
		x, it := in[0], in[1]
		offs, inner, err := ndOffsets(x, it, batch)
		if err != nil {
			return nil, err
		}
		w, err := elemWidth(x.DType)
		if err != nil {
			return nil, err
		}
		q := len(it.Dims)
		k := int(it.Dims[q-1])
		dims := append(cloneDims(it.Dims[:q-1]), x.Dims[batch+k:]...)
		y, err := e.alloc(x.DType, dims)
		if err != nil {
			return nil, err
		}
		for i, off := range offs {
			copy(y.Data[i*inner*w:(i+1)*inner*w], x.Data[off*w:(off+inner)*w])
		}
		return []*ir.Tensor{y}, nil
	}), nil
}

func buildScatterND(b *buildCtx) (kernel, error) {
	red, err := reducer(b.n.AttrString("reduction", "none"))
	if err != nil {
		return nil, err
	}
	return kernelFunc(func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := needInputs(in, 3); err != nil {
			return nil, err
		}
		x, it, upd := in[0], in[1], in[2]
		offs, inner, err := ndOffsets(x, it, 0)
		if err != nil {
			return nil, err
		}
		if upd.DType != x.DType || numel(upd.Dims) != len(offs)*inner {
			return nil, fmt.Errorf("updates %s%v do not fit indices %v and data %s%v", upd.DType, upd.Dims, it.Dims, x.DType, x.Dims)
		}
		y, err := scatterApply(e, x, offs, upd, inner, red)
		return []*ir.Tensor{y}, err
	}), nil
}

func buildCompress(b *buildCtx) (kernel, error) {
	axisAttr := b.n.Attr("axis")
	return kernelFunc(func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := needInputs(in, 2); err != nil {
			return nil, err
		}
		x, c := in[0], in[1]
		if c.DType != ir.Bool || len(c.Dims) != 1 {
			return nil, fmt.Errorf("condition must be a 1-D bool tensor, is %s%v", c.DType, c.Dims)
		}
		if axisAttr == nil {
			x = aliasTensor(x, []int64{ir.NumElements(x.Dims)})
		}
		ax := 0
		var err error
		if axisAttr != nil {
			if ax, err = normAxis(axisAttr.I, len(x.Dims)); err != nil {
				return nil, err
			}
		}
		var keep []int64
		for i, v := range c.Data {
			if v != 0 && int64(i) < x.Dims[ax] {
				keep = append(keep, int64(i))
			}
		}
		w, err := elemWidth(x.DType)
		if err != nil {
			return nil, err
		}
		dims := cloneDims(x.Dims)
		dims[ax] = int64(len(keep))
		y, err := e.alloc(x.DType, dims)
		if err != nil {
			return nil, err
		}
		outer, inner := numel(x.Dims[:ax]), numel(x.Dims[ax+1:])*w
		pos := 0
		for o := 0; o < outer; o++ {
			for _, k := range keep {
				src := (o*int(x.Dims[ax]) + int(k)) * inner
				copy(y.Data[pos:pos+inner], x.Data[src:src+inner])
				pos += inner
			}
		}
		return []*ir.Tensor{y}, nil
	}), nil
}

func nonZero(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := needInputs(in, 1); err != nil {
		return nil, err
	}
	x := in[0]
	if !numeric(x.DType) && !isHalf(x.DType) && x.DType != ir.Bool {
		return nil, errType(x.DType)
	}
	v := x.Float64s()
	var hits [][]int
	forEachIndex(x.Dims, func(i int, c []int) {
		if v[i] != 0 {
			hits = append(hits, append([]int(nil), c...))
		}
	})
	r := len(x.Dims)
	y, err := e.alloc(ir.Int64, []int64{int64(r), int64(len(hits))})
	if err != nil {
		return nil, err
	}
	d := view[int64](y)
	for j, c := range hits {
		for k := 0; k < r; k++ {
			d[k*len(hits)+j] = int64(c[k])
		}
	}
	return []*ir.Tensor{y}, nil
}

func buildOneHot(b *buildCtx) (kernel, error) {
	axis := b.n.AttrInt("axis", -1)
	return kernelFunc(func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := needInputs(in, 3); err != nil {
			return nil, err
		}
		it, dt, vals := in[0], in[1], in[2]
		if numel(dt.Dims) != 1 || numel(vals.Dims) != 2 {
			return nil, fmt.Errorf("depth must be a scalar and values hold two elements")
		}
		depth := int64(dt.Float64s()[0])
		if depth < 0 {
			return nil, fmt.Errorf("negative depth %d", depth)
		}
		r := len(it.Dims) + 1
		ax, err := normAxis(axis, r)
		if err != nil {
			return nil, err
		}
		idx := it.Float64s()
		dims := append(append(cloneDims(it.Dims[:ax]), depth), it.Dims[ax:]...)
		y, err := e.alloc(vals.DType, dims)
		if err != nil {
			return nil, err
		}
		w, err := elemWidth(vals.DType)
		if err != nil {
			return nil, err
		}
		outer, inner := numel(it.Dims[:ax]), numel(it.Dims[ax:])
		for o := 0; o < outer; o++ {
			for d := 0; d < int(depth); d++ {
				for i := 0; i < inner; i++ {
					v := int64(idx[o*inner+i])
					if v < 0 {
						v += depth
					}
					which := 0
					if v == int64(d) {
						which = 1
					}
					copyElem(y.Data, (o*int(depth)+d)*inner+i, vals.Data, which, w)
				}
			}
		}
		return []*ir.Tensor{y}, nil
	}), nil
}

func buildTopK(b *buildCtx) (kernel, error) {
	axis := b.n.AttrInt("axis", -1)
	largest := b.n.AttrInt("largest", 1) != 0
	sorted := b.n.AttrInt("sorted", 1) != 0
	attrK := b.n.AttrInt("k", -1)
	return kernelFunc(func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := needInputs(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		k := attrK
		if b.opset >= 10 {
			if err := needInputs(in, 2); err != nil {
				return nil, err
			}
			kv, err := intsOf(in[1], "k")
			if err != nil || len(kv) != 1 {
				return nil, fmt.Errorf("k must be a single integer")
			}
			k = kv[0]
		}
		ax, err := normAxis(axis, len(x.Dims))
		if err != nil {
			return nil, err
		}
		dim := int(x.Dims[ax])
		if k < 0 || k > int64(dim) {
			return nil, fmt.Errorf("k = %d is out of range for axis of size %d", k, dim)
		}
		if !numeric(x.DType) && !isHalf(x.DType) {
			return nil, errType(x.DType)
		}
		outer, inner := numel(x.Dims[:ax]), numel(x.Dims[ax+1:])
		dims := cloneDims(x.Dims)
		dims[ax] = k
		vals, err := e.alloc(x.DType, dims)
		if err != nil {
			return nil, err
		}
		idxT, err := e.alloc(ir.Int64, dims)
		if err != nil {
			return nil, err
		}
		w, _ := elemWidth(x.DType)
		xv := x.Float64s()
		iv := view[int64](idxT)
		order := make([]int, dim)
		for o := 0; o < outer; o++ {
			for i := 0; i < inner; i++ {
				at := func(j int) float64 { return xv[(o*dim+j)*inner+i] }
				for j := range order {
					order[j] = j
				}
				// Ties keep the lower index first.
				sort.SliceStable(order, func(p, q int) bool {
					a, c := at(order[p]), at(order[q])
					if largest {
						return a > c
					}
					return a < c
				})
				sel := order[:k]
				if !sorted {
					sort.Ints(sel)
				}
				for j, src := range sel {
					dst := (o*int(k)+j)*inner + i
					iv[dst] = int64(src)
					copyElem(vals.Data, dst, x.Data, (o*dim+src)*inner+i, w)
				}
			}
		}
		return []*ir.Tensor{vals, idxT}, nil
	}), nil
}

func init() {
	register("Unique", 11, buildUnique)
}

// buildUnique returns the distinct elements (or slices along axis), with
// the index of each one's first occurrence, the inverse mapping and the
// counts.
func buildUnique(b *buildCtx) (kernel, error) {
	sorted := b.n.AttrInt("sorted", 1) != 0
	axisAttr := b.n.Attr("axis")
	return kernelFunc(func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := needInputs(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		if !numeric(x.DType) && !isHalf(x.DType) && x.DType != ir.Bool {
			return nil, errType(x.DType)
		}
		dims := x.Dims
		ax := 0
		if axisAttr == nil {
			dims = []int64{ir.NumElements(x.Dims)}
		} else {
			var err error
			if ax, err = normAxis(axisAttr.I, len(x.Dims)); err != nil {
				return nil, err
			}
		}
		outer, dim, inner := numel(dims[:ax]), int(dims[ax]), numel(dims[ax+1:])
		// Exact keys: int64 for integers, float64 for floats.
		var fv []float64
		var iv []int64
		if x.DType.IsFloat() {
			fv = x.Float64s()
		} else {
			iv = x.Int64s()
		}
		cmp := func(a, c int) int { // compare slices a and c along the axis
			for o := 0; o < outer; o++ {
				for i := 0; i < inner; i++ {
					p, q := (o*dim+a)*inner+i, (o*dim+c)*inner+i
					if fv != nil {
						if fv[p] < fv[q] {
							return -1
						} else if fv[p] > fv[q] {
							return 1
						}
					} else if iv[p] != iv[q] {
						if iv[p] < iv[q] {
							return -1
						}
						return 1
					}
				}
			}
			return 0
		}
		// Sort the slices (stably, so each run of equal ones starts with
		// its first occurrence) and group equal neighbours.
		perm := make([]int, dim)
		for j := range perm {
			perm[j] = j
		}
		sort.SliceStable(perm, func(p, q int) bool { return cmp(perm[p], perm[q]) < 0 })
		var firsts []int
		var counts []int64
		inverse := make([]int64, dim)
		for k, j := range perm {
			if k == 0 || cmp(perm[k-1], j) != 0 {
				firsts = append(firsts, j)
				counts = append(counts, 0)
			}
			inverse[j] = int64(len(firsts) - 1)
			counts[len(counts)-1]++
		}
		order := make([]int, len(firsts)) // output position → group
		for i := range order {
			order[i] = i
		}
		if !sorted {
			sort.Slice(order, func(p, q int) bool { return firsts[order[p]] < firsts[order[q]] })
		}
		rank := make([]int64, len(order))
		for pos, k := range order {
			rank[k] = int64(pos)
		}
		w, err := elemWidth(x.DType)
		if err != nil {
			return nil, err
		}
		ydims := cloneDims(dims)
		ydims[ax] = int64(len(order))
		y, err := e.alloc(x.DType, ydims)
		if err != nil {
			return nil, err
		}
		idx, cnt := make([]int64, len(order)), make([]int64, len(order))
		for pos, k := range order {
			idx[pos], cnt[pos] = int64(firsts[k]), counts[k]
			for o := 0; o < outer; o++ {
				src := (o*dim + firsts[k]) * inner * w
				dst := (o*len(order) + pos) * inner * w
				copy(y.Data[dst:dst+inner*w], x.Data[src:src+inner*w])
			}
		}
		for j := range inverse {
			inverse[j] = rank[inverse[j]]
		}
		outs := []*ir.Tensor{y}
		for _, v := range [][]int64{idx, inverse, cnt} {
			t, err := int64Tensor(e, []int64{int64(len(v))}, v)
			if err != nil {
				return nil, err
			}
			outs = append(outs, t)
		}
		return outs, nil
	}), nil
}
