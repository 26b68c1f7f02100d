//go:build amd64 && !purego

package kernels

// The AVX2 element-wise kernels take a multiple of 8 elements; each
// wrapper reports how many it did, the caller's Go loop does the rest.

func elemVS(op BinOp, d, x []float32, s float32, rev bool) int {
	n := len(d) &^ 7
	if !hasAVX2FMA || n == 0 {
		return 0
	}
	var f func(dst, x *float32, n int, s float32)
	switch {
	case op == OpAdd:
		f = addVSAvx2
	case op == OpMul:
		f = mulVSAvx2
	case op == OpSub && !rev:
		f = subVSAvx2
	case op == OpSub:
		f = rsubVSAvx2
	case op == OpDiv && !rev:
		f = divVSAvx2
	case op == OpDiv:
		f = rdivVSAvx2
	default:
		return 0
	}
	f(&d[0], &x[0], n, s)
	return n
}

func elemVV(op BinOp, d, x, y []float32) int {
	n := len(d) &^ 7
	if !hasAVX2FMA || n == 0 {
		return 0
	}
	var f func(dst, x, y *float32, n int)
	switch op {
	case OpAdd:
		f = addVVAvx2
	case OpSub:
		f = subVVAvx2
	case OpMul:
		f = mulVVAvx2
	case OpDiv:
		f = divVVAvx2
	default:
		return 0
	}
	f(&d[0], &x[0], &y[0], n)
	return n
}

func elemClamp(d, x []float32, lo, hi float32) int {
	n := len(d) &^ 7
	if !hasAVX2FMA || n == 0 {
		return 0
	}
	clampAvx2(&d[0], &x[0], n, lo, hi)
	return n
}

func elemMulAdd(d, x []float32, m, b float32) int {
	n := len(d) &^ 7
	if !hasAVX2FMA || n == 0 {
		return 0
	}
	mulAddAvx2(&d[0], &x[0], n, m, b)
	return n
}

func elemHswish(d, x []float32, c, lo, hi float32) int {
	n := len(d) &^ 7
	if !hasAVX2FMA || n == 0 {
		return 0
	}
	hswishAvx2(&d[0], &x[0], n, c, lo, hi)
	return n
}

// mathfAvx2 computes f (mathfExp or mathfSigmoid) with AVX2 when the CPU
// has it but not AVX-512 (mathfAsm then does it all), and reports how
// many elements it did: all or none. The last len(src) mod 8 go through
// an 8-element buffer, so that every element gets the vector result
// whatever the length.
func mathfAvx2(f int, dst, src []float32) int {
	if !hasAVX2FMA || hasAVX512 || len(src) == 0 {
		return 0
	}
	var k func(dst, src *float32, n int)
	switch f {
	case mathfExp:
		k = expAvx2
	case mathfSigmoid:
		k = sigmoidAvx2
	case mathfErf:
		k = erfAvx2
	case mathfTanh:
		k = tanhAvx2
	case mathfGelu:
		k = geluAvx2
	case mathfGeluTanh:
		k = geluTanhAvx2
	default:
		return 0
	}
	n := len(src) &^ 7
	if n > 0 {
		k(&dst[0], &src[0], n)
	}
	if r := len(src) - n; r > 0 {
		var buf [8]float32
		copy(buf[:], src[n:])
		k(&buf[0], &buf[0], 8)
		copy(dst[n:], buf[:r])
	}
	return len(src)
}
