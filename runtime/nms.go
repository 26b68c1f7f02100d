package runtime

import (
	"fmt"
	"math"
	"sort"

	"github.com/nncc/nncc/ir"
)

func init() {
	register("NonMaxSuppression", 10, buildNMS)
}

func buildNMS(b *buildCtx) (kernel, error) {
	centered := b.n.AttrInt("center_point_box", 0) != 0
	return kernelFunc(func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := needInputs(in, 2); err != nil {
			return nil, err
		}
		boxes, scores := in[0], in[1]
		if len(boxes.Dims) != 3 || boxes.Dims[2] != 4 || len(scores.Dims) != 3 ||
			scores.Dims[0] != boxes.Dims[0] || scores.Dims[2] != boxes.Dims[1] {
			return nil, fmt.Errorf("boxes %v and scores %v must be [B,N,4] and [B,C,N]", boxes.Dims, scores.Dims)
		}
		if !boxes.DType.IsFloat() || !scores.DType.IsFloat() {
			return nil, fmt.Errorf("boxes and scores must be float")
		}
		opt := func(i int) *ir.Tensor {
			if i < len(in) && in[i] != nil && numel(in[i].Dims) > 0 {
				return in[i]
			}
			return nil
		}
		var maxOut int64
		if t := opt(2); t != nil {
			v, err := intsOf(t, "max_output_boxes_per_class")
			if err != nil {
				return nil, err
			}
			maxOut = v[0]
		}
		var iouTh float64
		if t := opt(3); t != nil {
			iouTh = t.Float64s()[0]
		}
		scoreTh, useScore := math.Inf(-1), false
		if t := opt(4); t != nil {
			scoreTh, useScore = t.Float64s()[0], true
		}
		B, N, C := int(boxes.Dims[0]), int(boxes.Dims[1]), int(scores.Dims[1])
		bv, sv := boxes.Float64s(), scores.Float64s()
		// Boxes as (ymin, xmin, ymax, xmax).
		corner := func(bi, i int) [4]float64 {
			p := bv[(bi*N+i)*4:]
			if centered {
				xc, yc, w, h := p[0], p[1], p[2], p[3]
				return [4]float64{yc - h/2, xc - w/2, yc + h/2, xc + w/2}
			}
			return [4]float64{min(p[0], p[2]), min(p[1], p[3]), max(p[0], p[2]), max(p[1], p[3])}
		}
		iou := func(a, c [4]float64) float64 {
			ih := min(a[2], c[2]) - max(a[0], c[0])
			iw := min(a[3], c[3]) - max(a[1], c[1])
			if ih <= 0 || iw <= 0 {
				return 0
			}
			inter := ih * iw
			union := (a[2]-a[0])*(a[3]-a[1]) + (c[2]-c[0])*(c[3]-c[1]) - inter
			if union <= 0 {
				return 0
			}
			return inter / union
		}
		var sel []int64
		for bi := 0; bi < B; bi++ {
			for ci := 0; ci < C; ci++ {
				if maxOut <= 0 {
					continue
				}
				var cand []int
				for i := 0; i < N; i++ {
					if !useScore || sv[(bi*C+ci)*N+i] > scoreTh {
						cand = append(cand, i)
					}
				}
				sort.SliceStable(cand, func(p, q int) bool {
					return sv[(bi*C+ci)*N+cand[p]] > sv[(bi*C+ci)*N+cand[q]]
				})
				var kept []int
				for _, i := range cand {
					if int64(len(kept)) >= maxOut {
						break
					}
					bx := corner(bi, i)
					ok := true
					for _, k := range kept {
						if iou(bx, corner(bi, k)) > iouTh {
							ok = false
							break
						}
					}
					if ok {
						kept = append(kept, i)
						sel = append(sel, int64(bi), int64(ci), int64(i))
					}
				}
			}
		}
		y, err := int64Tensor(e, []int64{int64(len(sel) / 3), 3}, sel)
		return []*ir.Tensor{y}, err
	}), nil
}
