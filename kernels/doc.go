// Package kernels holds the numeric kernels of nncc's CPU runtime: GEMM,
// convolution helpers, pooling and element-wise loops on float32 and int8
// slices.
//
// The package imports nothing else from nncc, so Go source emitted by the
// Go backend depends on it alone. Kernels work on plain row-major slices
// with explicit leading dimensions and never allocate on the hot path
// unless documented; callers own all buffers.
//
// Fast paths use SIMD assembly on amd64 (AVX2/FMA, AVX-512 where the CPU
// has it); the portable Go fallback is selected with the build tag
// "purego" or on other architectures and computes the same results within
// float32 rounding.
package kernels
