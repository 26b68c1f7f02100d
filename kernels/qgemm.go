package kernels

import (
	"fmt"
	"slices"
	"sync"
	"unsafe"
)

// Integer GEMM
//
// The QGemm functions compute, exactly in int32,
//
//	C[i][j] = Σ_k (A[i][k] - za[i]) · (B[k][j] - zb[j])
//
// for row-major A (M×K) and B (K×N) of 8-bit integers, the core of ONNX
// MatMulInteger, QLinearMatMul, ConvInteger and QLinearConv. A zero-point
// slice is nil (zero), of length 1 (per tensor) or of length M for A (per
// row) and N for B (per column). Results wrap modulo 2³² only if the true
// sum does not fit in int32 (K above about 33000 for extreme values).
//
// With AVX512-VNNI the kernels run VPDPBUSD, which multiplies unsigned by
// signed bytes: signed A and unsigned B are shifted by 128 while packing
// (a flip of the top bit) and the zero points absorb the shift, so all
// four signedness combinations take the same path. Zero points are not
// subtracted in the inner loop; the tile epilogue applies the rank-2
// correction from row sums of A and column sums of B.

// QGemmU8S8 is the integer GEMM for unsigned A and signed B.
func QGemmU8S8(M, N, K int, A []uint8, lda int, aZero []uint8, B []int8, ldb int, bZero []int8, C []int32, ldc int) {
	qgemm("QGemmU8S8", M, N, K, qMat{A, lda, false, aZero}, qMat{bytesOf(B), ldb, true, bytesOf(bZero)}, C, ldc)
}

// QGemmU8U8 is the integer GEMM for unsigned A and B.
func QGemmU8U8(M, N, K int, A []uint8, lda int, aZero []uint8, B []uint8, ldb int, bZero []uint8, C []int32, ldc int) {
	qgemm("QGemmU8U8", M, N, K, qMat{A, lda, false, aZero}, qMat{B, ldb, false, bZero}, C, ldc)
}

// QGemmS8S8 is the integer GEMM for signed A and B.
func QGemmS8S8(M, N, K int, A []int8, lda int, aZero []int8, B []int8, ldb int, bZero []int8, C []int32, ldc int) {
	qgemm("QGemmS8S8", M, N, K, qMat{bytesOf(A), lda, true, bytesOf(aZero)}, qMat{bytesOf(B), ldb, true, bytesOf(bZero)}, C, ldc)
}

// QGemmS8U8 is the integer GEMM for signed A and unsigned B.
func QGemmS8U8(M, N, K int, A []int8, lda int, aZero []int8, B []uint8, ldb int, bZero []uint8, C []int32, ldc int) {
	qgemm("QGemmS8U8", M, N, K, qMat{bytesOf(A), lda, true, bytesOf(aZero)}, qMat{B, ldb, false, bZero}, C, ldc)
}

// bytesOf reinterprets int8s as bytes.
func bytesOf(s []int8) []byte {
	if s == nil {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), len(s))
}

// qMat is an 8-bit row-major matrix operand with its zero points.
type qMat struct {
	data   []byte
	ld     int
	signed bool
	zero   []byte // nil, one per tensor, or one per row (A) / column (B)
}

// at returns element (i, j) as an integer.
func (m *qMat) at(i, j int) int32 {
	v := m.data[i*m.ld+j]
	if m.signed {
		return int32(int8(v))
	}
	return int32(v)
}

// zp returns the zero point of row or column i.
func (m *qMat) zp(i int) int32 {
	if len(m.zero) == 0 {
		return 0
	}
	v := m.zero[0]
	if len(m.zero) > 1 {
		v = m.zero[i]
	}
	if m.signed {
		return int32(int8(v))
	}
	return int32(v)
}

func checkQMat(fn, name string, rows, cols int, m *qMat, zeros int) {
	if rows < 0 || cols < 0 {
		panic(fmt.Sprintf("kernels: %s: negative dimension of %s (%d×%d)", fn, name, rows, cols))
	}
	if m.ld < max(1, cols) {
		panic(fmt.Sprintf("kernels: %s: stride of %s is %d, want ≥ %d", fn, name, m.ld, max(1, cols)))
	}
	if rows > 0 && cols > 0 && len(m.data) < (rows-1)*m.ld+cols {
		panic(fmt.Sprintf("kernels: %s: len(%s)=%d, want ≥ %d", fn, name, len(m.data), (rows-1)*m.ld+cols))
	}
	if n := len(m.zero); n > 1 && n != zeros {
		panic(fmt.Sprintf("kernels: %s: %d zero points for %s, want 0, 1 or %d", fn, n, name, zeros))
	}
}

func checkQC(fn string, M, N int, C []int32, ldc int) {
	if ldc < max(1, N) {
		panic(fmt.Sprintf("kernels: %s: stride of C is %d, want ≥ %d", fn, ldc, max(1, N)))
	}
	if M > 0 && N > 0 && len(C) < (M-1)*ldc+N {
		panic(fmt.Sprintf("kernels: %s: len(C)=%d, want ≥ %d", fn, len(C), (M-1)*ldc+N))
	}
}

func qgemm(fn string, M, N, K int, a, b qMat, C []int32, ldc int) {
	checkQMat(fn, "A", M, K, &a, M)
	checkQMat(fn, "B", K, N, &b, N)
	checkQC(fn, M, N, C, ldc)
	if M == 0 || N == 0 {
		return
	}
	if qk == nil || K == 0 {
		qgemmGo(M, N, K, &a, &b, C, ldc)
		return
	}
	ops := getQOperands()
	ops.amat, ops.bmat = a, b
	ops.a.mat, ops.b.mat = &ops.amat, &ops.bmat
	qgemmDrive(qk, M, N, K, ops, C, ldc, Threads())
	ops.put()
}

// qgemmGo is the portable integer GEMM.
func qgemmGo(M, N, K int, a, b *qMat, C []int32, ldc int) {
	for i := 0; i < M; i++ {
		crow := C[i*ldc : i*ldc+N]
		clear(crow)
		za := a.zp(i)
		for k := 0; k < K; k++ {
			av := a.at(i, k) - za
			if av == 0 {
				continue
			}
			brow := b.data[k*b.ld : k*b.ld+N]
			if b.signed {
				if len(b.zero) <= 1 {
					zb := b.zp(0)
					for j, v := range brow {
						crow[j] += av * (int32(int8(v)) - zb)
					}
					continue
				}
				for j, v := range brow {
					crow[j] += av * (int32(int8(v)) - b.zp(j))
				}
				continue
			}
			if len(b.zero) <= 1 {
				zb := b.zp(0)
				for j, v := range brow {
					crow[j] += av * (int32(v) - zb)
				}
				continue
			}
			for j, v := range brow {
				crow[j] += av * (int32(v) - b.zp(j))
			}
		}
	}
}

// qgemmKernel describes an int8 micro-kernel: mr×nr int32 tiles over
// packed panels whose rows (of A) and columns (of B) hold, per unit of
// kunit depths, four bytes.
type qgemmKernel struct {
	name       string
	mr, nr     int
	kc, mc, nc int // kc is a multiple of kunit
	// kunit is 4 for unsigned×signed bytes (VNNI), zero points corrected
	// in the tile epilogue (corrected); 2 for pairs of int16 with the
	// zero points subtracted while packing.
	kunit     int
	corrected bool
	// aSigned: corrected, with A packed signed and B unsigned (q8.go).
	aSigned bool
	// q8A and q8B are faster kernels for weights within 7 bits packed as
	// A or B (see q8.go); nil when there are none.
	q8A, q8B *qgemmKernel
	packA    func(dst []byte, a *qMat, i0, mc, p0, kc, mr int)
	packB    func(dst []byte, b *qMat, p0, kc, j0, nc, nr int, colsum []int32)
	packIm   func(m *qim2col, dst []byte, k0, kc, j0, nc, nr int, colsum []int32)
	// tile computes an mr×nr tile over ku units: stores it, or adds it
	// to C when loadC, then applies corr (corrected kernels only).
	tile func(mr, nr, ku int, a, b []byte, c []int32, ldc int, loadC bool, corr *qCorr)
	// tileRq, when set (q8 kernels), is tile for the last k-block with
	// corr applied and the result requantised into rq.out instead of C.
	tileRq func(mr, nr, ku int, a, b []byte, c []int32, ldc int, loadC bool, corr *qCorr, rq *q8Req)
	// rqPanels, when set, is tileRq over panels full 16-column panels
	// in a row (B panels ku·64 bytes apart), in one call.
	rqPanels func(mr, ku int, a, b []byte, panels int, c []int32, ldc int, loadC bool, corr *qCorr, rq *q8Req)
	// tilePanels, when set, is tile over panels full 16-column panels in
	// one call.
	tilePanels func(mr, ku int, a, b []byte, panels int, c []int32, ldc int, loadC bool, corr *qCorr)
}

// units returns the packed units covering kc depths.
func (k *qgemmKernel) units(kc int) int { return (kc + k.kunit - 1) / k.kunit }

// blockStart returns the byte offset of k-block pc (a multiple of kc) in
// an operand packed whole with pad rows or columns.
func (k *qgemmKernel) blockStart(pc, pad int) int { return pc / k.kc * k.units(k.kc) * 4 * pad }

// qk is the int8 kernel of this CPU, or nil for the portable loops.
var qk *qgemmKernel

// qkCurrent reports whether an operand packed for kernel k can run now:
// k is qk or one of its bounded-weight variants.
func qkCurrent(k *qgemmKernel) bool {
	return k == qk || (qk != nil && k != nil && (k == qk.q8A || k == qk.q8B))
}

// qCorr holds the zero-point correction of one tile (see qgemmArgs).
type qCorr struct {
	rowp, rowq, colu, colv []int32
}

// ptrs returns the first elements of c's four vectors for an assembly
// tile of mr rows and n columns, after checking that they are that
// long; all nil when c is nil (no corrections).
func (c *qCorr) ptrs(mr, n int) (rowp, rowq, colu, colv *int32) {
	if c == nil {
		return nil, nil, nil, nil
	}
	_, _ = c.rowp[mr-1], c.rowq[mr-1]
	_, _ = c.colu[n-1], c.colv[n-1]
	return &c.rowp[0], &c.rowq[0], &c.colu[0], &c.colv[0]
}

// qA is the A operand of an integer GEMM: a matrix or a prepacked one.
type qA struct {
	mat *qMat
	pk  *QPackedA
}

// qB is the B operand of an integer GEMM: a matrix, a prepacked matrix or
// an im2col generator.
type qB struct {
	mat  *qMat
	pk   *QPackedB
	im   *qim2col
	col0 int // first column (a multiple of nr for pk)
	// epi, when set, is told rows [i0, i1) and columns [j0, j1) (of the
	// whole product, col0 included) as soon as that block of C is final,
	// while it is still in the cache.
	epi qEpilogue
	// rq, when set and the kernel has tileRq, requantises the product
	// into bytes in the tiles' epilogue (epi is then not called).
	rq *qOut
}

// qEpilogue is told when a block of an integer GEMM's result is final
// (see qB.epi).
type qEpilogue interface {
	done(i0, i1, j0, j1 int)
}

// qOperands holds the operands of one integer GEMM call, pooled so that
// the pointers the GEMM takes (and hands to its threads) point into a
// heap object that lives on, not into the caller's frame: a call then
// allocates nothing.
type qOperands struct {
	a          qA
	b          qB
	amat, bmat qMat
	zero       [1]byte
	out        qOut
	rows       qRows
	rowp, rowq []int32 // rowTerms' storage, kept between uses
}

var qOperandsPool = sync.Pool{New: func() any { return new(qOperands) }}

func getQOperands() *qOperands { return qOperandsPool.Get().(*qOperands) }

// put clears o's references (keeping rowTerms' storage) and returns it
// to the pool.
func (o *qOperands) put() {
	rowp, rowq := o.rowp, o.rowq
	*o = qOperands{rowp: rowp, rowq: rowq}
	qOperandsPool.Put(o)
}

// qWork holds one goroutine's int8 packing buffers.
type qWork struct {
	a, b       []byte
	colu, colv []int32
	colsum     []int32
	rq, rqPart q8Req
	corr       qCorr
	bias       []int32 // rq biases with the row corrections folded in
}

var qWorkPool = sync.Pool{New: func() any { return new(qWork) }}

func getQWork(k *qgemmKernel) *qWork {
	w := qWorkPool.Get().(*qWork)
	if n := roundUp(k.mc, k.mr) * k.units(k.kc) * 4; len(w.a) < n {
		w.a = make([]byte, n)
	}
	if n := roundUp(k.nc, k.nr) * k.units(k.kc) * 4; len(w.b) < n {
		w.b = make([]byte, n)
	}
	if n := roundUp(k.nc, k.nr); len(w.colu) < n {
		w.colu, w.colv, w.colsum = make([]int32, n), make([]int32, n), make([]int32, n)
	}
	return w
}

// qRows holds the per-row correction terms of A: p = Σ_k a_u and q = the
// zero point shifted like a_u (see qgemm docs).
type qRows struct {
	p, q []int32
}

// rowTerms computes the row terms of op(A) rows [0, M), in p and q when
// they are long enough (else in new slices).
func rowTerms(a *qMat, M, K int, mr int, aSigned bool, p, q []int32) qRows {
	n := roundUp(M, mr)
	if cap(p) < n || cap(q) < n {
		p, q = make([]int32, n), make([]int32, n)
	}
	r := qRows{p: p[:n], q: q[:n]}
	clear(r.p[M:])
	clear(r.q[M:])
	flip := byte(0)
	shift := int32(0)
	if a.signed {
		flip, shift = 0x80, 128
	}
	if aSigned {
		flip, shift = 0, 0
		if !a.signed {
			flip, shift = 0x80, -128
		}
	}
	for i := 0; i < M; i++ {
		var s int32
		for _, v := range a.data[i*a.ld : i*a.ld+K] {
			if aSigned {
				s += int32(int8(v ^ flip))
			} else {
				s += int32(v ^ flip)
			}
		}
		r.p[i] = s
		r.q[i] = a.zp(i) + shift
	}
	return r
}

// qgemmDrive splits an integer GEMM across goroutines like sgemmDrive.
// The operands are ops.a and ops.b.
func qgemmDrive(k *qgemmKernel, M, N, K int, ops *qOperands, C []int32, ldc int, threads int) {
	a, b := &ops.a, &ops.b
	rows := &ops.rows
	switch {
	case !k.corrected:
		*rows = qRows{}
	case a.pk != nil:
		*rows = a.pk.rows
	default:
		*rows = rowTerms(a.mat, M, K, k.mr, k.aSigned, ops.rowp, ops.rowq)
		ops.rowp, ops.rowq = rows.p, rows.q
	}
	if threads <= 1 || M*N*K < 4*sgemmMinParallel {
		w := getQWork(k)
		qgemmBlocked(k, w, M, N, K, a, 0, rows, b, C, ldc)
		qWorkPool.Put(w)
		return
	}
	pn := (N + k.nr - 1) / k.nr
	pm := (M + k.mr - 1) / k.mr
	splitN := pn >= threads && (pn >= pm || pm < threads)
	panels := pm
	if splitN {
		panels = pn
	}
	parts := min(threads, panels)
	args := qgemmArgs{k: k, ops: ops, M: M, N: N, K: K, panels: panels, parts: parts, splitN: splitN, C: C, ldc: ldc}
	forArgs(&qgemmParts, parts, parts, args, func(arg *qgemmArgs, _, t int) {
		k, ops, M, N, K, panels, parts := arg.k, arg.ops, arg.M, arg.N, arg.K, arg.panels, arg.parts
		lo, hi := t*panels/parts, (t+1)*panels/parts
		if lo == hi {
			return
		}
		w := getQWork(k)
		defer qWorkPool.Put(w)
		if arg.splitN {
			j0, j1 := lo*k.nr, min(hi*k.nr, N)
			bb := ops.b
			bb.col0 += j0
			qgemmBlocked(k, w, M, j1-j0, K, &ops.a, 0, &ops.rows, &bb, arg.C[j0:], arg.ldc)
			return
		}
		i0, i1 := lo*k.mr, min(hi*k.mr, M)
		qgemmBlocked(k, w, i1-i0, N, K, &ops.a, i0, &ops.rows, &ops.b, arg.C[i0*arg.ldc:], arg.ldc)
	})
}

// qgemmArgs are the arguments of qgemmDrive's split of one product into
// parts (see forArgs).
type qgemmArgs struct {
	k                      *qgemmKernel
	ops                    *qOperands
	M, N, K, panels, parts int
	splitN                 bool
	C                      []int32
	ldc                    int
}

var qgemmParts argsPool[qgemmArgs]

// qgemmBlocked is the single-goroutine blocked integer GEMM over rows
// [row0, row0+M) of a (C starts at row row0).
func qgemmBlocked(k *qgemmKernel, w *qWork, M, N, K int, a *qA, row0 int, rows *qRows, b *qB, C []int32, ldc int) {
	mr, nr := k.mr, k.nr
	rqOn := b.rq != nil && k.tileRq != nil && k.corrected
	// rowOnly: A's zero points are all 0 (symmetric weights) and B's
	// one value, so the correction rowp[i]·colu[j] + rowq[i]·colv[j] is
	// rowp[i]·u, folded into the requantisation bias of row i.
	rowOnly := false
	if rqOn {
		w.rq.ldo, w.rq.cst, w.rq.s8, w.rq.part = b.rq.ldo, &b.rq.cst, b.rq.s8, &w.rqPart
		rowOnly = b.pk == nil && (b.im != nil || len(b.mat.zero) <= 1) && !slices.ContainsFunc(rows.q[row0:row0+M], func(q int32) bool { return q != 0 })
		if rowOnly && len(w.bias) < M {
			w.bias = make([]int32, M)
		}
	}
	for jc := 0; jc < N; jc += k.nc {
		ncb := min(k.nc, N-jc)
		npad := roundUp(ncb, nr)
		colu, colv, colsum := w.colu[:npad], w.colv[:npad], w.colsum[:npad]
		sums := colsum
		if rowOnly && k.aSigned { // the column sums go unused (packQBu and packU8 take nil)
			sums = nil
		}
		if b.pk == nil {
			clear(colsum)
		}
		for pc := 0; pc < K; pc += k.kc {
			kcb := min(k.kc, K-pc)
			kg := k.units(kcb)
			last := pc+kcb == K && k.corrected
			var bblk []byte
			switch {
			case b.pk != nil:
				bblk = b.pk.block(pc, b.col0+jc)
			case b.im != nil:
				k.packIm(b.im, w.b, pc, kcb, b.col0+jc, ncb, nr, sums)
				bblk = w.b
			default:
				k.packB(w.b, b.mat, pc, kcb, b.col0+jc, ncb, nr, sums)
				bblk = w.b
			}
			corr := &w.corr
			if last {
				if b.pk != nil {
					colu = b.pk.colu[b.col0+jc:]
					colv = b.pk.colv[b.col0+jc:]
				} else {
					// With rowOnly only the one shifted zero point colu[0]
					// is read.
					nt := ncb
					if rowOnly {
						nt = 1
					}
					b.colTerms(colu, colv, colsum, jc, nt, K, k.aSigned)
				}
			}
			if rowOnly && last {
				u := colu[0]
				for i := range M {
					w.bias[i] = b.rq.bias[row0+i] - rows.p[row0+i]*u
				}
			}
			for ic := 0; ic < M; ic += k.mc {
				mcb := min(k.mc, M-ic)
				ablk := w.a
				if a.pk != nil {
					ablk = a.pk.block(pc, row0+ic)
				} else {
					k.packA(w.a, a.mat, row0+ic, mcb, pc, kcb, mr)
				}
				for ir := 0; ir < mcb; ir += mr {
					mrb := min(mr, mcb-ir)
					ap := ablk[ir*kg*4:]
					crow := (ic + ir) * ldc
					var cp *qCorr
					if last {
						i := row0 + ic + ir
						corr.rowp, corr.rowq = rows.p[i:], rows.q[i:]
						cp = corr
					}
					if rqOn && last {
						i := row0 + ic + ir
						w.rq.bias, w.rq.scale = b.rq.bias[i:], b.rq.scale[i:]
						if rowOnly {
							w.rq.bias, cp = w.bias[ic+ir:], nil
						}
						jr := 0
						if full := ncb / nr; k.rqPanels != nil && full > 0 {
							if cp != nil {
								corr.colu, corr.colv = colu, colv
							}
							w.rq.out = b.rq.out[i*b.rq.ldo+b.col0+jc:]
							k.rqPanels(mrb, kg, ap, bblk, full, C[crow+jc:], ldc, pc > 0, cp, &w.rq)
							jr = full * nr
						}
						for ; jr < ncb; jr += nr {
							nrb := min(nr, ncb-jr)
							if cp != nil {
								corr.colu, corr.colv = colu[jr:], colv[jr:]
							}
							w.rq.out = b.rq.out[i*b.rq.ldo+b.col0+jc+jr:]
							k.tileRq(mrb, nrb, kg, ap, bblk[jr*kg*4:], C[crow+jc+jr:], ldc, pc > 0, cp, &w.rq)
						}
						continue
					}
					jr := 0
					if full := ncb / nr; k.tilePanels != nil && full > 0 {
						if cp != nil {
							corr.colu, corr.colv = colu, colv
						}
						k.tilePanels(mrb, kg, ap, bblk, full, C[crow+jc:], ldc, pc > 0, cp)
						jr = full * nr
					}
					for ; jr < ncb; jr += nr {
						nrb := min(nr, ncb-jr)
						if cp != nil {
							corr.colu, corr.colv = colu[jr:], colv[jr:]
						}
						k.tile(mrb, nrb, kg, ap, bblk[jr*kg*4:], C[crow+jc+jr:], ldc, pc > 0, cp)
					}
				}
			}
		}
		if b.epi != nil && !rqOn {
			b.epi.done(row0, row0+M, b.col0+jc, b.col0+jc+ncb)
		}
	}
}

// colTerms computes the column terms u (shifted zero point) and v =
// Σ_k b_s - K·u for columns [jc, jc+nc) of the block, from the column
// sums gathered while packing; with aSigned, B is packed unsigned.
func (b *qB) colTerms(colu, colv, colsum []int32, jc, nc, K int, aSigned bool) {
	signed, perCol, zp0 := true, false, int32(0)
	switch {
	case b.mat != nil:
		signed, perCol = b.mat.signed, len(b.mat.zero) > 1
		if !perCol {
			zp0 = b.mat.zp(0)
		}
	case b.im != nil:
		signed, zp0 = b.im.signed, b.im.zero
	}
	shift := int32(0)
	if !signed {
		shift = 128
	}
	if aSigned {
		shift = 0
		if signed {
			shift = -128
		}
	}
	for j := 0; j < nc; j++ {
		u := zp0 - shift
		if perCol {
			u = b.mat.zp(b.col0+jc+j) - shift
		}
		colu[j] = u
		colv[j] = colsum[j] - int32(K)*u
	}
	clear(colu[nc:])
	clear(colv[nc:])
}

// packQA packs rows [i0, i0+mc) and depths [p0, p0+kc) of A into panels
// of mr rows: for each group of four k, four bytes per row, unsigned
// (signed values get their top bit flipped, i.e. +128), zero-padded.
func packQA(dst []byte, a *qMat, i0, mc, p0, kc, mr int) {
	kg := (kc + 3) / 4
	flip := byte(0)
	if a.signed {
		flip = 0x80
	}
	for ip := 0; ip < mc; ip += mr {
		m := min(mr, mc-ip)
		d := dst[ip*kg*4 : (ip+mr)*kg*4]
		for r := 0; r < m; r++ {
			row := a.data[(i0+ip+r)*a.ld+p0 : (i0+ip+r)*a.ld+p0+kc]
			for k, v := range row {
				d[(k>>2)*4*mr+r*4+k&3] = v ^ flip
			}
			for k := kc; k < kg*4; k++ {
				d[(k>>2)*4*mr+r*4+k&3] = 0
			}
		}
		for r := m; r < mr; r++ {
			for g := 0; g < kg; g++ {
				*(*uint32)(unsafe.Pointer(&d[g*4*mr+r*4])) = 0
			}
		}
	}
}

// packQB packs depths [p0, p0+kc) and columns [j0, j0+nc) of B into
// panels of nr columns: for each group of four k, four bytes per column,
// signed (unsigned values get their top bit flipped, i.e. -128),
// zero-padded. It adds each column's packed values to colsum.
func packQB(dst []byte, b *qMat, p0, kc, j0, nc, nr int, colsum []int32) {
	kg := (kc + 3) / 4
	flip := byte(0x80)
	if b.signed {
		flip = 0
	}
	for jp := 0; jp < nc; jp += nr {
		n := min(nr, nc-jp)
		d := dst[jp*kg*4 : (jp+nr)*kg*4]
		g0 := 0
		if n == 64 && nr == 64 {
			// Whole groups of a full panel go through the vector packer.
			full := kc / 4
			if qpackFull(d, b.data[p0*b.ld+j0+jp:], b.ld, full, flip, colsum[jp:jp+64]) {
				g0 = full
			}
		}
		for g := g0; g < kg; g++ {
			dg := d[g*4*nr : (g+1)*4*nr]
			for t := 0; t < 4; t++ {
				k := p0 + 4*g + t
				if 4*g+t >= kc {
					for c := 0; c < nr; c++ {
						dg[c*4+t] = 0
					}
					continue
				}
				src := b.data[k*b.ld+j0+jp : k*b.ld+j0+jp+n]
				cs := colsum[jp : jp+n]
				for c, v := range src {
					v ^= flip
					dg[c*4+t] = v
					cs[c] += int32(int8(v))
				}
				for c := n; c < nr; c++ {
					dg[c*4+t] = 0
				}
			}
		}
	}
}

// QPackedB is a K×N integer GEMM right-hand operand (with its zero
// points) packed once, typically constant weights. Read-only after
// QPackB; safe for concurrent use.
type QPackedB struct {
	K, N       int
	kern       *qgemmKernel
	npad       int
	signed     bool
	data       []byte
	colu, colv []int32 // column terms, padded to npad
	b          qMat    // the original matrix, for the portable path
}

// QPackB packs an 8-bit K×N matrix B (signed when signed is true; its
// bytes are int8 values) with zero points zero (nil, 1 or N values) for
// QGemmPackedB. The bytes of B are copied.
func QPackB(K, N int, B []byte, ldb int, signed bool, zero []byte) *QPackedB {
	m := qMat{B, ldb, signed, zero}
	checkQMat("QPackB", "B", K, N, &m, N)
	p := &QPackedB{K: K, N: N, kern: qk, signed: signed}
	if qk == nil || K == 0 {
		// Keep a private copy for the portable loops.
		data := make([]byte, K*N)
		for k := 0; k < K; k++ {
			copy(data[k*N:(k+1)*N], B[k*ldb:k*ldb+N])
		}
		p.b = qMat{data, max(N, 1), signed, append([]byte(nil), zero...)}
		return p
	}
	k := qk
	if k.q8B != nil && q8Fits(&m, K, N) {
		k = k.q8B
		p.kern = k
	}
	p.npad = roundUp(N, k.nr)
	p.data = make([]byte, k.blockStart(roundUp(K, k.kc), p.npad))
	colsum := make([]int32, p.npad)
	for pc := 0; pc < K; pc += k.kc {
		kcb := min(k.kc, K-pc)
		k.packB(p.data[k.blockStart(pc, p.npad):], &m, pc, kcb, 0, N, k.nr, colsum)
	}
	if k.corrected {
		p.colu, p.colv = make([]int32, p.npad), make([]int32, p.npad)
		src := qB{mat: &m}
		src.colTerms(p.colu, p.colv, colsum, 0, N, K, k.aSigned)
	}
	return p
}

// block returns the packed panels of k-block pc from column j on.
func (p *QPackedB) block(pc, j int) []byte {
	k := p.kern
	return p.data[k.blockStart(pc, p.npad)+j*k.units(min(k.kc, p.K-pc))*4:]
}

// QGemmPackedB computes C = (A - za)·(B - zb) with B packed by QPackB;
// A is M×pb.K, unsigned or signed per aSigned (bytes of int8 values when
// signed), with zero points aZero (nil, 1 or M values).
func QGemmPackedB(M int, A []byte, lda int, aSigned bool, aZero []byte, pb *QPackedB, C []int32, ldc int) {
	if pb == nil || !qkCurrent(pb.kern) {
		panic("kernels: QGemmPackedB: operand not packed by QPackB in this process")
	}
	a := qMat{A, lda, aSigned, aZero}
	checkQMat("QGemmPackedB", "A", M, pb.K, &a, M)
	checkQC("QGemmPackedB", M, pb.N, C, ldc)
	if M == 0 || pb.N == 0 {
		return
	}
	if pb.kern == nil || pb.K == 0 {
		qgemmGo(M, pb.N, pb.K, &a, &pb.b, C, ldc)
		return
	}
	ops := getQOperands()
	ops.amat = a
	ops.a.mat, ops.b.pk = &ops.amat, pb
	qgemmDrive(pb.kern, M, pb.N, pb.K, ops, C, ldc, Threads())
	ops.put()
}

// QPackedA is an M×K integer GEMM left-hand operand (with its zero
// points) packed once, typically convolution weights. Read-only after
// QPackA; safe for concurrent use.
type QPackedA struct {
	M, K int
	kern *qgemmKernel
	mpad int
	data []byte
	rows qRows
	a    qMat // a private copy for the portable path
}

// QPackA packs an 8-bit M×K matrix A (signed when signed is true) with
// zero points zero (nil, 1 or M values). The bytes of A are copied.
func QPackA(M, K int, A []byte, lda int, signed bool, zero []byte) *QPackedA {
	m := qMat{A, lda, signed, zero}
	checkQMat("QPackA", "A", M, K, &m, M)
	p := &QPackedA{M: M, K: K, kern: qk}
	if qk == nil || K == 0 {
		data := make([]byte, M*K)
		for i := 0; i < M; i++ {
			copy(data[i*K:(i+1)*K], A[i*lda:i*lda+K])
		}
		p.a = qMat{data, max(K, 1), signed, append([]byte(nil), zero...)}
		return p
	}
	k := qk
	if k.q8A != nil && q8Fits(&m, M, K) {
		k = k.q8A
		p.kern = k
	}
	p.mpad = roundUp(M, k.mr)
	p.data = make([]byte, k.blockStart(roundUp(K, k.kc), p.mpad))
	for pc := 0; pc < K; pc += k.kc {
		kcb := min(k.kc, K-pc)
		k.packA(p.data[k.blockStart(pc, p.mpad):], &m, 0, M, pc, kcb, k.mr)
	}
	if k.corrected {
		p.rows = rowTerms(&m, M, K, k.mr, k.aSigned, nil, nil)
	}
	return p
}

// block returns the packed panels of k-block pc from row i on.
func (p *QPackedA) block(pc, i int) []byte {
	k := p.kern
	return p.data[k.blockStart(pc, p.mpad)+i*k.units(min(k.kc, p.K-pc))*4:]
}

// packQA16 packs rows [i0, i0+mc) and depths [p0, p0+kc) of A, minus
// their zero points, as int16 pairs: for each pair of k, two int16 per
// row (4·mr bytes per pair), zero-padded. Values lie in [-255, 255], so
// a multiply-add of two pairs (VPMADDWD) is exact in int32.
func packQA16(dst []byte, a *qMat, i0, mc, p0, kc, mr int) {
	kp := (kc + 1) / 2
	for ip := 0; ip < mc; ip += mr {
		m := min(mr, mc-ip)
		d := unsafe.Slice((*int16)(unsafe.Pointer(&dst[ip*kp*4])), mr*kp*2)
		for r := 0; r < mr; r++ {
			if r >= m {
				for g := 0; g < kp; g++ {
					d[g*2*mr+2*r], d[g*2*mr+2*r+1] = 0, 0
				}
				continue
			}
			i := i0 + ip + r
			za := a.zp(i)
			for k := 0; k < 2*kp; k++ {
				var v int16
				if k < kc {
					v = int16(a.at(i, p0+k) - za)
				}
				d[(k>>1)*2*mr+2*r+k&1] = v
			}
		}
	}
}

// packQB16 packs depths [p0, p0+kc) and columns [j0, j0+nc) of B, minus
// their zero points, as int16 pairs: for each pair of k, two int16 per
// column, zero-padded (see packQA16). colsum is unused.
func packQB16(dst []byte, b *qMat, p0, kc, j0, nc, nr int, _ []int32) {
	kp := (kc + 1) / 2
	for jp := 0; jp < nc; jp += nr {
		n := min(nr, nc-jp)
		d := unsafe.Slice((*int16)(unsafe.Pointer(&dst[jp*kp*4])), nr*kp*2)
		k0 := 0
		if n == 16 && nr == 16 && len(b.zero) <= 1 {
			// Whole pairs of rows of a full panel: vector interleave.
			z := b.zp(0)
			for ; k0+1 < kc; k0 += 2 {
				r0 := b.data[(p0+k0)*b.ld+j0+jp:]
				r1 := b.data[(p0+k0+1)*b.ld+j0+jp:]
				if !pack16Pairs(d[(k0>>1)*2*nr:], r0, r1, z, b.signed) {
					break
				}
			}
		}
		for k := k0; k < 2*kp; k++ {
			row := d[(k>>1)*2*nr:]
			t := k & 1
			if k >= kc {
				for c := 0; c < nr; c++ {
					row[2*c+t] = 0
				}
				continue
			}
			src := b.data[(p0+k)*b.ld+j0+jp : (p0+k)*b.ld+j0+jp+n]
			dst := row[t : t+2*nr-1]
			switch {
			case len(b.zero) > 1:
				for c, v := range src {
					x := int32(v)
					if b.signed {
						x = int32(int8(v))
					}
					dst[2*c] = int16(x - b.zp(j0+jp+c))
				}
			case b.signed:
				z := int16(b.zp(0))
				for c, v := range src {
					dst[2*c] = int16(int8(v)) - z
				}
			default:
				z := int16(b.zp(0))
				for c, v := range src {
					dst[2*c] = int16(v) - z
				}
			}
			for c := n; c < nr; c++ {
				dst[2*c] = 0
			}
		}
	}
}

// QGemmPackedA computes C = (A - za)·(B - zb) with A packed by QPackA; B
// is pa.K×N, unsigned or signed per bSigned (bytes of int8 values when
// signed), with zero points bZero (nil, 1 or N values).
func QGemmPackedA(pa *QPackedA, N int, B []byte, ldb int, bSigned bool, bZero []byte, C []int32, ldc int) {
	if pa == nil || !qkCurrent(pa.kern) {
		panic("kernels: QGemmPackedA: operand not packed by QPackA in this process")
	}
	b := qMat{B, ldb, bSigned, bZero}
	checkQMat("QGemmPackedA", "B", pa.K, N, &b, N)
	checkQC("QGemmPackedA", pa.M, N, C, ldc)
	if pa.M == 0 || N == 0 {
		return
	}
	if pa.kern == nil || pa.K == 0 {
		qgemmGo(pa.M, N, pa.K, &pa.a, &b, C, ldc)
		return
	}
	ops := getQOperands()
	ops.bmat = b
	ops.a.pk, ops.b.mat = pa, &ops.bmat
	qgemmDrive(pa.kern, pa.M, N, pa.K, ops, C, ldc, Threads())
	ops.put()
}
