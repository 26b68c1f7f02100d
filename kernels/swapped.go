package kernels

// Swapped convolution GEMMs. With positions as the GEMM's columns, an
// output plane of a few dozen positions fills the 64-column tile badly
// (49 of 64 for 7×7 planes; 61 grid columns of 64 for an implicit 3×3).
// Swapped, yᵀ = im2colᵀ·Wᵀ: the output channels are the columns
// (multiples of 16 in CNNs) and the positions the rows, in panels of 6
// (49 positions: 54 rows). The im2colᵀ panels are packed from the input
// (or the phase planes of an implicit convolution, skipping the grid's
// extra columns) by a load and a permute per depth; Wᵀ is packed once; the
// result is transposed into the output planes.

// swapConv is the swapped form of a convolution, built by newSwapConv.
type swapConv struct {
	pb   []*PackedB    // Wᵀ of each group (K × M/Group)
	ph   *phaseGeom    // B rows of an implicit convolution; nil for 1×1 stride 1
	offs []int64       // B rows of a 1×1 stride-1 convolution
	wq   int           // grid width: OW, or ph.wq
	desc []gatherEntry // per 6-position panel: grid offset, load opmask, positions
}

// swapMaxPositions bounds the output planes that run swapped: the
// result is transposed through a scratch of positions × channels.
const swapMaxPositions = 1024

// newSwapConv returns the swapped form of p with weights w, or nil when
// it would not compute fewer tile elements (by 12%, to cover the
// packing and the transposition: measured on ResNet-18's layers, a 10%
// saving on 28×28 planes ran 12% slower, 12% on 14×14 ran 5% faster),
// has under 64 output channels per group
// (narrower tiles run slower than the elements saved), or cannot run
// here.
func newSwapConv(p *Conv2DParams, w []float32) *swapConv {
	if !hasIndirectKernels() || p.depthwise() || p.batched() || !(p.pointwise() || p.implicitConv()) {
		return nil
	}
	P, mg := p.OH*p.OW, p.M/p.Group
	if P > swapMaxPositions || mg < 64 {
		return nil
	}
	sc := &swapConv{wq: p.OW}
	ng := P
	if !p.pointwise() {
		sc.ph = newPhaseGeom(p)
		sc.wq, ng = sc.ph.wq, sc.ph.ng
	}
	if 25*roundUp(P, 6)*roundUp(mg, 16) > 22*roundUp(mg, 6)*roundUp(ng, 16) {
		return nil
	}
	// Panel of positions 6i..6i+5: their grid columns, which must lie
	// within 16 of the first.
	for q0 := 0; q0 < P; q0 += 6 {
		c0 := q0/p.OW*sc.wq + q0%p.OW
		e := gatherEntry{off: 4 * int64(c0)}
		for q := q0; q < min(P, q0+6); q++ {
			d := q/p.OW*sc.wq + q%p.OW - c0
			if d >= 16 {
				return nil
			}
			e.idx[q-q0] = int32(d)
			e.masks = 1<<(d+1) - 1
		}
		sc.desc = append(sc.desc, e)
	}
	K := p.C / p.Group * p.KH * p.KW
	if sc.ph == nil {
		sc.offs = make([]int64, K)
		for k := range sc.offs {
			sc.offs[k] = 4 * int64(k*p.H*p.W)
		}
	}
	for g := 0; g < p.Group; g++ {
		sc.pb = append(sc.pb, PackB(true, K, mg, w[g*mg*K:], K))
	}
	return sc
}

// swappedArgs are the arguments of conv2DSwapped's loop over images and
// groups, swappedBlockArgs those of its split of one product's row
// blocks (see forArgs).
type swappedArgs struct {
	p               *Conv2DParams
	sc              *swapConv
	x, bias, res, y []float32
	f               Fused
	inner           int
}

type swappedBlockArgs struct {
	k             *sgemmKernel
	sc            *swapConv
	pb            *PackedB
	P, mg, K, ldc int
	src, cm       []float32
	offs          []int64
	epi           bool
	lo, hi        float32
}

var (
	swappedLoops  argsPool[swappedArgs]
	swappedBlocks argsPool[swappedBlockArgs]
)

// conv2DSwapped computes the convolution p in its swapped form sc.
func conv2DSwapped(p *Conv2DParams, sc *swapConv, x, bias, res, y []float32, f Fused) {
	jobs := p.N * p.Group
	outer, inner := Threads(), 1
	if jobs < outer {
		outer, inner = 1, outer
	}
	forArgs(&swappedLoops, jobs, outer, swappedArgs{p: p, sc: sc, x: x, bias: bias, res: res, y: y, f: f, inner: inner}, func(arg *swappedArgs, _, job int) {
		p, sc, x, bias, res, y, f, inner := arg.p, arg.sc, arg.x, arg.bias, arg.res, arg.y, arg.f, arg.inner
		cg, mg := p.C/p.Group, p.M/p.Group
		K := cg * p.KH * p.KW
		hw, P := p.H*p.W, p.OH*p.OW
		ldc := roundUp(mg, 16)
		offs := sc.offs
		nq := 0
		if sc.ph != nil {
			offs = sc.ph.offs
			nq = cg * len(sc.ph.phases) * sc.ph.hq * sc.ph.wq
		}
		lo, hi := f.bounds()
		epi := f.Act != ActNone
		k := sk
		blocks := (P + k.mc - 1) / k.mc
		n, g := job/p.Group, job%p.Group
		sp := getImplicitScratch(nq + P*ldc)
		defer implicitScratch.Put(sp)
		src, cm := x[(n*p.C+g*cg)*hw:], (*sp)[nq:nq+P*ldc]
		if sc.ph != nil {
			xq := (*sp)[:nq]
			sc.ph.fill(p, xq, src, cg)
			src = xq
		}
		// Rows start at the bias (plus the residual), which the tiles
		// accumulate onto.
		if res != nil {
			transposeIn(cm, res[(n*p.M+g*mg)*P:], P, mg, ldc)
		}
		for q := 0; q < P; q++ {
			row := cm[q*ldc : q*ldc+mg]
			switch {
			case bias != nil && res != nil:
				axpy(1, bias[g*mg:(g+1)*mg], row)
			case bias != nil:
				copy(row, bias[g*mg:(g+1)*mg])
			case res == nil:
				clear(row)
			}
		}
		bargs := swappedBlockArgs{k: k, sc: sc, pb: sc.pb[g], P: P, mg: mg, K: K, ldc: ldc, src: src, cm: cm, offs: offs, epi: epi, lo: lo, hi: hi}
		forArgs(&swappedBlocks, blocks, min(inner, blocks), bargs, func(arg *swappedBlockArgs, _, b int) {
			k := arg.k
			w := getWork(k)
			defer sgemmWorkPool.Put(w)
			swappedBlock(k, w, b*k.mc, min(arg.P, (b+1)*k.mc), arg.mg, arg.K, arg.src, arg.offs, arg.sc.desc, arg.pb, arg.cm, arg.ldc, arg.epi, arg.lo, arg.hi)
		})
		transposeOut(y[(n*p.M+g*mg)*P:], cm, P, mg, ldc)
	})
}

// swappedBlock computes rows (positions) [q0, q1) of the swapped
// product: cm[q][0:mg] += im2colᵀ[q]·Wᵀ, clamped to [lo, hi] when epi.
func swappedBlock(k *sgemmKernel, w *sgemmWork, q0, q1, mg, K int, src []float32, offs []int64, desc []gatherEntry, pb *PackedB, cm []float32, ldc int, epi bool, lo, hi float32) {
	mr, nr := k.mr, k.nr
	np := (q1 - q0 + mr - 1) / mr
	for pc := 0; pc < K; pc += k.kc {
		kcb := min(k.kc, K-pc)
		packPanels(w.a, src, offs[pc:pc+kcb], desc[q0/mr:q0/mr+np])
		var tep *tileEpi
		if epi && pc+kcb == K {
			w.te = tileEpi{bias: zeroBias[:], lo: lo, hi: hi}
			tep = &w.te
		}
		for ir := 0; ir < q1-q0; ir += mr {
			mrb := min(mr, q1-q0-ir)
			for jr := 0; jr < mg; jr += nr {
				k.tile(mrb, min(nr, mg-jr), kcb, w.a[ir*kcb:], pb.block(pc, jr), nr, cm[(q0+ir)*ldc+jr:], ldc, 1, 1, true, tep)
			}
		}
	}
}

// transposeIn writes the mg×P matrix r into cm as P×mg (row stride
// ldc).
func transposeIn(cm, r []float32, P, mg, ldc int) {
	m := 0
	for ; m+8 <= mg; m += 8 {
		done := transpose8(cm[m:], r[m*P:], P, ldc, P)
		for q := done; q < P; q++ {
			for i := m; i < m+8; i++ {
				cm[q*ldc+i] = r[i*P+q]
			}
		}
	}
	for ; m < mg; m++ {
		for q, v := range r[m*P : (m+1)*P] {
			cm[q*ldc+m] = v
		}
	}
}

// transposeOut writes the P×mg matrix cm (row stride ldc) into y as
// mg×P.
func transposeOut(y, cm []float32, P, mg, ldc int) {
	q := 0
	for ; q+8 <= P; q += 8 {
		done := transpose8(y[q:], cm[q*ldc:], ldc, P, mg)
		for m := done; m < mg; m++ {
			for r := q; r < q+8; r++ {
				y[m*P+r] = cm[r*ldc+m]
			}
		}
	}
	for ; q < P; q++ {
		row := cm[q*ldc : q*ldc+mg]
		for m, v := range row {
			y[m*P+q] = v
		}
	}
}
