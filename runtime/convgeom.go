package runtime

import (
	"fmt"

	"github.com/nncc/nncc/ir"
)

// convGeom is the resolved geometry of a convolution or pooling window
// over nd spatial dimensions.
type convGeom struct {
	in, kernel, out    []int // spatial sizes
	strides, dilations []int
	padBegin, padEnd   []int
	inPlane, outPlane  int // elements per channel plane
	kernelSize         int // product of kernel
}

// windowAttrs are the attributes Conv, ConvInteger, QLinearConv and the
// pooling operators share.
type windowAttrs struct {
	autoPad   string
	kernel    []int64 // kernel_shape (may be nil for Conv)
	strides   []int64
	dilations []int64
	pads      []int64
	ceilMode  bool
}

func parseWindowAttrs(n *ir.Node) (*windowAttrs, error) {
	w := &windowAttrs{
		autoPad:   n.AttrString("auto_pad", "NOTSET"),
		kernel:    n.AttrInts("kernel_shape"),
		strides:   n.AttrInts("strides"),
		dilations: n.AttrInts("dilations"),
		pads:      n.AttrInts("pads"),
		ceilMode:  n.AttrInt("ceil_mode", 0) != 0,
	}
	switch w.autoPad {
	case "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID":
	default:
		return nil, fmt.Errorf("unknown auto_pad %q", w.autoPad)
	}
	return w, nil
}

// resolve computes the geometry for input spatial dims in and kernel
// dims k (from the weights, or kernel_shape for pooling).
func (w *windowAttrs) resolve(in, k []int64) (*convGeom, error) {
	nd := len(in)
	if len(k) != nd {
		return nil, fmt.Errorf("kernel %v does not match %d spatial dimensions", k, nd)
	}
	if w.kernel != nil && len(w.kernel) != nd {
		return nil, fmt.Errorf("kernel_shape %v does not match %d spatial dimensions", w.kernel, nd)
	}
	get := func(v []int64, i int, def int64, what string) (int, error) {
		if v == nil {
			return int(def), nil
		}
		if len(v) != nd {
			return 0, fmt.Errorf("%s %v does not match %d spatial dimensions", what, v, nd)
		}
		return int(v[i]), nil
	}
	g := &convGeom{inPlane: 1, outPlane: 1, kernelSize: 1}
	if w.pads != nil && len(w.pads) != 2*nd {
		return nil, fmt.Errorf("pads %v do not match %d spatial dimensions", w.pads, nd)
	}
	for i := 0; i < nd; i++ {
		s, err := get(w.strides, i, 1, "strides")
		if err != nil {
			return nil, err
		}
		d, err := get(w.dilations, i, 1, "dilations")
		if err != nil {
			return nil, err
		}
		if s < 1 || d < 1 || k[i] < 1 || in[i] < 0 {
			return nil, fmt.Errorf("invalid window: input %v, kernel %v, strides %v, dilations %v", in, k, w.strides, w.dilations)
		}
		size, kk := int(in[i]), int(k[i])
		ext := (kk-1)*d + 1
		var pb, pe, out int
		switch w.autoPad {
		case "VALID":
			out = ceilDiv(size-ext+1, s)
		case "SAME_UPPER", "SAME_LOWER":
			out = ceilDiv(size, s)
			total := max((out-1)*s+ext-size, 0)
			if w.autoPad == "SAME_UPPER" {
				pb = total / 2
			} else {
				pb = total - total/2
			}
			pe = total - pb
		default:
			if w.pads != nil {
				pb, pe = int(w.pads[i]), int(w.pads[i+nd])
			}
			if pb < 0 || pe < 0 {
				return nil, fmt.Errorf("negative pads %v", w.pads)
			}
			span := size + pb + pe - ext
			if span < 0 {
				return nil, fmt.Errorf("kernel %v (dilated) is larger than the padded input %v", k, in)
			}
			if w.ceilMode {
				out = ceilDiv(span, s) + 1
				// The last window must start inside the input or the
				// leading padding.
				if (out-1)*s >= size+pb {
					out--
				}
			} else {
				out = span/s + 1
			}
		}
		if out < 0 {
			out = 0
		}
		g.in = append(g.in, size)
		g.kernel = append(g.kernel, kk)
		g.out = append(g.out, out)
		g.strides = append(g.strides, s)
		g.dilations = append(g.dilations, d)
		g.padBegin = append(g.padBegin, pb)
		g.padEnd = append(g.padEnd, pe)
		g.inPlane *= size
		g.outPlane *= out
		g.kernelSize *= kk
	}
	return g, nil
}

func ceilDiv(a, b int) int {
	if a <= 0 {
		return 0
	}
	return (a + b - 1) / b
}

// outDims returns (N, C, out...) as int64s.
func (g *convGeom) outDims(n, c int64) []int64 {
	d := []int64{n, c}
	for _, o := range g.out {
		d = append(d, int64(o))
	}
	return d
}

// kernelMaps returns, for each kernel position (row-major over the
// kernel dims), the per-dimension maps from output position to input
// position (-1 where the window reads padding). They drive im2col.
func (g *convGeom) kernelMaps() [][][]int {
	nd := len(g.in)
	res := make([][][]int, g.kernelSize)
	kp := make([]int, nd)
	for idx := 0; idx < g.kernelSize; idx++ {
		maps := make([][]int, nd)
		for k := 0; k < nd; k++ {
			m := make([]int, g.out[k])
			for o := range m {
				i := o*g.strides[k] - g.padBegin[k] + kp[k]*g.dilations[k]
				if i < 0 || i >= g.in[k] {
					i = -1
				}
				m[o] = i
			}
			maps[k] = m
		}
		res[idx] = maps
		for k := nd - 1; k >= 0; k-- {
			kp[k]++
			if kp[k] < g.kernel[k] {
				break
			}
			kp[k] = 0
		}
	}
	return res
}

// im2col fills cols ((channels·kernelSize) × outPlane) from channels
// planes of x, using pad for positions in the padding.
func im2col[T any](g *convGeom, maps [][][]int, x []T, channels int, cols []T, pad T) {
	nd := len(g.in)
	spec := &gatherSpec{odims: g.out, st: make([]int, nd)}
	acc := 1
	for k := nd - 1; k >= 0; k-- {
		spec.st[k] = acc
		acc *= g.in[k]
	}
	row := 0
	for c := 0; c < channels; c++ {
		plane := x[c*g.inPlane : (c+1)*g.inPlane]
		for _, m := range maps {
			spec.maps = m
			gatherRun(spec, plane, cols[row*g.outPlane:(row+1)*g.outPlane], pad)
			row++
		}
	}
}

// isPointwise reports whether the window is 1×…×1 with unit strides and
// no padding, so the input planes are already the im2col matrix.
func (g *convGeom) isPointwise() bool {
	for k := range g.in {
		if g.kernel[k] != 1 || g.strides[k] != 1 || g.padBegin[k] != 0 || g.padEnd[k] != 0 {
			return false
		}
	}
	return true
}
