package kernels

import "math"

// Element-wise transcendental functions on float32 slices. They compute
// in float32 with polynomial approximations instead of calling the
// float64 routines of package math, which is several times faster and
// accurate to a few float32 ulps (see mathf_test.go for the bounds). Each
// writes dst[i] = f(src[i]); dst and src may be the same slice.
//
// On amd64 with AVX-512 the same algorithms run 16 lanes at a time in
// assembly (mathf_amd64.s, written by internal/asmgen/mathf.go); the Go
// loops below are the fallback and the reference.

// The element-wise functions, as indices for mathfAsm.
const (
	mathfExp = iota
	mathfErf
	mathfTanh
	mathfSigmoid
	mathfGelu
	mathfGeluTanh
)

const (
	log2e  = 1.44269504088896341
	ln2Hi  = 0.693359375 // ln 2 split so that k*ln2Hi is exact for |k| < 2^9
	ln2Lo  = -2.12194440e-4
	expMax = 88.72283905206835 // ln(MaxFloat32)
	expMin = -87.33654475      // ln(smallest normal float32)

	roundMagic = 12582912 // 1.5 * 2**23
)

// expf returns e**x for float32 x.
func expf(x float32) float32 {
	switch {
	case x != x:
		return x
	case x > expMax:
		return float32(math.Inf(1))
	case x < expMin:
		if x < -103.972 {
			return 0
		}
		// Subnormal results: let float64 do the rounding.
		return float32(math.Exp(float64(x)))
	}
	// Round x/ln2 to the nearest integer by adding and removing 1.5*2**23
	// (the float32 additions round; the conversions keep them separate).
	k := float32(float32(x*log2e)+roundMagic) - roundMagic
	r := x - k*ln2Hi - k*ln2Lo
	// e**r on |r| <= ln2/2 by its Taylor polynomial to r**7.
	p := float32(1.0 / 5040)
	p = p*r + 1.0/720
	p = p*r + 1.0/120
	p = p*r + 1.0/24
	p = p*r + 1.0/6
	p = p*r + 0.5
	p = p*r + 1
	p = p*r + 1
	return p * math.Float32frombits(uint32(int32(k)+127)<<23)
}

// Exp computes dst[i] = e**src[i].
func Exp(dst, src []float32) {
	dst = dst[:len(src)]
	if mathfAsm(mathfExp, dst, src) {
		return
	}
	n := mathfAvx2(mathfExp, dst, src)
	for i, x := range src[n:] {
		dst[n+i] = expf(x)
	}
}

// erf Taylor coefficients: 2/sqrt(pi) * (-1)**n / (n! (2n+1)).
var erfTaylor = [...]float32{
	1.1283791670955126, -0.37612638903183754, 0.11283791670955126, -0.026866170645131252,
	0.005223977625442188, -0.0008548327023450852, 0.00012055332981789664, -1.4925650358406252e-05,
	1.6462114365889246e-06, -1.6365844691234924e-07,
}

// erff returns the error function of x.
func erff(x float32) float32 {
	ax := x
	if ax < 0 {
		ax = -ax
	}
	switch {
	case x != x:
		return x
	case ax < 1:
		z := x * x
		p := erfTaylor[len(erfTaylor)-1]
		for i := len(erfTaylor) - 2; i >= 0; i-- {
			p = p*z + erfTaylor[i]
		}
		return x * p
	case ax >= 4:
		if x < 0 {
			return -1
		}
		return 1
	}
	// Abramowitz & Stegun 7.1.26: erfc(x) ~ t*P(t)*e**(-x*x), t = 1/(1+p*x),
	// absolute error below 1.5e-7 (a few ulps where erf >= 0.84).
	t := 1 / (1 + 0.3275911*ax)
	p := float32(1.061405429)
	p = p*t - 1.453152027
	p = p*t + 1.421413741
	p = p*t - 0.284496736
	p = p*t + 0.254829592
	y := 1 - p*t*expf(-ax*ax)
	if x < 0 {
		return -y
	}
	return y
}

// Erf computes dst[i] = erf(src[i]).
func Erf(dst, src []float32) {
	dst = dst[:len(src)]
	if mathfAsm(mathfErf, dst, src) {
		return
	}
	n := mathfAvx2(mathfErf, dst, src)
	for i, x := range src[n:] {
		dst[n+i] = erff(x)
	}
}

// tanhf returns the hyperbolic tangent of x.
func tanhf(x float32) float32 {
	ax := x
	if ax < 0 {
		ax = -ax
	}
	switch {
	case x != x:
		return x
	case ax < 0.3:
		// Taylor series to x**11 (the next term is below 2e-8 relative).
		z := x * x
		p := float32(-1382.0 / 155925)
		p = p*z + 62.0/2835
		p = p*z - 17.0/315
		p = p*z + 2.0/15
		p = p*z - 1.0/3
		return x + x*z*p
	case ax > 9.1:
		if x < 0 {
			return -1
		}
		return 1
	}
	y := 1 - 2/(expf(2*ax)+1)
	if x < 0 {
		return -y
	}
	return y
}

// Tanh computes dst[i] = tanh(src[i]).
func Tanh(dst, src []float32) {
	dst = dst[:len(src)]
	if mathfAsm(mathfTanh, dst, src) {
		return
	}
	n := mathfAvx2(mathfTanh, dst, src)
	for i, x := range src[n:] {
		dst[n+i] = tanhf(x)
	}
}

// Sigmoid computes dst[i] = 1 / (1 + e**-src[i]).
func Sigmoid(dst, src []float32) {
	dst = dst[:len(src)]
	if mathfAsm(mathfSigmoid, dst, src) {
		return
	}
	n := mathfAvx2(mathfSigmoid, dst, src)
	for i, x := range src[n:] {
		if x >= 0 {
			dst[n+i] = 1 / (1 + expf(-x))
		} else {
			e := expf(x)
			dst[n+i] = e / (1 + e)
		}
	}
}

// Gelu computes the exact (erf-based) GELU, dst[i] = x/2 * (1 + erf(x/√2)).
func Gelu(dst, src []float32) {
	dst = dst[:len(src)]
	if mathfAsm(mathfGelu, dst, src) {
		return
	}
	n := mathfAvx2(mathfGelu, dst, src)
	for i, x := range src[n:] {
		dst[n+i] = 0.5 * x * (1 + erff(x*0.70710678118654752))
	}
}

// GeluTanh computes the tanh approximation of GELU,
// x/2 * (1 + tanh(√(2/π) * (x + 0.044715 x³))).
func GeluTanh(dst, src []float32) {
	dst = dst[:len(src)]
	if mathfAsm(mathfGeluTanh, dst, src) {
		return
	}
	n := mathfAvx2(mathfGeluTanh, dst, src)
	for i, x := range src[n:] {
		dst[n+i] = 0.5 * x * (1 + tanhf(0.7978845608028654*(x+0.044715*x*x*x)))
	}
}
