package metrics_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/mlapi/mlapi/internal/metrics"
	"github.com/mlapi/mlapi/internal/metrics/metricstest"
)

// equalROC reports whether two curves have the same points exactly.
func equalROC(a, b []metrics.ROCPoint) bool {
	return slices.EqualFunc(a, b, func(p, q metrics.ROCPoint) bool {
		sameThreshold := p.Threshold == nil && q.Threshold == nil ||
			p.Threshold != nil && q.Threshold != nil && *p.Threshold == *q.Threshold
		return sameThreshold && p.FalsePositiveRate == q.FalsePositiveRate && p.TruePositiveRate == q.TruePositiveRate
	})
}

func showROC(curve []metrics.ROCPoint) string {
	var b strings.Builder
	for _, p := range curve {
		threshold := "null"
		if p.Threshold != nil {
			threshold = fmt.Sprint(*p.Threshold)
		}
		fmt.Fprintf(&b, "(%s: %v, %v) ", threshold, p.FalsePositiveRate, p.TruePositiveRate)
	}
	return b.String()
}

func point(threshold, fpr, tpr float64) metrics.ROCPoint {
	return metrics.ROCPoint{Threshold: &threshold, FalsePositiveRate: fpr, TruePositiveRate: tpr}
}

var origin = metrics.ROCPoint{}

// TestROC checks small curves written out by hand: one point per distinct
// probability, and none at all without both classes.
func TestROC(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		samples []metrics.Sample
		want    []metrics.ROCPoint
	}{
		{"empty", nil, nil},
		{"one sample", []metrics.Sample{{Prob: 0.8, Label: true}}, nil},
		{"positives only", []metrics.Sample{{Prob: 0.9, Label: true}, {Prob: 0.4, Label: true}}, nil},
		{"negatives only", []metrics.Sample{{Prob: 0.9}, {Prob: 0.4}, {Prob: 0.4}}, nil},
		{
			"distinct",
			[]metrics.Sample{{Prob: 0.9, Label: true}, {Prob: 0.8}, {Prob: 0.3, Label: true}, {Prob: 0.2}},
			[]metrics.ROCPoint{origin, point(0.9, 0, 0.5), point(0.8, 0.5, 0.5), point(0.3, 0.5, 1), point(0.2, 1, 1)},
		},
		{
			"ties",
			[]metrics.Sample{
				{Prob: 0.9, Label: true}, {Prob: 0.9}, {Prob: 0.5, Label: true},
				{Prob: 0.5}, {Prob: 0.5, Label: true}, {Prob: 0.1},
			},
			[]metrics.ROCPoint{origin, point(0.9, 1.0/3, 1.0/3), point(0.5, 2.0/3, 1), point(0.1, 1, 1)},
		},
		{
			"one probability",
			[]metrics.Sample{{Prob: 0.5}, {Prob: 0.5, Label: true}, {Prob: 0.5}},
			[]metrics.ROCPoint{origin, point(0.5, 1, 1)},
		},
		{
			"0 and 1",
			[]metrics.Sample{{Prob: 1}, {Prob: 1, Label: true}, {Prob: 0, Label: true}, {Prob: 0}},
			[]metrics.ROCPoint{origin, point(1, 0.5, 0.5), point(0, 1, 1)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := metricstest.Compute(tt.samples)
			if err != nil {
				t.Fatal(err)
			}
			if !equalROC(got.ROC, tt.want) {
				t.Errorf("ROC curve %s; want %s", showROC(got.ROC), showROC(tt.want))
			}
			if (got.ROCAUC == nil) != (len(got.ROC) == 0) {
				t.Errorf("ROC AUC %v with a curve of %d points", show(got.ROCAUC), len(got.ROC))
			}
		})
	}
}

// stream returns n samples over distinct probabilities, highest first, each
// repeated up to ties times, with outcomes drawn from the probabilities.
func stream(seed uint64, distinct, ties int) []metrics.Sample {
	rng := rand.New(rand.NewPCG(seed, 1))
	var out []metrics.Sample
	for i := range distinct {
		p := 1 - float64(i)/float64(distinct)
		for range 1 + rng.IntN(ties) {
			out = append(out, metrics.Sample{Prob: p, Label: rng.Float64() < p})
		}
	}
	// Both classes, whatever the draw.
	out[0].Label, out[len(out)-1].Label = false, true
	return out
}

// TestROCThinned checks the curves of more than ROCPoints thresholds
// against the exact curve, counted by brute force: at most ROCPoints
// thresholds after (0, 0), each exactly on the curve, at evenly spaced
// ranks, ending with the lowest probability at (1, 1).
func TestROCThinned(t *testing.T) {
	t.Parallel()
	tests := []struct {
		distinct, ties int
	}{
		{2, 1}, {3, 2}, {199, 1}, {200, 1}, {200, 4}, {201, 1}, {202, 2},
		{399, 1}, {400, 1}, {401, 1}, {799, 2}, {800, 1}, {801, 1},
		{10_000, 1}, {10_000, 3}, {123_457, 2},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d×%d", tt.distinct, tt.ties), func(t *testing.T) {
			t.Parallel()
			samples := stream(uint64(tt.distinct), tt.distinct, tt.ties)
			got, err := metricstest.Compute(samples)
			if err != nil {
				t.Fatal(err)
			}
			roc := got.ROC

			// The distinct probabilities, highest first: rank r is
			// thresholds[r-1].
			var thresholds []float64
			var positives, negatives int
			for _, s := range samples {
				thresholds = append(thresholds, s.Prob)
				if s.Label {
					positives++
				} else {
					negatives++
				}
			}
			thresholds = slices.Compact(thresholds)
			rank := func(p float64) int {
				i, ok := slices.BinarySearchFunc(thresholds, p, func(x, p float64) int {
					switch {
					case x > p:
						return -1
					case x < p:
						return 1
					}
					return 0
				})
				if !ok {
					t.Fatalf("threshold %v is no sample's probability", p)
				}
				return i + 1
			}

			n := len(thresholds)
			switch {
			case n <= metrics.ROCPoints && len(roc) != n+1:
				t.Fatalf("%d points for %d thresholds; want every one and (0, 0)", len(roc), n)
			case len(roc) > metrics.ROCPoints+1 || len(roc) < min(n, metrics.ROCPoints/2)+1:
				t.Fatalf("%d points for %d thresholds; want (0, 0) and %d to %d", len(roc), n, metrics.ROCPoints/2, metrics.ROCPoints)
			}
			if !equalROC(roc[:1], []metrics.ROCPoint{origin}) {
				t.Fatalf("first point %s, want (null: 0, 0)", showROC(roc[:1]))
			}
			if last := roc[len(roc)-1]; last.Threshold == nil || *last.Threshold != thresholds[n-1] ||
				last.FalsePositiveRate != 1 || last.TruePositiveRate != 1 {
				t.Fatalf("last point %s, want (%v: 1, 1)", showROC(roc[len(roc)-1:]), thresholds[n-1])
			}

			ranks := []int{0}
			for _, p := range roc[1:] {
				if p.Threshold == nil {
					t.Fatalf("a null threshold past the start")
				}
				ranks = append(ranks, rank(*p.Threshold))
				var fp, tp int
				for _, s := range samples {
					switch {
					case s.Prob < *p.Threshold:
					case s.Label:
						tp++
					default:
						fp++
					}
				}
				if want := point(*p.Threshold, float64(fp)/float64(negatives), float64(tp)/float64(positives)); !equalROC([]metrics.ROCPoint{p}, []metrics.ROCPoint{want}) {
					t.Fatalf("point %s off the curve: want %s", showROC([]metrics.ROCPoint{p}), showROC([]metrics.ROCPoint{want}))
				}
			}
			// Evenly spread: one stride between ranks (strictly
			// decreasing thresholds), but the last, up to the lowest
			// probability, which may be shorter.
			stride := ranks[1]
			for i := 1; i < len(ranks); i++ {
				gap := ranks[i] - ranks[i-1]
				if gap <= 0 || gap > stride || gap < stride && i != len(ranks)-1 {
					t.Fatalf("ranks %v: gap %d at %d, want %d", ranks, gap, i, stride)
				}
			}
		})
	}
}

// TestROCResultBetweenAdds checks that Result, called after every Add while
// the curve is thinned, returns the curve of the samples so far and leaves
// the accumulator's as if it had not been called.
func TestROCResultBetweenAdds(t *testing.T) {
	t.Parallel()
	samples := stream(7, 1_000, 3)
	var a metrics.Accumulator
	for i, s := range samples {
		got := a.Result().ROC
		var fresh metrics.Accumulator
		for _, s := range samples[:i] {
			if err := fresh.Add(s); err != nil {
				t.Fatal(err)
			}
		}
		if want := fresh.Result().ROC; !equalROC(got, want) {
			t.Fatalf("after %d samples: %s\nwant %s", i, showROC(got), showROC(want))
		}
		if err := a.Add(s); err != nil {
			t.Fatal(err)
		}
	}
	want, err := metricstest.Compute(samples)
	if err != nil {
		t.Fatal(err)
	}
	if got := a.Result().ROC; !equalROC(got, want.ROC) || len(got) < metrics.ROCPoints/2 {
		t.Fatalf("ROC curve %s\nwant %s", showROC(got), showROC(want.ROC))
	}
}

// TestAddAllocates checks that streaming samples allocates nothing per
// sample, thinning included.
func TestAddAllocates(t *testing.T) {
	var a metrics.Accumulator
	p := 1.0
	allocs := testing.AllocsPerRun(100_000, func() {
		p = max(p-1e-6, 0)
		if err := a.Add(metrics.Sample{Prob: p, Label: p < 0.95}); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations a sample", allocs)
	}
	if got := len(a.Result().ROC); got < metrics.ROCPoints/2 || got > metrics.ROCPoints+1 {
		t.Errorf("%d points", got)
	}
}
