package ir

import "math"

// Inference for neural-network operators: matrix products, convolutions
// and pooling, normalisations and recurrent layers.

func init() {
	setInfer(inferMatMul(0, 1, -1, Undefined), "MatMul")
	setInfer(inferMatMul(0, 1, -1, Int32), "MatMulInteger")
	setInfer(inferMatMul(0, 3, 7, Undefined), "QLinearMatMul")
	setInfer(inferGemm, "Gemm")
	setInfer(inferConv(0, 1, -1, Undefined), "Conv")
	setInfer(inferConv(0, 1, -1, Int32), "ConvInteger")
	setInfer(inferConv(0, 3, 7, Undefined), "QLinearConv")
	setInfer(inferConv(0, 1, -1, Undefined), "DeformConv")
	setInfer(inferConvTranspose, "ConvTranspose")
	setInfer(inferPool, "MaxPool", "AveragePool", "LpPool")
	setInfer(inferGlobalPool, "GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool")
	setInfer(inferMaxUnpool, "MaxUnpool")
	setInfer(inferBatchNorm, "BatchNormalization")
	setInfer(inferLayerNorm, "LayerNormalization")
	setInfer(inferRNN, "RNN", "GRU", "LSTM")
	setInfer(inferDepthToSpace, "DepthToSpace")
	setInfer(inferSpaceToDepth, "SpaceToDepth")
	setInfer(inferGridSample, "GridSample")
	setInfer(inferRoiAlign, "RoiAlign")
	setInfer(inferMaxRoiPool, "MaxRoiPool")
}

// outDType is the element type of input q when q >= 0 and present, else
// fixed when defined, else the type of input a.
func outDType(c *inferCtx, a, q int, fixed DType) DType {
	if q >= 0 {
		if dt := c.dtype(q); dt != Undefined {
			return dt
		}
	}
	if fixed != Undefined {
		return fixed
	}
	return c.dtype(a)
}

// inferMatMul: numpy matrix product of inputs a and b; the element type is
// that of input q (the output zero point of QLinearMatMul), fixed, or a's.
func inferMatMul(a, b, q int, fixed DType) func(*inferCtx) ([]*Type, error) {
	return func(c *inferCtx) ([]*Type, error) {
		dt := outDType(c, a, q, fixed)
		sa, oka := c.shape(a)
		sb, okb := c.shape(b)
		if !oka || !okb {
			return []*Type{unranked(dt)}, nil
		}
		out, err := matmulShape(sa, sb)
		if err != nil {
			return nil, err
		}
		return []*Type{tensor(dt, out)}, nil
	}
}

func matmulShape(a, b Shape) (Shape, error) {
	if len(a) == 0 || len(b) == 0 {
		return nil, errorf("MatMul of a scalar (shapes %s and %s)", a, b)
	}
	va, vb := len(a) == 1, len(b) == 1
	if va {
		a = Shape{D(1), a[0]}
	}
	if vb {
		b = Shape{b[0], D(1)}
	}
	k1, k2 := a[len(a)-1], b[len(b)-2]
	if differentDim(k1, k2) {
		return nil, errorf("inner dimensions %s and %s of shapes %s and %s differ", k1, k2, a, b)
	}
	batch, err := broadcastShapes(a[:len(a)-2], b[:len(b)-2])
	if err != nil {
		return nil, err
	}
	// The axes added to vectors are dropped again.
	out := batch
	if !va {
		out = append(out, a[len(a)-2])
	}
	if !vb {
		out = append(out, b[len(b)-1])
	}
	return out, nil
}

func inferGemm(c *inferCtx) ([]*Type, error) {
	dt := c.dtype(0)
	sa, oka := c.shape(0)
	sb, okb := c.shape(1)
	if (oka && len(sa) != 2) || (okb && len(sb) != 2) {
		return nil, c.errorf("Gemm needs rank-2 A and B, got %s and %s", sa, sb)
	}
	m, ka, kb, n := UnknownDim, UnknownDim, UnknownDim, UnknownDim
	if oka {
		m, ka = sa[0], sa[1]
		if c.n.AttrInt("transA", 0) != 0 {
			m, ka = ka, m
		}
	}
	if okb {
		kb, n = sb[0], sb[1]
		if c.n.AttrInt("transB", 0) != 0 {
			kb, n = n, kb
		}
	}
	if differentDim(ka, kb) {
		return nil, c.errorf("inner dimensions %s and %s differ", ka, kb)
	}
	out := Shape{m, n}
	if sc, ok := c.shape(2); ok {
		b, err := broadcastShapes(out, sc)
		if err != nil {
			return nil, c.errorf("C %s does not broadcast to [M,N] %s", sc, out)
		}
		if len(b) != 2 || differentDim(b[0], m) || differentDim(b[1], n) {
			return nil, c.errorf("C %s does not broadcast to [M,N] %s", sc, out)
		}
	}
	return []*Type{tensor(dt, out)}, nil
}

// window describes the sliding window of a convolution or pooling along
// its spatial axes.
type window struct {
	kernel    []int64 // -1 where unknown
	strides   []int64
	dilations []int64
	pads      []int64 // begins then ends
	autoPad   string
}

// readWindow reads the window attributes for nsp spatial axes; kernel may
// come from the weight's shape.
func readWindow(c *inferCtx, nsp int, kernel []int64) (*window, error) {
	w := &window{kernel: kernel, autoPad: c.n.AttrString("auto_pad", "NOTSET")}
	if k := c.n.AttrInts("kernel_shape"); k != nil {
		w.kernel = k
	}
	if w.kernel == nil {
		w.kernel = make([]int64, nsp)
		for i := range w.kernel {
			w.kernel[i] = -1
		}
	}
	ones := func() []int64 {
		s := make([]int64, nsp)
		for i := range s {
			s[i] = 1
		}
		return s
	}
	w.strides = attrIntsOr(c.n, "strides", ones())
	w.dilations = attrIntsOr(c.n, "dilations", ones())
	w.pads = attrIntsOr(c.n, "pads", make([]int64, 2*nsp))
	if len(w.kernel) != nsp || len(w.strides) != nsp || len(w.dilations) != nsp || len(w.pads) != 2*nsp {
		return nil, c.errorf("kernel_shape %v, strides %v, dilations %v or pads %v do not fit %d spatial axes",
			w.kernel, w.strides, w.dilations, w.pads, nsp)
	}
	for i := range nsp {
		if w.strides[i] <= 0 || w.dilations[i] <= 0 || w.kernel[i] == 0 || w.kernel[i] < -1 {
			return nil, c.errorf("kernel_shape %v, strides %v and dilations %v must be positive", w.kernel, w.strides, w.dilations)
		}
		if w.pads[i] < 0 || w.pads[i+nsp] < 0 {
			return nil, c.errorf("negative pads %v", w.pads)
		}
	}
	switch w.autoPad {
	case "NOTSET", "", "VALID", "SAME_UPPER", "SAME_LOWER":
	default:
		return nil, c.errorf("unknown auto_pad %q", w.autoPad)
	}
	return w, nil
}

// out computes the output size along spatial axis i of an input of size
// in, for a convolution or (ceil false) pooling.
func (w *window) out(i int, in Dim, ceil bool) (Dim, error) {
	s := w.strides[i]
	switch w.autoPad {
	case "SAME_UPPER", "SAME_LOWER":
		if in.Known() {
			return D((in.Value + s - 1) / s), nil
		}
		if s == 1 {
			return in, nil
		}
		return UnknownDim, nil
	}
	if w.kernel[i] < 0 {
		return UnknownDim, nil
	}
	eff := w.dilations[i]*(w.kernel[i]-1) + 1
	pb, pe := w.pads[i], w.pads[i+len(w.strides)]
	if w.autoPad == "VALID" {
		pb, pe = 0, 0
	}
	if !in.Known() {
		if s == 1 && pb+pe == eff-1 {
			return in, nil
		}
		return UnknownDim, nil
	}
	v := in.Value + pb + pe - eff
	if v < 0 {
		return UnknownDim, errorf("window of %d (kernel %d, dilation %d) is larger than the padded input %d", eff, w.kernel[i], w.dilations[i], in.Value+pb+pe)
	}
	o := v/s + 1
	if ceil && v%s != 0 {
		o++
		// The last window must start inside the input or its left pad.
		if (o-1)*s >= in.Value+pb {
			o--
		}
	}
	return D(o), nil
}

// inferConv infers Conv-like operators: X at input x, weights at input w;
// the element type comes from input q, fixed, or X.
func inferConv(x, wi, q int, fixed DType) func(*inferCtx) ([]*Type, error) {
	return func(c *inferCtx) ([]*Type, error) {
		dt := outDType(c, x, q, fixed)
		xs, okx := c.shape(x)
		ws, okw := c.shape(wi)
		if okx && len(xs) < 3 {
			return nil, c.errorf("input %s needs rank 3 or more", xs)
		}
		if okx && okw && len(ws) != len(xs) {
			return nil, c.errorf("weights %s and input %s differ in rank", ws, xs)
		}
		if !okx {
			if okw {
				return []*Type{tensor(dt, unknownShape(len(ws)))}, nil
			}
			return []*Type{unranked(dt)}, nil
		}
		nsp := len(xs) - 2
		var kernel []int64
		if okw {
			kernel = make([]int64, nsp)
			for i := range kernel {
				kernel[i] = -1
				if d := ws[2+i]; d.Known() {
					kernel[i] = d.Value
				}
			}
		}
		w, err := readWindow(c, nsp, kernel)
		if err != nil {
			return nil, err
		}
		group := c.n.AttrInt("group", 1)
		if group <= 0 {
			return nil, c.errorf("group %d must be positive", group)
		}
		out := make(Shape, len(xs))
		out[0], out[1] = xs[0], UnknownDim
		if okw {
			out[1] = ws[0]
			if xs[1].Known() && ws[1].Known() && xs[1].Value != ws[1].Value*group {
				return nil, c.errorf("input has %d channels but weights %s with group %d expect %d", xs[1].Value, ws, group, ws[1].Value*group)
			}
			for i := range nsp {
				if ks := c.n.AttrInts("kernel_shape"); ks != nil && differentDim(ws[2+i], D(ks[i])) {
					return nil, c.errorf("kernel_shape %v disagrees with weights %s", ks, ws)
				}
			}
		}
		for i := range nsp {
			if out[2+i], err = w.out(i, xs[2+i], false); err != nil {
				return nil, err
			}
		}
		return []*Type{tensor(dt, out)}, nil
	}
}

func inferConvTranspose(c *inferCtx) ([]*Type, error) {
	dt := c.dtype(0)
	xs, okx := c.shape(0)
	ws, okw := c.shape(1)
	if okx && len(xs) < 3 {
		return nil, c.errorf("input %s needs rank 3 or more", xs)
	}
	if okx && okw && len(ws) != len(xs) {
		return nil, c.errorf("weights %s and input %s differ in rank", ws, xs)
	}
	if !okx {
		return []*Type{unranked(dt)}, nil
	}
	nsp := len(xs) - 2
	var kernel []int64
	if okw {
		kernel = make([]int64, nsp)
		for i := range kernel {
			kernel[i] = -1
			if d := ws[2+i]; d.Known() {
				kernel[i] = d.Value
			}
		}
	}
	w, err := readWindow(c, nsp, kernel)
	if err != nil {
		return nil, err
	}
	group := c.n.AttrInt("group", 1)
	if group <= 0 {
		return nil, c.errorf("group %d must be positive", group)
	}
	outPad := attrIntsOr(c.n, "output_padding", make([]int64, nsp))
	if len(outPad) != nsp {
		return nil, c.errorf("output_padding %v does not fit %d spatial axes", outPad, nsp)
	}
	out := make(Shape, len(xs))
	out[0], out[1] = xs[0], UnknownDim
	if okw {
		out[1] = mulDim(ws[1], D(group))
		if differentDim(xs[1], ws[0]) {
			return nil, c.errorf("input has %s channels but weights %s expect %s", xs[1], ws, ws[0])
		}
	}
	if os := c.n.AttrInts("output_shape"); os != nil {
		if len(os) < nsp {
			return nil, c.errorf("output_shape %v does not fit %d spatial axes", os, nsp)
		}
		for i := range nsp {
			out[2+i] = D(os[len(os)-nsp+i])
		}
		return []*Type{tensor(dt, out)}, nil
	}
	for i := range nsp {
		in, s := xs[2+i], w.strides[i]
		switch {
		case w.autoPad == "SAME_UPPER" || w.autoPad == "SAME_LOWER":
			out[2+i] = mulDim(in, D(s))
		case w.kernel[i] < 0:
			out[2+i] = UnknownDim
		default:
			eff := w.dilations[i]*(w.kernel[i]-1) + 1
			pb, pe := w.pads[i], w.pads[i+nsp]
			if w.autoPad == "VALID" {
				pb, pe = 0, 0
			}
			extra := outPad[i] + eff - pb - pe
			switch {
			case in.Known():
				o := s*(in.Value-1) + extra
				if o < 0 {
					return nil, c.errorf("negative output size %d on spatial axis %d", o, i)
				}
				out[2+i] = D(o)
			case s == 1 && extra == 1:
				out[2+i] = in
			default:
				out[2+i] = UnknownDim
			}
		}
	}
	return []*Type{tensor(dt, out)}, nil
}

func inferPool(c *inferCtx) ([]*Type, error) {
	dt := c.dtype(0)
	xs, ok := c.shape(0)
	if !ok {
		return []*Type{unranked(dt), unranked(Int64)}, nil
	}
	if len(xs) < 3 {
		return nil, c.errorf("input %s needs rank 3 or more", xs)
	}
	if c.n.AttrInts("kernel_shape") == nil {
		return nil, c.errorf("missing kernel_shape")
	}
	nsp := len(xs) - 2
	w, err := readWindow(c, nsp, nil)
	if err != nil {
		return nil, err
	}
	ceil := c.n.AttrInt("ceil_mode", 0) != 0
	out := append(Shape{}, xs...)
	for i := range nsp {
		if out[2+i], err = w.out(i, xs[2+i], ceil); err != nil {
			return nil, err
		}
	}
	return []*Type{tensor(dt, out), tensor(Int64, out)}, nil
}

func inferGlobalPool(c *inferCtx) ([]*Type, error) {
	dt := c.dtype(0)
	xs, ok := c.shape(0)
	if !ok {
		return []*Type{unranked(dt)}, nil
	}
	if len(xs) < 2 {
		return nil, c.errorf("input %s needs rank 2 or more", xs)
	}
	out := append(Shape{}, xs...)
	for i := 2; i < len(out); i++ {
		out[i] = D(1)
	}
	return []*Type{tensor(dt, out)}, nil
}

func inferMaxUnpool(c *inferCtx) ([]*Type, error) {
	dt := c.dtype(0)
	xs, ok := c.shape(0)
	if c.has(2) {
		if dims, ok := c.values(2); ok {
			out := make(Shape, len(dims))
			for i, x := range dims {
				out[i] = x.dim()
			}
			return []*Type{tensor(dt, out)}, nil
		}
		if ok {
			return []*Type{tensor(dt, unknownShape(len(xs)))}, nil
		}
		return []*Type{unranked(dt)}, nil
	}
	if !ok {
		return []*Type{unranked(dt)}, nil
	}
	if len(xs) < 3 {
		return nil, c.errorf("input %s needs rank 3 or more", xs)
	}
	nsp := len(xs) - 2
	w, err := readWindow(c, nsp, nil)
	if err != nil {
		return nil, err
	}
	out := append(Shape{}, xs...)
	for i := range nsp {
		if w.kernel[i] < 0 || !xs[2+i].Known() {
			out[2+i] = UnknownDim
			continue
		}
		out[2+i] = D((xs[2+i].Value-1)*w.strides[i] + w.kernel[i] - w.pads[i] - w.pads[i+nsp])
	}
	return []*Type{tensor(dt, out)}, nil
}

// BatchNormalization returns Y like X and, in training, statistics of
// shape [C].
func inferBatchNorm(c *inferCtx) ([]*Type, error) {
	xs, ok := c.shape(0)
	if ok && len(xs) < 2 {
		return nil, c.errorf("input %s needs rank 2 or more", xs)
	}
	if c.opset < 9 && c.n.AttrInt("spatial", 1) == 0 {
		// Statistics per element rather than per channel: shaped like
		// the mean input.
		outs := []*Type{c.in(0)}
		for i := 1; i < len(c.n.Outputs); i++ {
			outs = append(outs, c.in(3))
		}
		return outs, nil
	}
	ch := UnknownDim
	if ok {
		ch = xs[1]
	}
	for i := 1; i <= 4; i++ {
		if s, sok := c.shape(i); sok {
			if len(s) != 1 {
				return nil, c.errorf("input %d has shape %s, want [C]", i, s)
			}
			d, good := mergeDim(ch, s[0])
			if !good {
				return nil, c.errorf("input %d has shape %s but X %s has %s channels", i, s, xs, ch)
			}
			ch = d
		}
	}
	outs := []*Type{c.in(0)}
	statDT := c.dtype(1)
	if c.dtype(3) != Undefined {
		statDT = c.dtype(3)
	}
	for i := 1; i < len(c.n.Outputs); i++ {
		outs = append(outs, tensor(statDT, Shape{ch}))
	}
	return outs, nil
}

// LayerNormalization returns Y like X, and Mean and InvStdDev with the
// normalised axes kept as 1.
func inferLayerNorm(c *inferCtx) ([]*Type, error) {
	stash := DType(c.n.AttrInt("stash_type", int64(Float32)))
	xs, ok := c.shape(0)
	if !ok {
		return []*Type{c.in(0), unranked(stash), unranked(stash)}, nil
	}
	axis, err := normAxis(c.n.AttrInt("axis", -1), len(xs))
	if err != nil {
		return nil, err
	}
	st := append(Shape{}, xs...)
	for i := axis; i < len(st); i++ {
		st[i] = D(1)
	}
	return []*Type{c.in(0), tensor(stash, st), tensor(stash, st)}, nil
}

// inferRNN covers RNN, GRU and LSTM: Y, Y_h and (LSTM) Y_c.
func inferRNN(c *inferCtx) ([]*Type, error) {
	dt := c.dtype(0)
	dirs := int64(1)
	switch d := c.n.AttrString("direction", "forward"); d {
	case "forward", "reverse":
	case "bidirectional":
		dirs = 2
	default:
		return nil, c.errorf("unknown direction %q", d)
	}
	hidden := UnknownDim
	if h := c.n.AttrInt("hidden_size", -1); h > 0 {
		hidden = D(h)
	} else if r, ok := c.shape(2); ok && len(r) == 3 {
		hidden = r[2]
	}
	seq, batch := UnknownDim, UnknownDim
	layout := c.n.AttrInt("layout", 0)
	if xs, ok := c.shape(0); ok {
		if len(xs) != 3 {
			return nil, c.errorf("X %s needs rank 3", xs)
		}
		seq, batch = xs[0], xs[1]
		if layout != 0 {
			seq, batch = batch, seq
		}
	}
	nd := D(dirs)
	y := Shape{seq, nd, batch, hidden}
	yh := Shape{nd, batch, hidden}
	if layout != 0 {
		y = Shape{batch, seq, nd, hidden}
		yh = Shape{batch, nd, hidden}
	}
	return []*Type{tensor(dt, y), tensor(dt, yh), tensor(dt, yh)}, nil
}

func inferDepthToSpace(c *inferCtx) ([]*Type, error) {
	dt := c.dtype(0)
	xs, ok := c.shape(0)
	b := c.n.AttrInt("blocksize", 0)
	if b <= 0 || b > math.MaxInt32 {
		return nil, c.errorf("blocksize %d out of range", b)
	}
	if !ok {
		return []*Type{unranked(dt)}, nil
	}
	if len(xs) != 4 {
		return nil, c.errorf("input %s needs rank 4", xs)
	}
	ch := UnknownDim
	if xs[1].Known() {
		if xs[1].Value%(b*b) != 0 {
			return nil, c.errorf("%d channels do not divide by blocksize² %d", xs[1].Value, b*b)
		}
		ch = D(xs[1].Value / (b * b))
	}
	return []*Type{tensor(dt, Shape{xs[0], ch, mulDim(xs[2], D(b)), mulDim(xs[3], D(b))})}, nil
}

func inferSpaceToDepth(c *inferCtx) ([]*Type, error) {
	dt := c.dtype(0)
	xs, ok := c.shape(0)
	b := c.n.AttrInt("blocksize", 0)
	if b <= 0 || b > math.MaxInt32 {
		return nil, c.errorf("blocksize %d out of range", b)
	}
	if !ok {
		return []*Type{unranked(dt)}, nil
	}
	if len(xs) != 4 {
		return nil, c.errorf("input %s needs rank 4", xs)
	}
	out := Shape{xs[0], mulDim(xs[1], D(b*b)), UnknownDim, UnknownDim}
	for i := 2; i < 4; i++ {
		if xs[i].Known() {
			if xs[i].Value%b != 0 {
				return nil, c.errorf("spatial size %d does not divide by blocksize %d", xs[i].Value, b)
			}
			out[i] = D(xs[i].Value / b)
		}
	}
	return []*Type{tensor(dt, out)}, nil
}

// GridSample: X [N,C,D1..] sampled at grid [N,G1..,r] gives [N,C,G1..].
func inferGridSample(c *inferCtx) ([]*Type, error) {
	dt := c.dtype(0)
	xs, okx := c.shape(0)
	gs, okg := c.shape(1)
	if !okx || !okg {
		return []*Type{unranked(dt)}, nil
	}
	if len(xs) < 3 || len(gs) != len(xs) {
		return nil, c.errorf("input %s and grid %s do not fit", xs, gs)
	}
	n, good := mergeDim(xs[0], gs[0])
	if !good {
		return nil, c.errorf("batch of input %s and grid %s differ", xs, gs)
	}
	out := append(Shape{n, xs[1]}, gs[1:len(gs)-1]...)
	return []*Type{tensor(dt, out)}, nil
}

func inferRoiAlign(c *inferCtx) ([]*Type, error) {
	dt := c.dtype(0)
	ch, rois := UnknownDim, UnknownDim
	if xs, ok := c.shape(0); ok && len(xs) == 4 {
		ch = xs[1]
	}
	if rs, ok := c.shape(1); ok && len(rs) == 2 {
		rois = rs[0]
	}
	h, w := c.n.AttrInt("output_height", 1), c.n.AttrInt("output_width", 1)
	return []*Type{tensor(dt, Shape{rois, ch, D(h), D(w)})}, nil
}

func inferMaxRoiPool(c *inferCtx) ([]*Type, error) {
	dt := c.dtype(0)
	ps := c.n.AttrInts("pooled_shape")
	if len(ps) != 2 {
		return []*Type{unranked(dt)}, nil
	}
	ch, rois := UnknownDim, UnknownDim
	if xs, ok := c.shape(0); ok && len(xs) == 4 {
		ch = xs[1]
	}
	if rs, ok := c.shape(1); ok && len(rs) == 2 {
		rois = rs[0]
	}
	return []*Type{tensor(dt, Shape{rois, ch, D(ps[0]), D(ps[1])})}, nil
}
