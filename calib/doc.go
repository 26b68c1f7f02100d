// Package calib holds the data that lossy passes measure a model on:
// calibration samples (what quantization observes, what pruning re-fits
// to) and evaluation sets (what an accuracy budget is checked on).
//
// A Dataset is a sequence of samples; each sample binds every graph input
// the data covers to a tensor whose first axis is 1. Datasets are read
// from NumPy files whose first axis counts samples (Load), or built from
// tensors in memory (FromTensors); library users may implement Dataset
// themselves, for example to stream from disk.
//
// Invariants: every sample of a Dataset has the same input names, dtypes
// and per-sample shapes; Load checks these against the model (dtype, rank,
// fixed dims) and refuses empty data and NaN or Inf values, with an error
// that names the file and wraps ErrBadData.
package calib
