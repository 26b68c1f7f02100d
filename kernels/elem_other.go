//go:build !amd64 || purego

package kernels

func elemVS(op BinOp, d, x []float32, s float32, rev bool) int { return 0 }

func elemVV(op BinOp, d, x, y []float32) int { return 0 }

func elemClamp(d, x []float32, lo, hi float32) int { return 0 }

func elemMulAdd(d, x []float32, m, b float32) int { return 0 }

func elemHswish(d, x []float32, c, lo, hi float32) int { return 0 }

func mathfAvx2(f int, dst, src []float32) int { return 0 }
