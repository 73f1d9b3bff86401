package graph

import (
	"context"
	"time"

	"github.com/mlapi/mlapi/graph/gqlmodel"
	"github.com/mlapi/mlapi/internal/prediction"
	"github.com/mlapi/mlapi/internal/store"
)

// explainCost is what explaining one logged response costs against the
// complexity budget (contributions and bias each recompute it): a page of
// 100 with contributions costs about half the default budget.
const explainCost = 10

// requests pages the caller's history.
func (r *Resolver) requests(ctx context.Context, obj *gqlmodel.Viewer, first *int, after *string, last *int, before *string, since *time.Time, filter *store.RequestFilter, orderBy *store.Order) (*gqlmodel.RequestConnection, error) {
	page, err := r.served().predictions.History(ctx, obj.ID, prediction.HistoryQuery{
		First: first, Last: last, After: deref(after, ""), Before: deref(before, ""),
		Since: since, Filter: deref(filter, store.RequestFilter{}), Order: deref(orderBy, store.NewestFirst),
	})
	if err != nil {
		return nil, err
	}
	return toConnection(page), nil
}

// responseContributions explains a logged response, or is null when it
// cannot (see prediction.Service.Explanation).
func (r *Resolver) responseContributions(ctx context.Context, obj *store.Response) ([]gqlmodel.FeatureContribution, error) {
	userID, err := r.responseOwner(ctx)
	if err != nil {
		return nil, err
	}
	served := r.served()
	explanation, ok, err := served.predictions.Explanation(ctx, userID, obj)
	if err != nil || !ok {
		return nil, err
	}
	return served.contributions(explanation.Contributions), nil
}

// responseBias is the bias of responseContributions' explanation.
func (r *Resolver) responseBias(ctx context.Context, obj *store.Response) (*float32, error) {
	userID, err := r.responseOwner(ctx)
	if err != nil {
		return nil, err
	}
	explanation, ok, err := r.served().predictions.Explanation(ctx, userID, obj)
	if err != nil || !ok {
		return nil, err
	}
	bias := float32(explanation.Bias)
	return &bias, nil
}

// responseOwner is the caller, whose response is being explained: every
// PredictionResponse the API returns is the caller's own, and a read of
// its request, when one is needed, is scoped to the caller.
func (r *Resolver) responseOwner(ctx context.Context) (int64, error) {
	_, userID, err := r.accounts.CallerID(ctx)
	return userID, err
}
