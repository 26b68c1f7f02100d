package runtime

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/kernels"
)

// Quantisation operators: (de)quantisation and integer matmul and
// convolution. Integer products accumulate in int32 exactly; requantised
// results round half to even and saturate, as the ONNX reference does.

func init() {
	register("QuantizeLinear", 10, buildQuantize)
	register("DequantizeLinear", 10, buildDequantize)
	simple("DynamicQuantizeLinear", 11, func(b *buildCtx) kernelFunc { return dynamicQuantize })
	register("MatMulInteger", 10, buildMatMulInteger)
	register("QLinearMatMul", 10, buildQLinearMatMul)
	register("ConvInteger", 10, func(b *buildCtx) (kernel, error) { return buildConvInteger(b, false) })
	register("QLinearConv", 10, func(b *buildCtx) (kernel, error) { return buildConvInteger(b, true) })
}

// quantParams expands a scale or zero point (scalar, or 1-D along axis)
// to one value per index of that axis.
func quantParams(t *ir.Tensor, dims []int64, axis int, what string) ([]float64, error) {
	if t == nil {
		return []float64{0}, nil
	}
	n := numel(t.Dims)
	if n == 1 {
		return t.Float64s(), nil
	}
	if len(t.Dims) != 1 || axis < 0 || axis >= len(dims) || int64(n) != dims[axis] {
		return nil, fmt.Errorf("%s %v is neither a scalar nor a vector along axis %d of %v", what, t.Dims, axis, dims)
	}
	return t.Float64s(), nil
}

// axisIndex returns, for element i of a tensor of dims, the index along
// axis (0 when params is a single value).
func axisIndexer(dims []int64, axis int, nparams int) func(i int) int {
	if nparams == 1 {
		return func(int) int { return 0 }
	}
	inner := numel(dims[axis+1:])
	d := int(dims[axis])
	return func(i int) int { return (i / inner) % d }
}

// axisRuns returns the length of the runs of elements of a tensor of
// dims that share one index along axis, and the axis length (1 and the
// whole tensor when nparams is 1).
func axisRuns(dims []int64, axis int, nparams int) (run, dim int) {
	if nparams == 1 || len(dims) == 0 {
		return max(numel(dims), 1), 1
	}
	return numel(dims[axis+1:]), int(dims[axis])
}

func qrange(dt ir.DType) (lo, hi float64, err error) {
	switch dt {
	case ir.Uint8:
		return 0, 255, nil
	case ir.Int8:
		return -128, 127, nil
	case ir.Uint16:
		return 0, 65535, nil
	case ir.Int16:
		return -32768, 32767, nil
	case ir.Int32:
		return math.MinInt32, math.MaxInt32, nil
	}
	return 0, 0, unsupportedf("quantised type %s is not supported", dt)
}

func buildQuantize(b *buildCtx) (kernel, error) {
	axis := b.n.AttrInt("axis", 1)
	if bs := b.n.AttrInt("block_size", 0); bs != 0 {
		return nil, unsupportedf("blocked quantisation (block_size %d) is not supported", bs)
	}
	outType := ir.DType(b.n.AttrInt("output_dtype", 0))
	return kernelFunc(func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := needInputs(in, 2); err != nil {
			return nil, err
		}
		x, scale := in[0], in[1]
		var zp *ir.Tensor
		if len(in) > 2 {
			zp = in[2]
		}
		dt := ir.Uint8
		if zp != nil {
			dt = zp.DType
		} else if outType != ir.Undefined {
			dt = outType
		}
		lo, hi, err := qrange(dt)
		if err != nil {
			return nil, err
		}
		if !x.DType.IsFloat() && x.DType != ir.Int32 {
			return nil, errType(x.DType)
		}
		ax := 0
		if len(x.Dims) > 0 {
			if ax, err = normAxis(axis, len(x.Dims)); err != nil && numel(scale.Dims) != 1 {
				return nil, err
			}
		}
		sv, err := quantParams(scale, x.Dims, ax, "scale")
		if err != nil {
			return nil, err
		}
		zv, err := quantParams(zp, x.Dims, ax, "zero point")
		if err != nil {
			return nil, err
		}
		if len(zv) != 1 && len(zv) != len(sv) {
			return nil, fmt.Errorf("scale and zero point sizes differ")
		}
		si, zi := axisIndexer(x.Dims, ax, len(sv)), axisIndexer(x.Dims, ax, len(zv))
		y, err := e.alloc(dt, x.Dims)
		if err != nil {
			return nil, err
		}
		if x.DType == ir.Float32 && (dt == ir.Uint8 || dt == ir.Int8) {
			// 8-bit fast path: runs of one scale and zero point.
			xv := view[float32](x)
			run, dim := axisRuns(x.Dims, ax, len(sv))
			for r := 0; r*run < len(xv); r++ {
				c := (r % dim)
				s, z := sv[min(c, len(sv)-1)], zv[min(c, len(zv)-1)]
				kernels.Quantize8(y.Data[r*run:(r+1)*run], xv[r*run:(r+1)*run], float32(s), int32(z), int32(lo), int32(hi))
			}
			return []*ir.Tensor{y}, nil
		}
		res := make([]float64, numel(x.Dims))
		if x.DType == ir.Float32 {
			// Divide in float32 like the reference, so ties round alike.
			for i, v := range view[float32](x) {
				q := math.RoundToEven(float64(v / float32(sv[si(i)])))
				res[i] = clamp(q+zv[zi(i)], lo, hi)
			}
		} else {
			for i, v := range x.Float64s() {
				q := math.RoundToEven(v / sv[si(i)])
				res[i] = clamp(q+zv[zi(i)], lo, hi)
			}
		}
		return []*ir.Tensor{y}, putFloat64s(y, res)
	}), nil
}

func buildDequantize(b *buildCtx) (kernel, error) {
	axis := b.n.AttrInt("axis", 1)
	if bs := b.n.AttrInt("block_size", 0); bs != 0 {
		return nil, unsupportedf("blocked quantisation (block_size %d) is not supported", bs)
	}
	return kernelFunc(func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := needInputs(in, 2); err != nil {
			return nil, err
		}
		x, scale := in[0], in[1]
		var zp *ir.Tensor
		if len(in) > 2 {
			zp = in[2]
		}
		if _, _, err := qrange(x.DType); err != nil {
			return nil, err
		}
		if zp != nil && zp.DType != x.DType {
			return nil, fmt.Errorf("zero point is %s, input is %s", zp.DType, x.DType)
		}
		if !scale.DType.IsFloat() {
			return nil, fmt.Errorf("scale must be float, is %s", scale.DType)
		}
		ax := 0
		var err error
		if len(x.Dims) > 0 {
			if ax, err = normAxis(axis, len(x.Dims)); err != nil && numel(scale.Dims) != 1 {
				return nil, err
			}
		}
		sv, err := quantParams(scale, x.Dims, ax, "scale")
		if err != nil {
			return nil, err
		}
		zv, err := quantParams(zp, x.Dims, ax, "zero point")
		if err != nil {
			return nil, err
		}
		if scale.DType == ir.Float32 && (x.DType == ir.Uint8 || x.DType == ir.Int8) {
			// 8-bit fast path: runs of one scale and zero point.
			y, err := e.alloc(ir.Float32, x.Dims)
			if err != nil {
				return nil, err
			}
			yv := view[float32](y)
			run, dim := axisRuns(x.Dims, ax, max(len(sv), len(zv)))
			for r := 0; r*run < len(yv); r++ {
				c := (r % dim)
				s, z := sv[min(c, len(sv)-1)], zv[min(c, len(zv)-1)]
				kernels.Dequantize8(yv[r*run:(r+1)*run], x.Data[r*run:(r+1)*run], x.DType == ir.Int8, float32(s), int32(z))
			}
			return []*ir.Tensor{y}, nil
		}
		si, zi := axisIndexer(x.Dims, ax, len(sv)), axisIndexer(x.Dims, ax, len(zv))
		res := x.Float64s()
		for i, v := range res {
			// (x - zp) is exact; the product rounds once to float32.
			res[i] = float64(float32(v-zv[zi(i)]) * float32(sv[si(i)]))
		}
		y, err := fromFloat64s(e, scale.DType, x.Dims, res)
		return []*ir.Tensor{y}, err
	}), nil
}

func dynamicQuantize(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := needInputs(in, 1); err != nil {
		return nil, err
	}
	x := in[0]
	if x.DType != ir.Float32 {
		return nil, errType(x.DType)
	}
	xv := view[float32](x)
	var lo, hi float32
	for _, v := range xv {
		lo, hi = min(lo, v), max(hi, v)
	}
	scale := (hi - lo) / 255
	var zp float64
	if scale != 0 {
		zp = clamp(math.RoundToEven(float64(0-lo/scale)), 0, 255)
	}
	y, err := e.alloc(ir.Uint8, x.Dims)
	if err != nil {
		return nil, err
	}
	if scale != 0 {
		kernels.Quantize8(y.Data, xv, scale, int32(zp), 0, 255)
	} else {
		for i := range y.Data {
			y.Data[i] = uint8(zp)
		}
	}
	st, err := e.alloc(ir.Float32, nil)
	if err != nil {
		return nil, err
	}
	view[float32](st)[0] = scale
	zt, err := e.alloc(ir.Uint8, nil)
	if err != nil {
		return nil, err
	}
	zt.Data[0] = uint8(zp)
	return []*ir.Tensor{y, st, zt}, nil
}

// shifted returns x − zp as an int32 tensor, where zp is a scalar or
// holds one value per index of axis (axis < 0: scalar only).
func shifted(x, zp *ir.Tensor, axis int, what string) (*ir.Tensor, error) {
	if x.DType != ir.Uint8 && x.DType != ir.Int8 {
		return nil, fmt.Errorf("%s must be uint8 or int8, is %s", what, x.DType)
	}
	if zp != nil && zp.DType != x.DType {
		return nil, fmt.Errorf("%s zero point is %s, input is %s", what, zp.DType, x.DType)
	}
	zv := []float64{0}
	if zp != nil {
		if numel(zp.Dims) == 1 {
			zv = zp.Float64s()
		} else {
			if axis < 0 || axis >= len(x.Dims) || numel(zp.Dims) != int(x.Dims[axis]) {
				return nil, fmt.Errorf("%s zero point %v does not fit input %v", what, zp.Dims, x.Dims)
			}
			zv = zp.Float64s()
		}
	}
	zi := axisIndexer(x.Dims, axis, len(zv))
	out := &ir.Tensor{DType: ir.Int32, Dims: x.Dims, Data: alignedBytes(4 * numel(x.Dims))}
	d := view[int32](out)
	if x.DType == ir.Uint8 {
		for i, v := range x.Data {
			d[i] = int32(v) - int32(zv[zi(i)])
		}
	} else {
		for i, v := range x.Data {
			d[i] = int32(int8(v)) - int32(zv[zi(i)])
		}
	}
	return out, nil
}

// qOperand is an 8-bit GEMM or convolution operand: its bytes, whether
// they are int8 and its zero points (nil, one, or one per row / column /
// output channel).
type qOperand struct {
	t      *ir.Tensor
	signed bool
	zero   []byte
}

// quantOperand validates an 8-bit input and its optional zero point,
// which must be a scalar or hold perAxis values.
func quantOperand(t, zp *ir.Tensor, perAxis int, what string) (qOperand, error) {
	if t.DType != ir.Uint8 && t.DType != ir.Int8 {
		return qOperand{}, fmt.Errorf("%s must be uint8 or int8, is %s", what, t.DType)
	}
	q := qOperand{t: t, signed: t.DType == ir.Int8}
	if zp != nil {
		if zp.DType != t.DType {
			return qOperand{}, fmt.Errorf("%s zero point is %s, input is %s", what, zp.DType, t.DType)
		}
		if n := numel(zp.Dims); n != 1 && n != perAxis {
			return qOperand{}, fmt.Errorf("%s zero point %v must be a scalar or hold %d values", what, zp.Dims, perAxis)
		}
		q.zero = zp.Data
	}
	return q, nil
}

// qgemm is C = (A - za)·(B - zb) on kernels' integer GEMM.
func qgemm(M, N, K int, a []byte, lda int, aSigned bool, az []byte, b []byte, ldb int, bSigned bool, bz []byte, c []int32, ldc int) {
	s8 := func(p []byte) []int8 {
		if len(p) == 0 {
			return nil
		}
		return unsafe.Slice((*int8)(unsafe.Pointer(&p[0])), len(p))
	}
	switch {
	case !aSigned && !bSigned:
		kernels.QGemmU8U8(M, N, K, a, lda, az, b, ldb, bz, c, ldc)
	case !aSigned && bSigned:
		kernels.QGemmU8S8(M, N, K, a, lda, az, s8(b), ldb, s8(bz), c, ldc)
	case aSigned && bSigned:
		kernels.QGemmS8S8(M, N, K, s8(a), lda, s8(az), s8(b), ldb, s8(bz), c, ldc)
	default:
		kernels.QGemmS8U8(M, N, K, s8(a), lda, s8(az), b, ldb, bz, c, ldc)
	}
}

// qmatmul computes the int32 product (A - za)·(B - zb) with numpy
// matmul broadcasting; per-row zero points of A index its rows, per-column
// ones of B its columns. pb, when set, is B prepacked.
func qmatmul(e *env, a, azp, b, bzp *ir.Tensor, pb *kernels.QPackedB) (*ir.Tensor, error) {
	s, err := matmulShape(a.Dims, b.Dims)
	if err != nil {
		return nil, err
	}
	M, K, N := s.M, s.K, s.N
	qa, err := quantOperand(a, azp, M, "A")
	if err != nil {
		return nil, err
	}
	qb, err := quantOperand(b, bzp, N, "B")
	if err != nil {
		return nil, err
	}
	y, err := e.alloc(ir.Int32, s.out)
	if err != nil {
		return nil, err
	}
	yv := view[int32](y)
	if M*N == 0 {
		return y, nil
	}
	if len(s.bBatch) == 0 && len(qa.zero) <= 1 {
		// One GEMM over every row of A.
		rows := s.batchCount * M
		if pb != nil {
			kernels.QGemmPackedB(rows, a.Data, K, qa.signed, qa.zero, pb, yv, N)
		} else {
			qgemm(rows, N, K, a.Data, K, qa.signed, qa.zero, b.Data, N, qb.signed, qb.zero, yv, N)
		}
		return y, nil
	}
	bc := newBcast(s.batch, s.aBatch, s.bBatch)
	sa, sb := bc.innerStride(0), bc.innerStride(1)
	n := bc.inner()
	bc.each(func(o int, offs []int) {
		for i := 0; i < n; i++ {
			ao, bo := offs[0]+i*sa, offs[1]+i*sb
			qgemm(M, N, K, a.Data[ao*M*K:], K, qa.signed, qa.zero, b.Data[bo*K*N:], N, qb.signed, qb.zero, yv[(o+i)*M*N:], N)
		}
	})
	return y, nil
}

// packQuantB prepacks a constant 2-D 8-bit B (with its constant zero
// point) for QGemmPackedB, or returns nil.
func packQuantB(b, zp *ir.Tensor, zpGiven bool) *kernels.QPackedB {
	if b == nil || len(b.Dims) != 2 || zpGiven && zp == nil || (b.DType != ir.Uint8 && b.DType != ir.Int8) {
		return nil
	}
	K, N := int(b.Dims[0]), int(b.Dims[1])
	q, err := quantOperand(b, zp, N, "B")
	if err != nil || K == 0 || N == 0 {
		return nil
	}
	return kernels.QPackB(K, N, b.Data, N, q.signed, q.zero)
}

func buildMatMulInteger(b *buildCtx) (kernel, error) {
	cb, czp := b.constInput(1), b.constInput(3)
	pb := packQuantB(cb, czp, b.n.Input(3) != nil)
	return kernelFunc(func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := needInputs(in, 2); err != nil {
			return nil, err
		}
		opt := func(i int) *ir.Tensor {
			if i < len(in) {
				return in[i]
			}
			return nil
		}
		packed := pb
		if in[1] != cb || opt(3) != czp {
			packed = nil
		}
		y, err := qmatmul(e, in[0], opt(2), in[1], opt(3), packed)
		return []*ir.Tensor{y}, err
	}), nil
}

func buildQLinearMatMul(b *buildCtx) (kernel, error) {
	k := buildQLinearMatMulGeneral(b)
	if f := fastQLinearMatMul(b, k); f != nil {
		return f, nil
	}
	return k, nil
}

func buildQLinearMatMulGeneral(b *buildCtx) kernel {
	cb, czp := b.constInput(3), b.constInput(5)
	pb := packQuantB(cb, czp, true)
	return kernelFunc(func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := needInputs(in, 8); err != nil {
			return nil, err
		}
		a, as, azp, bt, bs, bzp, ys, yzp := in[0], in[1], in[2], in[3], in[4], in[5], in[6], in[7]
		packed := pb
		if bt != cb || bzp != czp {
			packed = nil
		}
		acc, err := qmatmul(nil, a, azp, bt, bzp, packed)
		if err != nil {
			return nil, err
		}
		ysv, err := scalarF(ys, "y_scale")
		if err != nil {
			return nil, err
		}
		asv, bsv := as.Float64s(), bs.Float64s()
		M, N := 1, 1
		if len(a.Dims) >= 2 {
			M = int(a.Dims[len(a.Dims)-2])
		}
		if len(bt.Dims) >= 2 {
			N = int(bt.Dims[len(bt.Dims)-1])
		}
		if len(asv) != 1 && len(asv) != M || len(bsv) != 1 && len(bsv) != N {
			return nil, fmt.Errorf("scales %v and %v do not fit A %v and B %v", as.Dims, bs.Dims, a.Dims, bt.Dims)
		}
		// Runs of one scale: output rows when B's scale is per tensor,
		// single elements when it is per column.
		rowLen := N
		if len(bsv) > 1 {
			rowLen = 1
		}
		scale := func(r int) float32 {
			sa, sb := asv[0], bsv[0]
			i := r * rowLen
			if len(asv) > 1 {
				sa = asv[(i/N)%M]
			}
			if len(bsv) > 1 {
				sb = bsv[i%N]
			}
			return float32(sa) * float32(sb) / ysv
		}
		y, err := requantize(e, view[int32](acc), acc.Dims, rowLen, scale, yzp, yzp.DType)
		return []*ir.Tensor{y}, err
	})
}

// requantize maps int32 accumulators to the output type:
// saturate(rint(acc · scale) + zp), where the scale is constant over runs
// of rowLen elements (scale(r) for run r). Runs with |scale| ≤ 1 use the
// kernels' requantisation; the arithmetic is the same float32 product
// rounded half to even.
func requantize(e *env, acc []int32, dims []int64, rowLen int, scale func(row int) float32, zp *ir.Tensor, dt ir.DType) (*ir.Tensor, error) {
	if dt != ir.Uint8 && dt != ir.Int8 {
		return nil, errType(dt)
	}
	lo, hi, _ := qrange(dt)
	var z byte
	if zp != nil {
		if numel(zp.Dims) != 1 {
			return nil, fmt.Errorf("output zero point must be a scalar")
		}
		z = zp.Data[0]
	}
	zf := float64(z)
	if dt == ir.Int8 {
		zf = float64(int8(z))
	}
	y, err := e.alloc(dt, dims)
	if err != nil {
		return nil, err
	}
	rowLen = max(rowLen, 1)
	for r := 0; r*rowLen < len(acc); r++ {
		sc := scale(r)
		src, dst := acc[r*rowLen:(r+1)*rowLen], y.Data[r*rowLen:(r+1)*rowLen]
		switch {
		case rowLen >= 16 && sc >= -1 && sc <= 1 && dt == ir.Uint8:
			kernels.RequantizeU8(dst, src, 0, sc, z)
		case rowLen >= 16 && sc >= -1 && sc <= 1:
			kernels.RequantizeS8(unsafe.Slice((*int8)(unsafe.Pointer(&dst[0])), len(dst)), src, 0, sc, int8(z))
		default:
			for i, a := range src {
				q := clamp(math.RoundToEven(float64(float32(a)*sc))+zf, lo, hi)
				if dt == ir.Uint8 {
					dst[i] = uint8(q)
				} else {
					dst[i] = uint8(int8(q))
				}
			}
		}
	}
	return y, nil
}

func scalarF(t *ir.Tensor, what string) (float32, error) {
	if t == nil || numel(t.Dims) != 1 || !t.DType.IsFloat() {
		return 0, fmt.Errorf("%s must be a float scalar", what)
	}
	return float32(t.Float64s()[0]), nil
}

type convIntKernel struct {
	attrs  *windowAttrs
	group  int
	linear bool // QLinearConv
	// Constant weights and zero points, prepacked per geometry.
	constW, constWZ *ir.Tensor
	packed          map[kernels.Conv2DParams]*kernels.QPackedConv2D
}

// wIndex is the input index of the weights.
func wIndex(linear bool) int {
	if linear {
		return 3
	}
	return 1
}

// qconv2D runs a 1-D or 2-D integer convolution on package kernels.
func (k *convIntKernel) qconv2D(p *kernels.Conv2DParams, x qOperand, xz byte, w qOperand, constW bool, y []int32) {
	if !constW || k.packed == nil {
		kernels.QConv2D(p, x.t.Data, x.signed, xz, w.t.Data, w.signed, w.zero, y)
		return
	}
	pc := k.packed[*p]
	if pc == nil {
		if len(k.packed) >= 8 {
			clear(k.packed)
		}
		pc = kernels.QPackConv2D(p, w.t.Data, w.signed, w.zero)
		k.packed[*p] = pc
	}
	pc.Run(x.t.Data, x.signed, xz, y)
}

// addChannelBias adds bias[m] to every element of channel m.
func addChannelBias(y, bias []int32, M, plane int) {
	for i := 0; i < len(y); i += plane {
		b := bias[(i/plane)%M]
		row := y[i : i+plane]
		for j := range row {
			row[j] += b
		}
	}
}

func buildConvInteger(b *buildCtx, linear bool) (kernel, error) {
	attrs, err := parseWindowAttrs(b.n)
	if err != nil {
		return nil, err
	}
	group := int(b.n.AttrInt("group", 1))
	if group < 1 {
		return nil, fmt.Errorf("group %d must be positive", group)
	}
	k := &convIntKernel{attrs: attrs, group: group, linear: linear}
	wi := wIndex(linear)
	if w := b.constInput(wi); w != nil && (b.n.Input(wi+2) == nil || b.constInput(wi+2) != nil) {
		k.constW, k.constWZ = w, b.constInput(wi+2)
		k.packed = map[kernels.Conv2DParams]*kernels.QPackedConv2D{}
	}
	if linear {
		if f := fastQLinearConv(b, attrs, group, k); f != nil {
			return f, nil
		}
	}
	return k, nil
}

func (k *convIntKernel) run(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
	var x, w, xzp, wzp, bias *ir.Tensor
	var xs, ws, ys, yzp *ir.Tensor
	opt := func(i int) *ir.Tensor {
		if i < len(in) {
			return in[i]
		}
		return nil
	}
	if k.linear {
		if err := needInputs(in, 8); err != nil {
			return nil, err
		}
		x, xs, xzp, w, ws, wzp, ys, yzp, bias = in[0], in[1], in[2], in[3], in[4], in[5], in[6], in[7], opt(8)
	} else {
		if err := needInputs(in, 2); err != nil {
			return nil, err
		}
		x, w, xzp, wzp = in[0], in[1], opt(2), opt(3)
	}
	if xzp != nil && numel(xzp.Dims) != 1 {
		return nil, fmt.Errorf("input zero point must be a scalar")
	}
	g, err := convShapes(k.attrs, k.group, x.Dims, w.Dims)
	if err != nil {
		return nil, err
	}
	N, C, M := int(x.Dims[0]), int(x.Dims[1]), int(w.Dims[0])
	qx, err := quantOperand(x, xzp, 1, "x")
	if err != nil {
		return nil, err
	}
	qw, err := quantOperand(w, wzp, M, "w")
	if err != nil {
		return nil, err
	}
	dims := g.outDims(int64(N), int64(M))
	var acc *ir.Tensor
	if k.linear {
		acc = &ir.Tensor{DType: ir.Int32, Dims: dims, Data: alignedBytes(4 * numel(dims))}
	} else if acc, err = e.alloc(ir.Int32, dims); err != nil {
		return nil, err
	}
	var bv []int32
	if bias != nil {
		if bias.DType != ir.Int32 || numel(bias.Dims) != M {
			return nil, fmt.Errorf("bias must hold %d int32 values, has %s%v", M, bias.DType, bias.Dims)
		}
		bv = view[int32](bias)
	}
	if g.outPlane > 0 && N > 0 {
		if p := conv2DParams(g, k.group, N, C, M); p != nil {
			var xz byte
			if len(qx.zero) > 0 {
				xz = qx.zero[0]
			}
			k.qconv2D(p, qx, xz, qw, in[wIndex(k.linear)] == k.constW && wzp == k.constWZ, view[int32](acc))
			if bv != nil {
				addChannelBias(view[int32](acc), bv, M, g.outPlane)
			}
		} else {
			x32, err := shifted(x, xzp, -1, "x")
			if err != nil {
				return nil, err
			}
			w32, err := shifted(w, wzp, 0, "w")
			if err != nil {
				return nil, err
			}
			convGeneric(g, k.group, N, C, M, view[int32](x32), view[int32](w32), bv, view[int32](acc))
		}
	}
	if !k.linear {
		return []*ir.Tensor{acc}, nil
	}
	xsv, err := scalarF(xs, "x_scale")
	if err != nil {
		return nil, err
	}
	ysv, err := scalarF(ys, "y_scale")
	if err != nil {
		return nil, err
	}
	wsv := ws.Float64s()
	if len(wsv) != 1 && len(wsv) != M {
		return nil, fmt.Errorf("w_scale %v does not fit %d output channels", ws.Dims, M)
	}
	scale := func(r int) float32 { // r counts output channel planes
		s := wsv[0]
		if len(wsv) > 1 {
			s = wsv[r%M]
		}
		return xsv * float32(s) / ysv
	}
	y, err := requantize(e, view[int32](acc), dims, g.outPlane, scale, yzp, yzp.DType)
	return []*ir.Tensor{y}, err
}

// convGeneric is convIm2col for any numeric type, on the generic GEMM.
func convGeneric[T numT](g *convGeom, group, N, C, M int, x, w, bias, y []T) {
	cg, mg := C/group, M/group
	K := cg * g.kernelSize
	cols := make([]T, K*g.outPlane)
	maps := g.kernelMaps()
	for n := 0; n < N; n++ {
		for gi := 0; gi < group; gi++ {
			im2col(g, maps, x[(n*C+gi*cg)*g.inPlane:], cg, cols, 0)
			gemmGeneric(false, false, mg, g.outPlane, K, w[gi*mg*K:], K, cols, g.outPlane, y[(n*M+gi*mg)*g.outPlane:], g.outPlane)
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
