package kernels

import "sync"

// Implicit-GEMM convolution. For stride 1, row k = (c, kh, kw) of the
// im2col matrix, taken over output positions laid out on the padded
// input's grid (oh·Wp + ow, Wp = W + PadL + PadR), is a contiguous run
// of the zero-padded input plane c starting at kh·DilH·Wp + kw·DilW. So
// the micro-kernel can read B straight from a padded copy of the input
// through a table of row offsets, and no im2col matrix is ever built:
// the price is the padded copy, the OW..Wp-1 columns of each grid row
// (computed and dropped, a few percent for 3×3 kernels), and copying the
// result out of the grid.

// implicitConv reports whether conv2DImplicit runs p: stride 1, not
// depthwise, not a plain 1×1 product, and indirect micro-kernels
// available.
func (p *Conv2DParams) implicitConv() bool {
	return hasIndirectKernels() && p.StrideH == 1 && p.StrideW == 1 && !p.pointwise() && !p.depthwise()
}

// implicitScratch holds a job's padded input and grid output.
var implicitScratch sync.Pool

// conv2DImplicit computes the convolution p (see implicitConv) with the
// weights packed in pa (one per group) or, when pa is nil, w.
func conv2DImplicit(p *Conv2DParams, pa []*PackedA, x, w, bias, y []float32, f Fused) {
	cg, mg := p.C/p.Group, p.M/p.Group
	khw := p.KH * p.KW
	K := cg * khw
	hw, ohw := p.H*p.W, p.OH*p.OW
	hp, wp := p.H+p.PadT+p.PadB, p.W+p.PadL+p.PadR
	ng := (p.OH-1)*wp + p.OW // grid columns up to the last output
	offs := make([]int64, K)
	for k := range offs {
		ci, r := k/khw, k%khw
		offs[k] = 4 * int64(ci*hp*wp+r/p.KW*p.DilH*wp+r%p.KW*p.DilW)
	}
	jobs := p.N * p.Group
	outer, inner := Threads(), 1
	if jobs < outer {
		outer, inner = 1, outer
	}
	lo, hi := f.bounds()
	epi := bias != nil || f.Act != ActNone
	parallelFor(jobs, outer, func(job int) {
		n, g := job/p.Group, job%p.Group
		sp := getImplicitScratch(cg*hp*wp + mg*ng)
		defer implicitScratch.Put(sp)
		xp, cm := (*sp)[:cg*hp*wp], (*sp)[cg*hp*wp:cg*hp*wp+mg*ng]
		clear(xp)
		for c := 0; c < cg; c++ {
			src := x[(n*p.C+g*cg+c)*hw:]
			copyRows(xp[c*hp*wp+p.PadT*wp+p.PadL:], src, p.H, p.W, wp, p.W)
		}
		a := sgemmA{a: w, lda: K, row0: g * mg}
		if pa != nil {
			a = sgemmA{pk: pa[g]}
		}
		var gbias []float32
		if bias != nil {
			gbias = bias[g*mg : (g+1)*mg]
		}
		// Column panels are split between inner goroutines.
		k := sk
		panels := (ng + k.nr - 1) / k.nr
		parts := min(inner, panels)
		parallelFor(parts, parts, func(t int) {
			j0, j1 := t*panels/parts*k.nr, min(ng, (t+1)*panels/parts*k.nr)
			wk := getWork(k)
			defer sgemmWorkPool.Put(wk)
			implicitBlocked(k, wk, mg, j0, j1, K, &a, xp, offs, cm, ng, epi, gbias, lo, hi)
		})
		for m := 0; m < mg; m++ {
			copyRows(y[(n*p.M+g*mg+m)*ohw:], cm[m*ng:], p.OH, p.OW, p.OW, wp)
		}
	})
}

// implicitBlocked computes columns [j0, j1) of the M×ng grid product C =
// A·B, where row k of B is xp[offs[k]/4:], blocked like sgemmBlocked,
// then, when epi is set, adds bias (nil: none) and clamps to [lo, hi].
func implicitBlocked(k *sgemmKernel, w *sgemmWork, M, j0, j1, K int, a *sgemmA, xp []float32, offs []int64, C []float32, ldc int, epi bool, bias []float32, lo, hi float32) {
	mr, nr := k.mr, k.nr
	for jc := j0; jc < j1; jc += k.nc {
		ncb := min(k.nc, j1-jc)
		for pc := 0; pc < K; pc += k.kc {
			kcb := min(k.kc, K-pc)
			last := pc+kcb == K
			for ic := 0; ic < M; ic += k.mc {
				mcb := min(k.mc, M-ic)
				var ablk []float32
				if a.pk != nil {
					ablk = a.pk.block(pc, a.row0+ic)
				} else {
					packA(w.a, a, ic, mcb, pc, kcb, mr)
					ablk = w.a
				}
				for ir := 0; ir < mcb; ir += mr {
					mrb := min(mr, mcb-ir)
					flags := 0
					if pc > 0 {
						flags |= sgemmLoadC
					}
					bp := &zeroBias[0]
					if last && epi {
						flags |= sgemmEpilogue
						if bias != nil {
							bp = &bias[ic+ir]
						}
					}
					ap := ablk[ir*kcb:]
					for jr := 0; jr < ncb; jr += nr {
						nrb := min(nr, ncb-jr)
						c := C[(ic+ir)*ldc+jc+jr:]
						tileIndirect(mrb, nrb, kcb, ap, xp[jc+jr:], offs[pc:], c, ldc, flags, bp, lo, hi)
					}
				}
			}
		}
	}
}

// getImplicitScratch returns a pooled slice of at least n floats.
func getImplicitScratch(n int) *[]float32 {
	if v, ok := implicitScratch.Get().(*[]float32); ok && len(*v) >= n {
		return v
	}
	s := alignedFloats(n)
	return &s
}
