package prediction

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/mlapi/mlapi/internal/apperr"
	"github.com/mlapi/mlapi/internal/metrics"
	"github.com/mlapi/mlapi/internal/metrics/metricstest"
	"github.com/mlapi/mlapi/internal/store"
	"github.com/mlapi/mlapi/internal/store/storetest"
)

func TestRecordOutcomeTimes(t *testing.T) {
	t.Parallel()
	m := loadServedModel(t)
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		s := NewService(m, db)
		userID := newUser(t, db, "ada")
		result, err := s.Predict(ctx, userID, seedInput())
		if err != nil {
			t.Fatal(err)
		}
		made := result.CreatedAt
		at := func(d time.Duration) *time.Time { t := made.Add(d); return &t }
		tests := []struct {
			name       string
			observedAt *time.Time
			code       apperr.Code // "" for success
		}{
			{"now by default", nil, ""},
			{"when the request was made", at(0), ""},
			{"a microsecond before", at(-time.Microsecond), apperr.Invalid},
			{"a little ahead of the clock", ptrTo(time.Now().Add(ClockSkew / 2)), ""},
			{"in the future", ptrTo(time.Now().Add(2 * ClockSkew)), apperr.Invalid},
		}
		for _, tt := range tests {
			o, err := s.RecordOutcome(ctx, userID, result.RequestID, true, tt.observedAt)
			if got := apperr.CodeOf(err); (err == nil) != (tt.code == "") || (err != nil && got != tt.code) {
				t.Errorf("%s: %v (code %q), want code %q", tt.name, err, got, tt.code)
				continue
			}
			if err == nil && tt.observedAt != nil && !o.ObservedAt.Equal(tt.observedAt.Truncate(time.Microsecond)) {
				t.Errorf("%s: observed %v, want %v", tt.name, o.ObservedAt, *tt.observedAt)
			}
		}
	})
}

func ptrTo[T any](v T) *T { return &v }

// TestModelPerformanceByVersion checks the admin view: one entry per model
// version, the most recently used first, each over every user's outcomes.
func TestModelPerformanceByVersion(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		s := NewService(loadServedModel(t), db)
		ada, bob := newUser(t, db, "ada"), newUser(t, db, "bob")
		rows := []struct {
			user    int64
			version string
			prob    float64
			outcome bool
		}{
			{ada, "old", 0.8, true}, {bob, "old", 0.3, true}, {ada, "old", 0.1, false},
			{bob, "new", 0.9, true}, {ada, "new", 0.6, false},
		}
		samples := map[string][]metrics.Sample{}
		for _, r := range rows {
			yhat := 0
			if r.prob > 0.5 {
				yhat = 1
			}
			logged, err := db.LogPrediction(ctx, store.PredictionLog{
				UserID: r.user, Input: json.RawMessage(`{}`), Output: json.RawMessage(`{}`),
				YhatProb: &r.prob, Yhat: &yhat, ModelVersion: r.version, Status: store.StatusOK,
			})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.RecordOutcome(ctx, r.user, logged.RequestID, r.outcome, nil); err != nil {
				t.Fatal(err)
			}
			samples[r.version] = append(samples[r.version], metrics.Sample{Prob: r.prob, Pred: yhat, Label: r.outcome})
		}
		got, err := s.ModelPerformance(ctx, store.RequestFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].ModelVersion != "new" || got[1].ModelVersion != "old" {
			t.Fatalf("versions %+v, want new then old", got)
		}
		for _, v := range got {
			want, _ := metricstest.Compute(samples[v.ModelVersion])
			if v.Count != want.Count || v.Positives != want.Positives || *v.ROCAUC != *want.ROCAUC || *v.LogLoss != *want.LogLoss {
				t.Errorf("%s: %+v, want %+v", v.ModelVersion, v.Performance, want)
			}
		}
		// One user's view mixes the versions.
		mine, err := s.Performance(ctx, ada, store.RequestFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if mine.Count != 3 || mine.Positives != 1 || *mine.ROCAUC != 1 {
			t.Errorf("ada's performance %+v, want 3 outcomes, 1 positive, AUC 1", mine)
		}
		bad := 2.0
		if _, err := s.Performance(ctx, ada, store.RequestFilter{MaxProbability: &bad}); apperr.CodeOf(err) != apperr.Invalid {
			t.Errorf("bad filter: %v, want BAD_USER_INPUT", err)
		}
	})
}
