// Package quant is int8 post-training quantization: calibration
// observers, a table of how each op type is quantized, and the two-phase
// build of the quantized graph.
//
// Observers (Observer) stream over calibration batches and keep, per
// tensor, the minimum and maximum and, for the histogram methods, a
// fixed 4096-bin histogram over the symmetric range a first min/max pass
// found: memory depends on the tensors' count, never on the sample count.
// Ranges come from min/max, a percentile of the values, the entropy
// (KL-divergence) threshold search, or the range of least expected
// squared quantization error (Observer.Range). Calibrate runs the model
// in nncc's runtime with the observed tensors added as graph outputs,
// so that tensors the runtime would fuse away (a Conv's output read only
// by its Relu) are computed as the quantized graph will compute them.
//
// NewPlan is the first phase: each node whose op type is in the rules
// table (Conv, ConvTranspose, Gemm, MatMul, and on request Add, Mul,
// Concat and the average pools) marks its activation inputs, its weight
// (with its per-channel axis), its bias and its output (after a Relu or
// Clip that alone reads it); layout ops (Reshape, Transpose, Flatten,
// MaxPool, ...) mark their output to reuse their input's parameters.
// Plan.Apply is the second: it materialises every mark at once —
// QuantizeLinear → DequantizeLinear for activations, int8 constants
// read through DequantizeLinear for weights, int32 biases with scale
// s_x·s_w — and ToQOperator optionally fuses the result into QLinearConv
// and QLinearMatMul. Dynamic mode (Config.Mode) replaces MatMul, Gemm and
// Conv with DynamicQuantizeLinear → MatMulInteger/ConvInteger → scale.
//
// Invariants:
//   - the result depends only on the model, the data and the options:
//     batches are run and observed in sample order, observers merge
//     exactly (integer counts, extremes), and names are derived from the
//     graph, so the output is byte-identical across runs and thread
//     counts;
//   - a weight read by several nodes is quantized once (one int8 constant
//     and one DequantizeLinear per weight and axis), and a weight scale is
//     raised where a bias would not fit int32 at s_x·s_w;
//   - every activation range holds 0, so zero (padding, ReLU's floor) is
//     exact;
//   - a layer ID (node name, or "→" and its first output) is stable
//     across ir.Model.Clone, so plans for candidates of the accuracy
//     budget (WithBudget) exclude the same layers by name.
package quant
