package gqlhttp

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql/handler/testserver"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

// testSchema is the schema of gqlgen's test server.
var testSchema = gqlparser.MustLoadSchema(&ast.Source{Input: `
	type Query { name: String! find(id: Int!): String! }
	type Mutation { name: String! }
	type Subscription { name: String! }`})

// newTestServer serves gqlgen's test schema (Query { name, find(id: Int!) },
// Mutation { name }) through the transport and the persisted documents
// extension.
func newTestServer(t *testing.T, opts PersistedOptions) http.Handler {
	t.Helper()
	srv := testserver.New()
	persisted, err := NewPersisted(opts, testSchema)
	if err != nil {
		t.Fatal(err)
	}
	srv.AddTransport(Transport{})
	srv.Use(persisted)
	return srv
}

// answer is what a test reads of a response.
type answer struct {
	status      int
	contentType string
	allow       string
	body        map[string]json.RawMessage
	raw         string
}

func (a answer) code() string {
	var errs []struct {
		Extensions struct{ Code string }
	}
	_ = json.Unmarshal(a.body["errors"], &errs)
	if len(errs) == 0 {
		return ""
	}
	return errs[0].Extensions.Code
}

func do(t *testing.T, h http.Handler, req *http.Request) answer {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	a := answer{status: rec.Code, contentType: rec.Header().Get("Content-Type"), allow: rec.Header().Get("Allow"), raw: rec.Body.String()}
	if err := json.Unmarshal(rec.Body.Bytes(), &a.body); err != nil {
		t.Fatalf("answer is not a JSON object (%d): %s", rec.Code, rec.Body)
	}
	return a
}

func post(contentType, accept, body string) *http.Request {
	req := httptest.NewRequest(http.MethodPost, "/query", strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	return req
}

func get(accept string, params map[string]string) *http.Request {
	q := url.Values{}
	for k, v := range params {
		q.Set(k, v)
	}
	req := httptest.NewRequest(http.MethodGet, "/query?"+q.Encode(), nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	return req
}

const (
	jsonType    = "application/json; charset=utf-8"
	graphQLType = "application/graphql-response+json; charset=utf-8"
	graphQLOnly = "application/graphql-response+json"
)

func TestTransport(t *testing.T) {
	t.Parallel()
	h := newTestServer(t, PersistedOptions{Automatic: true, CacheBytes: 1 << 20})
	tests := []struct {
		name        string
		req         *http.Request
		wantStatus  int
		wantType    string
		wantCode    string
		wantData    bool // a data entry, null or not
		wantAllow   string
		mustNotSay  string
		wantMessage string
	}{
		{name: "POST, no Accept: application/json", req: post("application/json", "", `{"query":"{ name }"}`), wantStatus: 200, wantType: jsonType, wantData: true},
		{name: "POST, charset given", req: post("application/json; charset=UTF-8", "", `{"query":"{ name }"}`), wantStatus: 200, wantType: jsonType, wantData: true},
		{name: "Accept graphql-response+json", req: post("application/json", graphQLOnly, `{"query":"{ name }"}`), wantStatus: 200, wantType: graphQLType, wantData: true},
		{name: "Accept */*", req: post("application/json", "*/*", `{"query":"{ name }"}`), wantStatus: 200, wantType: jsonType, wantData: true},
		{name: "urql's Accept", req: post("application/json", "application/graphql-response+json, application/graphql+json, application/json, text/event-stream, multipart/mixed", `{"query":"{ name }"}`), wantStatus: 200, wantType: graphQLType, wantData: true},
		{name: "application/json preferred by quality", req: post("application/json", "application/graphql-response+json;q=0.5, application/json", `{"query":"{ name }"}`), wantStatus: 200, wantType: jsonType, wantData: true},
		{name: "null parameters", req: post("application/json", "", `{"query":"{ name }","variables":null,"operationName":null,"extensions":null}`), wantStatus: 200, wantType: jsonType, wantData: true},
		{name: "extensions map", req: post("application/json", "", `{"query":"{ name }","extensions":{"some":"value"}}`), wantStatus: 200, wantData: true, wantType: jsonType},
		{name: "GET query", req: get("", map[string]string{"query": "{ name }"}), wantStatus: 200, wantType: jsonType, wantData: true},
		{name: "GET with variables", req: get(graphQLOnly, map[string]string{"query": "query Q($id: Int!) { find(id: $id) }", "variables": `{"id": 1}`, "operationName": "Q"}), wantStatus: 200, wantType: graphQLType, wantData: true},

		{name: "GET mutation", req: get(graphQLOnly, map[string]string{"query": "mutation { name }"}), wantStatus: 405, wantType: graphQLType, wantCode: CodeMethodNotAllowed, wantAllow: "POST"},
		{name: "GET mutation that does not validate", req: get(graphQLOnly, map[string]string{"query": "mutation { name nope }"}), wantStatus: 405, wantType: graphQLType, wantCode: CodeMethodNotAllowed, wantAllow: "POST"},
		{name: "PUT", req: httptest.NewRequest(http.MethodPut, "/query", strings.NewReader(`{"query":"{ name }"}`)), wantStatus: 405, wantType: jsonType, wantCode: CodeMethodNotAllowed, wantAllow: "GET, POST"},
		{name: "text/plain", req: post("text/plain", "", `{"query":"{ name }"}`), wantStatus: 415, wantType: jsonType, wantCode: CodeUnsupportedMediaType},
		{name: "form", req: post("application/x-www-form-urlencoded", "", `query=%7B+name+%7D`), wantStatus: 415, wantType: jsonType, wantCode: CodeUnsupportedMediaType},
		{name: "no Content-Type", req: post("", "", `{"query":"{ name }"}`), wantStatus: 415, wantType: jsonType, wantCode: CodeUnsupportedMediaType},
		{name: "another charset", req: post("application/json; charset=latin1", "", `{"query":"{ name }"}`), wantStatus: 415, wantType: jsonType, wantCode: CodeUnsupportedMediaType},
		{name: "empty body", req: post("application/json", "", ``), wantStatus: 400, wantType: jsonType, wantCode: CodeBadRequest},
		{name: "batch", req: post("application/json", "", `[{"query":"{ name }"}]`), wantStatus: 400, wantType: jsonType, wantCode: CodeBadRequest, wantMessage: "batched requests are not supported: send one operation per request"},
		{name: "malformed JSON is not echoed", req: post("application/json", graphQLOnly, `{"query":"{ name }", "password": "hunter2`), wantStatus: 400, wantType: graphQLType, wantCode: CodeBadRequest, mustNotSay: "hunter2"},
		{name: "no query", req: post("application/json", "", `{"notquery":"{ name }"}`), wantStatus: 400, wantCode: CodeBadRequest, wantType: jsonType},
		{name: "a second value after the object", req: post("application/json", "", `{"query":"{ name }"} {"query":"{ name }"}`), wantStatus: 400, wantCode: CodeBadRequest, wantType: jsonType, wantMessage: "not a JSON object"},
		{name: "a string, not an object", req: post("application/json", "", `"{ name }"`), wantStatus: 400, wantCode: CodeBadRequest, wantType: jsonType, wantMessage: "not a JSON object"},
		{name: "whitespace around the object", req: post("application/json", "", " \n{\"query\":\"{ name }\"}\n "), wantStatus: 200, wantType: jsonType, wantData: true},
		{name: "query not a string", req: post("application/json", "", `{"query":5}`), wantStatus: 400, wantCode: CodeBadRequest, wantType: jsonType, wantMessage: "query must be a string"},
		{name: "operationName not a string", req: post("application/json", "", `{"query":"{ name }","operationName":{"obj":"ect"}}`), wantStatus: 400, wantCode: CodeBadRequest, wantType: jsonType, wantMessage: "operationName must be a string"},
		{name: "variables not an object", req: post("application/json", "", `{"query":"{ name }","variables":"string"}`), wantStatus: 400, wantCode: CodeBadRequest, wantType: jsonType, wantMessage: "variables must be an object"},
		{name: "extensions not an object", req: post("application/json", "", `{"query":"{ name }","extensions":["array"]}`), wantStatus: 400, wantCode: CodeBadRequest, wantType: jsonType, wantMessage: "extensions must be an object"},
		{name: "documentId not a string", req: post("application/json", "", `{"documentId":7}`), wantStatus: 400, wantCode: CodeBadRequest, wantType: jsonType, wantMessage: "documentId must be a string"},
		{name: "GET variables not JSON", req: get("", map[string]string{"query": "{ name }", "variables": "{"}), wantStatus: 400, wantCode: CodeBadRequest, wantType: jsonType, wantMessage: "the variables parameter is not JSON"},
		{name: "GET variables not an object", req: get("", map[string]string{"query": "{ name }", "variables": "[1]"}), wantStatus: 400, wantCode: CodeBadRequest, wantType: jsonType, wantMessage: "variables must be an object"},
		{name: "GET empty query", req: get("", map[string]string{"query": ""}), wantStatus: 400, wantCode: CodeBadRequest, wantType: jsonType, wantMessage: "the request has no query"},

		// Documents refused before running: 200 for application/json, 400
		// for application/graphql-response+json, never a data entry.
		{name: "parse failure, json", req: post("application/json", "application/json", `{"query":"{"}`), wantStatus: 200, wantType: jsonType, wantCode: "GRAPHQL_PARSE_FAILED"},
		{name: "parse failure, graphql-response", req: post("application/json", graphQLOnly, `{"query":"{"}`), wantStatus: 400, wantType: graphQLType, wantCode: "GRAPHQL_PARSE_FAILED"},
		{name: "validation failure, json", req: post("application/json", "application/json", `{"query":"{ nope }"}`), wantStatus: 200, wantType: jsonType, wantCode: "GRAPHQL_VALIDATION_FAILED"},
		{name: "validation failure, graphql-response", req: post("application/json", graphQLOnly, `{"query":"{ nope }"}`), wantStatus: 400, wantType: graphQLType, wantCode: "GRAPHQL_VALIDATION_FAILED"},
		{name: "variable coercion, json", req: post("application/json", "application/json", `{"query":"query($id: Int!) { find(id: $id) }","variables":{"id":"x"}}`), wantStatus: 200, wantType: jsonType, wantCode: "GRAPHQL_VALIDATION_FAILED"},
		{name: "variable coercion, graphql-response", req: post("application/json", graphQLOnly, `{"query":"query($id: Int!) { find(id: $id) }","variables":{"id":"x"}}`), wantStatus: 400, wantType: graphQLType, wantCode: "GRAPHQL_VALIDATION_FAILED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := do(t, h, tt.req)
			if a.status != tt.wantStatus || a.contentType != tt.wantType {
				t.Errorf("%d %q, want %d %q: %s", a.status, a.contentType, tt.wantStatus, tt.wantType, a.raw)
			}
			if got := a.code(); got != tt.wantCode {
				t.Errorf("code %q, want %q: %s", got, tt.wantCode, a.raw)
			}
			if _, hasData := a.body["data"]; hasData != tt.wantData {
				t.Errorf("data entry present: %v, want %v: %s", hasData, tt.wantData, a.raw)
			}
			if a.allow != tt.wantAllow {
				t.Errorf("Allow %q, want %q", a.allow, tt.wantAllow)
			}
			if tt.mustNotSay != "" && strings.Contains(a.raw, tt.mustNotSay) {
				t.Errorf("answer repeats %q: %s", tt.mustNotSay, a.raw)
			}
			if tt.wantMessage != "" && !strings.Contains(a.raw, tt.wantMessage) {
				t.Errorf("answer does not say %q: %s", tt.wantMessage, a.raw)
			}
		})
	}
}

// TestOversizedBody checks the 413 for a body cut by http.MaxBytesReader,
// as a chunked body without Content-Length is.
func TestOversizedBody(t *testing.T) {
	t.Parallel()
	h := newTestServer(t, PersistedOptions{})
	limited := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64)
		h.ServeHTTP(w, r)
	})
	body := `{"query":"{ name }","variables":{"pad":"` + strings.Repeat("x", 200) + `"}}`
	req := post("application/json", "", "")
	req.Body = io.NopCloser(strings.NewReader(body))
	req.ContentLength = -1
	a := do(t, limited, req)
	if a.status != http.StatusRequestEntityTooLarge || a.code() != CodePayloadTooLarge {
		t.Errorf("%d %s, want 413 %s", a.status, a.raw, CodePayloadTooLarge)
	}
}

func TestNegotiate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		accept          string
		graphQLResponse bool
	}{
		{accept: ""},
		{accept: "*/*"},
		{accept: "application/json"},
		{accept: "application/graphql-response+json", graphQLResponse: true},
		{accept: "application/json, application/graphql-response+json", graphQLResponse: true},
		{accept: "application/graphql-response+json;q=0.9, application/json"},
		{accept: "application/graphql-response+json;q=0, application/json"},
		{accept: "multipart/mixed;deferSpec=20220824, application/json"},
		{accept: "text/html, nonsense;;"},
	}
	for _, tt := range tests {
		got := negotiate(tt.accept)
		if got.graphQLResponse != tt.graphQLResponse {
			t.Errorf("negotiate(%q) = %+v, want graphQLResponse %v", tt.accept, got, tt.graphQLResponse)
		}
	}
}
