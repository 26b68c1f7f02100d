package runtime

import (
	"fmt"

	"github.com/nncc/nncc/ir"
)

// Data-movement helpers shared by Transpose, Slice, Pad, Tile and
// Resize. They move elements by width, so one instance serves every
// dtype of that size.

// strides returns the row-major element strides of dims.
func strides(dims []int64) []int {
	st := make([]int, len(dims))
	acc := 1
	for i := len(dims) - 1; i >= 0; i-- {
		st[i] = acc
		acc *= int(dims[i])
	}
	return st
}

// gatherSpec describes an output built by reading, for each output
// coordinate (o_0..o_r-1), the input element at Σ m_k(o_k)·st[k], where
// m_k is maps[k] (identity when nil). A map entry of -1 marks an output
// position that takes the fill value instead.
type gatherSpec struct {
	odims []int
	st    []int
	maps  [][]int
}

// run performs the copy for tensors of element width w; fill is the raw
// little-endian fill value (nil for zero).
// apply gathers x into a new tensor of the given dims.
func (g *gatherSpec) apply(e *env, x *ir.Tensor, dims []int64) (*ir.Tensor, error) {
	y, err := e.alloc(x.DType, dims)
	if err != nil {
		return nil, err
	}
	if err := g.run(x, y, nil); err != nil {
		e.release(y)
		return nil, err
	}
	return y, nil
}

func (g *gatherSpec) run(x, y *ir.Tensor, fill []byte) error {
	w, err := elemWidth(x.DType)
	if err != nil {
		return err
	}
	switch w {
	case 1:
		gatherRun(g, view[uint8](x), view[uint8](y), fillWord[uint8](fill))
	case 2:
		gatherRun(g, view[uint16](x), view[uint16](y), fillWord[uint16](fill))
	case 4:
		gatherRun(g, view[uint32](x), view[uint32](y), fillWord[uint32](fill))
	case 8:
		gatherRun(g, view[uint64](x), view[uint64](y), fillWord[uint64](fill))
	}
	return nil
}

func fillWord[T wordT](b []byte) T {
	var v uint64
	for i := len(b) - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return T(v)
}

func gatherRun[T any](g *gatherSpec, x, d []T, fill T) {
	r := len(g.odims)
	if numelInts(g.odims) == 0 {
		return
	}
	if r == 0 {
		d[0] = x[0]
		return
	}
	pos := 0
	var rec func(k, off int)
	rec = func(k, off int) {
		n, s, m := g.odims[k], g.st[k], g.maps[k]
		if k == r-1 {
			row := d[pos : pos+n]
			pos += n
			switch {
			case m == nil && s == 1:
				copy(row, x[off:off+n])
			case m == nil:
				for i := range row {
					row[i] = x[off+i*s]
				}
			default:
				for i, j := range m {
					if j < 0 {
						row[i] = fill
					} else {
						row[i] = x[off+j*s]
					}
				}
			}
			return
		}
		for i := 0; i < n; i++ {
			j := i
			if m != nil {
				j = m[i]
			}
			if j < 0 {
				// The whole sub-block is padding.
				cnt := numelInts(g.odims[k+1:])
				row := d[pos : pos+cnt]
				for q := range row {
					row[q] = fill
				}
				pos += cnt
				continue
			}
			rec(k+1, off+j*s)
		}
	}
	rec(0, 0)
}

func numelInts(d []int) int {
	n := 1
	for _, v := range d {
		n *= v
	}
	return n
}

// intsOf reads an integer tensor (int32 or int64) as int64s.
func intsOf(t *ir.Tensor, what string) ([]int64, error) {
	if t == nil {
		return nil, fmt.Errorf("%s is missing", what)
	}
	switch t.DType {
	case ir.Int64, ir.Int32, ir.Int16, ir.Int8, ir.Uint8, ir.Uint16, ir.Uint32, ir.Uint64:
		return t.Int64s(), nil
	}
	return nil, fmt.Errorf("%s must be an integer tensor, not %s", what, t.DType)
}

// transposeTensor permutes the axes of x.
func transposeTensor(e *env, x *ir.Tensor, perm []int) (*ir.Tensor, error) {
	r := len(x.Dims)
	if len(perm) != r {
		return nil, fmt.Errorf("perm %v does not match rank %d", perm, r)
	}
	seen := make([]bool, r)
	for _, p := range perm {
		if p < 0 || p >= r || seen[p] {
			return nil, fmt.Errorf("perm %v is not a permutation", perm)
		}
		seen[p] = true
	}
	st := strides(x.Dims)
	odims := make([]int64, r)
	g := &gatherSpec{}
	for k, p := range perm {
		odims[k] = x.Dims[p]
		// Output dims that are consecutive input dims move as one.
		if k > 0 && p == perm[k-1]+1 {
			last := len(g.odims) - 1
			g.odims[last] *= int(x.Dims[p])
			g.st[last] = st[p]
			continue
		}
		g.odims = append(g.odims, int(x.Dims[p]))
		g.st = append(g.st, st[p])
	}
	g.maps = make([][]int, len(g.odims))
	return g.apply(e, x, odims)
}
