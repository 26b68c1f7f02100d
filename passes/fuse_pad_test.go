package passes_test

import (
	"fmt"
	"testing"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/testmodels"
)

// padModel: x[1,2,5,5] → Pad(pads, mode) → reader.
func padModel(pads []int64, mode string, reader string, attrs ...*ir.Attribute) *ir.Model {
	b := testmodels.NewBuilder("pad", 13)
	x := b.Input("x", ir.Float32, 1, 2, 5, 5)
	p := b.Node("Pad", []*ir.Value{x, b.I64("pads", []int64{int64(len(pads))}, pads)}, ir.StringAttr("mode", mode))
	var y *ir.Value
	switch reader {
	case "Conv":
		w := make([]float32, 2*2*3*3)
		for i := range w {
			w[i] = float32(i%7) - 3
		}
		y = b.Node("Conv", []*ir.Value{p, b.F32("w", []int64{2, 2, 3, 3}, w)}, attrs...)
	case "AveragePool":
		y = b.Node("AveragePool", []*ir.Value{p}, append([]*ir.Attribute{ir.IntsAttr("kernel_shape", 3, 3)}, attrs...)...)
	default:
		y = b.Node("Relu", []*ir.Value{p})
	}
	b.Output(y)
	return b.Model()
}

func TestFusePad(t *testing.T) {
	for _, tc := range []struct {
		name      string
		pads      []int64
		mode      string
		reader    string
		attrs     []*ir.Attribute
		wantOps   string
		wantPads  string
		countPads int64 // want count_include_pad on the pool (-1: not checked)
	}{
		{"zero pad before pool", []int64{0, 0, 0, 0, 0, 0, 0, 0}, "constant", "AveragePool", nil, "AveragePool", "[]", -1},
		{"zero reflect pad", []int64{0, 0, 0, 0, 0, 0, 0, 0}, "reflect", "Relu", nil, "Relu", "", -1},
		{"into conv", []int64{0, 0, 1, 2, 0, 0, 1, 0}, "constant", "Conv", []*ir.Attribute{ir.IntsAttr("pads", 1, 0, 0, 1)}, "Conv", "[2 2 1 1]", -1},
		{"into pool", []int64{0, 0, 1, 1, 0, 0, 1, 1}, "constant", "AveragePool", nil, "AveragePool", "[1 1 1 1]", 1},
		{"pool with own excluded pads", []int64{0, 0, 1, 1, 0, 0, 1, 1}, "constant", "AveragePool", []*ir.Attribute{ir.IntsAttr("pads", 1, 1, 1, 1)}, "Pad AveragePool", "[1 1 1 1]", 0},
		{"reflect into conv", []int64{0, 0, 1, 1, 0, 0, 1, 1}, "reflect", "Conv", nil, "Pad Conv", "", -1},
		{"channel pad", []int64{0, 1, 0, 0, 0, 0, 0, 0}, "constant", "Relu", nil, "Pad Relu", "", -1},
		{"auto_pad conv", []int64{0, 0, 1, 1, 0, 0, 1, 1}, "constant", "Conv", []*ir.Attribute{ir.StringAttr("auto_pad", "VALID")}, "Pad Conv", "", -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := padModel(tc.pads, tc.mode, tc.reader, tc.attrs...)
			run(t, m, "fuse-pad")
			if got := ops(m.Graph); got != tc.wantOps {
				t.Fatalf("ops %q, want %q", got, tc.wantOps)
			}
			last := m.Graph.Nodes[len(m.Graph.Nodes)-1]
			if tc.wantPads != "" {
				if got := fmt.Sprint(last.AttrInts("pads")); got != tc.wantPads {
					t.Errorf("pads %s, want %s", got, tc.wantPads)
				}
			}
			if tc.countPads >= 0 {
				if got := last.AttrInt("count_include_pad", 0); got != tc.countPads {
					t.Errorf("count_include_pad %d, want %d", got, tc.countPads)
				}
			}
		})
	}
}
