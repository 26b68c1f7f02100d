package ir

// Inference for the remaining operators that are cheap to type: losses,
// signal windows and transforms, optionals and text operators.

func init() {
	setInfer(inferNLLLoss, "NegativeLogLikelihoodLoss")
	setInfer(inferSCELoss, "SoftmaxCrossEntropyLoss")
	setInfer(inferWindow, "BlackmanWindow", "HannWindow", "HammingWindow")
	setInfer(inferDFT, "DFT")
	setInfer(inferSTFT, "STFT")
	setInfer(inferMelWeightMatrix, "MelWeightMatrix")
	setInfer(inferOptional, "Optional")
	setInfer(inferOptionalHasElement, "OptionalHasElement")
	setInfer(inferOptionalGetElement, "OptionalGetElement")
	setInfer(inferTfIdf, "TfIdfVectorizer")
	setInfer(inferStringNormalizer, "StringNormalizer")
	setInfer(inferBool1, "RegexFullMatch")
	setInfer(inferBroadcastOp(false, nil), "StringConcat")
	setInfer(inferAffineGrid, "AffineGrid")
	setInfer(inferSequenceConstruct, "SequenceConstruct")
	setInfer(inferSequenceEmpty, "SequenceEmpty")
	setInfer(inferSequenceAt, "SequenceAt")
	setInfer(inferSequenceLength, "SequenceLength")
	setInfer(inferSequenceInsert, "SequenceInsert")
	setInfer(inferSequenceErase, "SequenceErase")
	setInfer(inferSplitToSequence, "SplitToSequence")
	setInfer(inferConcatFromSequence, "ConcatFromSequence")
}

func seqOf(elem *Type) *Type { return &Type{Kind: KindSequence, Elem: elem} }

// SequenceConstruct's elements have what all inputs share.
func inferSequenceConstruct(c *inferCtx) ([]*Type, error) {
	var elem *Type
	for i := range c.n.Inputs {
		t := c.in(i)
		if i == 0 {
			elem = t
		} else {
			elem = joinTypes(elem, t)
		}
	}
	return []*Type{seqOf(elem)}, nil
}

func inferSequenceEmpty(c *inferCtx) ([]*Type, error) {
	return []*Type{seqOf(unranked(DType(c.n.AttrInt("dtype", int64(Float32)))))}, nil
}

func inferSequenceAt(c *inferCtx) ([]*Type, error) {
	if t := c.in(0); t != nil && t.Kind == KindSequence {
		return []*Type{t.Elem}, nil
	}
	return []*Type{nil}, nil
}

func inferSequenceLength(c *inferCtx) ([]*Type, error) {
	return []*Type{tensor(Int64, Shape{})}, nil
}

// SequenceInsert's elements are the old ones or the inserted tensor.
func inferSequenceInsert(c *inferCtx) ([]*Type, error) {
	if t := c.in(0); t != nil && t.Kind == KindSequence {
		return []*Type{seqOf(joinTypes(t.Elem, c.in(1)))}, nil
	}
	return []*Type{nil}, nil
}

func inferSequenceErase(c *inferCtx) ([]*Type, error) {
	return []*Type{c.in(0)}, nil
}

// SplitToSequence yields pieces along axis: of the given size when split
// is a scalar, of unknown size otherwise, without the axis when keepdims
// is 0 and split is absent.
func inferSplitToSequence(c *inferCtx) ([]*Type, error) {
	dt := c.dtype(0)
	in, ok := c.shape(0)
	if !ok {
		return []*Type{seqOf(unranked(dt))}, nil
	}
	axis, err := normAxis(c.n.AttrInt("axis", 0), len(in))
	if err != nil {
		return nil, err
	}
	out := append(Shape{}, in...)
	switch {
	case !c.has(1):
		if c.n.AttrInt("keepdims", 1) == 0 {
			out = append(out[:axis], out[axis+1:]...)
		} else {
			out[axis] = D(1)
		}
	case c.rank(1) == 0:
		out[axis] = UnknownDim // the last piece may be shorter
		if xs, ok := c.ints(1); ok && len(xs) == 1 && in[axis].Known() && xs[0] > 0 && in[axis].Value%xs[0] == 0 {
			out[axis] = D(xs[0])
		}
	default:
		out[axis] = UnknownDim
	}
	return []*Type{seqOf(tensor(dt, out))}, nil
}

// ConcatFromSequence joins the elements along axis (a new one when
// new_axis is set); their number is unknown.
func inferConcatFromSequence(c *inferCtx) ([]*Type, error) {
	t := c.in(0)
	if t == nil || t.Kind != KindSequence || !t.Elem.IsTensor() {
		return []*Type{nil}, nil
	}
	e := t.Elem
	if !e.HasShape {
		return []*Type{unranked(e.DType)}, nil
	}
	r := len(e.Shape)
	newAxis := c.n.AttrInt("new_axis", 0) != 0
	if newAxis {
		r++
	}
	axis, err := normAxis(c.n.AttrInt("axis", 0), r)
	if err != nil {
		return nil, err
	}
	out := append(Shape{}, e.Shape...)
	if newAxis {
		out = append(append(out[:axis:axis], UnknownDim), e.Shape[axis:]...)
	} else {
		out[axis] = UnknownDim
	}
	return []*Type{tensor(e.DType, out)}, nil
}

// lossShape is the shape of a loss with the given reduction over targets
// of shape target.
func lossShape(c *inferCtx, target Shape, ok bool) (Shape, bool, error) {
	switch r := c.n.AttrString("reduction", "mean"); r {
	case "none":
		return target, ok, nil
	case "mean", "sum":
		return Shape{}, true, nil
	default:
		return nil, false, c.errorf("unknown reduction %q", r)
	}
}

// checkLossInputs checks that scores [N,C,d...] and targets [N,d...]
// agree.
func checkLossInputs(c *inferCtx) error {
	in, ok1 := c.shape(0)
	tg, ok2 := c.shape(1)
	if !ok1 || !ok2 {
		return nil
	}
	if len(in) < 2 || len(tg) != len(in)-1 {
		return c.errorf("scores %s and targets %s do not fit", in, tg)
	}
	if differentDim(in[0], tg[0]) {
		return c.errorf("scores %s and targets %s differ in batch", in, tg)
	}
	for i := 2; i < len(in); i++ {
		if differentDim(in[i], tg[i-1]) {
			return c.errorf("scores %s and targets %s differ", in, tg)
		}
	}
	return nil
}

func inferNLLLoss(c *inferCtx) ([]*Type, error) {
	if err := checkLossInputs(c); err != nil {
		return nil, err
	}
	tg, ok := c.shape(1)
	s, ok, err := lossShape(c, tg, ok)
	if err != nil {
		return nil, err
	}
	return []*Type{tensorIf(c.dtype(0), s, ok)}, nil
}

func inferSCELoss(c *inferCtx) ([]*Type, error) {
	if err := checkLossInputs(c); err != nil {
		return nil, err
	}
	tg, ok := c.shape(1)
	s, ok, err := lossShape(c, tg, ok)
	if err != nil {
		return nil, err
	}
	in, iok := c.shape(0)
	return []*Type{tensorIf(c.dtype(0), s, ok), tensorIf(c.dtype(0), in, iok)}, nil
}

// The window operators return a vector of the requested size.
func inferWindow(c *inferCtx) ([]*Type, error) {
	dt := DType(c.n.AttrInt("output_datatype", int64(Float32)))
	n := UnknownDim
	if xs, ok := c.values(0); ok && len(xs) == 1 {
		if xs[0].known && xs[0].v < 0 {
			return nil, c.errorf("negative window size %d", xs[0].v)
		}
		n = xs[0].dim()
	}
	return []*Type{tensor(dt, Shape{n})}, nil
}

// DFT keeps its input's shape but for the transformed axis (dft_length,
// or half of it plus one when onesided) and a last axis of 2 (real and
// imaginary parts). Opset 20 moved axis from an attribute to an input.
func inferDFT(c *inferCtx) ([]*Type, error) {
	dt := c.dtype(0)
	in, ok := c.shape(0)
	if !ok {
		return []*Type{unranked(dt)}, nil
	}
	if len(in) < 2 {
		return nil, c.errorf("input %s needs rank 2 or more", in)
	}
	axis := c.n.AttrInt("axis", 1)
	if c.opset >= 20 {
		axis = -2
		if c.has(2) {
			xs, ok := c.ints(2)
			if !ok || len(xs) != 1 {
				return []*Type{tensor(dt, unknownShape(len(in)))}, nil
			}
			axis = xs[0]
		}
	}
	a, err := normAxis(axis, len(in))
	if err != nil {
		return nil, err
	}
	if a == len(in)-1 {
		return nil, c.errorf("axis %d is the complex axis", axis)
	}
	out := append(Shape{}, in...)
	out[len(out)-1] = D(2)
	n := in[a]
	if c.has(1) {
		n = UnknownDim
		if xs, ok := c.values(1); ok && len(xs) == 1 {
			n = xs[0].dim()
		}
	}
	if c.n.AttrInt("onesided", 0) != 0 {
		if n.Known() {
			n = D(n.Value/2 + 1)
		} else {
			n = UnknownDim
		}
	}
	out[a] = n
	return []*Type{tensor(dt, out)}, nil
}

// STFT frames a signal [batch, length, 1|2] into
// [batch, frames, bins, 2].
func inferSTFT(c *inferCtx) ([]*Type, error) {
	dt := c.dtype(0)
	in, ok := c.shape(0)
	if ok && len(in) != 3 {
		return nil, c.errorf("signal %s needs rank 3", in)
	}
	batch, length := UnknownDim, UnknownDim
	if ok {
		batch, length = in[0], in[1]
	}
	frameLen := UnknownDim
	if c.has(3) {
		if xs, ok := c.ints(3); ok && len(xs) == 1 && xs[0] > 0 {
			frameLen = D(xs[0])
		}
	} else if w, ok := c.shape(2); ok && len(w) == 1 {
		frameLen = w[0]
	}
	frames, bins := UnknownDim, frameLen
	if st, ok := c.ints(1); ok && len(st) == 1 && st[0] > 0 && frameLen.Known() && length.Known() {
		if length.Value < frameLen.Value {
			return nil, c.errorf("frame length %d exceeds signal length %d", frameLen.Value, length.Value)
		}
		frames = D((length.Value-frameLen.Value)/st[0] + 1)
	}
	if c.n.AttrInt("onesided", 1) != 0 {
		bins = UnknownDim
		if frameLen.Known() {
			bins = D(frameLen.Value/2 + 1)
		}
	}
	return []*Type{tensor(dt, Shape{batch, frames, bins, D(2)})}, nil
}

func inferMelWeightMatrix(c *inferCtx) ([]*Type, error) {
	dt := DType(c.n.AttrInt("output_datatype", int64(Float32)))
	bins, rows := UnknownDim, UnknownDim
	if xs, ok := c.ints(0); ok && len(xs) == 1 && xs[0] >= 0 {
		bins = D(xs[0])
	}
	if xs, ok := c.ints(1); ok && len(xs) == 1 && xs[0] >= 0 {
		rows = D(xs[0]/2 + 1)
	}
	return []*Type{tensor(dt, Shape{rows, bins})}, nil
}

func inferOptional(c *inferCtx) ([]*Type, error) {
	if t := c.in(0); t != nil {
		return []*Type{{Kind: KindOptional, Elem: t.Clone()}}, nil
	}
	return []*Type{nil}, nil
}

func inferOptionalHasElement(c *inferCtx) ([]*Type, error) {
	return []*Type{tensor(Bool, Shape{})}, nil
}

func inferOptionalGetElement(c *inferCtx) ([]*Type, error) {
	t := c.in(0)
	if t != nil && t.Kind == KindOptional {
		return []*Type{t.Elem}, nil
	}
	return []*Type{t}, nil
}

// TfIdfVectorizer maps [C] to [K] and [N,C] to [N,K], K the largest
// n-gram index plus one.
func inferTfIdf(c *inferCtx) ([]*Type, error) {
	k := int64(-1)
	for _, i := range c.n.AttrInts("ngram_indexes") {
		k = max(k, i)
	}
	kd := UnknownDim
	if k >= 0 {
		kd = D(k + 1)
	}
	in, ok := c.shape(0)
	switch {
	case !ok:
		return []*Type{unranked(Float32)}, nil
	case len(in) == 1:
		return []*Type{tensor(Float32, Shape{kd})}, nil
	case len(in) == 2:
		return []*Type{tensor(Float32, Shape{in[0], kd})}, nil
	}
	return nil, c.errorf("input %s needs rank 1 or 2", in)
}

// StringNormalizer keeps its input's shape unless stop words may remove
// some of the strings.
func inferStringNormalizer(c *inferCtx) ([]*Type, error) {
	in, ok := c.shape(0)
	if !ok {
		return []*Type{unranked(String)}, nil
	}
	if len(in) == 0 || len(in) > 2 {
		return nil, c.errorf("input %s needs rank 1 or 2", in)
	}
	out := append(Shape{}, in...)
	if a := c.n.Attr("stopwords"); a != nil && len(a.Strings) > 0 {
		out[len(out)-1] = UnknownDim
	}
	return []*Type{tensor(String, out)}, nil
}

// AffineGrid turns size [N,C,H,W] (or [N,C,D,H,W]) into a grid
// [N,H,W,2] (or [N,D,H,W,3]).
func inferAffineGrid(c *inferCtx) ([]*Type, error) {
	dt := c.dtype(0)
	size, ok := c.values(1)
	if !ok {
		return []*Type{unranked(dt)}, nil
	}
	if len(size) != 4 && len(size) != 5 {
		return nil, c.errorf("size %v needs 4 or 5 entries", size)
	}
	out := Shape{size[0].dim()}
	for _, x := range size[2:] {
		out = append(out, x.dim())
	}
	return []*Type{tensor(dt, append(out, D(int64(len(size)-2))))}, nil
}
