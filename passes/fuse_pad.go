package passes

import (
	"github.com/nncc/nncc/ir"
)

// FusePad removes padding that does nothing and moves zero padding into
// the Conv or AveragePool that reads it.
var FusePad = &Pass{
	Name: "fuse-pad",
	Doc: `Remove Pad nodes that pad nothing and merge zero padding into the next Conv or AveragePool.

A Pad whose pads are all zero passes its input through and is removed
(PyTorch writes one before every AveragePool it exports). A constant-mode
Pad with value 0 that pads only spatial axes and whose only reader is a
Conv, or an AveragePool that counts padding (count_include_pad=1, or no
padding of its own), adds its pads to that reader's pads attribute; the
AveragePool then counts the padded zeros, as the separate Pad made it do.
Pads given with an axes input (opset 18), non-constant pads, other modes
and readers with auto_pad are left alone.`,
	Run: runFusePad,
}

func runFusePad(c *Context) error {
	g := c.Model.Graph
	ix := g.BuildIndex()
	dead := map[*ir.Node]bool{}
	for _, n := range g.Nodes {
		if !is(n, "Pad") || len(n.Outputs) != 1 || n.Outputs[0] == nil || n.Input(0) == nil {
			continue
		}
		pads, value, ok := c.padSpec(n)
		if !ok {
			continue // padSpec declined with the reason
		}
		out := n.Outputs[0]
		if allZero(pads) {
			if !bypass(g, ix, out, n.Inputs[0]) {
				c.Declinef(n, "pads nothing, but its output %q is a graph output its input cannot be renamed to", out.Name)
				continue
			}
			dead[n] = true
			c.Changed()
			ix = g.BuildIndex()
			continue
		}
		reader := onlyUse(ix, out)
		if reader == nil || reader.Input(0) != out || (!is(reader, "Conv") && !is(reader, "AveragePool")) {
			continue
		}
		if mode := n.AttrString("mode", "constant"); mode != "constant" || value != 0 {
			c.Declinef(n, "pads with mode %q and value %g; only zero constant padding merges into %s", mode, value, reader.OpType)
			continue
		}
		rank := len(pads) / 2
		if rank < 3 || pads[0] != 0 || pads[1] != 0 || pads[rank] != 0 || pads[rank+1] != 0 {
			c.Declinef(n, "pads the batch or channel axis; %s pads only spatial axes", reader.OpType)
			continue
		}
		if ap := reader.AttrString("auto_pad", "NOTSET"); ap != "NOTSET" {
			c.Declinef(reader, "has auto_pad %s; the Pad before it is kept", ap)
			continue
		}
		spatial := rank - 2
		old := reader.AttrInts("pads")
		if old == nil {
			old = make([]int64, 2*spatial)
		}
		if len(old) != 2*spatial {
			c.Declinef(reader, "has %d pads for %d spatial axes", len(old), spatial)
			continue
		}
		if is(reader, "AveragePool") && reader.AttrInt("count_include_pad", 0) == 0 && !allZero(old) {
			c.Declinef(reader, "excludes its own padding from the average but would have to count the Pad's")
			continue
		}
		merged := make([]int64, 2*spatial)
		for i := 0; i < spatial; i++ {
			merged[i] = old[i] + pads[2+i]
			merged[spatial+i] = old[spatial+i] + pads[rank+2+i]
		}
		reader.SetAttr(ir.IntsAttr("pads", merged...))
		if is(reader, "AveragePool") {
			reader.SetAttr(ir.IntAttr("count_include_pad", 1))
		}
		reader.Inputs[0] = n.Inputs[0]
		dead[n] = true
		c.Changed()
		ix = g.BuildIndex()
	}
	g.RemoveNodes(dead)
	return nil
}

// padSpec returns the pads and constant value of a Pad node in any opset
// form, declining (and returning false) when they are not constants.
func (c *Context) padSpec(n *ir.Node) (pads []int64, value float64, ok bool) {
	if c.Opset() < 11 {
		return n.AttrInts("pads"), float64(n.AttrFloat("value", 0)), n.Attr("pads") != nil
	}
	if n.Input(3) != nil {
		c.Declinef(n, "pads only some axes (axes input)")
		return nil, 0, false
	}
	pt := c.ConstOf(n.Input(1))
	if pt == nil || (pt.DType != ir.Int64 && pt.DType != ir.Int32) {
		c.Declinef(n, "pads are not a constant")
		return nil, 0, false
	}
	if n.Input(2) != nil {
		vt := c.ConstOf(n.Input(2))
		if vt == nil || vt.NumElements() != 1 || vt.DType == ir.String {
			c.Declinef(n, "pad value is not a constant scalar")
			return nil, 0, false
		}
		value = vt.Float64s()[0]
	}
	pads = pt.Int64s()
	for _, p := range pads {
		if p < 0 {
			c.Declinef(n, "crops (negative pads)")
			return nil, 0, false
		}
	}
	return pads, value, len(pads)%2 == 0
}

func allZero(xs []int64) bool {
	for _, x := range xs {
		if x != 0 {
			return false
		}
	}
	return true
}
