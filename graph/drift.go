package graph

import (
	"context"
	"time"

	"github.com/mlapi/mlapi/graph/gqlmodel"
)

// driftCost prices drift: it reads every input served in the range.
const driftCost = 200

// drift answers Query.drift for administrators: null when the served model
// ships no reference distribution.
func (r *Resolver) drift(ctx context.Context, from *time.Time, until *time.Time) (*gqlmodel.DriftReport, error) {
	if _, err := r.accounts.RequireAdmin(ctx); err != nil {
		return nil, err
	}
	served := r.served()
	if served.drifts == nil {
		return nil, nil
	}
	report, err := served.drifts.Report(ctx, from, until)
	if err != nil || report == nil {
		return nil, err
	}
	fields := make(map[string]string, len(served.features))
	for _, f := range served.features {
		fields[f.name] = f.field
	}
	out := &gqlmodel.DriftReport{From: report.From, Until: report.Until, Count: report.Count,
		Features: make([]gqlmodel.FeatureDrift, len(report.Features))}
	for i, f := range report.Features {
		fd := gqlmodel.FeatureDrift{Feature: f.Name, Field: fields[f.Name], Psi: toFloat32(f.PSI),
			Bins: make([]gqlmodel.DriftBin, len(f.Shares))}
		for j := range f.Shares {
			b := gqlmodel.DriftBin{Expected: float32(f.Shares[j]), Actual: float32(f.Actual[j])}
			if j > 0 {
				b.Lower = toFloat32(&f.Cuts[j-1])
			}
			if j < len(f.Cuts) {
				b.Upper = toFloat32(&f.Cuts[j])
			}
			fd.Bins[j] = b
		}
		out.Features[i] = fd
	}
	return out, nil
}
