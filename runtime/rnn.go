package runtime

import (
	"fmt"
	"math"
	"strings"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/kernels"
)

// RNN, GRU and LSTM (opsets 7 and 14), in float32 on the GEMM kernel: the
// input projections of all time steps are one GEMM per direction, the
// recurrent ones one per step.

func init() {
	register("RNN", 7, func(b *buildCtx) (kernel, error) { return buildRecurrent(b, "RNN") })
	register("GRU", 7, func(b *buildCtx) (kernel, error) { return buildRecurrent(b, "GRU") })
	register("LSTM", 7, func(b *buildCtx) (kernel, error) { return buildRecurrent(b, "LSTM") })
}

type recurrentKernel struct {
	kind        string
	gates       int
	hidden      int
	dirs        int
	reverse     bool // direction "reverse"
	clip        float32
	acts        []func(float32) float32 // per direction: f, g[, h]
	linearReset bool                    // GRU linear_before_reset
	inputForget bool                    // LSTM input_forget
	layout      int64
	nout        int
}

// rnnActivation returns the named activation with its alpha and beta.
func rnnActivation(name string, alpha, beta float32, hasAlpha, hasBeta bool) (func(float32) float32, int, error) {
	def := func(v float32, has bool, d float32) float32 {
		if has {
			return v
		}
		return d
	}
	switch strings.ToLower(name) {
	case "relu":
		return func(x float32) float32 { return max(x, 0) }, 0, nil
	case "tanh":
		return func(x float32) float32 { return float32(math.Tanh(float64(x))) }, 0, nil
	case "sigmoid":
		return func(x float32) float32 { return float32(sigmoid64(float64(x))) }, 0, nil
	case "affine":
		a, b := def(alpha, hasAlpha, 1), def(beta, hasBeta, 0)
		return func(x float32) float32 { return a*x + b }, 2, nil
	case "leakyrelu":
		a := def(alpha, hasAlpha, 0.01)
		return func(x float32) float32 { return max(x, 0) + a*min(x, 0) }, 1, nil
	case "thresholdedrelu":
		a := def(alpha, hasAlpha, 1)
		return func(x float32) float32 {
			if x > a {
				return x
			}
			return 0
		}, 1, nil
	case "scaledtanh":
		a, b := def(alpha, hasAlpha, 1), def(beta, hasBeta, 1)
		return func(x float32) float32 { return a * float32(math.Tanh(float64(b*x))) }, 2, nil
	case "hardsigmoid":
		a, b := def(alpha, hasAlpha, 0.2), def(beta, hasBeta, 0.5)
		return func(x float32) float32 { return min(max(a*x+b, 0), 1) }, 2, nil
	case "elu":
		a := def(alpha, hasAlpha, 1)
		return func(x float32) float32 {
			if x < 0 {
				return a * float32(math.Exp(float64(x))-1)
			}
			return x
		}, 1, nil
	case "softsign":
		return func(x float32) float32 { return x / (1 + float32(math.Abs(float64(x)))) }, 0, nil
	case "softplus":
		return func(x float32) float32 { return float32(softplus(float64(x))) }, 0, nil
	}
	return nil, 0, fmt.Errorf("unknown activation %q", name)
}

func buildRecurrent(b *buildCtx, kind string) (kernel, error) {
	n := b.n
	k := &recurrentKernel{kind: kind, hidden: int(n.AttrInt("hidden_size", 0)), layout: n.AttrInt("layout", 0), nout: len(n.Outputs)}
	if k.hidden <= 0 {
		return nil, fmt.Errorf("hidden_size is required")
	}
	var defaults []string
	switch kind {
	case "RNN":
		k.gates, defaults = 1, []string{"Tanh"}
	case "GRU":
		k.gates, defaults = 3, []string{"Sigmoid", "Tanh"}
		k.linearReset = n.AttrInt("linear_before_reset", 0) != 0
	case "LSTM":
		k.gates, defaults = 4, []string{"Sigmoid", "Tanh", "Tanh"}
		k.inputForget = n.AttrInt("input_forget", 0) != 0
	}
	switch dir := n.AttrString("direction", "forward"); dir {
	case "forward":
		k.dirs = 1
	case "reverse":
		k.dirs, k.reverse = 1, true
	case "bidirectional":
		k.dirs = 2
	default:
		return nil, fmt.Errorf("unknown direction %q", dir)
	}
	k.clip = n.AttrFloat("clip", 0)
	names := make([]string, 0, len(defaults)*k.dirs)
	if a := n.Attr("activations"); a != nil {
		for _, s := range a.Strings {
			names = append(names, string(s))
		}
		if len(names) != len(defaults)*k.dirs {
			return nil, fmt.Errorf("%d activations, want %d", len(names), len(defaults)*k.dirs)
		}
	} else {
		for d := 0; d < k.dirs; d++ {
			names = append(names, defaults...)
		}
	}
	alphas, betas := n.AttrFloats("activation_alpha"), n.AttrFloats("activation_beta")
	ai, bi := 0, 0
	for _, name := range names {
		var al, be float32
		hasA, hasB := ai < len(alphas), bi < len(betas)
		if hasA {
			al = alphas[ai]
		}
		if hasB {
			be = betas[bi]
		}
		f, used, err := rnnActivation(name, al, be, hasA, hasB)
		if err != nil {
			return nil, err
		}
		// Alphas and betas are consumed by the activations that take them.
		if used >= 1 {
			ai++
		}
		if used >= 2 {
			bi++
		}
		k.acts = append(k.acts, f)
	}
	return k, nil
}

func (k *recurrentKernel) run(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := needInputs(in, 3); err != nil {
		return nil, err
	}
	opt := func(i int) *ir.Tensor {
		if i < len(in) && in[i] != nil && numel(in[i].Dims) > 0 {
			return in[i]
		}
		return nil
	}
	x, w, r := in[0], in[1], in[2]
	dt := x.DType
	if isHalf(dt) {
		wd := widen(in)
		in = wd
		x, w, r = wd[0], wd[1], wd[2]
	}
	if x.DType != ir.Float32 || w.DType != ir.Float32 || r.DType != ir.Float32 {
		return nil, fmt.Errorf("unsupported types %s, %s, %s", x.DType, w.DType, r.DType)
	}
	if len(x.Dims) != 3 {
		return nil, fmt.Errorf("X must be 3-D, is %v", x.Dims)
	}
	if k.layout != 0 {
		t, err := transposeTensor(nil, x, []int{1, 0, 2})
		if err != nil {
			return nil, err
		}
		x = t
	}
	T, B, I := int(x.Dims[0]), int(x.Dims[1]), int(x.Dims[2])
	H, G, D := k.hidden, k.gates, k.dirs
	if !sameDims(w.Dims, []int64{int64(D), int64(G * H), int64(I)}) || !sameDims(r.Dims, []int64{int64(D), int64(G * H), int64(H)}) {
		return nil, fmt.Errorf("W %v and R %v do not fit %d directions, %d gates of %d, input %d", w.Dims, r.Dims, D, G, H, I)
	}
	vec := func(t *ir.Tensor, n int, what string) ([]float32, error) {
		if t == nil {
			return nil, nil
		}
		if t.DType != ir.Float32 || numel(t.Dims) != n {
			return nil, fmt.Errorf("%s must hold %d floats, is %s%v", what, n, t.DType, t.Dims)
		}
		return view[float32](t), nil
	}
	bias, err := vec(opt(3), D*2*G*H, "B")
	if err != nil {
		return nil, err
	}
	var lens []int64
	if t := opt(4); t != nil {
		if lens, err = intsOf(t, "sequence_lens"); err != nil || len(lens) != B {
			return nil, fmt.Errorf("sequence_lens must hold %d integers", B)
		}
		for _, l := range lens {
			if l < 0 || l > int64(T) {
				return nil, fmt.Errorf("sequence length %d is out of range", l)
			}
		}
	}
	h0, err := vec(opt(5), D*B*H, "initial_h")
	if err != nil {
		return nil, err
	}
	// For layout 1 the initial states are [batch, dirs, hidden].
	if h0 != nil && k.layout != 0 {
		h0 = swap01(h0, B, D, H)
	}
	var c0, peep []float32
	if k.kind == "LSTM" {
		if c0, err = vec(opt(6), D*B*H, "initial_c"); err != nil {
			return nil, err
		}
		if c0 != nil && k.layout != 0 {
			c0 = swap01(c0, B, D, H)
		}
		if peep, err = vec(opt(7), D*3*H, "P"); err != nil {
			return nil, err
		}
	}
	y := make([]float32, T*D*B*H)
	yh := make([]float32, D*B*H)
	yc := make([]float32, D*B*H)
	for d := 0; d < D; d++ {
		rev := k.reverse || d == 1
		k.direction(d, rev, view[float32](x), T, B, I, view[float32](w)[d*G*H*I:], view[float32](r)[d*G*H*H:], bias, h0, c0, peep, lens, y, yh, yc)
	}
	// Outputs in the requested layout.
	ydims := []int64{int64(T), int64(D), int64(B), int64(H)}
	hdims := []int64{int64(D), int64(B), int64(H)}
	if k.layout != 0 {
		y = transposeF32(y, []int{T, D, B, H}, []int{2, 0, 1, 3})
		yh, yc = swap01(yh, D, B, H), swap01(yc, D, B, H)
		ydims = []int64{int64(B), int64(T), int64(D), int64(H)}
		hdims = []int64{int64(B), int64(D), int64(H)}
	}
	var outs []*ir.Tensor
	for i, v := range [][]float32{y, yh, yc}[:min(k.nout, 3)] {
		dims := hdims
		if i == 0 {
			dims = ydims
		}
		t, err := e.alloc(ir.Float32, dims)
		if err != nil {
			return nil, err
		}
		copy(view[float32](t), v)
		if dt != ir.Float32 {
			t = mustNarrow(e, t, dt)
		}
		outs = append(outs, t)
	}
	return outs, nil
}

// direction runs one direction d over the sequence.
func (k *recurrentKernel) direction(d int, rev bool, x []float32, T, B, I int, w, r, bias, h0, c0, peep []float32, lens []int64, y, yh, yc []float32) {
	H, G, D := k.hidden, k.gates, k.dirs
	GH := G * H
	// Input projections of every step: (T·B × I)·Wᵀ.
	xw := make([]float32, T*B*GH)
	kernels.Sgemm(false, true, T*B, GH, I, 1, x, I, w, I, 0, xw, GH)
	var wb, rb []float32
	if bias != nil {
		wb, rb = bias[d*2*GH:d*2*GH+GH], bias[d*2*GH+GH:(d+1)*2*GH]
	}
	h := make([]float32, B*H)
	c := make([]float32, B*H)
	if h0 != nil {
		copy(h, h0[d*B*H:(d+1)*B*H])
	}
	if c0 != nil {
		copy(c, c0[d*B*H:(d+1)*B*H])
	}
	var pi, po, pf []float32
	if peep != nil {
		pi, po, pf = peep[d*3*H:d*3*H+H], peep[d*3*H+H:d*3*H+2*H], peep[d*3*H+2*H:(d+1)*3*H]
	}
	acts := k.acts[d*len(k.acts)/D : (d+1)*len(k.acts)/D]
	hr := make([]float32, B*GH)
	gate := func(v float32) float32 {
		if k.clip > 0 {
			v = min(max(v, -k.clip), k.clip)
		}
		return v
	}
	rh := make([]float32, B*H) // GRU: (r ⊙ H) before the reset projection
	for s := 0; s < T; s++ {
		t := s
		if rev {
			t = T - 1 - s
		}
		// Recurrent projections: (B × H)·Rᵀ.
		kernels.Sgemm(false, true, B, GH, H, 1, h, H, r, H, 0, hr, GH)
		for bi := 0; bi < B; bi++ {
			if lens != nil && int64(t) >= lens[bi] {
				continue // past this sequence's end: state and output stay
			}
			xg := xw[(t*B+bi)*GH : (t*B+bi+1)*GH]
			rg := hr[bi*GH : (bi+1)*GH]
			hs := h[bi*H : (bi+1)*H]
			at := func(g, j int) float32 {
				v := xg[g*H+j] + rg[g*H+j]
				if wb != nil {
					v += wb[g*H+j] + rb[g*H+j]
				}
				return v
			}
			switch k.kind {
			case "RNN":
				for j := 0; j < H; j++ {
					hs[j] = acts[0](gate(at(0, j)))
				}
			case "GRU":
				// Gates z, r, h.
				z := make([]float32, H)
				rr := make([]float32, H)
				for j := 0; j < H; j++ {
					z[j] = acts[0](gate(at(0, j)))
					rr[j] = acts[0](gate(at(1, j)))
				}
				var hh []float32
				if k.linearReset {
					hh = make([]float32, H)
					for j := 0; j < H; j++ {
						v := rg[2*H+j]
						if rb != nil {
							v += rb[2*H+j]
						}
						v = xg[2*H+j] + rr[j]*v
						if wb != nil {
							v += wb[2*H+j]
						}
						hh[j] = acts[1](gate(v))
					}
				} else {
					rs := rh[bi*H : (bi+1)*H]
					for j := 0; j < H; j++ {
						rs[j] = rr[j] * hs[j]
					}
					proj := make([]float32, H)
					kernels.Sgemm(false, true, 1, H, H, 1, rs, H, r[2*H*H:], H, 0, proj, H)
					hh = make([]float32, H)
					for j := 0; j < H; j++ {
						v := xg[2*H+j] + proj[j]
						if wb != nil {
							v += wb[2*H+j] + rb[2*H+j]
						}
						hh[j] = acts[1](gate(v))
					}
				}
				for j := 0; j < H; j++ {
					hs[j] = (1-z[j])*hh[j] + z[j]*hs[j]
				}
			case "LSTM":
				// Gates i, o, f, c.
				cs := c[bi*H : (bi+1)*H]
				for j := 0; j < H; j++ {
					iv, ov, fv, cv := at(0, j), at(1, j), at(2, j), at(3, j)
					if pi != nil {
						iv += pi[j] * cs[j]
						fv += pf[j] * cs[j]
					}
					ig := acts[0](gate(iv))
					fg := acts[0](gate(fv))
					if k.inputForget {
						fg = 1 - ig
					}
					cg := acts[1](gate(cv))
					cs[j] = fg*cs[j] + ig*cg
					if po != nil {
						ov += po[j] * cs[j]
					}
					og := acts[0](gate(ov))
					hs[j] = og * acts[2](cs[j])
				}
			}
			copy(y[((t*D+d)*B+bi)*H:((t*D+d)*B+bi+1)*H], hs)
		}
	}
	copy(yh[d*B*H:(d+1)*B*H], h)
	copy(yc[d*B*H:(d+1)*B*H], c)
}

// swap01 exchanges the first two axes of a [a, b, n] array.
func swap01(v []float32, a, b, n int) []float32 {
	return transposeF32(v, []int{a, b, n}, []int{1, 0, 2})
}

// transposeF32 permutes a float32 array of the given dims.
func transposeF32(v []float32, dims []int, perm []int) []float32 {
	d := make([]int64, len(dims))
	for i, x := range dims {
		d[i] = int64(x)
	}
	t := &ir.Tensor{DType: ir.Float32, Dims: d, Data: alignedBytes(4 * len(v))}
	copy(view[float32](t), v)
	out, _ := transposeTensor(nil, t, perm) // cannot fail: perm is valid
	return view[float32](out)
}
