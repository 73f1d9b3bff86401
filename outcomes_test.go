package main

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"

	"github.com/mlapi/mlapi/internal/metrics"
	"github.com/mlapi/mlapi/internal/metrics/metricstest"
	"github.com/mlapi/mlapi/internal/store/storetest"
)

// Outcomes (ground truth) and the model's performance on them, through the
// real handler.

const recordOutcomeMutation = `mutation($id: ID!, $o: Boolean!, $at: Time) {
  recordOutcome(requestId: $id, outcome: $o, observedAt: $at) { outcome observedAt recordedAt } }`

type outcomeAnswer struct {
	Outcome    bool
	ObservedAt time.Time
	RecordedAt time.Time
}

const performanceFields = `count positives accuracy precision recall f1 rocAuc brierScore logLoss
  calibration { lower upper count meanPredicted observedRate }
  roc { threshold falsePositiveRate truePositiveRate }`

type performanceAnswer struct {
	ModelVersion *string
	Count        int
	Positives    int
	Accuracy     *float64
	Precision    *float64
	Recall       *float64
	F1           *float64
	RocAuc       *float64
	BrierScore   *float64
	LogLoss      *float64
	Calibration  []struct {
		Lower, Upper  float64
		Count         int
		MeanPredicted *float64
		ObservedRate  *float64
	}
	Roc []rocPointAnswer
}

type rocPointAnswer struct {
	Threshold         *float64
	FalsePositiveRate float64
	TruePositiveRate  float64
}

func TestRecordOutcome(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		api := newTestAPI(t, dialect)
		_, ada := api.user(t, "ada")
		_, bob := api.user(t, "bob")
		p := api.predict(t, ada)
		made, err := time.Parse(time.RFC3339Nano, p.CreatedAt)
		if err != nil {
			t.Fatal(err)
		}

		// Recorded, then recorded again: the new value and time win.
		observed := made.Add(time.Millisecond)
		var first, second outcomeAnswer
		resp := api.post(t, ada, recordOutcomeMutation, client.Var("id", p.RequestID), client.Var("o", true), client.Var("at", observed.Format(time.RFC3339Nano)))
		resp.field(t, "recordOutcome", &first)
		if !first.Outcome || !first.ObservedAt.Equal(observed) {
			t.Fatalf("first record: %s", resp.Raw)
		}
		resp = api.post(t, ada, recordOutcomeMutation, client.Var("id", p.RequestID), client.Var("o", false))
		resp.field(t, "recordOutcome", &second)
		if second.Outcome || second.ObservedAt.Before(made) || second.RecordedAt.Before(first.RecordedAt) {
			t.Fatalf("second record (observedAt defaults to now): %s after %+v", resp.Raw, first)
		}

		// The history and node(id:) show it; another request has none.
		other := api.predict(t, ada)
		resp = api.post(t, ada, `query($id: ID!) { me { requests(first: 10) { edges { node { id outcome { outcome observedAt } } } } }
		  node(id: $id) { ... on PredictionRequest { outcome { outcome } } } }`, client.Var("id", p.RequestID))
		var me struct {
			Requests struct {
				Edges []struct {
					Node struct {
						ID      string
						Outcome *outcomeAnswer
					}
				}
			}
		}
		resp.field(t, "me", &me)
		var node struct{ Outcome *outcomeAnswer }
		resp.field(t, "node", &node)
		outcomes := map[string]*outcomeAnswer{}
		for _, e := range me.Requests.Edges {
			outcomes[e.Node.ID] = e.Node.Outcome
		}
		if len(outcomes) != 2 || outcomes[other.RequestID] != nil || outcomes[p.RequestID] == nil ||
			outcomes[p.RequestID].Outcome || !outcomes[p.RequestID].ObservedAt.Equal(second.ObservedAt) ||
			node.Outcome == nil || node.Outcome.Outcome {
			t.Fatalf("history with outcomes: %s", resp.Raw)
		}

		refusals := []struct {
			name, token, id string
			at              any
			code            string
		}{
			{"another user's request", bob, p.RequestID, nil, "NOT_FOUND"},
			{"no token", "", p.RequestID, nil, "UNAUTHENTICATED"},
			{"not a request id", ada, p.ID, nil, "BAD_USER_INPUT"},
			{"in the future", ada, p.RequestID, time.Now().Add(time.Hour).Format(time.RFC3339), "BAD_USER_INPUT"},
			{"before the request", ada, p.RequestID, made.Add(-time.Second).Format(time.RFC3339Nano), "BAD_USER_INPUT"},
			{"not a time", ada, p.RequestID, "yesterday", "BAD_USER_INPUT"},
		}
		for _, tt := range refusals {
			resp := api.post(t, tt.token, recordOutcomeMutation, client.Var("id", tt.id), client.Var("o", true), client.Var("at", tt.at))
			if got := resp.code(); got != tt.code {
				t.Errorf("%s: %q, want %q: %s", tt.name, got, tt.code, resp.Raw)
			}
		}
		if n := api.queryInt(t, "SELECT count(*) FROM outcomes WHERE outcome = "+sqlFalse(dialect)); n != 1 {
			t.Errorf("refused records changed the outcome: %d rows false, want 1", n)
		}
	})
}

func sqlFalse(dialect string) string {
	if dialect == "sqlite" {
		return "0"
	}
	return "false"
}

func TestPerformance(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		api := newTestAPI(t, dialect)
		_, ada := api.user(t, "ada")
		_, bob := api.user(t, "bob")
		_, admin := api.createAdmin(t, "root", "admin password 1")

		// Before any outcome: zero count, every figure null, ten empty bins.
		var empty performanceAnswer
		api.post(t, ada, `{ me { performance { `+performanceFields+` } } }`).field(t, "me", &struct{ Performance *performanceAnswer }{&empty})
		if empty.Count != 0 || empty.Accuracy != nil || empty.RocAuc != nil || empty.LogLoss != nil || len(empty.Calibration) != metrics.Bins ||
			empty.Roc == nil || len(empty.Roc) != 0 {
			t.Fatalf("no outcomes: %+v", empty)
		}

		// Varied inputs make varied probabilities; the outcomes disagree
		// with some predictions so that no figure is trivial.
		var adaSamples, allSamples, trueOnly []metrics.Sample
		for i := range 14 {
			in := seedInput()
			in["age"] = 40 + 4*i
			in["ejectionFraction"] = 15 + 3*i
			in["serumCreatinine"] = 0.6 + 0.5*float64(i%7)
			token := ada
			if i%4 == 3 {
				token = bob
			}
			resp := api.post(t, token, predictMutation, client.Var("in", in))
			var p predictionAnswer
			resp.field(t, "predict", &p)
			prob, err := strconv.ParseFloat(p.YhatProb.String(), 32)
			if err != nil {
				t.Fatal(err)
			}
			if i == 5 {
				continue // no outcome
			}
			outcome := (i%3 == 0) != (p.Yhat == 1)
			api.post(t, token, recordOutcomeMutation, client.Var("id", p.RequestID), client.Var("o", outcome)).field(t, "recordOutcome", &outcomeAnswer{})
			s := metrics.Sample{Prob: prob, Pred: p.Yhat, Label: outcome}
			allSamples = append(allSamples, s)
			if token == ada {
				adaSamples = append(adaSamples, s)
				if outcome {
					trueOnly = append(trueOnly, s)
				}
			}
		}
		// A refused input with an outcome is no prediction to score.
		bad := seedInput()
		bad["age"] = 500
		if code := api.post(t, ada, predictMutation, client.Var("in", bad)).code(); code != "BAD_USER_INPUT" {
			t.Fatalf("refused predict: %s", code)
		}
		var latest struct {
			Requests struct {
				Edges []struct{ Node struct{ ID string } }
			}
		}
		api.post(t, ada, `{ me { requests(first: 1) { edges { node { id } } } } }`).field(t, "me", &latest)
		api.post(t, ada, recordOutcomeMutation, client.Var("id", latest.Requests.Edges[0].Node.ID), client.Var("o", true)).field(t, "recordOutcome", &outcomeAnswer{})

		var got struct{ All, TrueOnly, Without performanceAnswer }
		resp := api.post(t, ada, `{ me { all: performance { `+performanceFields+` }
		  trueOnly: performance(filter: {outcome: true}) { `+performanceFields+` }
		  without: performance(filter: {hasOutcome: false}) { count } } }`)
		resp.field(t, "me", &got)
		wantPerformance(t, "ada", got.All, adaSamples)
		wantPerformance(t, "ada, true outcomes", got.TrueOnly, trueOnly)
		if len(got.All.Roc) < 4 || len(got.TrueOnly.Roc) != 0 {
			t.Errorf("roc of both outcomes: %d points, of true ones only: %d; want a curve, then none", len(got.All.Roc), len(got.TrueOnly.Roc))
		}
		if got.Without.Count != 0 {
			t.Errorf("performance of requests without outcome: %+v", got.Without)
		}

		// Everyone's, per model version: administrators only.
		if code := api.post(t, ada, `{ modelPerformance { count } }`).code(); code != "FORBIDDEN" {
			t.Errorf("modelPerformance for a user: %q, want FORBIDDEN", code)
		}
		var versions []performanceAnswer
		api.post(t, admin, `{ modelPerformance { modelVersion `+performanceFields+` } }`).field(t, "modelPerformance", &versions)
		if len(versions) != 1 || versions[0].ModelVersion == nil || *versions[0].ModelVersion == "" {
			t.Fatalf("modelPerformance: %+v", versions)
		}
		wantPerformance(t, "every user", versions[0], allSamples)

		// Bad filters are refused, naming the field.
		resp = api.post(t, ada, `{ me { performance(filter: {minProbability: 1.5}) { count } } }`)
		if resp.code() != "BAD_USER_INPUT" || len(resp.Errors) == 0 || resp.Errors[0].Message != "filter.minProbability must be between 0 and 1" {
			t.Errorf("bad filter: %s", resp.Raw)
		}
	})
}

// wantPerformance compares the API's figures with metrics' over the same
// samples (metrics is checked against scikit-learn in its own tests), to
// 1e-9: the performance figures are printed at float64 precision.
func wantPerformance(t *testing.T, name string, got performanceAnswer, samples []metrics.Sample) {
	t.Helper()
	want, err := metricstest.Compute(samples)
	if err != nil {
		t.Fatal(err)
	}
	if got.Count != want.Count || got.Positives != want.Positives || want.Count == 0 {
		t.Fatalf("%s: count %d positives %d, want %d %d", name, got.Count, got.Positives, want.Count, want.Positives)
	}
	near := func(figure string, g, w *float64) {
		t.Helper()
		switch {
		case g == nil && w == nil:
		case g == nil || w == nil || math.Abs(*g-*w) > 1e-9:
			t.Errorf("%s: %s %v, want %v", name, figure, showFloat(g), showFloat(w))
		}
	}
	near("accuracy", got.Accuracy, want.Accuracy)
	near("precision", got.Precision, want.Precision)
	near("recall", got.Recall, want.Recall)
	near("f1", got.F1, want.F1)
	near("rocAuc", got.RocAuc, want.ROCAUC)
	near("brierScore", got.BrierScore, want.Brier)
	near("logLoss", got.LogLoss, want.LogLoss)
	if len(got.Calibration) != metrics.Bins {
		t.Fatalf("%s: %d bins", name, len(got.Calibration))
	}
	for i, b := range got.Calibration {
		w := want.Calibration[i]
		if b.Count != w.Count || math.Abs(b.Lower-w.Lower) > 1e-7 || math.Abs(b.Upper-w.Upper) > 1e-7 {
			t.Errorf("%s: bin %d %+v, want %+v", name, i, b, w)
		}
		near("meanPredicted", b.MeanPredicted, w.MeanPredicted)
		near("observedRate", b.ObservedRate, w.ObservedRate)
	}
	if want := exactROC(samples); !slices.EqualFunc(got.Roc, want, func(g, w rocPointAnswer) bool {
		return (g.Threshold == nil) == (w.Threshold == nil) && (g.Threshold == nil || *g.Threshold == *w.Threshold) &&
			math.Abs(g.FalsePositiveRate-w.FalsePositiveRate) <= 1e-12 && math.Abs(g.TruePositiveRate-w.TruePositiveRate) <= 1e-12
	}) {
		t.Errorf("%s: roc %+v, want %+v", name, showROC(got.Roc), showROC(want))
	}
}

// exactROC is the ROC curve of a few samples, counted afresh at each distinct
// probability, highest first, as scikit-learn's roc_curve draws it: (0, 0)
// with no threshold first; no point at all without both outcomes.
func exactROC(samples []metrics.Sample) []rocPointAnswer {
	var probs []float64
	var positives, negatives float64
	for _, s := range samples {
		probs = append(probs, s.Prob)
		if s.Label {
			positives++
		} else {
			negatives++
		}
	}
	out := []rocPointAnswer{}
	if positives == 0 || negatives == 0 {
		return out
	}
	slices.SortFunc(probs, func(a, b float64) int { return cmp.Compare(b, a) })
	out = append(out, rocPointAnswer{})
	for _, threshold := range slices.Compact(probs) {
		var fp, tp float64
		for _, s := range samples {
			if s.Prob >= threshold && s.Label {
				tp++
			} else if s.Prob >= threshold {
				fp++
			}
		}
		out = append(out, rocPointAnswer{Threshold: &threshold, FalsePositiveRate: fp / negatives, TruePositiveRate: tp / positives})
	}
	return out
}

func showROC(points []rocPointAnswer) []string {
	out := make([]string, len(points))
	for i, p := range points {
		out[i] = fmt.Sprintf("(%v: %v, %v)", showFloat(p.Threshold), p.FalsePositiveRate, p.TruePositiveRate)
	}
	return out
}

func showFloat(f *float64) any {
	if f == nil {
		return "null"
	}
	return *f
}
