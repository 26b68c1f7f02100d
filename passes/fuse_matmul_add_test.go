package passes_test

import (
	"strings"
	"testing"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/testmodels"
)

func TestFuseMatMulAdd(t *testing.T) {
	for _, tc := range []struct {
		name      string
		bias      []int64
		biasFirst bool
	}{
		{"bias-N", []int64{5}, false},
		{"bias-first", []int64{5}, true},
		{"bias-1xN", []int64{1, 5}, false},
		{"bias-MxN", []int64{3, 5}, false},
		{"bias-Mx1", []int64{3, 1}, false},
		{"bias-scalar", []int64{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := testmodels.NewBuilder("m", 13)
			x := b.Input("x", ir.Float32, 3, 4)
			y := b.Node("MatMul", []*ir.Value{x, constOf(b, "w", ir.Float32, []int64{4, 5}, 1, -1, 1)})
			c := constOf(b, "c", ir.Float32, tc.bias, 2, -1, 1)
			ins := []*ir.Value{y, c}
			if tc.biasFirst {
				ins = []*ir.Value{c, y}
			}
			z := b.Node("Add", ins)
			b.Output(b.Node("Relu", []*ir.Value{z}))
			m := b.Model()
			run(t, m, "fuse-matmul-add")
			if got := ops(m.Graph); got != "Gemm Relu" {
				t.Fatalf("nodes after: %s", got)
			}
			g := m.Graph.Nodes[0]
			if g.Inputs[0] != x || g.Inputs[2] != c || g.Outputs[0] != z {
				t.Errorf("Gemm wiring: %s", dump(m))
			}
		})
	}
}

func TestFuseMatMulAddDeclines(t *testing.T) {
	for _, tc := range []struct {
		name, why string
		build     func(b *testmodels.Builder) *ir.Value
	}{
		{"rank-3-input", "rank-2 operands", func(b *testmodels.Builder) *ir.Value {
			x := b.Input("x", ir.Float32, 2, 3, 4)
			y := b.Node("MatMul", []*ir.Value{x, constOf(b, "w", ir.Float32, []int64{4, 5}, 1, -1, 1)})
			return b.Node("Add", []*ir.Value{y, constOf(b, "c", ir.Float32, []int64{5}, 2, -1, 1)})
		}},
		{"bias-widens", "rank 3, more than", func(b *testmodels.Builder) *ir.Value {
			x := b.Input("x", ir.Float32, 3, 4)
			y := b.Node("MatMul", []*ir.Value{x, constOf(b, "w", ir.Float32, []int64{4, 5}, 1, -1, 1)})
			return b.Node("Add", []*ir.Value{y, constOf(b, "c", ir.Float32, []int64{2, 3, 5}, 2, -1, 1)})
		}},
		{"bias-wrong-N", "does not broadcast", func(b *testmodels.Builder) *ir.Value {
			x := b.Input("x", ir.Float32, 1, 4)
			y := b.Node("MatMul", []*ir.Value{x, constOf(b, "w", ir.Float32, []int64{4, 1}, 1, -1, 1)})
			// (1,1) + (3,) broadcasts to (1,3) in Add but not in Gemm.
			return b.Node("Add", []*ir.Value{y, constOf(b, "c", ir.Float32, []int64{3}, 2, -1, 1)})
		}},
		{"int32", "element type int32", func(b *testmodels.Builder) *ir.Value {
			x := b.Input("x", ir.Int32, 3, 4)
			w := b.Const("w", &ir.Tensor{DType: ir.Int32, Dims: []int64{4, 1}, Data: make([]byte, 16)})
			y := b.Node("MatMul", []*ir.Value{x, w})
			return b.Node("Add", []*ir.Value{y, b.Const("c", &ir.Tensor{DType: ir.Int32, Dims: []int64{1}, Data: make([]byte, 4)})})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := testmodels.NewBuilder("m", 13)
			b.Output(tc.build(b))
			m := b.Model()
			before := dump(m)
			rep := run(t, m, "fuse-matmul-add")
			if dump(m) != before {
				t.Errorf("graph changed:\n%s", dump(m))
			}
			if d := rep.Passes[0].Declined; len(d) != 1 || !strings.Contains(d[0].Reason, tc.why) {
				t.Errorf("declines %v, want %q", d, tc.why)
			}
		})
	}
}

// A MatMul whose product is also read elsewhere is not fused.
func TestFuseMatMulAddSharedProduct(t *testing.T) {
	b := testmodels.NewBuilder("m", 13)
	x := b.Input("x", ir.Float32, 3, 4)
	y := b.Node("MatMul", []*ir.Value{x, constOf(b, "w", ir.Float32, []int64{4, 5}, 1, -1, 1)})
	b.Output(b.Node("Add", []*ir.Value{y, constOf(b, "c", ir.Float32, []int64{5}, 2, -1, 1)}), y)
	m := b.Model()
	run(t, m, "fuse-matmul-add")
	if got := ops(m.Graph); got != "MatMul Add" {
		t.Fatalf("nodes after: %s", got)
	}
}
