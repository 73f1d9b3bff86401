// Package drift measures how far the inputs a model serves have moved from
// its training data: the population stability index (PSI) per feature, over
// bins cut at the training data's deciles. The training data's side, the
// reference distribution, is computed once (Build) and ships with the model
// as reference.json (Parse reads it back).
package drift

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
)

// Bins is how many quantile bins a feature's reference asks for: its
// deciles cut it in ten, fewer when values repeat (see Build).
const Bins = 10

// Reference is the distribution of a model's training data, per feature.
type Reference struct {
	// Source says what data it was computed from, for people.
	Source string `json:"source,omitempty"`
	// Rows is how many training rows it was computed from.
	Rows     int                `json:"rows"`
	Features []FeatureReference `json:"features"`
}

// FeatureReference is one feature's bins and the share of the training
// rows in each.
//
// Bins are closed on the right: with n cuts, bin 0 holds x <= Cuts[0], bin i
// holds Cuts[i-1] < x <= Cuts[i], and bin n holds x > Cuts[n-1]. A boolean
// feature (0 or 1) thus has one cut, at 0: bin 0 is false, bin 1 true.
type FeatureReference struct {
	Name string `json:"name"`
	// Cuts are increasing.
	Cuts []float64 `json:"cuts"`
	// Shares has one entry per bin (len(Cuts)+1); they add up to 1.
	Shares []float64 `json:"shares"`
}

// Bin returns the bin x falls in.
func (f FeatureReference) Bin(x float64) int {
	// The first cut at or above x: bins are closed on the right.
	i, _ := slices.BinarySearch(f.Cuts, x)
	return i
}

// Feature returns the reference of the named feature.
func (r *Reference) Feature(name string) (FeatureReference, bool) {
	for _, f := range r.Features {
		if f.Name == name {
			return f, true
		}
	}
	return FeatureReference{}, false
}

// Quantile returns the q-quantile of sorted (increasing, not empty) by
// linear interpolation between the closest ranks, as numpy.quantile and
// numpy.percentile compute it by default (method="linear"): at position
// h = (n-1)q, sorted[floor(h)] + (h-floor(h)) * (sorted[floor(h)+1] - sorted[floor(h)]).
func Quantile(sorted []float64, q float64) float64 {
	h := float64(len(sorted)-1) * q
	lo := int(math.Floor(h))
	if lo >= len(sorted)-1 {
		return sorted[len(sorted)-1]
	}
	return sorted[lo] + (h-float64(lo))*(sorted[lo+1]-sorted[lo])
}

// BuildFeature computes a feature's reference from its training values
// (missing values, NaN, left out). The cuts are the deciles (Quantile at
// 0.1, ..., 0.9), each kept only when it is below the largest value and the
// bin it closes holds a training value, so that no bin of the training
// data is empty by construction: a feature of few distinct values gets
// fewer bins (a boolean, two, cut at 0).
func BuildFeature(name string, values []float64) (FeatureReference, error) {
	sorted := make([]float64, 0, len(values))
	for _, v := range values {
		if !math.IsNaN(v) {
			sorted = append(sorted, v)
		}
	}
	if len(sorted) == 0 {
		return FeatureReference{}, fmt.Errorf("feature %s: no value", name)
	}
	slices.Sort(sorted)
	f := FeatureReference{Name: name, Cuts: []float64{}}
	largest := sorted[len(sorted)-1]
	below := sorted[0] - 1 // any value below the smallest
	for i := 1; i < Bins; i++ {
		c := Quantile(sorted, float64(i)/Bins)
		if c >= largest {
			break
		}
		// The bin c closes, (previous cut, c], must hold a training value:
		// deciles interpolated between two distinct values (0 and 1 of a
		// boolean) would otherwise cut empty bins.
		prev := below
		if len(f.Cuts) > 0 {
			prev = f.Cuts[len(f.Cuts)-1]
		}
		if j, _ := slices.BinarySearch(sorted, math.Nextafter(prev, math.Inf(1))); j < len(sorted) && sorted[j] <= c {
			f.Cuts = append(f.Cuts, c)
		}
	}
	counts := make([]int, len(f.Cuts)+1)
	for _, v := range sorted {
		counts[f.Bin(v)]++
	}
	f.Shares = make([]float64, len(counts))
	for i, n := range counts {
		f.Shares[i] = float64(n) / float64(len(sorted))
	}
	return f, nil
}

// Parse reads a reference.json and checks it is one PSI can use: every
// feature named once, increasing finite cuts, and shares in [0, 1] for each
// bin adding up to 1.
func Parse(data []byte) (*Reference, error) {
	var r Reference
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, err
	}
	if len(r.Features) == 0 {
		return nil, fmt.Errorf("features: none")
	}
	seen := map[string]bool{}
	for i, f := range r.Features {
		where := fmt.Sprintf("features[%d] (%s)", i, f.Name)
		if f.Name == "" || seen[f.Name] {
			return nil, fmt.Errorf("%s: name empty or repeated", where)
		}
		seen[f.Name] = true
		for j, c := range f.Cuts {
			if math.IsNaN(c) || math.IsInf(c, 0) || (j > 0 && c <= f.Cuts[j-1]) {
				return nil, fmt.Errorf("%s: cuts must be finite and increasing", where)
			}
		}
		if len(f.Shares) != len(f.Cuts)+1 {
			return nil, fmt.Errorf("%s: %d shares for %d bins", where, len(f.Shares), len(f.Cuts)+1)
		}
		sum := 0.0
		for _, s := range f.Shares {
			if !(s >= 0 && s <= 1) {
				return nil, fmt.Errorf("%s: shares must be between 0 and 1", where)
			}
			sum += s
		}
		if math.Abs(sum-1) > 1e-9 {
			return nil, fmt.Errorf("%s: shares add up to %v, not 1", where, sum)
		}
	}
	return &r, nil
}

// Epsilon replaces an empty bin's share in PSI, where ln(0) is undefined:
// 1e-4, the value commonly used, caps one empty bin's term at about
// s * ln(s / 1e-4) for the other share s.
const Epsilon = 1e-4

// PSI is the population stability index of actual against expected, shares
// of the same bins: the sum over the bins of (a - e) * ln(a / e), each share
// taken as at least Epsilon. It is 0 for identical shares and grows with the
// shift; above 0.25 is commonly read as a large one.
func PSI(expected, actual []float64) float64 {
	psi := 0.0
	for i := range expected {
		e, a := max(expected[i], Epsilon), max(actual[i], Epsilon)
		psi += (a - e) * math.Log(a/e)
	}
	return psi
}
