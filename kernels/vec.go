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
