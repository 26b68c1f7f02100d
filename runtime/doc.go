// Package runtime is nncc's reference executor: a CPU interpreter for the
// IR. Every compressed model is checked against its original with it, and
// its kernels back the Go code nncc generates.
//
// # Use
//
//	sess, err := runtime.NewSession(model, runtime.Options{})
//	outs, err := sess.Run(map[string]*ir.Tensor{"x": x})
//
// NewSession checks that every node is supported (Supported gives the
// reason when one is not), prepares each node once (attributes parsed,
// constant weights preprocessed) and plans buffer reuse. Run executes the
// nodes in topological order. EvalNode evaluates a single node, for
// constant folding.
//
// # Invariants
//
//   - Tensors are ir.Tensors throughout: elements live in Data in
//     little-endian order and kernels view them as typed slices without
//     copying. The runtime therefore requires a little-endian host
//     (NewSession reports an error otherwise). Storage the runtime
//     allocates is 8-byte aligned; inputs supplied from outside that are
//     not aligned are copied when viewed.
//   - Kernels never modify their inputs. Each output either has fresh
//     storage or shares the whole storage of one input (Reshape, Squeeze,
//     Identity and the like alias rather than copy).
//   - Memory plan: every value's last reader is known when the session is
//     built. After a node runs, the values it was the last reader of are
//     released; storage no live value shares goes back to the session's
//     arena, and later allocations of a similar size reuse it, within a
//     run and across runs (the idle pool is trimmed after each run to
//     about what that run used). Tensors returned by Run are never
//     reused: they belong to the caller. Runs of one Session are
//     serialised. Subgraph frames (If, Loop) hold their bound values for
//     their whole run, so an alias dying inside cannot recycle them.
//   - Preparation: nodes whose inputs are all fixed (constants, not
//     inputs with defaults) run once when the session is built, unless
//     their results would be much larger than their inputs; so a
//     DequantizeLinear of int8 weights costs nothing per run. Constant
//     weights of MatMul, Gemm, Conv and the integer convolutions are
//     prepacked for the kernels (per input geometry for convolutions); a
//     Conv whose only reader is a Relu or a Clip with constant bounds
//     applies it in the kernel's epilogue. None of this changes results.
//   - Bad input gives an error, never a panic: kernels validate shapes,
//     types and indices, and a panic that escapes a kernel anyway is
//     turned into an error naming the node.
//   - Float16 and bfloat16 are computed in float32 and rounded back;
//     integer arithmetic wraps like Go's (and C's) fixed-width integers.
//
// # Coverage
//
// The supported operators and opsets are listed by SupportedOps and
// Supported; docs/conformance.md records the ONNX conformance results.
package runtime
