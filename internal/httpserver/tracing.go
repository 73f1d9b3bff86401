package httpserver

import (
	"net/http"
	"strings"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// Trace starts each request's server span with tp, continuing the caller's
// trace when the request carries a W3C traceparent header, and ends it once
// the request is answered. route names the request's route (the pattern
// that serves it, "" when none does), for the span's name: the path itself
// would give each id its own span name.
//
// It goes before AccessLog, whose line then names the trace. Tracing off,
// the server leaves it out, and no request pays anything for it.
func Trace(tp trace.TracerProvider, route func(*http.Request) string) Middleware {
	tracer := tp.Tracer("github.com/mlapi/mlapi/internal/httpserver")
	var propagator propagation.TraceContext
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := propagator.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
			name := r.Method
			attrs := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(
				semconv.HTTPRequestMethodKey.String(r.Method),
				semconv.URLPath(r.URL.Path),
			)}
			// A pattern is "[METHOD ][HOST]/PATH": the route is its path.
			if pattern := route(r); strings.Contains(pattern, "/") {
				pattern = pattern[strings.Index(pattern, "/"):]
				name += " " + pattern
				attrs = append(attrs, trace.WithAttributes(semconv.HTTPRoute(pattern)))
			}
			ctx, span := tracer.Start(ctx, name, attrs...)
			defer span.End()
			rec := &statusRecorder{ResponseWriter: w}
			next.ServeHTTP(rec, r.WithContext(ctx))
			if rec.status == 0 {
				rec.status = http.StatusOK
			}
			span.SetAttributes(semconv.HTTPResponseStatusCode(rec.status))
			// A client's mistake is not the server's failure: only 5xx
			// marks the span, as the HTTP conventions say.
			if rec.status >= 500 {
				span.SetStatus(codes.Error, http.StatusText(rec.status))
			}
		})
	}
}

// sampledTraceID returns the id of the trace r is served in, when it is
// sampled: an unsampled trace is recorded nowhere, and its id would lead
// nowhere.
func sampledTraceID(r *http.Request) (string, bool) {
	sc := trace.SpanContextFromContext(r.Context())
	if !sc.IsSampled() {
		return "", false
	}
	return sc.TraceID().String(), true
}
