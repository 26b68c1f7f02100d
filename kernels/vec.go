package kernels

// axpyGo sets y[i] += a*x[i] for i < len(y).
func axpyGo(a float32, x, y []float32) {
	x = x[:len(y)]
	for i, v := range x {
		y[i] += a * v
	}
}

// axpyStrideGo sets y[i] += a*x[i·s] for i < len(y).
func axpyStrideGo(a float32, x []float32, s int, y []float32) {
	if len(y) == 0 {
		return
	}
	x = x[:(len(y)-1)*s+1]
	for i := range y {
		y[i] += a * x[i*s]
	}
}

func bytesToF32Go(dst []float32, src []byte, flip byte, sub float32) {
	src = src[:len(dst)]
	for i, v := range src {
		dst[i] = float32(v^flip) - sub
	}
}

func f32ToI32Go(dst []int32, src []float32) {
	src = src[:len(dst)]
	for i, v := range src {
		dst[i] = int32(v)
	}
}

// vmaxStrideGo sets y[i] = max(y[i], x[i·s]) for i < len(y).
func vmaxStrideGo(x []float32, s int, y []float32) {
	if len(y) == 0 {
		return
	}
	x = x[:(len(y)-1)*s+1]
	for i := range y {
		if v := x[i*s]; v > y[i] {
			y[i] = v
		}
	}
}

// copyStride sets y[i] = x[i·s] for i < len(y).
func copyStride[T any](x []T, s int, y []T) {
	if len(y) == 0 {
		return
	}
	x = x[:(len(y)-1)*s+1]
	for i := range y {
		y[i] = x[i*s]
	}
}

// copyRowsGo copies rows rows of n floats, rows dstStride and srcStride
// apart.
func copyRowsGo(dst, src []float32, rows, n, dstStride, srcStride int) {
	for r := 0; r < rows; r++ {
		copy(dst[r*dstStride:r*dstStride+n], src[r*srcStride:r*srcStride+n])
	}
}
