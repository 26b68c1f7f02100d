package passes_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/testmodels"
)

// lnVariant spells out one way exporters write layer normalization.
type lnVariant struct {
	square string // "pow", "mul"
	sqrt   string // "sqrt", "pow"
	divide string // "div", "recip", "one-div", "rsqrt-pow" (Pow(·, −0.5), no sqrt)
	swap   bool   // constants first in Add and Mul
	gamma  []int64
	beta   []int64
	axes   []int64
}

// decomposedLN appends the decomposed layer normalization of x.
func decomposedLN(b *testmodels.Builder, x *ir.Value, v lnVariant, opset int64) *ir.Value {
	reduce := func(in *ir.Value) *ir.Value {
		if opset >= 18 {
			return b.Node("ReduceMean", []*ir.Value{in, b.I64("axes", []int64{int64(len(v.axes))}, v.axes)})
		}
		return b.Node("ReduceMean", []*ir.Value{in}, ir.IntsAttr("axes", v.axes...))
	}
	bin := func(op string, a, c *ir.Value) *ir.Value {
		if v.swap && c.Const != nil {
			return b.Node(op, []*ir.Value{c, a})
		}
		return b.Node(op, []*ir.Value{a, c})
	}
	mean := reduce(x)
	d := b.Node("Sub", []*ir.Value{x, mean})
	var sq *ir.Value
	if v.square == "mul" {
		sq = b.Node("Mul", []*ir.Value{d, d})
	} else {
		sq = b.Node("Pow", []*ir.Value{d, b.F32("two", nil, []float32{2})})
	}
	ve := bin("Add", reduce(sq), b.F32("eps", nil, []float32{1e-5}))
	var nrm *ir.Value
	if v.divide == "rsqrt-pow" {
		nrm = bin("Mul", d, b.Node("Pow", []*ir.Value{ve, b.F32("mhalf", nil, []float32{-0.5})}))
	} else {
		var sd *ir.Value
		if v.sqrt == "pow" {
			sd = b.Node("Pow", []*ir.Value{ve, b.F32("half", nil, []float32{0.5})})
		} else {
			sd = b.Node("Sqrt", []*ir.Value{ve})
		}
		switch v.divide {
		case "div":
			nrm = b.Node("Div", []*ir.Value{d, sd})
		case "recip":
			nrm = b.Node("Mul", []*ir.Value{d, b.Node("Reciprocal", []*ir.Value{sd})})
		case "one-div":
			nrm = b.Node("Mul", []*ir.Value{b.Node("Div", []*ir.Value{b.F32("one", nil, []float32{1}), sd}), d})
		}
	}
	y := nrm
	if v.gamma != nil {
		y = bin("Mul", y, constOf(b, "gamma", ir.Float32, v.gamma, 5, 0.5, 1.5))
	}
	if v.beta != nil {
		y = bin("Add", y, constOf(b, "beta", ir.Float32, v.beta, 6, -1, 1))
	}
	return y
}

func TestFuseLayerNorm(t *testing.T) {
	base := lnVariant{square: "pow", sqrt: "sqrt", divide: "div", gamma: []int64{8}, beta: []int64{8}, axes: []int64{-1}}
	variants := map[string]func(v *lnVariant){
		"pytorch":         func(v *lnVariant) {},
		"mul-square":      func(v *lnVariant) { v.square = "mul" },
		"reciprocal":      func(v *lnVariant) { v.divide = "recip" },
		"one-div":         func(v *lnVariant) { v.divide = "one-div"; v.sqrt = "pow" },
		"rsqrt-pow":       func(v *lnVariant) { v.divide = "rsqrt-pow" },
		"swapped":         func(v *lnVariant) { v.swap = true },
		"no-affine":       func(v *lnVariant) { v.gamma, v.beta = nil, nil },
		"gamma-only":      func(v *lnVariant) { v.beta = nil },
		"positive-axis":   func(v *lnVariant) { v.axes = []int64{2} },
		"two-axes":        func(v *lnVariant) { v.axes = []int64{-2, -1}; v.gamma = []int64{3, 8}; v.beta = []int64{8} },
		"broadcast-gamma": func(v *lnVariant) { v.gamma = []int64{1, 1, 8} },
	}
	for name, mod := range variants {
		for _, opset := range []int64{17, 18} {
			t.Run(fmt.Sprintf("%s/opset%d", name, opset), func(t *testing.T) {
				v := base
				mod(&v)
				b := testmodels.NewBuilder("m", opset)
				x := b.Input("x", ir.Float32, 2, 3, 8)
				y := decomposedLN(b, b.Node("Relu", []*ir.Value{x}), v, opset)
				b.Output(b.Node("Neg", []*ir.Value{y}))
				m := b.Model()
				rep := run(t, m, "fuse-layernorm,eliminate-dead")
				if got := ops(m.Graph); got != "Relu LayerNormalization Neg" {
					t.Fatalf("nodes after: %s (declined %v)", got, rep.Passes[0].Declined)
				}
				ln := m.Graph.Nodes[1]
				if ln.AttrInt("axis", 0) != -int64(len(v.axes)) || ln.AttrFloat("epsilon", 0) != 1e-5 {
					t.Errorf("attributes %s", attrString(ln))
				}
				if (v.beta != nil) != (len(ln.Inputs) == 3) {
					t.Errorf("inputs %d", len(ln.Inputs))
				}
			})
		}
	}
}

// The Keras/tf2onnx form: y = x·g + (β − mean·g), g = γ/√(var+ε).
func TestFuseLayerNormKeras(t *testing.T) {
	b := testmodels.NewBuilder("m", 17)
	x := b.Input("x", ir.Float32, 4, 8)
	mean := b.Node("ReduceMean", []*ir.Value{x}, ir.IntsAttr("axes", -1))
	d := b.Node("Sub", []*ir.Value{x, mean})
	v := b.Node("ReduceMean", []*ir.Value{b.Node("Mul", []*ir.Value{d, d})}, ir.IntsAttr("axes", -1))
	inv := b.Node("Reciprocal", []*ir.Value{b.Node("Sqrt", []*ir.Value{b.Node("Add", []*ir.Value{v, b.F32("eps", nil, []float32{1e-3})})})})
	g := b.Node("Mul", []*ir.Value{inv, constOf(b, "gamma", ir.Float32, []int64{8}, 1, 0.5, 1.5)})
	xg := b.Node("Mul", []*ir.Value{x, g})
	mg := b.Node("Mul", []*ir.Value{mean, g})
	shift := b.Node("Sub", []*ir.Value{constOf(b, "beta", ir.Float32, []int64{8}, 2, -1, 1), mg})
	b.Output(b.Node("Add", []*ir.Value{xg, shift}))
	m := b.Model()
	run(t, m, "fuse-layernorm,eliminate-dead")
	golden(t, "fuse_layernorm_keras", dump(m))
	if got := ops(m.Graph); got != "LayerNormalization" {
		t.Fatalf("nodes after: %s", got)
	}
}

func TestFuseLayerNormDeclines(t *testing.T) {
	base := lnVariant{square: "pow", sqrt: "sqrt", divide: "div", gamma: []int64{8}, beta: []int64{8}, axes: []int64{-1}}
	// Not the last axis: a different function, left alone with the reason.
	b := testmodels.NewBuilder("m", 17)
	x := b.Input("x", ir.Float32, 2, 8, 8)
	v := base
	v.axes = []int64{1}
	b.Output(decomposedLN(b, x, v, 17))
	m := b.Model()
	before := dump(m)
	rep := run(t, m, "fuse-layernorm")
	if dump(m) != before {
		t.Fatal("graph changed")
	}
	if d := rep.Passes[0].Declined; len(d) != 1 || !strings.Contains(d[0].Reason, "trailing axes") {
		t.Errorf("declines %v", d)
	}

	// The centred value read outside the pattern.
	b = testmodels.NewBuilder("m", 17)
	x = b.Input("x", ir.Float32, 2, 8)
	y := decomposedLN(b, x, base, 17)
	sub := b.Graph().Nodes[1].Outputs[0]
	b.Output(y, b.Node("Relu", []*ir.Value{sub}))
	m = b.Model()
	rep = run(t, m, "fuse-layernorm")
	if countOps(m, "LayerNormalization") != 0 || len(rep.Passes[0].Declined) != 1 {
		t.Errorf("fused although x−mean is read elsewhere: %v", rep.Passes[0].Declined)
	}

	// ε after the square root is another function: not a match at all.
	b = testmodels.NewBuilder("m", 17)
	x = b.Input("x", ir.Float32, 2, 8)
	mean := b.Node("ReduceMean", []*ir.Value{x}, ir.IntsAttr("axes", -1))
	d := b.Node("Sub", []*ir.Value{x, mean})
	vr := b.Node("ReduceMean", []*ir.Value{b.Node("Mul", []*ir.Value{d, d})}, ir.IntsAttr("axes", -1))
	sd := b.Node("Add", []*ir.Value{b.Node("Sqrt", []*ir.Value{vr}), b.F32("eps", nil, []float32{1e-5})})
	b.Output(b.Node("Div", []*ir.Value{d, sd}))
	m = b.Model()
	run(t, m, "fuse-layernorm")
	if countOps(m, "LayerNormalization") != 0 {
		t.Error("fused ε added after the square root")
	}

	// Below opset 17 the pass says why it does nothing.
	b = testmodels.NewBuilder("m", 13)
	x = b.Input("x", ir.Float32, 2, 8)
	b.Output(decomposedLN(b, x, base, 13))
	m = b.Model()
	rep = run(t, m, "fuse-layernorm")
	if d := rep.Passes[0].Declined; rep.Passes[0].Changed || len(d) != 1 || !strings.Contains(d[0].Reason, "upgrade-opset") {
		t.Errorf("declines %v", d)
	}
}
