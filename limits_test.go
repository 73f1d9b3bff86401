package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"

	"github.com/mlapi/mlapi/internal/config"
	"github.com/mlapi/mlapi/internal/httpserver"
	"github.com/mlapi/mlapi/internal/model"
	"github.com/mlapi/mlapi/internal/prediction"
	"github.com/mlapi/mlapi/internal/store"
	"github.com/mlapi/mlapi/internal/store/storetest"
)

// Limits: per-address budgets, documents refused for their shape or cost,
// HTTP bounds, and how much one abusive request may write.

// TestPerAddressLimits runs registerUser and token past their per-address
// budget from one client and checks that the next call is refused with a
// time to retry, that another client is unaffected, and that the client is
// told apart by X-Forwarded-For only when the proxy is trusted.
func TestPerAddressLimits(t *testing.T) {
	t.Parallel()
	// Windows of an hour: the test never depends on how fast it runs.
	limits := func(c *config.Config) {
		c.RegisterRate = config.Rate{N: 2, Per: time.Hour}
		c.LoginRate = config.Rate{N: 3, Per: time.Hour}
	}
	trustLoopback := func(c *config.Config) { c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")} }
	// from sends as if through a proxy that reports the client as
	// forwardedFor (no header when empty).
	from := func(forwardedFor string) []client.Option {
		if forwardedFor == "" {
			return nil
		}
		return []client.Option{client.AddHeader("X-Forwarded-For", forwardedFor)}
	}
	register := func(t *testing.T, api *testAPI, xff, name string) gqlResponse {
		return api.post(t, "", registerMutation, append(from(xff), client.Var("u", name), client.Var("p", userPassword), client.Var("e", name+"@example.com"))...)
	}
	login := func(t *testing.T, api *testAPI, xff, name string) gqlResponse {
		return api.post(t, "", tokenMutation, append(from(xff), client.Var("u", name), client.Var("p", "wrong password"))...)
	}
	type step struct {
		xff      string
		wantCode string // "" for success
	}
	tests := []struct {
		name    string
		trusted bool
		call    func(t *testing.T, api *testAPI, xff, name string) gqlResponse
		okCode  string // the code of an admitted call
		steps   []step
	}{
		{
			name: "registerUser behind a trusted proxy", trusted: true, call: register,
			steps: []step{{"198.51.100.1", ""}, {"198.51.100.1", ""}, {"198.51.100.1", "TOO_MANY_REQUESTS"}, {"198.51.100.2", ""}, {"203.0.113.5, 198.51.100.1", "TOO_MANY_REQUESTS"}},
		},
		{
			name: "token behind a trusted proxy", trusted: true, call: login, okCode: "UNAUTHENTICATED",
			steps: []step{{"198.51.100.1", ""}, {"198.51.100.1", ""}, {"198.51.100.1", ""}, {"198.51.100.1", "TOO_MANY_REQUESTS"}, {"198.51.100.2", ""}, {"", ""}},
		},
		{
			// An untrusted peer's header is ignored: every call is 127.0.0.1's.
			name: "registerUser with a forged header from an untrusted peer", trusted: false, call: register,
			steps: []step{{"198.51.100.1", ""}, {"198.51.100.2", ""}, {"198.51.100.3", "TOO_MANY_REQUESTS"}, {"", "TOO_MANY_REQUESTS"}},
		},
		{
			name: "token with a forged header from an untrusted peer", trusted: false, call: login, okCode: "UNAUTHENTICATED",
			steps: []step{{"198.51.100.1", ""}, {"198.51.100.2", ""}, {"198.51.100.3", ""}, {"198.51.100.4", "TOO_MANY_REQUESTS"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			adjust := []func(*config.Config){limits}
			if tt.trusted {
				adjust = append(adjust, trustLoopback)
			}
			api := newTestAPI(t, store.SQLite, adjust...)
			for i, s := range tt.steps {
				resp := tt.call(t, api, s.xff, fmt.Sprintf("user%d", i))
				want := s.wantCode
				if want == "" {
					want = tt.okCode
				}
				if resp.code() != want {
					t.Fatalf("call %d (X-Forwarded-For %q): code %q, want %q: %s", i, s.xff, resp.code(), want, resp.Raw)
				}
				if want == "TOO_MANY_REQUESTS" && !strings.Contains(resp.Errors[0].Message, "from your address, try again in") {
					t.Errorf("call %d: the refusal does not say when to retry: %s", i, resp.Raw)
				}
			}
			if tt.trusted && !slices.ContainsFunc(api.logLines(t), func(e logEntry) bool { return e.Client == "198.51.100.1" }) {
				t.Errorf("the access log does not name the forwarded client:\n%s", api.logs.String())
			}
		})
	}
}

// TestProtections sends what no GraphQL client would, so raw HTTP: the
// status of each refusal is part of what is tested, and so is what the
// answer must not repeat.
func TestProtections(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, store.SQLite)
	_, token := api.user(t, "mallory")

	aliases := func(n int, field string) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "a%d: %s\n", i, field)
		}
		return b.String()
	}
	tests := []struct {
		name        string
		contentType string
		body        string
		token       string
		wantStatus  int
		wantCode    string
		mustNotSay  string
	}{
		{name: "malformed JSON is not echoed", body: `{"query": "{ model { version } }", SECRET-BODY`, wantStatus: 400, wantCode: "BAD_REQUEST", mustNotSay: "SECRET-BODY"},
		{name: "batching refused", body: `[{"query":"{ model { version } }"}]`, wantStatus: 400, wantCode: "BAD_REQUEST", mustNotSay: "version"},
		{name: "text/plain refused (CSRF)", contentType: "text/plain", body: `{"query":"{ model { version } }"}`, wantStatus: 415, wantCode: "UNSUPPORTED_MEDIA_TYPE"},
		{name: "form refused (CSRF)", contentType: "application/x-www-form-urlencoded", body: `query=%7B+model+%7B+version+%7D+%7D`, wantStatus: 415, wantCode: "UNSUPPORTED_MEDIA_TYPE"},
		{name: "misspelled field has no suggestion", body: `{"query":"{ modle { version } }"}`, wantStatus: 200, wantCode: "GRAPHQL_VALIDATION_FAILED", mustNotSay: "Did you mean"},
		{name: "misspelled argument has no suggestion", body: `{"query":"{ me { requests(frist: 1) { totalCount } } }"}`, wantStatus: 200, wantCode: "GRAPHQL_VALIDATION_FAILED", mustNotSay: "Did you mean"},
		{name: "misspelled enum/type has no suggestion", body: `{"query":"query($x: PredictInpt!) { model { version } }"}`, wantStatus: 200, wantCode: "GRAPHQL_VALIDATION_FAILED", mustNotSay: "Did you mean"},
		{
			name: "login brute force by aliases", wantStatus: 200, wantCode: "GRAPHQL_VALIDATION_FAILED",
			body: mustJSON(map[string]any{"query": "mutation {" + aliases(100, `token(input: {username: "mallory", password: "guess-guess"}) { token }`) + "}"}),
		},
		{
			name: "alias overloading of history", token: token, wantStatus: 200, wantCode: "COMPLEXITY_LIMIT_EXCEEDED",
			body: mustJSON(map[string]any{"query": "{" + aliases(200, `me { requests(first: 100) { edges { node { id input } } } }`) + "}"}),
		},
		{
			name: "aliased predictions", token: token, wantStatus: 200, wantCode: "COMPLEXITY_LIMIT_EXCEEDED",
			body: mustJSON(map[string]any{"query": "mutation {" + aliases(60, `predict(input: {age: 25, creatininePhosphokinase: 1000, ejectionFraction: 35, platelets: 500000, serumCreatinine: 8, serumSodium: 135, sex: true, highBloodPressure: false}) { yhat }`) + "}"}),
		},
		{name: "huge page", token: token, body: `{"query":"{ me { requests(first: 99999999) { edges { node { id } } } } }"}`, wantStatus: 200, wantCode: "COMPLEXITY_LIMIT_EXCEEDED"},
		{name: "token limit", body: mustJSON(map[string]any{"query": "{" + aliases(2000, "__typename") + "}"}), wantStatus: 200, wantCode: "GRAPHQL_PARSE_FAILED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := api.newRequest(t, http.MethodPost, "/query", tt.token, strings.NewReader(tt.body))
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			resp := api.send(t, req)
			if resp.Status != tt.wantStatus {
				t.Errorf("status %d, want %d: %s", resp.Status, tt.wantStatus, resp.Raw)
			}
			if tt.wantCode != "" && (resp.code() != tt.wantCode || len(resp.Data) != 0) {
				t.Errorf("code %q, want %s and no data: %s", resp.code(), tt.wantCode, resp.Raw)
			}
			if tt.mustNotSay != "" && strings.Contains(resp.Raw, tt.mustNotSay) {
				t.Errorf("answer contains %q: %s", tt.mustNotSay, resp.Raw)
			}
		})
	}
	// The refused documents ran nothing: no prediction was logged, and the
	// real password still works, with no attempt spent by the brute force.
	if n := api.count(t, "requests"); n != 0 {
		t.Errorf("%d requests logged by refused documents", n)
	}
	if api.token(t, "mallory", userPassword) == "" {
		t.Error("login after the refused brute force failed")
	}
}

func TestHTTPLimits(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, store.SQLite)
	tests := []struct {
		name       string
		method     string
		path       string
		header     map[string]string
		body       io.Reader
		wantStatus int
	}{
		{name: "5 MB body", method: "POST", path: "/query", body: bytes.NewReader(make([]byte, 5<<20)), wantStatus: http.StatusRequestEntityTooLarge},
		{name: "mutation over GET", method: "GET", path: "/query?query=mutation%7BdeleteUser(userId:%221%22)%7D", wantStatus: http.StatusMethodNotAllowed},
		{name: "huge Authorization header", method: "POST", path: "/query", header: map[string]string{"Authorization": "Bearer " + strings.Repeat("a", 100000)}, body: strings.NewReader(`{"query":"{ model { version } }"}`), wantStatus: http.StatusUnauthorized},
		{name: "healthz", method: "GET", path: "/healthz", wantStatus: http.StatusOK},
		{name: "readyz", method: "GET", path: "/readyz", wantStatus: http.StatusOK},
		{name: "GraphiQL", method: "GET", path: "/", wantStatus: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// In process: over a socket, the server answering 413 before
			// reading the body races the client still writing it.
			req := httptest.NewRequest(tt.method, tt.path, tt.body)
			req.Header.Set("Content-Type", "application/json")
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			api.server.Config.Handler.ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus {
				t.Errorf("status %d, want %d", rec.Code, tt.wantStatus)
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
	_, token := api.user(t, "ada")
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
			if got := api.post(t, token, tt.query).code(); got != tt.wantCode {
				t.Errorf("code %q, want %q", got, tt.wantCode)
			}
		})
	}
}

// One request writes a bounded log line and bounded rows, however it is
// shaped: field errors are capped at 20 plus a count, names, messages and
// values are cut with a marker, and the stored input keeps the features.
// Sizes are measured on the text as written, so the raw answer, rows and
// log lines are what is checked here.
func TestAbusiveInputsAreBounded(t *testing.T) {
	t.Parallel()
	manyUnknown := func(nameLen int) map[string]any {
		in := seedInput()
		in["age"] = -1 // a feature's problem must survive the cap
		for i := 0; len(mustJSON(in)) < 58_000; i++ {
			in[fmt.Sprintf("%s_%d", strings.Repeat("x", nameLen), i)] = 1
		}
		return in
	}
	huge := seedInput()
	huge["age"] = strings.Repeat("x", 60_000)
	hugeDigits := seedInput()
	hugeDigits["age"] = strings.Repeat("9", 60_000)
	hugeNumber := seedInput()
	hugeNumber["platelets"] = json.Number(strings.Repeat("9", 30_000))
	hugeName := seedInput()
	hugeName[strings.Repeat("n", 60_000)] = 1

	var aliases strings.Builder
	aliases.WriteString("mutation($in: PredictInput!) {")
	for i := range 50 {
		fmt.Fprintf(&aliases, " p%d: predict(input: $in) { id }", i)
	}
	aliases.WriteString("}")
	var inline strings.Builder
	inline.WriteString("mutation { predict(input: {")
	for i := 0; inline.Len() < 60_000; i++ { // about 1,100 fields, within the token limit
		fmt.Fprintf(&inline, " %s%d: 1", strings.Repeat("f", 50), i)
	}
	inline.WriteString("}) { id } }")

	tests := []struct {
		name        string
		query       string
		in          any
		wantFields  int  // presented fields
		wantOmitted bool // the message counts fields not listed
		wantKept    []string
		wantRows    int
	}{
		{name: "many unknown fields with short names", query: predictMutation, in: manyUnknown(5), wantFields: 20, wantOmitted: true, wantKept: []string{"age:out_of_range"}, wantRows: 1},
		{name: "many unknown fields with long names", query: predictMutation, in: manyUnknown(200), wantFields: 20, wantOmitted: true, wantKept: []string{"age:out_of_range"}, wantRows: 1},
		{name: "a huge string value", query: predictMutation, in: huge, wantFields: 1, wantKept: []string{"age:wrong_type"}, wantRows: 1},
		{name: "a huge string of digits", query: predictMutation, in: hugeDigits, wantFields: 1, wantKept: []string{"age:non_finite"}, wantRows: 1},
		{name: "a huge number", query: predictMutation, in: hugeNumber, wantFields: 1, wantKept: []string{"platelets:non_finite"}, wantRows: 1},
		{name: "a huge field name", query: predictMutation, in: hugeName, wantFields: 1, wantRows: 1},
		{name: "fifty aliases of a bad input", query: aliases.String(), in: manyUnknown(200), wantFields: 20, wantOmitted: true, wantKept: []string{"age:out_of_range"}, wantRows: 1},
		{name: "an inline input of unknown fields", query: inline.String()},
	}
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		api := newTestAPI(t, dialect)
		_, token := api.user(t, "olu")
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				requests := api.count(t, "requests")
				var options []client.Option
				if tt.in != nil {
					options = append(options, client.Var("in", tt.in))
				}
				resp := api.post(t, token, tt.query, options...)
				if len(resp.Errors) == 0 {
					t.Fatalf("want an error: %.300s", resp.Raw)
				}
				got := resp.fields()
				if len(got) != tt.wantFields {
					t.Errorf("%d fields presented, want %d: %.300s", len(got), tt.wantFields, resp.Raw)
				}
				for _, want := range tt.wantKept {
					if !slices.Contains(got, want) {
						t.Errorf("fields %v lack %s", got, want)
					}
				}
				if omitted := strings.Contains(resp.Errors[0].Message, "more are not"); omitted != tt.wantOmitted {
					t.Errorf("message %q: want a count of the fields not listed = %v", resp.Errors[0].Message, tt.wantOmitted)
				}
				if len(resp.Raw) > 16<<10 {
					t.Errorf("answer of %d bytes", len(resp.Raw))
				}
				if rows := api.count(t, "requests") - requests; rows != tt.wantRows {
					t.Fatalf("%d request rows written, want %d", rows, tt.wantRows)
				}
				if tt.wantRows == 0 {
					return
				}
				input, output, _ := api.lastLogged(t)
				if len(input) > prediction.MaxStoredInput || !json.Valid([]byte(input)) {
					t.Errorf("stored input of %d bytes (valid JSON: %v)", len(input), json.Valid([]byte(input)))
				}
				// 20 fields of a bounded name and message, and the error around them.
				if max := model.MaxFieldErrors*(model.MaxFieldName+model.MaxFieldMessage+100) + 500; len(output) > max {
					t.Errorf("stored output of %d bytes, want at most %d", len(output), max)
				}
				for _, feature := range []string{"age", "creatinine_phosphokinase", "sex", "high_blood_pressure"} {
					if !strings.Contains(input, `"`+feature+`":`) {
						t.Errorf("stored input lacks the feature %s: %.300s", feature, input)
					}
				}
			})
		}
		for i, line := range strings.Split(api.logs.String(), "\n") {
			if len(line) > httpserver.MaxLogLine+1024 {
				t.Errorf("log line %d is %d bytes: %.300s", i, len(line), line)
			}
		}
	})
}
