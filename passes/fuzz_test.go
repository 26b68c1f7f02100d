package passes_test

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/passes"
	"github.com/nncc/nncc/testmodels"
)

// randomModel builds a valid model from fuzz bytes: a chain over a
// [1, C, H, W] float tensor of the operators the default pipeline
// rewrites (Conv, BatchNormalization, Dropout, Identity, MatMul + Add,
// decomposed GELU, Relu, Add of an earlier value), so that every pass has
// something to chew on. The same bytes give the same model.
func randomModel(data []byte) *ir.Model {
	next := func() byte {
		if len(data) == 0 {
			return 0
		}
		b := data[0]
		data = data[1:]
		return b
	}
	// The bytes choose the structure; weights come from a generator
	// seeded by the first byte, so structure mutations stay cheap.
	rng := rand.New(rand.NewPCG(uint64(next()), 1))
	val := func() float32 { return float32(rng.Float64()*4 - 2) }
	consts := func(n int) []float32 {
		out := make([]float32, n)
		for i := range out {
			out[i] = val()
		}
		return out
	}
	positive := func(n int) []float32 {
		out := make([]float32, n)
		for i := range out {
			out[i] = 0.25 + float32(rng.Float64()*4)
		}
		return out
	}
	const c, hw = 3, 4
	b := testmodels.NewBuilder("fuzz", 13)
	x := b.Input("x", ir.Float32, 1, c, hw, hw)
	cur := x
	values := []*ir.Value{x}
	steps := 1 + int(next()%12)
	for i := 0; i < steps; i++ {
		switch next() % 9 {
		case 0: // Conv 1x1 or 3x3 (padded), maybe grouped
			k := int64(1 + 2*(next()%2))
			group := int64(1)
			if next()%2 == 0 {
				group = c
			}
			w := b.F32("w", []int64{c, c / group, k, k}, consts(int(c*(c/group)*k*k)))
			in := []*ir.Value{cur, w}
			if next()%2 == 0 {
				in = append(in, b.F32("bias", []int64{c}, consts(c)))
			}
			cur = b.Node("Conv", in, ir.IntsAttr("pads", (k-1)/2, (k-1)/2, (k-1)/2, (k-1)/2), ir.IntAttr("group", group))
		case 1: // BatchNormalization
			cur = b.Node("BatchNormalization", []*ir.Value{cur,
				b.F32("scale", []int64{c}, consts(c)), b.F32("b", []int64{c}, consts(c)),
				b.F32("mean", []int64{c}, consts(c)), b.F32("var", []int64{c}, positive(c))},
				ir.FloatAttr("epsilon", 1e-5))
		case 2:
			cur = b.Node("Dropout", []*ir.Value{cur})
		case 3:
			cur = b.Node("Identity", []*ir.Value{cur})
		case 4:
			cur = b.Node("Relu", []*ir.Value{cur})
		case 5: // MatMul over the last axis + Add
			cur = b.Node("MatMul", []*ir.Value{cur, b.F32("m", []int64{hw, hw}, consts(hw*hw))})
			cur = b.Node("Add", []*ir.Value{cur, b.F32("a", []int64{hw}, consts(hw))})
		case 6: // decomposed GELU
			d := b.Node("Div", []*ir.Value{cur, b.F32("sqrt2", nil, []float32{1.4142135})})
			e := b.Node("Erf", []*ir.Value{d})
			a := b.Node("Add", []*ir.Value{e, b.F32("one", nil, []float32{1})})
			m := b.Node("Mul", []*ir.Value{cur, a})
			cur = b.Node("Mul", []*ir.Value{m, b.F32("half", nil, []float32{0.5})})
		case 7: // residual Add with an earlier value
			cur = b.Node("Add", []*ir.Value{cur, values[int(next())%len(values)]})
		case 8: // a constant subgraph feeding a Mul
			k := b.Node("Mul", []*ir.Value{b.F32("k1", []int64{c, 1, 1}, consts(c)), b.F32("k2", nil, []float32{val()})})
			cur = b.Node("Mul", []*ir.Value{cur, k})
		}
		values = append(values, cur)
	}
	b.Output(cur)
	if next()%3 == 0 && len(values) > 2 {
		b.Output(values[1+int(next())%(len(values)-2)]) // an inner value is an output too
	}
	return b.Model()
}

// FuzzPipeline runs the default pipeline with verification after every
// pass on random valid graphs: no pass may panic, break an invariant or
// change the outputs.
func FuzzPipeline(f *testing.F) {
	// seed byte, step count, then per step an op and its choices
	f.Add([]byte{1, 5, 0, 1, 1, 0, 1, 2, 3, 4})                    // Conv 3x3 + BN, Dropout, Identity, Relu
	f.Add([]byte{2, 6, 0, 0, 0, 1, 1, 5, 8, 7, 3, 2, 0})           // depthwise Conv + BN, MatMul+Add, constant Mul, residual
	f.Add([]byte{3, 11, 6, 1, 2, 7, 0, 0, 2, 1, 1, 3, 4, 5, 8, 1}) // GELU, BN without Conv, ...
	f.Fuzz(func(t *testing.T, data []byte) {
		m := randomModel(data)
		if err := ir.Verify(m); err != nil {
			t.Fatalf("generator made an invalid model: %v", err)
		}
		_, err := passes.Default(m).Run(m, passes.RunOptions{VerifyEach: true, Samples: 1, Seed: 1, Atol: 1e-3, Rtol: 1e-3})
		if err != nil {
			if strings.Contains(err.Error(), "panic") {
				t.Fatalf("a pass panicked: %v", err)
			}
			t.Fatalf("pipeline failed on a valid model: %v", err)
		}
		if err := ir.Verify(m); err != nil {
			t.Fatalf("pipeline left an invalid model: %v", err)
		}
	})
}
