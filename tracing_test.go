package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/99designs/gqlgen/client"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/mlapi/mlapi/internal/export"
	"github.com/mlapi/mlapi/internal/store"
	"github.com/mlapi/mlapi/internal/store/storetest"
)

// newTracedAPI starts the API on dialect with tracing on, every span it
// ends recorded in memory.
func newTracedAPI(t *testing.T, dialect string) (*testAPI, *tracetest.SpanRecorder) {
	t.Helper()
	recorder := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder))
	t.Cleanup(func() { tp.Shutdown(t.Context()) })
	return newTestAPIWith(t, dialect, []appOption{withTraces(tp)}), recorder
}

// tracedPredict is a document the compiled path takes once the executor has
// answered it.
const tracedPredict = `mutation Predict($in: PredictInput!) { predict(input: $in) { id requestId yhatProb yhat } }`

// traceparent is a caller's W3C traceparent header: a trace of its own
// (numbered n), from a span of its own, sampled or not.
func traceparent(n int, sampled bool) (header string, traceID trace.TraceID, parent trace.SpanID) {
	flags := "00"
	if sampled {
		flags = "01"
	}
	header = fmt.Sprintf("00-%032x-%016x-%s", 0xabc000+n, 0xdef000+n, flags)
	traceID, _ = trace.TraceIDFromHex(fmt.Sprintf("%032x", 0xabc000+n))
	parent, _ = trace.SpanIDFromHex(fmt.Sprintf("%016x", 0xdef000+n))
	return header, traceID, parent
}

// spansOf returns the spans recorded in trace id, by name; it fails t if a
// name is there twice.
func spansOf(t *testing.T, recorder *tracetest.SpanRecorder, id trace.TraceID) map[string]sdktrace.ReadOnlySpan {
	t.Helper()
	spans := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range recorder.Ended() {
		if s.SpanContext().TraceID() != id {
			continue
		}
		if _, twice := spans[s.Name()]; twice {
			t.Errorf("trace %s holds two spans %q", id, s.Name())
		}
		spans[s.Name()] = s
	}
	return spans
}

// wantChild fails t unless the span named child is parent's child.
func wantChild(t *testing.T, spans map[string]sdktrace.ReadOnlySpan, child, parent string) {
	t.Helper()
	c, p := spans[child], spans[parent]
	if c == nil || p == nil {
		t.Fatalf("spans %q under %q: the trace holds %v", child, parent, slices.Sorted(maps.Keys(spans)))
	}
	if c.Parent().SpanID() != p.SpanContext().SpanID() {
		t.Errorf("span %q's parent is %s, want %q (%s)", child, c.Parent().SpanID(), parent, p.SpanContext().SpanID())
	}
}

func attrOf(s sdktrace.ReadOnlySpan, key attribute.Key) attribute.Value {
	for _, a := range s.Attributes() {
		if a.Key == key {
			return a.Value
		}
	}
	return attribute.Value{}
}

// A predict sent with a traceparent, through the executor and then the
// compiled path, is traced in the caller's trace: the server's span under
// the caller's, the operation's under it, the model's evaluation and the
// log's write under the operation's. The access log line, the request's
// row and the history name that trace.
func TestTracingPredict(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		api, recorder := newTracedAPI(t, dialect)
		_, token := api.user(t, "ada")
		vars := client.Var("in", seedInput())

		for n, path := range []string{"executor", "compiled"} {
			header, traceID, parent := traceparent(n, true)
			resp := api.post(t, token, tracedPredict, vars, client.AddHeader("traceparent", header))
			if len(resp.Errors) > 0 {
				t.Fatalf("%s: predict: %s", path, resp.Raw)
			}
			line := api.lastLogLine(t)
			if (line["exec"] == "compiled") != (path == "compiled") {
				t.Fatalf("%s: the log line says exec %v", path, line["exec"])
			}
			if line["trace_id"] != traceID.String() {
				t.Errorf("%s: the access log line names trace %v, want %s", path, line["trace_id"], traceID)
			}
			if n := api.queryInt(t, fmt.Sprintf("SELECT count(*) FROM requests WHERE trace_id = '%s'", traceID)); n != 1 {
				t.Errorf("%s: %d request rows hold trace %s, want 1", path, n, traceID)
			}

			spans := spansOf(t, recorder, traceID)
			server := spans["POST /query"]
			if server == nil {
				t.Fatalf("%s: no server span in trace %s: %v", path, traceID, slices.Sorted(maps.Keys(spans)))
			}
			if server.Parent().SpanID() != parent || !server.Parent().IsRemote() || server.SpanKind() != trace.SpanKindServer {
				t.Errorf("%s: the server span's parent is %+v (kind %v), want the caller's span %s", path, server.Parent(), server.SpanKind(), parent)
			}
			if got := attrOf(server, "http.response.status_code").AsInt64(); got != 200 {
				t.Errorf("%s: the server span says status %d", path, got)
			}
			wantChild(t, spans, "mutation Predict", "POST /query")
			wantChild(t, spans, "model.evaluate", "mutation Predict")
			wantChild(t, spans, "log prediction", "mutation Predict")
			if len(spans) != 4 {
				t.Errorf("%s: trace %s holds %v, want the 4 spans above", path, traceID, slices.Sorted(maps.Keys(spans)))
			}
		}

		// The history shows each request's trace.
		resp := api.post(t, token, `{ me { requests(first: 10, orderBy: OLDEST_FIRST) { edges { node { traceId } } } } }`)
		var me struct {
			Requests struct {
				Edges []struct{ Node struct{ TraceID *string } }
			}
		}
		resp.field(t, "me", &me)
		var got []string
		for _, e := range me.Requests.Edges {
			got = append(got, deref(e.Node.TraceID))
		}
		_, first, _ := traceparent(0, true)
		_, second, _ := traceparent(1, true)
		want := []string{first.String(), second.String()}
		if !slices.Equal(got, want) {
			t.Errorf("the history's traceIds are %v, want %v", got, want)
		}

		// So does the export, in both formats.
		_, body := api.download(t, token, "format=ndjson&order=oldest_first")
		got = nil
		for line := range strings.Lines(body) {
			var row export.Row
			if err := json.Unmarshal([]byte(line), &row); err != nil {
				t.Fatalf("ndjson line %q: %v", line, err)
			}
			got = append(got, deref(row.TraceID))
		}
		if !slices.Equal(got, want) {
			t.Errorf("the NDJSON export's trace_ids are %v, want %v", got, want)
		}
		_, body = api.download(t, token, "format=csv&order=oldest_first")
		records, err := csv.NewReader(strings.NewReader(body)).ReadAll()
		if err != nil || len(records) == 0 {
			t.Fatalf("csv: %v\n%s", err, body)
		}
		column := slices.Index(records[0], "trace_id")
		got = nil
		for _, r := range records[1:] {
			got = append(got, r[column])
		}
		if column < 0 || !slices.Equal(got, want) {
			t.Errorf("the CSV export's trace_ids (column %d) are %v, want %v", column, got, want)
		}
	})
}

// The compiled path hands a refused input to the executor to answer: the
// operation still has one span, which holds the refusal.
func TestTracingCompiledRefusal(t *testing.T) {
	t.Parallel()
	api, recorder := newTracedAPI(t, store.SQLite)
	_, token := api.user(t, "ada")
	api.post(t, token, tracedPredict, client.Var("in", seedInput())) // now compiled
	refused := seedInput()
	refused["age"] = 200
	header, traceID, _ := traceparent(7, true)
	resp := api.post(t, token, tracedPredict, client.Var("in", refused), client.AddHeader("traceparent", header))
	if resp.code() != "BAD_USER_INPUT" || api.lastLogLine(t)["exec"] != "compiled" {
		t.Fatalf("a refused input on the compiled path answered %s, logged %v", resp.Raw, api.lastLogLine(t))
	}
	spans := spansOf(t, recorder, traceID)
	wantChild(t, spans, "mutation Predict", "POST /query")
	wantChild(t, spans, "model.evaluate", "mutation Predict")
	wantChild(t, spans, "log prediction", "mutation Predict")
	op := spans["mutation Predict"]
	if codes := op.Attributes(); !slices.Contains(attrOf(op, "mlapi.graphql.error_codes").AsStringSlice(), "BAD_USER_INPUT") {
		t.Errorf("the operation span's attributes %v do not name BAD_USER_INPUT", codes)
	}
	if got := attrOf(spans["model.evaluate"], "mlapi.prediction.status").AsString(); got != string(store.StatusInvalidInput) {
		t.Errorf("the evaluation span says status %q", got)
	}
	if n := api.queryInt(t, fmt.Sprintf("SELECT count(*) FROM requests WHERE trace_id = '%s'", traceID)); n != 1 {
		t.Errorf("%d request rows hold the refusal's trace, want 1", n)
	}
}

// A predict with no traceparent starts a trace of its own, which its row
// names; a caller's unsampled trace is recorded nowhere; and with tracing
// off, a traceparent changes nothing.
func TestTracingUnsampledAndOff(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		traced, recorder := newTracedAPI(t, dialect)
		_, token := traced.user(t, "ada")
		vars := client.Var("in", seedInput())

		traced.post(t, token, tracedPredict, vars)
		var own string
		if err := traced.tables.QueryRow(`SELECT trace_id FROM requests ORDER BY id DESC LIMIT 1`).Scan(&own); err != nil {
			t.Fatalf("the row of a predict with no traceparent: %v", err)
		}
		ownID, err := trace.TraceIDFromHex(own)
		if err != nil {
			t.Fatal(err)
		}
		spans := spansOf(t, recorder, ownID)
		if server := spans["POST /query"]; server == nil || server.Parent().IsValid() {
			t.Errorf("trace %s: no root server span: %v", own, slices.Sorted(maps.Keys(spans)))
		}
		if traced.lastLogLine(t)["trace_id"] != own {
			t.Errorf("the log line names trace %v, the row %s", traced.lastLogLine(t)["trace_id"], own)
		}

		header, traceID, _ := traceparent(9, false)
		if resp := traced.post(t, token, tracedPredict, vars, client.AddHeader("traceparent", header)); len(resp.Errors) > 0 {
			t.Fatal(resp.Raw)
		}
		if spans := spansOf(t, recorder, traceID); len(spans) > 0 {
			t.Errorf("an unsampled trace recorded %v", slices.Sorted(maps.Keys(spans)))
		}
		wantNoTrace(t, traced)

		off := newTestAPI(t, dialect)
		_, token = off.user(t, "ada")
		header, _, _ = traceparent(10, true)
		for range 2 { // the executor, then the compiled path
			if resp := off.post(t, token, tracedPredict, vars, client.AddHeader("traceparent", header)); len(resp.Errors) > 0 {
				t.Fatal(resp.Raw)
			}
			wantNoTrace(t, off)
		}
		if n := off.queryInt(t, "SELECT count(*) FROM requests WHERE trace_id IS NOT NULL"); n != 0 {
			t.Errorf("tracing off, %d rows hold a trace id", n)
		}
	})
}

// wantNoTrace fails t if api's last request row or access log line names a
// trace.
func wantNoTrace(t *testing.T, api *testAPI) {
	t.Helper()
	if id, ok := api.lastLogLine(t)["trace_id"]; ok {
		t.Errorf("the access log line names trace %v", id)
	}
	if n := api.queryInt(t, "SELECT count(*) FROM requests WHERE id = (SELECT max(id) FROM requests) AND trace_id IS NULL"); n != 1 {
		t.Errorf("the last request row holds a trace id")
	}
}

func deref(s *string) string {
	if s == nil {
		return "null"
	}
	return *s
}

// The trace id is not hashed into the audit chain: rewriting it leaves the
// log verified, as the README says. A changed row is named with its trace,
// by mlapi audit verify and by auditLog.
func TestTracingAuditNamesTheTrace(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		api, _ := newTracedAPI(t, dialect)
		_, root := api.createAdmin(t, "root", userPassword)
		_, ada := api.user(t, "ada")
		header, traceID, _ := traceparent(3, true)
		api.post(t, ada, tracedPredict, client.Var("in", seedInput()), client.AddHeader("traceparent", header))

		if _, err := api.tables.Exec(`UPDATE requests SET trace_id = '0123456789abcdef0123456789abcdef'`); err != nil {
			t.Fatal(err)
		}
		if out, err := api.auditVerify(t); err != nil {
			t.Fatalf("a rewritten trace id fails verification: %s (%v)", out, err)
		}
		if _, err := api.tables.Exec(fmt.Sprintf(`UPDATE requests SET trace_id = '%s'`, traceID)); err != nil {
			t.Fatal(err)
		}
		if _, err := api.tables.Exec(`UPDATE responses SET yhat_prob = 0.99`); err != nil {
			t.Fatal(err)
		}
		out, err := api.auditVerify(t)
		if want := ", trace " + traceID.String() + "): its request or response is not what was logged"; err == nil || !strings.Contains(out, want) {
			t.Fatalf("verify printed %q (%v), want the changed row named with %q", out, err, want)
		}
		var report struct{ Problems []struct{ TraceID *string } }
		api.post(t, root, `{ auditLog { problems { traceId } } }`).field(t, "auditLog", &report)
		if len(report.Problems) != 1 || deref(report.Problems[0].TraceID) != traceID.String() {
			t.Fatalf("auditLog's problems %+v, want one naming trace %s", report.Problems, traceID)
		}
	})
}

// collector is an OTLP/HTTP trace receiver: it keeps every span the server
// sends, and the service name it sends them under.
type collector struct {
	mu       sync.Mutex
	spans    []*tracepb.Span
	services []string
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	var req coltracepb.ExportTraceServiceRequest
	if err == nil {
		err = proto.Unmarshal(body, &req)
	}
	if r.URL.Path != "/v1/traces" || err != nil {
		http.Error(w, fmt.Sprintf("%s: %v", r.URL.Path, err), http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rs := range req.ResourceSpans {
		for _, a := range rs.GetResource().GetAttributes() {
			if a.Key == "service.name" {
				c.services = append(c.services, a.GetValue().GetStringValue())
			}
		}
		for _, ss := range rs.ScopeSpans {
			c.spans = append(c.spans, ss.Spans...)
		}
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
}

// TestBinaryTracesToCollector: the built binary, pointed at a collector by
// the standard variables, sends a predict's spans there in the caller's
// trace (at the latest as SIGTERM drains it), and its log line and the
// history name that trace.
func TestBinaryTracesToCollector(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel()
	received := &collector{}
	otlp := httptest.NewServer(received)
	defer otlp.Close()
	server := start(t, t.TempDir(), "OTEL_EXPORTER_OTLP_ENDPOINT="+otlp.URL, "OTEL_SERVICE_NAME=mlapi-test")
	server.register(t, "ada", userPassword)
	token := server.token(t, "ada", userPassword)
	header, traceID, parent := traceparent(11, true)
	if resp := server.post(t, token, tracedPredict, client.Var("in", seedInput()), client.AddHeader("traceparent", header)); len(resp.Errors) > 0 {
		t.Fatal(resp.Raw)
	}
	var me struct {
		Requests struct {
			Edges []struct{ Node struct{ TraceID *string } }
		}
	}
	server.post(t, token, `{ me { requests(first: 1) { edges { node { traceId } } } } }`).field(t, "me", &me)
	if len(me.Requests.Edges) != 1 || deref(me.Requests.Edges[0].Node.TraceID) != traceID.String() {
		t.Errorf("the history names trace %+v, want %s", me.Requests.Edges, traceID)
	}
	if err := server.stop(t); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	if !strings.Contains(server.logs.String(), "trace_id="+traceID.String()) {
		t.Errorf("no log line names trace %s", traceID)
	}

	received.mu.Lock()
	defer received.mu.Unlock()
	names := map[string]*tracepb.Span{}
	for _, s := range received.spans {
		if trace.TraceID(s.TraceId) == traceID {
			names[s.Name] = s
		}
	}
	for _, name := range []string{"POST /query", "mutation Predict", "model.evaluate", "log prediction"} {
		if names[name] == nil {
			t.Errorf("the collector got no span %q in trace %s (it got %d spans)", name, traceID, len(received.spans))
		}
	}
	if s := names["POST /query"]; s != nil && trace.SpanID(s.ParentSpanId) != parent {
		t.Errorf("the server span's parent is %x, want the caller's %s", s.ParentSpanId, parent)
	}
	if len(received.services) == 0 || received.services[0] != "mlapi-test" {
		t.Errorf("spans sent under the services %q, want mlapi-test", received.services)
	}
}
