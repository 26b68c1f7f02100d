package kernels

// Gather tables: the portable counterpart of gather programs for
// convolutions with small output planes, on CPUs without the assembly
// gather kernels. Building an im2col row of a tiny plane tap by tap
// costs a call per row per image; through the table it is one indexed
// load per output.

// gatherTabMax bounds the output planes that get a table.
const gatherTabMax = 256

// gatherTable returns, for an output plane of at most gatherTabMax
// positions, the input offset within a channel plane that each kernel
// tap reads for each output position (KH·KW × OH·OW; pad in the
// padding), or nil for larger planes.
func gatherTable(g *windowGeom, pad int32) []int32 {
	ohw := g.OH * g.OW
	if ohw > gatherTabMax {
		return nil
	}
	tab := make([]int32, g.KH*g.KW*ohw)
	for kh := 0; kh < g.KH; kh++ {
		for kw := 0; kw < g.KW; kw++ {
			t := tab[(kh*g.KW+kw)*ohw:]
			for oh := 0; oh < g.OH; oh++ {
				for ow := 0; ow < g.OW; ow++ {
					ih := oh*g.StrideH - g.PadT + kh*g.DilH
					iw := ow*g.StrideW - g.PadL + kw*g.DilW
					o := pad
					if ih >= 0 && ih < g.H && iw >= 0 && iw < g.W {
						o = int32(ih*g.W + iw)
					}
					t[oh*g.OW+ow] = o
				}
			}
		}
	}
	return tab
}

// gatherPadded sets dst[j] = xp[tab[j]] for a table whose padding
// entries point at a zero past the plane (see gatherTable's pad): no
// branch per element.
func gatherPadded(dst, xp []float32, tab []int32) {
	tab = tab[:len(dst)]
	for j, o := range tab {
		dst[j] = xp[o]
	}
}
