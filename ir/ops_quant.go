package ir

// Inference for the quantisation operators. QLinearConv, QLinearMatMul,
// ConvInteger and MatMulInteger share the shape rules of Conv and MatMul
// (see ops_nn.go).

func init() {
	setInfer(inferQuantize, "QuantizeLinear")
	setInfer(inferDequantize, "DequantizeLinear")
	setInfer(inferDynamicQuantize, "DynamicQuantizeLinear")
}

// QuantizeLinear's output has the zero point's type, else the
// output_dtype attribute's (opset 21), else uint8.
func inferQuantize(c *inferCtx) ([]*Type, error) {
	dt := c.dtype(2)
	if dt == Undefined && !c.has(2) {
		dt = DType(c.n.AttrInt("output_dtype", int64(Uint8)))
		if dt == Undefined {
			dt = Uint8
		}
	}
	in, ok := c.shape(0)
	return []*Type{tensorIf(dt, in, ok)}, nil
}

// DequantizeLinear's output has the scale's type.
func inferDequantize(c *inferCtx) ([]*Type, error) {
	dt := c.dtype(1)
	if dt == Undefined && c.opset < 19 {
		dt = Float32
	}
	in, ok := c.shape(0)
	return []*Type{tensorIf(dt, in, ok)}, nil
}

func inferDynamicQuantize(c *inferCtx) ([]*Type, error) {
	in, ok := c.shape(0)
	return []*Type{tensorIf(Uint8, in, ok), tensor(Float32, Shape{}), tensor(Uint8, Shape{})}, nil
}
