package kernels

import "fmt"

// ConvTranspose2DParams describes a 2-D NCHW transposed convolution
// (ONNX ConvTranspose): input position (i, j) of channel c adds
// x·w[c, m, kh, kw] to output (i·StrideH − PadT + kh·DilH, j·StrideW −
// PadL + kw·DilW) of channel m, where it lies in the OH×OW output.
// Weights are (C, M/Group, KH, KW). Output sizes come from the caller
// (pads, output_padding and output_shape all reduce to PadT, PadL, OH,
// OW).
type ConvTranspose2DParams struct {
	N, C, H, W int
	M          int
	KH, KW     int
	StrideH    int
	StrideW    int
	DilH, DilW int
	PadT, PadL int
	Group      int
	OH, OW     int
}

// Check reports whether p is valid: positive sizes, strides and
// dilations, non-negative pads, channels divisible by Group.
func (p *ConvTranspose2DParams) Check() error {
	switch {
	case p.N < 0 || p.C < 1 || p.H < 1 || p.W < 1 || p.M < 1 || p.KH < 1 || p.KW < 1 || p.OH < 0 || p.OW < 0:
		return fmt.Errorf("kernels: conv transpose: bad sizes N=%d C=%d H=%d W=%d M=%d K=%dx%d out %dx%d", p.N, p.C, p.H, p.W, p.M, p.KH, p.KW, p.OH, p.OW)
	case p.StrideH < 1 || p.StrideW < 1 || p.DilH < 1 || p.DilW < 1 || p.PadT < 0 || p.PadL < 0:
		return fmt.Errorf("kernels: conv transpose: bad strides, dilations or pads")
	case p.Group < 1 || p.C%p.Group != 0 || p.M%p.Group != 0:
		return fmt.Errorf("kernels: conv transpose: group %d does not divide C=%d and M=%d", p.Group, p.C, p.M)
	}
	return nil
}

// ctBandCols is about how many input columns (rows × width) one band's
// GEMM covers: its product, (M/Group·KH·KW) × that, stays in L2.
const ctBandCols = 2048

// ctBand returns the output rows per band and the most input rows a
// band reads.
func (p *ConvTranspose2DParams) ctBand() (outRows, inRows int) {
	in := max(1, ctBandCols/p.W)
	outRows = min(p.OH, in*p.StrideH)
	// Output rows [o0, o0+outRows) read input rows i with i·s − PadT +
	// kh·d in them: at most (outRows + (KH−1)·d − 1)/s + 1.
	inRows = min(p.H, (outRows+(p.KH-1)*p.DilH-1)/p.StrideH+1)
	return max(outRows, 1), inRows
}

// ConvTranspose2DScratch is the scratch length, in floats, that
// ConvTranspose2D needs with the given number of threads.
func ConvTranspose2DScratch(p *ConvTranspose2DParams, threads int) int {
	_, inRows := p.ctBand()
	return max(1, threads) * (p.M / p.Group * p.KH * p.KW) * inRows * p.W
}

// ConvTranspose2D computes y = convtranspose(x, w) + bias (bias may be
// nil) with ConvTranspose2DScratch(p, Threads()) floats of scratch.
//
// It is output-stationary: the output of each image and group is cut
// into bands of rows, split across threads. A band computes the
// products of the weights with the input rows it reads (one GEMM,
// (M/Group·KH·KW) × C/Group times C/Group × rows·W, in the thread's
// scratch) and adds each kernel position's product rows into its output
// rows, shifted and strided; bands never write each other's rows, so no
// buffer of the whole product is made and threads need no locks. Where
// every output receives exactly one product (kernel equal to stride, no
// dilation, padding or extra rows: the 2×2 stride-2 upsampling of
// detectors), the bias is written with it instead of first.
func ConvTranspose2D(p *ConvTranspose2DParams, x, w, bias, y, scratch []float32) {
	if err := p.Check(); err != nil {
		panic(err)
	}
	if rows := p.M / p.Group * p.KH * p.KW; len(w) < p.C*rows {
		panic(fmt.Sprintf("kernels: ConvTranspose2D: len(w)=%d, want ≥ %d", len(w), p.C*rows))
	}
	threads, ok := ctOperands("ConvTranspose2D", p, x, bias, y, scratch)
	if !ok {
		return
	}
	convTranspose2DPacked(p, packConvTranspose(p, w), x, bias, y, scratch, threads)
}

// ctOperands checks the operands of a transposed convolution p (which
// passed Check) and returns the threads its scratch allows; ok is false
// when there is nothing to compute.
func ctOperands(fn string, p *ConvTranspose2DParams, x, bias, y, scratch []float32) (threads int, ok bool) {
	hw, ohw := p.H*p.W, p.OH*p.OW
	switch {
	case len(x) < p.N*p.C*hw:
		panic(fmt.Sprintf("kernels: %s: len(x)=%d, want ≥ %d", fn, len(x), p.N*p.C*hw))
	case bias != nil && len(bias) < p.M:
		panic(fmt.Sprintf("kernels: %s: len(bias)=%d, want ≥ %d", fn, len(bias), p.M))
	case len(y) < p.N*p.M*ohw:
		panic(fmt.Sprintf("kernels: %s: len(y)=%d, want ≥ %d", fn, len(y), p.N*p.M*ohw))
	}
	if p.N == 0 || ohw == 0 {
		return 0, false
	}
	_, inRows := p.ctBand()
	per := p.M / p.Group * p.KH * p.KW * inRows * p.W
	if len(scratch) < per {
		panic(fmt.Sprintf("kernels: %s: len(scratch)=%d, want ≥ %d", fn, len(scratch), per))
	}
	return max(1, min(Threads(), len(scratch)/per)), true
}

// packConvTranspose packs the weights of each group as the GEMM's A
// (Wgᵀ).
func packConvTranspose(p *ConvTranspose2DParams, w []float32) []*PackedA {
	cg, rows := p.C/p.Group, p.M/p.Group*p.KH*p.KW
	pas := make([]*PackedA, p.Group)
	for g := range pas {
		pas[g] = PackA(true, rows, cg, w[g*cg*rows:(g+1)*cg*rows], rows)
	}
	return pas
}

// convTranspose2DPacked is ConvTranspose2D with the weights packed by
// packConvTranspose, on threads threads (scratch holds that many bands).
func convTranspose2DPacked(p *ConvTranspose2DParams, pas []*PackedA, x, bias, y, scratch []float32, threads int) {
	cg, mg := p.C/p.Group, p.M/p.Group
	rows := mg * p.KH * p.KW
	hw, ohw := p.H*p.W, p.OH*p.OW
	outRows, inRows := p.ctBand()
	per := rows * inRows * p.W
	bands := (p.OH + outRows - 1) / outRows
	exact := p.KH == p.StrideH && p.KW == p.StrideW && p.DilH == 1 && p.DilW == 1 &&
		p.PadT == 0 && p.PadL == 0 && p.OH == p.H*p.StrideH && p.OW == p.W*p.StrideW
	items := p.N * p.Group * bands
	forArgs(&ctLoops, items, threads, ctArgs{p: p, pas: pas, x: x, bias: bias, y: y, scratch: scratch,
		cg: cg, mg: mg, rows: rows, hw: hw, ohw: ohw, outRows: outRows, per: per, bands: bands, exact: exact}, ctBandRun)
}

// ctArgs are the operands of one transposed convolution's band loop.
type ctArgs struct {
	p                                          *ConvTranspose2DParams
	pas                                        []*PackedA
	x, bias, y, scratch                        []float32
	cg, mg, rows, hw, ohw, outRows, per, bands int
	exact                                      bool
}

var ctLoops argsPool[ctArgs]

// ctBandRun computes band item it of a transposed convolution on worker
// t (see convTranspose2DPacked).
func ctBandRun(a *ctArgs, t, it int) {
	p, x, y, bias := a.p, a.x, a.y, a.bias
	cg, mg, rows, hw, ohw, outRows, bands, exact := a.cg, a.mg, a.rows, a.hw, a.ohw, a.outRows, a.bands, a.exact
	cols := a.scratch[t*a.per : (t+1)*a.per]
	band := it % bands
	ng := it / bands
	n, g := ng/p.Group, ng%p.Group
	o0 := band * outRows
	o1 := min(p.OH, o0+outRows)
	// Input rows with a kernel row landing in [o0, o1).
	i0 := max(0, ceilDiv(o0+p.PadT-(p.KH-1)*p.DilH, p.StrideH))
	i1 := min(p.H, floorDiv(o1-1+p.PadT, p.StrideH)+1)
	yg := y[(n*p.M+g*mg)*ohw : (n*p.M+(g+1)*mg)*ohw]
	var bg []float32
	if bias != nil {
		bg = bias[g*mg : (g+1)*mg]
	}
	if !exact || i0 >= i1 {
		for m := 0; m < mg; m++ {
			var b float32
			if bg != nil {
				b = bg[m]
			}
			fill(yg[m*ohw+o0*p.OW:m*ohw+o1*p.OW], b)
		}
	}
	if i0 >= i1 {
		return
	}
	nc := (i1 - i0) * p.W
	xg := x[(n*p.C+g*cg)*hw+i0*p.W:]
	pa := sgemmA{pk: a.pas[g]}
	pb := sgemmB{b: xg, ldb: hw, direct: sgemmDirectB(rows, nc)}
	sgemmDrive(rows, nc, cg, 1, &pa, &pb, 0, cols, nc, nil, 1)
	if exact {
		ctScatterExact(p, cols, nc, bg, yg, i0, i1)
		return
	}
	ctScatter(p, cols, nc, yg, i0, i1, o0, o1)
}

// ctScatter adds the product rows of input rows [i0, i1) (row r of cols,
// for kernel position r mod KH·KW of channel r / (KH·KW), stride nc)
// into output rows [o0, o1) of the group's planes yg.
func ctScatter(p *ConvTranspose2DParams, cols []float32, nc int, yg []float32, i0, i1, o0, o1 int) {
	mg := p.M / p.Group
	ohw := p.OH * p.OW
	sw := p.StrideW
	for m := 0; m < mg; m++ {
		for kh := 0; kh < p.KH; kh++ {
			for kw := 0; kw < p.KW; kw++ {
				r := (m*p.KH+kh)*p.KW + kw
				// Column j lands at j·sw + c0, inside [0, OW) for j in
				// [jlo, jhi).
				c0 := kw*p.DilW - p.PadL
				jlo := max(0, ceilDiv(-c0, sw))
				jhi := min(p.W, floorDiv(p.OW-1-c0, sw)+1)
				if jlo >= jhi {
					continue
				}
				for i := i0; i < i1; i++ {
					o := i*p.StrideH - p.PadT + kh*p.DilH
					if o < o0 || o >= o1 {
						continue
					}
					src := cols[r*nc+(i-i0)*p.W+jlo : r*nc+(i-i0)*p.W+jhi]
					dst := yg[m*ohw+o*p.OW+jlo*sw+c0:]
					if sw == 1 {
						dst = dst[:len(src)]
						for j, v := range src {
							dst[j] += v
						}
						continue
					}
					_ = dst[(len(src)-1)*sw]
					for j, v := range src {
						dst[j*sw] += v
					}
				}
			}
		}
	}
}

// ctScatterExact writes the product rows of input rows [i0, i1) into
// their outputs when each output receives exactly one (kernel = stride,
// no dilation or padding), adding the bias.
func ctScatterExact(p *ConvTranspose2DParams, cols []float32, nc int, bias, yg []float32, i0, i1 int) {
	mg := p.M / p.Group
	ohw := p.OH * p.OW
	sw, W := p.StrideW, p.W
	for m := 0; m < mg; m++ {
		var b float32
		if bias != nil {
			b = bias[m]
		}
		for kh := 0; kh < p.KH; kh++ {
			r := (m*p.KH + kh) * p.KW
			for i := i0; i < i1; i++ {
				o := i*p.StrideH + kh
				dst := yg[m*ohw+o*p.OW : m*ohw+(o+1)*p.OW]
				off := (i - i0) * W
				if sw == 2 {
					s0 := cols[r*nc+off : r*nc+off+W]
					s1 := cols[(r+1)*nc+off : (r+1)*nc+off+W]
					interleave2(dst, s0, s1, b)
					continue
				}
				for kw := 0; kw < sw; kw++ {
					src := cols[(r+kw)*nc+off : (r+kw)*nc+off+W]
					d := dst[kw:]
					_ = d[(W-1)*sw]
					for j, v := range src {
						d[j*sw] = v + b
					}
				}
			}
		}
	}
}

// interleave2Go sets dst[2j] = a[j] + b and dst[2j+1] = c[j] + b.
func interleave2Go(dst, a, c []float32, b float32) {
	n := len(a)
	dst, c = dst[:2*n], c[:n]
	for j := 0; j < n; j++ {
		dst[2*j] = a[j] + b
		dst[2*j+1] = c[j] + b
	}
}

// ceilDiv and floorDiv divide rounding up and down (b > 0).
func ceilDiv(a, b int) int { return -floorDiv(-a, b) }

func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
