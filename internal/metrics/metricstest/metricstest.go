// Package metricstest computes the performance figures of samples given in
// any order, for tests to compare the server's streamed figures with: the
// server itself feeds metrics.Accumulator rows already sorted by the
// database.
package metricstest

import (
	"cmp"
	"slices"

	"github.com/mlapi/mlapi/internal/metrics"
)

// Compute returns the figures of samples, in any order; samples is not
// changed.
func Compute(samples []metrics.Sample) (metrics.Performance, error) {
	sorted := slices.Clone(samples)
	// Highest probability first, as the accumulator requires; ties keep
	// their order.
	slices.SortStableFunc(sorted, func(x, y metrics.Sample) int { return cmp.Compare(y.Prob, x.Prob) })
	var a metrics.Accumulator
	for _, s := range sorted {
		if err := a.Add(s); err != nil {
			return metrics.Performance{}, err
		}
	}
	return a.Result(), nil
}
