package runtime

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/onnx"
)

// Whole models with stored reference outputs: the trained digits models
// of testmodels/ (always present) and the torchvision models bench/ builds
// (git-ignored; skipped when missing).

var modelCases = []struct {
	model string // relative to the repository root
	data  string // directory of test_data_set_* directories
	tol   float64
}{
	{"testmodels/digits_cnn.onnx", "testmodels/data/digits_cnn", 1e-4},
	{"testmodels/digits_cnn_constnodes.onnx", "testmodels/data/digits_cnn_constnodes", 1e-4},
	{"testmodels/digits_mlp.onnx", "testmodels/data/digits_mlp", 1e-4},
	{"bench/models/mobilenet_v2.onnx", "bench/models/mobilenet_v2", 1e-3},
	{"bench/models/resnet18.onnx", "bench/models/resnet18", 1e-3},
}

func TestModels(t *testing.T) {
	for _, c := range modelCases {
		t.Run(filepath.Base(c.model), func(t *testing.T) {
			path := filepath.Join("..", c.model)
			if _, err := os.Stat(path); err != nil {
				t.Skipf("%s not present", c.model)
			}
			m, err := onnx.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			sess, err := NewSession(m, Options{})
			if err != nil {
				t.Fatal(err)
			}
			sets, _ := filepath.Glob(filepath.Join("..", c.data, "test_data_set_*"))
			if len(sets) == 0 {
				t.Fatalf("no data sets under %s", c.data)
			}
			for _, set := range sets {
				in, _, err := onnx.ReadTensorFile(filepath.Join(set, "input_0.pb"))
				if err != nil {
					t.Fatal(err)
				}
				want, _, err := onnx.ReadTensorFile(filepath.Join(set, "output_0.pb"))
				if err != nil {
					t.Fatal(err)
				}
				out, err := sess.Run(map[string]*ir.Tensor{sess.InputNames()[0]: in})
				if err != nil {
					t.Fatal(err)
				}
				if msg := compareTensors(out[sess.OutputNames()[0]], want, c.tol, c.tol); msg != "" {
					t.Errorf("%s: %s", filepath.Base(set), msg)
				}
			}
		})
	}
}

func BenchmarkModels(b *testing.B) {
	defer func(p bool) { poisonFreed = p }(poisonFreed)
	poisonFreed = false // tests poison recycled buffers; benchmarks must not pay for it
	for _, c := range modelCases {
		b.Run(filepath.Base(c.model), func(b *testing.B) {
			path := filepath.Join("..", c.model)
			m, err := onnx.Load(path)
			if err != nil {
				b.Skipf("%s: %v", c.model, err)
			}
			in, _, err := onnx.ReadTensorFile(filepath.Join("..", c.data, "test_data_set_0", "input_0.pb"))
			if err != nil {
				b.Skip(err)
			}
			sess, err := NewSession(m, Options{Threads: 1})
			if err != nil {
				b.Fatal(err)
			}
			feeds := map[string]*ir.Tensor{sess.InputNames()[0]: in}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := sess.Run(feeds); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestModelsInFloat16 converts the digits models to float16 throughout
// (weights, inputs, outputs) and checks their outputs against the float32
// reference within half-precision tolerance: every operator they use must
// run on float16.
func TestModelsInFloat16(t *testing.T) {
	for _, c := range modelCases {
		t.Run(filepath.Base(c.model), func(t *testing.T) {
			m, err := onnx.Load(filepath.Join("..", c.model))
			if err != nil {
				t.Skip(err)
			}
			toHalf(m.Graph)
			sess, err := NewSession(m, Options{})
			if err != nil {
				t.Fatal(err)
			}
			set := filepath.Join("..", c.data, "test_data_set_0")
			in, _, err := onnx.ReadTensorFile(filepath.Join(set, "input_0.pb"))
			if err != nil {
				t.Fatal(err)
			}
			want, _, err := onnx.ReadTensorFile(filepath.Join(set, "output_0.pb"))
			if err != nil {
				t.Fatal(err)
			}
			out, err := sess.Run(map[string]*ir.Tensor{sess.InputNames()[0]: half(in)})
			if err != nil {
				t.Fatal(err)
			}
			got := out[sess.OutputNames()[0]]
			if got.DType != ir.Float16 {
				t.Fatalf("output is %s", got.DType)
			}
			if msg := compareTensors(widen([]*ir.Tensor{got})[0], want, 2e-2, 2e-2); msg != "" {
				t.Errorf("%s", msg)
			}
		})
	}
}

func half(t *ir.Tensor) *ir.Tensor {
	if t == nil || t.DType != ir.Float32 {
		return t
	}
	return ir.FromFloat64(ir.Float16, t.Dims, t.Float64s())
}

// toHalf rewrites every float32 of g (constants, declared types, Cast
// targets, tensor attributes) to float16.
func toHalf(g *ir.Graph) {
	fix := func(v *ir.Value) {
		if v == nil {
			return
		}
		v.Const = half(v.Const)
		if v.Type != nil && v.Type.DType == ir.Float32 {
			v.Type.DType = ir.Float16
		}
	}
	g.Walk(func(sg *ir.Graph) {
		for _, v := range sg.Inputs {
			fix(v)
		}
		for _, v := range sg.Outputs {
			fix(v)
		}
		for _, v := range sg.Consts {
			fix(v)
		}
		for _, n := range sg.Nodes {
			for _, a := range n.Attrs {
				a.T = half(a.T)
				if n.OpType == "Cast" && a.Name == "to" && a.I == int64(ir.Float32) {
					a.I = int64(ir.Float16)
				}
			}
			for _, o := range n.Outputs {
				fix(o)
			}
		}
	})
}
