package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlapi/mlapi/internal/config"
	"github.com/mlapi/mlapi/internal/store"
)

// call sends a prepared request to the API and decodes its JSON answer.
func (a *testAPI) call(t *testing.T, req *http.Request) gqlResponse {
	t.Helper()
	return doGraphQL(t, a.server.Client(), req)
}

func (a *testAPI) getQuery(t *testing.T, token string, params map[string]string) gqlResponse {
	t.Helper()
	q := url.Values{}
	for k, v := range params {
		q.Set(k, v)
	}
	req, _ := http.NewRequest(http.MethodGet, a.server.URL+"/query?"+q.Encode(), nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return a.call(t, req)
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// TestGraphQLOverHTTP covers the protocol points clients rely on, on the real
// handler: GET for queries, mutations only over POST, no data entry on a
// request error, the /graphql alias.
func TestGraphQLOverHTTP(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, store.SQLite)
	_, token := api.user("ada")

	t.Run("query over GET", func(t *testing.T) {
		resp := api.getQuery(t, token, map[string]string{"query": "query($n: Int) { me { requests(first: $n) { totalCount } } }", "variables": `{"n": 5}`})
		if resp.Status != 200 || len(resp.Errors) > 0 || !strings.Contains(resp.Raw, `"totalCount":0`) {
			t.Errorf("GET: %d %s", resp.Status, resp.Raw)
		}
	})
	t.Run("a mutation over GET runs nothing, not even a logged refusal", func(t *testing.T) {
		resp := api.getQuery(t, token, map[string]string{
			"query":     "mutation($in: PredictInput!) { predict(input: $in) { yhat } }",
			"variables": `{"in": {"age": "old"}}`,
		})
		if resp.Status != http.StatusMethodNotAllowed || resp.code() != "METHOD_NOT_ALLOWED" {
			t.Errorf("GET mutation: %d %s", resp.Status, resp.Raw)
		}
		if n := api.count("requests"); n != 0 {
			t.Errorf("%d requests logged by a GET", n)
		}
	})
	t.Run("a mutation over GET with a refused literal logs nothing", func(t *testing.T) {
		resp := api.getQuery(t, token, map[string]string{
			"query": `mutation { predict(input: {age: "x", creatininePhosphokinase: 1000, ejectionFraction: 35, platelets: 500000, serumCreatinine: 8, serumSodium: 135, sex: true, highBloodPressure: false}) { yhat } }`,
		})
		if resp.Status != http.StatusMethodNotAllowed || resp.code() != "METHOD_NOT_ALLOWED" {
			t.Errorf("GET mutation: %d %s", resp.Status, resp.Raw)
		}
		if n := api.count("requests"); n != 0 {
			t.Errorf("%d requests logged by a GET", n)
		}
	})
	t.Run("no data entry on a request error", func(t *testing.T) {
		resp := api.post("", `{ nope }`, nil)
		if _, present := resp.Data["nope"]; present || strings.Contains(resp.Raw, `"data"`) || resp.code() != "GRAPHQL_VALIDATION_FAILED" {
			t.Errorf("validation failure: %s", resp.Raw)
		}
	})
	t.Run("/graphql is the same endpoint", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, api.server.URL+"/graphql", strings.NewReader(`{"query":"{ model { version } }"}`))
		req.Header.Set("Content-Type", "application/json")
		if resp := api.call(t, req); resp.Status != 200 || len(resp.Errors) > 0 {
			t.Errorf("/graphql: %d %s", resp.Status, resp.Raw)
		}
	})
	t.Run("an oversized chunked body is 413", func(t *testing.T) {
		body := `{"query":"{ model { version } }","variables":{"pad":"` + strings.Repeat("x", 100<<10) + `"}}`
		req := httptest.NewRequest(http.MethodPost, "/query", io.MultiReader(strings.NewReader(body)))
		req.ContentLength = -1
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		api.server.Config.Handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusRequestEntityTooLarge || !strings.Contains(rec.Body.String(), "PAYLOAD_TOO_LARGE") {
			t.Errorf("chunked oversized body: %d %s", rec.Code, rec.Body)
		}
	})
}

// TestErrorCodesForClientMistakes: each is the client's to mend, with a
// code saying what, and only the operations that need a token fail for a
// bad Authorization header.
func TestErrorCodesForClientMistakes(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, store.SQLite, func(c *config.Config) { c.Introspection = false })
	_, token := api.user("ada")
	tests := []struct {
		name, authorization, query string
		wantCode                   string
		wantField                  string // a field answered despite the error
	}{
		{name: "introspection off", query: `{ __schema { types { name } } }`, wantCode: "INTROSPECTION_DISABLED"},
		{name: "__type off too", query: `{ model { version } __type(name: "Query") { name } }`, wantCode: "INTROSPECTION_DISABLED"},
		{name: "__typename still answers", query: `{ __typename model { version } }`, wantField: "model"},
		{name: "a bad since", authorization: "Bearer " + token, query: `{ me { requests(since: "yesterday") { totalCount } } }`, wantCode: "BAD_USER_INPUT"},
		{name: "empty Bearer: token still works", authorization: "Bearer ", query: `mutation { token(input: {username: "ada", password: "correct horse battery"}) { token } }`, wantField: "token"},
		{name: "empty Bearer: registerUser still works", authorization: "Bearer ", query: `mutation { registerUser(input: {username: "bea", password: "correct horse battery", email: "bea@example.com"}) { user { id } } }`, wantField: "registerUser"},
		{name: "malformed header: model still works", authorization: "Basic a b", query: `{ model { version } }`, wantField: "model"},
		{name: "malformed header: me fails", authorization: "Basic a b", query: `{ me { username } }`, wantCode: "UNAUTHENTICATED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, api.server.URL+"/query", strings.NewReader(mustJSON(map[string]any{"query": tt.query})))
			req.Header.Set("Content-Type", "application/json")
			if tt.authorization != "" {
				req.Header.Set("Authorization", tt.authorization)
			}
			resp := api.call(t, req)
			if got := resp.code(); got != tt.wantCode {
				t.Errorf("code %q, want %q: %s", got, tt.wantCode, resp.Raw)
			}
			if tt.wantField != "" && (len(resp.Data[tt.wantField]) == 0 || string(resp.Data[tt.wantField]) == "null") {
				t.Errorf("no %s in %s", tt.wantField, resp.Raw)
			}
		})
	}
	if strings.Contains(api.logs.String(), `"level":"ERROR"`) {
		t.Errorf("a client's mistake was logged as a server error:\n%s", api.logs.String())
	}
}

// TestPersistedQueries follows Apollo's persisted-query link on the real
// handler, then serves trusted documents only.
func TestPersistedQueries(t *testing.T) {
	t.Parallel()
	const query = `query Model { model { version } }`
	persisted := func(hash, query string) string {
		body := map[string]any{"extensions": map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hash}}}
		if query != "" {
			body["query"] = query
		}
		return mustJSON(body)
	}
	send := func(t *testing.T, api *testAPI, body string) gqlResponse {
		t.Helper()
		return api.raw("", "application/json", []byte(body))
	}

	t.Run("automatic", func(t *testing.T) {
		t.Parallel()
		api := newTestAPI(t, store.SQLite)
		hash := sha256Hex(query)
		if resp := send(t, api, persisted(hash, "")); resp.code() != "PERSISTED_QUERY_NOT_FOUND" || resp.Errors[0].Message != "PersistedQueryNotFound" {
			t.Fatalf("first hash-only request: %s", resp.Raw)
		}
		if resp := send(t, api, persisted(hash, query)); len(resp.Errors) > 0 {
			t.Fatalf("registering: %s", resp.Raw)
		}
		ext := `{"persistedQuery":{"version":1,"sha256Hash":"` + hash + `"}}`
		if resp := api.getQuery(t, "", map[string]string{"extensions": ext}); len(resp.Errors) > 0 || !strings.Contains(resp.Raw, `"version"`) {
			t.Fatalf("hash-only GET: %s", resp.Raw)
		}
	})

	t.Run("turned off", func(t *testing.T) {
		t.Parallel()
		api := newTestAPI(t, store.SQLite, func(c *config.Config) { c.PersistedQueries = false })
		if resp := send(t, api, persisted(sha256Hex(query), "")); resp.code() != "PERSISTED_QUERY_NOT_SUPPORTED" {
			t.Fatalf("hash-only request: %s", resp.Raw)
		}
	})

	t.Run("trusted documents only", func(t *testing.T) {
		t.Parallel()
		manifest := filepath.Join(t.TempDir(), "persisted-documents.json")
		if err := os.WriteFile(manifest, []byte(mustJSON(map[string]string{sha256Hex(query): query})), 0o600); err != nil {
			t.Fatal(err)
		}
		api := newTestAPI(t, store.SQLite, func(c *config.Config) { c.TrustedDocuments = manifest })
		if resp := send(t, api, persisted(sha256Hex(query), "")); len(resp.Errors) > 0 {
			t.Errorf("a trusted document by hash: %s", resp.Raw)
		}
		if resp := send(t, api, `{"documentId":"sha256:`+sha256Hex(query)+`"}`); len(resp.Errors) > 0 {
			t.Errorf("a trusted document by documentId: %s", resp.Raw)
		}
		if resp := api.post("", `{ model { version } }`, nil); resp.code() != "TRUSTED_DOCUMENT_REQUIRED" {
			t.Errorf("an untrusted document: %s", resp.Raw)
		}
	})

	t.Run("a manifest that does not fit the schema stops the start", func(t *testing.T) {
		t.Parallel()
		manifest := filepath.Join(t.TempDir(), "persisted-documents.json")
		if err := os.WriteFile(manifest, []byte(`{"abc": "{ nope }"}`), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := config.Parse(nil, func(string) string { return "" }, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		cfg.TrustedDocuments = manifest
		if _, err := startWith(t, cfg); err == nil || !strings.Contains(err.Error(), "trusted document abc") {
			t.Errorf("err %v, want the bad document named", err)
		}
	})
}

// startWith assembles the app for cfg on a database of its own, and returns
// its handler or why it could not start.
func startWith(t *testing.T, cfg config.Config) (http.Handler, error) {
	t.Helper()
	cfg.DatabaseURL = "sqlite://" + filepath.Join(t.TempDir(), "mlapi.db")
	cfg.JWTSecret = randomSecret(t)
	a, err := newApp(t.Context(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if a != nil {
		t.Cleanup(func() { a.db.Close() })
		return a.handler, err
	}
	return nil, err
}

// TestDefer: @defer is answered in one part, its fields inline, which the
// incremental delivery specification allows: gqlgen's streaming cannot be
// trusted (see gqlhttp.Deferral). Never a null in place of a non-null field.
func TestDefer(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, dialect string) {
		api := newTestAPI(t, dialect)
		_, token := api.user("ada")
		post := func(t *testing.T, accept, query string) *http.Response {
			t.Helper()
			req, _ := http.NewRequest(http.MethodPost, api.server.URL+"/query", strings.NewReader(mustJSON(map[string]any{"query": query, "variables": map[string]any{"in": seedInput()}})))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", accept)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := api.server.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { resp.Body.Close() })
			return resp
		}
		const deferredPredict = `mutation($in: PredictInput!) { predict(input: $in) { yhatProb ... @defer { bias contributions { feature value } } } }`
		const deferredHistory = `query { model { version } me { username ... @defer(label: "history") { requests(first: 5) { totalCount } } } }`

		t.Run("a mutation's deferred fields come inline", func(t *testing.T) {
			resp := post(t, "multipart/mixed;deferSpec=20220824, application/json", deferredPredict)
			var answer struct {
				Data struct {
					Predict struct {
						YhatProb      json.Number
						Bias          *float64
						Contributions []struct{ Feature string }
					}
				}
				Errors []gqlError
			}
			if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
				t.Fatal(err)
			}
			p := answer.Data.Predict
			if len(answer.Errors) > 0 || p.YhatProb.String() != "0.5124506" || p.Bias == nil || len(p.Contributions) != 8 {
				t.Errorf("deferred predict: %+v", answer)
			}
		})

		t.Run("a query's deferred fields come in the one answer, even to a client that reads parts", func(t *testing.T) {
			resp := post(t, "multipart/mixed;deferSpec=20220824, application/json", deferredHistory)
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("Content-Type %q, want one JSON answer", ct)
			}
			var answer struct {
				Data struct {
					Model struct{ Version string }
					Me    struct {
						Username string
						Requests *struct{ TotalCount int }
					}
				}
				Errors []gqlError
			}
			if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
				t.Fatal(err)
			}
			if len(answer.Errors) > 0 || answer.Data.Model.Version == "" || answer.Data.Me.Username != "ada" || answer.Data.Me.Requests == nil {
				t.Errorf("deferred history: %+v", answer)
			}
		})

		t.Run("a client that cannot read parts gets one answer", func(t *testing.T) {
			resp := post(t, "application/json", deferredHistory)
			var answer struct {
				Data struct {
					Me struct{ Requests *struct{ TotalCount int } }
				}
			}
			if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil || answer.Data.Me.Requests == nil {
				t.Errorf("deferred history without multipart: %+v %v", answer, err)
			}
		})
	})
}

// TestCORSOnTheAPI: a page on an allowed origin may call the API; any
// other gets no CORS header, which the browser enforces.
func TestCORSOnTheAPI(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, store.SQLite, func(c *config.Config) { c.CORSOrigins = []string{"https://app.example.com"} })
	tests := []struct {
		origin      string
		wantAllowed bool
	}{
		{origin: "https://app.example.com", wantAllowed: true},
		{origin: "https://evil.example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.origin, func(t *testing.T) {
			preflight, _ := http.NewRequest(http.MethodOptions, api.server.URL+"/query", nil)
			preflight.Header.Set("Origin", tt.origin)
			preflight.Header.Set("Access-Control-Request-Method", "POST")
			preflight.Header.Set("Access-Control-Request-Headers", "authorization,content-type")
			resp, err := api.server.Client().Do(preflight)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			allowed := resp.Header.Get("Access-Control-Allow-Origin") == tt.origin &&
				strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Authorization")
			if resp.StatusCode != http.StatusNoContent || allowed != tt.wantAllowed {
				t.Errorf("preflight: %d %v", resp.StatusCode, resp.Header)
			}

			req, _ := http.NewRequest(http.MethodPost, api.server.URL+"/query", strings.NewReader(`{"query":"{ model { version } }"}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Origin", tt.origin)
			resp, err = api.server.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := resp.Header.Get("Access-Control-Allow-Origin") == tt.origin; got != tt.wantAllowed {
				t.Errorf("POST from %s: Access-Control-Allow-Origin %q", tt.origin, resp.Header.Get("Access-Control-Allow-Origin"))
			}
		})
	}
}

// TestStoredInputsAreCostly: the inputs of a page, aliased, would build an
// answer of megabytes from one's own history; the complexity budget refuses
// the document before it runs.
func TestStoredInputsAreCostly(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, store.SQLite)
	_, token := api.user("ada")
	var aliases strings.Builder
	for i := range 20 {
		fmt.Fprintf(&aliases, "a%d: input ", i)
	}
	tests := []struct {
		name, query, wantCode string
	}{
		{name: "a page with its inputs", query: `{ me { requests(first: 100) { edges { node { id input } } } } }`},
		{name: "a page with its inputs aliased 20 times", query: `{ me { requests(first: 100) { edges { node { ` + aliases.String() + `} } } } }`, wantCode: "COMPLEXITY_LIMIT_EXCEEDED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := api.post(token, tt.query, nil).code(); got != tt.wantCode {
				t.Errorf("code %q, want %q", got, tt.wantCode)
			}
		})
	}
}
