package quant

import (
	"fmt"
	"math"

	"github.com/nncc/nncc/ir"
)

// Methods of choosing an activation range from what was observed.
const (
	MinMax     = "minmax"     // the observed minimum and maximum
	Percentile = "percentile" // clip both tails at a percentile of the values
	Entropy    = "entropy"    // the threshold whose 128-level quantization best keeps the distribution (KL divergence)
	MSE        = "mse"        // the range that minimises the expected squared quantization error
)

// Methods lists the calibration methods.
var Methods = []string{MinMax, Percentile, Entropy, MSE}

// histBins is the number of histogram bins over [-a, a]; folding the two
// halves gives the 2048-bin histogram of |x| that the entropy search uses.
const histBins = 4096

// Observer accumulates what a tensor held over the calibration samples,
// in memory independent of their number: the minimum and maximum, and
// (for the histogram methods) a fixed histogram over a symmetric range
// known beforehand from a min/max pass.
type Observer struct {
	Min, Max float64
	N        int64
	// Hist counts values in histBins equal bins over [-Abs, Abs]; nil
	// for min/max observation.
	Hist []int64
	Abs  float64
}

// NewObserver returns an observer; abs > 0 asks for a histogram over
// [-abs, abs].
func NewObserver(abs float64) *Observer {
	o := &Observer{Min: math.Inf(1), Max: math.Inf(-1)}
	if abs > 0 {
		o.Hist = make([]int64, histBins)
		o.Abs = abs
	}
	return o
}

// Add observes xs. Order of calls does not change the result (counts and
// extremes are order-independent), so batches may arrive in any split.
func (o *Observer) Add(xs []float32) {
	lo, hi := o.Min, o.Max
	for _, x := range xs {
		f := float64(x)
		if f < lo {
			lo = f
		}
		if f > hi {
			hi = f
		}
	}
	o.Min, o.Max = lo, hi
	o.N += int64(len(xs))
	if o.Hist == nil {
		return
	}
	w := 2 * o.Abs / histBins
	for _, x := range xs {
		i := int((float64(x) + o.Abs) / w)
		if i < 0 {
			i = 0
		} else if i >= histBins {
			i = histBins - 1
		}
		o.Hist[i]++
	}
}

// Merge adds what p observed to o (both must have the same histogram
// range). Merging is exact: integer counts and extremes.
func (o *Observer) Merge(p *Observer) {
	o.Min, o.Max, o.N = math.Min(o.Min, p.Min), math.Max(o.Max, p.Max), o.N+p.N
	for i := range o.Hist {
		o.Hist[i] += p.Hist[i]
	}
}

// Range returns the float range to quantize to by method (pct is the
// percentile, e.g. 99.99, for Percentile; dt the integer type quantized
// to, which MSE measures the error in). The range always contains 0.
func (o *Observer) Range(method string, pct float64, dt ir.DType) (lo, hi float64, err error) {
	if o.N == 0 {
		return 0, 0, fmt.Errorf("quant: no values observed")
	}
	lo, hi = math.Min(o.Min, 0), math.Max(o.Max, 0)
	if method == MinMax || o.Hist == nil {
		if method != MinMax {
			return 0, 0, fmt.Errorf("quant: method %s needs a histogram", method)
		}
		return lo, hi, nil
	}
	var l, h float64
	switch method {
	case Percentile:
		l, h = o.percentile(pct)
	case Entropy:
		t := o.entropy()
		l, h = -t, t
	case MSE:
		l, h = o.mse(dt)
	default:
		return 0, 0, fmt.Errorf("quant: unknown calibration method %q", method)
	}
	return math.Max(lo, math.Min(l, 0)), math.Min(hi, math.Max(h, 0)), nil
}

func (o *Observer) binEdge(i int) float64 { return -o.Abs + 2*o.Abs*float64(i)/histBins }

// percentile clips each tail at (100-pct)/2 percent of the values... of
// the tail that holds values: a non-negative tensor keeps all of its
// clipping for the upper tail.
func (o *Observer) percentile(pct float64) (lo, hi float64) {
	tail := (100 - pct) / 100
	if o.Min < 0 && o.Max > 0 {
		tail /= 2
	}
	cut := int64(math.Floor(tail * float64(o.N)))
	var s int64
	lo = o.Min
	for i, c := range o.Hist {
		s += c
		if s > cut {
			lo = o.binEdge(i)
			break
		}
	}
	s = 0
	hi = o.Max
	for i := histBins - 1; i >= 0; i-- {
		s += o.Hist[i]
		if s > cut {
			hi = o.binEdge(i + 1)
			break
		}
	}
	return lo, hi
}

// absHist folds the histogram into histBins/2 bins of |x| over [0, Abs].
func (o *Observer) absHist() []float64 {
	half := histBins / 2
	a := make([]float64, half)
	for i := 0; i < half; i++ {
		a[i] = float64(o.Hist[half+i] + o.Hist[half-1-i])
	}
	return a
}

// entropy returns the threshold on |x| whose clipped distribution,
// quantized to 128 levels (256 for a one-signed tensor, all of whose
// levels fall on its side), diverges least (KL) from the observed one:
// the search TensorRT introduced for int8 calibration.
func (o *Observer) entropy() float64 {
	h := o.absHist()
	n := len(h)
	// The values at exactly zero (ReLU's clamped half) are exact at any
	// threshold; left in, their spike dominates the divergence.
	h[0] = 0
	levels := 128
	if o.Min >= 0 || o.Max <= 0 {
		levels = 256 // one-signed: every level falls on the one side
	}
	width := o.Abs / float64(n)
	best, bestKL := n, math.Inf(1)
	p := make([]float64, n)
	q := make([]float64, n)
	for i := levels; i <= n; i++ {
		copy(p, h[:i])
		outl := 0.0
		for _, c := range h[i:] {
			outl += c
		}
		p[i-1] += outl
		// Quantize h[:i] into levels groups, spreading each group's total
		// evenly over its non-empty bins.
		for j := range q[:i] {
			q[j] = 0
		}
		for g := 0; g < levels; g++ {
			s := g * i / levels
			e := (g + 1) * i / levels
			tot, nz := 0.0, 0
			for k := s; k < e; k++ {
				tot += h[k]
				if h[k] > 0 {
					nz++
				}
			}
			if nz == 0 {
				continue
			}
			for k := s; k < e; k++ {
				if h[k] > 0 {
					q[k] = tot / float64(nz)
				}
			}
		}
		kl := klDiv(p[:i], q[:i])
		if kl < bestKL {
			bestKL, best = kl, i
		}
	}
	return float64(best) * width
}

func klDiv(p, q []float64) float64 {
	ps, qs := 0.0, 0.0
	for i := range p {
		ps += p[i]
		qs += q[i]
	}
	if ps == 0 || qs == 0 {
		return math.Inf(1)
	}
	kl := 0.0
	for i := range p {
		if p[i] == 0 {
			continue
		}
		pi := p[i] / ps
		qi := q[i] / qs
		if qi == 0 {
			qi = 1e-12 // a populated bin the quantized histogram left empty
		}
		kl += pi * math.Log(pi/qi)
	}
	return kl
}

// mse returns the range, among shrinkings of the observed one, whose
// quantization to dt has the least expected squared error on
// the histogram (bin centres stand for their values).
func (o *Observer) mse(dt ir.DType) (lo, hi float64) {
	lo0, hi0 := math.Min(o.Min, 0), math.Max(o.Max, 0)
	bestLo, bestHi, best := lo0, hi0, math.Inf(1)
	for step := 100; step >= 20; step-- {
		f := float64(step) / 100
		l, h := lo0*f, hi0*f
		p := ActParams(l, h, dt)
		e := 0.0
		for i, c := range o.Hist {
			if c == 0 {
				continue
			}
			x := (o.binEdge(i) + o.binEdge(i+1)) / 2
			d := x - p.fake(x)
			e += float64(c) * d * d
		}
		if e < best {
			best, bestLo, bestHi = e, l, h
		}
	}
	return bestLo, bestHi
}
