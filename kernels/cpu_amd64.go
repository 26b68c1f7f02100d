//go:build amd64 && !purego

package kernels

import "os"

// Instruction-set features of this CPU, as far as the kernels care. Each
// flag requires both the CPUID bit and operating-system support for the
// register state (XCR0), so a true flag means the instructions run.
var (
	hasAVX2FMA    bool // AVX, AVX2 and FMA3
	hasAVX512     bool // AVX-512 F, BW, DQ and VL with ZMM state enabled
	hasAVX512VNNI bool // hasAVX512 plus AVX512_VNNI
)

func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)
func xgetbv() (eax, edx uint32)

func init() {
	maxLeaf, _, _, _ := cpuid(0, 0)
	_, _, ecx1, _ := cpuid(1, 0)
	const (
		fma     = 1 << 12
		osxsave = 1 << 27
		avx     = 1 << 28
	)
	if ecx1&(fma|osxsave|avx) != fma|osxsave|avx || maxLeaf < 7 {
		return
	}
	xcr0, _ := xgetbv()
	const (
		ymmState = 0x6  // XMM and YMM
		zmmState = 0xe0 // opmask, ZMM_Hi256, Hi16_ZMM
	)
	if xcr0&ymmState != ymmState {
		return
	}
	_, ebx7, ecx7, _ := cpuid(7, 0)
	const (
		avx2     = 1 << 5
		avx512f  = 1 << 16
		avx512dq = 1 << 17
		avx512bw = 1 << 30
		avx512vl = 1 << 31
		vnni     = 1 << 11 // in ECX
	)
	hasAVX2FMA = ebx7&avx2 != 0
	all512 := uint32(avx512f | avx512dq | avx512bw | avx512vl)
	hasAVX512 = hasAVX2FMA && ebx7&all512 == all512 && xcr0&zmmState == zmmState
	hasAVX512VNNI = hasAVX512 && ecx7&vnni != 0

	// NNCC_KERNELS=avx2 or =generic restricts the kernels, for testing the
	// other code paths on a machine that has the newer instructions.
	switch os.Getenv("NNCC_KERNELS") {
	case "avx2":
		hasAVX512, hasAVX512VNNI = false, false
	case "generic":
		hasAVX2FMA, hasAVX512, hasAVX512VNNI = false, false, false
	}
}
