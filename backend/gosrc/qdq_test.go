package gosrc

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nncc/nncc/calib"
	"github.com/nncc/nncc/internal/ortref"
	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/npy"
	"github.com/nncc/nncc/onnx"
	"github.com/nncc/nncc/passes"
	"github.com/nncc/nncc/runtime"
)

// toQDQ quantizes m in the standard ONNX QDQ form the quantize pass
// writes: every Conv and Gemm reads its activation through
// QuantizeLinear → DequantizeLinear (uint8, per tensor, min/max over
// calib), its weights as int8 constants dequantized per output channel
// (symmetric) and its bias as int32 dequantized with scale s_x·s_w.
func toQDQ(t testing.TB, m *ir.Model, calib *ir.Tensor) *ir.Model {
	t.Helper()
	m = m.Clone()
	g := m.Graph
	lo, hi := map[*ir.Value]float64{}, map[*ir.Value]float64{}
	sess, err := runtime.NewSession(m, runtime.Options{Threads: 1, Observe: func(n *ir.Node, ins, outs []*ir.Tensor, d time.Duration) {
		if n.OpType != "Conv" && n.OpType != "Gemm" {
			return
		}
		v := n.Inputs[0]
		if _, ok := lo[v]; !ok {
			lo[v], hi[v] = 0, 0
		}
		for _, x := range ins[0].Float32s() {
			lo[v] = math.Min(lo[v], float64(x))
			hi[v] = math.Max(hi[v], float64(x))
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sess.Run(map[string]*ir.Tensor{g.Inputs[0].Name: calib}); err != nil {
		t.Fatal(err)
	}
	var nodes []*ir.Node
	k := 0
	for _, n := range g.Nodes {
		if n.OpType != "Conv" && n.OpType != "Gemm" {
			nodes = append(nodes, n)
			continue
		}
		k++
		name := func(s string) string { return fmt.Sprintf("qdq%d_%s", k, s) }
		x := n.Inputs[0]
		sx := float32((hi[x] - lo[x]) / 255)
		zx := uint8(math.Max(0, math.Min(255, math.RoundToEven(-lo[x]/float64(sx)))))
		sxv := g.AddConst(name("x_scale"), ir.Scalar(sx))
		zt := ir.NewTensor(ir.Uint8)
		zt.Data[0] = zx
		zxv := g.AddConst(name("x_zero"), zt)
		q := &ir.Value{Name: name("x_q")}
		dq := &ir.Value{Name: name("x_dq")}
		nodes = append(nodes,
			&ir.Node{Name: name("Q"), OpType: "QuantizeLinear", Inputs: []*ir.Value{x, sxv, zxv}, Outputs: []*ir.Value{q}},
			&ir.Node{Name: name("DQ"), OpType: "DequantizeLinear", Inputs: []*ir.Value{q, sxv, zxv}, Outputs: []*ir.Value{dq}})
		n.Inputs[0] = dq
		// weights, per output channel (axis 0: Conv, and Gemm with transB)
		w := n.Inputs[1].Const
		if n.OpType == "Gemm" && n.AttrInt("transB", 0) == 0 {
			t.Fatalf("%s: transB=0 not handled by this helper", n.Name)
		}
		M := int(w.Dims[0])
		wf := w.Float32s()
		per := len(wf) / M
		sw := make([]float32, M)
		wq := ir.NewTensor(ir.Int8, w.Dims...)
		for c := 0; c < M; c++ {
			var amax float64
			for _, v := range wf[c*per : (c+1)*per] {
				amax = math.Max(amax, math.Abs(float64(v)))
			}
			sw[c] = float32(amax / 127)
			for i, v := range wf[c*per : (c+1)*per] {
				qv := math.Max(-127, math.Min(127, math.RoundToEven(float64(v/sw[c]))))
				wq.Data[c*per+i] = byte(int8(qv))
			}
		}
		wdq := &ir.Value{Name: name("w_dq")}
		nodes = append(nodes, &ir.Node{Name: name("DQw"), OpType: "DequantizeLinear", Attrs: []*ir.Attribute{ir.IntAttr("axis", 0)},
			Inputs:  []*ir.Value{g.AddConst(name("w_q"), wq), g.AddConst(name("w_scale"), ir.FromFloat32([]int64{int64(M)}, sw)), g.AddConst(name("w_zero"), ir.NewTensor(ir.Int8, int64(M)))},
			Outputs: []*ir.Value{wdq}})
		n.Inputs[1] = wdq
		if len(n.Inputs) > 2 && n.Inputs[2] != nil {
			b := n.Inputs[2].Const.Float32s()
			sb := make([]float32, M)
			bq := ir.NewTensor(ir.Int32, int64(M))
			for c := range sb {
				sb[c] = sx * sw[c]
				v := int32(math.RoundToEven(float64(b[c] / sb[c])))
				bq.Data[4*c], bq.Data[4*c+1], bq.Data[4*c+2], bq.Data[4*c+3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
			}
			bdq := &ir.Value{Name: name("b_dq")}
			nodes = append(nodes, &ir.Node{Name: name("DQb"), OpType: "DequantizeLinear", Attrs: []*ir.Attribute{ir.IntAttr("axis", 0)},
				Inputs:  []*ir.Value{g.AddConst(name("b_q"), bq), g.AddConst(name("b_scale"), ir.FromFloat32([]int64{int64(M)}, sb)), g.AddConst(name("b_zero"), ir.NewTensor(ir.Int32, int64(M)))},
				Outputs: []*ir.Value{bdq}})
			n.Inputs[2] = bdq
		}
		nodes = append(nodes, n)
	}
	g.Nodes = nodes
	if err := ir.Verify(m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestQDQDigits quantizes the digits CNN to QDQ int8, generates Go from
// it and checks it against nncc's runtime and onnxruntime's accuracy.
// onnxruntime runs at its basic optimisation level, which executes the
// Q/DQ arithmetic as the graph states it. At its full level it runs its
// own u8·s8 kernels, whose 16-bit pair sums saturate on this helper's
// full-range int8 weights on CPUs without VNNI (the quantize pass
// defaults to 7-bit weights for that reason; see TestQuantizePass):
// measured here, 445/450 there against 446/450 for the exact arithmetic,
// which the generated code and nncc's runtime both give.
func TestQDQDigits(t *testing.T) {
	calib, err := npy.Read("../../testmodels/data/digits_calib_x.npy")
	if err != nil {
		t.Fatal(err)
	}
	m := toQDQ(t, compileForGo(t, "../../testmodels/digits_cnn.onnx"), calib)
	path := filepath.Join(t.TempDir(), "digits_cnn_qdq.onnx")
	if err := onnx.Save(m, path, onnx.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	testModel(t, modelCase{name: "digits_qdq", path: path, data: "../../testmodels/data/digits_test_x.npy", labels: "../../testmodels/data/digits_test_y.npy", batch: 450, tol: 0.02, raw: true, ortOpt: ortref.OptBasic})
}

// TestQuantizePass generates Go from the quantize pass's output for the
// digits CNN in its three forms (static QDQ, static QOperator, dynamic)
// and checks each against nncc's runtime on the quantized model and
// onnxruntime's accuracy on the 450 test digits.
func TestQuantizePass(t *testing.T) {
	for _, c := range []struct{ name, pipeline, kernel string }{
		{"qdq", "default,quantize", "kernels.QPackConv2D"},
		{"qop", "default,quantize{format=qop}", "kernels.QPackConv2D"},
		{"dynamic", "default,quantize{mode=dynamic}", "kernels.QGemmPackedB"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, err := onnx.Load("../../testmodels/digits_cnn.onnx")
			if err != nil {
				t.Fatal(err)
			}
			pl, err := passes.Parse(c.pipeline)
			if err != nil {
				t.Fatal(err)
			}
			d, err := calib.Load(m, []string{"../../testmodels/data/digits_calib_x.npy"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := pl.Run(m, passes.RunOptions{Calib: d}); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "digits_cnn_"+c.name+".onnx")
			if err := onnx.Save(m, path, onnx.SaveOptions{}); err != nil {
				t.Fatal(err)
			}
			files, err := Generate(m, Options{Package: "q"})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(files[ModelFile]), c.kernel) {
				t.Errorf("the generated code does not call the 8-bit kernel %s", c.kernel)
			}
			if c.name != "dynamic" {
				// activations stay bytes: each integer kernel requantizes
				// into the byte arena, nothing converts int32 sums or
				// 8-bit values through float32 around it
				src := string(files[ModelFile])
				for _, want := range []string{"RunRequant(", "kernels.RequantizeCols(", "kernels.MaxPool2D8("} {
					if !strings.Contains(src, want) {
						t.Errorf("the generated code does not call %s", want)
					}
				}
				for _, bad := range []string{"byte(int32(v))", "= float32(v) + b"} {
					if strings.Contains(src, bad) {
						t.Errorf("the generated code converts around an integer kernel (%q)", bad)
					}
				}
				// weights as bytes: the int8 package is ~4× smaller
				f, err := onnx.Load("../../testmodels/digits_cnn.onnx")
				if err != nil {
					t.Fatal(err)
				}
				ff, err := Generate(f, Options{Package: "f"})
				if err != nil {
					t.Fatal(err)
				}
				if q, fl := len(files[WeightsFile]), len(ff[WeightsFile]); 3*q > fl {
					t.Errorf("int8 weights.bin is %d bytes, float %d: want under a third", q, fl)
				}
			}
			testModel(t, modelCase{name: "digits_" + c.name, path: path, data: "../../testmodels/data/digits_test_x.npy",
				labels: "../../testmodels/data/digits_test_y.npy", batch: 450, tol: 1e-4, raw: true, ortOpt: ortref.OptAll})
		})
	}
}

// TestQuantizePassPPOCR generates Go from the quantize pass's int8 QDQ
// form of PaddleOCR's classifier (a real MobileNetV3 from another
// framework) and checks it against nncc's runtime (within 1e-4 of the
// output range: the integer steps are the runtime's kernels and the
// float steps between them round alike) and onnxruntime's accuracy on
// its 400 labelled rows.
func TestQuantizePassPPOCR(t *testing.T) {
	const model = "/tmp/nncc-models/ppocr_cls.onnx"
	if testing.Short() {
		t.Skip("big model; -short")
	}
	if _, err := os.Stat(model); err != nil {
		t.Skip(model, " absent")
	}
	m, err := onnx.Load(model)
	if err != nil {
		t.Fatal(err)
	}
	pl, err := passes.Parse("default,quantize")
	if err != nil {
		t.Fatal(err)
	}
	d, err := calib.Load(m, []string{"/tmp/nncc-models/ppocr_cls_data/calib_x.npy"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pl.Run(m, passes.RunOptions{Calib: d}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ppocr_cls_int8.onnx")
	if err := onnx.Save(m, path, onnx.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	testModel(t, modelCase{name: "ppocr_cls_int8", path: path, shapes: map[string][]int64{"x": {-1, 3, 48, 192}},
		data: "/tmp/nncc-models/ppocr_cls_data/eval_x.npy", labels: "/tmp/nncc-models/ppocr_cls_data/eval_y.npy",
		batch: 100, tol: 1e-4, raw: true})
}

// TestQuantizePassModels generates Go from the quantize pass's int8 form
// of PaddleOCR's detector (ConvTranspose, nearest Resize, FPN skips,
// depthwise) and torchvision's MobileNetV2 (residual adds), calibrated
// on seeded rows (speed and numerics models, never accuracy), and
// checks the outputs against nncc's runtime on the same int8 model.
func TestQuantizePassModels(t *testing.T) {
	if testing.Short() {
		t.Skip("big models; -short")
	}
	for _, c := range []struct {
		name, path string
		dims       []int64
	}{
		{"ppocr_det", "/tmp/nncc-models/ppocr_det.onnx", []int64{3, 96, 96}},
		{"mobilenet_v2", "/tmp/nncc-models/tv/mobilenet_v2.onnx", []int64{3, 224, 224}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := os.Stat(c.path); err != nil {
				t.Skip(c.path, " absent")
			}
			m, err := onnx.Load(c.path)
			if err != nil {
				t.Fatal(err)
			}
			name := m.Graph.Inputs[0].Name
			rows := ir.FromFloat32(append([]int64{2}, c.dims...), seq(2*int(ir.NumElements(c.dims)), 0.5))
			d, err := calib.FromTensors(map[string]*ir.Tensor{name: rows})
			if err != nil {
				t.Fatal(err)
			}
			pl, err := passes.Parse("default,quantize")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := pl.Run(m, passes.RunOptions{Calib: d}); err != nil {
				t.Fatal(err)
			}
			shape := append([]int64{-1}, c.dims...)
			h := buildGenerated(t, m, Options{Package: "q" + c.name, Shapes: map[string][]int64{name: shape}})
			compareRuntime(t, m, h, c.dims, 1)
		})
	}
}
