package runtime

import (
	"fmt"
	"math"

	"github.com/nncc/nncc/ir"
)

// GridSample (opset 16: 2-D, modes bilinear/nearest/bicubic; opset 20:
// any rank, modes linear/nearest/cubic), computed in float64.

func init() {
	register("GridSample", 16, buildGridSample)
}

type gridSampleKernel struct {
	mode    string // nearest, linear, cubic
	padding string // zeros, border, reflection
	align   bool
	opset   int64
}

func buildGridSample(b *buildCtx) (kernel, error) {
	k := &gridSampleKernel{padding: b.n.AttrString("padding_mode", "zeros"), align: b.n.AttrInt("align_corners", 0) != 0, opset: b.opset}
	def := "linear"
	if b.opset < 20 {
		def = "bilinear"
	}
	switch mode := b.n.AttrString("mode", def); {
	case mode == "nearest":
		k.mode = mode
	case mode == "bilinear" && b.opset < 20, mode == "linear" && b.opset >= 20:
		k.mode = "linear"
	case mode == "bicubic" && b.opset < 20, mode == "cubic" && b.opset >= 20:
		k.mode = "cubic"
	default:
		return nil, fmt.Errorf("mode %q is not valid at opset %d", mode, b.opset)
	}
	switch k.padding {
	case "zeros", "border", "reflection":
	default:
		return nil, fmt.Errorf("unknown padding_mode %q", k.padding)
	}
	return k, nil
}

// reflect folds x into [lo, hi] by reflecting at the borders.
func reflect(x, lo, hi float64) float64 {
	rng := hi - lo
	if rng <= 0 {
		return lo
	}
	switch {
	case x < lo:
		d := lo - x
		n := math.Floor(d / rng)
		r := d - n*rng
		if int64(n)%2 == 0 {
			return lo + r
		}
		return hi - r
	case x > hi:
		d := x - hi
		n := math.Floor(d / rng)
		r := d - n*rng
		if int64(n)%2 == 0 {
			return hi - r
		}
		return lo + r
	}
	return x
}

func (k *gridSampleKernel) run(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := needInputs(in, 2); err != nil {
		return nil, err
	}
	x, grid := in[0], in[1]
	nd := len(x.Dims) - 2
	if nd < 1 || k.opset < 20 && nd != 2 || len(grid.Dims) != nd+2 || grid.Dims[0] != x.Dims[0] || grid.Dims[nd+1] != int64(nd) {
		return nil, fmt.Errorf("X %v and grid %v do not fit", x.Dims, grid.Dims)
	}
	if !x.DType.IsFloat() || !grid.DType.IsFloat() {
		return nil, fmt.Errorf("X and grid must be float")
	}
	N, C := int(x.Dims[0]), int(x.Dims[1])
	in3 := make([]int, nd)
	for i := range in3 {
		in3[i] = int(x.Dims[2+i])
	}
	outSp := grid.Dims[1 : nd+1]
	ydims := append([]int64{int64(N), int64(C)}, outSp...)
	xv, gv := x.Float64s(), grid.Float64s()
	res := make([]float64, numel(ydims))
	plane, opl := numel(x.Dims[2:]), numel(outSp)
	ist := strides(x.Dims[2:])
	// Per output point and dimension: taps (index or -1 for a zero) and
	// weights.
	type tap struct {
		idx []int
		w   []float64
	}
	taps := make([]tap, nd)
	for n := 0; n < N; n++ {
		for o := 0; o < opl; o++ {
			g := gv[(n*opl+o)*nd : (n*opl+o+1)*nd]
			for i := 0; i < nd; i++ {
				d := in3[i]
				v := g[nd-1-i] // the grid lists coordinates innermost first
				var c float64
				if k.align {
					c = (v + 1) / 2 * float64(d-1)
				} else {
					c = ((v+1)*float64(d) - 1) / 2
				}
				lo, hi := -0.5, float64(d)-0.5
				if k.align {
					lo, hi = 0, float64(d-1)
				}
				if k.mode == "nearest" {
					if nd == 3 {
						c = math.Round(c) // half away from zero, as PyTorch's 3-D
					} else {
						c = math.RoundToEven(c)
					}
				}
				// Out-of-range coordinates move inside first, except for
				// cubic, whose taps are each moved (as PyTorch and
				// onnxruntime do).
				if (c < lo || c > hi) && k.mode != "cubic" {
					switch k.padding {
					case "border":
						c = min(max(c, 0), float64(d-1))
					case "reflection":
						c = reflect(c, lo, hi)
					}
				}
				pixel := func(j int) int {
					switch k.padding {
					case "zeros":
						if j < 0 || j >= d {
							return -1
						}
					case "border":
						j = min(max(j, 0), d-1)
					case "reflection":
						j = int(reflect(float64(j), lo, hi))
						j = min(max(j, 0), d-1)
					}
					return j
				}
				t := &taps[i]
				t.idx, t.w = t.idx[:0], t.w[:0]
				switch k.mode {
				case "nearest":
					t.idx, t.w = append(t.idx, pixel(int(c))), append(t.w, 1)
				case "linear":
					j := math.Floor(c)
					f := c - j
					t.idx = append(t.idx, pixel(int(j)), pixel(int(j)+1))
					t.w = append(t.w, 1-f, f)
				case "cubic":
					j := math.Floor(c)
					f := c - j
					for q := -1; q <= 2; q++ {
						t.idx = append(t.idx, pixel(int(j)+q))
						t.w = append(t.w, cubicWeight(f-float64(q), -0.75))
					}
				}
			}
			for ch := 0; ch < C; ch++ {
				src := xv[(n*C+ch)*plane:]
				var rec func(i, off int, w float64) float64
				rec = func(i, off int, w float64) float64 {
					if i == nd {
						return w * src[off]
					}
					var s float64
					for q, j := range taps[i].idx {
						if j >= 0 && taps[i].w[q] != 0 {
							s += rec(i+1, off+j*ist[i], w*taps[i].w[q])
						}
					}
					return s
				}
				res[(n*C+ch)*opl+o] = rec(0, 0, 1)
			}
		}
	}
	y, err := fromFloat64s(e, x.DType, ydims, res)
	return []*ir.Tensor{y}, err
}
