package main

import (
	"encoding/json"
	"testing"
)

// TestCachingClientErgonomics covers what caching clients (Apollo, urql's
// graphcache, Relay) rely on: an id on every cached object, a predict result
// that can be written into a cached history, public data that survives a
// missing token, and node(id:) scoped like request(id:).
func TestCachingClientErgonomics(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, dialect string) {
		api := newTestAPI(t, dialect)
		aliceID, alice := api.user("alice")
		_, bob := api.user("bob")

		resp := api.post(alice, `mutation($in: PredictInput!) { predict(input: $in) {
		  id requestId yhatProb request { id createdAt input response { id yhatProb yhat status modelVersion } } } }`,
			map[string]any{"in": seedInput()})
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
		history := api.post(alice, `{ me { requests(first: 1) { edges { node { id createdAt input response { id yhatProb yhat status modelVersion } } } } } }`, nil)
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
		api.post("", `{ model { id version } }`, nil).field(t, "model", &model)
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
				resp := api.post(tt.token, nodeQuery, map[string]any{"id": tt.id})
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
		mixed := api.post("", `{ model { version } me { username } }`, nil)
		var public struct{ Version string }
		mixed.field(t, "model", &public)
		if public.Version != model.Version || mixed.code() != "UNAUTHENTICATED" || string(mixed.Data["me"]) != "null" {
			t.Errorf("model and me without a token: %s", mixed.Raw)
		}
	})
}
