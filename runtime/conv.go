package runtime

import (
	"fmt"
	"math"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/kernels"
)

// Conv and ConvTranspose on float tensors of 1 to 3 (or more) spatial
// dimensions. 1-D and 2-D convolutions run on kernels.Conv2D; others use
// im2col and a GEMM per group.

func init() {
	register("Conv", 1, buildConv)
	register("ConvTranspose", 1, buildConvTranspose)
}

type convKernel struct {
	attrs *windowAttrs
	group int
	// fused is an activation absorbed from the node that reads the
	// output, and residual an absorbed Add whose other operand comes as
	// the last input (see fuse.go).
	fused    kernels.Fused
	residual bool
	// constW holds float32 weights known at build time; packed caches
	// them prepacked per geometry (inputs of one shape hit one entry).
	constT *ir.Tensor
	constW []float32
	packed map[kernels.Conv2DParams]*kernels.PackedConv2D
}

func buildConv(b *buildCtx) (kernel, error) {
	attrs, err := parseWindowAttrs(b.n)
	if err != nil {
		return nil, err
	}
	group := int(b.n.AttrInt("group", 1))
	if group < 1 {
		return nil, fmt.Errorf("group %d must be positive", group)
	}
	k := &convKernel{attrs: attrs, group: group, fused: b.fused, residual: b.residual}
	if w := b.constInput(1); w != nil && w.DType == ir.Float32 {
		k.constT, k.constW = w, view[float32](w)
		k.packed = map[kernels.Conv2DParams]*kernels.PackedConv2D{}
	}
	return k, nil
}

// convShapes validates X (N, C, spatial…) and W (M, C/group, k…) and
// resolves the geometry.
func convShapes(attrs *windowAttrs, group int, x, w []int64) (*convGeom, error) {
	if len(x) < 3 || len(w) != len(x) {
		return nil, fmt.Errorf("input %v and weights %v must have the same rank ≥ 3", x, w)
	}
	C, M := x[1], w[0]
	if C%int64(group) != 0 || M%int64(group) != 0 || w[1]*int64(group) != C {
		return nil, fmt.Errorf("weights %v do not fit input %v with group %d", w, x, group)
	}
	if attrs.kernel != nil {
		for i, k := range attrs.kernel {
			if k != w[2+i] {
				return nil, fmt.Errorf("kernel_shape %v disagrees with weights %v", attrs.kernel, w)
			}
		}
	}
	return attrs.resolve(x[2:], w[2:])
}

func (k *convKernel) run(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
	var res *ir.Tensor
	if k.residual {
		res, in = in[len(in)-1], in[:len(in)-1]
	}
	x, w, bias, dt, err := convOperands(in)
	if err != nil {
		return nil, err
	}
	g, err := convShapes(k.attrs, k.group, x.Dims, w.Dims)
	if err != nil {
		return nil, err
	}
	N, C, M := int(x.Dims[0]), int(x.Dims[1]), int(w.Dims[0])
	if bias != nil && (len(bias.Dims) != 1 || int(bias.Dims[0]) != M) {
		return nil, fmt.Errorf("bias %v does not match %d output channels", bias.Dims, M)
	}
	y, err := e.alloc(ir.Float32, g.outDims(int64(N), int64(M)))
	if err != nil {
		return nil, err
	}
	var bv []float32
	if bias != nil {
		bv = view[float32](bias)
	}
	// The residual is added in the kernels' store when it has exactly the
	// output's type and shape; otherwise (broadcasting, half precision)
	// after the convolution, before the activation.
	var rv []float32
	storeRes := res != nil && dt == ir.Float32 && res.DType == ir.Float32 && sameDims(res.Dims, y.Dims)
	if storeRes {
		rv = view[float32](res)
	}
	fused := k.fused
	if res != nil && !storeRes {
		fused = kernels.Fused{}
	}
	xv, wv, yv := view[float32](x), view[float32](w), view[float32](y)
	if g.outPlane > 0 && N > 0 {
		if p := conv2DParams(g, k.group, N, C, M); p != nil {
			k.conv2D(p, xv, wv, bv, rv, yv, in[1] == k.constT, fused)
		} else {
			convIm2col(g, k.group, N, C, M, xv, wv, bv, yv)
			if rv != nil {
				addF32(yv, yv, rv, 1, 1)
			}
			applyFused(yv, fused)
		}
	}
	if res != nil && !storeRes {
		r := res
		if isHalf(r.DType) {
			r = widen([]*ir.Tensor{r})[0]
		}
		sum, err := arith(e, "Add", false, y, r)
		if err != nil {
			return nil, err
		}
		if sum.DType != ir.Float32 {
			return nil, fmt.Errorf("residual operand of type %s", res.DType)
		}
		applyFused(view[float32](sum), k.fused)
		e.release(y) // the convolution alone is not an output
		y = sum
	}
	if dt != ir.Float32 {
		y = mustNarrow(e, y, dt)
	}
	return []*ir.Tensor{y}, nil
}

// convOperands returns the input, weights and optional bias of a Conv or
// ConvTranspose as float32 (half-precision operands widened) and the
// input's own type, to narrow the result back to.
func convOperands(in []*ir.Tensor) (x, w, bias *ir.Tensor, dt ir.DType, err error) {
	if err := needInputs(in, 2); err != nil {
		return nil, nil, nil, 0, err
	}
	x, w = in[0], in[1]
	if len(in) > 2 {
		bias = in[2]
	}
	dt = x.DType
	if isHalf(dt) {
		wd := widen([]*ir.Tensor{x, w, bias})
		x, w, bias = wd[0], wd[1], wd[2]
	}
	if x.DType != ir.Float32 || w.DType != ir.Float32 || bias != nil && bias.DType != ir.Float32 {
		return nil, nil, nil, 0, fmt.Errorf("unsupported types %s, %s", x.DType, w.DType)
	}
	return x, w, bias, dt, nil
}

func mustNarrow(e *env, t *ir.Tensor, dt ir.DType) *ir.Tensor {
	out, _ := narrow(e, t, dt) // cannot fail: same shape as t, which fit
	return out
}

// conv2DParams describes a 1-D (as height 1) or 2-D convolution for
// package kernels, or returns nil when g is not one kernels accepts.
func conv2DParams(g *convGeom, group, N, C, M int) *kernels.Conv2DParams {
	if len(g.in) > 2 {
		return nil
	}
	p := &kernels.Conv2DParams{N: N, C: C, H: 1, W: g.in[0], M: M, KH: 1, KW: g.kernel[0],
		StrideH: 1, StrideW: g.strides[0], DilH: 1, DilW: g.dilations[0],
		PadL: g.padBegin[0], PadR: g.padEnd[0], Group: group, OH: 1, OW: g.out[0]}
	if len(g.in) == 2 {
		p.H, p.W, p.KH, p.KW = g.in[0], g.in[1], g.kernel[0], g.kernel[1]
		p.StrideH, p.StrideW = g.strides[0], g.strides[1]
		p.DilH, p.DilW = g.dilations[0], g.dilations[1]
		p.PadT, p.PadL, p.PadB, p.PadR = g.padBegin[0], g.padBegin[1], g.padEnd[0], g.padEnd[1]
		p.OH, p.OW = g.out[0], g.out[1]
	}
	if p.Check() != nil {
		return nil
	}
	return p
}

// conv2D runs the convolution on package kernels, with prepacked weights
// when they are constant.
func (k *convKernel) conv2D(p *kernels.Conv2DParams, x, w, bias, res, y []float32, constW bool, fused kernels.Fused) {
	if !constW || k.constW == nil {
		kernels.Conv2DFusedAdd(p, x, w, bias, res, y, fused)
		return
	}
	pc := k.packed[*p]
	if pc == nil {
		if len(k.packed) >= 8 { // many input shapes: keep memory bounded
			clear(k.packed)
		}
		pc = kernels.PackConv2D(p, k.constW)
		k.packed[*p] = pc
	}
	pc.RunAdd(x, bias, res, y, fused)
}

// applyFused applies an absorbed activation in place.
func applyFused(y []float32, f kernels.Fused) {
	lo, hi := float32(math.Inf(-1)), float32(math.Inf(1))
	switch f.Act {
	case kernels.ActNone:
		return
	case kernels.ActRelu:
		lo = 0
	case kernels.ActClip:
		lo, hi = f.Lo, f.Hi
	}
	for i, v := range y {
		y[i] = min(max(v, lo), hi)
	}
}

// convIm2col computes a convolution of any rank as, per image and group,
// W_g (M/g × C/g·k) times the im2col matrix (C/g·k × out).
func convIm2col(g *convGeom, group, N, C, M int, x, w, bias, y []float32) {
	cg, mg := C/group, M/group
	K := cg * g.kernelSize
	var cols []float32
	var maps [][][]int
	pointwise := g.isPointwise()
	if !pointwise {
		cols = make([]float32, K*g.outPlane)
		maps = g.kernelMaps()
	}
	for n := 0; n < N; n++ {
		for gi := 0; gi < group; gi++ {
			xg := x[(n*C+gi*cg)*g.inPlane:]
			B := xg
			if !pointwise {
				im2col(g, maps, xg, cg, cols, 0)
				B = cols
			}
			yg := y[(n*M+gi*mg)*g.outPlane:]
			kernels.Sgemm(false, false, mg, g.outPlane, K, 1, w[gi*mg*K:], K, B, g.outPlane, 0, yg, g.outPlane)
		}
		if bias != nil {
			for m := 0; m < M; m++ {
				row := y[(n*M+m)*g.outPlane : (n*M+m+1)*g.outPlane]
				for i := range row {
					row[i] += bias[m]
				}
			}
		}
	}
}

type convTransposeKernel struct {
	autoPad       string
	strides, dils []int64
	pads          []int64
	outputPadding []int64
	outputShape   []int64
	kernelShape   []int64
	group         int
}

func buildConvTranspose(b *buildCtx) (kernel, error) {
	n := b.n
	k := &convTransposeKernel{
		autoPad:       n.AttrString("auto_pad", "NOTSET"),
		strides:       n.AttrInts("strides"),
		dils:          n.AttrInts("dilations"),
		pads:          n.AttrInts("pads"),
		outputPadding: n.AttrInts("output_padding"),
		outputShape:   n.AttrInts("output_shape"),
		kernelShape:   n.AttrInts("kernel_shape"),
		group:         int(n.AttrInt("group", 1)),
	}
	switch k.autoPad {
	case "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID":
	default:
		return nil, fmt.Errorf("unknown auto_pad %q", k.autoPad)
	}
	if k.group < 1 {
		return nil, fmt.Errorf("group %d must be positive", k.group)
	}
	return k, nil
}

// geometry resolves the transposed convolution's output size and pads.
func (k *convTransposeKernel) geometry(in, kern []int64) (*convGeom, error) {
	nd := len(in)
	at := func(v []int64, i int, def int64, what string) (int, error) {
		if v == nil {
			return int(def), nil
		}
		if len(v) != nd {
			return 0, fmt.Errorf("%s %v does not match %d spatial dimensions", what, v, nd)
		}
		return int(v[i]), nil
	}
	if k.pads != nil && len(k.pads) != 2*nd {
		return nil, fmt.Errorf("pads %v do not match %d spatial dimensions", k.pads, nd)
	}
	outShape := k.outputShape
	if len(outShape) == nd+2 {
		outShape = outShape[2:]
	}
	if outShape != nil && len(outShape) != nd {
		return nil, fmt.Errorf("output_shape %v does not match %d spatial dimensions", k.outputShape, nd)
	}
	g := &convGeom{inPlane: 1, outPlane: 1, kernelSize: 1}
	for i := 0; i < nd; i++ {
		s, err := at(k.strides, i, 1, "strides")
		if err != nil {
			return nil, err
		}
		d, err := at(k.dils, i, 1, "dilations")
		if err != nil {
			return nil, err
		}
		op, err := at(k.outputPadding, i, 0, "output_padding")
		if err != nil {
			return nil, err
		}
		size, kk := int(in[i]), int(kern[i])
		if s < 1 || d < 1 || kk < 1 || op < 0 {
			return nil, fmt.Errorf("invalid strides %v, dilations %v or output_padding %v", k.strides, k.dils, k.outputPadding)
		}
		ext := (kk-1)*d + 1
		full := s*(size-1) + op + ext
		var pb, pe, out int
		switch {
		case outShape != nil:
			// A larger output than the full one is padded with zeros at
			// the end (as output_padding would).
			out = int(outShape[i])
			total := max(full-out, 0)
			if k.autoPad == "SAME_UPPER" {
				pb, pe = total/2, total-total/2
			} else {
				pb, pe = total-total/2, total/2
			}
		case k.autoPad == "SAME_UPPER" || k.autoPad == "SAME_LOWER":
			out = size * s
			total := full - out
			if k.autoPad == "SAME_UPPER" {
				pb, pe = total/2, total-total/2
			} else {
				pb, pe = total-total/2, total/2
			}
		default:
			if k.pads != nil && k.autoPad != "VALID" {
				pb, pe = int(k.pads[i]), int(k.pads[i+nd])
			}
			out = full - pb - pe
		}
		if out < 0 {
			return nil, fmt.Errorf("output size %d is negative", out)
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

func (k *convTransposeKernel) run(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
	x, w, bias, dt, err := convOperands(in)
	if err != nil {
		return nil, err
	}
	if len(x.Dims) < 3 || len(w.Dims) != len(x.Dims) {
		return nil, fmt.Errorf("input %v and weights %v must have the same rank ≥ 3", x.Dims, w.Dims)
	}
	N, C := int(x.Dims[0]), int(x.Dims[1])
	group := k.group
	if int(w.Dims[0]) != C || C%group != 0 {
		return nil, fmt.Errorf("weights %v do not fit input %v with group %d", w.Dims, x.Dims, group)
	}
	if k.kernelShape != nil && !sameDims(k.kernelShape, w.Dims[2:]) {
		return nil, fmt.Errorf("kernel_shape %v disagrees with weights %v", k.kernelShape, w.Dims)
	}
	mg := int(w.Dims[1])
	M := mg * group
	g, err := k.geometry(x.Dims[2:], w.Dims[2:])
	if err != nil {
		return nil, err
	}
	if bias != nil && (len(bias.Dims) != 1 || int(bias.Dims[0]) != M) {
		return nil, fmt.Errorf("bias %v does not match %d output channels", bias.Dims, M)
	}
	y, err := e.alloc(ir.Float32, g.outDims(int64(N), int64(M)))
	if err != nil {
		return nil, err
	}
	xv, wv, yv := view[float32](x), view[float32](w), view[float32](y)
	var bv []float32
	if bias != nil {
		bv = view[float32](bias)
	}
	if p := convTranspose2DParams(g, group, N, C, M); p != nil {
		// 1-D and 2-D: output-stationary bands with scratch from the
		// arena (see kernels.ConvTranspose2D).
		sc, err := e.alloc(ir.Float32, []int64{int64(kernels.ConvTranspose2DScratch(p, kernels.Threads()))})
		if err != nil {
			return nil, err
		}
		kernels.ConvTranspose2D(p, xv, wv, bv, yv, view[float32](sc))
		e.release(sc)
		if dt != ir.Float32 {
			return []*ir.Tensor{mustNarrow(e, y, dt)}, nil
		}
		return []*ir.Tensor{y}, nil
	}
	cg := C / group
	rows := mg * g.kernelSize
	sc, err := e.alloc(ir.Float32, []int64{int64(rows * g.inPlane)})
	if err != nil {
		return nil, err
	}
	defer e.release(sc)
	cols := view[float32](sc)
	for n := 0; n < N; n++ {
		for gi := 0; gi < group; gi++ {
			// cols = W_gᵀ (rows × cg) · X_g (cg × inPlane)
			xg := xv[(n*C+gi*cg)*g.inPlane:]
			wg := wv[gi*cg*rows:]
			kernels.Sgemm(true, false, rows, g.inPlane, cg, 1, wg, rows, xg, g.inPlane, 0, cols, g.inPlane)
			yg := yv[(n*M+gi*mg)*g.outPlane : (n*M+(gi+1)*mg)*g.outPlane]
			clear(yg)
			col2im(g, cols, mg, yg)
		}
		if bias != nil {
			for m := 0; m < M; m++ {
				row := yv[(n*M+m)*g.outPlane : (n*M+m+1)*g.outPlane]
				for i := range row {
					row[i] += bv[m]
				}
			}
		}
	}
	if dt != ir.Float32 {
		return []*ir.Tensor{mustNarrow(e, y, dt)}, nil
	}
	return []*ir.Tensor{y}, nil
}

// convTranspose2DParams describes a 1-D (as height 1) or 2-D transposed
// convolution for package kernels, or returns nil for other ranks.
func convTranspose2DParams(g *convGeom, group, N, C, M int) *kernels.ConvTranspose2DParams {
	if len(g.in) > 2 || g.outPlane == 0 || N == 0 {
		return nil
	}
	p := &kernels.ConvTranspose2DParams{N: N, C: C, H: 1, W: g.in[0], M: M, KH: 1, KW: g.kernel[0],
		StrideH: 1, StrideW: g.strides[0], DilH: 1, DilW: g.dilations[0], PadL: g.padBegin[0],
		Group: group, OH: 1, OW: g.out[0]}
	if len(g.in) == 2 {
		p.H, p.W, p.KH, p.KW = g.in[0], g.in[1], g.kernel[0], g.kernel[1]
		p.StrideH, p.StrideW = g.strides[0], g.strides[1]
		p.DilH, p.DilW = g.dilations[0], g.dilations[1]
		p.PadT, p.PadL = g.padBegin[0], g.padBegin[1]
		p.OH, p.OW = g.out[0], g.out[1]
	}
	if p.Check() != nil {
		return nil
	}
	return p
}

// col2im scatters cols ((channels·kernelSize) × inPlane) into the
// output planes, adding each input position's contribution at
// in·stride − padBegin + kernelPos·dilation.
func col2im(g *convGeom, cols []float32, channels int, y []float32) {
	nd := len(g.in)
	ost := make([]int, nd)
	acc := 1
	for k := nd - 1; k >= 0; k-- {
		ost[k] = acc
		acc *= g.out[k]
	}
	// For each kernel position, per-dim maps input index → output index.
	kp := make([]int, nd)
	maps := make([][]int, nd)
	for k := range maps {
		maps[k] = make([]int, g.in[k])
	}
	ip := make([]int, nd)
	for kidx := 0; kidx < g.kernelSize; kidx++ {
		for k := 0; k < nd; k++ {
			for i := range maps[k] {
				o := i*g.strides[k] - g.padBegin[k] + kp[k]*g.dilations[k]
				if o < 0 || o >= g.out[k] {
					o = -1
				}
				maps[k][i] = o
			}
		}
		for c := 0; c < channels; c++ {
			src := cols[(c*g.kernelSize+kidx)*g.inPlane:]
			dst := y[c*g.outPlane : (c+1)*g.outPlane]
			for k := range ip {
				ip[k] = 0
			}
			for i := 0; i < g.inPlane; i++ {
				off, ok := 0, true
				for k := 0; k < nd; k++ {
					o := maps[k][ip[k]]
					if o < 0 {
						ok = false
						break
					}
					off += o * ost[k]
				}
				if ok {
					dst[off] += src[i]
				}
				for k := nd - 1; k >= 0; k-- {
					ip[k]++
					if ip[k] < g.in[k] {
						break
					}
					ip[k] = 0
				}
			}
		}
		for k := nd - 1; k >= 0; k-- {
			kp[k]++
			if kp[k] < g.kernel[k] {
				break
			}
			kp[k] = 0
		}
	}
}
