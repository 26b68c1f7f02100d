// Package passes holds nncc's graph transformations and the pipeline that
// runs them.
//
// A Pass is a value: a kebab-case Name, a Doc whose first line is its
// summary, typed Options with defaults, and a Run function that edits a
// model in place through a Context. Passes live in one registry (All,
// Lookup, Register); a program may register its own and name them in a
// pipeline spec next to the built-in ones. A Pipeline is a list of passes
// with option values, parsed from a spec such as
//
//	remove-dropout,fold-constants{max-bytes=4096},upgrade-opset{to=20},default
//
// or built with NewPipeline and Add. Run applies it and returns a Report
// with, per pass, its time, node and parameter counts before and after,
// whether it changed the model and the cases it declined.
//
// Invariants every pass keeps:
//
//   - The model computes the same outputs (up to floating-point rounding
//     of folded constants) for every input it accepted before, and keeps
//     its interface: graph input and output names, types and order.
//     RunOptions.VerifyEach checks this after every pass that changed the
//     model: ir.Verify, then the outputs against the original model's on
//     seeded random inputs and any given ones, with nncc's runtime.
//   - A case a pass does not handle leaves the graph exactly as it was and
//     is recorded with Context.Declinef, so the report says why a
//     BatchNormalization did not fold or a pattern did not fuse.
//   - A pass that fails (returns an error) changes nothing; the pipeline
//     stops there and the error names the pass. A panic in a pass is
//     turned into such an error.
//   - Constants are immutable: a pass that changes a weight writes a new
//     constant, so weights shared by several nodes stay intact; the old
//     one is left for eliminate-dead.
//   - A graph input with a default value (an initializer listed as an
//     input, IR version 4 and later) is not a constant: the caller may
//     override it (Context.ConstOf).
//
// Pattern rewrites follow one shape: find the anchor operator, check op
// types and use counts (cheap) along producers and single readers, then
// constants and shapes, then rewrite; shapes come from ir.InferShapes.
package passes
