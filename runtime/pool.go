package runtime

import (
	"fmt"
	"math"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/kernels"
)

// Pooling over 1 to 3 (or more) spatial dimensions.

func init() {
	register("MaxPool", 1, func(b *buildCtx) (kernel, error) { return buildPool(b, true) })
	register("AveragePool", 1, func(b *buildCtx) (kernel, error) { return buildPool(b, false) })
	simple("GlobalAveragePool", 1, func(b *buildCtx) kernelFunc {
		return func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) { return globalPool(e, in, false) }
	})
	simple("GlobalMaxPool", 1, func(b *buildCtx) kernelFunc {
		return func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) { return globalPool(e, in, true) }
	})
}

type poolKernel struct {
	attrs        *windowAttrs
	isMax        bool
	includePad   bool
	storageOrder int64
	wantIndices  bool
}

func buildPool(b *buildCtx, isMax bool) (kernel, error) {
	attrs, err := parseWindowAttrs(b.n)
	if err != nil {
		return nil, err
	}
	if attrs.kernel == nil {
		return nil, fmt.Errorf("kernel_shape is required")
	}
	if !isMax && b.opset < 19 && attrs.dilations != nil {
		return nil, fmt.Errorf("AveragePool dilations need opset 19")
	}
	k := &poolKernel{
		attrs:        attrs,
		isMax:        isMax,
		includePad:   b.n.AttrInt("count_include_pad", 0) != 0,
		storageOrder: b.n.AttrInt("storage_order", 0),
		wantIndices:  isMax && len(b.n.Outputs) > 1 && b.n.Outputs[1] != nil,
	}
	return k, nil
}

// poolWindows lists, for each output position of a plane, the in-plane
// offsets of the input elements its window covers (CSR: offs[start[o]:
// start[o+1]]), and for average pooling with count_include_pad the
// number of window positions inside the padded input.
type poolWindows struct {
	start  []int
	offs   []int
	padCnt []int
}

func (g *convGeom) windows(includePad bool) *poolWindows {
	nd := len(g.in)
	// Per dimension and output index: valid input indices and the count
	// of positions inside the padded extent.
	valid := make([][][]int, nd)
	padded := make([][]int, nd)
	for k := 0; k < nd; k++ {
		valid[k] = make([][]int, g.out[k])
		padded[k] = make([]int, g.out[k])
		for o := 0; o < g.out[k]; o++ {
			for j := 0; j < g.kernel[k]; j++ {
				i := o*g.strides[k] - g.padBegin[k] + j*g.dilations[k]
				if i >= -g.padBegin[k] && i < g.in[k]+g.padEnd[k] {
					padded[k][o]++
				}
				if i >= 0 && i < g.in[k] {
					valid[k][o] = append(valid[k][o], i)
				}
			}
		}
	}
	ist := make([]int, nd)
	acc := 1
	for k := nd - 1; k >= 0; k-- {
		ist[k] = acc
		acc *= g.in[k]
	}
	w := &poolWindows{start: make([]int, 0, g.outPlane+1)}
	if includePad {
		w.padCnt = make([]int, 0, g.outPlane)
	}
	op := make([]int, nd)
	for o := 0; o < g.outPlane; o++ {
		w.start = append(w.start, len(w.offs))
		var rec func(k, off int)
		rec = func(k, off int) {
			if k == nd {
				w.offs = append(w.offs, off)
				return
			}
			for _, i := range valid[k][op[k]] {
				rec(k+1, off+i*ist[k])
			}
		}
		rec(0, 0)
		if includePad {
			c := 1
			for k := 0; k < nd; k++ {
				c *= padded[k][op[k]]
			}
			w.padCnt = append(w.padCnt, c)
		}
		for k := nd - 1; k >= 0; k-- {
			op[k]++
			if op[k] < g.out[k] {
				break
			}
			op[k] = 0
		}
	}
	w.start = append(w.start, len(w.offs))
	return w
}

func (k *poolKernel) run(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := needInputs(in, 1); err != nil {
		return nil, err
	}
	x := in[0]
	dt := x.DType
	if isHalf(dt) {
		x = widen(in[:1])[0]
	}
	if len(x.Dims) < 3 {
		return nil, fmt.Errorf("input %v must have rank ≥ 3", x.Dims)
	}
	if !k.isMax && !x.DType.IsFloat() {
		return nil, errType(dt)
	}
	g, err := k.attrs.resolve(x.Dims[2:], k.attrs.kernel)
	if err != nil {
		return nil, err
	}
	N, C := int(x.Dims[0]), int(x.Dims[1])
	y, err := e.alloc(x.DType, g.outDims(int64(N), int64(C)))
	if err != nil {
		return nil, err
	}
	if x.DType == ir.Float32 && !k.wantIndices {
		if p := pool2DParams(g, N, C, k.includePad); p != nil {
			if k.isMax {
				kernels.MaxPool2D(p, view[float32](x), view[float32](y))
			} else {
				kernels.AvgPool2D(p, view[float32](x), view[float32](y))
			}
			if dt != x.DType {
				y = mustNarrow(e, y, dt)
			}
			return []*ir.Tensor{y}, nil
		}
	}
	w := g.windows(k.includePad)
	planes := N * C
	var idx []int64
	if k.wantIndices {
		idx = make([]int64, planes*g.outPlane)
	}
	switch x.DType {
	case ir.Float32:
		poolRun(k.isMax, w, g, planes, view[float32](x), view[float32](y), idx)
	case ir.Float64:
		poolRun(k.isMax, w, g, planes, view[float64](x), view[float64](y), idx)
	case ir.Int8:
		poolRun(true, w, g, planes, view[int8](x), view[int8](y), idx)
	case ir.Uint8:
		poolRun(true, w, g, planes, view[uint8](x), view[uint8](y), idx)
	default:
		e.release(y)
		return nil, errType(dt)
	}
	if dt != x.DType {
		y = mustNarrow(e, y, dt)
	}
	outs := []*ir.Tensor{y}
	if k.wantIndices {
		if k.storageOrder != 0 {
			toColumnMajor(idx, g)
		}
		it, err := int64Tensor(e, y.Dims, idx)
		if err != nil {
			return nil, err
		}
		outs = append(outs, it)
	}
	return outs, nil
}

// pool2DParams describes 1-D (as height 1) or 2-D pooling for package
// kernels, or returns nil when it does not apply.
func pool2DParams(g *convGeom, N, C int, includePad bool) *kernels.Pool2DParams {
	if len(g.in) > 2 || g.outPlane == 0 {
		return nil
	}
	p := &kernels.Pool2DParams{N: N, C: C, H: 1, W: g.in[0], KH: 1, KW: g.kernel[0],
		StrideH: 1, StrideW: g.strides[0], DilH: 1, DilW: g.dilations[0],
		PadL: g.padBegin[0], PadR: g.padEnd[0], OH: 1, OW: g.out[0], CountIncludePad: includePad}
	if len(g.in) == 2 {
		p.H, p.W, p.KH, p.KW = g.in[0], g.in[1], g.kernel[0], g.kernel[1]
		p.StrideH, p.StrideW = g.strides[0], g.strides[1]
		p.DilH, p.DilW = g.dilations[0], g.dilations[1]
		p.PadT, p.PadL, p.PadB, p.PadR = g.padBegin[0], g.padBegin[1], g.padEnd[0], g.padEnd[1]
		p.OH, p.OW = g.out[0], g.out[1]
	}
	if p.Check() != nil {
		return nil
	}
	return p
}

func poolRun[T numT](isMax bool, w *poolWindows, g *convGeom, planes int, x, y []T, idx []int64) {
	for p := 0; p < planes; p++ {
		xp := x[p*g.inPlane : (p+1)*g.inPlane]
		yp := y[p*g.outPlane : (p+1)*g.outPlane]
		for o := range yp {
			offs := w.offs[w.start[o]:w.start[o+1]]
			if isMax {
				best, bi := lowest[T](), -1
				for _, off := range offs {
					if v := xp[off]; bi < 0 || v > best {
						best, bi = v, off
					}
				}
				yp[o] = best
				if idx != nil {
					idx[p*g.outPlane+o] = int64(p*g.inPlane + max(bi, 0))
				}
				continue
			}
			var s float64
			for _, off := range offs {
				s += float64(xp[off])
			}
			cnt := len(offs)
			if w.padCnt != nil {
				cnt = w.padCnt[o]
			}
			if cnt == 0 {
				yp[o] = 0
			} else {
				yp[o] = T(s / float64(cnt))
			}
		}
	}
}

func lowest[T numT]() T {
	var z T
	switch any(z).(type) {
	case float32:
		return T(math.Inf(-1))
	case float64:
		return T(math.Inf(-1))
	case int8:
		return any(int8(math.MinInt8)).(T)
	}
	return z
}

// toColumnMajor rewrites row-major flat indices so the within-plane part
// counts the first spatial dimension fastest (storage_order = 1).
func toColumnMajor(idx []int64, g *convGeom) {
	nd := len(g.in)
	for i, v := range idx {
		plane, off := v/int64(g.inPlane), v%int64(g.inPlane)
		// Decompose off (row-major) and recompose column-major.
		coords := make([]int64, nd)
		for k := nd - 1; k >= 0; k-- {
			coords[k] = off % int64(g.in[k])
			off /= int64(g.in[k])
		}
		var cm, mul int64 = 0, 1
		for k := 0; k < nd; k++ {
			cm += coords[k] * mul
			mul *= int64(g.in[k])
		}
		idx[i] = plane*int64(g.inPlane) + cm
	}
}

func globalPool(e *env, in []*ir.Tensor, isMax bool) ([]*ir.Tensor, error) {
	if err := needInputs(in, 1); err != nil {
		return nil, err
	}
	x := in[0]
	if len(x.Dims) < 3 {
		return nil, fmt.Errorf("input %v must have rank ≥ 3", x.Dims)
	}
	if !x.DType.IsFloat() {
		return nil, errType(x.DType)
	}
	axes := make([]int64, len(x.Dims)-2)
	for i := range axes {
		axes[i] = int64(i + 2)
	}
	op := "ReduceMean"
	if isMax {
		op = "ReduceMax"
	}
	y, err := reduce(e, op, x, axes, true)
	return []*ir.Tensor{y}, err
}
