// Package graph is the GraphQL adapter: gqlgen's generated executor, thin
// resolvers that delegate to the services in internal/, and the protections
// every operation passes through (limits and the error presenter).
package graph

//go:generate sh -c "cd .. && go tool gqlgen generate --config gqlgen.yml"

import (
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/mlapi/mlapi/graph/gqlmodel"
	"github.com/mlapi/mlapi/internal/account"
	"github.com/mlapi/mlapi/internal/drift"
	"github.com/mlapi/mlapi/internal/model"
	"github.com/mlapi/mlapi/internal/prediction"
	"github.com/mlapi/mlapi/internal/stats"
)

// Resolver holds the services the resolvers delegate to.
type Resolver struct {
	accounts    *account.Service
	predictions *prediction.Service
	modelInfo   *gqlmodel.ModelInfo
	// schema is the API's schema, for checking documents outside gqlgen's
	// executor.
	schema *ast.Schema
	// features lists the model's feature names in the order of its
	// explanations, with the PredictInput field carrying each.
	features []featureField
	// live holds the subscriptions (subscriptions.go); nil: none served.
	live *liveUpdates
	// charts computes me.stats (stats.go); nil: stats are unavailable.
	charts *stats.Service
	// drifts answers drift (drift.go); nil: no drift is measured.
	drifts *drift.Service
}

// NewResolver returns the root resolver. It refuses a model whose features
// are not exactly PredictInput's fields, so a model swapped in at run time
// cannot silently receive the wrong inputs.
func NewResolver(accounts *account.Service, predictions *prediction.Service, info model.Info, opts ...ResolverOption) (*Resolver, error) {
	schema := NewExecutableSchema(Config{}).Schema()
	features, err := bindFeatures(schema, info)
	if err != nil {
		return nil, err
	}
	r := &Resolver{
		accounts:    accounts,
		predictions: predictions,
		modelInfo:   toModelInfo(info),
		schema:      schema,
		features:    features,
	}
	for _, opt := range opts {
		opt(r)
	}
	return r, nil
}

// ResolverOption sets an optional part of the Resolver.
type ResolverOption func(*Resolver)
