package gosrc

import (
	"fmt"
	"strings"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/runtime"
)

// emitResizeInterp emits linear or cubic Resize/Upsample of the last two
// axes as kernels.Resize2D with taps computed at generation by the
// runtime's own rule (runtime.ResizeAxisTaps: every coordinate
// transformation mode but tf_crop_and_resize, cubic_coeff_a,
// exclude_outside, antialias), so the generated code resamples as nncc's
// runtime does.
func (gn *gen) emitResizeInterp(n *ir.Node, x, y *info, xb, yb string, scales []float64) error {
	r := len(x.dims)
	var taps [2]string
	for t, ax := range []int{r - 2, r - 1} {
		in, out := x.dims[ax], y.dims[ax]
		scale := float64(out) / float64(in)
		if scales != nil {
			scale = scales[ax]
		}
		tp, err := runtime.ResizeAxisTaps(n, gn.a.opset, int(in), int(out), scale)
		if err != nil {
			return unsupported(n, "%v", err)
		}
		idx := make([]string, len(tp.Idx))
		for i, v := range tp.Idx {
			idx[i] = fmt.Sprint(v)
		}
		f := gn.field("rt", "kernels.ResizeTaps")
		fmt.Fprintf(&gn.once, "m.%s = kernels.ResizeTaps{N: %d, Idx: %s[:], W: %s}\n", f, tp.N, gn.table(idx), wslice(gn.weights(tp.W), len(tp.W)))
		taps[t] = f
	}
	H, W := x.dims[r-2], x.dims[r-1]
	planes := x.size() / (H * W)
	gn.pr("kernels.Resize2D(%s, %s, %s, %d, %d, &m.%s, &m.%s)\n", xb, yb, gn.sz(planes, x.scaled), H, W, taps[0], taps[1])
	return nil
}

// splitToSlices replaces each Split node by one Slice per used output
// (constant starts, ends and axes, as inputs and as the attributes of
// Slice-1), which the back end generates as copies.
func (a *analysis) splitToSlices() {
	for i := 0; i < len(a.nodes); i++ {
		n := a.nodes[i]
		if n.OpType != "Split" || len(n.Inputs) == 0 {
			continue
		}
		x := n.Inputs[0]
		xi := a.vals[x]
		r := int64(len(xi.dims))
		ax := n.AttrInt("axis", 0)
		if ax < 0 {
			ax += r
		}
		if ax < 0 || ax >= r {
			continue
		}
		cnst := func(name string, v int64) *ir.Value {
			t := ir.FromInt64([]int64{1}, []int64{v})
			val := &ir.Value{Name: name, Const: t}
			a.vals[val] = &info{v: val, dtype: ir.Int64, dims: []int64{1}, static: t, input: -1}
			return val
		}
		var slices []*ir.Node
		var off int64
		for k, o := range n.Outputs {
			oi := a.vals[o]
			if o == nil || o.Name == "" || oi == nil {
				continue
			}
			size := oi.dims[ax]
			if len(oi.uses) > 0 || oi.output {
				base := fmt.Sprintf("%s_split%d", n.Name, k)
				st, en, axv := cnst(base+"_starts", off), cnst(base+"_ends", off+size), cnst(base+"_axes", ax)
				s := &ir.Node{Name: base, OpType: "Slice", Inputs: []*ir.Value{x, st, en, axv}, Outputs: []*ir.Value{o},
					Attrs: []*ir.Attribute{ir.IntsAttr("starts", off), ir.IntsAttr("ends", off+size), ir.IntsAttr("axes", ax)}}
				for _, c := range []*ir.Value{st, en, axv} {
					a.vals[c].uses = []*ir.Node{s}
				}
				oi.prod = s
				slices = append(slices, s)
			}
			off += size
		}
		var uses []*ir.Node
		for _, u := range xi.uses {
			if u != n {
				uses = append(uses, u)
			}
		}
		xi.uses = append(uses, slices...)
		a.nodes = append(a.nodes[:i], append(slices, a.nodes[i+1:]...)...)
		i += len(slices) - 1
	}
}

// emitGather emits Gather of data along an axis: constant indices become
// a table of source offsets, computed ones (held as float32 integers)
// are read at run time, negative ones counting from the end.
func (gn *gen) emitGather(n *ir.Node, x, y *info, xb, yb string) error {
	a := gn.a
	r := int64(len(x.dims))
	ax := n.AttrInt("axis", 0)
	if ax < 0 {
		ax += r
	}
	if ax < 0 || ax >= r || ax == 0 && x.scaled {
		return unsupported(n, "gathering along axis %d", ax)
	}
	iv := a.vals[n.Inputs[1]]
	var outer, inner int64 = 1, 1
	for i, d := range x.dims {
		switch {
		case int64(i) < ax:
			outer *= d
		case int64(i) > ax:
			inner *= d
		}
	}
	D := x.dims[ax]
	K := iv.size()
	if x.scaled && iv.scaled {
		return unsupported(n, "data and indices that both depend on the batch")
	}
	var src string
	if iv.isStatic() && !iv.shapeOnly {
		idx := iv.static.Int64s()
		vals := make([]string, len(idx))
		for i, v := range idx {
			if v < 0 {
				v += D
			}
			if v < 0 || v >= D {
				return unsupported(n, "index %d out of range [0, %d)", idx[i], D)
			}
			vals[i] = fmt.Sprint(v)
		}
		src = gn.table(vals) + "[k]"
	} else if !iv.isStatic() && !gn.isByte(n.Inputs[1]) {
		gn.pr("ix := %s\n", gn.buf(n.Inputs[1]))
		src = fmt.Sprintf("gatherIndex(ix[k], %d)", D)
		gn.helpers["gather"] = true
	} else {
		return unsupported(n, "indices of this form")
	}
	kn := gn.sz(K, iv.scaled)
	gn.pr("x, y := %s, %s\nfor o := 0; o < %s; o++ {\nfor k := 0; k < %s; k++ {\ni := int(%s)\n", xb, yb, gn.sz(outer, x.scaled), kn, strings.TrimSpace(src))
	if inner == 1 {
		gn.pr("y[o*(%s)+k] = x[o*%d+i]\n}\n}\n", kn, D)
	} else {
		gn.pr("copy(y[(o*(%s)+k)*%d:][:%d], x[(o*%d+i)*%d:][:%d])\n}\n}\n", kn, inner, inner, D, inner, inner)
	}
	return nil
}

func init() {
	helperSrc["gather"] = "// gatherIndex turns an index held as float32 into an offset along an\n// axis of d elements, counting negative ones from the end and clamping\n// out-of-range ones to the axis.\nfunc gatherIndex(v float32, d int) int {\ni := int(v)\nif i < 0 {\ni += d\n}\nreturn min(max(i, 0), d-1)\n}"
	for _, k := range []string{"Gather", "Split"} {
		supported[k] = true
	}
}
