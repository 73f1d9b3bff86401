package store_test

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/mlapi/mlapi/internal/store"
	"github.com/mlapi/mlapi/internal/store/storetest"
)

// unsampled returns ctx in a trace its caller did not sample.
func unsampled(ctx context.Context) context.Context {
	return trace.ContextWithRemoteSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1, 2, 3}, SpanID: trace.SpanID{4, 5, 6},
	}))
}

// One batch carries traced and untraced callers' predictions: each request
// row gets its own caller's trace id, or NULL, and each traced caller a
// span of the write under its own span, covering the batch it went in.
func TestLogPredictionStoresEachCallersTrace(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		recorder := tracetest.NewSpanRecorder()
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder))
		db := openWith(t, storetest.URL(t, dialect), store.Options{Traces: tp})
		g := installGate(t, db)
		u := createUser(t, db, "ada")
		caller := tp.Tracer("test")

		firstCtx, first := caller.Start(t.Context(), "first caller")
		lastCtx, last := caller.Start(t.Context(), "last caller")
		logs := []store.PredictionLog{okLog(u.ID, 1), okLog(u.ID, 2), okLog(u.ID, 3)}
		// The first is written alone while the two others queue behind it,
		// to be written together.
		outs := []<-chan logOutcome{g.holdFirst(t, firstCtx, db, logs[0])}
		outs = append(outs, g.enqueue(t, unsampled(t.Context()), db, logs[1]), g.enqueue(t, lastCtx, db, logs[2]))
		g.release()
		if n := receive(t, g.writing, "the queued calls' write"); n != 2 {
			t.Fatalf("the queued calls went in a batch of %d, want 2", n)
		}
		want := []*string{ptr(first.SpanContext().TraceID().String()), nil, ptr(last.SpanContext().TraceID().String())}
		for i, out := range outs {
			logged := wantLogged(t, out)
			r, err := db.Request(t.Context(), u.ID, logged.RequestID)
			if err != nil {
				t.Fatal(err)
			}
			if !sameString(r.TraceID, want[i]) || !sameString(logged.TraceID, want[i]) {
				t.Errorf("call %d: stored trace %v, answered %v, want %v", i, deref(r.TraceID), deref(logged.TraceID), deref(want[i]))
			}
		}

		spans := map[trace.SpanID]sdktrace.ReadOnlySpan{}
		for _, s := range recorder.Ended() {
			if s.Name() == "log prediction" {
				spans[s.Parent().SpanID()] = s
			}
		}
		if len(spans) != 2 {
			t.Fatalf("%d spans of the log's writes were recorded, want 2 (the unsampled caller's is not)", len(spans))
		}
		for parent, batch := range map[trace.Span]int{first: 1, last: 2} {
			s, ok := spans[parent.SpanContext().SpanID()]
			if !ok {
				t.Fatalf("no write span under caller %s", parent.SpanContext().SpanID())
			}
			if s.SpanContext().TraceID() != parent.SpanContext().TraceID() || s.SpanKind() != trace.SpanKindClient {
				t.Errorf("write span %+v: not a client span in its caller's trace", s.SpanContext())
			}
			events := s.Events()
			if len(events) != 1 || events[0].Name != "write" || !hasAttr(events[0].Attributes, "db.operation.batch.size", int64(batch)) {
				t.Errorf("write span's events %+v, want one write of a batch of %d", events, batch)
			}
		}
	})
}

// With no tracer, a request logged in a sampled trace still records its
// id (the server's other spans may be there), and one in no trace NULL.
func TestLogPredictionUntracedStoresTheCallersTrace(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		u := createUser(t, db, "ada")
		tp := sdktrace.NewTracerProvider()
		ctx, span := tp.Tracer("test").Start(t.Context(), "caller")
		defer span.End()
		for _, c := range []struct {
			name string
			ctx  context.Context
			want *string
		}{
			{"sampled", ctx, ptr(span.SpanContext().TraceID().String())},
			{"unsampled", unsampled(t.Context()), nil},
			{"no trace", t.Context(), nil},
		} {
			logged, err := db.LogPrediction(c.ctx, okLog(u.ID, 1))
			if err != nil {
				t.Fatal(err)
			}
			r, err := db.Request(t.Context(), u.ID, logged.RequestID)
			if err != nil {
				t.Fatal(err)
			}
			if !sameString(r.TraceID, c.want) {
				t.Errorf("%s: stored trace %v, want %v", c.name, deref(r.TraceID), deref(c.want))
			}
		}
	})
}

func deref(s *string) string {
	if s == nil {
		return "NULL"
	}
	return *s
}

func sameString(a, b *string) bool { return deref(a) == deref(b) }

func hasAttr(attrs []attribute.KeyValue, key string, value int64) bool {
	for _, a := range attrs {
		if string(a.Key) == key {
			return a.Value.AsInt64() == value
		}
	}
	return false
}
