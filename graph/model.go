package graph

import (
	"context"

	"github.com/mlapi/mlapi/graph/gqlmodel"
	"github.com/mlapi/mlapi/internal/drift"
	"github.com/mlapi/mlapi/internal/model"
	"github.com/mlapi/mlapi/internal/prediction"
)

// BoundModel is a served model as the API uses it: its features bound to
// PredictInput's fields, as the model query presents it, and the services
// that answer with it. A resolver reads it once (Resolver.served) and keeps
// it for everything it does, so that a request never mixes two models, even
// across a reload.
type BoundModel struct {
	predictions *prediction.Service
	// drifts answers drift (drift.go); nil: no drift is measured.
	drifts *drift.Service
	// features lists the model's feature names in the order of its
	// explanations, with the PredictInput field carrying each.
	features []featureField
	info     *gqlmodel.ModelInfo
}

// BindModel binds the model info describes to the API, answered by
// predictions and drifts (nil: no drift is measured), which must serve that
// model. It refuses a model whose features are not exactly PredictInput's
// fields, so that a model swapped in at run time cannot silently receive
// the wrong inputs.
func BindModel(info model.Info, predictions *prediction.Service, drifts *drift.Service) (*BoundModel, error) {
	features, err := bindFeatures(parsedSchema, info)
	if err != nil {
		return nil, err
	}
	return &BoundModel{predictions: predictions, drifts: drifts, features: features, info: toModelInfo(info)}, nil
}

// Predictions is the prediction service answering with the model, for the
// other ways in than GraphQL (GET /export).
func (b *BoundModel) Predictions() *prediction.Service { return b.predictions }

// served is the model being served, read once.
func (r *Resolver) served() *BoundModel {
	return r.models.Current().View
}

// reloadModel reloads the served model for an administrator.
func (r *Resolver) reloadModel(ctx context.Context) (*gqlmodel.ModelReload, error) {
	if _, err := r.accounts.RequireAdmin(ctx); err != nil {
		return nil, err
	}
	reload, err := r.models.Reload(ctx)
	if err != nil {
		return nil, err
	}
	return &gqlmodel.ModelReload{
		Model:           reload.Served.View.info,
		Changed:         reload.Changed,
		PreviousVersion: reload.Previous.Info.Version,
		Source:          reload.Source,
		Message:         reload.Summary(),
	}, nil
}

// modelLoads lists the models served, newest first, for administrators.
func (r *Resolver) modelLoads(ctx context.Context, first *int, version *string) ([]gqlmodel.ModelLoad, error) {
	if _, err := r.accounts.RequireAdmin(ctx); err != nil {
		return nil, err
	}
	loads, err := r.models.Loads(ctx, first, deref(version, ""))
	if err != nil {
		return nil, err
	}
	out := make([]gqlmodel.ModelLoad, len(loads))
	for i, l := range loads {
		out[i] = gqlmodel.ModelLoad{
			Version: l.Version, LoadedAt: l.LoadedAt, Source: l.Source, NumTrees: l.NumTrees, MaxDepth: l.MaxDepth,
			XgboostVersion: l.XGBoostVersion, Features: l.Features,
		}
	}
	return out, nil
}
