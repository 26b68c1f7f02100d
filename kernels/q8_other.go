//go:build !amd64 || purego

package kernels

func q8PackFull(dst, src []byte, ld, kg int, flip byte, colsum []int32) bool { return false }

func q8PackGroup(dst, src []byte, ld, panels, dstStride int, flip byte, colsum []int32) bool {
	return false
}

func maxBytesVec(dst, src []byte, signed bool) int { return 0 }
