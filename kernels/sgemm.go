package kernels

import (
	"fmt"
	"sync"
	"unsafe"
)

// sgemmKernel describes a float32 GEMM micro-kernel and the cache blocking
// that suits it. The driver packs op(A) into panels of mr rows (k-major,
// mr floats per k, zero-padded) and op(B) into panels of nr columns
// (k-major, nr floats per k, zero-padded), in blocks of kc values of k.
type sgemmKernel struct {
	name       string
	mr, nr     int // register tile
	kc, mc, nc int // cache blocks along K, M and N
	// masked kernels handle partial tiles (nr columns < full) themselves
	// and read no B column beyond nr, so unpacked B works at the right
	// edge too. Unmasked kernels are only called on full-width B panels.
	masked bool
	// tile computes C[0:mr, 0:nr] = alpha·Ap·Bp + beta·C, reading C only
	// when loadC, then applies ep if it is not nil. Ap is a packed A
	// panel; row k of the B panel starts at b[k*bstride].
	tile func(mr, nr, kc int, a, b []float32, bstride int, c []float32, ldc int, alpha, beta float32, loadC bool, ep *tileEpi)
	// strips, when set, computes n full mr×nr tiles side by side in one
	// call, tile t from the B panel at b[t·badv:] into c[t·nr:] (a row
	// panel's sweep across a packed B block).
	strips func(mr, n, kc int, a, b []float32, bstride, badv int, c []float32, ldc int, alpha, beta float32, loadC bool, ep *tileEpi)
}

// Flag bits of the assembly micro-kernels.
const (
	sgemmLoadC    = 1 // accumulate into C scaled by beta
	sgemmEpilogue = 2 // add the row bias and clamp
)

// sk is the micro-kernel chosen for this CPU (see the per-arch init).
var sk *sgemmKernel

// sgemmA is the A operand of one GEMM: op(A) rows [row0, row0+M).
type sgemmA struct {
	trans bool
	a     []float32
	lda   int
	pk    *PackedA // prepacked; a is unused when set
	row0  int      // first row; a multiple of mr when pk is set
}

// sgemmB is the B operand of one GEMM: op(B) columns [col0, col0+N).
type sgemmB struct {
	trans  bool
	b      []float32
	ldb    int
	pk     *PackedB // prepacked; b is unused when set
	col0   int      // first column; a multiple of nr when pk is set
	direct bool     // read B (not transposed) in place instead of packing
	// im, when im.p is set, generates B as an im2col matrix packed
	// block by block; b and ldb are unused.
	im im2col
}

// epilogue is applied to finished tiles of C: C[i][j] = min(max(C[i][j]
// + bias[row0+i], lo), hi), keeping NaNs.
type epilogue struct {
	bias   []float32 // per row of C; nil means zeros
	row0   int
	lo, hi float32
}

// newEpilogue returns the epilogue adding bias (nil for none) and
// applying f, or nil when there is nothing to do.
func newEpilogue(bias []float32, f Fused) *epilogue {
	lo, hi := f.bounds()
	if bias == nil && f.Act == ActNone {
		return nil
	}
	return &epilogue{bias: bias, lo: lo, hi: hi}
}

// tileEpi is the epilogue as a micro-kernel sees it: bias[0:mr] for the
// tile's rows.
type tileEpi struct {
	bias   []float32
	lo, hi float32
}

// zeroBias stands in for a missing bias vector.
var zeroBias [16]float32

// sgemmWork holds one goroutine's packing buffers, and the tile
// epilogue (kept here so that passing it to the micro-kernel does not
// allocate).
type sgemmWork struct {
	a, b, edge []float32
	te         tileEpi
}

var sgemmWorkPool = sync.Pool{New: func() any { return new(sgemmWork) }}

// getWork returns packing buffers big enough for kernel k.
func getWork(k *sgemmKernel) *sgemmWork {
	w := sgemmWorkPool.Get().(*sgemmWork)
	if n := roundUp(k.mc, k.mr) * k.kc; len(w.a) < n {
		w.a = alignedFloats(n)
	}
	if n := directStride(k.nc) * k.kc; len(w.b) < n {
		w.b = alignedFloats(n)
	}
	if n := k.nr * k.kc; len(w.edge) < n {
		w.edge = alignedFloats(n)
	}
	return w
}

// directStride is the row stride (in floats) of an im2col block of nc
// columns read in place: nc rounded up to a cache line, plus one line
// where rows would otherwise lie a multiple of 1 KiB apart (a 16-column
// strip down kc such rows would use only a few of L1's cache sets and
// thrash it: nc = 512 put every row of the detector's 3×3 convolutions
// 2 KiB apart, two sets for 256 lines).
func directStride(nc int) int {
	ld := roundUp(nc, 16)
	if ld%256 == 0 {
		ld += 16
	}
	return ld
}

// alignedFloats returns a zeroed slice of n float32s starting on a
// 64-byte boundary (one cache line, one AVX-512 vector).
func alignedFloats(n int) []float32 {
	s := make([]float32, n+16)
	off := int(uintptr(unsafe.Pointer(&s[0]))&63) / 4
	if off != 0 {
		off = 16 - off
	}
	return s[off : off+n : off+n]
}

func roundUp(n, m int) int { return (n + m - 1) / m * m }

// Sgemm computes C = alpha*op(A)*op(B) + beta*C for row-major float32
// matrices, where op(X) is X or its transpose. op(A) is M×K, op(B) is K×N
// and C is M×N; lda, ldb and ldc are the row strides of A, B and C as
// stored. When beta is 0, C is not read (NaNs in C do not propagate).
//
// Sgemm panics if a dimension is negative or a slice is too short for its
// shape and stride; it does not allocate in steady state.
func Sgemm(transA, transB bool, M, N, K int, alpha float32, A []float32, lda int, B []float32, ldb int, beta float32, C []float32, ldc int) {
	checkMatrix("Sgemm", "A", transA, M, K, A, lda)
	checkMatrix("Sgemm", "B", transB, K, N, B, ldb)
	checkMatrix("Sgemm", "C", false, M, N, C, ldc)
	if M == 0 || N == 0 {
		return
	}
	if K == 0 || alpha == 0 {
		scaleMatrix(M, N, beta, C, ldc)
		return
	}
	if !transA && sgemmSkinny(transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc) {
		return
	}
	a := sgemmA{trans: transA, a: A, lda: lda}
	b := sgemmB{trans: transB, b: B, ldb: ldb, direct: !transB && sgemmDirectB(M, N)}
	sgemmDrive(M, N, K, alpha, &a, &b, beta, C, ldc, nil, Threads())
}

// sgemmSkinny handles products with few rows or few columns (A not
// transposed) by dot products instead of packing, and reports whether it
// did: A·Bᵀ with N ≤ 4, or M ≤ 16 and K ≥ 128 (shorter dot products cost
// more in their final reductions than packing Bᵀ), directly; A·B with
// N ≤ 4 through a transposed copy of the thin B.
func sgemmSkinny(transB bool, M, N, K int, alpha float32, A []float32, lda int, B []float32, ldb int, beta float32, C []float32, ldc int) bool {
	switch {
	case transB && (M <= 16 && K >= 128 || N <= 4):
		return sgemmDotTN(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, Threads())
	case !transB && N <= 4 && M > 4*sk.mr:
		w := getWork(sk)
		defer sgemmWorkPool.Put(w)
		if N*K > len(w.b) {
			return false
		}
		bt := w.b[:N*K]
		for k := 0; k < K; k++ {
			for j, v := range B[k*ldb : k*ldb+N] {
				bt[j*K+k] = v
			}
		}
		return sgemmDotTN(M, N, K, alpha, A, lda, bt, K, beta, C, ldc, Threads())
	}
	return false
}

// sgemmDirectB reports whether a non-transposed B is better read in place
// than packed: packing costs a full pass over B, which only pays off when
// many row panels of A reuse the packed copy.
func sgemmDirectB(M, N int) bool {
	return M <= 4*sk.mr && (sk.masked || N >= sk.nr)
}

// checkMatrix panics unless s holds a rows×cols matrix (cols×rows when
// trans) with row stride ld.
func checkMatrix(fn, name string, trans bool, rows, cols int, s []float32, ld int) {
	if rows < 0 || cols < 0 {
		panic(fmt.Sprintf("kernels: %s: negative dimension of %s (%d×%d)", fn, name, rows, cols))
	}
	if trans {
		rows, cols = cols, rows
	}
	if ld < max(1, cols) {
		panic(fmt.Sprintf("kernels: %s: stride of %s is %d, want ≥ %d", fn, name, ld, max(1, cols)))
	}
	if rows > 0 && cols > 0 && len(s) < (rows-1)*ld+cols {
		panic(fmt.Sprintf("kernels: %s: len(%s)=%d, want ≥ %d for %d×%d with stride %d", fn, name, len(s), (rows-1)*ld+cols, rows, cols, ld))
	}
}

// scaleMatrix sets C = beta*C (C = 0 without reading it when beta is 0).
func scaleMatrix(M, N int, beta float32, C []float32, ldc int) {
	for i := 0; i < M; i++ {
		row := C[i*ldc : i*ldc+N]
		switch beta {
		case 0:
			clear(row)
		case 1:
		default:
			for j := range row {
				row[j] *= beta
			}
		}
	}
}

// sgemmMinParallel is the number of multiply-adds below which a GEMM is
// not worth splitting across goroutines.
const sgemmMinParallel = 1 << 18

// sgemmDrive splits the GEMM across threads goroutines, by column panels
// when there are enough of them and by row panels otherwise, and runs the
// blocked algorithm on each part.
func sgemmDrive(M, N, K int, alpha float32, a *sgemmA, b *sgemmB, beta float32, C []float32, ldc int, epi *epilogue, threads int) {
	k := sk
	if threads <= 1 || M*N*K < sgemmMinParallel {
		w := getWork(k)
		sgemmBlocked(k, w, M, N, K, alpha, a, b, beta, C, ldc, epi)
		sgemmWorkPool.Put(w)
		return
	}
	pn := (N + k.nr - 1) / k.nr
	pm := (M + k.mr - 1) / k.mr
	// Columns are split when there are more column panels than row
	// panels, too few row panels, or when A is prepacked and B must be
	// packed: split by rows, every part would pack all of B (1×1
	// convolutions on 80×80 planes: about 12% faster at two threads).
	packsB := a.pk != nil && !b.direct
	splitN := pn >= threads && (pn >= pm || pm < threads || packsB)
	panels := pm
	if splitN {
		panels = pn
	}
	parts := min(threads, panels)
	args := sgemmArgs{k: k, M: M, N: N, K: K, panels: panels, parts: parts, splitN: splitN,
		alpha: alpha, beta: beta, a: *a, b: *b, C: C, ldc: ldc}
	if epi != nil {
		args.epi, args.hasEpi = *epi, true
	}
	forArgs(&sgemmParts, parts, parts, args, func(arg *sgemmArgs, _, t int) {
		k, M, N, K, panels, parts := arg.k, arg.M, arg.N, arg.K, arg.panels, arg.parts
		lo, hi := t*panels/parts, (t+1)*panels/parts
		if lo == hi {
			return
		}
		w := getWork(k)
		defer sgemmWorkPool.Put(w)
		var e epilogue
		var ep *epilogue
		if arg.hasEpi {
			e = arg.epi
			ep = &e
		}
		if arg.splitN {
			j0, j1 := lo*k.nr, min(hi*k.nr, N)
			bb := arg.b
			bb.col0 += j0
			sgemmBlocked(k, w, M, j1-j0, K, arg.alpha, &arg.a, &bb, arg.beta, arg.C[j0:], arg.ldc, ep)
			return
		}
		i0, i1 := lo*k.mr, min(hi*k.mr, M)
		aa := arg.a
		aa.row0 += i0
		if ep != nil {
			e.row0 += i0
		}
		sgemmBlocked(k, w, i1-i0, N, K, arg.alpha, &aa, &arg.b, arg.beta, arg.C[i0*arg.ldc:], arg.ldc, ep)
	})
}

// sgemmArgs are the arguments of sgemmDrive's split of one product into
// parts, each part's operands copied from them (see forArgs).
type sgemmArgs struct {
	k                      *sgemmKernel
	M, N, K, panels, parts int
	splitN, hasEpi         bool
	alpha, beta            float32
	a                      sgemmA
	b                      sgemmB
	epi                    epilogue
	C                      []float32
	ldc                    int
}

var sgemmParts argsPool[sgemmArgs]

// stripEpi returns the store epilogue of a strip call whose rows start
// at row of the product: epi's clamp and bias from that row on, held in
// w, or nil before the last depth block or without an epilogue.
func (w *sgemmWork) stripEpi(epi *epilogue, last bool, row int) *tileEpi {
	if !last || epi == nil {
		return nil
	}
	w.te = tileEpi{bias: zeroBias[:], lo: epi.lo, hi: epi.hi}
	if epi.bias != nil {
		w.te.bias = epi.bias[epi.row0+row:]
	}
	return &w.te
}

// sgemmBlocked is the single-goroutine blocked GEMM. For each block of nc
// columns and kc depths it packs (or locates) the B block, which stays in
// L2 while every mr-row panel of A (kept in L1) sweeps across it.
func sgemmBlocked(k *sgemmKernel, w *sgemmWork, M, N, K int, alpha float32, a *sgemmA, b *sgemmB, beta float32, C []float32, ldc int, epi *epilogue) {
	mr, nr := k.mr, k.nr
	for jc := 0; jc < N; jc += k.nc {
		ncb := min(k.nc, N-jc)
		for pc := 0; pc < K; pc += k.kc {
			kcb := min(k.kc, K-pc)
			last := pc+kcb == K
			bet, loadC := beta, beta != 0
			if pc > 0 {
				bet, loadC = 1, true
			}

			// Locate or pack the B block op(B)[pc:pc+kcb, jc:jc+ncb].
			var bblk []float32
			bstride, direct := nr, false
			edgeStart := ncb // first column read from w.edge (direct mode)
			switch {
			case b.pk != nil:
				bblk = b.pk.block(pc, b.col0+jc)
			case b.im.p != nil && b.direct:
				// Small M: the im2col block is built row-major and read
				// in place, as a direct B would be.
				ld := directStride(ncb)
				b.im.rows(w.b, pc, kcb, b.col0+jc, ncb, ld)
				bblk = w.b
				bstride, direct = ld, true
				if !k.masked && ncb%nr != 0 {
					edgeStart = ncb - ncb%nr
					eb := sgemmB{b: w.b, ldb: ld}
					packB(w.edge, &eb, 0, kcb, edgeStart, ncb-edgeStart, nr)
				}
			case b.direct:
				bblk = b.b[pc*b.ldb+b.col0+jc:]
				bstride, direct = b.ldb, true
				if !k.masked && ncb%nr != 0 {
					edgeStart = ncb - ncb%nr
					packB(w.edge, b, pc, kcb, jc+edgeStart, ncb-edgeStart, nr)
				}
			case b.im.p != nil:
				b.im.pack(w.b, pc, kcb, b.col0+jc, ncb, nr)
				bblk = w.b
			default:
				packB(w.b, b, pc, kcb, jc, ncb, nr)
				bblk = w.b
			}

			for ic := 0; ic < M; ic += k.mc {
				mcb := min(k.mc, M-ic)
				var ablk []float32
				if a.pk != nil {
					ablk = a.pk.block(pc, a.row0+ic)
				} else {
					packA(w.a, a, ic, mcb, pc, kcb, mr)
					ablk = w.a
				}
				// One mr×nr tile of C; a direct B strip (read in place, rows
				// far apart) is reused by every panel of A in turn while it
				// is in L1, a packed B block is swept by each panel.
				tile := func(ir, jr int) {
					mrb := min(mr, mcb-ir)
					var tep *tileEpi
					if last && epi != nil {
						w.te = tileEpi{bias: zeroBias[:], lo: epi.lo, hi: epi.hi}
						if epi.bias != nil {
							w.te.bias = epi.bias[epi.row0+ic+ir:]
						}
						tep = &w.te
					}
					ap := ablk[ir*kcb:]
					crow := (ic + ir) * ldc
					nrb := min(nr, ncb-jr)
					var bp []float32
					bs := bstride
					switch {
					case !direct:
						bp = bblk[jr*kcb:]
					case jr >= edgeStart:
						bp, bs = w.edge, nr
					default:
						bp = bblk[jr:]
					}
					c := C[crow+jc+jr:]
					k.tile(mrb, nrb, kcb, ap, bp, bs, c, ldc, alpha, bet, loadC, tep)
				}
				// A direct B strip is reused by every panel of A in turn
				// while it is in L1, one tile at a time; with the
				// strips kernel each row panel sweeps the block in one
				// call instead, reading B from L2 once per panel, which
				// is faster (12→6 to 96→24 channels at 20×20 to
				// 160×160: 5–26%) except for B rows a multiple of 1 KiB
				// apart read by more than two panels (96→24 at
				// 160×160: 7% slower; rows 4 KiB apart share L1 sets).
				// Three panels still gain: 32→16 at 112×112 0.26–0.30
				// → 0.19–0.21 ms, 96→18 at 80×80 0.37–0.42 → 0.34–0.38.
				stripsDirect := k.strips != nil && (mcb <= 3*mr || bstride%256 != 0)
				if direct && !stripsDirect {
					for jr := 0; jr < ncb; jr += nr {
						for ir := 0; ir < mcb; ir += mr {
							tile(ir, jr)
						}
					}
					continue
				}
				for ir := 0; ir < mcb; ir += mr {
					jr := 0
					if direct && edgeStart >= 2*nr {
						// The row panel's full tiles up to the packed
						// edge in one call.
						n := edgeStart / nr
						mrb := min(mr, mcb-ir)
						tep := w.stripEpi(epi, last, ic+ir)
						k.strips(mrb, n, kcb, ablk[ir*kcb:], bblk, bstride, nr, C[(ic+ir)*ldc+jc:], ldc, alpha, bet, loadC, tep)
						jr = n * nr
					} else if !direct && k.strips != nil && ncb >= 2*nr {
						// The row panel's full tiles in one call.
						n := ncb / nr
						mrb := min(mr, mcb-ir)
						tep := w.stripEpi(epi, last, ic+ir)
						k.strips(mrb, n, kcb, ablk[ir*kcb:], bblk, nr, kcb*nr, C[(ic+ir)*ldc+jc:], ldc, alpha, bet, loadC, tep)
						jr = n * nr
					}
					for ; jr < ncb; jr += nr {
						tile(ir, jr)
					}
				}
			}
		}
	}
}

// packA packs op(A)[i0:i0+mc, p0:p0+kc] (rows relative to a.row0) into
// panels of mr rows: panel p holds, for each k, the mr values of rows
// p·mr… at dst[p·kc·mr + k·mr …], zero-padded past mc.
func packA(dst []float32, a *sgemmA, i0, mc, p0, kc, mr int) {
	lda := a.lda
	i0 += a.row0
	for ip := 0; ip < mc; ip += mr {
		m := min(mr, mc-ip)
		d := dst[ip*kc : ip*kc+kc*mr]
		if !a.trans && m == 6 && mr == 6 {
			// The common full panel: write each k's six values together.
			base := (i0+ip)*lda + p0
			done := packA6(d, a.a[base:], lda, kc)
			d = d[done*6:]
			base += done
			kc := kc - done
			r0 := a.a[base : base+kc]
			r1 := a.a[base+lda : base+lda+kc]
			r2 := a.a[base+2*lda : base+2*lda+kc]
			r3 := a.a[base+3*lda : base+3*lda+kc]
			r4 := a.a[base+4*lda : base+4*lda+kc]
			r5 := a.a[base+5*lda : base+5*lda+kc]
			for k := range r0 {
				o := d[k*6 : k*6+6 : k*6+6]
				o[0], o[1], o[2], o[3], o[4], o[5] = r0[k], r1[k], r2[k], r3[k], r4[k], r5[k]
			}
			continue
		}
		if !a.trans {
			for r := 0; r < m; r++ {
				row := a.a[(i0+ip+r)*lda+p0 : (i0+ip+r)*lda+p0+kc]
				for k, v := range row {
					d[k*mr+r] = v
				}
			}
		} else {
			for k := 0; k < kc; k++ {
				src := a.a[(p0+k)*lda+i0+ip : (p0+k)*lda+i0+ip+m]
				copy(d[k*mr:k*mr+m], src)
			}
		}
		if m < mr {
			for k := 0; k < kc; k++ {
				clear(d[k*mr+m : k*mr+mr])
			}
		}
	}
}

// packB packs op(B)[p0:p0+kc, j0:j0+nc] (columns relative to b.col0) into
// panels of nr columns: panel p holds, for each k, the nr values of
// columns p·nr… at dst[p·kc·nr + k·nr …], zero-padded past nc.
func packB(dst []float32, b *sgemmB, p0, kc, j0, nc, nr int) {
	ldb := b.ldb
	j0 += b.col0
	for jp := 0; jp < nc; jp += nr {
		n := min(nr, nc-jp)
		d := dst[jp*kc : jp*kc+kc*nr]
		if !b.trans {
			for k := 0; k < kc; k++ {
				src := b.b[(p0+k)*ldb+j0+jp : (p0+k)*ldb+j0+jp+n]
				copy(d[k*nr:k*nr+n], src)
				clear(d[k*nr+n : k*nr+nr])
			}
			continue
		}
		// Eight rows of B at a time, transposed in 8×8 blocks, then the
		// depths and rows left over one by one.
		c := 0
		for ; c+8 <= n; c += 8 {
			k0 := transpose8(d[c:], b.b[(j0+jp+c)*ldb+p0:], ldb, nr, kc)
			for cc := c; cc < c+8; cc++ {
				row := b.b[(j0+jp+cc)*ldb+p0 : (j0+jp+cc)*ldb+p0+kc]
				for k := k0; k < kc; k++ {
					d[k*nr+cc] = row[k]
				}
			}
		}
		for ; c < n; c++ {
			row := b.b[(j0+jp+c)*ldb+p0 : (j0+jp+c)*ldb+p0+kc]
			for k, v := range row {
				d[k*nr+c] = v
			}
		}
		if n < nr {
			for k := 0; k < kc; k++ {
				clear(d[k*nr+n : k*nr+nr])
			}
		}
	}
}
