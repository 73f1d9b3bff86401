package graph

import (
	"github.com/mlapi/mlapi/graph/gqlmodel"
	"github.com/mlapi/mlapi/internal/model"
	"github.com/mlapi/mlapi/internal/prediction"
	"github.com/mlapi/mlapi/internal/store"
)

// toModelInfo presents the served model. Each feature's description is its
// PredictInput field's, from the schema itself, so that a form built from
// model { features } labels its fields as the schema documents them, with or
// without introspection.
func toModelInfo(info model.Info) *gqlmodel.ModelInfo {
	input := parsedSchema.Types["PredictInput"]
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
		field := fieldName(f.Name)
		description := f.Name
		if def := input.Fields.ForName(field); def != nil && def.Description != "" {
			description = def.Description
		}
		out.Features = append(out.Features, gqlmodel.ModelFeature{
			Name:        f.Name,
			Field:       field,
			Type:        featureType,
			Min:         toFloat32(f.Min),
			Max:         toFloat32(f.Max),
			Description: description,
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
	return &gqlmodel.RequestConnection{
		TotalCount: page.TotalCount,
		PageInfo:   pageInfo(page.Cursors, page.HasNextPage, page.HasPreviousPage),
		Edges: edges(page.Requests, page.Cursors, func(cursor string, r *store.Request) gqlmodel.RequestEdge {
			return gqlmodel.RequestEdge{Cursor: cursor, Node: r}
		}),
	}
}

// edges makes a page's edges, each of a node and its cursor (cursors[i] is
// nodes[i]'s), with edge: gqlgen gives each connection an edge type of its
// own.
func edges[N, E any](nodes []N, cursors []string, edge func(cursor string, node *N) E) []E {
	out := make([]E, len(nodes))
	for i := range nodes {
		out[i] = edge(cursors[i], &nodes[i])
	}
	return out
}

// pageInfo is the PageInfo of a page whose edges have these cursors, in
// order: an empty page has neither a start nor an end cursor.
func pageInfo(cursors []string, hasNext, hasPrevious bool) *gqlmodel.PageInfo {
	info := &gqlmodel.PageInfo{HasNextPage: hasNext, HasPreviousPage: hasPrevious}
	if n := len(cursors); n > 0 {
		info.StartCursor = &cursors[0]
		info.EndCursor = &cursors[n-1]
	}
	return info
}

// contributions names each of an explanation's contributions, given in the
// model's feature order.
func (b *BoundModel) contributions(values []float64) []gqlmodel.FeatureContribution {
	out := make([]gqlmodel.FeatureContribution, len(b.features))
	for i, f := range b.features {
		out[i] = gqlmodel.FeatureContribution{Feature: f.name, Field: f.field, Value: float32(values[i])}
	}
	return out
}

// resultContributions names a prediction's contributions after the model
// that answered it, which a reload may have replaced since b was served.
func (b *BoundModel) resultContributions(result *prediction.Result) []gqlmodel.FeatureContribution {
	names := result.FeatureNames()
	values := result.Explanation().Contributions
	out := make([]gqlmodel.FeatureContribution, len(names))
	for i, name := range names {
		var field string
		if i < len(b.features) && b.features[i].name == name {
			field = b.features[i].field // fieldName(name), made once
		} else {
			field = fieldName(name)
		}
		out[i] = gqlmodel.FeatureContribution{Feature: name, Field: field, Value: float32(values[i])}
	}
	return out
}

func deref[T any](p *T, fallback T) T {
	if p == nil {
		return fallback
	}
	return *p
}
