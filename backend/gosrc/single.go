package gosrc

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/nncc/nncc/ir"
)

// emitSingle emits an operator that is neither element-wise nor a view.
func (gn *gen) emitSingle(n *ir.Node) error {
	a := gn.a
	x := a.vals[n.Inputs[0]]
	y := a.vals[n.Outputs[0]]
	if n.OpType == "Gather" && len(n.Inputs) == 2 && !gn.isByte(n.Outputs[0]) {
		xb := ""
		if x.isStatic() {
			d, err := gn.constF32(n, n.Inputs[0])
			if err != nil {
				return err
			}
			xb = wslice(gn.weights(d), len(d))
		} else {
			xb = gn.buf(n.Inputs[0])
		}
		return gn.emitGather(n, x, y, xb, gn.buf(n.Outputs[0]))
	}
	if x.isStatic() {
		return unsupported(n, "constant data operand (folding left it)")
	}
	xb, yb := gn.buf(n.Inputs[0]), gn.buf(n.Outputs[0])
	if gn.isByte(n.Inputs[0]) != gn.isByte(n.Outputs[0]) {
		return unsupported(n, "8-bit data with a float result (or the reverse)")
	}
	if gn.isByte(n.Inputs[0]) && n.OpType != "MaxPool" && n.OpType != "Transpose" && n.OpType != "Concat" && n.OpType != "Slice" && n.OpType != "QGlobalAveragePool" {
		return unsupported(n, "8-bit operand")
	}
	switch n.OpType {
	case "QGlobalAveragePool":
		return gn.emitQGAP(n, x, xb, yb)
	case "MaxPool", "AveragePool":
		return gn.emitPool(n, x, y, xb, yb)
	case "GlobalAveragePool", "GlobalMaxPool":
		if len(x.dims) < 3 {
			return unsupported(n, "rank %d input", len(x.dims))
		}
		// the runtime's row reductions: vector partial sums, the mean as
		// the sum times 1/count
		planes := x.dims[0] * x.dims[1]
		hw := x.size() / planes
		if n.OpType == "GlobalAveragePool" {
			gn.pr("kernels.SumRows(%s, %s, %d, 1/float32(%d))\n", yb, xb, hw, hw)
		} else {
			gn.pr("kernels.MaxRows(%s, %s, %d)\n", yb, xb, hw)
		}
		return nil
	case "Softmax":
		ax := int(n.AttrInt("axis", -1))
		if a.opset < 13 {
			ax = int(n.AttrInt("axis", 1))
		}
		r := len(x.dims)
		if ax < 0 {
			ax += r
		}
		if ax < 0 || ax >= r || ax == 0 && x.scaled {
			return unsupported(n, "softmax axis %d", ax)
		}
		var outer, mid, inner int64 = 1, 1, 1
		for i, d := range x.dims {
			switch {
			case i < ax:
				outer *= d
			case i == ax || a.opset < 13:
				mid *= d
			default:
				inner *= d
			}
		}
		if inner != 1 {
			return unsupported(n, "softmax over a non-trailing axis")
		}
		gn.helpers["softmax"] = true
		gn.pr("x, y := %s, %s\nfor r := 0; r < %s; r++ {\nsoftmax(y[r*%d:(r+1)*%d], x[r*%d:(r+1)*%d])\n}\n", xb, yb, gn.sz(outer, x.scaled), mid, mid, mid, mid)
		return nil
	case "Transpose":
		perm := n.AttrInts("perm")
		r := len(x.dims)
		if len(perm) == 0 {
			for i := r - 1; i >= 0; i-- {
				perm = append(perm, int64(i))
			}
		}
		if x.scaled && perm[0] != 0 {
			return unsupported(n, "a transpose that moves the batch; bind it with --shape")
		}
		xs := strides(x.dims)
		src := make([]int64, r)
		for i, p := range perm {
			src[i] = xs[p]
		}
		gn.pr("x, y := %s, %s\n", xb, yb)
		gn.emitCopy("y", 0, strides(y.dims), "x", 0, src, y.dims, y.scaled)
		return nil
	case "Concat":
		r := len(y.dims)
		ax := int(n.AttrInt("axis", 0))
		if ax < 0 {
			ax += r
		}
		if ax == 0 && y.scaled {
			return unsupported(n, "concatenation along the batch")
		}
		ys := strides(y.dims)
		gn.pr("y := %s\n", yb)
		var off int64
		for _, v := range n.Inputs {
			vi := a.vals[v]
			var src string
			if vi.isStatic() {
				if gn.isByte(n.Outputs[0]) {
					return unsupported(n, "a constant operand of an 8-bit concatenation")
				}
				d, err := gn.constF32(n, v)
				if err != nil {
					return err
				}
				if y.scaled {
					return unsupported(n, "constant operand with a symbolic batch")
				}
				src = wslice(gn.weights(d), len(d))
			} else {
				src = gn.buf(v)
			}
			gn.pr("{\nx := %s\n", src)
			gn.emitCopy("y", off*ys[ax], ys, "x", 0, strides(vi.dims), vi.dims, vi.scaled)
			gn.pr("}\n")
			off += vi.dims[ax]
		}
		return nil
	case "Slice":
		return gn.emitSlice(n, x, y, xb, yb)
	case "Pad":
		return gn.emitPad(n, x, y, xb, yb)
	case "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin":
		return gn.emitReduce(n, x, y, xb, yb)
	case "MatMul":
		return gn.emitMatMul(n)
	case "Resize", "Upsample":
		return gn.emitResize(n, x, y, xb, yb)
	case "Conv", "Gemm":
		return unsupported(n, "weights computed at run time (only constant weights)")
	}
	return unsupported(n, "no code generator for %s", n.OpType)
}

func strides(d []int64) []int64 {
	s := make([]int64, len(d))
	acc := int64(1)
	for i := len(d) - 1; i >= 0; i-- {
		s[i] = acc
		acc *= d[i]
	}
	return s
}

// emitCopy emits dst[dbase + Σ i·ds] = src[sbase + Σ i·ss] over dims
// (dims[0] scaled by n when scaled), merging contiguous dims and copying
// unit-stride rows with copy.
func (gn *gen) emitCopy(dst string, dbase int64, ds []int64, src string, sbase int64, ss []int64, dims []int64, scaled bool) {
	type dim struct {
		size   int64
		ds, ss int64
		scaled bool
	}
	var d []dim
	for i := range dims {
		if dims[i] == 1 && !(i == 0 && scaled) {
			continue
		}
		d = append(d, dim{dims[i], ds[i], ss[i], i == 0 && scaled})
	}
	// merge dim k into k-1 when contiguous in both
	for k := len(d) - 1; k > 0; k-- {
		p, q := d[k-1], d[k]
		if p.ds == q.ds*q.size && p.ss == q.ss*q.size {
			d[k-1] = dim{p.size * q.size, q.ds, q.ss, p.scaled || q.scaled}
			d = slices.Delete(d, k, k+1)
		}
	}
	if len(d) == 0 {
		gn.pr("%s[%d] = %s[%d]\n", dst, dbase, src, sbase)
		return
	}
	idx := func(base int64, upto int, sel func(dim) int64) string {
		s := fmt.Sprint(base)
		for k := 0; k < upto; k++ {
			if st := sel(d[k]); st != 0 {
				s += fmt.Sprintf("+i%d*%d", k, st)
			}
		}
		return s
	}
	last := len(d) - 1
	for k := 0; k < last; k++ {
		gn.pr("for i%d := 0; i%d < %s; i%d++ {\n", k, k, gn.sz(d[k].size, d[k].scaled), k)
	}
	dsel := func(x dim) int64 { return x.ds }
	ssel := func(x dim) int64 { return x.ss }
	l := d[last]
	if l.ds == 1 && l.ss == 1 {
		gn.pr("copy(%s[%s:][:%s], %s[%s:][:%s])\n", dst, idx(dbase, last, dsel), gn.sz(l.size, l.scaled), src, idx(sbase, last, ssel), gn.sz(l.size, l.scaled))
	} else {
		gn.pr("{\nd, s := %s[%s:], %s[%s:]\nfor j := 0; j < %s; j++ {\nd[j*%d] = s[j*%d]\n}\n}\n", dst, idx(dbase, last, dsel), src, idx(sbase, last, ssel), gn.sz(l.size, l.scaled), l.ds, l.ss)
	}
	for k := 0; k < last; k++ {
		gn.pr("}\n")
	}
}

func (gn *gen) emitPool(n *ir.Node, x, y *info, xb, yb string) error {
	if len(x.dims) != 4 && len(x.dims) != 3 {
		return unsupported(n, "only 1-D and 2-D pooling")
	}
	sp := len(x.dims) - 2
	k := n.AttrInts("kernel_shape")
	in, o := x.dims[2:], y.dims[2:]
	strides, dil, pads := windowGeom(n, in, o, k)
	if sp == 1 {
		in, o = []int64{1, in[0]}, []int64{1, o[0]}
		k, strides, dil = []int64{1, k[0]}, []int64{1, strides[0]}, []int64{1, dil[0]}
		pads = []int64{0, pads[0], 0, pads[1]}
	}
	f := gn.field("pool", "kernels.Pool2DParams")
	fmt.Fprintf(&gn.prep, "m.%s = kernels.Pool2DParams{N: %s, C: %d, H: %d, W: %d, KH: %d, KW: %d, StrideH: %d, StrideW: %d, DilH: %d, DilW: %d, PadT: %d, PadL: %d, PadB: %d, PadR: %d, OH: %d, OW: %d, CountIncludePad: %v}\n",
		f, gn.sz(x.dims[0], x.scaled), x.dims[1], in[0], in[1], k[0], k[1], strides[0], strides[1], dil[0], dil[1], pads[0], pads[1], pads[2], pads[3], o[0], o[1], n.AttrInt("count_include_pad", 0) != 0)
	if gn.isByte(n.Inputs[0]) {
		if n.OpType != "MaxPool" || !gn.isByte(n.Outputs[0]) {
			return unsupported(n, "8-bit operand")
		}
		gn.pr("kernels.MaxPool2D8(&m.%s, %s, %s, %v)\n", f, xb, yb, gn.byteSigned(n.Inputs[0]))
		return nil
	}
	fn := "MaxPool2D"
	if n.OpType == "AveragePool" {
		fn = "AvgPool2D"
	}
	gn.pr("kernels.%s(&m.%s, %s, %s)\n", fn, f, xb, yb)
	return nil
}

func (gn *gen) emitSlice(n *ir.Node, x, y *info, xb, yb string) error {
	r := len(x.dims)
	var starts, axes, steps []int64 // ends: the output dims are known
	get := func(i int) ([]int64, error) {
		if len(n.Inputs) <= i || n.Inputs[i] == nil {
			return nil, nil
		}
		vi := gn.a.vals[n.Inputs[i]]
		if !vi.isStatic() || vi.shapeOnly {
			return nil, unsupported(n, "slice bounds must be constant")
		}
		return vi.static.Int64s(), nil
	}
	if gn.a.opset < 10 {
		starts, axes = n.AttrInts("starts"), n.AttrInts("axes")
	} else {
		var err error
		if starts, err = get(1); err != nil {
			return err
		}
		if axes, err = get(3); err != nil {
			return err
		}
		if steps, err = get(4); err != nil {
			return err
		}
	}
	st := make([]int64, r)
	step := make([]int64, r)
	for i := range step {
		step[i] = 1
	}
	for i := range starts {
		ax := int64(i)
		if axes != nil {
			ax = axes[i]
		}
		if ax < 0 {
			ax += int64(r)
		}
		s, sp := starts[i], int64(1)
		if steps != nil {
			sp = steps[i]
		}
		d := x.dims[ax]
		if ax == 0 && x.scaled && (s != 0 || sp != 1 || y.dims[0] != x.dims[0]) {
			return unsupported(n, "slicing the batch; bind it with --shape")
		}
		if s < 0 {
			s += d
		}
		if sp > 0 {
			s = min(max(s, 0), d)
		} else {
			s = min(max(s, 0), d-1)
		}
		st[ax], step[ax] = s, sp
	}
	xs := strides(x.dims)
	var base int64
	ss := make([]int64, r)
	for i := range xs {
		base += st[i] * xs[i]
		ss[i] = xs[i] * step[i]
	}
	gn.pr("x, y := %s, %s\n", xb, yb)
	gn.emitCopy("y", 0, strides(y.dims), "x", base, ss, y.dims, y.scaled)
	return nil
}

func (gn *gen) emitPad(n *ir.Node, x, y *info, xb, yb string) error {
	if m := n.AttrString("mode", "constant"); m != "constant" {
		return unsupported(n, "pad mode %s", m)
	}
	r := len(x.dims)
	var pads []int64
	val := float32(0)
	if gn.a.opset < 11 {
		pads = n.AttrInts("pads")
		val = n.AttrFloat("value", 0)
	} else {
		pv := gn.a.vals[n.Inputs[1]]
		if !pv.isStatic() || pv.shapeOnly {
			return unsupported(n, "pads must be constant")
		}
		pads = pv.static.Int64s()
		if len(n.Inputs) > 2 && n.Inputs[2] != nil {
			c, err := gn.constF32(n, n.Inputs[2])
			if err != nil {
				return err
			}
			if len(c) > 0 {
				val = c[0]
			}
		}
		if len(n.Inputs) > 3 && n.Inputs[3] != nil {
			return unsupported(n, "Pad with axes")
		}
	}
	if len(pads) != 2*r {
		return unsupported(n, "pads of length %d for rank %d", len(pads), r)
	}
	for i, p := range pads {
		if p < 0 || p != 0 && i%r == 0 && x.scaled {
			return unsupported(n, "negative pads or padding of the batch")
		}
	}
	ys := strides(y.dims)
	var base int64
	for i := 0; i < r; i++ {
		base += pads[i] * ys[i]
	}
	gn.pr("x, y := %s, %s\nfor i := range y {\ny[i] = %s\n}\n", xb, yb, flit(val))
	gn.emitCopy("y", base, ys, "x", 0, strides(x.dims), x.dims, x.scaled)
	return nil
}

func (gn *gen) emitReduce(n *ir.Node, x, y *info, xb, yb string) error {
	r := len(x.dims)
	axes := n.AttrInts("axes")
	if len(n.Inputs) > 1 && n.Inputs[1] != nil {
		av := gn.a.vals[n.Inputs[1]]
		if !av.isStatic() || av.shapeOnly {
			return unsupported(n, "axes must be constant")
		}
		axes = av.static.Int64s()
	}
	if len(axes) == 0 {
		if n.AttrInt("noop_with_empty_axes", 0) != 0 {
			return unsupported(n, "noop reduction")
		}
		for i := 0; i < r; i++ {
			axes = append(axes, int64(i))
		}
	}
	red := make([]bool, r)
	for _, ax := range axes {
		if ax < 0 {
			ax += int64(r)
		}
		red[ax] = true
	}
	lo, hi := -1, -1
	for i, b := range red {
		if b {
			if lo < 0 {
				lo = i
			} else if hi != i-1 {
				return unsupported(n, "reduction over non-adjacent axes")
			}
			hi = i
		}
	}
	if lo == 0 && x.scaled && (hi != r-1 || y.scaled) {
		return unsupported(n, "reduction over the batch")
	}
	var outer, mid, inner int64 = 1, 1, 1
	for i, d := range x.dims {
		switch {
		case i < lo:
			outer *= d
		case i <= hi:
			mid *= d
		default:
			inner *= d
		}
	}
	init, acc, fin := "var s float32", "s += v", fmt.Sprintf("s / %d", mid)
	switch n.OpType {
	case "ReduceSum":
		fin = "s"
	case "ReduceMax":
		init, acc, fin = "s := float32(math.Inf(-1))", "s = max(s, v)", "s"
	case "ReduceMin":
		init, acc, fin = "s := float32(math.Inf(1))", "s = min(s, v)", "s"
	}
	if lo == 0 && x.scaled { // everything, the batch included
		if n.OpType == "ReduceMean" {
			fin = fmt.Sprintf("s / float32(%s)", gn.sz(mid, true))
		}
		gn.pr("x, y := %s, %s\n%s\nfor _, v := range x {\n%s\n}\ny[0] = %s\n", xb, yb, init, acc, fin)
		return nil
	}
	gn.pr("x, y := %s, %s\nfor o := 0; o < %s; o++ {\nfor i := 0; i < %d; i++ {\n%s\nfor k := 0; k < %d; k++ {\nv := x[(o*%d+k)*%d+i]\n%s\n}\ny[o*%d+i] = %s\n}\n}\n",
		xb, yb, gn.sz(outer, x.scaled), inner, init, mid, mid, inner, acc, inner, fin)
	return nil
}

// emitMatMul emits a product of two computed operands, one SGEMM per
// matrix of the (equal) leading dims.
func (gn *gen) emitMatMul(n *ir.Node) error {
	if gn.isByte(n.Inputs[0]) || len(n.Inputs) > 1 && n.Inputs[1] != nil && gn.isByte(n.Inputs[1]) {
		return unsupported(n, "8-bit operand of a float32 kernel")
	}
	a := gn.a
	A, B := a.vals[n.Inputs[0]], a.vals[n.Inputs[1]]
	if len(A.dims) < 2 || len(B.dims) < 2 || B.isStatic() {
		return unsupported(n, "MatMul operands of rank < 2")
	}
	ra, rb := len(A.dims), len(B.dims)
	M, K, N := A.dims[ra-2], A.dims[ra-1], B.dims[rb-1]
	ba, bb := ir.NumElements(A.dims[:ra-2]), ir.NumElements(B.dims[:rb-2])
	if ba != bb || A.scaled != B.scaled || !slices.Equal(A.dims[:ra-2], B.dims[:rb-2]) {
		return unsupported(n, "broadcast MatMul of %v and %v", A.dims, B.dims)
	}
	gn.pr("x, b, y := %s, %s, %s\nfor i := 0; i < %s; i++ {\nkernels.Sgemm(false, false, %d, %d, %d, 1, x[i*%d:], %d, b[i*%d:], %d, 0, y[i*%d:], %d)\n}\n",
		gn.buf(n.Inputs[0]), gn.buf(n.Inputs[1]), gn.buf(n.Outputs[0]), gn.sz(ba, A.scaled), M, N, K, M*K, K, K*N, N, M*N, N)
	return nil
}

// emitResize emits nearest-neighbour Resize/Upsample along the last two
// axes through index tables computed at generation.
func (gn *gen) emitResize(n *ir.Node, x, y *info, xb, yb string) error {
	mode := n.AttrString("mode", "nearest")
	coord := n.AttrString("coordinate_transformation_mode", "half_pixel")
	nm := n.AttrString("nearest_mode", "round_prefer_floor")
	if gn.a.opset < 11 || n.OpType == "Upsample" {
		coord, nm = "asymmetric", "simple"
		if n.OpType == "Upsample" {
			nm = "floor"
		}
	}
	r := len(x.dims)
	if r < 2 || len(y.dims) != r {
		return unsupported(n, "rank %d", r)
	}
	for i := 0; i < r-2; i++ {
		if x.dims[i] != y.dims[i] {
			return unsupported(n, "resizing an axis other than the last two")
		}
	}
	var scales []float64
	for _, i := range []int{2, 1} { // Resize-11+: scales is input 2; Resize-10/Upsample: input 1
		if v := opt(n, i); v != nil && gn.a.vals[v].isStatic() && !gn.a.vals[v].shapeOnly && gn.a.vals[v].static.DType.IsFloat() && gn.a.vals[v].size() == int64(r) {
			scales = gn.a.vals[v].static.Float64s()
			break
		}
	}
	if attr := n.AttrFloats("scales"); scales == nil && len(attr) == r {
		for _, s := range attr {
			scales = append(scales, float64(s))
		}
	}
	if n.AttrString("keep_aspect_ratio_policy", "stretch") != "stretch" || len(n.AttrInts("axes")) > 0 {
		return unsupported(n, "keep_aspect_ratio_policy or axes")
	}
	if mode != "nearest" {
		return gn.emitResizeInterp(n, x, y, xb, yb, scales)
	}
	tables := make([]string, 2)
	for t, ax := range []int{r - 2, r - 1} {
		in, out := x.dims[ax], y.dims[ax]
		scale := float64(out) / float64(in)
		if scales != nil {
			scale = scales[ax]
		}
		idx := make([]string, out)
		for o := int64(0); o < out; o++ {
			of := float64(o)
			var c float64
			switch coord {
			case "half_pixel":
				c = (of+0.5)/scale - 0.5
			case "asymmetric":
				c = of / scale
			case "align_corners":
				if out > 1 {
					c = of * float64(in-1) / float64(out-1)
				}
			case "pytorch_half_pixel":
				if out > 1 {
					c = (of+0.5)/scale - 0.5
				}
			case "tf_half_pixel_for_nn":
				c = (of + 0.5) / scale
			default:
				return unsupported(n, "coordinate_transformation_mode %s", coord)
			}
			var i int64
			switch nm {
			case "floor":
				i = int64(math.Floor(c))
			case "ceil":
				i = int64(math.Ceil(c))
			case "simple":
				if scale < 1 {
					i = int64(math.Ceil(c))
				} else {
					i = int64(math.Floor(c))
				}
			case "round_prefer_ceil":
				i = int64(math.Floor(c + 0.5))
			case "round_prefer_floor":
				if c-math.Floor(c) == 0.5 {
					i = int64(math.Floor(c))
				} else {
					i = int64(math.Round(c))
				}
			default:
				return unsupported(n, "nearest_mode %s", nm)
			}
			idx[o] = fmt.Sprint(min(max(i, 0), in-1))
		}
		tables[t] = gn.table(idx)
	}
	H, W, OH, OW := x.dims[r-2], x.dims[r-1], y.dims[r-2], y.dims[r-1]
	planes := x.size() / (H * W)
	gn.pr("x, y := %s, %s\nfor p := 0; p < %s; p++ {\nxp, yp := x[p*%d:(p+1)*%d], y[p*%d:(p+1)*%d]\nfor oh, ih := range %s {\nrow, out := xp[int(ih)*%d:][:%d], yp[oh*%d:][:%d]\nfor ow, iw := range %s {\nout[ow] = row[iw]\n}\n}\n}\n",
		xb, yb, gn.sz(planes, x.scaled), H*W, H*W, OH*OW, OH*OW, tables[0], W, W, OW, OW, tables[1])
	return nil
}

// table declares a package-level index table and returns its name.
func (gn *gen) table(vals []string) string {
	name := fmt.Sprintf("idx%d", gn.nfield)
	gn.nfield++
	fmt.Fprintf(&gn.decls, "var %s = [...]int32{%s}\n\n", name, strings.Join(vals, ", "))
	return name
}

// emitConvTranspose emits a 1-D or 2-D transposed convolution (groups
// included) on the runtime's kernel, its weights packed once
// (kernels.PackConvTranspose2D), with the
// pads the runtime derives from pads, auto_pad or output_shape; its
// scratch grows in Run if the kernels' thread count grows.
func (gn *gen) emitConvTranspose(g *group, n *ir.Node, x, y *info, xb, yb string) error {
	a := gn.a
	if len(x.dims) != 4 && len(x.dims) != 3 {
		return unsupported(n, "only 1-D and 2-D ConvTranspose")
	}
	wv := a.vals[n.Inputs[1]]
	w, err := gn.constF32(n, n.Inputs[1])
	if err != nil {
		return err
	}
	sp := len(x.dims) - 2
	group := n.AttrInt("group", 1)
	C, M := x.dims[1], wv.dims[1]*group
	ints := func(name string, def int64) []int64 {
		v := n.AttrInts(name)
		if len(v) == 0 {
			v = make([]int64, sp)
			for i := range v {
				v[i] = def
			}
		}
		return v
	}
	st, dil, opad := ints("strides", 1), ints("dilations", 1), ints("output_padding", 0)
	pads := n.AttrInts("pads")
	ap := n.AttrString("auto_pad", "NOTSET")
	if len(st) != sp || len(dil) != sp || len(opad) != sp || len(pads) != 0 && len(pads) != 2*sp {
		return unsupported(n, "attributes that do not match %d spatial dims", sp)
	}
	padBegin := make([]int64, sp)
	for i := 0; i < sp; i++ {
		in, out, k := x.dims[2+i], y.dims[2+i], wv.dims[2+i]
		full := st[i]*(in-1) + opad[i] + (k-1)*dil[i] + 1
		switch {
		case len(n.AttrInts("output_shape")) > 0 || ap == "SAME_UPPER" || ap == "SAME_LOWER":
			total := max(full-out, 0)
			if ap == "SAME_UPPER" {
				padBegin[i] = total / 2
			} else {
				padBegin[i] = total - total/2
			}
		case len(pads) > 0 && ap != "VALID":
			padBegin[i] = pads[i]
		}
	}
	H, W, OH, OW, KH, KW, SH, SW, DH, DW, PT, PL := int64(1), x.dims[2], int64(1), y.dims[2], int64(1), wv.dims[2], int64(1), st[0], int64(1), dil[0], int64(0), padBegin[0]
	if sp == 2 {
		H, W, OH, OW, KH, KW, SH, SW, DH, DW, PT, PL = x.dims[2], x.dims[3], y.dims[2], y.dims[3], wv.dims[2], wv.dims[3], st[0], st[1], dil[0], dil[1], padBegin[0], padBegin[1]
	}
	if C%group != 0 {
		return unsupported(n, "group %d does not divide %d channels", group, C)
	}
	pf := gn.field("ct", "*kernels.PackedConvTranspose2D")
	sf := gn.field("cts", "[]float32")
	fmt.Fprintf(&gn.prep, "m.%s = kernels.PackConvTranspose2D(&kernels.ConvTranspose2DParams{N: %s, C: %d, H: %d, W: %d, M: %d, KH: %d, KW: %d, StrideH: %d, StrideW: %d, DilH: %d, DilW: %d, PadT: %d, PadL: %d, Group: %d, OH: %d, OW: %d}, %s)\n",
		pf, gn.sz(x.dims[0], x.scaled), C, H, W, M, KH, KW, SH, SW, DH, DW, PT, PL, group, OH, OW, wslice(gn.weights(w), len(w)))
	fmt.Fprintf(&gn.prep, "m.%s = make([]float32, kernels.ConvTranspose2DScratch(&m.%s.P, kernels.Threads()))\n", sf, pf)
	bias := "nil"
	if b := opt(n, 2); b != nil {
		bd, err := gn.constF32(n, b)
		if err != nil {
			return err
		}
		bias = wslice(gn.weights(bd), len(bd))
	}
	gn.pr("if need := kernels.ConvTranspose2DScratch(&m.%s.P, kernels.Threads()); len(m.%s) < need {\nm.%s = make([]float32, need)\n}\n", pf, sf, sf)
	gn.pr("m.%s.Run(%s, %s, %s, m.%s)\n", pf, xb, bias, yb, sf)
	return nil
}
