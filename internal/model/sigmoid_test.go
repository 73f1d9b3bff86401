package model

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestExpMatchesMathExp(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	inputs := []float64{0, math.Copysign(0, -1), 1, -1, 0.5, -0.5, math.Ln2 / 2, -math.Ln2 / 2, 88, -88, 699.9, -699.9, 700, -745, 710, math.Inf(1), math.Inf(-1)}
	for range 100000 {
		inputs = append(inputs, (rng.Float64()*2-1)*100)
	}
	for _, x := range inputs {
		got, want := exp(x), math.Exp(x)
		if want == 0 || math.IsInf(want, 0) {
			if got != want {
				t.Errorf("exp(%v) = %v, want %v", x, got, want)
			}
			continue
		}
		if rel := math.Abs(got-want) / want; rel > 1e-12 {
			t.Errorf("exp(%v) = %v, want %v (relative error %g)", x, got, want, rel)
		}
	}
	if !math.IsNaN(exp(math.NaN())) {
		t.Error("exp(NaN) is not NaN")
	}
}

func TestSigmoidMatchesFloat64Logistic(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	mismatches := 0
	const n = 200000
	for range n {
		m := float32((rng.Float64()*2 - 1) * 20)
		got := sigmoid(m)
		want := float32(1 / (1 + math.Exp(-float64(m))))
		if got != want {
			mismatches++
			if math.Abs(float64(got-want)) > 1e-7 {
				t.Fatalf("sigmoid(%v) = %v, want %v", m, got, want)
			}
		}
	}
	// A relative error of 1e-12 can only change a float32 rounding within
	// 1e-12 of a tie: a handful in 200 000 at most.
	if mismatches > 5 {
		t.Errorf("%d of %d float32 results differ from math.Exp's", mismatches, n)
	}
}
