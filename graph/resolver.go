// Package graph is the GraphQL adapter: gqlgen's generated executor, thin
// resolvers that delegate to the services in internal/, and the protections
// every operation passes through (limits and the error presenter).
package graph

//go:generate sh -c "cd .. && go tool gqlgen generate --config gqlgen.yml"

import (
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/mlapi/mlapi/internal/account"
	"github.com/mlapi/mlapi/internal/audit"
	"github.com/mlapi/mlapi/internal/serving"
	"github.com/mlapi/mlapi/internal/stats"
)

// Resolver holds the services the resolvers delegate to.
type Resolver struct {
	accounts *account.Service
	// models holds the served model with the services that answer with it
	// (model.go): a resolver reads it once, through served.
	models *serving.Holder[*BoundModel]
	// schema is the API's schema, for checking documents outside gqlgen's
	// executor.
	schema *ast.Schema
	// live holds the subscriptions (subscriptions.go); nil: none served.
	live *liveUpdates
	// charts computes me.stats (stats.go); nil: stats are unavailable.
	charts *stats.Service
	// audits verifies the audit log (audit.go); nil: auditLog fails.
	audits *audit.Service
}

// NewResolver returns the root resolver, answering with the model models
// serves at the time of each request.
func NewResolver(accounts *account.Service, models *serving.Holder[*BoundModel], opts ...ResolverOption) *Resolver {
	r := &Resolver{
		accounts: accounts,
		models:   models,
		schema:   NewExecutableSchema(Config{}).Schema(),
	}
	for _, opt := range opts {
		opt(r)
	}
	return r
}

// ResolverOption sets an optional part of the Resolver.
type ResolverOption func(*Resolver)
