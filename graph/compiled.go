package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"go.opentelemetry.io/otel/trace"

	"github.com/mlapi/mlapi/graph/scalar"
	"github.com/mlapi/mlapi/internal/account"
	"github.com/mlapi/mlapi/internal/httpserver"
	"github.com/mlapi/mlapi/internal/lru"
	"github.com/mlapi/mlapi/internal/prediction"
)

// Compiled predicts. Nearly all of an API client's traffic is one document
// sent again and again: the predict mutation with its input in a variable
// and a few scalar fields of the answer. gqlgen's executor spends most of
// the server's CPU on such a request rebuilding what never changes (the
// operation context, the variables' validation, the field collection) and
// marshalling through several layers. compiledPredicts answers it directly.
//
// It runs only documents the executor has run before: a document is
// compiled when the executor answered it without any error, so every check
// of the document itself (parsing, validation, depth, complexity, the
// persisted documents' rules, introspection) has passed for that very text,
// and those checks do not depend on the variables. What depends on the
// variables or the caller is checked again on every request, by the same
// code the executor calls: the token, the input's GraphQL types, the
// model's validation, the user's status in the statement that logs.
//
// Anything out of the ordinary goes to the executor: an input GraphQL's
// coercion might refuse, a refused token, extensions. Before any side
// effect, that costs nothing but the time spent. After one (the prediction
// was logged, or its log refused), the executor renders the outcome the
// compiled path obtained instead of predicting again (precomputedPredict),
// so that every error reaches the client exactly as it would have.

// compiledPlanBytes bounds the memory the compiled documents hold, keys
// (the documents' text) included; a document that does not fit is simply
// not compiled.
const (
	compiledPlanBytes    = 1 << 20
	compiledPlanMaxEntry = 64 << 10
)

// predictPlan is one compiled document: a mutation whose only root field is
// predict, its input a variable of type PredictInput!, selecting scalar
// fields of Prediction.
type predictPlan struct {
	// variable is the name of the variable holding the input.
	variable string
	// responseName is the root field's alias, or predict.
	responseName string
	// operationName is the operation's name as the client chose it, for
	// the log line; definedName the name the document gives it, for its
	// span (tracing.go).
	operationName, definedName string
	fields                     []compiledField
}

// compiledField is one selected field of Prediction, under its response
// name.
type compiledField struct {
	responseName string
	marshal      func(r *Resolver, p *prediction.Result) graphql.Marshaler
}

// predictionFields are the fields of Prediction a plan may select: each
// marshalled as the generated executor marshals it, through the same
// resolver methods and scalar marshallers. The others (request,
// contributions, bias) need the executor.
var predictionFields = map[string]func(r *Resolver, p *prediction.Result) graphql.Marshaler{
	"__typename": func(*Resolver, *prediction.Result) graphql.Marshaler { return graphql.MarshalString("Prediction") },
	"id": func(r *Resolver, p *prediction.Result) graphql.Marshaler {
		id, _ := r.Prediction().ID(context.Background(), p)
		return graphql.MarshalID(id)
	},
	"requestId": func(r *Resolver, p *prediction.Result) graphql.Marshaler {
		id, _ := r.Prediction().RequestID(context.Background(), p)
		return graphql.MarshalID(id)
	},
	"yhatProb": func(_ *Resolver, p *prediction.Result) graphql.Marshaler { return scalar.MarshalFloat32(p.YhatProb) },
	"yhat":     func(_ *Resolver, p *prediction.Result) graphql.Marshaler { return graphql.MarshalInt(p.Yhat) },
	"margin":   func(_ *Resolver, p *prediction.Result) graphql.Marshaler { return scalar.MarshalFloat32(p.Margin) },
	"modelVersion": func(_ *Resolver, p *prediction.Result) graphql.Marshaler {
		return graphql.MarshalString(p.ModelVersion)
	},
	"createdAt": func(_ *Resolver, p *prediction.Result) graphql.Marshaler { return scalar.MarshalTime(p.CreatedAt) },
}

// compiledPredicts compiles the predict documents the executor answered
// (as a response interceptor) and answers them again without it (as the
// transport's shortcut).
type compiledPredicts struct {
	resolver *Resolver
	// recover is the executor's: a panic answers INTERNAL, logged.
	recover graphql.RecoverFunc
	plans   *lru.Cache[*predictPlan]
	// tracing opens the operation's span, as the executor's extension
	// does; nil when tracing is off.
	tracing *operationTracing
}

func newCompiledPredicts(resolver *Resolver, recover graphql.RecoverFunc, tracing *operationTracing) *compiledPredicts {
	return &compiledPredicts{resolver: resolver, recover: recover, plans: lru.New[*predictPlan](compiledPlanBytes, compiledPlanMaxEntry), tracing: tracing}
}

var (
	_ graphql.HandlerExtension    = (*compiledPredicts)(nil)
	_ graphql.ResponseInterceptor = (*compiledPredicts)(nil)
)

func (*compiledPredicts) ExtensionName() string                   { return "CompiledPredicts" }
func (*compiledPredicts) Validate(graphql.ExecutableSchema) error { return nil }

// planKey names a document by its text and the operation chosen in it.
func planKey(query, operationName string) string {
	return operationName + "\x00" + query
}

// InterceptResponse compiles the operation just answered, when it is a
// predict the compiled path can run and the executor found nothing wrong.
func (c *compiledPredicts) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	if resp == nil || len(resp.Errors) > 0 || !graphql.HasOperationContext(ctx) {
		return resp
	}
	op := graphql.GetOperationContext(ctx)
	// A persisted document or any other extension may change what the
	// request means: only plain documents are compiled.
	if len(op.Extensions) > 0 || op.Operation == nil {
		return resp
	}
	key := planKey(op.RawQuery, op.OperationName)
	if _, ok := c.plans.Get(key); ok {
		return resp
	}
	if plan, ok := compilePredict(op.Operation); ok {
		plan.operationName = op.OperationName
		c.plans.Add(key, plan, len(key)+64*len(plan.fields)+128)
	}
	return resp
}

// compilePredict returns the plan of operation, if it has the one shape
// plans cover: mutation($v: PredictInput!) { predict(input: $v) { scalar
// fields } }, aliases allowed, no directives, fragments or default values.
func compilePredict(operation *ast.OperationDefinition) (*predictPlan, bool) {
	if operation.Operation != ast.Mutation || len(operation.Directives) > 0 || len(operation.VariableDefinitions) != 1 ||
		len(operation.SelectionSet) != 1 {
		return nil, false
	}
	def := operation.VariableDefinitions[0]
	if def.DefaultValue != nil || len(def.Directives) > 0 || def.Type.Elem != nil || !def.Type.NonNull ||
		def.Type.NamedType != predictInputType {
		return nil, false
	}
	root, ok := operation.SelectionSet[0].(*ast.Field)
	if !ok || root.Name != "predict" || len(root.Directives) > 0 || len(root.Arguments) != 1 {
		return nil, false
	}
	arg := root.Arguments[0]
	if arg.Name != "input" || arg.Value == nil || arg.Value.Kind != ast.Variable || arg.Value.Raw != def.Variable {
		return nil, false
	}
	plan := &predictPlan{variable: def.Variable, responseName: responseName(root), definedName: operation.Name}
	seen := make(map[string]bool, len(root.SelectionSet))
	for _, sel := range root.SelectionSet {
		field, ok := sel.(*ast.Field)
		if !ok || len(field.Directives) > 0 || len(field.Arguments) > 0 || len(field.SelectionSet) > 0 {
			return nil, false
		}
		marshal, ok := predictionFields[field.Name]
		name := responseName(field)
		// A response name given twice is merged by the executor: left to it.
		if !ok || seen[name] {
			return nil, false
		}
		seen[name] = true
		plan.fields = append(plan.fields, compiledField{responseName: name, marshal: marshal})
	}
	return plan, len(plan.fields) > 0
}

func responseName(f *ast.Field) string {
	if f.Alias != "" {
		return f.Alias
	}
	return f.Name
}

// Answer runs a compiled document. It returns the answer, or nil and the
// context the executor must run the request in: ctx itself when nothing
// has happened yet, or one carrying the prediction's outcome
// (precomputedPredict) once the prediction was logged or refused.
func (c *compiledPredicts) Answer(ctx context.Context, params *graphql.RawParams) (*graphql.Response, context.Context) {
	if len(params.Extensions) > 0 || params.Query == "" || len(params.Variables) != 1 {
		return nil, ctx
	}
	plan, ok := c.plans.Get(planKey(params.Query, params.OperationName))
	if !ok {
		return nil, ctx
	}
	// One model answers the whole request, should a reload serve another
	// meanwhile.
	served := c.resolver.served()
	received, ok := params.Variables[plan.variable].(map[string]any)
	if !ok || !served.coercible(received) {
		return nil, ctx
	}
	callerCtx, userID, err := c.resolver.accounts.CallerID(ctx)
	if err != nil {
		return nil, ctx
	}
	modelInput, logged, problems := served.typePredictInput(received)
	if len(problems) > 0 {
		return nil, ctx
	}

	// The log line tells which path answered.
	httpserver.Annotate(ctx, slog.String("exec", "compiled"))
	// The executor's operation span (tracing.go), opened here; should the
	// executor render the outcome after all, it ends the span.
	var span trace.Span
	if c.tracing != nil {
		callerCtx, span = c.tracing.startOperation(callerCtx, ast.Mutation, "predict", plan.definedName)
		ctx = withOperationSpan(ctx, span)
	}
	outcome := &predictOutcome{}
	func() {
		// The executor would have turned a panic into an INTERNAL error;
		// so does this, once it is logged.
		defer func() {
			if p := recover(); p != nil {
				outcome.result, outcome.err = nil, c.recover(ctx, p)
			}
		}()
		outcome.result, outcome.err = served.predictions.PredictReceived(callerCtx, userID, modelInput, logged)
		outcome.err = account.CallerError(outcome.err)
	}()
	if outcome.err != nil {
		return nil, withPrecomputedPredict(ctx, outcome)
	}
	data, ok := plan.render(c.resolver, outcome.result)
	if !ok {
		return nil, withPrecomputedPredict(ctx, outcome)
	}
	annotateOperation(ctx, ast.Mutation, "predict", plan.operationName, nil)
	if span != nil {
		span.End()
	}
	return &graphql.Response{Data: data}, ctx
}

// coercible reports whether GraphQL's coercion of input, a PredictInput
// variable as the client sent it, certainly succeeds and changes nothing
// the model reads: every field present, Floats as JSON numbers, Booleans
// as true or false, nothing else. What it refuses may still be valid
// GraphQL; the executor judges it.
func (b *BoundModel) coercible(input map[string]any) bool {
	if len(input) != len(b.features) {
		return false
	}
	for _, f := range b.features {
		switch v := input[f.field].(type) {
		case bool:
			if !f.boolean {
				return false
			}
		case json.Number:
			if f.boolean || !isFloatText(string(v)) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// render writes the plan's data for a prediction, as the executor writes
// it; false when a field would be null, which only the executor reports.
func (p *predictPlan) render(r *Resolver, result *prediction.Result) ([]byte, bool) {
	var buf bytes.Buffer
	buf.Grow(256)
	buf.WriteString(`{"`)
	buf.WriteString(p.responseName)
	buf.WriteString(`":{`)
	for i, f := range p.fields {
		m := f.marshal(r, result)
		if m == graphql.Null {
			return nil, false
		}
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteByte('"')
		buf.WriteString(f.responseName)
		buf.WriteString(`":`)
		m.MarshalGQL(&buf)
	}
	buf.WriteString("}}")
	return buf.Bytes(), true
}

// predictOutcome is a prediction the compiled path made, for the executor
// to render.
type predictOutcome struct {
	result *prediction.Result
	err    error
}

type precomputedPredictKey struct{}

func withPrecomputedPredict(ctx context.Context, outcome *predictOutcome) context.Context {
	return context.WithValue(ctx, precomputedPredictKey{}, outcome)
}

// precomputedPredict returns the outcome of the predict the compiled path
// already made for this request. Its document has one predict, so the
// outcome is that field's.
func precomputedPredict(ctx context.Context) (*predictOutcome, bool) {
	outcome, ok := ctx.Value(precomputedPredictKey{}).(*predictOutcome)
	return outcome, ok
}

// annotateOperation adds the operation (its type, first root field and
// name) and its errors' codes to the request's log line, which the metrics
// read too.
func annotateOperation(ctx context.Context, kind ast.Operation, field, name string, errs gqlerror.List) {
	// One call: each takes the annotations' lock.
	var attrs [4]slog.Attr
	notes := attrs[:0]
	if kind != "" {
		notes = append(notes, slog.String(httpserver.OperationTypeKey, string(kind)))
	}
	if field != "" {
		notes = append(notes, slog.String(httpserver.RootFieldKey, field))
	}
	if name != "" {
		notes = append(notes, slog.String("op", name))
	}
	if len(errs) > 0 {
		notes = append(notes, slog.Any(httpserver.ErrorCodesKey, errorCodes(errs)))
	}
	if len(notes) > 0 {
		httpserver.Annotate(ctx, notes...)
	}
}

// errorCodes are errs' codes (extensions.code), "" for an error without one.
func errorCodes(errs gqlerror.List) []string {
	codes := make([]string, 0, len(errs))
	for _, e := range errs {
		code, _ := e.Extensions["code"].(string)
		codes = append(codes, code)
	}
	return codes
}
