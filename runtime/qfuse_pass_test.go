package runtime_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nncc/nncc/calib"
	"github.com/nncc/nncc/internal/ortref"
	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/onnx"
	"github.com/nncc/nncc/passes"
)

// quantizeWithPass runs the default pipeline and the quantize pass
// (options spec, e.g. "quantize{format=qop}") on model with calibration
// data x.
func quantizeWithPass(t *testing.T, model, spec string, x *ir.Tensor) (*ir.Model, string) {
	t.Helper()
	m, err := onnx.Load(model)
	if err != nil {
		t.Skipf("%s: %v", model, err)
	}
	input := m.Graph.Inputs[0].Name
	d, err := calib.FromTensors(map[string]*ir.Tensor{input: x})
	if err != nil {
		t.Fatal(err)
	}
	p, err := passes.Parse("default," + spec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Run(m, passes.RunOptions{Calib: d}); err != nil {
		t.Fatal(err)
	}
	return m, input
}

// TestQuantizePassRunsOnIntegerKernels runs the quantize pass's own
// output (QDQ and QOperator formats, uint8 and int8 activations) of the
// digits CNN and torchvision's MobileNetV2: in nncc every Conv and Gemm
// runs as a fused int8 step (no float Conv or Gemm step), and the
// outputs agree with onnxruntime's (all optimisations, its int8 kernels;
// the pass writes 7-bit weights by default, on which those do not
// saturate) within one quantisation step of the output on ≥ 98% of the
// elements, none beyond 3, top-1 on ≥ 99% of the rows.
func TestQuantizePassRunsOnIntegerKernels(t *testing.T) {
	calibX, eval, _ := digitsData(t)
	type tc struct {
		name, model, spec string
		calib, eval       *ir.Tensor
	}
	var cases []tc
	for _, spec := range []string{"quantize", "quantize{activations=s8}", "quantize{format=qop}"} {
		cases = append(cases, tc{"digits_cnn " + spec, "../testmodels/digits_cnn.onnx", spec, calibX, eval})
	}
	if _, err := os.Stat("/tmp/nncc-models/tv/mobilenet_v2.onnx"); err == nil {
		for _, spec := range []string{"quantize", "quantize{format=qop}"} {
			cases = append(cases, tc{"mobilenet_v2 " + spec, "/tmp/nncc-models/tv/mobilenet_v2.onnx", spec, seededImages(4, 7), seededImages(2, 9)})
		}
	}
	useORT := ortref.Available()
	dir := t.TempDir()
	var jobs []ortref.Job
	var models []*ir.Model
	var inputs []string
	for i, c := range cases {
		m, input := quantizeWithPass(t, c.model, c.spec, c.calib)
		models, inputs = append(models, m), append(inputs, input)
		mp := filepath.Join(dir, fmt.Sprintf("%d.onnx", i))
		if err := onnx.Save(m, mp, onnx.SaveOptions{}); err != nil {
			t.Fatal(err)
		}
		xp := filepath.Join(dir, fmt.Sprintf("%d.x.pb", i))
		if err := onnx.WriteTensorFile(xp, c.eval, input); err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs, ortref.Job{Model: mp, Inputs: map[string]string{input: xp}, Out: filepath.Join(dir, fmt.Sprint(i)), Threads: 1})
	}
	var res []ortref.Result
	if useORT {
		var err error
		if res, err = ortref.Run(jobs); err != nil {
			t.Fatal(err)
		}
	} else {
		ortref.Require(t) // skips locally, fails in CI
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ops := map[string]int{}
			got := runModel(t, models[i], inputs[i], c.eval, func(n *ir.Node, ins, _ []*ir.Tensor, _ time.Duration) { ops[n.OpType]++ })
			if ops["Conv"]+ops["Gemm"]+ops["MatMul"] != 0 || ops["QDQConv"]+ops["QLinearConv"] == 0 {
				t.Errorf("steps %v: float Conv/Gemm/MatMul left, or no int8 convolution", ops)
			}
			t.Logf("steps: %v", ops)
			want, err := res[i].Tensors()
			if err != nil {
				t.Fatal(err)
			}
			compareSteps(t, c.name+" nncc vs onnxruntime", got, want[0], outputStep(t, models[i]), 0.98, 3)
			gt, wt := argmaxRows(got), argmaxRows(want[0])
			agree := 0
			for j := range gt {
				if gt[j] == wt[j] {
					agree++
				}
			}
			if float64(agree) < 0.99*float64(len(gt)) {
				t.Errorf("top-1 agrees with onnxruntime on %d of %d rows", agree, len(gt))
			}
		})
	}
}
