package runtime

import (
	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/kernels"
)

// QOperator fast paths: a QLinearConv or QLinearMatMul whose weights,
// scales and zero points (and bias) are constants runs on the same fused
// steps as a QDQ chain (qfuse.go): prepacked weights, an exact int32
// product and one requantisation per output channel. Inputs of a shape
// the fused step does not take (3-D convolutions, 1-D matrices) run on
// the general kernel.

// qopFast is a fused step with the general kernel as fallback.
type qopFast struct {
	fast interface {
		kernel
		fits(x *ir.Tensor) bool
	}
	consts map[int]*ir.Tensor // inputs the fast step was built for
	slow   kernel
}

func (k *qopFast) run(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
	ok := len(in) > 0 && in[0] != nil && k.fast.fits(in[0])
	for i, c := range k.consts {
		if i >= len(in) || in[i] != c {
			ok = false
		}
	}
	if ok {
		return k.fast.run(e, in[:1])
	}
	return k.slow.run(e, in)
}

func (k *qconvStep) fits(x *ir.Tensor) bool {
	return x.DType == k.xdt && (len(x.Dims) == 3 || len(x.Dims) == 4) && len(x.Dims) == len(k.wDims)
}

func (k *qgemmStep) fits(x *ir.Tensor) bool {
	return x.DType == k.xdt && len(x.Dims) >= 2 && int(x.Dims[len(x.Dims)-1]) == k.K
}

// scalarParams returns the per-tensor parameters of a constant scale and
// zero point, or false.
func scalarParams(s, z *ir.Tensor) (qparams, bool) {
	if s == nil || z == nil || s.DType != ir.Float32 || s.NumElements() != 1 || z.NumElements() != 1 ||
		(z.DType != ir.Uint8 && z.DType != ir.Int8) {
		return qparams{}, false
	}
	sv := view[float32](s)[0]
	if !(sv > 0) {
		return qparams{}, false
	}
	return qparams{scale: []float32{sv}, zero: []int32{int32(z.Float64s()[0])}, dt: z.DType}, true
}

// channelParams returns count scales and 8-bit zero points from constant
// tensors holding one or count values each.
func channelParams(s, z *ir.Tensor, count int, dt ir.DType) ([]float32, []byte, bool) {
	if s == nil || z == nil || s.DType != ir.Float32 || z.DType != dt || len(s.Dims) > 1 || len(z.Dims) > 1 {
		return nil, nil, false
	}
	ns, nz := int(s.NumElements()), int(z.NumElements())
	if ns != 1 && ns != count || nz != 1 && nz != count {
		return nil, nil, false
	}
	sv := view[float32](s)
	scale, zero := make([]float32, count), make([]byte, count)
	for m := range scale {
		scale[m] = sv[min(m, ns-1)]
		zero[m] = z.Data[min(m, nz-1)]
		if !(scale[m] > 0) {
			return nil, nil, false
		}
	}
	return scale, zero, true
}

// fastQLinearConv builds the fused step of a QLinearConv with constant
// parameters, or returns nil.
func fastQLinearConv(b *buildCtx, attrs *windowAttrs, group int, slow kernel) kernel {
	xp, ok1 := scalarParams(b.constInput(1), b.constInput(2))
	yp, ok2 := scalarParams(b.constInput(6), b.constInput(7))
	w := b.constInput(3)
	if !ok1 || !ok2 || w == nil || (w.DType != ir.Uint8 && w.DType != ir.Int8) || len(w.Dims) < 3 || len(w.Dims) > 4 {
		return nil
	}
	M := int(w.Dims[0])
	ws, wz, ok := channelParams(b.constInput(4), b.constInput(5), M, w.DType)
	if !ok {
		return nil
	}
	consts := map[int]*ir.Tensor{}
	for i := 1; i < 8; i++ {
		consts[i] = b.constInput(i)
	}
	bias := make([]int32, M)
	if b.n.Input(8) != nil {
		bt := b.constInput(8)
		if bt == nil || bt.DType != ir.Int32 || bt.NumElements() != int64(M) {
			return nil
		}
		copy(bias, view[int32](bt))
		consts[8] = bt
	}
	scale := make([]float32, M)
	for m := range scale {
		scale[m] = xp.scale[0] * ws[m] / yp.scale[0]
	}
	lo, hi := qrange32(yp.dt)
	k := &qconvStep{attrs: attrs, group: group, wDims: w.Dims, w: w.Data, wSigned: w.DType == ir.Int8, wZero: wz,
		xdt: xp.dt, xZero: byte(xp.zero[0]), bias: bias, scale: scale,
		out:    qout{dt: yp.dt, zero: yp.zero[0], lo: lo, hi: hi, outScale: yp.scale[0]},
		packed: map[kernels.Conv2DParams]*kernels.QPackedConv2D{}}
	k.rq = kernels.Requant{Bias: bias, Scale: scale, Zero: yp.zero[0], Lo: lo, Hi: hi}
	return &qopFast{fast: k, consts: consts, slow: slow}
}

// fastQLinearMatMul builds the fused step of a QLinearMatMul with a
// constant 2-D B and constant parameters, or returns nil.
func fastQLinearMatMul(b *buildCtx, slow kernel) kernel {
	ap, ok1 := scalarParams(b.constInput(1), b.constInput(2))
	yp, ok2 := scalarParams(b.constInput(6), b.constInput(7))
	w := b.constInput(3)
	if !ok1 || !ok2 || w == nil || (w.DType != ir.Uint8 && w.DType != ir.Int8) || len(w.Dims) != 2 || w.NumElements() == 0 {
		return nil
	}
	K, N := int(w.Dims[0]), int(w.Dims[1])
	ws, wz, ok := channelParams(b.constInput(4), b.constInput(5), N, w.DType)
	if !ok {
		return nil
	}
	consts := map[int]*ir.Tensor{}
	for i := 1; i < 8; i++ {
		consts[i] = b.constInput(i)
	}
	scale := make([]float32, N)
	for j := range scale {
		scale[j] = ap.scale[0] * ws[j] / yp.scale[0]
	}
	lo, hi := qrange32(yp.dt)
	k := &qgemmStep{K: K, N: N, pb: kernels.QPackB(K, N, w.Data, N, w.DType == ir.Int8, wz),
		xdt: ap.dt, xZero: byte(ap.zero[0]), bias: make([]int32, N), scale: scale,
		out:    qout{dt: yp.dt, zero: yp.zero[0], lo: lo, hi: hi, outScale: yp.scale[0]},
		matmul: true}
	return &qopFast{fast: k, consts: consts, slow: slow}
}
