package kernels

import (
	"math"
	"sync"
)

// Bounded-weight int8 GEMM (u8×s8 pairs)
//
// Without VNNI, the exact int8 GEMM multiplies int16 pairs (VPMADDWD).
// When the weights are known to fit in [-64, 64] — the 7-bit weights the
// quantize pass writes with reduce-range — a faster exact path exists:
// VPMADDUBSW multiplies unsigned by signed bytes and adds adjacent pairs
// into int16, which cannot saturate since 2·255·64 = 32640 < 32767; a
// VPMADDWD by ones then widens pairs of those into int32 sums of four
// products. The q8 kernels use the four-byte group layout and the
// rank-2 zero-point correction of the VNNI kernel (see qgemm.go). The
// weights are checked once at pack time (QPackA for convolutions, where
// they are A, and QPackB for MatMul, where they are B); weights outside
// the bound keep the int16-pair kernel.
//
// In the q8As kernel A holds the signed bytes and B the unsigned ones
// (the kernel's aSigned flag): signed B and unsigned A are shifted by 128
// while packing and the zero points absorb the shift. q8Bs has the VNNI
// convention (A unsigned, B signed).

// q8Bound is the largest magnitude of a signed packed byte for which the
// q8 kernels are exact.
const q8Bound = 64

// q8Fits reports whether the rows×cols matrix m, packed as signed bytes
// (unsigned values shifted by -128), lies within [-q8Bound, q8Bound].
func q8Fits(m *qMat, rows, cols int) bool {
	for i := 0; i < rows; i++ {
		for _, v := range m.data[i*m.ld : i*m.ld+cols] {
			s := int(int8(v))
			if !m.signed {
				s = int(v) - 128
			}
			if s < -q8Bound || s > q8Bound {
				return false
			}
		}
	}
	return true
}

// q8KC is the depth block of the q8 kernels: the 960- and 576-deep 1×1
// convolutions of MobileNets then run in one block, requantised straight
// from the registers (a 16-column B panel is 16 KiB, within L1 with the
// 6 KiB A panel).
const q8KC = 1024

// newQ8Kernels returns the two q8 kernels around the tile functions
// tileAs and tileBs (m×16 tiles, see q8Args in the generator) and their
// left halves halfAs and halfBs (m×8, for partial panels of at most 8
// columns).
func newQ8Kernels(tileAs, tileBs, halfAs, halfBs q8TileFunc) (as, bs *qgemmKernel) {
	as = &qgemmKernel{
		name: "q8as",
		mr:   6, nr: 16,
		kc: q8KC, mc: 120, nc: 512,
		kunit: 4, corrected: true, aSigned: true,
		packA:  packQAs,
		packB:  packQBu,
		packIm: (*qim2col).packU8,
	}
	as.tile, as.tileRq = q8Tile(tileAs, halfAs)
	bs = &qgemmKernel{
		name: "q8bs",
		mr:   6, nr: 16,
		kc: q8KC, mc: 120, nc: 512,
		kunit: 4, corrected: true,
		packA:  packQA,
		packB:  packQB,
		packIm: (*qim2col).pack,
	}
	bs.tile, bs.tileRq = q8Tile(tileBs, halfBs)
	return as, bs
}

// q8TileFunc computes a full m×16 int32 tile over kg groups of four k;
// flags bit 0 adds it to C, bit 1 first subtracts the correction corr;
// bit 2 (uint8) or 3 (int8) requantises the corrected tile (plus C with
// bit 0) into rq.out instead of writing C.
type q8TileFunc func(m, kg int, a, b []byte, c []int32, ldc int, flags int, corr *qCorr, rq *q8Req)

// q8Req is the requantising output stage of one q8 tile.
type q8Req struct {
	bias  []int32   // from the tile's first row on
	scale []float32 // likewise
	out   []byte    // the tile's first output byte
	ldo   int       // output row stride
	cst   *[5][8]int32
	s8    bool // int8 output (else uint8)
	// part is the stage partial tiles requantise through: full rows
	// into buf, of which the tile's columns are copied out.
	part *q8Req
	buf  [6 * 16]byte
}

// qOut is the requantising output stage of a whole integer GEMM: row i
// of the product maps its exact sums t to clamp(round((t + bias[i]) ·
// scale[i]) + zero, lo, hi), stored as bytes in out (row stride ldo).
type qOut struct {
	bias  []int32
	scale []float32
	out   []byte
	ldo   int
	// eight int32 copies each of zero, lo and hi, then 32 bytes each of
	// lo and hi
	cst [5][8]int32
	s8  bool
}

// set makes o the output stage for r's rows from row m0 on, writing out
// with row stride ldo, and returns o.
func (o *qOut) set(r *Requant, m0 int, out []byte, ldo int) *qOut {
	*o = qOut{bias: r.Bias[m0:], scale: r.Scale[m0:], out: out, ldo: ldo, s8: r.Lo < 0}
	lo, hi := int32(uint32(uint8(r.Lo))*0x01010101), int32(uint32(uint8(r.Hi))*0x01010101)
	for j := 0; j < 8; j++ {
		o.cst[0][j], o.cst[1][j], o.cst[2][j], o.cst[3][j], o.cst[4][j] = r.Zero, r.Lo, r.Hi, lo, hi
	}
	return o
}

// requant1 is requantAvx2's arithmetic for one value (see Requant).
func requant1(v, bias int32, scale float32, zero, lo, hi int32) byte {
	f := float32(v+bias) * scale
	q := int32(math.RoundToEven(float64(f))) + zero
	return byte(min(max(q, lo), hi))
}

// tileSums holds a partial tile's int32 sums (a local array, handed to
// the tile function, would move to the heap on every call).
var tileSums = sync.Pool{New: func() any { return new([6 * 16]int32) }}

// corrFlag checks corr (nil: no corrections) for a tile of mr rows and
// 16 columns and returns the flag bit that applies it.
func corrFlag(corr *qCorr, mr int) int {
	if corr == nil {
		return 0
	}
	_, _ = corr.rowp[mr-1], corr.rowq[mr-1]
	_, _ = corr.colu[15], corr.colv[15]
	return 2
}

// rqFlag returns the flag bit of a tile that requantises to rq's bytes:
// 4 for uint8, 8 for int8.
func rqFlag(rq *q8Req) int {
	if rq.s8 {
		return 8
	}
	return 4
}

// q8Tile adapts a full-tile function to qgemmKernel.tile and tileRq:
// partial tiles go through scratch, those of at most 8 columns computed
// by half.
func q8Tile(full, half q8TileFunc) (
	tile func(mr, nr, kg int, a, b []byte, c []int32, ldc int, loadC bool, corr *qCorr),
	tileRq func(mr, nr, kg int, a, b []byte, c []int32, ldc int, loadC bool, corr *qCorr, rq *q8Req)) {
	// narrow picks the tile that computes a partial tile of nr columns.
	narrow := func(nr int) q8TileFunc {
		if nr <= 8 {
			return half
		}
		return full
	}
	tile = func(mr, nr, kg int, a, b []byte, c []int32, ldc int, loadC bool, corr *qCorr) {
		_, _ = a[kg*4*6-1], b[kg*4*16-1]
		flags := corrFlag(corr, mr)
		if nr == 16 {
			_ = c[(mr-1)*ldc+15]
			if loadC {
				flags |= 1
			}
			full(mr, kg, a, b, c, ldc, flags, corr, nil)
			return
		}
		t := tileSums.Get().(*[6 * 16]int32)
		defer tileSums.Put(t)
		narrow(nr)(mr, kg, a, b, t[:], 16, flags, corr, nil)
		for i := 0; i < mr; i++ {
			row := c[i*ldc : i*ldc+nr]
			tr := t[i*16 : i*16+nr]
			if loadC {
				for j := range row {
					row[j] += tr[j]
				}
			} else {
				copy(row, tr)
			}
		}
	}
	tileRq = func(mr, nr, kg int, a, b []byte, c []int32, ldc int, loadC bool, corr *qCorr, rq *q8Req) {
		_, _ = a[kg*4*6-1], b[kg*4*16-1]
		flags := corrFlag(corr, mr)
		_, _ = rq.bias[mr-1], rq.scale[mr-1]
		if nr == 16 {
			flags |= rqFlag(rq)
			if loadC {
				_ = c[(mr-1)*ldc+15]
				flags |= 1
			}
			_ = rq.out[(mr-1)*rq.ldo+15]
			full(mr, kg, a, b, c, ldc, flags, corr, rq)
			return
		}
		if !loadC {
			// Requantise the full tile into scratch rows, keep nr bytes.
			flags |= rqFlag(rq)
			sub := rq.part
			sub.bias, sub.scale, sub.cst, sub.s8 = rq.bias, rq.scale, rq.cst, rq.s8
			sub.out, sub.ldo = sub.buf[:], 16
			narrow(nr)(mr, kg, a, b, c, ldc, flags, corr, sub)
			for i := 0; i < mr; i++ {
				copy(rq.out[i*rq.ldo:i*rq.ldo+nr], sub.buf[i*16:])
			}
			return
		}
		t := tileSums.Get().(*[6 * 16]int32)
		defer tileSums.Put(t)
		narrow(nr)(mr, kg, a, b, t[:], 16, flags, corr, nil)
		zero, lo, hi := rq.cst[0][0], rq.cst[1][0], rq.cst[2][0]
		for i := 0; i < mr; i++ {
			tr := t[i*16 : i*16+nr]
			if loadC {
				for j, v := range c[i*ldc : i*ldc+nr] {
					tr[j] += v
				}
			}
			out := rq.out[i*rq.ldo : i*rq.ldo+nr]
			for j, v := range tr {
				out[j] = requant1(v, rq.bias[i], rq.scale[i], zero, lo, hi)
			}
		}
	}
	return tile, tileRq
}

// q8TileGo is the portable m×16 tile of the q8 kernels, with the
// assembly's arithmetic: each pair of u8·s8 products is summed into
// int16 with signed saturation (never reached for signed bytes in
// [-64, 64]), then pairs of those into int32 lanes. aSigned selects
// which operand holds the signed bytes.
func q8TileGo(aSigned bool) q8TileFunc {
	return func(m, kg int, a, b []byte, c []int32, ldc int, flags int, corr *qCorr, rq *q8Req) {
		for i := 0; i < m; i++ {
			for j := 0; j < 16; j++ {
				var s int32
				for g := 0; g < kg; g++ {
					av := a[g*4*6+i*4 : g*4*6+i*4+4]
					bv := b[g*4*16+j*4 : g*4*16+j*4+4]
					for h := 0; h < 4; h += 2 {
						var p int32
						if aSigned {
							p = int32(int8(av[h]))*int32(bv[h]) + int32(int8(av[h+1]))*int32(bv[h+1])
						} else {
							p = int32(av[h])*int32(int8(bv[h])) + int32(av[h+1])*int32(int8(bv[h+1]))
						}
						s += min(max(p, -32768), 32767)
					}
				}
				if flags&2 != 0 {
					s -= corr.rowp[i]*corr.colu[j] + corr.rowq[i]*corr.colv[j]
				}
				if flags&1 != 0 {
					s += c[i*ldc+j]
				}
				if flags&12 != 0 {
					rq.out[i*rq.ldo+j] = requant1(s, rq.bias[i], rq.scale[i], rq.cst[0][0], rq.cst[1][0], rq.cst[2][0])
					continue
				}
				c[i*ldc+j] = s
			}
		}
	}
}

// packQAs packs A like packQA but as signed bytes (unsigned values get
// their top bit flipped, i.e. -128).
func packQAs(dst []byte, a *qMat, i0, mc, p0, kc, mr int) {
	flipped := *a
	flipped.signed = !a.signed
	packQA(dst, &flipped, i0, mc, p0, kc, mr)
}

// packQBu packs B like packQB but as unsigned bytes (signed values get
// their top bit flipped, i.e. +128), adding the unsigned values to
// colsum unless it is nil.
func packQBu(dst []byte, b *qMat, p0, kc, j0, nc, nr int, colsum []int32) {
	kg := (kc + 3) / 4
	flip := byte(0)
	if b.signed {
		flip = 0x80
	}
	for jp := 0; jp < nc; jp += nr {
		n := min(nr, nc-jp)
		d := dst[jp*kg*4 : (jp+nr)*kg*4]
		var cs []int32
		if colsum != nil {
			cs = colsum[jp : jp+n]
		}
		g0 := 0
		if n == 16 && nr == 16 && q8PackFull(d, b.data[p0*b.ld+j0+jp:], b.ld, kc/4, flip, cs) {
			g0 = kc / 4
		}
		if g0 == kg {
			continue
		}
		clear(d[g0*4*nr:])
		for k := 4 * g0; k < kc; k++ {
			src := b.data[(p0+k)*b.ld+j0+jp : (p0+k)*b.ld+j0+jp+n]
			dg := d[(k>>2)*4*nr+k&3:]
			for c, v := range src {
				v ^= flip
				dg[c*4] = v
				if cs != nil {
					cs[c] += int32(v)
				}
			}
		}
	}
}

// q8RowsPool holds packU8's four-row buffers (a local array escaped to
// the heap on every call).
var q8RowsPool = sync.Pool{New: func() any { return new([4 * 512]byte) }}

// packU8 writes im2col rows [k0, k0+kc) and columns [j0, j0+nc) in the
// layout of packQBu (unsigned, zero-padded) and adds each column's packed
// values to colsum unless it is nil.
func (m *qim2col) packU8(dst []byte, k0, kc, j0, nc, nr int, colsum []int32) {
	kg := (kc + 3) / 4
	flip := byte(0)
	if m.signed {
		flip = 0x80
	}
	// Build four rows of up to ld columns at a time, then interleave
	// them into the panels.
	bp := q8RowsPool.Get().(*[4 * 512]byte)
	defer q8RowsPool.Put(bp)
	buf := bp[:]
	const ld = len(bp) / 4
	for g := 0; g < kg; g++ {
		for c := 0; c < nc; c += ld {
			w := min(ld, nc-c)
			for t := 0; t < 4; t++ {
				row := buf[t*ld : t*ld+w]
				if 4*g+t < kc {
					m.row(row, k0+4*g+t, j0+c)
				} else {
					fill(row, flip) // padding rows of the last group pack as zero
				}
			}
			t0 := 0
			if full := w / 16; nr == 16 && full > 0 {
				// The group's full panels in one call.
				var cs []int32
				if colsum != nil {
					cs = colsum[c : c+16*full]
				}
				if q8PackGroup(dst[c*kg*4+g*4*nr:], buf[:], ld, full, kg*4*nr, flip, cs) {
					t0 = 16 * full
				}
			}
			for t := t0; t < w; t += nr {
				jp := c + t
				n := min(nr, w-t)
				dg := dst[jp*kg*4+g*4*nr : jp*kg*4+(g+1)*4*nr]
				var cs []int32
				if colsum != nil {
					cs = colsum[jp : jp+n]
				}
				if n == 16 && nr == 16 && q8PackFull(dg, buf[t:], ld, 1, flip, cs) {
					continue
				}
				clear(dg)
				for q := 0; q < 4; q++ {
					for col, v := range buf[q*ld+t : q*ld+t+n] {
						v ^= flip
						dg[col*4+q] = v
						if cs != nil {
							cs[col] += int32(v)
						}
					}
				}
			}
		}
	}
}
