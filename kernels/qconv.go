package kernels

import (
	"fmt"
	"math"
	"sync"
	"unsafe"
)

// QConv2D computes the integer convolution of ONNX ConvInteger,
//
//	y[n,m,oh,ow] = Σ (x[…] - xZero) · (w[m,…] - wZero[m])
//
// exactly in int32, for 8-bit NCHW x and (M, C/Group, KH, KW) weights w.
// Signedness of x and w is given by xSigned and wSigned (signed bytes are
// int8 values); wZero holds nil, 1 or M zero points. Padding reads as
// xZero, so it contributes nothing. It panics if p fails Check or a slice
// is too short.
func QConv2D(p *Conv2DParams, x []byte, xSigned bool, xZero byte, w []byte, wSigned bool, wZero []byte, y []int32) {
	QPackConv2D(p, w, wSigned, wZero).Run(x, xSigned, xZero, y)
}

// QPackedConv2D is an integer convolution with prepacked weights, built
// once per constant weight tensor by QPackConv2D. Read-only after
// construction; safe for concurrent use.
type QPackedConv2D struct {
	P  Conv2DParams
	pa []*QPackedA // one per group
	dw []float32   // depthwise: w - wZero as floats, (M, KH, KW)

	tabOnce sync.Once
	tab     []int32 // see gatherTable
}

// gatherTable returns the gather table of the convolution's planes
// (see gatherTable; -1 in the padding), built once, or nil for output
// planes over gatherTabMax positions.
func (c *QPackedConv2D) gatherTable() []int32 {
	c.tabOnce.Do(func() { c.tab = gatherTable(c.P.window(), -1) })
	return c.tab
}

// QPackConv2D packs the 8-bit weights w of convolution p (see QConv2D).
func QPackConv2D(p *Conv2DParams, w []byte, wSigned bool, wZero []byte) *QPackedConv2D {
	if err := p.Check(); err != nil {
		panic("QPackConv2D: " + err.Error())
	}
	K := p.C / p.Group * p.KH * p.KW
	mg := p.M / p.Group
	if len(w) < p.M*K {
		panic(fmt.Sprintf("kernels: QPackConv2D: len(w)=%d, want ≥ %d", len(w), p.M*K))
	}
	if n := len(wZero); n > 1 && n != p.M {
		panic(fmt.Sprintf("kernels: QPackConv2D: %d weight zero points, want 0, 1 or %d", n, p.M))
	}
	c := &QPackedConv2D{P: *p}
	if p.depthwise() && K <= qdwMaxTaps {
		c.dw = make([]float32, p.M*K)
		for m := 0; m < p.M; m++ {
			wm := qMat{w[m*K : (m+1)*K], K, wSigned, wZero}
			for t := 0; t < K; t++ {
				c.dw[m*K+t] = float32(wm.at(0, t) - wm.zp(m))
			}
		}
		return c
	}
	for g := 0; g < p.Group; g++ {
		z := wZero
		if len(z) > 1 {
			z = z[g*mg : (g+1)*mg]
		}
		c.pa = append(c.pa, QPackA(mg, K, w[g*mg*K:(g+1)*mg*K], K, wSigned, z))
	}
	return c
}

// Run computes the convolution of x (see QConv2D) into y.
func (c *QPackedConv2D) Run(x []byte, xSigned bool, xZero byte, y []int32) {
	c.run(x, xSigned, xZero, y, nil, nil)
}

// run is Run; with r set it also requantises y into out with r block by
// block, as the GEMM finishes each (while the sums are in the cache),
// where it can, and reports whether it did.
func (c *QPackedConv2D) run(x []byte, xSigned bool, xZero byte, y []int32, r *Requant, out []byte) bool {
	p := &c.P
	if len(x) < p.N*p.C*p.H*p.W {
		panic(fmt.Sprintf("kernels: QConv2D: len(x)=%d, want ≥ %d", len(x), p.N*p.C*p.H*p.W))
	}
	if len(y) < p.N*p.M*p.OH*p.OW {
		panic(fmt.Sprintf("kernels: QConv2D: len(y)=%d, want ≥ %d", len(y), p.N*p.M*p.OH*p.OW))
	}
	if c.dw != nil {
		qdepthwise(p, c.dw, x, xSigned, xZero, y)
		return false
	}
	cg, mg := p.C/p.Group, p.M/p.Group
	K := cg * p.KH * p.KW
	N := p.OH * p.OW
	if p.N > 1 && N < convBatchPlane && qk != nil && K > 0 {
		c.runBatched(x, xSigned, xZero, y)
		return false
	}
	if r != nil && c.paddedApplies() {
		c.runPadded(x, xSigned, xZero, r, out)
		return true
	}
	outer := 1
	if mg*N*K < 16*sgemmMinParallel {
		outer = Threads()
	}
	inner := Threads()
	if outer > 1 {
		inner = 1
	}
	args := qconvArgs{c: c, x: x, y: y, out: out, r: r, xSigned: xSigned, xZero: xZero, inner: inner}
	forArgs(&qconvLoops, p.N*p.Group, outer, args, func(arg *qconvArgs, _, job int) {
		c, x, y, out, r, xSigned, xZero := arg.c, arg.x, arg.y, arg.out, arg.r, arg.xSigned, arg.xZero
		p := &c.P
		cg, mg := p.C/p.Group, p.M/p.Group
		K := cg * p.KH * p.KW
		N := p.OH * p.OW
		hw := p.H * p.W
		n, g := job/p.Group, job%p.Group
		xg := x[(n*p.C+g*cg)*hw : (n*p.C+(g+1)*cg)*hw]
		yg := y[(n*p.M+g*mg)*N : (n*p.M+(g+1)*mg)*N]
		pa := c.pa[g]
		if !qkCurrent(pa.kern) {
			panic("kernels: QPackedConv2D.Run: weights packed for another kernel")
		}
		if qk == nil || K == 0 {
			qconvGo(p, &pa.a, xg, xSigned, xZero, yg)
			return
		}
		ops := getQConvOps()
		defer ops.put()
		b := &ops.b
		if p.pointwise() {
			ops.zero[0] = xZero
			ops.bmat = qMat{xg, N, xSigned, ops.zero[:]}
			b.mat = &ops.bmat
		} else {
			ops.im = qim2col{p: p, x: xg, signed: xSigned, pad: xZero}
			b.im = &ops.im
			b.im.zero = int32(xZero)
			if split := b.im.splitPhases(); split != nil {
				defer qsplitPool.Put(split)
			}
			if xSigned {
				b.im.zero = int32(int8(xZero))
			}
		}
		switch {
		case r != nil && pa.kern.tileRq != nil:
			b.rq = ops.out.set(r, g*mg, out[(n*p.M+g*mg)*N:], N)
		case r != nil:
			ops.epi = qconvEpi{p: p, r: r, out: out, yg: yg, g: g, n: n}
			b.epi = &ops.epi
		}
		ops.a.pk = pa
		qgemmDrive(pa.kern, mg, N, K, &ops.qOperands, yg, N, arg.inner)
	})
	return r != nil && qk != nil && K > 0
}

// qconvArgs are the arguments of an integer convolution's loop over
// images and groups (see forArgs).
type qconvArgs struct {
	c         *QPackedConv2D
	x, out    []byte
	y         []int32
	r         *Requant
	xSigned   bool
	xZero     byte
	inner, nb int
}

var qconvLoops argsPool[qconvArgs]

// qconvOps are the GEMM operands of one image and group of an integer
// convolution, pooled (see qOperands): B as an im2col generator, and
// the requantising epilogue.
type qconvOps struct {
	qOperands
	im  qim2col
	epi qconvEpi
}

var qconvOpsPool = sync.Pool{New: func() any { return new(qconvOps) }}

func getQConvOps() *qconvOps { return qconvOpsPool.Get().(*qconvOps) }

func (o *qconvOps) put() {
	rowp, rowq := o.rowp, o.rowq
	*o = qconvOps{}
	o.rowp, o.rowq = rowp, rowq
	qconvOpsPool.Put(o)
}

// qconvEpi requantises the finished blocks of one image and group's
// int32 sums yg into out (the kernels without a requantising tile).
type qconvEpi struct {
	p    *Conv2DParams
	r    *Requant
	out  []byte
	yg   []int32
	g, n int
}

func (e *qconvEpi) done(i0, i1, j0, j1 int) {
	p, r := e.p, e.r
	mg, N := p.M/p.Group, p.OH*p.OW
	for i := i0; i < i1; i++ {
		m := e.g*mg + i
		o := (e.n*p.M + m) * N
		requant(e.out[o+j0:o+j1], e.yg[i*N+j0:i*N+j1], r.Bias[m], r.Scale[m], r.Zero, r.Lo, r.Hi)
	}
}

// qconvRows holds qconvGo's im2col rows.
var qconvRows sync.Pool

// qconvGo is the portable integer convolution of one image and group,
// with the group's weights a (mg × K).
func qconvGo(p *Conv2DParams, a *qMat, xg []byte, xSigned bool, xZero byte, yg []int32) {
	cg, mg := p.C/p.Group, p.M/p.Group
	N := p.OH * p.OW
	im := qim2col{p: p, x: xg, signed: xSigned, pad: xZero}
	xz := int32(xZero)
	if xSigned {
		xz = int32(int8(xZero))
	}
	rb := pooledBytes(&qconvRows, N)
	defer qconvRows.Put(rb)
	row := (*rb)[:N]
	acc := yg[:mg*N]
	clear(acc)
	for k := 0; k < cg*p.KH*p.KW; k++ {
		im.row(row, k, 0)
		for m := 0; m < mg; m++ {
			wv := a.at(m, k) - a.zp(m)
			if wv == 0 {
				continue
			}
			out := acc[m*N : (m+1)*N]
			for j, v := range row {
				xv := int32(v)
				if xSigned {
					xv = int32(int8(v))
				}
				out[j] += wv * (xv - xz)
			}
		}
	}
}

// qim2col is the 8-bit im2col matrix of one image and group (see im2col);
// padding reads as pad (the input zero point).
type qim2col struct {
	p      *Conv2DParams
	x      []byte
	signed bool
	pad    byte
	zero   int32 // pad as an integer
	// split, for stride 2 (splitPhases), holds each input row as its
	// even columns then its odd ones, so that every im2col row segment
	// is a plain copy.
	split []byte
	// padded, for runPadded, is the input with its padding written out
	// (planes of hp rows of wp bytes).
	padded []byte
	hp, wp int
}

// row writes columns [j0, j0+len(dst)) of im2col row k into dst.
func (m *qim2col) row(dst []byte, k, j0 int) {
	if m.padded != nil {
		// Row k over the padded-width grid is one run of the padded
		// input (see runPadded).
		p := m.p
		khw := p.KH * p.KW
		ci, r := k/khw, k%khw
		off := (ci*m.hp+r/p.KW)*m.wp + r%p.KW
		copy(dst, m.padded[off+j0:off+j0+len(dst)])
		return
	}
	if m.split != nil {
		m.rowSplit(dst, k, j0)
		return
	}
	im2colRow(m.p, m.x, dst, k, j0, m.pad, copy2Bytes)
}

// qsplitPool holds the buffers of splitPhases.
var qsplitPool sync.Pool

// pooledBytes returns a buffer of at least n bytes (contents undefined)
// from pool, a new one where the pool's is too short; put it back when
// done.
func pooledBytes(pool *sync.Pool, n int) *[]byte {
	if b, _ := pool.Get().(*[]byte); b != nil && cap(*b) >= n {
		return b
	}
	b := make([]byte, n)
	return &b
}

// splitPhases fills m.split for convolutions of column stride 2 without
// dilation (im2col rows otherwise gather every second byte, once per
// kernel tap) and returns the pooled buffer to put back after the GEMM,
// or nil when it does not apply.
func (m *qim2col) splitPhases() *[]byte {
	p := m.p
	if p.StrideW != 2 || p.DilW != 1 || p.KW < 2 || p.W < 16 {
		return nil
	}
	cg := p.C / p.Group
	n := cg * p.H * p.W
	b := pooledBytes(&qsplitPool, n)
	split := (*b)[:n]
	we := (p.W + 1) / 2
	for r := 0; r < cg*p.H; r++ {
		src, dst := m.x[r*p.W:(r+1)*p.W], split[r*p.W:(r+1)*p.W]
		copy2Bytes(src, dst[:we])
		copy2Bytes(src[1:], dst[we:])
	}
	m.split = split
	return b
}

// rowSplit is row for stride 2 from m.split: input column 2·ow + iw0
// is entry ow + iw0>>1 of phase iw0&1 of its row.
func (m *qim2col) rowSplit(dst []byte, k, j0 int) {
	p := m.p
	khw := p.KH * p.KW
	ci, r := k/khw, k%khw
	kh, kw := r/p.KW, r%p.KW
	H, W, OW := p.H, p.W, p.OW
	we := (W + 1) / 2
	iw0 := kw - p.PadL
	lo := 0
	if iw0 < 0 {
		lo = (-iw0 + 1) / 2
	}
	hi := 0
	if iw0 < W {
		hi = min(OW, (W-1-iw0)/2+1)
	}
	off, phase := iw0>>1, iw0&1
	oh, ow := j0/OW, j0%OW
	for o := 0; o < len(dst); oh, ow = oh+1, 0 {
		seg := min(len(dst)-o, OW-ow)
		out := dst[o : o+seg]
		o += seg
		ih := oh*p.StrideH - p.PadT + kh*p.DilH
		a, b := min(max(lo-ow, 0), seg), min(max(hi-ow, 0), seg)
		if ih < 0 || ih >= H || b <= a {
			fill(out, m.pad)
			continue
		}
		fill(out[:a], m.pad)
		fill(out[b:], m.pad)
		row := m.split[(ci*H+ih)*W:][:W]
		if phase == 1 {
			row = row[we:]
		} else {
			row = row[:we]
		}
		copy(out[a:b], row[ow+a+off:ow+b+off])
	}
}

// copy2Bytes sets y[i] = x[2i] (stride-2 im2col rows), vectorised where
// x holds whole 16-byte chunks.
func copy2Bytes(x, y []byte) {
	if len(y) == 0 {
		return
	}
	n := evenBytesVec(x, y)
	copyStride(x[2*n:], 2, y[n:])
}

// pack writes im2col rows [k0, k0+kc) and columns [j0, j0+nc) in the
// int8 panel layout of packQB (signed, zero-padded) and adds each
// column's packed values to colsum.
func (m *qim2col) pack(dst []byte, k0, kc, j0, nc, nr int, colsum []int32) {
	kg := (kc + 3) / 4
	flip := byte(0x80)
	if m.signed {
		flip = 0
	}
	// Build four rows of up to len(buf)/4 columns at a time, then
	// interleave them into the panels.
	var buf [4 * 512]byte
	const ld = len(buf) / 4
	for g := 0; g < kg; g++ {
		for c := 0; c < nc; c += ld {
			w := min(ld, nc-c)
			for t := 0; t < 4; t++ {
				row := buf[t*ld : t*ld+w]
				if 4*g+t < kc {
					m.row(row, k0+4*g+t, j0+c)
				} else {
					clear(row) // padding rows of the last group
				}
			}
			for t := 0; t < w; t += nr {
				jp := c + t
				n := min(nr, w-t)
				dg := dst[jp*kg*4+g*4*nr : jp*kg*4+(g+1)*4*nr]
				cs := colsum[jp : jp+n]
				if n == 64 && nr == 64 && qpackFull(dg, buf[t:], ld, 1, flip, cs) {
					continue
				}
				for q := 0; q < 4; q++ {
					row := buf[q*ld+t : q*ld+t+n]
					if 4*g+q >= kc {
						for col := 0; col < nr; col++ {
							dg[col*4+q] = 0
						}
						continue
					}
					for col, v := range row {
						v ^= flip
						dg[col*4+q] = v
						cs[col] += int32(int8(v))
					}
					for col := n; col < nr; col++ {
						dg[col*4+q] = 0
					}
				}
			}
		}
	}
}

// qdwMaxTaps bounds the kernel size of integer depthwise convolutions run
// in float32: each product is at most 255² in magnitude, so with at most
// 258 taps every partial sum stays below 2²⁴ and float32 holds it exactly.
const qdwMaxTaps = 258

// qdepthwise runs an integer depthwise convolution exactly on the float32
// depthwise kernels: input planes are converted to x - xZero (padding
// becomes 0, which is exactly what padding contributes), results back to
// int32. wf holds w - wZero.
func qdepthwise(p *Conv2DParams, wf []float32, x []byte, xSigned bool, xZero byte, y []int32) {
	mg := p.M / p.C
	khw := p.KH * p.KW
	hw, ohw := p.H*p.W, p.OH*p.OW
	// (b ^ flip) - (xZero ^ flip) is b - xZero for both signednesses.
	flip := byte(0)
	if xSigned {
		flip = 0x80
	}
	sub := float32(xZero ^ flip)
	inf := float32(math.Inf(1))
	threads := Threads()
	chunks := min(p.N*p.M, 4*threads)
	d := getDW(p)
	defer dwPool.Put(d)
	fast := d.ok
	parallelFor(chunks, threads, func(c int) {
		in := getPadded(max(hw, p.W))
		out := getPadded(ohw)
		defer padPool.Put(in)
		defer padPool.Put(out)
		var zero []float32
		if fast && d.zero {
			z := getPadded(p.W)
			defer padPool.Put(z)
			zero = *z
		}
		for plane := c * p.N * p.M / chunks; plane < (c+1)*p.N*p.M/chunks; plane++ {
			n, m := plane/p.M, plane%p.M
			ci := n*p.C + m/mg
			xc, wc := x[ci*hw:(ci+1)*hw], wf[m*khw:(m+1)*khw]
			bytesToF32((*in)[:hw], xc, flip, sub)
			if fast {
				d.run(*out, *in, 0, 1, wc, nil, 0, zero, -inf, inf)
			} else {
				depthwisePlane(p, (*in)[:hw], wc, 0, *out, Fused{})
			}
			f32ToI32(y[plane*ohw:(plane+1)*ohw], *out)
		}
	})
}

// pack16 writes im2col rows [k0, k0+kc) and columns [j0, j0+nc) minus the
// input zero point in the int16-pair layout of packQB16; nc is at most
// 512, the column block of the kernels using it. Full 16-column panels
// are interleaved by pack16Pairs.
func (m *qim2col) pack16(dst []byte, k0, kc, j0, nc, nr int, _ []int32) {
	kp := (kc + 1) / 2
	var buf0, buf1 [512]byte
	r0, r1 := buf0[:nc], buf1[:nc]
	for g := 0; g < kp; g++ {
		m.row(r0, k0+2*g, j0)
		if 2*g+1 < kc {
			m.row(r1, k0+2*g+1, j0)
		} else {
			fill(r1, m.pad) // reads as zero once the zero point is subtracted
		}
		for jp := 0; jp < nc; jp += nr {
			d := unsafe.Slice((*int16)(unsafe.Pointer(&dst[jp*kp*4+g*4*nr])), 2*nr)
			if nr == 16 && jp+16 <= nc && pack16Pairs(d, r0[jp:], r1[jp:], m.zero, m.signed) {
				continue
			}
			for col := 0; col < nr; col++ {
				var v0, v1 int16
				if j := jp + col; j < nc {
					a, b := int32(r0[j]), int32(r1[j])
					if m.signed {
						a, b = int32(int8(r0[j])), int32(int8(r1[j]))
					}
					v0, v1 = int16(a-m.zero), int16(b-m.zero)
				}
				d[2*col], d[2*col+1] = v0, v1
			}
		}
	}
}

// qconvScratch holds the im2col bytes and int32 results of runBatched.
var qconvScratch = sync.Pool{New: func() any { return new(qconvBuf) }}

type qconvBuf struct {
	b []byte
	c []int32
}

// runBatched runs a convolution of several images with small output
// planes as one integer GEMM per group and batch of images: the im2col
// bytes of the batch (K × nb·OH·OW, images side by side) are built
// whole, multiplied by the packed weights into a scratch matrix, and the
// result is copied into the images' planes. Per image such GEMMs would
// be too narrow to run well (see conv2DBatched for float32).
func (c *QPackedConv2D) runBatched(x []byte, xSigned bool, xZero byte, y []int32) {
	p := &c.P
	K := p.C / p.Group * p.KH * p.KW
	ohw := p.OH * p.OW
	nb := max(1, min(p.N, convBatchCols/ohw, (4*convBatchFloats)/(K*ohw)))
	batches := (p.N + nb - 1) / nb
	jobs := batches * p.Group
	outer, inner := Threads(), 1
	if jobs < outer {
		outer, inner = 1, outer
	}
	args := qconvArgs{c: c, x: x, y: y, xSigned: xSigned, xZero: xZero, inner: inner, nb: nb}
	forArgs(&qconvLoops, jobs, outer, args, func(arg *qconvArgs, _, job int) {
		c, x, y, xSigned, xZero, inner, nb := arg.c, arg.x, arg.y, arg.xSigned, arg.xZero, arg.inner, arg.nb
		p := &c.P
		cg, mg := p.C/p.Group, p.M/p.Group
		K := cg * p.KH * p.KW
		hw, ohw := p.H*p.W, p.OH*p.OW
		bi, g := job/p.Group, job%p.Group
		n0 := bi * nb
		ni := min(nb, p.N-n0)
		cols := ni * ohw
		buf := qconvScratch.Get().(*qconvBuf)
		defer qconvScratch.Put(buf)
		if len(buf.b) < K*cols {
			buf.b = make([]byte, K*cols)
		}
		if len(buf.c) < mg*cols {
			buf.c = make([]int32, mg*cols)
		}
		bm, cm := buf.b[:K*cols], buf.c[:mg*cols]
		tab := c.gatherTable()
		for k := 0; k < K; k++ {
			row := bm[k*cols : (k+1)*cols]
			for i := 0; i < ni; i++ {
				xi := x[((n0+i)*p.C+g*cg)*hw:]
				dst := row[i*ohw : (i+1)*ohw]
				switch {
				case p.pointwise():
					copy(dst, xi[k*hw:(k+1)*hw])
				case tab != nil:
					// Small planes: gather through the table (one
					// entry per output position, -1 for padding).
					xc := xi[(k/(p.KH*p.KW))*hw:][:hw]
					for j, o := range tab[(k%(p.KH*p.KW))*ohw:][:ohw] {
						v := xZero
						if o >= 0 {
							v = xc[o]
						}
						dst[j] = v
					}
				default:
					im2colRow(p, xi, dst, k, 0, xZero, copy2Bytes)
				}
			}
		}
		pa := c.pa[g]
		if !qkCurrent(pa.kern) {
			panic("kernels: QPackedConv2D.Run: weights packed for another kernel")
		}
		ops := getQConvOps()
		defer ops.put()
		ops.zero[0] = xZero
		ops.bmat = qMat{bm, cols, xSigned, ops.zero[:]}
		ops.a.pk, ops.b.mat = pa, &ops.bmat
		qgemmDrive(pa.kern, mg, cols, K, &ops.qOperands, cm, cols, inner)
		for m := 0; m < mg; m++ {
			for i := 0; i < ni; i++ {
				copy(y[((n0+i)*p.M+g*mg+m)*ohw:][:ohw], cm[m*cols+i*ohw:][:ohw])
			}
		}
	})
}

// paddedApplies reports whether runPadded handles the convolution: a
// non-pointwise one of stride 1 and no dilation (ResNets' 3×3 layers) on
// the q8 kernels, which requantise in their tiles.
func (c *QPackedConv2D) paddedApplies() bool {
	p := &c.P
	if qk == nil || c.pa == nil || c.pa[0].kern.tileRq == nil || p.pointwise() || p.N > 1 && p.OH*p.OW < convBatchPlane {
		return false
	}
	return p.StrideH == 1 && p.StrideW == 1 && p.DilH == 1 && p.DilW == 1 && p.OH > 0 && p.OW > 0 &&
		p.OH == p.H+p.PadT+p.PadB-p.KH+1 && p.OW == p.W+p.PadL+p.PadR-p.KW+1
}

// qpadPool holds runPadded's buffers.
var qpadPool = sync.Pool{New: func() any { return new(qpadBuf) }}

type qpadBuf struct {
	x, y []byte
	c    []int32
}

// runPadded runs a stride-1 convolution with requantisation without
// gathering an im2col matrix: the input is copied once with its padding
// (the zero point) written out, planes of hp×wp, and the GEMM runs over
// the padded-width output grid, (OH−1)·wp + OW columns, where output
// (oh, ow) is column oh·wp + ow and im2col row (c, kh, kw) is the run of
// plane c starting at kh·wp + kw: each B row is one copy. The wp − OW
// columns between output rows are computed and dropped when the rows
// are copied out.
func (c *QPackedConv2D) runPadded(x []byte, xSigned bool, xZero byte, r *Requant, out []byte) {
	p := &c.P
	K := p.C / p.Group * p.KH * p.KW
	np := (p.OH-1)*(p.W+p.PadL+p.PadR) + p.OW
	outer := 1
	if p.M/p.Group*np*K < 16*sgemmMinParallel {
		outer = Threads()
	}
	inner := Threads()
	if outer > 1 {
		inner = 1
	}
	args := qconvArgs{c: c, x: x, out: out, r: r, xSigned: xSigned, xZero: xZero, inner: inner}
	forArgs(&qconvLoops, p.N*p.Group, outer, args, func(arg *qconvArgs, _, job int) {
		c, x, out, r, xSigned, xZero, inner := arg.c, arg.x, arg.out, arg.r, arg.xSigned, arg.xZero, arg.inner
		p := &c.P
		cg, mg := p.C/p.Group, p.M/p.Group
		K := cg * p.KH * p.KW
		hp, wp := p.H+p.PadT+p.PadB, p.W+p.PadL+p.PadR
		np := (p.OH-1)*wp + p.OW
		hw, ohw := p.H*p.W, p.OH*p.OW
		zero := int32(xZero)
		if xSigned {
			zero = int32(int8(xZero))
		}
		n, g := job/p.Group, job%p.Group
		xg := x[(n*p.C+g*cg)*hw : (n*p.C+(g+1)*cg)*hw]
		buf := qpadPool.Get().(*qpadBuf)
		defer qpadPool.Put(buf)
		if len(buf.x) < cg*hp*wp {
			buf.x = make([]byte, cg*hp*wp)
		}
		if len(buf.y) < mg*np {
			buf.y = make([]byte, mg*np)
		}
		if len(buf.c) < mg*np {
			buf.c = make([]int32, mg*np)
		}
		xp := buf.x[:cg*hp*wp]
		fill(xp, xZero)
		for ci := 0; ci < cg; ci++ {
			for ih := 0; ih < p.H; ih++ {
				copy(xp[(ci*hp+ih+p.PadT)*wp+p.PadL:], xg[(ci*p.H+ih)*p.W:(ci*p.H+ih+1)*p.W])
			}
		}
		pa := c.pa[g]
		if !qkCurrent(pa.kern) {
			panic("kernels: QPackedConv2D.Run: weights packed for another kernel")
		}
		tmp := buf.y[:mg*np]
		ops := getQConvOps()
		defer ops.put()
		ops.im = qim2col{p: p, x: xg, signed: xSigned, pad: xZero, zero: zero, padded: xp, hp: hp, wp: wp}
		ops.a.pk, ops.b.im = pa, &ops.im
		ops.b.rq = ops.out.set(r, g*mg, tmp, np)
		qgemmDrive(pa.kern, mg, np, K, &ops.qOperands, buf.c[:mg*np], np, inner)
		for i := 0; i < mg; i++ {
			o := out[(n*p.M+g*mg+i)*ohw:]
			for oh := 0; oh < p.OH; oh++ {
				copy(o[oh*p.OW:(oh+1)*p.OW], tmp[i*np+oh*wp:])
			}
		}
	})
}
