package graph

import (
	"github.com/mlapi/mlapi/graph/gqlmodel"
	"github.com/mlapi/mlapi/internal/model"
	"github.com/mlapi/mlapi/internal/prediction"
)

func toModelInfo(info model.Info) *gqlmodel.ModelInfo {
	out := &gqlmodel.ModelInfo{
		ID:             encodeNodeID(nodeModelInfo, info.Version),
		Version:        info.Version,
		Objective:      info.Objective,
		Booster:        info.Booster,
		NumTrees:       info.NumTrees,
		MaxDepth:       info.MaxDepth,
		BaseScore:      float32(info.BaseScore),
		XgboostVersion: info.XGBoostVersion,
		BestIteration:  info.BestIteration,
	}
	for _, f := range info.Features {
		featureType := gqlmodel.FeatureTypeNumeric
		if f.Type == model.Boolean {
			featureType = gqlmodel.FeatureTypeBoolean
		}
		out.Features = append(out.Features, gqlmodel.ModelFeature{
			Name:  f.Name,
			Field: fieldName(f.Name),
			Type:  featureType,
			Min:   toFloat32(f.Min),
			Max:   toFloat32(f.Max),
		})
	}
	return out
}

func toFloat32(p *float64) *float32 {
	if p == nil {
		return nil
	}
	f := float32(*p)
	return &f
}

// toConnection presents a page of the history as a Relay connection.
func toConnection(page prediction.Page) *gqlmodel.RequestConnection {
	conn := &gqlmodel.RequestConnection{
		TotalCount: page.TotalCount,
		PageInfo:   &gqlmodel.PageInfo{HasNextPage: page.HasNextPage, HasPreviousPage: page.HasPreviousPage},
		Edges:      make([]gqlmodel.RequestEdge, len(page.Requests)),
	}
	for i := range page.Requests {
		conn.Edges[i] = gqlmodel.RequestEdge{Cursor: page.Cursors[i], Node: &page.Requests[i]}
	}
	if n := len(page.Cursors); n > 0 {
		conn.PageInfo.StartCursor = &page.Cursors[0]
		conn.PageInfo.EndCursor = &page.Cursors[n-1]
	}
	return conn
}

// contributions names each of an explanation's contributions, given in the
// model's feature order.
func (r *Resolver) contributions(values []float64) []gqlmodel.FeatureContribution {
	out := make([]gqlmodel.FeatureContribution, len(r.features))
	for i, f := range r.features {
		out[i] = gqlmodel.FeatureContribution{Feature: f.name, Field: f.field, Value: float32(values[i])}
	}
	return out
}

func deref[T any](p *T, fallback T) T {
	if p == nil {
		return fallback
	}
	return *p
}
