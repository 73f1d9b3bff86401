package graph

import (
	"context"
	"time"

	"github.com/mlapi/mlapi/graph/gqlmodel"
	"github.com/mlapi/mlapi/internal/account"
	"github.com/mlapi/mlapi/internal/metrics"
	"github.com/mlapi/mlapi/internal/store"
)

// performanceCost is what performance and modelPerformance cost against the
// complexity budget: each reads every matching row with an outcome, as
// much as a prediction's commit or more.
const performanceCost = 50

// recordOutcome records the caller's outcome for one of their requests.
func (r *Resolver) recordOutcome(ctx context.Context, requestID string, outcome bool, observedAt *time.Time) (*gqlmodel.Outcome, error) {
	id, err := decodeRowID(nodeRequest, requestID)
	if err != nil {
		return nil, err
	}
	ctx, userID, err := r.accounts.CallerID(ctx)
	if err != nil {
		return nil, err
	}
	o, err := r.served().predictions.RecordOutcome(ctx, userID, id, outcome, observedAt)
	if err != nil {
		return nil, account.CallerError(err)
	}
	return toOutcome(o), nil
}

// requestOutcome returns the outcome of a request of the caller's history:
// the one loaded with the request when the read asked for it, else read.
func (r *Resolver) requestOutcome(ctx context.Context, obj *store.Request) (*gqlmodel.Outcome, error) {
	if obj.Outcome != nil { // loaded with the request
		if !obj.Outcome.Recorded() {
			return nil, nil
		}
		return toOutcome(*obj.Outcome), nil
	}
	o, ok, err := r.served().predictions.Outcome(ctx, obj.UserID, obj.ID)
	if err != nil || !ok {
		return nil, err
	}
	return toOutcome(o), nil
}

// performance returns the model's performance on the caller's requests.
func (r *Resolver) performance(ctx context.Context, obj *gqlmodel.Viewer, filter *store.RequestFilter) (*gqlmodel.ModelPerformance, error) {
	// obj is always the authenticated caller: me and node(id:) return no other Viewer.
	p, err := r.served().predictions.Performance(ctx, obj.ID, deref(filter, store.RequestFilter{}))
	if err != nil {
		return nil, err
	}
	out := toModelPerformance(p)
	return &out, nil
}

// modelPerformance returns every model version's performance over all
// users' requests, for administrators.
func (r *Resolver) modelPerformance(ctx context.Context, filter *store.RequestFilter) ([]gqlmodel.ModelPerformance, error) {
	if _, err := r.accounts.RequireAdmin(ctx); err != nil {
		return nil, err
	}
	versions, err := r.served().predictions.ModelPerformance(ctx, deref(filter, store.RequestFilter{}))
	if err != nil {
		return nil, err
	}
	out := make([]gqlmodel.ModelPerformance, len(versions))
	for i, v := range versions {
		out[i] = toModelPerformance(v.Performance)
		out[i].ModelVersion = &v.ModelVersion
	}
	return out, nil
}

func toOutcome(o store.Outcome) *gqlmodel.Outcome {
	return &gqlmodel.Outcome{Outcome: o.Outcome, ObservedAt: o.ObservedAt, RecordedAt: o.UpdatedAt}
}

// toModelPerformance presents the figures, at float64 precision.
func toModelPerformance(p metrics.Performance) gqlmodel.ModelPerformance {
	return gqlmodel.ModelPerformance{Performance: p}
}
