// Package onnx reads and writes ONNX model files: it is nncc's front end
// (protobuf → IR) and its ONNX back end (IR → protobuf).
//
// Loading is defensive, because nncc runs on files its users did not
// write:
//
//   - every size is checked before anything is allocated for it: dims must
//     be non-negative and their product must not overflow, raw and typed
//     data must match dims × dtype, external data offsets and lengths must
//     lie inside the data file;
//   - external data locations are resolved inside the model's directory
//     through os.Root, so "..", absolute paths and symlinks that leave the
//     directory are refused, as are files with several hard links,
//     directories and devices;
//   - subgraph nesting is bounded (MaxDepth);
//   - the resulting IR passes ir.Verify, so a loaded model has no undefined
//     inputs, cycles or duplicate names.
//
// Saving is deterministic (the same IR gives the same bytes) and atomic
// (a temporary file in the target directory is renamed over the target),
// and moves large tensors to an external data file on request or when the
// model would pass protobuf's 2 GiB limit.
//
// Fields of the ONNX schema newer than the bindings in onnxpb are kept as
// unknown wire fields on models, graphs, nodes, attributes and value infos
// and written back unchanged.
package onnx
