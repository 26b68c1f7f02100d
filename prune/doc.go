// Package prune removes weights from a model and re-fits what remains to
// the original model's own activations.
//
// Unstructured (Magnitude): the smallest-|w| elements of the weights of
// Conv, ConvTranspose, Gemm and MatMul are set to exactly zero, ranked over
// the whole model or per layer, by a fraction or an absolute threshold.
// The tensors keep their shapes; the zeros are what sparse storage and
// compression exploit.
//
// Structured (Analyze, Plan, Apply): whole channels are removed. Analyze
// groups the tensors that carry the same channels (axis 1): ops that pass
// channels through join their input's group to their output's, so that a
// residual Add or a squeeze-excitation Mul ties both operands into one
// group; a Conv (group 1), Gemm or MatMul produces a new group at its
// output and consumes its input's (its weight's input axis is sliced).
// Plan picks the channels each group keeps; Apply slices every constant
// that carries them.
//
// Re-fitting (Refit, RefitMagnitude, Analysis.RefitLayers): the original
// model is the teacher, the pruned one the student. Layer by layer, in
// graph order, each layer's weights are solved in closed form so that its
// output on the calibration data reproduces the teacher's: per output
// row, ridge-damped least squares over the weights allowed to be non-zero
// and the bias, from the Gram matrix XᵀX of the student's layer input
// (im2col patches for a Conv, plus a column of ones) and the cross term
// XᵀY with the teacher's layer output. The ridge pulls towards the
// current weights, so a row the data do not determine stays as it was.
// The statistics are summed over batches: memory is O(cols²) per group,
// independent of the number of samples. BatchNormalization that follows
// a re-fitted layer keeps the teacher's statistics, which stay the right
// ones because the layer's output is fitted to the teacher's
// pre-normalisation activations.
//
// Invariants:
//   - a masked (pruned) weight is exactly zero after Magnitude and after
//     every re-fit; a re-fit changes only free weights and biases;
//   - Apply removes a channel from every tensor of its group or from none;
//     a group reaching a graph input or output, a reshape, a Concat along
//     channels or an op without a rule is frozen, so graph inputs and
//     outputs keep their shapes;
//   - at least one channel of every group stays; options out of range are
//     errors wrapping ErrOption and leave the model unchanged;
//   - results are deterministic: ties are broken by position, and the
//     statistics are summed in sample order.
package prune
