// Package ortref runs ONNX models through onnxruntime so that nncc's tests
// have an independent reference: the models nncc compiles, optimizes or
// quantizes are run both ways and their outputs compared.
//
// Onnxruntime is reached through tools/ort/ortrun.js, a small node script
// on onnxruntime-node 1.30 (install it with `npm ci --ignore-scripts` in
// tools/ort). One call of Run starts one node process for any number of
// jobs, so a test over hundreds of models pays node's start-up once.
//
// Invariants:
//
//   - Results come back in job order, one per job; a job that onnxruntime
//     rejects (bad model, wrong input) has its message in Result.Err and
//     does not fail the others. Run itself fails only when the harness
//     cannot be started or answers something other than one line per job.
//   - Job outputs are written as TensorProto files output_<i>.pb in the
//     job's Out directory, in graph-output order, named after the outputs.
//   - Sessions use one intra-op thread, sequential execution and, unless a
//     job asks otherwise, every graph optimization ("all"), so runs are
//     deterministic on one machine. OptDisabled runs the graph as written.
//
// Tests call Require first: it skips when node or the harness is missing,
// and fails instead when the environment sets NNCC_REQUIRE_ORT=1 (as CI
// does), so a broken install cannot pass for a skipped one.
//
// Compare checks a tensor against a reference with stated tolerances, and
// ReadNPY reads the NumPy arrays that hold the trained models' test data.
package ortref
