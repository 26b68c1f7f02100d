package kernels

import (
	"fmt"
	"sync"
)

// MaxPool2DU8 is MaxPool2D for 8-bit tensors: x and y hold uint8 values,
// or the bytes of int8 values when signed. Max pooling commutes with the
// monotonic dequantisation, so a quantised tensor pools on its bytes
// with its parameters unchanged. Each output row takes the element-wise
// maximum of its window's input rows, then, for each kernel column, the
// maximum with the run of that row the column reads (split into even
// and odd columns for stride 2), all with vector byte maxima.
// p.CountIncludePad is ignored.
func MaxPool2DU8(p *Pool2DParams, x []byte, signed bool, y []byte) {
	if err := p.Check(); err != nil {
		panic("kernels: MaxPool2DU8: " + err.Error())
	}
	hw, ohw := p.H*p.W, p.OH*p.OW
	planes := p.N * p.C
	if len(x) < planes*hw || len(y) < planes*ohw {
		panic(fmt.Sprintf("kernels: MaxPool2DU8: len(x)=%d, len(y)=%d for %d planes of %d and %d", len(x), len(y), planes, hw, ohw))
	}
	low := byte(0) // the smallest value: the identity of max
	if signed {
		low = 0x80
	}
	threads := Threads()
	chunks := min(planes, 4*threads)
	forArgs(&maxPoolU8Loops, chunks, threads, maxPoolU8Args{p: p, x: x, y: y, signed: signed, low: low, planes: planes, chunks: chunks}, func(a *maxPoolU8Args, _, c int) {
		lo, hi := c*a.planes/a.chunks, (c+1)*a.planes/a.chunks
		maxPoolU8Planes(a.p, a.x, a.signed, a.y, lo, hi, a.low)
	})
}

// maxPoolU8Args are the arguments of MaxPool2DU8's loop over chunks of
// planes (see forArgs).
type maxPoolU8Args struct {
	p              *Pool2DParams
	x, y           []byte
	signed         bool
	low            byte
	planes, chunks int
}

var maxPoolU8Loops argsPool[maxPoolU8Args]

// rowBytes holds MaxPool2DU8's row buffers, so that steady-state calls
// do not allocate.
var rowBytes sync.Pool

// maxPoolU8Planes pools planes [lo, hi) of x into y (see MaxPool2DU8;
// low is the smallest value).
func maxPoolU8Planes(p *Pool2DParams, x []byte, signed bool, y []byte, lo, hi int, low byte) {
	hw, ohw := p.H*p.W, p.OH*p.OW
	if p.W < 16 { // rows shorter than a vector: window by window
		maxPoolSmall(p, x[lo*hw:hi*hw], signed, y[lo*ohw:hi*ohw], hi-lo)
		return
	}
	// The window rows' column maximum, and for stride 2 its even and
	// odd columns.
	sp := pooledBytes(&rowBytes, 2*p.W)
	defer rowBytes.Put(sp)
	buf := (*sp)[:2*p.W]
	row := buf[:p.W]
	var even, odd []byte
	if p.StrideW == 2 {
		even, odd = buf[p.W:p.W+(p.W+1)/2], buf[p.W+(p.W+1)/2:]
	}
	for pl := lo; pl < hi; pl++ {
		xp, yp := x[pl*hw:(pl+1)*hw], y[pl*ohw:(pl+1)*ohw]
		for oh := 0; oh < p.OH; oh++ {
			// Column maximum of the window's rows.
			first := true
			for kh := 0; kh < p.KH; kh++ {
				ih := oh*p.StrideH - p.PadT + kh*p.DilH
				if ih < 0 || ih >= p.H {
					continue
				}
				src := xp[ih*p.W : (ih+1)*p.W]
				if first {
					copy(row, src)
					first = false
					continue
				}
				maxBytes(row, src, signed)
			}
			out := yp[oh*p.OW : (oh+1)*p.OW]
			fill(out, low)
			if first { // no input row in the window
				continue
			}
			if p.StrideW == 2 {
				copy2Bytes(row, even)
				copy2Bytes(row[1:], odd)
			}
			// Then, tap by tap, the maximum over the window's columns:
			// the columns tap kw reads for outputs [a, b) are a run of
			// row (stride 1) or of one of its phases (stride 2).
			for kw := 0; kw < p.KW; kw++ {
				iw0 := kw*p.DilW - p.PadL
				a := 0
				if iw0 < 0 {
					a = (-iw0 + p.StrideW - 1) / p.StrideW
				}
				b := 0
				if iw0 < p.W {
					b = min(p.OW, (p.W-1-iw0)/p.StrideW+1)
				}
				if b <= a {
					continue
				}
				switch p.StrideW {
				case 1:
					maxBytes(out[a:b], row[a+iw0:b+iw0], signed)
				case 2:
					ph := even
					if iw0&1 == 1 {
						ph = odd
					}
					off := iw0 >> 1
					maxBytes(out[a:b], ph[a+off:b+off], signed)
				default:
					for ow := a; ow < b; ow++ {
						v := row[ow*p.StrideW+iw0]
						if signed && int8(v) > int8(out[ow]) || !signed && v > out[ow] {
							out[ow] = v
						}
					}
				}
			}
		}
	}
}

// maxBytes sets dst[i] = max(dst[i], src[i]) as uint8 or int8 values.
func maxBytes(dst, src []byte, signed bool) {
	i := maxBytesVec(dst, src, signed)
	src = src[:len(dst)]
	for ; i < len(dst); i++ {
		if signed {
			dst[i] = byte(max(int8(dst[i]), int8(src[i])))
		} else {
			dst[i] = max(dst[i], src[i])
		}
	}
}

// maxPoolSmall is MaxPool2DU8 on planes planes, output by output.
func maxPoolSmall(p *Pool2DParams, x []byte, signed bool, y []byte, planes int) {
	hw, ohw := p.H*p.W, p.OH*p.OW
	var flip byte // int8 order is uint8 order with the top bit flipped
	if signed {
		flip = 0x80
	}
	for pl := 0; pl < planes; pl++ {
		xp, yp := x[pl*hw:(pl+1)*hw], y[pl*ohw:(pl+1)*ohw]
		for oh := 0; oh < p.OH; oh++ {
			for ow := 0; ow < p.OW; ow++ {
				m := byte(0)
				for kh := 0; kh < p.KH; kh++ {
					ih := oh*p.StrideH - p.PadT + kh*p.DilH
					if ih < 0 || ih >= p.H {
						continue
					}
					row := xp[ih*p.W : (ih+1)*p.W]
					for kw := 0; kw < p.KW; kw++ {
						if iw := ow*p.StrideW - p.PadL + kw*p.DilW; iw >= 0 && iw < p.W {
							m = max(m, row[iw]^flip)
						}
					}
				}
				yp[oh*p.OW+ow] = m ^ flip
			}
		}
	}
}
