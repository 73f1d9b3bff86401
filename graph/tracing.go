package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// Tracing the GraphQL operation. Each operation gets a span, named by its
// type and name ("mutation Predict"), in the request's trace: the
// resolvers' spans (the model's evaluation, the log's write) are its
// children. The compiled path (compiled.go) opens the same span itself; if
// it hands the request to the executor after all, the span goes along in the
// context and the executor's extension ends it rather than open another, so
// that one operation has one span whichever path answered it.
//
// The span starts once the document is parsed and validated (gqlgen runs
// response interceptors after that): a refused document's span holds its
// errors' codes only.

// maxSpanOperationName bounds the operation's name in a span's name and
// attributes: the client chooses it.
const maxSpanOperationName = 64

// operationTracing is the executor's extension that opens the operation's
// span.
type operationTracing struct {
	tracer trace.Tracer
}

var (
	_ graphql.HandlerExtension    = operationTracing{}
	_ graphql.ResponseInterceptor = operationTracing{}
)

func newOperationTracing(tp trace.TracerProvider) operationTracing {
	return operationTracing{tracer: tp.Tracer("github.com/mlapi/mlapi/graph")}
}

func (operationTracing) ExtensionName() string                   { return "OperationTracing" }
func (operationTracing) Validate(graphql.ExecutableSchema) error { return nil }

// InterceptResponse runs the operation in its span. A subscription's
// events each get one: the stream's own lifetime is its HTTP request's span.
func (o operationTracing) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	span, ok := ctx.Value(operationSpanKey{}).(trace.Span)
	if !ok {
		var kind ast.Operation
		var field, name string
		if graphql.HasOperationContext(ctx) {
			op := graphql.GetOperationContext(ctx)
			if op.Operation != nil {
				// The name the document gives the operation: a client may
				// send no operationName when the document has one operation.
				kind, field, name = op.Operation.Operation, rootField(op.Operation.SelectionSet, 0), op.Operation.Name
			}
		}
		ctx, span = o.startOperation(ctx, kind, field, name)
	}
	defer span.End()
	resp := next(ctx)
	if resp != nil {
		endOperation(span, resp.Errors)
	}
	return resp
}

// startOperation starts the span of an operation of kind, its first root
// field and its name.
func (o operationTracing) startOperation(ctx context.Context, kind ast.Operation, field, name string) (context.Context, trace.Span) {
	if len(name) > maxSpanOperationName {
		// A GraphQL name is ASCII: any cut is a whole character.
		name = name[:maxSpanOperationName]
	}
	spanName := string(kind)
	if spanName == "" {
		spanName = "GraphQL Operation"
	}
	attrs := make([]attribute.KeyValue, 0, 3)
	if kind != "" {
		attrs = append(attrs, semconv.GraphQLOperationTypeKey.String(string(kind)))
	}
	if name != "" {
		spanName += " " + name
		attrs = append(attrs, semconv.GraphQLOperationName(name))
	}
	if field != "" {
		attrs = append(attrs, attribute.String("mlapi.graphql.root_field", field))
	}
	return o.tracer.Start(ctx, spanName, trace.WithAttributes(attrs...))
}

// endOperation records the answer's errors' codes on span: an operation
// that answered an error failed.
func endOperation(span trace.Span, errs gqlerror.List) {
	if len(errs) == 0 {
		return
	}
	found := errorCodes(errs)
	span.SetAttributes(attribute.StringSlice("mlapi.graphql.error_codes", found))
	span.SetStatus(codes.Error, found[0])
}

// operationSpanKey holds the operation's span the compiled path opened, for
// the executor to end when the compiled path hands the request over.
type operationSpanKey struct{}

// withOperationSpan returns ctx carrying span as the current span and as the
// operation's.
func withOperationSpan(ctx context.Context, span trace.Span) context.Context {
	return context.WithValue(trace.ContextWithSpan(ctx, span), operationSpanKey{}, span)
}
