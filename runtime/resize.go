package runtime

import (
	"fmt"
	"math"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/kernels"
)

// Resize (opsets 10–19) and the older Upsample. Resampling is separable:
// each resized axis is processed in turn with per-output-index taps
// (input index, weight). Nearest mode copies elements of any type; linear
// and cubic interpolate floats.

func init() {
	register("Resize", 10, buildResize)
	register("Upsample", 7, buildUpsample)
}

type resizeKernel struct {
	opset       int64
	mode        string // nearest, linear, cubic
	coord       string
	nearestMode string
	cubicA      float64
	excludeOut  bool
	extrapolate float64
	antialias   bool
	axes        []int64
	policy      string
	// upsample: scales come from attribute (opset 7) or input 1.
	upsample   bool
	scalesAttr []float32
}

func buildResize(b *buildCtx) (kernel, error) {
	n := b.n
	k := &resizeKernel{
		opset:       b.opset,
		mode:        n.AttrString("mode", "nearest"),
		coord:       n.AttrString("coordinate_transformation_mode", "half_pixel"),
		nearestMode: n.AttrString("nearest_mode", "round_prefer_floor"),
		cubicA:      float64(n.AttrFloat("cubic_coeff_a", -0.75)),
		excludeOut:  n.AttrInt("exclude_outside", 0) != 0,
		extrapolate: float64(n.AttrFloat("extrapolation_value", 0)),
		antialias:   n.AttrInt("antialias", 0) != 0,
		axes:        n.AttrInts("axes"),
		policy:      n.AttrString("keep_aspect_ratio_policy", "stretch"),
	}
	if b.opset < 11 {
		// Resize-10 predates nearest_mode: as onnxruntime does, it rounds
		// up along axes that shrink and down along axes that grow.
		k.coord, k.nearestMode = "asymmetric", "simple"
	}
	return k, k.check()
}

func buildUpsample(b *buildCtx) (kernel, error) {
	k := &resizeKernel{
		opset:       b.opset,
		mode:        b.n.AttrString("mode", "nearest"),
		coord:       "asymmetric",
		nearestMode: "floor",
		policy:      "stretch",
		upsample:    true,
	}
	if k.mode == "bilinear" {
		k.mode = "linear"
	}
	if b.opset < 9 {
		k.scalesAttr = b.n.AttrFloats("scales")
		if k.scalesAttr == nil {
			return nil, fmt.Errorf("scales attribute is required")
		}
	}
	return k, k.check()
}

func (k *resizeKernel) check() error {
	switch k.mode {
	case "nearest", "linear", "cubic":
	default:
		return fmt.Errorf("unknown mode %q", k.mode)
	}
	switch k.coord {
	case "half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_crop_and_resize":
	case "tf_half_pixel_for_nn":
		if k.opset >= 18 {
			return fmt.Errorf("coordinate_transformation_mode tf_half_pixel_for_nn was removed in opset 18")
		}
	case "half_pixel_symmetric":
		if k.opset < 19 {
			return fmt.Errorf("coordinate_transformation_mode half_pixel_symmetric needs opset 19")
		}
	default:
		return fmt.Errorf("unknown coordinate_transformation_mode %q", k.coord)
	}
	switch k.nearestMode {
	case "round_prefer_floor", "round_prefer_ceil", "floor", "ceil", "simple":
	default:
		return fmt.Errorf("unknown nearest_mode %q", k.nearestMode)
	}
	switch k.policy {
	case "stretch", "not_larger", "not_smaller":
	default:
		return fmt.Errorf("unknown keep_aspect_ratio_policy %q", k.policy)
	}
	return nil
}

// floatsOf reads a float tensor (scales, roi).
func floatsOf(t *ir.Tensor, what string) ([]float64, error) {
	if !t.DType.IsFloat() {
		return nil, fmt.Errorf("%s must be float, is %s", what, t.DType)
	}
	return t.Float64s(), nil
}

func (k *resizeKernel) run(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := needInputs(in, 1); err != nil {
		return nil, err
	}
	x := in[0]
	r := len(x.Dims)
	opt := func(i int) *ir.Tensor {
		if i < len(in) && in[i] != nil && numel(in[i].Dims) > 0 {
			return in[i]
		}
		return nil
	}
	var roiT, scalesT, sizesT *ir.Tensor
	switch {
	case k.upsample && k.scalesAttr != nil:
	case k.upsample || k.opset < 11:
		scalesT = opt(1)
		if scalesT == nil {
			return nil, fmt.Errorf("scales are required")
		}
	default:
		roiT, scalesT, sizesT = opt(1), opt(2), opt(3)
	}
	// Axes the scales and sizes refer to.
	axes := make([]int, 0, r)
	if k.axes != nil {
		var err error
		if axes, err = normAxes(k.axes, r); err != nil {
			return nil, err
		}
	} else {
		for i := 0; i < r; i++ {
			axes = append(axes, i)
		}
	}
	scales := make([]float64, r)
	out := cloneDims(x.Dims)
	for i := range scales {
		scales[i] = 1
	}
	switch {
	case k.scalesAttr != nil:
		if len(k.scalesAttr) != r {
			return nil, fmt.Errorf("%d scales for rank %d", len(k.scalesAttr), r)
		}
		for i, s := range k.scalesAttr {
			scales[i] = float64(s)
		}
		fallthrough
	case scalesT != nil && sizesT == nil:
		if scalesT != nil {
			sv, err := floatsOf(scalesT, "scales")
			if err != nil {
				return nil, err
			}
			if len(sv) != len(axes) {
				return nil, fmt.Errorf("%d scales for %d axes", len(sv), len(axes))
			}
			for i, ax := range axes {
				scales[ax] = sv[i]
			}
		}
		for _, ax := range axes {
			if scales[ax] <= 0 || math.IsNaN(scales[ax]) || math.IsInf(scales[ax], 0) {
				return nil, fmt.Errorf("invalid scale %g", scales[ax])
			}
			// float32 arithmetic, as in onnxruntime: 10·0.7f is 7.
			o := math.Floor(float64(float32(x.Dims[ax]) * float32(scales[ax])))
			if o > maxTensorBytes {
				return nil, fmt.Errorf("resized dimension %g is too large", o)
			}
			out[ax] = int64(o)
		}
	case sizesT != nil:
		if scalesT != nil {
			return nil, fmt.Errorf("only one of scales and sizes may be given")
		}
		sz, err := intsOf(sizesT, "sizes")
		if err != nil {
			return nil, err
		}
		if len(sz) != len(axes) {
			return nil, fmt.Errorf("%d sizes for %d axes", len(sz), len(axes))
		}
		for _, s := range sz {
			if s < 0 {
				return nil, fmt.Errorf("negative size in %v", sz)
			}
		}
		if k.policy != "stretch" {
			common := math.Inf(1)
			if k.policy == "not_smaller" {
				common = math.Inf(-1)
			}
			for i, ax := range axes {
				s := float64(sz[i]) / float64(x.Dims[ax])
				if k.policy == "not_larger" {
					common = math.Min(common, s)
				} else {
					common = math.Max(common, s)
				}
			}
			for _, ax := range axes {
				scales[ax] = common
				out[ax] = int64(math.Round(common * float64(x.Dims[ax])))
			}
		} else {
			for i, ax := range axes {
				out[ax] = sz[i]
				scales[ax] = float64(sz[i]) / float64(x.Dims[ax])
			}
		}
	default:
		return nil, fmt.Errorf("one of scales and sizes is required")
	}
	var roi []float64
	if k.coord == "tf_crop_and_resize" {
		if roiT == nil {
			return nil, fmt.Errorf("tf_crop_and_resize needs roi")
		}
		rv, err := floatsOf(roiT, "roi")
		if err != nil {
			return nil, err
		}
		roi = make([]float64, 2*r)
		for i := 0; i < r; i++ {
			roi[i], roi[r+i] = 0, 1
		}
		if len(rv) != 2*len(axes) {
			return nil, fmt.Errorf("roi has %d values for %d axes", len(rv), len(axes))
		}
		for i, ax := range axes {
			roi[ax], roi[r+ax] = rv[i], rv[len(axes)+i]
		}
	}
	for ax := 0; ax < r; ax++ {
		if x.Dims[ax] == 0 && out[ax] != 0 {
			return nil, fmt.Errorf("cannot resize axis %d of size 0 to %d", ax, out[ax])
		}
	}
	taps := make([]*axisTaps, r)
	for ax := 0; ax < r; ax++ {
		var lo, hi float64 = 0, 1
		if roi != nil {
			lo, hi = roi[ax], roi[r+ax]
		}
		taps[ax] = k.axisTaps(int(x.Dims[ax]), int(out[ax]), scales[ax], lo, hi)
	}
	y, err := k.apply(e, x, out, taps)
	return []*ir.Tensor{y}, err
}

// axisTaps are the interpolation taps of one axis: output index o reads
// input indices idx[o*n:(o+1)*n] with weights w[...]; outside[o] marks
// positions that take the extrapolation value.
type axisTaps struct {
	in, out  int
	n        int
	idx      []int
	w        []float64
	outside  []bool
	identity bool
}

// original maps an output coordinate to the input coordinate. As in the
// ONNX reference, the resized length in the formulas is in·scale, not
// rounded (it equals the output size out when sizes are given). The
// arithmetic is float32, as in onnxruntime, so that coordinates landing
// on .5 round the same way.
func (k *resizeKernel) original(xo float64, in, out int, scale64, lo64, hi64 float64) float64 {
	x, scale, lo, hi := float32(xo), float32(scale64), float32(lo64), float32(hi64)
	fin := float32(in)
	fout := fin * scale
	var r float32
	switch k.coord {
	case "half_pixel":
		r = (x+0.5)/scale - 0.5
	case "half_pixel_symmetric":
		adj := float32(out) / fout
		center := fin / 2
		r = center*(1-adj) + (x+0.5)/scale - 0.5
	case "pytorch_half_pixel":
		if fout > 1 {
			r = (x+0.5)/scale - 0.5
		}
	case "align_corners":
		if fout != 1 {
			r = x * (fin - 1) / (fout - 1)
		}
	case "asymmetric":
		r = x / scale
	case "tf_half_pixel_for_nn":
		r = (x + 0.5) / scale
	case "tf_crop_and_resize":
		if fout > 1 {
			r = lo*(fin-1) + x*(hi-lo)*(fin-1)/(fout-1)
		} else {
			r = 0.5 * (lo + hi) * (fin - 1)
		}
	default:
		r = x
	}
	return float64(r)
}

func (k *resizeKernel) axisTaps(in, out int, scale, lo, hi float64) *axisTaps {
	t := &axisTaps{in: in, out: out, outside: make([]bool, out)}
	if in == out && scale == 1 && k.coord != "tf_crop_and_resize" {
		t.identity = true
		return t
	}
	crop := k.coord == "tf_crop_and_resize"
	switch k.mode {
	case "nearest":
		t.n = 1
		for o := 0; o < out; o++ {
			x := k.original(float64(o), in, out, scale, lo, hi)
			if crop && (x < 0 || x > float64(in-1)) {
				t.outside[o] = true
			}
			i := k.nearest(x, scale)
			t.idx = append(t.idx, min(max(i, 0), in-1))
			t.w = append(t.w, 1)
		}
	case "linear":
		for o := 0; o < out; o++ {
			x := k.original(float64(o), in, out, scale, lo, hi)
			if crop && (x < 0 || x > float64(in-1)) {
				t.outside[o] = true
			}
			if k.antialias && scale < 1 {
				k.antialiasTaps(t, x, scale, in, func(d float64) float64 { return math.Max(0, 1-math.Abs(d)) })
				continue
			}
			t.n = 2
			x = math.Min(math.Max(x, 0), float64(in-1))
			i0 := int(math.Floor(x))
			i1 := min(i0+1, in-1)
			f := x - float64(i0)
			t.idx = append(t.idx, i0, i1)
			t.w = append(t.w, 1-f, f)
		}
	case "cubic":
		a := k.cubicA
		for o := 0; o < out; o++ {
			x := k.original(float64(o), in, out, scale, lo, hi)
			if crop && (x < 0 || x > float64(in-1)) {
				t.outside[o] = true
			}
			if k.antialias && scale < 1 {
				k.antialiasTaps(t, x, scale, in, func(d float64) float64 { return cubicWeight(math.Abs(d), a) })
				continue
			}
			t.n = 4
			i := int(math.Floor(x))
			f := x - float64(i)
			ws := [4]float64{cubicWeight(f+1, a), cubicWeight(f, a), cubicWeight(1-f, a), cubicWeight(2-f, a)}
			var sum float64
			for j := 0; j < 4; j++ {
				p := i - 1 + j
				if k.excludeOut && (p < 0 || p >= in) {
					ws[j] = 0
				}
				sum += ws[j]
			}
			for j := 0; j < 4; j++ {
				p := min(max(i-1+j, 0), in-1)
				w := ws[j]
				if k.excludeOut && sum != 0 {
					w /= sum
				}
				t.idx = append(t.idx, p)
				t.w = append(t.w, w)
			}
		}
	}
	return t
}

// antialiasTaps appends the taps of a filter stretched by 1/scale
// (downsampling with antialias, opset 18), as the ONNX reference defines
// them: the taps are the footprint's nearest input positions to x (edge
// values outside the input, or dropped with exclude_outside) weighted by
// the filter at (position − x)·scale and normalised to sum 1.
func (k *resizeKernel) antialiasTaps(t *axisTaps, x, scale float64, in int, f func(float64) float64) {
	support := 1.0
	if k.mode == "cubic" {
		support = 2
	}
	start := int(math.Floor(-support/scale)) + 1
	width := 2 - 2*start
	base, ratio := math.Floor(x), x-math.Floor(x)
	if ratio == 0 {
		base, ratio = x-1, 1
	}
	if t.n == 0 {
		t.n = width
	}
	var sum float64
	ws := make([]float64, width)
	for i := range ws {
		w := f((float64(start+i) - ratio) * scale)
		p := int(base) + start + i
		if k.excludeOut && (p < 0 || p >= in) {
			w = 0
		}
		ws[i] = w
		sum += w
	}
	for i, w := range ws {
		if sum != 0 {
			w /= sum
		}
		t.idx = append(t.idx, min(max(int(base)+start+i, 0), in-1))
		t.w = append(t.w, w)
	}
}

// cubicWeight is the Keys cubic convolution kernel with coefficient a.
func cubicWeight(d, a float64) float64 {
	d = math.Abs(d)
	switch {
	case d <= 1:
		return ((a+2)*d-(a+3))*d*d + 1
	case d < 2:
		return ((a*d-5*a)*d+8*a)*d - 4*a
	}
	return 0
}

func (k *resizeKernel) nearest(x, scale float64) int {
	switch k.nearestMode {
	case "floor":
		return int(math.Floor(x))
	case "ceil":
		return int(math.Ceil(x))
	case "simple":
		if scale < 1 {
			return int(math.Ceil(x))
		}
		return int(math.Floor(x))
	case "round_prefer_ceil":
		return int(math.Floor(x + 0.5))
	}
	// round_prefer_floor
	if x-math.Floor(x) == 0.5 {
		return int(math.Floor(x))
	}
	return int(math.Round(x))
}

func (k *resizeKernel) apply(e *env, x *ir.Tensor, out []int64, taps []*axisTaps) (*ir.Tensor, error) {
	r := len(x.Dims)
	if y, ok, err := k.apply2D(e, x, out, taps); ok {
		return y, err
	}
	if k.mode == "nearest" {
		g := &gatherSpec{odims: make([]int, r), st: strides(x.Dims), maps: make([][]int, r)}
		for ax, t := range taps {
			g.odims[ax] = t.out
			if t.identity {
				continue
			}
			m := make([]int, t.out)
			for o := range m {
				m[o] = t.idx[o]
				if t.outside[o] {
					m[o] = -1
				}
			}
			g.maps[ax] = m
		}
		y, err := e.alloc(x.DType, out)
		if err != nil {
			return nil, err
		}
		var fill []byte
		if k.extrapolate != 0 {
			if fill, err = scalarBytes(x.DType, k.extrapolate); err != nil {
				return nil, err
			}
		}
		return y, g.run(x, y, fill)
	}
	if !x.DType.IsFloat() && !numeric(x.DType) {
		return nil, errType(x.DType)
	}
	cur := x.Float64s()
	dims := cloneDims(x.Dims)
	for ax, t := range taps {
		if t.identity {
			continue
		}
		outer, inner := numel(dims[:ax]), numel(dims[ax+1:])
		next := make([]float64, outer*t.out*inner)
		for o := 0; o < outer; o++ {
			src := cur[o*t.in*inner:]
			dst := next[o*t.out*inner:]
			for j := 0; j < t.out; j++ {
				row := dst[j*inner : (j+1)*inner]
				for q := 0; q < t.n; q++ {
					w := t.w[j*t.n+q]
					if w == 0 {
						continue
					}
					s := src[t.idx[j*t.n+q]*inner:]
					for i := range row {
						row[i] += w * s[i]
					}
				}
			}
		}
		cur = next
		dims[ax] = int64(t.out)
	}
	if k.coord == "tf_crop_and_resize" {
		st := strides(out)
		for i := range cur {
			for ax, t := range taps {
				if !t.identity && t.outside[(i/st[ax])%t.out] {
					cur[i] = k.extrapolate
					break
				}
			}
		}
	}
	if !x.DType.IsFloat() {
		for i, v := range cur {
			cur[i] = math.RoundToEven(v)
		}
	}
	return fromFloat64s(e, x.DType, out, cur)
}

// apply2D resizes float32 tensors whose resized axes are among the last
// two on the plane kernels (kernels.ResizeNearest2D, kernels.Resize2D),
// and reports whether it applied: not with tf_crop_and_resize, whose
// outside positions take the extrapolation value.
func (k *resizeKernel) apply2D(e *env, x *ir.Tensor, out []int64, taps []*axisTaps) (*ir.Tensor, bool, error) {
	r := len(x.Dims)
	if x.DType != ir.Float32 || r < 2 || k.coord == "tf_crop_and_resize" || numel(out) == 0 {
		return nil, false, nil
	}
	for _, t := range taps[:r-2] {
		if !t.identity {
			return nil, false, nil
		}
	}
	H, W := int(x.Dims[r-2]), int(x.Dims[r-1])
	th, tw := taps[r-2], taps[r-1]
	y, err := e.alloc(ir.Float32, out)
	if err != nil {
		return nil, true, err
	}
	planes := numel(x.Dims[:r-2])
	xv, yv := view[float32](x), view[float32](y)
	if k.mode == "nearest" {
		kernels.ResizeNearest2D(xv, yv, planes, H, W, nearestMap(th), nearestMap(tw))
		return y, true, nil
	}
	kernels.Resize2D(xv, yv, planes, H, W, resizeTaps(th), resizeTaps(tw))
	return y, true, nil
}

// nearestMap is the source index of each output of a nearest axis.
func nearestMap(t *axisTaps) []int32 {
	m := make([]int32, t.out)
	for o := range m {
		if t.identity {
			m[o] = int32(o)
		} else {
			m[o] = int32(t.idx[o])
		}
	}
	return m
}

// resizeTaps converts an axis' taps for kernels.Resize2D.
func resizeTaps(t *axisTaps) *kernels.ResizeTaps {
	if t.identity {
		rt := &kernels.ResizeTaps{N: 1, Idx: make([]int32, t.out), W: make([]float32, t.out)}
		for o := range rt.Idx {
			rt.Idx[o], rt.W[o] = int32(o), 1
		}
		return rt
	}
	rt := &kernels.ResizeTaps{N: t.n, Idx: make([]int32, len(t.idx)), W: make([]float32, len(t.w))}
	for i, v := range t.idx {
		rt.Idx[i] = int32(v)
	}
	for i, v := range t.w {
		rt.W[i] = float32(v)
	}
	return rt
}
