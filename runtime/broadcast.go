package runtime

import "fmt"

// broadcastShape returns the numpy-style broadcast of shapes: ranks are
// aligned on the right and each dimension must be equal or 1.
func broadcastShape(shapes ...[]int64) ([]int64, error) {
	rank := 0
	for _, s := range shapes {
		rank = max(rank, len(s))
	}
	out := make([]int64, rank)
	for i := range out {
		out[i] = 1
	}
	for _, s := range shapes {
		off := rank - len(s)
		for i, d := range s {
			o := out[off+i]
			switch {
			case d == o || d == 1:
			case o == 1:
				out[off+i] = d
			default:
				return nil, fmt.Errorf("shapes %v are not broadcastable", shapes)
			}
		}
	}
	return out, nil
}

// bcast walks an output shape together with inputs broadcast to it.
// Dimensions that can be merged are collapsed, so the walk visits runs of
// inner elements where each input advances by 1 (it has that dimension)
// or 0 (it is broadcast along it).
type bcast struct {
	dims    []int   // collapsed output dims, outermost first
	strides [][]int // per input, per collapsed dim: element stride or 0
	n       int     // output elements
}

func newBcast(out []int64, ins ...[]int64) *bcast {
	r := len(out)
	// Full-rank strides per input.
	full := make([][]int, len(ins))
	for k, s := range ins {
		st := make([]int, r)
		acc := 1
		for i := len(s) - 1; i >= 0; i-- {
			oi := r - len(s) + i
			if s[i] != 1 || out[oi] == 1 {
				st[oi] = acc
			}
			acc *= int(s[i])
		}
		full[k] = st
	}
	b := &bcast{n: numel(out), strides: make([][]int, len(ins))}
	// Drop size-1 dims, then merge neighbours whose strides chain.
	for i := 0; i < r; i++ {
		d := int(out[i])
		if d == 1 {
			continue
		}
		if len(b.dims) > 0 {
			last := len(b.dims) - 1
			ok := true
			for k := range ins {
				if b.strides[k][last] != full[k][i]*d {
					ok = false
					break
				}
			}
			if ok {
				b.dims[last] *= d
				for k := range ins {
					b.strides[k][last] = full[k][i]
				}
				continue
			}
		}
		b.dims = append(b.dims, d)
		for k := range ins {
			b.strides[k] = append(b.strides[k], full[k][i])
		}
	}
	if len(b.dims) == 0 {
		b.dims = []int{1}
		for k := range ins {
			b.strides[k] = []int{0}
		}
	}
	return b
}

// inner returns the length of the innermost run and each input's stride
// (0 or 1) along it.
func (b *bcast) inner() int { return b.dims[len(b.dims)-1] }

// each calls f for every innermost run with the output offset and the
// offsets of each input. offs is reused between calls.
func (b *bcast) each(f func(o int, offs []int)) {
	if b.n == 0 {
		return
	}
	nd := len(b.dims)
	inner := b.dims[nd-1]
	offs := make([]int, len(b.strides))
	idx := make([]int, nd)
	for o := 0; o < b.n; o += inner {
		f(o, offs)
		// Advance the odometer over the outer dims.
		for d := nd - 2; d >= 0; d-- {
			idx[d]++
			for k := range offs {
				offs[k] += b.strides[k][d]
			}
			if idx[d] < b.dims[d] {
				break
			}
			for k := range offs {
				offs[k] -= b.strides[k][d] * b.dims[d]
			}
			idx[d] = 0
		}
	}
}

// innerStride returns input k's stride along the innermost run.
func (b *bcast) innerStride(k int) int { return b.strides[k][len(b.dims)-1] }

// binaryMap applies f elementwise with broadcasting: d[i] = f(x[.], y[.]).
func binaryMap[A, B, C any](b *bcast, x []A, y []B, d []C, f func(A, B) C) {
	sx, sy := b.innerStride(0), b.innerStride(1)
	n := b.inner()
	b.each(func(o int, offs []int) {
		dd := d[o : o+n]
		xo, yo := offs[0], offs[1]
		switch {
		case sx == 1 && sy == 1:
			xx, yy := x[xo:xo+n], y[yo:yo+n]
			for i := range dd {
				dd[i] = f(xx[i], yy[i])
			}
		case sx == 1:
			xx, v := x[xo:xo+n], y[yo]
			for i := range dd {
				dd[i] = f(xx[i], v)
			}
		case sy == 1:
			v, yy := x[xo], y[yo:yo+n]
			for i := range dd {
				dd[i] = f(v, yy[i])
			}
		default:
			v := f(x[xo], y[yo])
			for i := range dd {
				dd[i] = v
			}
		}
	})
}

// expandTo copies x (shape xs) broadcast to the output shape into d.
func expandTo[T any](b *bcast, x []T, d []T) {
	sx := b.innerStride(0)
	n := b.inner()
	b.each(func(o int, offs []int) {
		dd := d[o : o+n]
		if sx == 1 {
			copy(dd, x[offs[0]:offs[0]+n])
		} else {
			v := x[offs[0]]
			for i := range dd {
				dd[i] = v
			}
		}
	})
}
