package kernels

// A gather program moves the inputs of a small plane under each tap of
// a convolution or pooling window into output order, 16 (or 8) outputs
// at a time: entry (tap, v) covers outputs 16v..16v+15 (in row-major
// order over OH×OW), whose inputs under that tap lie in a window of 32
// consecutive floats of the input plane, so one two-vector permute
// gathers them. Where 16 outputs span more than that (strides of 2 or
// more), entries cover 8 outputs. That makes im2col and pooling on planes of a few dozen
// values cost a few instructions per 16 outputs instead of a loop per
// row (see gatherRowsAvx512 and poolAvx512 in
// kernels/internal/asmgen/gather.go).

// gatherEntry is one entry of a gather program; the assembly reads it
// at fixed offsets (80 bytes).
type gatherEntry struct {
	off   int64     // byte offset of the input window in the plane
	masks uint64    // 16-bit opmasks: window loads 0..15, 16..31; outputs with an input; outputs in the plane
	idx   [16]int32 // window position of each output's input
}

// windowGeom is the geometry of a 2-D window (convolution or pooling)
// on one plane.
type windowGeom struct {
	H, W, OH, OW     int
	KH, KW           int
	StrideH, StrideW int
	DilH, DilW       int
	PadT, PadL       int
}

// gatherProg is a gather program: ent[tap·nv + v], or ent[v·taps + tap]
// when built vector-major, covers outputs lanes·v … lanes·v + lanes-1.
type gatherProg struct {
	ent   []gatherEntry
	nv    int // entries per tap: ⌈OH·OW/lanes⌉
	lanes int // outputs per entry, 16 or 8

	// tab, without the assembly kernels (nv = 0), is the plane's gather
	// table where there is one (see gatherTable).
	tab []int32
}

// build makes the program of g, reusing gp's entries, and reports false,
// leaving gp empty, when the assembly kernels are unavailable or some
// entry's inputs do not fit in 32 consecutive floats even with 8
// outputs per entry.
func (gp *gatherProg) build(g *windowGeom, vecMajor bool) bool {
	gp.nv = 0
	if !hasGatherKernels() {
		return false
	}
	for _, lanes := range []int{16, 8} {
		if gp.try(g, lanes, vecMajor) {
			return true
		}
	}
	gp.nv = 0
	return false
}

// try builds the program with lanes outputs per entry.
func (gp *gatherProg) try(g *windowGeom, lanes int, vecMajor bool) bool {
	ohw, hw := g.OH*g.OW, g.H*g.W
	nv, taps := (ohw+lanes-1)/lanes, g.KH*g.KW
	if cap(gp.ent) < nv*taps {
		gp.ent = make([]gatherEntry, nv*taps)
	}
	gp.ent, gp.nv, gp.lanes = gp.ent[:nv*taps], nv, lanes
	for tap := 0; tap < taps; tap++ {
		kh, kw := tap/g.KW, tap%g.KW
		for v := 0; v < nv; v++ {
			e := &gp.ent[tap*nv+v]
			if vecMajor {
				e = &gp.ent[v*taps+tap]
			}
			var src [16]int
			lo, hi := hw, -1
			var have, inPlane uint64
			for l := 0; l < lanes; l++ {
				q := lanes*v + l
				src[l] = -1
				if q >= ohw {
					continue
				}
				inPlane |= 1 << l
				ih := q/g.OW*g.StrideH - g.PadT + kh*g.DilH
				iw := q%g.OW*g.StrideW - g.PadL + kw*g.DilW
				if ih < 0 || ih >= g.H || iw < 0 || iw >= g.W {
					continue
				}
				src[l] = ih*g.W + iw
				lo, hi = min(lo, src[l]), max(hi, src[l])
				have |= 1 << l
			}
			*e = gatherEntry{}
			if hi < 0 {
				lo = 0 // no inputs: nothing is loaded
			} else if hi-lo >= 32 {
				return false
			}
			var load uint64
			for l := 0; l < 32; l++ {
				if have != 0 && lo+l < hw {
					load |= 1 << l
				}
			}
			for l, s := range src {
				if s >= 0 {
					e.idx[l] = int32(s - lo)
				}
			}
			e.off = 4 * int64(lo)
			e.masks = load | have<<32 | inPlane<<48
		}
	}
	return true
}
