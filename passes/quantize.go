package passes

import (
	"errors"
	"fmt"
	"strings"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/quant"
)

// Quantize is int8 post-training quantization; the work is in package
// quant.
var Quantize = &Pass{
	Name: "quantize",
	Doc: `Quantize weights and activations to int8 (static: calibrated on --calib data; dynamic: activations at run time).

Static mode (the default) observes, on the calibration data (--calib),
every activation tensor it will quantize, in one streaming pass, and
writes the QDQ form onnxruntime recommends: each activation passes
through QuantizeLinear → DequantizeLinear (a float32 scalar scale, a
uint8 or int8 zero point); each weight is an int8 constant read through
DequantizeLinear (symmetric, per output channel: Conv axis 0,
ConvTranspose axis 1, Gemm/MatMul per output column); each bias an int32
constant with scale s_x·s_w (a weight scale is raised where the bias
would overflow int32). An op's output is quantized after the Relu or Clip
that alone reads it. A weight shared by several nodes is quantized once.
Layout ops (Reshape, Transpose, Flatten, Squeeze, Unsqueeze, MaxPool,
Slice, ...) pass a quantized input on with the same scale and zero point.
format=qop then rewrites Conv into QLinearConv and MatMul into
QLinearMatMul where the pattern allows (the rest stays QDQ, which
onnxruntime runs too; QLinearAdd and the other com.microsoft contrib ops
are not produced). The model is raised to opset 13 first when older.
Weights use 7 bits by default (reduce-range): onnxruntime's x86 u8·s8
kernels can saturate int16 pair sums with full 8-bit weights (measured:
the digits CNN loses a sample there without it); reduce-range=false
keeps 8 bits, which PaddleOCR's classifier prefers (no loss at all).

Dynamic mode quantizes MatMul/Gemm (and Conv when ops= names it) weights
to int8 and their inputs at run time: DynamicQuantizeLinear →
MatMulInteger/ConvInteger → Cast → Mul by the scales (→ Add bias). It
needs no data.

With --eval and --max-drop the pass measures the quantized model and,
while it loses more than the budget, returns the layers that damage the
output most when quantized alone to float (bisection over that ranking).
The report gives per layer the scales, zero points and the SQNR of its
output against float on the calibration data, the layers left in float
and why, and the accuracy before and after.`,
	Options: []Option{
		{Name: "mode", Type: String, Default: "static", Choices: []string{"static", "dynamic"}, Doc: "static (calibrated activations) or dynamic (activations quantized at run time)"},
		{Name: "format", Type: String, Default: "qdq", Choices: []string{"qdq", "qop"}, Doc: "qdq (QuantizeLinear/DequantizeLinear around float ops) or qop (QLinearConv, QLinearMatMul)"},
		{Name: "per-channel", Type: Bool, Default: true, Doc: "one weight scale per output channel"},
		{Name: "activations", Type: String, Default: "u8", Choices: []string{"u8", "s8"}, Doc: "activation type: uint8 or int8 (asymmetric); weights are symmetric int8"},
		{Name: "method", Type: String, Default: "minmax", Choices: quant.Methods, Doc: "activation range: minmax, percentile, entropy (KL divergence) or mse"},
		{Name: "percentile", Type: Float, Default: 99.999, Doc: "the percentile of values kept by method=percentile"},
		{Name: "ops", Type: String, Default: "", Doc: "op types to quantize, separated by ':' (default Conv:ConvTranspose:Gemm:MatMul; dynamic Gemm:MatMul); static also knows Add, Mul, Concat, AveragePool, GlobalAveragePool"},
		{Name: "exclude", Type: String, Default: "", Doc: "node names to leave in float, separated by ':'"},
		{Name: "reduce-range", Type: Bool, Default: true, Doc: "7-bit weights ([-63, 63]), so that onnxruntime's u8·s8 kernels cannot saturate int16 pair sums on x86 (measured: the digits CNN per channel loses a sample in onnxruntime without it); false gives full 8-bit weights"},
		{Name: "bias-correction", Type: Bool, Default: false, Doc: "shift each quantized layer's bias so its mean output on the calibration data matches float"},
		{Name: "samples", Type: Int, Default: int64(32), Doc: "calibration samples used for per-layer SQNR, sensitivity and bias correction"},
	},
	Lossy: true,
	Run:   runQuantize,
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ':' || r == '|' || r == '+' }) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// QuantizeDetails is the quantize pass's record in the report.
type QuantizeDetails struct {
	Mode        string               `json:"mode"`
	Format      string               `json:"format"`
	PerChannel  bool                 `json:"per_channel"`
	Activations string               `json:"activations"`
	Method      string               `json:"method,omitempty"`
	Samples     int                  `json:"calibration_samples,omitempty"`
	Layers      []*quant.LayerReport `json:"layers"`
	Float       []quant.Decline      `json:"float_nodes,omitempty"`
	Int8Weights float64              `json:"int8_weight_fraction"`
	Budget      *quant.Fallback      `json:"budget,omitempty"`
}

func runQuantize(c *Context) error {
	o := quant.Options{
		Config: quant.Config{
			Mode: c.String("mode"), Format: c.String("format"), PerChannel: c.Bool("per-channel"),
			Activations: ir.Uint8, Exclude: map[string]bool{}, ReduceRange: c.Bool("reduce-range"),
		},
		Method: c.String("method"), Percentile: c.Float("percentile"),
		BiasCorrection: c.Bool("bias-correction"), MeasureSamples: int(c.Int("samples")),
		Run: quant.RunOptions{Threads: c.Threads, Progress: c.Progress},
	}
	if c.String("activations") == "s8" {
		o.Activations = ir.Int8
	}
	if ops := splitList(c.String("ops")); len(ops) > 0 {
		o.Ops = ops
	}
	for _, x := range splitList(c.String("exclude")) {
		o.Exclude[x] = true
	}
	if p := o.Percentile; p <= 50 || p > 100 {
		return fmt.Errorf("%w: percentile %v is outside (50, 100]", ErrBadOption, p)
	}
	static := o.Mode == quant.Static
	if static && c.Calib == nil {
		return errors.New("static quantization needs calibration data (nncc compile --calib X.npy), or use mode=dynamic")
	}
	// Work on a copy raised to opset 13 (per-channel DequantizeLinear);
	// the model itself changes only at the end.
	orig := c.Model.Clone()
	if orig.Opset("") < 13 {
		uc, err := NewContext(orig, UpgradeOpset, map[string]any{"to": int64(13)})
		if err != nil {
			return err
		}
		if err := runUpgradeOpset(uc); err != nil {
			c.Declinef(nil, "the model is at opset %d and cannot be raised to 13: %v", orig.Opset(""), err)
			return nil
		}
	}
	plan, err := quant.NewPlan(orig.Clone(), o.Config)
	if err != nil {
		return err
	}
	if len(plan.Layers) == 0 {
		for _, d := range plan.Declined {
			c.Declinef(nodeByID(c.Model, d.Node), "%s", d.Reason)
		}
		c.Declinef(nil, "nothing to quantize (ops %s)", strings.Join(orderedOps(o), ", "))
		return nil
	}
	var st quant.Stats
	if static {
		st, err = quant.Calibrate(orig, plan.AllTensors(), c.Calib, o.Method, o.Percentile, o.Activations, o.Run)
		if err != nil {
			return fmt.Errorf("calibration: %w", err)
		}
	}
	q, p, res, fb, err := quant.WithBudget(orig, o, st, c.Calib, c.Budget)
	if err != nil {
		return err
	}
	if static {
		// SQNR is measured on the QDQ form (QOperator computes the same
		// values, but its float intermediates are gone).
		qq := q
		if o.Format == quant.QOp {
			oo := o
			oo.Format, oo.Exclude = quant.QDQ, p.Config.Exclude
			if qq, _, res, err = quant.Build(orig, oo, st, c.Calib); err != nil {
				return err
			}
		}
		if err := quant.LayerSQNR(orig, qq, res, c.Calib, o.MeasureSamples, o.Run); err != nil {
			return fmt.Errorf("measuring layer SQNR: %w", err)
		}
	}
	d := &QuantizeDetails{Mode: o.Mode, Format: o.Format, PerChannel: o.PerChannel, Activations: c.String("activations"),
		Layers: res.Layers, Budget: fb, Int8Weights: quant.Int8Fraction(c.Model, q)}
	if static {
		d.Method, d.Samples = o.Method, c.Calib.Len()
	}
	returned := map[string]string{}
	if fb != nil {
		rank := map[string]int{}
		for i, r := range fb.Ranking {
			rank[r.ID] = i
		}
		for _, id := range fb.Returned {
			r := fb.Ranking[rank[id]]
			returned[id] = fmt.Sprintf("returned to float by the accuracy budget: quantized alone it is the %s most damaging layer (output SQNR %.1f dB); all layers int8 lose %.2f points, more than the %.2f allowed",
				ordinal(rank[id]+1), r.SQNR, fb.FirstDrop, fb.MaxDrop)
		}
	}
	for _, dcl := range p.Declined {
		if why, ok := returned[dcl.Node]; ok {
			dcl.Reason = why
		}
		d.Float = append(d.Float, dcl)
		c.Declinef(nodeByID(c.Model, dcl.Node), "left in float: %s", dcl.Reason)
	}
	if d.Layers == nil {
		d.Layers = []*quant.LayerReport{}
	}
	c.SetDetails(d)
	if len(res.Layers) == 0 {
		c.Declinef(nil, "every layer returned to float by the accuracy budget; the model is unchanged")
		return nil
	}
	*c.Model = *q
	c.Changed()
	return nil
}

func orderedOps(o quant.Options) []string {
	if o.Ops != nil {
		return o.Ops
	}
	return quant.DefaultOps(o.Mode)
}

// nodeByID finds the node of m's main graph with the layer ID id.
func nodeByID(m *ir.Model, id string) *ir.Node {
	for _, n := range m.Graph.Nodes {
		if n.Label() == id {
			return n
		}
	}
	return nil
}

func ordinal(n int) string {
	suffix := "th"
	switch {
	case n%100 >= 11 && n%100 <= 13:
	case n%10 == 1:
		suffix = "st"
	case n%10 == 2:
		suffix = "nd"
	case n%10 == 3:
		suffix = "rd"
	}
	return fmt.Sprintf("%d%s", n, suffix)
}
