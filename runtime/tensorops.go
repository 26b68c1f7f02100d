package runtime

import (
	"fmt"
	"math"

	"github.com/nncc/nncc/ir"
)

// Structural operators: triangular masks, cumulative sums, block
// rearrangements, identity matrices, sequence reversal, bit shifts,
// signal windows, unpooling and determinants.

func init() {
	register("Trilu", 14, buildTrilu)
	register("CumSum", 11, buildCumSum)
	register("DepthToSpace", 1, func(b *buildCtx) (kernel, error) { return buildBlocks(b, true) })
	register("SpaceToDepth", 1, func(b *buildCtx) (kernel, error) { return buildBlocks(b, false) })
	register("EyeLike", 9, buildEyeLike)
	register("ReverseSequence", 10, buildReverseSequence)
	register("BitShift", 11, buildBitShift)
	for _, w := range []string{"HannWindow", "HammingWindow", "BlackmanWindow"} {
		register(w, 17, func(b *buildCtx) (kernel, error) { return buildWindow(b, w) })
	}
	register("MaxUnpool", 9, buildMaxUnpool)
	simple("Det", 11, func(b *buildCtx) kernelFunc { return det })
}

func buildTrilu(b *buildCtx) (kernel, error) {
	upper := b.n.AttrInt("upper", 1) != 0
	return kernelFunc(func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := needInputs(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		r := len(x.Dims)
		if r < 2 {
			return nil, fmt.Errorf("input must have rank ≥ 2, has %v", x.Dims)
		}
		var k int64
		if len(in) > 1 && in[1] != nil {
			kv, err := intsOf(in[1], "k")
			if err != nil || len(kv) != 1 {
				return nil, fmt.Errorf("k must be a single integer")
			}
			k = kv[0]
		}
		w, err := elemWidth(x.DType)
		if err != nil {
			return nil, err
		}
		y, err := e.alloc(x.DType, x.Dims)
		if err != nil {
			return nil, err
		}
		rows, cols := int(x.Dims[r-2]), int(x.Dims[r-1])
		mats := numel(x.Dims[:r-2])
		for m := 0; m < mats; m++ {
			for i := 0; i < rows; i++ {
				for j := 0; j < cols; j++ {
					p := ((m*rows+i)*cols + j) * w
					d := int64(j - i)
					if upper && d >= k || !upper && d <= k {
						copy(y.Data[p:p+w], x.Data[p:p+w])
					} else {
						clear(y.Data[p : p+w])
					}
				}
			}
		}
		return []*ir.Tensor{y}, nil
	}), nil
}

func buildCumSum(b *buildCtx) (kernel, error) {
	exclusive := b.n.AttrInt("exclusive", 0) != 0
	reverse := b.n.AttrInt("reverse", 0) != 0
	return kernelFunc(func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := needInputs(in, 2); err != nil {
			return nil, err
		}
		x := in[0]
		av, err := intsOf(in[1], "axis")
		if err != nil || len(av) != 1 {
			return nil, fmt.Errorf("axis must be a single integer")
		}
		ax, err := normAxis(av[0], len(x.Dims))
		if err != nil {
			return nil, err
		}
		if !numeric(x.DType) && !isHalf(x.DType) {
			return nil, errType(x.DType)
		}
		outer, dim, inner := numel(x.Dims[:ax]), int(x.Dims[ax]), numel(x.Dims[ax+1:])
		y, err := e.alloc(x.DType, x.Dims)
		if err != nil {
			return nil, err
		}
		if x.DType == ir.Int64 {
			cumsum(view[int64](x), view[int64](y), outer, dim, inner, exclusive, reverse)
			return []*ir.Tensor{y}, nil
		}
		v := x.Float64s()
		r := make([]float64, len(v))
		cumsum(v, r, outer, dim, inner, exclusive, reverse)
		return []*ir.Tensor{y}, putFloat64s(y, r)
	}), nil
}

func cumsum[T int64 | float64](x, y []T, outer, dim, inner int, exclusive, reverse bool) {
	for o := 0; o < outer; o++ {
		for i := 0; i < inner; i++ {
			var acc T
			for s := 0; s < dim; s++ {
				j := s
				if reverse {
					j = dim - 1 - s
				}
				p := (o*dim+j)*inner + i
				if exclusive {
					y[p] = acc
					acc += x[p]
				} else {
					acc += x[p]
					y[p] = acc
				}
			}
		}
	}
}

// buildBlocks handles DepthToSpace (toSpace) and SpaceToDepth on NCHW
// tensors.
func buildBlocks(b *buildCtx, toSpace bool) (kernel, error) {
	bs := b.n.AttrInt("blocksize", 0)
	if bs < 1 {
		return nil, fmt.Errorf("blocksize must be positive")
	}
	crd := b.n.AttrString("mode", "DCR") == "CRD"
	return kernelFunc(func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := needInputs(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		if len(x.Dims) != 4 {
			return nil, fmt.Errorf("input must be 4-D, is %v", x.Dims)
		}
		N, C, H, W := x.Dims[0], x.Dims[1], x.Dims[2], x.Dims[3]
		var tmp *ir.Tensor
		var perm []int
		var out []int64
		if toSpace {
			if C%(bs*bs) != 0 {
				return nil, fmt.Errorf("channels %d do not divide by blocksize² %d", C, bs*bs)
			}
			c := C / (bs * bs)
			if crd {
				tmp = aliasTensor(x, []int64{N, c, bs, bs, H, W})
				perm = []int{0, 1, 4, 2, 5, 3}
			} else {
				tmp = aliasTensor(x, []int64{N, bs, bs, c, H, W})
				perm = []int{0, 3, 4, 1, 5, 2}
			}
			out = []int64{N, c, H * bs, W * bs}
		} else {
			if H%bs != 0 || W%bs != 0 {
				return nil, fmt.Errorf("spatial size %dx%d does not divide by blocksize %d", H, W, bs)
			}
			tmp = aliasTensor(x, []int64{N, C, H / bs, bs, W / bs, bs})
			perm = []int{0, 3, 5, 1, 2, 4}
			out = []int64{N, C * bs * bs, H / bs, W / bs}
		}
		y, err := transposeTensor(e, tmp, perm)
		if err != nil {
			return nil, err
		}
		y.Dims = out
		return []*ir.Tensor{y}, nil
	}), nil
}

func buildEyeLike(b *buildCtx) (kernel, error) {
	k := b.n.AttrInt("k", 0)
	dtAttr := ir.DType(b.n.AttrInt("dtype", 0))
	return kernelFunc(func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := needInputs(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		if len(x.Dims) != 2 {
			return nil, fmt.Errorf("input must be 2-D, is %v", x.Dims)
		}
		dt := x.DType
		if dtAttr != ir.Undefined {
			dt = dtAttr
		}
		y, err := e.zeros(dt, x.Dims)
		if err != nil {
			return nil, err
		}
		one, err := scalarBytes(dt, 1)
		if err != nil {
			return nil, err
		}
		w := len(one)
		rows, cols := x.Dims[0], x.Dims[1]
		for i := int64(0); i < rows; i++ {
			if j := i + k; j >= 0 && j < cols {
				copy(y.Data[int(i*cols+j)*w:], one)
			}
		}
		return []*ir.Tensor{y}, nil
	}), nil
}

func buildReverseSequence(b *buildCtx) (kernel, error) {
	batchAxis := int(b.n.AttrInt("batch_axis", 1))
	timeAxis := int(b.n.AttrInt("time_axis", 0))
	return kernelFunc(func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := needInputs(in, 2); err != nil {
			return nil, err
		}
		x := in[0]
		if len(x.Dims) < 2 || batchAxis+timeAxis != 1 || batchAxis < 0 || timeAxis < 0 {
			return nil, fmt.Errorf("batch_axis %d and time_axis %d must be 0 and 1 of a rank ≥ 2 input", batchAxis, timeAxis)
		}
		lens, err := intsOf(in[1], "sequence_lens")
		if err != nil {
			return nil, err
		}
		batch, steps := x.Dims[batchAxis], x.Dims[timeAxis]
		if int64(len(lens)) != batch {
			return nil, fmt.Errorf("%d sequence lengths for batch %d", len(lens), batch)
		}
		w, err := elemWidth(x.DType)
		if err != nil {
			return nil, err
		}
		y, err := e.alloc(x.DType, x.Dims)
		if err != nil {
			return nil, err
		}
		inner := numel(x.Dims[2:]) * w
		xs := strides(x.Dims)
		for bi := int64(0); bi < batch; bi++ {
			l := lens[bi]
			if l < 0 || l > steps {
				return nil, fmt.Errorf("sequence length %d is out of range", l)
			}
			for t := int64(0); t < steps; t++ {
				src := t
				if t < l {
					src = l - 1 - t
				}
				dst := (int(bi)*xs[batchAxis] + int(t)*xs[timeAxis]) / numel(x.Dims[2:]) * inner
				from := (int(bi)*xs[batchAxis] + int(src)*xs[timeAxis]) / numel(x.Dims[2:]) * inner
				copy(y.Data[dst:dst+inner], x.Data[from:from+inner])
			}
		}
		return []*ir.Tensor{y}, nil
	}), nil
}

func buildBitShift(b *buildCtx) (kernel, error) {
	dir := b.n.AttrString("direction", "")
	if dir != "LEFT" && dir != "RIGHT" {
		return nil, fmt.Errorf("direction must be LEFT or RIGHT, is %q", dir)
	}
	return kernelFunc(func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := needInputs(in, 2); err != nil {
			return nil, err
		}
		x, s := in[0], in[1]
		switch x.DType {
		case ir.Uint8, ir.Uint16, ir.Uint32, ir.Uint64:
		default:
			return nil, errType(x.DType)
		}
		bc, out, err := binaryPrep(e, x, s, ir.Undefined)
		if err != nil {
			return nil, err
		}
		shift := func(a, n uint64) uint64 {
			if dir == "LEFT" {
				return a << n
			}
			return a >> n
		}
		switch x.DType {
		case ir.Uint8:
			binaryMap(bc, view[uint8](x), view[uint8](s), view[uint8](out), func(a, n uint8) uint8 { return uint8(shift(uint64(a), uint64(n))) })
		case ir.Uint16:
			binaryMap(bc, view[uint16](x), view[uint16](s), view[uint16](out), func(a, n uint16) uint16 { return uint16(shift(uint64(a), uint64(n))) })
		case ir.Uint32:
			binaryMap(bc, view[uint32](x), view[uint32](s), view[uint32](out), func(a, n uint32) uint32 { return uint32(shift(uint64(a), uint64(n))) })
		case ir.Uint64:
			binaryMap(bc, view[uint64](x), view[uint64](s), view[uint64](out), shift)
		}
		return []*ir.Tensor{out}, nil
	}), nil
}

func buildWindow(b *buildCtx, kind string) (kernel, error) {
	periodic := b.n.AttrInt("periodic", 1) != 0
	dt := ir.DType(b.n.AttrInt("output_datatype", int64(ir.Float32)))
	return kernelFunc(func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := needInputs(in, 1); err != nil {
			return nil, err
		}
		nv, err := intsOf(in[0], "size")
		if err != nil || len(nv) != 1 || nv[0] < 0 || nv[0] > maxTensorBytes {
			return nil, fmt.Errorf("size must be one non-negative integer")
		}
		n := int(nv[0])
		den := float64(n - 1)
		if periodic {
			den = float64(n)
		}
		v := make([]float64, n)
		for i := range v {
			a := 2 * math.Pi * float64(i) / den
			switch kind {
			case "HannWindow":
				v[i] = 0.5 - 0.5*math.Cos(a)
			case "HammingWindow":
				v[i] = 25.0/46 - 21.0/46*math.Cos(a)
			case "BlackmanWindow":
				v[i] = 0.42 - 0.5*math.Cos(a) + 0.08*math.Cos(2*a)
			}
		}
		y, err := fromFloat64s(e, dt, []int64{int64(n)}, v)
		return []*ir.Tensor{y}, err
	}), nil
}

func buildMaxUnpool(b *buildCtx) (kernel, error) {
	attrs, err := parseWindowAttrs(b.n)
	if err != nil {
		return nil, err
	}
	return kernelFunc(func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := needInputs(in, 2); err != nil {
			return nil, err
		}
		x, it := in[0], in[1]
		if len(x.Dims) < 3 || !sameDims(x.Dims, it.Dims) {
			return nil, fmt.Errorf("X %v and I %v must have one shape of rank ≥ 3", x.Dims, it.Dims)
		}
		nd := len(x.Dims) - 2
		if len(attrs.kernel) != nd {
			return nil, fmt.Errorf("kernel_shape %v does not match %d spatial dimensions", attrs.kernel, nd)
		}
		dims := cloneDims(x.Dims)
		for i := 0; i < nd; i++ {
			s, pb, pe := int64(1), int64(0), int64(0)
			if attrs.strides != nil {
				s = attrs.strides[i]
			}
			if attrs.pads != nil {
				pb, pe = attrs.pads[i], attrs.pads[i+nd]
			}
			dims[2+i] = (x.Dims[2+i]-1)*s + attrs.kernel[i] - pb - pe
		}
		// Indices address the default output shape; an explicit
		// output_shape relocates each element to the same coordinates.
		def := dims
		if len(in) > 2 && in[2] != nil {
			os, err := intsOf(in[2], "output_shape")
			if err != nil || len(os) != len(dims) || os[0] != dims[0] || os[1] != dims[1] {
				return nil, fmt.Errorf("output_shape must list %d dimensions starting %v", len(dims), dims[:2])
			}
			dims = os
		}
		w, err := elemWidth(x.DType)
		if err != nil {
			return nil, err
		}
		y, err := e.zeros(x.DType, dims)
		if err != nil {
			return nil, err
		}
		total := int64(numel(def))
		idx, err := intsOf(it, "indices")
		if err != nil {
			return nil, err
		}
		dst := strides(dims)
		for i, p := range idx {
			if p < 0 || p >= total {
				return nil, fmt.Errorf("index %d is out of range for output %v", p, def)
			}
			off := 0
			for k := len(def) - 1; k >= 0; k-- {
				c := p % def[k]
				p /= def[k]
				if c >= dims[k] {
					return nil, fmt.Errorf("index lands outside output_shape %v", dims)
				}
				off += int(c) * dst[k]
			}
			copyElem(y.Data, off, x.Data, i, w)
		}
		return []*ir.Tensor{y}, nil
	}), nil
}

// det computes determinants of the trailing square matrices by LU
// decomposition with partial pivoting, in float64.
func det(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := needInputs(in, 1); err != nil {
		return nil, err
	}
	x := in[0]
	r := len(x.Dims)
	if r < 2 || x.Dims[r-1] != x.Dims[r-2] || !x.DType.IsFloat() {
		return nil, fmt.Errorf("input must hold float square matrices, is %s%v", x.DType, x.Dims)
	}
	n := int(x.Dims[r-1])
	v := x.Float64s()
	mats := numel(x.Dims[:r-2])
	res := make([]float64, mats)
	a := make([]float64, n*n)
	for m := 0; m < mats; m++ {
		copy(a, v[m*n*n:(m+1)*n*n])
		d := 1.0
		for c := 0; c < n; c++ {
			p := c
			for i := c + 1; i < n; i++ {
				if math.Abs(a[i*n+c]) > math.Abs(a[p*n+c]) {
					p = i
				}
			}
			if a[p*n+c] == 0 {
				d = 0
				break
			}
			if p != c {
				for j := 0; j < n; j++ {
					a[p*n+j], a[c*n+j] = a[c*n+j], a[p*n+j]
				}
				d = -d
			}
			d *= a[c*n+c]
			for i := c + 1; i < n; i++ {
				f := a[i*n+c] / a[c*n+c]
				for j := c; j < n; j++ {
					a[i*n+j] -= f * a[c*n+j]
				}
			}
		}
		res[m] = d
	}
	y, err := fromFloat64s(e, x.DType, x.Dims[:r-2], res)
	return []*ir.Tensor{y}, err
}
