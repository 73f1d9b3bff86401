package model

import "math"

// sigmoid is the logistic function XGBoost applies to the margin, rounded to
// float32 as XGBoost computes it. It uses its own exp: math.Exp was a
// quarter of a prediction's time, and a float32 result needs far less than
// its full float64 accuracy.
func sigmoid(margin float32) float32 {
	return float32(1 / (1 + exp(-float64(margin))))
}

// exp returns e**x with a relative error below 1e-12 for |x| <= 700 (the
// float32 margins passed to it are far inside that), which leaves the float32
// rounding of sigmoid identical to one computed with math.Exp. Beyond that
// range it defers to math.Exp, which handles overflow and underflow.
//
// x = k*ln2 + r with |r| <= ln2/2, so e**x = 2**k * e**r, and e**r is its
// Taylor polynomial of degree 10 (truncation error below 3e-13), evaluated by
// Estrin's scheme to keep the dependency chain short.
func exp(x float64) float64 {
	if !(x > -700 && x < 700) {
		return math.Exp(x)
	}
	const (
		log2e = 1.44269504088896338700e+00
		ln2Hi = 6.93147180369123816490e-01
		ln2Lo = 1.90821492927058770002e-10
		// Adding then subtracting 1.5*2**52 rounds to the nearest integer.
		roundMagic = 6755399441055744.0
	)
	shifted := x*log2e + roundMagic
	k := shifted - roundMagic
	r := (x - k*ln2Hi) - k*ln2Lo
	r2 := r * r
	r4 := r2 * r2
	r8 := r4 * r4
	b0 := (1 + r) + (1.0/2+r*(1.0/6))*r2
	b1 := (1.0/24 + r*(1.0/120)) + (1.0/720+r*(1.0/5040))*r2
	b2 := (1.0/40320 + r*(1.0/362880)) + (1.0/3628800)*r2
	p := (b0 + b1*r4) + b2*r8
	return p * math.Float64frombits(uint64(int64(k)+1023)<<52)
}
