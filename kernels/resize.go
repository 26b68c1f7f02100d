package kernels

import (
	"fmt"
	"math"
)

// ResizeTaps are the interpolation taps of one resized axis: output
// index o reads input indices Idx[o·N : (o+1)·N] with weights W[...].
type ResizeTaps struct {
	N   int
	Idx []int32
	W   []float32
}

func (t *ResizeTaps) check(fn string, in int) int {
	if t.N < 1 || len(t.Idx)%t.N != 0 || len(t.W) != len(t.Idx) {
		panic(fmt.Sprintf("kernels: %s: %d taps of %d indices and %d weights", fn, t.N, len(t.Idx), len(t.W)))
	}
	for _, i := range t.Idx {
		if i < 0 || int(i) >= in {
			panic(fmt.Sprintf("kernels: %s: tap index %d outside [0, %d)", fn, i, in))
		}
	}
	return len(t.Idx) / t.N
}

// negZero is −0, the float32 identity of addition.
var negZero = float32(math.Copysign(0, -1))

// resizeRowBlock is the number of output rows per work item.
const resizeRowBlock = 16

// resizeArgs are the arguments of a resize's loop over blocks of rows
// (see forArgs): index tables for nearest, taps for the others.
type resizeArgs struct {
	x, y                      []float32
	H, W, OH, OW, blocks, rep int
	rowIdx, colIdx            []int32
	rows, cols                *ResizeTaps
}

var resizeLoops argsPool[resizeArgs]

// ResizeNearest2D resamples planes H×W planes of x into y (planes of
// len(rows) × len(cols)): y[p, o, j] = x[p, rows[o], cols[j]]. An output
// row whose source row is the previous one's is copied from it, and
// columns repeated an integer number of times are written as runs, so
// upsampling is mostly copying. Work is split across threads by blocks
// of rows.
func ResizeNearest2D(x, y []float32, planes, H, W int, rows, cols []int32) {
	OH, OW := len(rows), len(cols)
	checkResize("ResizeNearest2D", x, y, planes, H, W, OH, OW)
	for _, i := range rows {
		if i < 0 || int(i) >= H {
			panic(fmt.Sprintf("kernels: ResizeNearest2D: row %d outside [0, %d)", i, H))
		}
	}
	rep := 0 // cols[j] = j / rep for every j
	if OW%W == 0 {
		rep = OW / W
		for j, c := range cols {
			if int(c) != j/rep {
				rep = 0
				break
			}
		}
	}
	for _, c := range cols {
		if c < 0 || int(c) >= W {
			panic(fmt.Sprintf("kernels: ResizeNearest2D: column %d outside [0, %d)", c, W))
		}
	}
	blocks := (OH + resizeRowBlock - 1) / resizeRowBlock
	n := planes * blocks
	threads := min(Threads(), max(1, planes*OH*OW/rowsGrain))
	args := resizeArgs{x: x, y: y, H: H, W: W, blocks: blocks, rep: rep, rowIdx: rows, colIdx: cols}
	forArgs(&resizeLoops, n, threads, args, func(a *resizeArgs, _, it int) {
		x, y, H, W, blocks, rep, rows, cols := a.x, a.y, a.H, a.W, a.blocks, a.rep, a.rowIdx, a.colIdx
		OH, OW := len(rows), len(cols)
		p, b := it/blocks, it%blocks
		xp := x[p*H*W : (p+1)*H*W]
		yp := y[p*OH*OW : (p+1)*OH*OW]
		for o := b * resizeRowBlock; o < min(OH, (b+1)*resizeRowBlock); o++ {
			dst := yp[o*OW : (o+1)*OW]
			if o > b*resizeRowBlock && rows[o] == rows[o-1] {
				copy(dst, yp[(o-1)*OW:o*OW])
				continue
			}
			src := xp[int(rows[o])*W : int(rows[o])*W+W]
			switch rep {
			case 1:
				copy(dst, src)
			case 2:
				// x + (−0) is x for every x (−0 and NaNs included), so
				// this is an exact copy into both halves.
				interleave2(dst, src, src, negZero)
			case 0:
				for j, c := range cols {
					dst[j] = src[c]
				}
			default:
				for j, v := range src {
					run := dst[j*rep : (j+1)*rep]
					for k := range run {
						run[k] = v
					}
				}
			}
		}
	})
}

// Resize2D resamples planes H×W planes of x into y by separable
// interpolation (linear, cubic, antialiased): each output row is the
// rows taps' weighted sum of input rows, each interpolated along the
// row by the cols taps, in float32. Interpolated input rows are kept in
// a small cache, so that output rows sharing input rows (upsampling)
// interpolate them once. Work is split across threads by blocks of rows.
func Resize2D(x, y []float32, planes, H, W int, rows, cols *ResizeTaps) {
	OH, OW := rows.check("Resize2D", H), cols.check("Resize2D", W)
	checkResize("Resize2D", x, y, planes, H, W, OH, OW)
	blocks := (OH + resizeRowBlock - 1) / resizeRowBlock
	n := planes * blocks
	threads := min(Threads(), max(1, planes*OH*OW/rowsGrain))
	args := resizeArgs{x: x, y: y, H: H, W: W, OH: OH, OW: OW, blocks: blocks, rows: rows, cols: cols}
	forArgs(&resizeLoops, n, threads, args, func(a *resizeArgs, _, it int) {
		x, y, H, W, OH, OW, blocks, rows, cols := a.x, a.y, a.H, a.W, a.OH, a.OW, a.blocks, a.rows, a.cols
		slots := 2 * rows.N
		p, b := it/blocks, it%blocks
		xp := x[p*H*W : (p+1)*H*W]
		yp := y[p*OH*OW : (p+1)*OH*OW]
		sp := getPadded(slots * OW)
		defer padPool.Put(sp)
		cache := *sp
		// Slot s holds input row keys[s], last read for output row
		// used[s]; a miss takes the least recently read slot, never one
		// the current output row reads (there are 2·N slots).
		var keyBuf, usedBuf [16]int
		keys, used := keyBuf[:0], usedBuf[:0]
		if slots > len(keyBuf) {
			keys, used = make([]int, 0, slots), make([]int, 0, slots)
		}
		for range slots {
			keys, used = append(keys, -1), append(used, -1)
		}
		o := 0
		// hrow returns input row i interpolated along the row.
		hrow := func(i int) []float32 {
			victim := 0
			for s, k := range keys {
				if k == i {
					used[s] = o
					return cache[s*OW : (s+1)*OW]
				}
				if used[s] < used[victim] {
					victim = s
				}
			}
			keys[victim], used[victim] = i, o
			h := cache[victim*OW : (victim+1)*OW]
			resizeRow(h, xp[i*W:(i+1)*W], cols)
			return h
		}
		for o = b * resizeRowBlock; o < min(OH, (b+1)*resizeRowBlock); o++ {
			dst := yp[o*OW : (o+1)*OW]
			ri, rw := rows.Idx[o*rows.N:(o+1)*rows.N], rows.W[o*rows.N:(o+1)*rows.N]
			if rows.N == 2 && rw[0] != 0 && rw[1] != 0 {
				h0, h1 := hrow(int(ri[0])), hrow(int(ri[1]))
				h0, h1 = h0[:len(dst)], h1[:len(dst)]
				w0, w1 := rw[0], rw[1]
				for j := range dst {
					dst[j] = w0*h0[j] + w1*h1[j]
				}
				continue
			}
			clear(dst)
			for q, wr := range rw {
				if wr == 0 {
					continue
				}
				h := hrow(int(ri[q]))[:len(dst)]
				for j, v := range h {
					dst[j] += wr * v
				}
			}
		}
	})
}

// resizeRow interpolates the input row src along the row into h.
func resizeRow(h, src []float32, cols *ResizeTaps) {
	nc := cols.N
	if nc == 2 {
		ci, cw := cols.Idx[:2*len(h)], cols.W[:2*len(h)]
		for j := range h {
			h[j] = cw[2*j]*src[ci[2*j]] + cw[2*j+1]*src[ci[2*j+1]]
		}
		return
	}
	for j := range h {
		var s float32
		for k := 0; k < nc; k++ {
			s += cols.W[j*nc+k] * src[cols.Idx[j*nc+k]]
		}
		h[j] = s
	}
}

func checkResize(fn string, x, y []float32, planes, H, W, OH, OW int) {
	if planes < 0 || H < 1 || W < 1 || len(x) < planes*H*W || len(y) < planes*OH*OW {
		panic(fmt.Sprintf("kernels: %s: %d planes %d×%d → %d×%d with len(x)=%d, len(y)=%d", fn, planes, H, W, OH, OW, len(x), len(y)))
	}
}
