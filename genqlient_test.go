package main

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/mlapi/mlapi/clients/genqlient"
)

// seedPredictInput is the seed document's example, as a Go caller sends it.
func seedPredictInput() genqlient.PredictInput {
	return genqlient.PredictInput{
		Age: 25, CreatininePhosphokinase: 1000, EjectionFraction: 35, Platelets: 500000,
		SerumCreatinine: 8, SerumSodium: 135, Sex: true, HighBloodPressure: false,
	}
}

// TestGenqlientClient runs the seed flow through the example typed client in
// clients/genqlient, so that the client the README shows Go callers keeps
// compiling against the schema and working against the real server.
func TestGenqlientClient(t *testing.T) {
	t.Parallel()
	const password = "correct horse battery"
	forEachDatabase(t, func(t *testing.T, dialect string) {
		api := newTestAPI(t, dialect)
		endpoint := api.server.URL + "/query"
		ctx := t.Context()
		api.register("grace", password)

		tok, err := genqlient.Token(ctx, genqlient.NewClient(endpoint, "", api.server.Client()), "grace", password)
		if err != nil {
			t.Fatalf("Token: %v", err)
		}
		if tok.Token.Token == "" || tok.Token.TokenType != "Bearer" || !tok.Token.ExpiresAt.After(time.Now()) {
			t.Fatalf("Token = %+v, want a Bearer token that has not expired", tok.Token)
		}
		client := genqlient.NewClient(endpoint, tok.Token.Token, api.server.Client())

		// The seed's example goes last so that it heads the history.
		inputs := []genqlient.PredictInput{
			{Age: 75, CreatininePhosphokinase: 582, EjectionFraction: 20, Platelets: 265000,
				SerumCreatinine: 1.9, SerumSodium: 130, Sex: true, HighBloodPressure: true},
			{Age: 50, CreatininePhosphokinase: 200, EjectionFraction: 60, Platelets: 250000,
				SerumCreatinine: 0.9, SerumSodium: 140, Sex: false, HighBloodPressure: false},
			seedPredictInput(),
		}
		var predictions []genqlient.PredictPredictPrediction
		for _, in := range inputs {
			resp, err := genqlient.Predict(ctx, client, in)
			if err != nil {
				t.Fatalf("Predict(%+v): %v", in, err)
			}
			p := resp.Predict
			if p.YhatProb < 0 || p.YhatProb > 1 || p.Yhat != yhatOf(p.YhatProb) {
				t.Errorf("Predict(%+v): yhatProb %v yhat %d, want a probability and yhat = (yhatProb > 0.5)", in, p.YhatProb, p.Yhat)
			}
			if p.Request.Id == "" || p.Request.CreatedAt.IsZero() || len(p.ModelVersion) != 64 {
				t.Errorf("Predict(%+v): request %+v, model version %q", in, p.Request, p.ModelVersion)
			}
			predictions = append(predictions, p)
		}
		seed := predictions[len(predictions)-1]
		// Exact: yhatProb is bound to float32, the precision the server
		// computes and prints it at.
		if seed.YhatProb != 0.5124506 || seed.Yhat != 1 {
			t.Errorf("seed example: yhatProb %v yhat %d, want 0.5124506 and 1", seed.YhatProb, seed.Yhat)
		}

		// The history, two at a time, as a caller walks it.
		var (
			nodes     []genqlient.HistoryMeViewerRequestsRequestConnectionEdgesRequestEdgeNodePredictionRequest
			pageSizes []int
			after     string
		)
		for {
			resp, err := genqlient.History(ctx, client, 2, after)
			if err != nil {
				t.Fatalf("History(2, %q): %v", after, err)
			}
			if resp.Me == nil {
				t.Fatal("History: me is null with a valid token")
			}
			page := resp.Me.Requests
			if page.TotalCount != len(inputs) {
				t.Errorf("History(2, %q): totalCount %d, want %d", after, page.TotalCount, len(inputs))
			}
			pageSizes = append(pageSizes, len(page.Edges))
			for _, edge := range page.Edges {
				nodes = append(nodes, edge.Node)
			}
			if !page.PageInfo.HasNextPage {
				break
			}
			if page.PageInfo.EndCursor == nil {
				t.Fatalf("History(2, %q): hasNextPage without an endCursor", after)
			}
			if len(pageSizes) > len(inputs) {
				t.Fatalf("History: more pages than requests: %v", pageSizes)
			}
			after = *page.PageInfo.EndCursor
		}
		if !slices.Equal(pageSizes, []int{2, 1}) {
			t.Fatalf("History pages of %v, want [2 1]", pageSizes)
		}
		if nodes[0].Id != seed.Request.Id {
			t.Errorf("the history starts with request %s, want the last prediction's %s", nodes[0].Id, seed.Request.Id)
		}
		seen := map[string]bool{}
		for i, node := range nodes {
			p := predictions[len(predictions)-1-i] // newest first
			if seen[node.Id] || node.Id != p.Request.Id {
				t.Errorf("history[%d] is request %s, want %s, distinct and newest first", i, node.Id, p.Request.Id)
			}
			seen[node.Id] = true
			if i > 0 && node.CreatedAt.After(nodes[i-1].CreatedAt) {
				t.Errorf("history[%d] created at %v, after history[%d] at %v", i, node.CreatedAt, i-1, nodes[i-1].CreatedAt)
			}
			r := node.Response
			if r == nil || r.Status != genqlient.ResponseStatusOk || r.YhatProb == nil || *r.YhatProb != p.YhatProb ||
				r.Yhat == nil || *r.Yhat != p.Yhat {
				t.Errorf("history[%d] response %s, want status OK with the prediction's yhatProb %v and yhat %d",
					i, describeResponse(r), p.YhatProb, p.Yhat)
			}
		}

		t.Run("model", func(t *testing.T) {
			t.Parallel()
			resp, err := genqlient.Model(t.Context(), client)
			if err != nil {
				t.Fatalf("Model: %v", err)
			}
			m := resp.Model
			if m.Id == "" || m.Version != seed.ModelVersion {
				t.Errorf("Model: id %q version %q, want an id and the version that predicted (%s)", m.Id, m.Version, seed.ModelVersion)
			}
			bounds := func(lo, hi float32) [2]*float32 { return [2]*float32{&lo, &hi} }
			want := []struct {
				name, field string
				bounds      [2]*float32 // nil for a boolean
			}{
				{"age", "age", bounds(0, 130)},
				{"creatinine_phosphokinase", "creatininePhosphokinase", bounds(0, 100000)},
				{"ejection_fraction", "ejectionFraction", bounds(0, 100)},
				{"platelets", "platelets", bounds(0, 5000000)},
				{"serum_creatinine", "serumCreatinine", bounds(0, 100)},
				{"serum_sodium", "serumSodium", bounds(50, 250)},
				{"sex", "sex", [2]*float32{}},
				{"high_blood_pressure", "highBloodPressure", [2]*float32{}},
			}
			if len(m.Features) != len(want) {
				t.Fatalf("Model: %d features, want %d: %+v", len(m.Features), len(want), m.Features)
			}
			for _, w := range want {
				i := slices.IndexFunc(m.Features, func(f genqlient.ModelModelModelInfoFeaturesModelFeature) bool { return f.Name == w.name })
				if i < 0 {
					t.Errorf("Model: no feature %s", w.name)
					continue
				}
				f := m.Features[i]
				if f.Field != w.field || !equalBound(f.Min, w.bounds[0]) || !equalBound(f.Max, w.bounds[1]) {
					t.Errorf("Model: feature %s is field %s in [%s, %s], want %s in [%s, %s]", w.name,
						f.Field, describeFloat(f.Min), describeFloat(f.Max), w.field, describeFloat(w.bounds[0]), describeFloat(w.bounds[1]))
				}
			}
		})

		// Refusals arrive as the gqlerror.List genqlient returns. Each row
		// has a user of its own, so that it finds its refusal logged at the
		// head of its history whatever the other rows do.
		refusals := []struct {
			name      string
			anonymous bool
			change    func(*genqlient.PredictInput)
			code      string
			fields    []string
		}{
			{name: "age out of range", change: func(in *genqlient.PredictInput) { in.Age = -5 },
				code: "BAD_USER_INPUT", fields: []string{"age"}},
			{name: "every offending field named", change: func(in *genqlient.PredictInput) { in.Age = -5; in.EjectionFraction = 150 },
				code: "BAD_USER_INPUT", fields: []string{"age", "ejectionFraction"}},
			{name: "no token", anonymous: true, code: "UNAUTHENTICATED"},
		}
		for i, tt := range refusals {
			t.Run("refused/"+tt.name, func(t *testing.T) {
				t.Parallel()
				ctx := t.Context()
				client := genqlient.NewClient(endpoint, "", api.server.Client())
				if !tt.anonymous {
					username := fmt.Sprintf("refused%d", i)
					api.on(t).register(username, password)
					client = genqlient.NewClient(endpoint, api.on(t).token(username, password), api.server.Client())
				}
				in := seedPredictInput()
				if tt.change != nil {
					tt.change(&in)
				}
				_, err := genqlient.Predict(ctx, client, in)
				var list gqlerror.List
				if !errors.As(err, &list) || len(list) != 1 {
					t.Fatalf("Predict(%+v) = %T %v, want a gqlerror.List of one error", in, err, err)
				}
				gqlErr := list[0]
				if code, _ := gqlErr.Extensions["code"].(string); code != tt.code || gqlErr.Path.String() != "predict" {
					t.Errorf("error at %q with code %q, want %s at predict: %v", gqlErr.Path, code, tt.code, gqlErr)
				}
				if got := errorFields(gqlErr); !slices.Equal(got, tt.fields) {
					t.Errorf("extensions.fields name %q, want %q: %v", got, tt.fields, gqlErr.Extensions)
				}
				if tt.anonymous {
					return
				}

				// Logged, with the nullable fields of a refusal coming back nil.
				resp, err := genqlient.History(ctx, client, 1, "")
				if err != nil {
					t.Fatalf("History: %v", err)
				}
				if resp.Me == nil || resp.Me.Requests.TotalCount != 1 || len(resp.Me.Requests.Edges) != 1 {
					t.Fatalf("History = %+v, want the one refused request", resp.Me)
				}
				r := resp.Me.Requests.Edges[0].Node.Response
				if r == nil || r.Status != genqlient.ResponseStatusInvalidInput || r.YhatProb != nil || r.Yhat != nil {
					t.Errorf("logged response %s, want INVALID_INPUT without yhatProb or yhat", describeResponse(r))
				}
			})
		}
	})
}

func yhatOf(prob float32) int {
	if prob > 0.5 {
		return 1
	}
	return 0
}

// errorFields lists the input fields a BAD_USER_INPUT error names, sorted,
// or nil when it names none.
func errorFields(err *gqlerror.Error) []string {
	items, _ := err.Extensions["fields"].([]any)
	var fields []string
	for _, item := range items {
		entry, _ := item.(map[string]any)
		field, _ := entry["field"].(string)
		fields = append(fields, field)
	}
	slices.Sort(fields)
	return fields
}

func equalBound(got, want *float32) bool {
	if got == nil || want == nil {
		return got == want
	}
	return *got == *want
}

func describeFloat(b *float32) string {
	if b == nil {
		return "null"
	}
	return fmt.Sprint(*b)
}

func describeResponse(r *genqlient.HistoryMeViewerRequestsRequestConnectionEdgesRequestEdgeNodePredictionRequestResponsePredictionResponse) string {
	if r == nil {
		return "null"
	}
	yhat := "null"
	if r.Yhat != nil {
		yhat = fmt.Sprint(*r.Yhat)
	}
	return fmt.Sprintf("{status %s, yhatProb %s, yhat %s}", r.Status, describeFloat(r.YhatProb), yhat)
}
