package kernels

import (
	"fmt"
	"math"
)

// Row reductions: the last axes of a tensor as rows of a matrix, for
// GlobalAveragePool and ReduceMean/Sum/Max/Min over trailing axes. Sums
// accumulate in float32 over many partial sums (vector lanes, and four
// vectors at a time), as onnxruntime does.

// rowsGrain is the number of elements below which a reduction is not
// split across threads.
const rowsGrain = 1 << 15

// SumRows sets dst[r] = scale · Σ_j x[r·cols + j] for r < len(dst):
// scale 1 for a sum, 1/cols for a mean. Rows are split across threads.
func SumRows(dst, x []float32, cols int, scale float32) {
	checkRows("SumRows", len(dst), cols, x)
	forRows(rowsArgs{dst: dst, x: x, cols: cols, scale: scale}, func(a *rowsArgs, r0, r1 int) {
		for r := r0; r < r1; r++ {
			a.dst[r] = a.scale * rowSum(a.x[r*a.cols:(r+1)*a.cols])
		}
	})
}

// MaxRows sets dst[r] to the largest of row r (NaN if the row holds
// one; -Inf for empty rows). MinRows is the same with the smallest.
func MaxRows(dst, x []float32, cols int) { extremeRows("MaxRows", dst, x, cols, true) }

// MinRows sets dst[r] to the smallest of row r (see MaxRows).
func MinRows(dst, x []float32, cols int) { extremeRows("MinRows", dst, x, cols, false) }

func extremeRows(fn string, dst, x []float32, cols int, isMax bool) {
	checkRows(fn, len(dst), cols, x)
	forRows(rowsArgs{dst: dst, x: x, cols: cols, isMax: isMax}, func(a *rowsArgs, r0, r1 int) {
		dst, x, cols := a.dst, a.x, a.cols
		for r := r0; r < r1; r++ {
			if a.isMax {
				dst[r] = rowMax(x[r*cols : (r+1)*cols])
			} else {
				dst[r] = rowMin(x[r*cols : (r+1)*cols])
			}
		}
	})
}

func checkRows(fn string, rows, cols int, x []float32) {
	if cols < 0 || len(x) < rows*cols {
		panic(fmt.Sprintf("kernels: %s: len(x)=%d, want ≥ %d×%d", fn, len(x), rows, cols))
	}
}

// rowsArgs are a row reduction's arguments; f, the function of them
// that reduces a range of rows, captures nothing (see forArgs).
type rowsArgs struct {
	dst, x []float32
	cols   int
	scale  float32
	isMax  bool
	f      func(a *rowsArgs, r0, r1 int)
	parts  int
}

var rowsLoops argsPool[rowsArgs]

// forRows runs a.f on ranges of a.dst's rows, on several threads when the
// rows hold enough elements.
func forRows(a rowsArgs, f func(a *rowsArgs, r0, r1 int)) {
	rows := len(a.dst)
	threads := max(1, min(Threads(), rows, rows*a.cols/rowsGrain))
	a.f, a.parts = f, threads
	forArgs(&rowsLoops, threads, threads, a, func(a *rowsArgs, _, t int) {
		rows := len(a.dst)
		a.f(a, t*rows/a.parts, (t+1)*rows/a.parts)
	})
}

// rowSumGo is the portable sum, in eight partial sums.
func rowSumGo(x []float32) float32 {
	var s [8]float32
	i := 0
	for ; i+8 <= len(x); i += 8 {
		v := x[i : i+8 : i+8]
		s[0] += v[0]
		s[1] += v[1]
		s[2] += v[2]
		s[3] += v[3]
		s[4] += v[4]
		s[5] += v[5]
		s[6] += v[6]
		s[7] += v[7]
	}
	for ; i < len(x); i++ {
		s[0] += x[i]
	}
	return (s[0] + s[1]) + (s[2] + s[3]) + ((s[4] + s[5]) + (s[6] + s[7]))
}

// rowMax returns the largest of x, NaN if x holds one, -Inf if empty.
func rowMax(x []float32) float32 {
	var m [4]float32
	for k := range m {
		m[k] = float32(math.Inf(-1))
	}
	i := 0
	for ; i+4 <= len(x); i += 4 {
		v := x[i : i+4 : i+4]
		for k := 0; k < 4; k++ {
			m[k] = max(m[k], v[k]) // the builtin propagates NaN
		}
	}
	for ; i < len(x); i++ {
		m[0] = max(m[0], x[i])
	}
	return max(max(m[0], m[1]), max(m[2], m[3]))
}

// rowMin returns the smallest of x, NaN if x holds one, +Inf if empty.
func rowMin(x []float32) float32 {
	var m [4]float32
	for k := range m {
		m[k] = float32(math.Inf(1))
	}
	i := 0
	for ; i+4 <= len(x); i += 4 {
		v := x[i : i+4 : i+4]
		for k := 0; k < 4; k++ {
			m[k] = min(m[k], v[k])
		}
	}
	for ; i < len(x); i++ {
		m[0] = min(m[0], x[i])
	}
	return min(min(m[0], m[1]), min(m[2], m[3]))
}
