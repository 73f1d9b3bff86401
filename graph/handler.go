package graph

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/validator/core"
	"github.com/vektah/gqlparser/v2/validator/rules"

	"github.com/mlapi/mlapi/internal/gqlhttp"
	"github.com/mlapi/mlapi/internal/httpserver"
)

// Limits bound what one operation may ask for.
type Limits struct {
	// MaxDepth is how deeply fields may nest (introspection excluded).
	MaxDepth int
	// MaxComplexity is the cost budget of one operation; a page of requests
	// costs its size times the fields selected in it.
	MaxComplexity int
	// MaxTokens bounds the parser's work on one document.
	MaxTokens int
}

// DefaultLimits leave room for every query the API documents and GraphiQL's
// introspection, and refuse the abusive shapes.
func DefaultLimits() Limits {
	return Limits{MaxDepth: 8, MaxComplexity: 2500, MaxTokens: 5000}
}

// Options configure the GraphQL handler.
type Options struct {
	Introspection bool
	Limits        Limits
	Persisted     gqlhttp.PersistedOptions
	Logger        *slog.Logger
}

// NewHandler returns the GraphQL endpoint, served as GraphQL over HTTP:
// queries over GET or POST, mutations over POST with a JSON body only, so
// that no browser form, link or image can trigger one.
func NewHandler(resolver *Resolver, opts Options) (http.Handler, error) {
	cfg := Config{Resolvers: resolver}
	cfg.Complexity.Viewer.Requests = func(childComplexity int, first *int, _ *string, _ *time.Time) int {
		return requestsComplexity(childComplexity, first)
	}
	// Each prediction is a database commit: aliasing predict must not turn
	// one document into thousands of writes.
	cfg.Complexity.Mutation.Predict = func(childComplexity int, _ map[string]any) int {
		return predictCost + childComplexity
	}
	schema := NewExecutableSchema(cfg)
	persisted, err := gqlhttp.NewPersisted(opts.Persisted, schema.Schema())
	if err != nil {
		return nil, err
	}
	srv := handler.New(schema)
	srv.AddTransport(gqlhttp.Transport{})
	srv.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	srv.Use(persisted)
	srv.SetParserTokenLimit(opts.Limits.MaxTokens)
	srv.SetDisableSuggestion(true)
	srv.SetValidationRulesFn(rulesWithoutSuggestions)
	if opts.Introspection {
		srv.Use(extension.Introspection{})
	} else {
		srv.Use(introspectionOff{})
	}
	srv.Use(gqlhttp.NewDeferral(schema.Schema()))
	srv.Use(depthLimit{max: opts.Limits.MaxDepth})
	srv.Use(oncePerOperation{fields: []string{"token", "registerUser"}})
	srv.Use(extension.FixedComplexityLimit(opts.Limits.MaxComplexity))
	present := errorPresenter(opts.Logger)
	srv.SetErrorPresenter(present)
	srv.SetRecoverFunc(recoverPanic(opts.Logger))
	// gqlgen nests interceptors in the order they are added, the first
	// outermost: annotateLog must see the refusal's code, not the coercion
	// error the refusal replaces.
	srv.AroundResponses(annotateLog)
	srv.Use(variableRefusals{resolver: resolver, present: present})
	return srv, nil
}

// rulesWithoutSuggestions is gqlparser's rule set with every rule that
// would answer "Did you mean ...?" replaced by its silent variant, so
// misspellings do not map the schema for a caller without introspection.
func rulesWithoutSuggestions() *rules.Rules {
	r := rules.NewDefaultRules()
	for _, rule := range []core.Rule{
		rules.KnownArgumentNamesRuleWithoutSuggestions,
		rules.KnownTypeNamesRuleWithoutSuggestions,
		rules.ValuesOfCorrectTypeRuleWithoutSuggestions,
	} {
		r.RemoveRule(strings.TrimSuffix(rule.Name, "WithoutSuggestions"))
		r.AddRule(rule.Name, rule.RuleFunc)
	}
	return r
}

// annotateLog adds the operation and its error codes to the request's log line.
func annotateLog(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	if resp == nil {
		return resp
	}
	if graphql.HasOperationContext(ctx) {
		op := graphql.GetOperationContext(ctx)
		if op.Operation != nil {
			httpserver.Annotate(ctx, slog.String("op_type", string(op.Operation.Operation)))
		}
		if op.OperationName != "" {
			httpserver.Annotate(ctx, slog.String("op", op.OperationName))
		}
	}
	if len(resp.Errors) > 0 {
		codes := make([]string, 0, len(resp.Errors))
		for _, e := range resp.Errors {
			code, _ := e.Extensions["code"].(string)
			codes = append(codes, code)
		}
		httpserver.Annotate(ctx, slog.Any("error_codes", codes))
	}
	return resp
}
