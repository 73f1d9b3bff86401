package graph

import (
	"cmp"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/validator/core"
	"github.com/vektah/gqlparser/v2/validator/rules"
	"go.opentelemetry.io/otel/trace"

	"github.com/mlapi/mlapi/graph/gqlmodel"
	"github.com/mlapi/mlapi/internal/gqlhttp"
	"github.com/mlapi/mlapi/internal/store"
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
	// MaxIntrospectionFields bounds the fields an operation asks of
	// __schema and __type, fragments counted as often as they are spread:
	// introspection is free in the complexity budget.
	MaxIntrospectionFields int
	// MaxFragments bounds the fragments one document defines: validation
	// walks each from every fragment that reaches it.
	MaxFragments int
	// MaxValidationVisits bounds the selections validation walks:
	// every operation and fragment with the fragments it reaches, each
	// fragment counted once per operation or fragment reaching it.
	MaxValidationVisits int
	// MaxSelections bounds the fields, inline fragments and fragment
	// spreads written in one document, counted before validation.
	MaxSelections int
	// MaxSameResponseName bounds how many fields of one response name one
	// selection set (with its inline fragments) may hold: validation
	// compares every pair of them.
	MaxSameResponseName int
	// MaxFieldPairs bounds the pairs of fields of one response name that
	// validation compares in the document: in each selection set, its
	// fields and those of the fragments it spreads.
	MaxFieldPairs int
	// MaxMergeWork bounds the comparisons of fields of one name, their
	// sub-selections included, that validation would make (see mergeWork).
	MaxMergeWork int
	// MaxErrors bounds the errors of one answer; validation stops there.
	MaxErrors int
	// DocumentCacheBytes bounds the parsed documents kept, by an estimate
	// of their size in memory.
	DocumentCacheBytes int
	// MaxResponseBytes bounds one answer as written; a larger one is
	// replaced by an error.
	MaxResponseBytes int
}

// DefaultLimits returns limits that leave room for every query the API
// documents and for GraphiQL's introspection, and refuse the abusive shapes.
func DefaultLimits() Limits {
	return Limits{
		MaxDepth:               8,
		MaxComplexity:          2500,
		MaxTokens:              5000,
		MaxIntrospectionFields: 500,
		MaxFragments:           100,
		MaxSelections:          1500,
		MaxValidationVisits:    10000,
		MaxSameResponseName:    20,
		MaxFieldPairs:          10000,
		MaxMergeWork:           200000,
		MaxErrors:              20,
		DocumentCacheBytes:     4 << 20,
		MaxResponseBytes:       4 << 20,
	}
}

// withDefaults fills the limits left at zero with DefaultLimits': a caller
// that sets some limits must not turn the others off (or refuse everything).
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	for _, f := range []struct{ v, d *int }{
		{&l.MaxDepth, &d.MaxDepth}, {&l.MaxComplexity, &d.MaxComplexity}, {&l.MaxTokens, &d.MaxTokens},
		{&l.MaxIntrospectionFields, &d.MaxIntrospectionFields}, {&l.MaxFragments, &d.MaxFragments}, {&l.MaxSelections, &d.MaxSelections},
		{&l.MaxValidationVisits, &d.MaxValidationVisits}, {&l.MaxSameResponseName, &d.MaxSameResponseName},
		{&l.MaxFieldPairs, &d.MaxFieldPairs}, {&l.MaxErrors, &d.MaxErrors}, {&l.DocumentCacheBytes, &d.DocumentCacheBytes},
		{&l.MaxResponseBytes, &d.MaxResponseBytes}, {&l.MaxMergeWork, &d.MaxMergeWork},
	} {
		if *f.v <= 0 {
			*f.v = *f.d
		}
	}
	return l
}

// Options configure the GraphQL handler.
type Options struct {
	Introspection bool
	Limits        Limits
	Persisted     gqlhttp.PersistedOptions
	Logger        *slog.Logger
	// Live configures the websocket and server-sent events transports of
	// subscriptions.
	Live gqlhttp.LiveOptions
	// CompiledPredicts answers a predict document the executor has
	// answered before without it (compiled.go): the same checks and the
	// same answers at a fraction of the CPU.
	CompiledPredicts bool
	// Traces, when set, gives each operation a span (tracing.go); nil
	// leaves the handler as it is without tracing.
	Traces trace.TracerProvider
}

// NewHandler returns the GraphQL endpoint, served as GraphQL over HTTP:
// queries over GET or POST, mutations over POST with a JSON body only, so
// that no browser form, link or image can trigger one.
func NewHandler(resolver *Resolver, opts Options) (http.Handler, error) {
	srv, _, err := newServer(resolver, opts)
	if err != nil {
		return nil, err
	}
	return srv, nil
}

// newServer is NewHandler, also returning the parsed documents' cache for
// the tests to inspect.
func newServer(resolver *Resolver, opts Options) (*handler.Server, *documents, error) {
	opts.Limits = opts.Limits.withDefaults()
	cfg := Config{Resolvers: resolver}
	cfg.Complexity.Viewer.Requests = func(childComplexity int, first *int, _ *string, last *int, _ *string, _ *time.Time, _ *store.RequestFilter, _ *store.Order) int {
		return pageComplexity(childComplexity, cmp.Or(first, last))
	}
	cfg.Complexity.Query.Users = func(childComplexity int, first *int, _ *string, _ *string) int {
		return pageComplexity(childComplexity, first)
	}
	cfg.Complexity.Query.Models = func(childComplexity int, first *int, _ *string) int {
		return pageComplexity(childComplexity, first)
	}
	// Each prediction is a database commit: aliasing predict must not turn
	// one document into thousands of writes.
	cfg.Complexity.Mutation.Predict = func(childComplexity int, _ map[string]any) int {
		return saturatingAdd(predictCost, childComplexity)
	}
	// A stored input is up to 4 KiB: aliasing it across a page must not
	// build an answer of megabytes within the budget.
	cfg.Complexity.PredictionRequest.Input = func(int) int { return inputCost }
	// Each explanation in the history is a TreeSHAP walk of every tree.
	cfg.Complexity.PredictionResponse.Contributions = func(child int) int { return saturatingAdd(explainCost, child) }
	cfg.Complexity.PredictionResponse.Bias = func(int) int { return explainCost }
	// Performance reads every matching prediction with an outcome.
	cfg.Complexity.Viewer.Performance = func(child int, _ *store.RequestFilter) int { return saturatingAdd(performanceCost, child) }
	cfg.Complexity.Query.ModelPerformance = func(child int, _ *store.RequestFilter) int { return saturatingAdd(performanceCost, child) }
	// Stats are three aggregates over the matching requests; the number of
	// buckets is only known once they run, so the price is fixed.
	cfg.Complexity.Viewer.Stats = func(child int, _ *store.RequestFilter, _ *gqlmodel.TimeBucket, _ *string) int {
		return saturatingAdd(statsCost, child)
	}
	// Drift reads every input served in its range (at most a year).
	cfg.Complexity.Query.Drift = func(child int, _ *time.Time, _ *time.Time) int { return saturatingAdd(driftCost, child) }
	cfg.Complexity.Query.AuditLog = func(child int) int { return saturatingAdd(auditCost, child) }
	schema := NewExecutableSchema(cfg)
	persisted, err := gqlhttp.NewPersisted(opts.Persisted, schema.Schema())
	if err != nil {
		return nil, nil, err
	}
	srv := handler.New(schema)
	// The streaming transports first: gqlhttp.Transport claims every
	// request, and gqlgen asks the transports in the order they are added.
	for _, t := range gqlhttp.LiveTransports(opts.Live) {
		srv.AddTransport(t)
	}
	present := errorPresenter(opts.Logger)
	recoverer := recoverPanic(opts.Logger)
	transport := gqlhttp.Transport{MaxResponseBytes: opts.Limits.MaxResponseBytes}
	var tracing *operationTracing
	if opts.Traces != nil {
		t := newOperationTracing(opts.Traces)
		tracing = &t
	}
	var compiled *compiledPredicts
	if opts.CompiledPredicts {
		compiled = newCompiledPredicts(resolver, recoverer, tracing)
		transport.Shortcut = compiled
	}
	srv.AddTransport(transport)
	// documents parses and validates each document within the limits, and
	// is the cache of parsed documents: gqlgen's own parse and validation
	// find the document there. It is used after every other limit, so that
	// a document is cached only once an operation of it passed them all.
	docs := newDocuments(schema.Schema(), opts.Limits, validationRules)
	srv.SetQueryCache(docs)
	srv.Use(persisted)
	srv.Use(receivedParams{}) // before anything parses: refusals log what was sent
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
	srv.Use(oncePerOperation{fields: []string{"token", "registerUser", "changePassword", "reloadModel", "auditLog"}})
	srv.Use(complexityLimit{es: schema, max: opts.Limits.MaxComplexity})
	srv.Use(introspectionLimit{max: opts.Limits.MaxIntrospectionFields})
	srv.Use(docs)
	srv.SetErrorPresenter(present)
	srv.SetRecoverFunc(recoverer)
	// gqlgen nests interceptors in the order they are added, the first
	// outermost: annotateLog must see the refusal's code, not the coercion
	// error the refusal replaces; capErrors, innermost, lays out the
	// errors documents joined before any other interceptor reads them.
	if tracing != nil {
		// Outermost: the operation's span covers the other interceptors'
		// work.
		srv.Use(*tracing)
	}
	srv.AroundResponses(annotateLog)
	srv.Use(variableRefusals{resolver: resolver, present: present})
	srv.Use(capErrors{max: opts.Limits.MaxErrors, present: present})
	if compiled != nil {
		// It compiles only what the executor answered with no error at all,
		// so where it sits among the interceptors does not matter.
		srv.Use(compiled)
	}
	return srv, docs, nil
}

// validationRules returns the rules documents validates with: gqlparser's,
// none of them suggesting anything. On top of rulesWithoutSuggestions, it
// swaps FieldsOnCorrectType and ScalarLeafs for their silent variants.
// gqlgen does that swap itself when suggestions are off, as they are here,
// but documents validates without gqlgen, so it must do it too.
func validationRules() *rules.Rules {
	r := rulesWithoutSuggestions()
	for _, rule := range []core.Rule{
		rules.FieldsOnCorrectTypeRuleWithoutSuggestions,
		rules.ScalarLeafsRuleWithoutSuggestions,
	} {
		r.RemoveRule(strings.TrimSuffix(rule.Name, "WithoutSuggestions"))
		r.AddRule(rule.Name, rule.RuleFunc)
	}
	return r
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
	var kind ast.Operation
	var field, name string
	if graphql.HasOperationContext(ctx) {
		op := graphql.GetOperationContext(ctx)
		if op.Operation != nil {
			kind = op.Operation.Operation
			field = rootField(op.Operation.SelectionSet, 0)
		}
		name = op.OperationName
	}
	annotateOperation(ctx, kind, field, name, resp.Errors)
	return resp
}
