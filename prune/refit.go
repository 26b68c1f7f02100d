package prune

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/nncc/nncc/calib"
	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/runtime"
)

// RefitLayer names a layer of the student and the teacher activations it
// must reproduce.
type RefitLayer struct {
	// Node is a Conv (2-D or 1-D), Gemm or MatMul of the student whose
	// weight (input 1) is a float32 constant.
	Node *ir.Node
	// Target is the name of the teacher value the node's output should
	// reproduce (usually the node's own output name).
	Target string
	// Rows maps each output row of the student's weight to the teacher's
	// channel (axis 1, or the last axis for Gemm/MatMul); nil means the
	// identity.
	Rows []int
	// Mask marks weight elements (in the weight's own layout) that must
	// stay zero; nil leaves every element free.
	Mask []bool
}

// RefitOptions tune Refit.
type RefitOptions struct {
	// Damp is the ridge term as a fraction of the mean diagonal of the
	// Gram matrix (default 0.01). The ridge pulls towards the student's
	// current weights, not towards zero. When a Gram block is not
	// positive definite the damping is raised tenfold and the solve
	// retried.
	Damp float64
	// Batch is the number of samples per run (default 16).
	Batch   int
	Threads int
	// Progress, when set, is called after each layer.
	Progress func(label string, done, total int)
}

// RefitReport says how well one layer reproduces the teacher on the
// calibration data: the squared error relative to the teacher's energy
// before and after the re-fit.
type RefitReport struct {
	Layer     string  `json:"layer"`
	RelErrIn  float64 `json:"rel_err_before"`
	RelErrOut float64 `json:"rel_err_after"`
	Damp      float64 `json:"damp"`
	Samples   int64   `json:"rows"`
}

// Refit re-fits the weights (and bias) of each layer of student, in the
// order given, so that on the calibration data the layer's output
// reproduces the teacher's activations at Target: per output row, a
// ridge-damped least-squares solve over the weights its Mask leaves free,
// from the Gram matrix XᵀX and the cross term XᵀY of the layer's
// student-side input X (im2col patches for a Conv, plus a column of ones
// for the bias) and the teacher's output Y. The statistics are summed
// batch by batch, so memory does not depend on the number of samples.
// Layers are fitted in order on the student as already re-fitted, so
// later layers compensate what earlier ones could not. A layer without a
// bias gets one. A layer the re-fit cannot handle is an error naming it.
func Refit(teacher, student *ir.Model, layers []RefitLayer, data calib.Dataset, o RefitOptions) ([]RefitReport, error) {
	if data == nil || data.Len() == 0 {
		return nil, fmt.Errorf("prune: re-fitting needs calibration data")
	}
	if o.Damp <= 0 {
		o.Damp = 0.01
	}
	if o.Batch <= 0 {
		o.Batch = 16
	}
	// The teacher's activations at every target, captured in one pass
	// (they do not change while the student is re-fitted).
	var targets []string
	seen := map[string]bool{}
	for _, l := range layers {
		if !seen[l.Target] {
			seen[l.Target] = true
			targets = append(targets, l.Target)
		}
	}
	cache := map[string][]*ir.Tensor{}
	if len(targets) > 0 {
		tc, err := newCapturer(teacher, targets, o)
		if err != nil {
			return nil, fmt.Errorf("prune: the original model: %w", err)
		}
		for start := 0; start < data.Len(); start += o.Batch {
			end := min(start+o.Batch, data.Len())
			outs, err := tc.run(data, start, end)
			if err != nil {
				return nil, fmt.Errorf("prune: running the original model: %w", err)
			}
			for _, name := range targets {
				cache[name] = append(cache[name], outs[name].Clone())
			}
		}
	}
	var reps []RefitReport
	for i, l := range layers {
		r, err := refitOne(cache, student, l, data, o)
		if err != nil {
			return reps, fmt.Errorf("prune: re-fitting %s: %w", nodeName(l.Node), err)
		}
		reps = append(reps, r)
		if o.Progress != nil {
			o.Progress("re-fit", i+1, len(layers))
		}
	}
	return reps, nil
}

// capture runs m over data with the named values exposed as outputs and
// calls f with each batch's tensors.
type capturer struct {
	model *ir.Model
	names []string
	sess  map[int]*runtime.Session
	o     RefitOptions
}

func newCapturer(m *ir.Model, names []string, o RefitOptions) (*capturer, error) {
	c := m.Clone()
	byName := map[string]*ir.Value{}
	for _, n := range c.Graph.Nodes {
		for _, v := range n.Outputs {
			if v != nil {
				byName[v.Name] = v
			}
		}
	}
	for _, v := range c.Graph.Inputs {
		byName[v.Name] = v
	}
	// The capture model computes only what the named values need.
	var outs []*ir.Value
	for _, name := range names {
		v := byName[name]
		if v == nil {
			return nil, fmt.Errorf("no value %q to observe", name)
		}
		outs = append(outs, v)
	}
	c.Graph.Outputs = outs
	live := map[*ir.Value]bool{}
	for _, v := range outs {
		live[v] = true
	}
	var kept []*ir.Node
	for i := len(c.Graph.Nodes) - 1; i >= 0; i-- {
		n := c.Graph.Nodes[i]
		need := false
		for _, o := range n.Outputs {
			need = need || (o != nil && live[o])
		}
		if !need {
			continue
		}
		kept = append(kept, n)
		for _, in := range n.Inputs {
			live[in] = true
		}
		for _, sg := range n.Subgraphs() {
			for v := range sg.Captures() {
				live[v] = true
			}
		}
	}
	for i, j := 0, len(kept)-1; i < j; i, j = i+1, j-1 {
		kept[i], kept[j] = kept[j], kept[i]
	}
	c.Graph.Nodes = kept
	return &capturer{model: c, names: names, sess: map[int]*runtime.Session{}, o: o}, nil
}

// run returns the named values for samples [start, end), and the inputs.
func (c *capturer) run(data calib.Dataset, start, end int) (map[string]*ir.Tensor, error) {
	in, err := data.Batch(start, end)
	if err != nil {
		return nil, err
	}
	s := c.sess[end-start]
	if s == nil {
		shapes := map[string][]int64{}
		for k, t := range in {
			shapes[k] = t.Dims
		}
		if s, err = runtime.NewSession(c.model, runtime.Options{Threads: c.o.Threads, Shapes: shapes}); err != nil {
			return nil, err
		}
		c.sess[end-start] = s
	}
	outs, err := s.Run(in)
	if err != nil {
		return nil, err
	}
	for k, t := range in {
		if _, ok := outs[k]; !ok {
			outs[k] = t
		}
	}
	return outs, nil
}

// layerGeom describes how a layer turns its input into rows of X.
type layerGeom struct {
	kind             string // conv, dense
	groups           int
	rows, cols       int // student weight as rows × cols (per row: cols inputs)
	at               func(r, c int) int
	hasBias          bool
	bias             *ir.Tensor
	conv             convGeom
	alpha, beta      float64
	rowsPerGroup     int
	colsPerGroup     int
	matmul           bool
	teacherChanAxis1 bool
}

type convGeom struct {
	c, kh, kw, sh, sw, dh, dw, pt, pl int
}

func refitOne(cache map[string][]*ir.Tensor, student *ir.Model, l RefitLayer, data calib.Dataset, o RefitOptions) (RefitReport, error) {
	n := l.Node
	rep := RefitReport{Layer: nodeName(n)}
	wv := n.Input(1)
	if wv == nil || wv.Const == nil || wv.Const.DType != ir.Float32 {
		return rep, fmt.Errorf("the weight is not a float32 constant")
	}
	w := wv.Const
	rows, cols, at, ok := rowsCols(n, w)
	if !ok {
		return rep, fmt.Errorf("%s weights cannot be re-fitted", n.OpType)
	}
	geo := layerGeom{rows: rows, cols: cols, at: at, groups: 1, alpha: 1, beta: 1}
	switch n.OpType {
	case "Conv":
		geo.kind = "conv"
		geo.groups = int(n.AttrInt("group", 1))
		if len(w.Dims) != 4 && len(w.Dims) != 3 {
			return rep, fmt.Errorf("only 1-D and 2-D convolutions are re-fitted")
		}
		if rows%geo.groups != 0 {
			return rep, fmt.Errorf("%d filters do not split into %d groups", rows, geo.groups)
		}
	case "Gemm":
		geo.kind = "dense"
		geo.alpha = float64(n.AttrFloat("alpha", 1))
		geo.beta = float64(n.AttrFloat("beta", 1))
		if geo.alpha != 1 {
			return rep, fmt.Errorf("alpha %v is not 1", geo.alpha)
		}
	case "MatMul":
		geo.kind, geo.matmul = "dense", true
	default:
		return rep, fmt.Errorf("%s is not re-fitted", n.OpType)
	}
	if b := n.Input(2); b != nil {
		if b.Const == nil || b.Const.DType != ir.Float32 || b.Const.NumElements() != int64(rows) {
			return rep, fmt.Errorf("the bias is not a float32 constant of %d elements", rows)
		}
		if geo.beta == 0 {
			return rep, fmt.Errorf("beta is 0")
		}
		geo.bias = b.Const
	}
	geo.hasBias = !geo.matmul
	geo.rowsPerGroup = rows / geo.groups
	geo.colsPerGroup = cols
	rowMap := l.Rows
	if rowMap == nil {
		rowMap = make([]int, rows)
		for i := range rowMap {
			rowMap[i] = i
		}
	}
	if len(rowMap) != rows {
		return rep, fmt.Errorf("%d row targets for %d rows", len(rowMap), rows)
	}
	if l.Mask != nil && len(l.Mask) != len(w.Float32View()) {
		return rep, fmt.Errorf("mask of %d for %d weights", len(l.Mask), w.NumElements())
	}

	inName := n.Inputs[0].Name
	sc, err := newCapturer(student, []string{inName}, o)
	if err != nil {
		return rep, err
	}
	d := cols
	if geo.hasBias {
		d++
	}
	G := geo.groups
	H := make([]*mat.SymDense, G)
	XY := make([]*mat.Dense, G)
	yy := make([]float64, rows)
	for g := range H {
		H[g] = mat.NewSymDense(d, nil)
		XY[g] = mat.NewDense(d, geo.rowsPerGroup, nil)
	}
	var total int64
	for bi, start := 0, 0; start < data.Len(); bi, start = bi+1, start+o.Batch {
		end := min(start+o.Batch, data.Len())
		so, err := sc.run(data, start, end)
		if err != nil {
			return rep, fmt.Errorf("running the pruned model: %w", err)
		}
		x, y := so[inName], cache[l.Target][bi]
		if x.DType != ir.Float32 || y.DType != ir.Float32 {
			return rep, fmt.Errorf("activations are not float32")
		}
		for g := 0; g < G; g++ {
			X, Y, err := geo.design(n, x, y, g, rowMap, w)
			if err != nil {
				return rep, err
			}
			for lo := 0; lo < len(X); lo += chunkRows * d {
				hi := min(lo+chunkRows*d, len(X))
				p := (hi - lo) / d
				Xm := mat.NewDense(p, d, X[lo:hi])
				Ym := mat.NewDense(p, geo.rowsPerGroup, Y[lo/d*geo.rowsPerGroup:(lo/d+p)*geo.rowsPerGroup])
				H[g].SymRankK(H[g], 1, Xm.T())
				var t mat.Dense
				t.Mul(Xm.T(), Ym)
				XY[g].Add(XY[g], &t)
				for i := 0; i < p; i++ {
					for r := 0; r < geo.rowsPerGroup; r++ {
						v := Y[(lo/d+i)*geo.rowsPerGroup+r]
						yy[g*geo.rowsPerGroup+r] += v * v
					}
				}
				if g == 0 {
					total += int64(p)
				}
			}
		}
	}
	rep.Samples = total

	// Solve, row by row, over the free weights.
	wOld := w.Float32View()
	wNew := make([]float32, len(wOld))
	copy(wNew, wOld)
	bNew := make([]float32, rows)
	if geo.bias != nil {
		for i, v := range geo.bias.Float32View() {
			bNew[i] = v * float32(geo.beta)
		}
	}
	var eIn, eOut, energy float64
	damp := o.Damp
	// Fewer observations than twice the unknowns per row (a layer after
	// global pooling sees one row per sample): the fit would chase the
	// calibration samples, so the ridge towards the current weights is
	// raised with the square of the shortfall.
	if short := 2 * float64(d) / float64(max(total, 1)); short > 1 {
		damp *= short * short
	}
	for g := 0; g < G; g++ {
		meanDiag := 0.0
		for j := 0; j < d; j++ {
			meanDiag += H[g].At(j, j)
		}
		meanDiag /= float64(d)
		if meanDiag == 0 {
			meanDiag = 1
		}
		// Rows with the same free set share a factorisation.
		var cache struct {
			key  string
			chol *mat.Cholesky
			lam  float64
			free []int
		}
		for rg := 0; rg < geo.rowsPerGroup; rg++ {
			r := g*geo.rowsPerGroup + rg
			free := make([]int, 0, d)
			key := make([]byte, d)
			w0 := make([]float64, d)
			for c := 0; c < cols; c++ {
				w0[c] = float64(wOld[at(r, c)])
				if l.Mask != nil && l.Mask[at(r, c)] {
					key[c] = 1
					continue
				}
				free = append(free, c)
			}
			if geo.hasBias {
				w0[cols] = float64(bNew[r])
				free = append(free, cols)
			}
			e0 := quad(H[g], XY[g], rg, w0, yy[r])
			eIn += e0
			energy += yy[r]
			if len(free) == 0 {
				eOut += e0
				continue
			}
			if cache.chol == nil || cache.key != string(key) {
				chol, lam, err := factor(H[g], free, damp*meanDiag)
				if err != nil {
					return rep, err
				}
				cache.key, cache.chol, cache.lam, cache.free = string(key), chol, lam, free
				rep.Damp = math.Max(rep.Damp, lam/meanDiag)
			}
			rhs := mat.NewVecDense(len(free), nil)
			for i, c := range free {
				rhs.SetVec(i, XY[g].At(c, rg)+cache.lam*w0[c])
			}
			var sol mat.VecDense
			if err := cache.chol.SolveVecTo(&sol, rhs); err != nil {
				return rep, fmt.Errorf("solving row %d: %v", r, err)
			}
			w1 := make([]float64, d)
			for c := 0; c < cols; c++ {
				if l.Mask != nil && l.Mask[at(r, c)] {
					continue
				}
			}
			for i, c := range free {
				w1[c] = sol.AtVec(i)
			}
			e1 := quad(H[g], XY[g], rg, w1, yy[r])
			if !(e1 <= e0) || math.IsNaN(e1) {
				// Keep the old row: the solve did not help (can happen
				// when the data do not excite the row).
				eOut += e0
				continue
			}
			eOut += e1
			for c := 0; c < cols; c++ {
				wNew[at(r, c)] = float32(w1[c])
			}
			if geo.hasBias {
				bNew[r] = float32(w1[cols])
			}
		}
	}
	if energy > 0 {
		rep.RelErrIn, rep.RelErrOut = eIn/energy, eOut/energy
	}
	wv.Const = ir.FromFloat32(w.Dims, wNew)
	if geo.hasBias {
		bt := ir.FromFloat32([]int64{int64(rows)}, bNew)
		if b := n.Input(2); b != nil {
			b.Const = ir.FromFloat32(b.Const.Dims, bNew)
			if geo.beta != 1 {
				n.SetAttr(ir.FloatAttr("beta", 1))
			}
		} else {
			g := student.Graph
			bv := g.AddConst(g.UniqueName(nodeName(n)+"_bias"), bt)
			for len(n.Inputs) < 2 {
				n.Inputs = append(n.Inputs, nil)
			}
			n.Inputs = append(n.Inputs[:2], bv)
		}
	}
	return rep, nil
}

const chunkRows = 4096

// quad returns ‖Xw − y‖² from the statistics: wᵀHw − 2wᵀ(XᵀY)[:,r] + yᵀy.
func quad(H *mat.SymDense, XY *mat.Dense, r int, w []float64, yy float64) float64 {
	d := len(w)
	s := yy
	for i := 0; i < d; i++ {
		if w[i] == 0 {
			continue
		}
		s -= 2 * w[i] * XY.At(i, r)
		hi := 0.0
		for j := 0; j < d; j++ {
			hi += H.At(i, j) * w[j]
		}
		s += w[i] * hi
	}
	return s
}

// factor returns the Cholesky factor of H[free, free] + λI, raising λ
// tenfold (up to 8 times) while the block is not positive definite.
func factor(H *mat.SymDense, free []int, lam float64) (*mat.Cholesky, float64, error) {
	k := len(free)
	for try := 0; try < 8; try++ {
		s := mat.NewSymDense(k, nil)
		for i, a := range free {
			for j := i; j < k; j++ {
				v := H.At(a, free[j])
				if i == j {
					v += lam
				}
				s.SetSym(i, j, v)
			}
		}
		var ch mat.Cholesky
		if ch.Factorize(s) {
			return &ch, lam, nil
		}
		lam *= 10
	}
	return nil, 0, fmt.Errorf("the Gram matrix is not positive definite even with damping %g", lam)
}

// design returns, for group g, the rows of X (patches, with a trailing 1
// for the bias) and of Y (the teacher's outputs for the group's rows),
// both row-major float64.
func (geo *layerGeom) design(n *ir.Node, x, y *ir.Tensor, g int, rowMap []int, w *ir.Tensor) ([]float64, []float64, error) {
	d := geo.cols
	if geo.hasBias {
		d++
	}
	rpg := geo.rowsPerGroup
	xs, ys := x.Float32View(), y.Float32View()
	if geo.kind == "dense" {
		if len(x.Dims) < 1 || len(y.Dims) < 1 {
			return nil, nil, fmt.Errorf("scalar activations")
		}
		K := int(x.Dims[len(x.Dims)-1])
		if n.OpType == "Gemm" && len(x.Dims) != 2 {
			return nil, nil, fmt.Errorf("the Gemm input has rank %d", len(x.Dims))
		}
		if K != geo.cols {
			return nil, nil, fmt.Errorf("the input has %d features, the weight %d", K, geo.cols)
		}
		P := len(xs) / max(K, 1)
		T := int(y.Dims[len(y.Dims)-1])
		if len(ys) != P*T {
			return nil, nil, fmt.Errorf("input and output rows disagree")
		}
		X := make([]float64, P*d)
		Y := make([]float64, P*rpg)
		for p := 0; p < P; p++ {
			for k := 0; k < K; k++ {
				X[p*d+k] = float64(xs[p*K+k])
			}
			if geo.hasBias {
				X[p*d+K] = 1
			}
			for r := 0; r < rpg; r++ {
				t := rowMap[r]
				if t < 0 || t >= T {
					return nil, nil, fmt.Errorf("row target %d outside %d channels", t, T)
				}
				Y[p*rpg+r] = float64(ys[p*T+t])
			}
		}
		return X, Y, nil
	}
	// Convolution: NC[H]W input.
	xd := x.Dims
	if len(xd) == 3 {
		xd = []int64{xd[0], xd[1], 1, xd[2]}
	}
	yd := y.Dims
	if len(yd) == 3 {
		yd = []int64{yd[0], yd[1], 1, yd[2]}
	}
	if len(xd) != 4 || len(yd) != 4 {
		return nil, nil, fmt.Errorf("activations of rank %d and %d", len(x.Dims), len(y.Dims))
	}
	N, C, Hh, W := int(xd[0]), int(xd[1]), int(xd[2]), int(xd[3])
	T, Ho, Wo := int(yd[1]), int(yd[2]), int(yd[3])
	wd := w.Dims
	kh, kw := 1, int(wd[len(wd)-1])
	if len(wd) == 4 {
		kh = int(wd[2])
	}
	cg := int(wd[1])
	if cg*geo.groups != C {
		return nil, nil, fmt.Errorf("input has %d channels, the weight expects %d×%d", C, cg, geo.groups)
	}
	strides := n.AttrInts("strides")
	dil := n.AttrInts("dilations")
	pads := n.AttrInts("pads")
	sh, sw, dh, dw := 1, 1, 1, 1
	pt, pl := 0, 0
	if len(x.Dims) == 4 {
		if len(strides) == 2 {
			sh, sw = int(strides[0]), int(strides[1])
		}
		if len(dil) == 2 {
			dh, dw = int(dil[0]), int(dil[1])
		}
		if len(pads) == 4 {
			pt, pl = int(pads[0]), int(pads[1])
		}
	} else {
		if len(strides) == 1 {
			sw = int(strides[0])
		}
		if len(dil) == 1 {
			dw = int(dil[0])
		}
		if len(pads) == 2 {
			pl = int(pads[0])
		}
	}
	switch ap := n.AttrString("auto_pad", "NOTSET"); ap {
	case "NOTSET", "VALID":
		if ap == "VALID" {
			pt, pl = 0, 0
		}
	case "SAME_UPPER", "SAME_LOWER":
		padOf := func(in, out, k, s, dl int) int {
			tot := max((out-1)*s+(k-1)*dl+1-in, 0)
			if ap == "SAME_UPPER" {
				return tot / 2
			}
			return tot - tot/2
		}
		pt, pl = padOf(Hh, Ho, kh, sh, dh), padOf(W, Wo, kw, sw, dw)
	default:
		return nil, nil, fmt.Errorf("auto_pad %q", ap)
	}
	P := N * Ho * Wo
	X := make([]float64, P*d)
	Y := make([]float64, P*rpg)
	c0 := g * cg
	for b := 0; b < N; b++ {
		for oh := 0; oh < Ho; oh++ {
			for ow := 0; ow < Wo; ow++ {
				p := (b*Ho+oh)*Wo + ow
				row := X[p*d : (p+1)*d]
				for c := 0; c < cg; c++ {
					plane := xs[(b*C+c0+c)*Hh*W:]
					for i := 0; i < kh; i++ {
						ih := oh*sh - pt + i*dh
						if ih < 0 || ih >= Hh {
							continue
						}
						for j := 0; j < kw; j++ {
							iw := ow*sw - pl + j*dw
							if iw < 0 || iw >= W {
								continue
							}
							row[(c*kh+i)*kw+j] = float64(plane[ih*W+iw])
						}
					}
				}
				if geo.hasBias {
					row[d-1] = 1
				}
				for r := 0; r < rpg; r++ {
					t := rowMap[g*rpg+r]
					if t < 0 || t >= T {
						return nil, nil, fmt.Errorf("row target %d outside %d channels", t, T)
					}
					Y[p*rpg+r] = float64(ys[((b*T+t)*Ho+oh)*Wo+ow])
				}
			}
		}
	}
	return X, Y, nil
}

// RefitMagnitude re-fits every masked layer of student (in node order)
// that the re-fit supports, keeping its masked weights at zero; the
// target of each is the teacher's value of the same name as the layer's
// output. Layers it cannot re-fit (ConvTranspose, shared weights) are
// left as they are.
func RefitMagnitude(teacher, student *ir.Model, mask Mask, data calib.Dataset, o RefitOptions) ([]RefitReport, error) {
	uses := map[*ir.Value]int{}
	for _, n := range student.Graph.Nodes {
		for _, in := range n.Inputs {
			uses[in]++
		}
	}
	var layers []RefitLayer
	for _, n := range student.Graph.Nodes {
		mk, ok := mask[n]
		if !ok || n.OpType == "ConvTranspose" || uses[n.Input(1)] > 1 || (n.Input(2) != nil && uses[n.Input(2)] > 1) {
			continue
		}
		layers = append(layers, RefitLayer{Node: n, Target: n.Outputs[0].Name, Mask: mk})
	}
	return Refit(teacher, student, layers, data, o)
}
