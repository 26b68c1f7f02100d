// Package kernels holds the numeric kernels of nncc's CPU runtime: float32
// GEMM and convolution, exact 8-bit integer GEMM and convolution, pooling
// and requantization, on plain slices.
//
// The package imports nothing else from nncc, so Go source emitted by the
// Go backend depends on it alone. Matrices are row-major with explicit
// leading dimensions (row strides); tensors are NCHW. Callers own all
// buffers.
//
// # Entry points
//
//   - Sgemm: C = alpha·op(A)·op(B) + beta·C. PackA/PackB pack a constant
//     operand once (SgemmPackedA, SgemmPackedB).
//   - Conv2D, Conv2DFused (bias plus ReLU/Clip fused into the GEMM's
//     store), Conv2DFusedAdd (a residual added before the activation),
//     PackConv2D for constant weights (Run, RunAdd).
//   - QGemmU8S8, QGemmU8U8, QGemmS8S8, QGemmS8U8: int32 results of
//     Σ (a - za)(b - zb), exact. QPackA/QPackB with QGemmPackedA/B, QConv2D and
//     QPackConv2D; RequantizeU8/RequantizeS8 for the QLinear* outputs.
//   - MaxPool2D, AvgPool2D.
//   - SetThreads: how many goroutines large calls split into (default 1).
//
// # Invariants
//
// Kernels panic on misuse (negative sizes, strides smaller than a row,
// slices too short, parameters failing Conv2DParams.Check or
// Pool2DParams.Check); callers handling untrusted models check first.
// Outputs must not overlap inputs. With beta = 0 a GEMM never reads C,
// so NaNs there do not leak. Elements
// of C between N and the row stride are never written. Packed operands
// are immutable and safe to share between goroutines; they belong to the
// micro-kernel chosen when the process started.
//
// Kernels do not allocate in steady state: packing buffers and
// convolution scratch come from per-goroutine pools, so no caller-side
// scratch is needed (the runtime's memory plan only holds tensors).
// Packing-time functions (PackA, PackB, PackConv2D, QPack*) allocate the
// packed copy. Work split across threads runs on long-lived worker
// goroutines that take a loop only when idle, so a loop never waits for
// a worker (loops may nest, and kernels may run from many goroutines at
// once) and a loop's state comes from pools: a float32 call allocates
// nothing at any thread count (tests check GEMM, convolution, pooling,
// reductions and Resize at 1–3 threads).
//
// # Implementation
//
// GEMM follows the usual blocked scheme: op(B) is packed into panels of
// nr columns and kc depths (kept in L2), op(A) into panels of mr rows
// (kept in L1), and an mr×nr register tile micro-kernel runs over them.
// On amd64 the micro-kernels are generated assembly (see
// internal/asmgen): 6×64 tiles of AVX-512 (masked at the right edge), or
// 6×16 of AVX2/FMA, chosen at start-up by CPUID. Small-M products read B
// in place instead of packing it. Convolutions are implicit GEMMs: the
// micro-kernel reads each im2col row through an offset table straight
// from zero-padded phase planes of the input (AVX-512, or AVX2 on whole
// 16-column strips, one kernel call per row panel's sweep; the portable
// code expands im2col block by block into B panels); 1×1 stride-1
// convolutions use the input as B directly (AVX2 with more than 24
// output channels: packed B blocks); small output planes run positions as GEMM
// rows, or, for several images, one GEMM over a batch of images whose
// im2col is built by permute-based gather programs. Depthwise
// convolutions and 3×3 max pooling have their own plane kernels, which
// handle padding with opmasks instead of padded copies.
//
// The int8 GEMM uses AVX512-VNNI (VPDPBUSD, u8·s8 into int32): signed A
// or unsigned B are shifted by 128 when packed and the zero points absorb
// the shift through a rank-2 correction in the tile epilogue, so the
// inner loop never subtracts zero points and the result is exact.
// Without VNNI, weights that fit in 7 bits (what the quantize pass writes
// by default) run on an AVX2 u8·s8 kernel (VPMADDUBSW into int16 pair
// sums, which cannot saturate below 2·255·64, then VPMADDWD into int32),
// chosen once when the weights are packed; other weights use a kernel
// that multiplies int16 pairs (VPMADDWD) of values whose zero points were
// subtracted while packing. Either way every product sum is exact.
//
// The portable Go fallback is selected with the build tag "purego" or on
// other architectures; it computes the same results within float32
// rounding (integer results are identical). The environment variable
// NNCC_KERNELS=avx2 or =generic restricts amd64 to the older kernels, to
// test them on a newer CPU.
package kernels
