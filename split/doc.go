// Package split cuts a model into pipeline stages for model parallelism,
// balanced on a cost, and writes them as models of their own with a
// manifest and an NVIDIA Triton model repository (an ensemble chaining
// one ONNX Runtime model per stage).
//
// # Invariants
//
//   - Stages are consecutive runs of the main graph's nodes in its
//     (topological) order and every stage holds at least one node, so a
//     model of n nodes splits into 1 to n stages.
//   - A node is atomic: If, Loop and Scan bodies are never cut, and the
//     outer values a body captures count as reads of the node that owns
//     it.
//   - A stage's inputs are every activation produced before it (graph
//     inputs included) that one of its nodes reads; its outputs are the
//     graph outputs it computes and every activation it produces that a
//     later stage reads. A tensor read by several later stages goes from
//     its producer straight to each of them (skip connections do not pass
//     through the stages in between).
//   - Constants are copied into exactly the stages that read them.
//   - Tensor names are the original graph's, so the stage models, the
//     manifest and the ensemble wire tensors by name: a stage's inputs
//     are found among the graph inputs and earlier stages' outputs.
//   - The plan is optimal, not heuristic: among all partitions into k
//     stages it minimises the largest stage cost (a pipeline runs at the
//     pace of its slowest stage), then the weight of the stage inputs
//     that come from earlier stages or the graph (bytes at the bound
//     shapes, plus one per tensor). Both steps are exact dynamic
//     programmes over the node order, O(k·n²).
//   - Costs: FLOPs from shapes inferred after binding the inputs (package
//     cost); latency from nncc's runtime, each node's median over several
//     runs (a step the runtime fused is charged to its first node);
//     params, the exact bytes of the distinct weights a stage holds.
//     With a byte limit per stage the fewest feasible stages is found
//     greedily (optimal because a stage's weights only grow as it
//     extends), then balanced under the limit.
//   - Output is deterministic: the same model and options give the same
//     bytes (Triton configs are protobuf text with map keys sorted and
//     protobuf-go's deliberate spacing jitter normalised).
//   - Writing is atomic: the directory is built beside its destination
//     and renamed into place. An existing non-empty directory is refused
//     unless forced, and then only files nncc listed in it before
//     (.nncc-split) are ever removed.
//
// The Triton configs follow the repository rules: one writer per
// ensemble tensor, model_version -1 in every step, an empty version
// directory 1/ for the ensemble, no instance_group on the ensemble, and
// max_batch_size 0 with full dims (-1 where a dim is not fixed) unless a
// batch size is asked for and every tensor leads with one symbolic batch
// dim. CheckRepository checks all of it by parsing each config.pbtxt as
// inference.ModelConfig (package tritonpb, generated from a subset of
// Triton's schema with its field names and numbers).
package split
