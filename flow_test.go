package main

import (
	"encoding/json"
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/client"

	"github.com/mlapi/mlapi/internal/store"
	"github.com/mlapi/mlapi/internal/store/storetest"
)

// The seed's flow end to end on the in-process API, and the history it
// leaves: register, log in, predict, read the history back, and what
// caching clients rely on to keep the two together.

func TestSeedFlow(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		api := newTestAPI(t, dialect)
		userID, token := api.user(t, "ada")

		p := api.predict(t, token)
		if p.YhatProb.String() != "0.5124506" || p.Yhat != 1 {
			t.Errorf("seed example: yhatProb %s yhat %d, want 0.5124506 and 1", p.YhatProb, p.Yhat)
		}
		sum := p.Bias
		for _, c := range p.Contributions {
			sum += c.Value
		}
		if len(p.Contributions) != 8 || math.Abs(sum-p.Margin) > 1e-5 {
			t.Errorf("contributions %v + bias %v = %v, want margin %v", p.Contributions, p.Bias, sum, p.Margin)
		}

		history := api.post(t, token, `query { me { id username requests(first: 20) { totalCount pageInfo { hasNextPage endCursor }
		  edges { cursor node { id createdAt input response { id yhatProb yhat modelVersion status errorCode } } } } } }`)
		var me struct {
			ID       string
			Username string
			Requests struct {
				TotalCount int
				PageInfo   struct{ HasNextPage bool }
				Edges      []struct {
					Node struct {
						ID       string
						Input    map[string]any
						Response struct {
							ID           string
							YhatProb     json.Number
							Yhat         int
							ModelVersion string
							Status       string
						}
					}
				}
			}
		}
		history.field(t, "me", &me)
		if me.ID == "" || me.Requests.TotalCount != 1 || len(me.Requests.Edges) != 1 || me.Requests.PageInfo.HasNextPage {
			t.Fatalf("history: %s", history.Raw)
		}
		// The caller's account as Viewer and as User are two objects of
		// one account: node(id:) fetches each back as its own type.
		again := api.post(t, token, `query($v: ID!, $u: ID!) { v: node(id: $v) { __typename ... on Viewer { username } } u: node(id: $u) { __typename ... on User { username } } }`,
			client.Var("v", me.ID), client.Var("u", userID))
		type named struct {
			Typename string `json:"__typename"`
			Username string
		}
		var viewerNode, userNode named
		again.field(t, "v", &viewerNode)
		again.field(t, "u", &userNode)
		if viewerNode != (named{"Viewer", "ada"}) || userNode != (named{"User", "ada"}) {
			t.Errorf("node(id:) of the caller's ids: %s", again.Raw)
		}
		node := me.Requests.Edges[0].Node
		if node.ID != p.RequestID || node.Response.ID != p.ID || node.Response.YhatProb.String() != "0.5124506" ||
			node.Response.Status != "OK" || node.Response.ModelVersion != p.ModelVersion {
			t.Errorf("logged request %+v does not match the prediction %+v", node, p)
		}
		if node.Input["serum_creatinine"] != float64(8) || node.Input["sex"] != true {
			t.Errorf("logged input %v, want the features as received", node.Input)
		}

		// The seed's own output shape is kept in responses.output.
		var output string
		if err := api.tables.QueryRow("SELECT output FROM responses").Scan(&output); err != nil {
			t.Fatal(err)
		}
		var seedShape map[string]string
		if err := json.Unmarshal([]byte(output), &seedShape); err != nil || seedShape["yhat_prob"] != "0.5124506" || seedShape["yhat"] != "1" {
			t.Errorf("responses.output = %s, want the seed's shape", output)
		}

		one := api.post(t, token, `query($id: ID!) { request(id: $id) { id input response { yhatProb } } }`, client.Var("id", p.RequestID))
		var request *struct {
			ID       string
			Response struct{ YhatProb json.Number }
		}
		one.field(t, "request", &request)
		if request == nil || request.ID != p.RequestID || request.Response.YhatProb.String() != "0.5124506" {
			t.Errorf("request(id): %s", one.Raw)
		}
		if !api.tokenValid(t, token) {
			t.Errorf("tokenStatus of a fresh token: not valid")
		}
		info := api.post(t, "", `{ model { version objective numTrees features { name field type min max } } }`)
		var model struct {
			Objective string
			Features  []struct{ Field string }
		}
		info.field(t, "model", &model)
		if model.Objective != "binary:logistic" || !slices.ContainsFunc(model.Features, func(f struct{ Field string }) bool { return f.Field == "serumCreatinine" }) {
			t.Errorf("model: %s", info.Raw)
		}

		// One access line per request (register, token and the 5 above),
		// with its outcome and latency, and no password or token anywhere.
		var requests int
		for _, entry := range api.logLines(t) {
			if entry.Msg == "request" {
				requests++
				if entry.Status != http.StatusOK || entry.LatencyMS == nil {
					t.Errorf("access line without status or latency: %+v", entry)
				}
			}
		}
		if requests != 8 {
			t.Errorf("%d access lines, want 8:\n%s", requests, api.logs.String())
		}
		for _, secret := range []string{userPassword, token} {
			if strings.Contains(api.logs.String(), secret) {
				t.Errorf("the log contains %q", secret)
			}
		}
	})
}

func TestBareTokenIsAccepted(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, store.SQLite)
	_, token := api.user(t, "bare")
	// As the seed's clients send it: the token without "Bearer ".
	resp := api.post(t, "", `{ me { username } }`, client.AddHeader("Authorization", token))
	var me *struct{ Username string }
	resp.field(t, "me", &me)
	if len(resp.Errors) > 0 || me == nil || me.Username != "bare" {
		t.Fatalf("bare token: %s", resp.Raw)
	}
}

func TestHistoryIsTheCallersOwn(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		api := newTestAPI(t, dialect)
		_, alice := api.user(t, "alice")
		_, bob := api.user(t, "bob")
		var requestIDs []string
		for range 3 {
			requestIDs = append(requestIDs, api.predict(t, alice).RequestID)
		}
		for _, id := range requestIDs {
			resp := api.post(t, bob, `query($id: ID!) { request(id: $id) { id input } }`, client.Var("id", id))
			var request *struct{ ID string }
			resp.field(t, "request", &request)
			if len(resp.Errors) > 0 || request != nil {
				t.Errorf("bob reading alice's request %s: %s", id, resp.Raw)
			}
		}
		resp := api.post(t, bob, `{ me { requests { totalCount edges { node { id } } } } }`)
		var bobs struct {
			Requests struct {
				TotalCount int
				Edges      []struct{ Node struct{ ID string } }
			}
		}
		resp.field(t, "me", &bobs)
		if bobs.Requests.TotalCount != 0 || len(bobs.Requests.Edges) != 0 {
			t.Errorf("bob's history: %s", resp.Raw)
		}

		// Alice pages through her own history, newest first, with no gaps.
		var seen []string
		after := ""
		for page := 0; page < 5; page++ {
			var cursor any // null on the first page
			if after != "" {
				cursor = after
			}
			resp := api.post(t, alice, `query($after: String) { me { requests(first: 2, after: $after) {
			  totalCount pageInfo { hasNextPage endCursor } edges { node { id } } } } }`, client.Var("after", cursor))
			var me struct {
				Requests struct {
					TotalCount int
					PageInfo   struct {
						HasNextPage bool
						EndCursor   string
					}
					Edges []struct{ Node struct{ ID string } }
				}
			}
			resp.field(t, "me", &me)
			for _, e := range me.Requests.Edges {
				seen = append(seen, e.Node.ID)
			}
			if !me.Requests.PageInfo.HasNextPage {
				break
			}
			after = me.Requests.PageInfo.EndCursor
		}
		want := []string{requestIDs[2], requestIDs[1], requestIDs[0]}
		if !slices.Equal(seen, want) {
			t.Errorf("pages gave %v, want %v (newest first)", seen, want)
		}
		future := api.post(t, alice, `{ me { requests(since: "2999-01-01T00:00:00Z") { totalCount } } }`)
		var since struct{ Requests struct{ TotalCount int } }
		future.field(t, "me", &since)
		if len(future.Errors) > 0 || since.Requests.TotalCount != 0 {
			t.Errorf("since in the future: %s", future.Raw)
		}
	})
}

// TestCachingClientErgonomics covers what caching clients (Apollo, urql's
// graphcache, Relay) rely on: an id on every cached object, a predict result
// that can be written into a cached history, public data that survives a
// missing token, and node(id:) scoped like request(id:).
func TestCachingClientErgonomics(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		api := newTestAPI(t, dialect)
		aliceID, alice := api.user(t, "alice")
		_, bob := api.user(t, "bob")

		resp := api.post(t, alice, `mutation($in: PredictInput!) { predict(input: $in) {
		  id requestId yhatProb request { id createdAt input response { id yhatProb yhat status modelVersion } } } }`,
			client.Var("in", seedInput()))
		var p struct {
			ID, RequestID string
			YhatProb      json.Number
			Request       struct {
				ID, CreatedAt string
				Input         json.RawMessage
				Response      struct {
					ID, Status, ModelVersion string
					YhatProb                 json.Number
					Yhat                     int
				}
			}
		}
		resp.field(t, "predict", &p)
		if p.Request.ID != p.RequestID || p.Request.Response.ID != p.ID || p.Request.Response.YhatProb != p.YhatProb ||
			p.Request.Response.Status != "OK" || p.Request.Response.Yhat != 1 {
			t.Fatalf("predict's request does not describe the prediction: %s", resp.Raw)
		}

		// What predict returned is exactly what the history lists.
		history := api.post(t, alice, `{ me { requests(first: 1) { edges { node { id createdAt input response { id yhatProb yhat status modelVersion } } } } } }`)
		var me struct {
			Requests struct {
				Edges []struct{ Node json.RawMessage }
			}
		}
		history.field(t, "me", &me)
		var predicted struct{ Request json.RawMessage }
		resp.field(t, "predict", &predicted)
		var fromHistory, fromPredict any
		if len(me.Requests.Edges) != 1 || json.Unmarshal(me.Requests.Edges[0].Node, &fromHistory) != nil || json.Unmarshal(predicted.Request, &fromPredict) != nil {
			t.Fatalf("history: %s", history.Raw)
		}
		if a, b := mustJSON(fromHistory), mustJSON(fromPredict); a != b {
			t.Errorf("history lists %s, predict returned %s", a, b)
		}

		var model struct{ ID, Version string }
		api.post(t, "", `{ model { id version } }`).field(t, "model", &model)
		if model.ID == "" || model.ID == model.Version {
			t.Errorf("model id %q", model.ID)
		}

		const nodeQuery = `query($id: ID!) { node(id: $id) { __typename id ... on PredictionRequest { input } ... on PredictionResponse { yhatProb } ... on ModelInfo { version } ... on User { username } } }`
		tests := []struct {
			name, token, id string
			wantType        string // empty: null
			wantCode        string
		}{
			{name: "own request", token: alice, id: p.RequestID, wantType: "PredictionRequest"},
			{name: "own response", token: alice, id: p.ID, wantType: "PredictionResponse"},
			{name: "own account", token: alice, id: aliceID, wantType: "User"},
			{name: "the model, without a token", id: model.ID, wantType: "ModelInfo"},
			{name: "another user's request", token: bob, id: p.RequestID},
			{name: "another user's response", token: bob, id: p.ID},
			{name: "another user's account", token: bob, id: aliceID},
			{name: "a request without a token", id: p.RequestID, wantCode: "UNAUTHENTICATED"},
			{name: "a type this API has no ids for", token: alice, id: "T3RoZXI6MQ"}, // "Other:1"
			{name: "not an id", token: alice, id: "!!", wantCode: "BAD_USER_INPUT"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				resp := api.post(t, tt.token, nodeQuery, client.Var("id", tt.id))
				if got := resp.code(); got != tt.wantCode {
					t.Fatalf("code %q, want %q: %s", got, tt.wantCode, resp.Raw)
				}
				if tt.wantCode != "" {
					return
				}
				var node *struct {
					Typename string `json:"__typename"`
					ID       string
				}
				resp.field(t, "node", &node)
				switch {
				case tt.wantType == "" && node != nil:
					t.Errorf("want null, got %s", resp.Raw)
				case tt.wantType != "" && (node == nil || node.Typename != tt.wantType || node.ID != tt.id):
					t.Errorf("want the %s %s, got %s", tt.wantType, tt.id, resp.Raw)
				}
			})
		}

		// Without a token, me is null with UNAUTHENTICATED, and the public
		// fields of the same document are still answered.
		mixed := api.post(t, "", `{ model { version } me { username } }`)
		var public struct{ Version string }
		mixed.field(t, "model", &public)
		var anonymous *struct{ Username string }
		mixed.field(t, "me", &anonymous)
		if public.Version != model.Version || mixed.code() != "UNAUTHENTICATED" || anonymous != nil {
			t.Errorf("model and me without a token: %s", mixed.Raw)
		}
	})
}
