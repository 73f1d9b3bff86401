package metrics

import "testing"

// TestROCMemoryBounded checks that the points held for the ROC curve stay
// within their one allocation however many thresholds stream through.
func TestROCMemoryBounded(t *testing.T) {
	t.Parallel()
	const n = 1_000_000
	var a Accumulator
	for i := range n {
		if err := a.Add(Sample{Prob: 1 - float64(i)/n, Label: i%3 == 0}); err != nil {
			t.Fatal(err)
		}
		if len(a.roc) >= 2*ROCPoints || a.roc != nil && cap(a.roc) != 2*ROCPoints {
			t.Fatalf("after %d thresholds: %d points held, capacity %d", i+1, len(a.roc), cap(a.roc))
		}
	}
	if a.rocStep < n/(2*ROCPoints) {
		t.Errorf("step %d after %d thresholds", a.rocStep, n)
	}
}
