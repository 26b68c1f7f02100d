package quant_test

import (
	"fmt"

	"github.com/nncc/nncc/calib"
	"github.com/nncc/nncc/onnx"
	"github.com/nncc/nncc/quant"
)

// Quantize the digits CNN statically, per channel, in QDQ form: plan,
// calibrate the planned tensors, materialise. (Without fold-bn first,
// each Conv output is quantized before its BatchNormalization, hence
// the zero points in the middle of the range.)
func Example() {
	m, err := onnx.Load("../testmodels/digits_cnn.onnx")
	if err != nil {
		panic(err)
	}
	data, err := calib.Load(m, []string{"../testmodels/data/digits_calib_x.npy"})
	if err != nil {
		panic(err)
	}
	o := quant.Options{Config: quant.Config{PerChannel: true}, Method: quant.MinMax}
	p, err := quant.NewPlan(m.Clone(), o.Config)
	if err != nil {
		panic(err)
	}
	st, err := quant.Calibrate(m, p.Tensors(), data, o.Method, 0, p.Config.Activations, o.Run)
	if err != nil {
		panic(err)
	}
	q, _, res, err := quant.Build(m, o, st, data)
	if err != nil {
		panic(err)
	}
	for _, l := range res.Layers {
		fmt.Printf("%s %s: %d weight scales, output zero point %d\n", l.OpType, l.ID, l.WeightChannels, l.Output.ZeroPoint)
	}
	fmt.Println("weights by dtype:", quant.WeightBytes(q)["int8"] > 0, quant.WeightBytes(q)["float32"] < quant.WeightBytes(m)["float32"])
	// Output:
	// Conv /features/features.0/Conv: 16 weight scales, output zero point 150
	// Conv /features/features.4/Conv: 32 weight scales, output zero point 123
	// Gemm /classifier/Gemm: 10 weight scales, output zero point 145
	// weights by dtype: true true
}
