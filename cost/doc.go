// Package cost estimates what each node of a model costs: multiply-
// accumulates (MACs), floating-point operations, the bytes of the weights
// it reads and of the activations it writes.
//
// Costs come from inferred shapes, so every dim a node's cost depends on
// must be known: Analyze binds the graph inputs' symbolic dims first (by
// input name or by dim name) and runs ir.InferShapes on a clone, leaving
// the caller's model untouched. A node whose shapes stay unknown is
// reported in Report.Unknown with zero cost rather than guessed.
//
// Conventions: a MAC is one multiply and one add (Conv, ConvTranspose,
// Gemm, MatMul, their integer forms, LSTM/GRU/RNN); FLOPs are 2·MACs for
// those and one per output element for every other op. Pruned zeros still
// count: MACs measure the dense work a kernel does.
package cost
