package gqlmodel

import "github.com/mlapi/mlapi/internal/metrics"

// ModelPerformance is the performance figures of one set of predictions,
// for one model version when ModelVersion is set. It binds the schema's
// ModelPerformance to metrics' float64 figures directly, so they are printed
// at float64 precision (where the rest of the API prints float32) and equal
// scikit-learn's to 1e-9 as clients read them.
type ModelPerformance struct {
	ModelVersion *string
	metrics.Performance
}
