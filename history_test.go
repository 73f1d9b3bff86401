package main

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/client"

	"github.com/mlapi/mlapi/internal/store/storetest"
)

// historyPage is the part of a requests connection these tests read.
type historyPage struct {
	TotalCount int
	PageInfo   pageInfoAnswer
	Edges      []struct {
		Cursor string
		Node   struct {
			ID       string
			Response struct {
				ID            string
				Status        string
				YhatProb      *json.Number
				Contributions []struct {
					Feature string
					Value   json.Number
				}
				Bias *json.Number
			}
		}
	}
}

const historyQuery = `query($first: Int, $after: String, $last: Int, $before: String, $filter: RequestFilter, $order: RequestOrder) {
  me { requests(first: $first, after: $after, last: $last, before: $before, filter: $filter, orderBy: $order) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id response { id status yhatProb contributions { feature value } bias } } } } } }`

// history asks for one page of the caller's history; variables left nil
// are null.
func (e endpoint) history(t *testing.T, token string, variables map[string]any) (historyPage, gqlResponse) {
	t.Helper()
	resp := e.post(t, token, historyQuery, vars(variables))
	var me struct{ Requests historyPage }
	if len(resp.Errors) == 0 {
		resp.field(t, "me", &me)
	}
	return me.Requests, resp
}

// rowID is the database id inside a global id ("Type:id" in base64).
func rowID(t testing.TB, nodeID string) int64 {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(nodeID)
	if err != nil {
		t.Fatalf("global id %q: %v", nodeID, err)
	}
	_, key, _ := strings.Cut(string(raw), ":")
	id, err := strconv.ParseInt(key, 10, 64)
	if err != nil {
		t.Fatalf("global id %q: %v", nodeID, err)
	}
	return id
}

// predictVaried predicts n inputs that differ, so the probabilities do,
// and refuses one input in three; it returns the ids of the requests that
// got a prediction, oldest first.
func predictVaried(t *testing.T, api *testAPI, token string, n int) (ok []string) {
	t.Helper()
	for i := range n {
		in := seedInput()
		in["age"] = 40 + 5*i
		in["ejectionFraction"] = 20 + 3*i
		if i%3 == 2 {
			in["ejectionFraction"] = -5 // refused, and logged
			resp := api.post(t, token, predictMutation, client.Var("in", in))
			if resp.code() != "BAD_USER_INPUT" {
				t.Fatalf("a refused input: %s", resp.Raw)
			}
			continue
		}
		resp := api.post(t, token, predictMutation, client.Var("in", in))
		if len(resp.Errors) > 0 {
			t.Fatalf("predict: %s", resp.Raw)
		}
		var p predictionAnswer
		resp.field(t, "predict", &p)
		ok = append(ok, p.RequestID)
	}
	return ok
}

// TestHistoryFiltersAndPagesBothWays pages a filtered history forward and
// backward through the real handler, in both orders.
func TestHistoryFiltersAndPagesBothWays(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		api := newTestAPI(t, dialect)
		_, alice := api.user(t, "alice")
		_, bob := api.user(t, "bob")
		okIDs := predictVaried(t, api, alice, 10) // 7 predictions, 3 refusals
		predictVaried(t, api, bob, 3)
		newestFirst := slices.Clone(okIDs)
		slices.Reverse(newestFirst)
		okOnly := map[string]any{"status": "OK"}

		for _, tt := range []struct {
			order string
			want  []string
		}{{"NEWEST_FIRST", newestFirst}, {"OLDEST_FIRST", okIDs}} {
			t.Run(tt.order, func(t *testing.T) {
				// Forward, two at a time.
				var forward []string
				variables := map[string]any{"first": 2, "filter": okOnly, "order": tt.order}
				for pages := 0; ; pages++ {
					page, resp := api.history(t, alice, variables)
					if len(resp.Errors) > 0 || page.TotalCount != len(tt.want) {
						t.Fatalf("page %d: %s", pages, resp.Raw)
					}
					if page.PageInfo.HasPreviousPage != (pages > 0) {
						t.Fatalf("page %d: hasPreviousPage %v", pages, page.PageInfo.HasPreviousPage)
					}
					for _, e := range page.Edges {
						forward = append(forward, e.Node.ID)
					}
					if !page.PageInfo.HasNextPage {
						break
					}
					variables["after"] = *page.PageInfo.EndCursor
				}
				if !slices.Equal(forward, tt.want) {
					t.Fatalf("forward %v, want %v", forward, tt.want)
				}

				// Backward, three at a time, from the end.
				var backward []string
				variables = map[string]any{"last": 3, "filter": okOnly, "order": tt.order}
				for pages := 0; ; pages++ {
					page, resp := api.history(t, alice, variables)
					if len(resp.Errors) > 0 || page.TotalCount != len(tt.want) {
						t.Fatalf("page %d: %s", pages, resp.Raw)
					}
					if page.PageInfo.HasNextPage != (pages > 0) {
						t.Fatalf("page %d: hasNextPage %v", pages, page.PageInfo.HasNextPage)
					}
					var ids []string
					for _, e := range page.Edges {
						ids = append(ids, e.Node.ID)
					}
					if len(page.Edges) > 0 && (*page.PageInfo.StartCursor != page.Edges[0].Cursor || *page.PageInfo.EndCursor != page.Edges[len(page.Edges)-1].Cursor) {
						t.Fatalf("page %d: startCursor/endCursor do not match the edges: %s", pages, resp.Raw)
					}
					backward = append(ids, backward...)
					if !page.PageInfo.HasPreviousPage {
						break
					}
					variables["before"] = *page.PageInfo.StartCursor
				}
				if !slices.Equal(backward, tt.want) {
					t.Fatalf("backward %v, want %v", backward, tt.want)
				}
			})
		}

		t.Run("refusals and the other user", func(t *testing.T) {
			page, resp := api.history(t, alice, map[string]any{"filter": map[string]any{"status": "INVALID_INPUT"}})
			if len(resp.Errors) > 0 || page.TotalCount != 3 || len(page.Edges) != 3 {
				t.Fatalf("alice's refusals: %s", resp.Raw)
			}
			page, resp = api.history(t, bob, map[string]any{"filter": okOnly})
			if len(resp.Errors) > 0 || page.TotalCount != 2 {
				t.Fatalf("bob's predictions: %s", resp.Raw)
			}
			for _, e := range page.Edges {
				if slices.Contains(okIDs, e.Node.ID) {
					t.Fatalf("bob sees alice's request %s", e.Node.ID)
				}
			}
		})

		t.Run("probability range", func(t *testing.T) {
			all, resp := api.history(t, alice, map[string]any{"filter": okOnly, "first": 20})
			if len(resp.Errors) > 0 || len(all.Edges) != len(okIDs) {
				t.Fatalf("history: %s", resp.Raw)
			}
			var probs []float64
			for _, e := range all.Edges {
				p, _ := e.Node.Response.YhatProb.Float64()
				probs = append(probs, p)
			}
			slices.Sort(probs)
			// Bounds between two predictions: yhatProb is shown at float32
			// precision, and the filter compares the float64 stored.
			lo, hi := (probs[0]+probs[1])/2, (probs[len(probs)-2]+probs[len(probs)-1])/2
			page, resp := api.history(t, alice, map[string]any{"first": 20, "filter": map[string]any{"minProbability": lo, "maxProbability": hi}})
			want := 0
			for _, p := range probs {
				if p >= lo && p <= hi {
					want++
				}
			}
			if len(resp.Errors) > 0 || page.TotalCount != want || len(page.Edges) != want {
				t.Fatalf("[%v, %v]: %d, want %d: %s", lo, hi, page.TotalCount, want, resp.Raw)
			}
		})

		t.Run("refusals", func(t *testing.T) {
			for _, tt := range []struct {
				name      string
				variables map[string]any
				message   string
			}{
				{"first and last", map[string]any{"first": 2, "last": 2}, "first and last"},
				{"last zero", map[string]any{"last": 0}, "last must be"},
				{"bad before", map[string]any{"last": 2, "before": "nope"}, "before is not a cursor"},
				{"probability above 1", map[string]any{"filter": map[string]any{"minProbability": 1.5}}, "filter.minProbability"},
				{"min above max", map[string]any{"filter": map[string]any{"minProbability": 0.6, "maxProbability": 0.4}}, "filter.minProbability"},
				{"yhat 2", map[string]any{"filter": map[string]any{"yhat": 2}}, "filter.yhat"},
				{"empty range", map[string]any{"filter": map[string]any{"from": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}}, "filter.until"},
				{"long version", map[string]any{"filter": map[string]any{"modelVersion": strings.Repeat("v", 300)}}, "filter.modelVersion"},
			} {
				_, resp := api.history(t, alice, tt.variables)
				if resp.code() != "BAD_USER_INPUT" || !strings.Contains(resp.Errors[0].Message, tt.message) {
					t.Errorf("%s: %s, want BAD_USER_INPUT naming %s", tt.name, resp.Raw, tt.message)
				}
			}
		})
	})
}

// TestHistoryExplanations checks that the history explains a logged
// response exactly as predict did, and explains nothing it cannot.
func TestHistoryExplanations(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		api := newTestAPI(t, dialect)
		_, alice := api.user(t, "alice")
		in := seedInput()
		in["serumCreatinine"] = 1.3000001 // a number whose text matters
		resp := api.post(t, alice, predictMutation, client.Var("in", in))
		var predicted predictionAnswer
		resp.field(t, "predict", &predicted)
		refused := seedInput()
		refused["age"] = -1
		if resp := api.post(t, alice, predictMutation, client.Var("in", refused)); resp.code() != "BAD_USER_INPUT" {
			t.Fatalf("refused input: %s", resp.Raw)
		}

		page, resp := api.history(t, alice, map[string]any{"first": 10, "order": "OLDEST_FIRST"})
		if len(resp.Errors) > 0 || len(page.Edges) != 2 {
			t.Fatalf("history: %s", resp.Raw)
		}
		got := page.Edges[0].Node.Response
		if len(got.Contributions) != len(predicted.Contributions) || got.Bias == nil {
			t.Fatalf("history's explanation: %s", resp.Raw)
		}
		// The text of each number, so float32 rounding differences show.
		var predictedRaw struct {
			Contributions []struct{ Value json.Number }
			Bias          json.Number
		}
		api.post(t, alice, `query($id: ID!) { node(id: $id) { ... on PredictionResponse { contributions { value } bias } } }`,
			client.Var("id", predicted.ID)).field(t, "node", &predictedRaw)
		for i, c := range got.Contributions {
			if c.Feature != predicted.Contributions[i].Feature || c.Value.String() != strconv.FormatFloat(predicted.Contributions[i].Value, 'g', -1, 32) ||
				c.Value != predictedRaw.Contributions[i].Value {
				t.Errorf("contribution %d: history %s %s, predict %s %v, node %s", i, c.Feature, c.Value,
					predicted.Contributions[i].Feature, predicted.Contributions[i].Value, predictedRaw.Contributions[i].Value)
			}
		}
		if got.Bias.String() != strconv.FormatFloat(predicted.Bias, 'g', -1, 32) || *got.Bias != predictedRaw.Bias {
			t.Errorf("bias: history %s, predict %v, node %s", *got.Bias, predicted.Bias, predictedRaw.Bias)
		}
		if r := page.Edges[1].Node.Response; r.Status != "INVALID_INPUT" || r.Contributions != nil || r.Bias != nil {
			t.Errorf("a refusal is explained: %s", resp.Raw)
		}

		// Another model version answered: nothing explains it now.
		if _, err := api.tables.Exec("UPDATE responses SET model_version = 'retired'"); err != nil {
			t.Fatal(err)
		}
		page, resp = api.history(t, alice, map[string]any{"first": 10})
		for _, e := range page.Edges {
			if e.Node.Response.Contributions != nil || e.Node.Response.Bias != nil {
				t.Fatalf("a retired model's answer is explained: %s", resp.Raw)
			}
		}
	})
}
