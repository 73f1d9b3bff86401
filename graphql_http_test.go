package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/client"

	"github.com/mlapi/mlapi/internal/store"
	"github.com/mlapi/mlapi/internal/store/storetest"
)

// GraphQL over HTTP: the protocol points clients rely on, on the real
// handler. Where the method, the status or the media type is the point, the
// requests are made by hand.

// TestGraphQLOverHTTP: GET for queries, mutations only over POST, no data
// entry on a request error, the /graphql alias.
func TestGraphQLOverHTTP(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, store.SQLite)
	_, token := api.user(t, "ada")

	t.Run("query over GET", func(t *testing.T) {
		resp := api.get(t, token, map[string]string{"query": "query($n: Int) { me { requests(first: $n) { totalCount } } }", "variables": `{"n": 5}`})
		var me struct{ Requests *struct{ TotalCount int } }
		resp.field(t, "me", &me)
		if resp.Status != 200 || len(resp.Errors) > 0 || me.Requests == nil || me.Requests.TotalCount != 0 {
			t.Errorf("GET: %d %s", resp.Status, resp.Raw)
		}
	})
	t.Run("a mutation over GET runs nothing, not even a logged refusal", func(t *testing.T) {
		resp := api.get(t, token, map[string]string{
			"query":     "mutation($in: PredictInput!) { predict(input: $in) { yhat } }",
			"variables": `{"in": {"age": "old"}}`,
		})
		if resp.Status != http.StatusMethodNotAllowed || resp.code() != "METHOD_NOT_ALLOWED" {
			t.Errorf("GET mutation: %d %s", resp.Status, resp.Raw)
		}
		if n := api.count(t, "requests"); n != 0 {
			t.Errorf("%d requests logged by a GET", n)
		}
	})
	t.Run("a mutation over GET with a refused literal logs nothing", func(t *testing.T) {
		resp := api.get(t, token, map[string]string{
			"query": `mutation { predict(input: {age: "x", creatininePhosphokinase: 1000, ejectionFraction: 35, platelets: 500000, serumCreatinine: 8, serumSodium: 135, sex: true, highBloodPressure: false}) { yhat } }`,
		})
		if resp.Status != http.StatusMethodNotAllowed || resp.code() != "METHOD_NOT_ALLOWED" {
			t.Errorf("GET mutation: %d %s", resp.Status, resp.Raw)
		}
		if n := api.count(t, "requests"); n != 0 {
			t.Errorf("%d requests logged by a GET", n)
		}
	})
	t.Run("no data entry on a request error", func(t *testing.T) {
		resp := api.post(t, "", `{ nope }`)
		// Not even "data": null, so the answer's keys are looked at.
		var keys map[string]json.RawMessage
		if err := json.Unmarshal([]byte(resp.Raw), &keys); err != nil {
			t.Fatal(err)
		}
		if _, present := keys["data"]; present || resp.code() != "GRAPHQL_VALIDATION_FAILED" {
			t.Errorf("validation failure: %s", resp.Raw)
		}
	})
	t.Run("/graphql is the same endpoint", func(t *testing.T) {
		resp := api.post(t, "", `{ model { version } }`, client.Path("/graphql"))
		var model struct{ Version string }
		resp.field(t, "model", &model)
		if resp.Status != 200 || len(resp.Errors) > 0 || model.Version == "" {
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

// TestDefer: @defer is answered in one part, its fields inline, which the
// incremental delivery specification allows: gqlgen's streaming cannot be
// trusted (see gqlhttp.Deferral). Never a null in place of a non-null field.
func TestDefer(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		api := newTestAPI(t, dialect)
		_, token := api.user(t, "ada")
		// post fails the test on an answer that is not one JSON document,
		// which a multipart answer is not.
		post := func(t *testing.T, accept, query string) gqlResponse {
			t.Helper()
			return api.post(t, token, query, client.Var("in", seedInput()), client.AddHeader("Accept", accept))
		}
		const deferredPredict = `mutation($in: PredictInput!) { predict(input: $in) { yhatProb ... @defer { bias contributions { feature value } } } }`
		const deferredHistory = `query { model { version } me { username ... @defer(label: "history") { requests(first: 5) { totalCount } } } }`

		t.Run("a mutation's deferred fields come inline", func(t *testing.T) {
			resp := post(t, "multipart/mixed;deferSpec=20220824, application/json", deferredPredict)
			var p struct {
				YhatProb      json.Number
				Bias          *float64
				Contributions []struct{ Feature string }
			}
			resp.field(t, "predict", &p)
			if len(resp.Errors) > 0 || p.YhatProb.String() != "0.5124506" || p.Bias == nil || len(p.Contributions) != 8 {
				t.Errorf("deferred predict: %s", resp.Raw)
			}
		})

		t.Run("a query's deferred fields come in the one answer, even to a client that reads parts", func(t *testing.T) {
			resp := post(t, "multipart/mixed;deferSpec=20220824, application/json", deferredHistory)
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("Content-Type %q, want one JSON answer", ct)
			}
			var model struct{ Version string }
			var me struct {
				Username string
				Requests *struct{ TotalCount int }
			}
			resp.field(t, "model", &model)
			resp.field(t, "me", &me)
			if len(resp.Errors) > 0 || model.Version == "" || me.Username != "ada" || me.Requests == nil {
				t.Errorf("deferred history: %s", resp.Raw)
			}
		})

		t.Run("a client that cannot read parts gets one answer", func(t *testing.T) {
			resp := post(t, "application/json", deferredHistory)
			var me struct{ Requests *struct{ TotalCount int } }
			resp.field(t, "me", &me)
			if me.Requests == nil {
				t.Errorf("deferred history without multipart: %s", resp.Raw)
			}
		})
	})
}
