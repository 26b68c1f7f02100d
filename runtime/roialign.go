package runtime

import (
	"fmt"
	"math"

	"github.com/nncc/nncc/ir"
)

func init() {
	register("RoiAlign", 10, buildRoiAlign)
}

type roiAlignKernel struct {
	max       bool
	oh, ow    int
	sampling  int
	scale     float64
	halfPixel bool
}

func buildRoiAlign(b *buildCtx) (kernel, error) {
	k := &roiAlignKernel{
		oh:       int(b.n.AttrInt("output_height", 1)),
		ow:       int(b.n.AttrInt("output_width", 1)),
		sampling: int(b.n.AttrInt("sampling_ratio", 0)),
		scale:    float64(b.n.AttrFloat("spatial_scale", 1)),
	}
	switch mode := b.n.AttrString("mode", "avg"); mode {
	case "avg":
	case "max":
		k.max = true
	default:
		return nil, fmt.Errorf("unknown mode %q", mode)
	}
	if b.opset >= 16 {
		switch ctm := b.n.AttrString("coordinate_transformation_mode", "half_pixel"); ctm {
		case "half_pixel":
			k.halfPixel = true
		case "output_half_pixel":
		default:
			return nil, fmt.Errorf("unknown coordinate_transformation_mode %q", ctm)
		}
	}
	if k.oh < 1 || k.ow < 1 || k.sampling < 0 {
		return nil, fmt.Errorf("invalid output size %dx%d or sampling_ratio %d", k.oh, k.ow, k.sampling)
	}
	return k, nil
}

func (k *roiAlignKernel) run(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := needInputs(in, 3); err != nil {
		return nil, err
	}
	x, rois, bidx := in[0], in[1], in[2]
	if len(x.Dims) != 4 || !x.DType.IsFloat() {
		return nil, fmt.Errorf("X must be a 4-D float tensor, is %s%v", x.DType, x.Dims)
	}
	if len(rois.Dims) != 2 || rois.Dims[1] != 4 || !rois.DType.IsFloat() {
		return nil, fmt.Errorf("rois must be [num_rois, 4] floats, is %s%v", rois.DType, rois.Dims)
	}
	R := int(rois.Dims[0])
	batch, err := intsOf(bidx, "batch_indices")
	if err != nil || len(batch) != R {
		return nil, fmt.Errorf("batch_indices must hold %d integers", R)
	}
	N, C, H, W := int(x.Dims[0]), int(x.Dims[1]), int(x.Dims[2]), int(x.Dims[3])
	xv, rv := x.Float64s(), rois.Float64s()
	res := make([]float64, R*C*k.oh*k.ow)
	offset := 0.0
	if k.halfPixel {
		offset = 0.5
	}
	// bilinear returns the four taps (flat offsets) and weights of (y, x),
	// or false outside the feature map.
	bilinear := func(y, xx float64) (idx [4]int, w [4]float64, ok bool) {
		if y < -1 || y > float64(H) || xx < -1 || xx > float64(W) {
			return idx, w, false
		}
		y, xx = max(y, 0), max(xx, 0)
		yl, xl := int(y), int(xx)
		var yh, xh int
		if yl >= H-1 {
			yl, yh, y = H-1, H-1, float64(H-1)
		} else {
			yh = yl + 1
		}
		if xl >= W-1 {
			xl, xh, xx = W-1, W-1, float64(W-1)
		} else {
			xh = xl + 1
		}
		ly, lx := y-float64(yl), xx-float64(xl)
		hy, hx := 1-ly, 1-lx
		return [4]int{yl*W + xl, yl*W + xh, yh*W + xl, yh*W + xh}, [4]float64{hy * hx, hy * lx, ly * hx, ly * lx}, true
	}
	for r := 0; r < R; r++ {
		b := batch[r]
		if b < 0 || b >= int64(N) {
			return nil, fmt.Errorf("batch index %d is out of range", b)
		}
		x1, y1 := rv[r*4]*k.scale-offset, rv[r*4+1]*k.scale-offset
		x2, y2 := rv[r*4+2]*k.scale-offset, rv[r*4+3]*k.scale-offset
		rw, rh := x2-x1, y2-y1
		if !k.halfPixel {
			rw, rh = max(rw, 1), max(rh, 1)
		}
		bh, bw := rh/float64(k.oh), rw/float64(k.ow)
		gh, gw := k.sampling, k.sampling
		if gh == 0 {
			gh, gw = int(math.Ceil(rh/float64(k.oh))), int(math.Ceil(rw/float64(k.ow)))
		}
		if gh < 0 || gw < 0 || gh*gw > maxTensorBytes {
			return nil, fmt.Errorf("invalid sampling grid %dx%d", gh, gw)
		}
		count := float64(max(gh*gw, 1))
		for c := 0; c < C; c++ {
			plane := xv[(int(b)*C+c)*H*W:]
			for ph := 0; ph < k.oh; ph++ {
				for pw := 0; pw < k.ow; pw++ {
					acc, first := 0.0, true
					for iy := 0; iy < gh; iy++ {
						yy := y1 + float64(ph)*bh + (float64(iy)+0.5)*bh/float64(gh)
						for ix := 0; ix < gw; ix++ {
							xx := x1 + float64(pw)*bw + (float64(ix)+0.5)*bw/float64(gw)
							idx, w, ok := bilinear(yy, xx)
							if k.max {
								// The largest weighted tap, as onnxruntime.
								v := 0.0
								if ok {
									v = max(w[0]*plane[idx[0]], w[1]*plane[idx[1]], w[2]*plane[idx[2]], w[3]*plane[idx[3]])
								}
								if first || v > acc {
									acc, first = v, false
								}
								continue
							}
							if ok {
								acc += w[0]*plane[idx[0]] + w[1]*plane[idx[1]] + w[2]*plane[idx[2]] + w[3]*plane[idx[3]]
							}
						}
					}
					if !k.max {
						acc /= count
					}
					res[((r*C+c)*k.oh+ph)*k.ow+pw] = acc
				}
			}
		}
	}
	y, err := fromFloat64s(e, x.DType, []int64{int64(R), int64(C), int64(k.oh), int64(k.ow)}, res)
	return []*ir.Tensor{y}, err
}
