// Package budget measures how much a lossy compression costs and holds it
// to a limit the user sets.
//
// An Evaluator runs a model over a calib.Dataset with nncc's runtime and
// scores its top-1 predictions: against labels when they are given
// (accuracy), otherwise against the original model's own predictions
// (agreement). A Budget pairs an Evaluator with the original model's score
// and the largest drop allowed, in points (percent of samples).
//
// Every lossy pass (quantize, prune-magnitude, prune-channels) uses the one
// Budget the pipeline hands it (passes.Context.Budget): it measures its
// candidates with Score and keeps the most compressed one that Holds.
//
// Invariants: scores depend only on the model and the data, never on the
// batch size or thread count (each sample's prediction is an argmax over
// its own outputs, ties broken toward the lowest class index); the
// reference predictions are taken once, from the original model.
package budget
