package store_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/mlapi/mlapi/internal/store"
	"github.com/mlapi/mlapi/internal/store/storetest"
)

func TestRecordOutcome(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		alice, bob := createUser(t, db, "alice"), createUser(t, db, "bob")
		req := logPrediction(t, db, okLog(alice.ID, 1))

		// Observed times keep their microseconds, whatever the database.
		first := time.Date(2026, 3, 4, 5, 6, 7, 123456789, time.FixedZone("x", 3600))
		o, err := db.RecordOutcome(ctx, alice.ID, req.RequestID, true, first)
		if err != nil {
			t.Fatal(err)
		}
		wantObserved := first.UTC().Truncate(time.Microsecond)
		if o.RequestID != req.RequestID || !o.Outcome || !o.ObservedAt.Equal(wantObserved) || o.ObservedAt.Location() != time.UTC {
			t.Fatalf("first record: %+v, want outcome true observed %v in UTC", o, wantObserved)
		}
		if !o.CreatedAt.Equal(o.UpdatedAt) {
			t.Fatalf("first record: created %v, updated %v; want equal", o.CreatedAt, o.UpdatedAt)
		}

		// Recorded again: the new value and time win, created stays.
		second := first.Add(-time.Hour)
		o2, err := db.RecordOutcome(ctx, alice.ID, req.RequestID, false, second)
		if err != nil {
			t.Fatal(err)
		}
		if o2.Outcome || !o2.ObservedAt.Equal(second.Truncate(time.Microsecond)) || !o2.CreatedAt.Equal(o.CreatedAt) || o2.UpdatedAt.Before(o.UpdatedAt) {
			t.Fatalf("second record: %+v after %+v", o2, o)
		}
		wantCount(t, db, 1, "SELECT count(*) FROM outcomes")
		got, ok, err := db.Outcome(ctx, alice.ID, req.RequestID)
		if err != nil || !ok || got != o2 {
			t.Fatalf("Outcome: %+v, %v, %v; want %+v", got, ok, err, o2)
		}

		// Another user's request is not found, and neither writes nor reads.
		if _, err := db.RecordOutcome(ctx, bob.ID, req.RequestID, true, first); !errors.Is(err, store.ErrRequestNotFound) {
			t.Fatalf("bob records alice's request: %v, want ErrRequestNotFound", err)
		}
		if _, ok, err := db.Outcome(ctx, bob.ID, req.RequestID); ok || err != nil {
			t.Fatalf("bob reads alice's outcome: %v, %v", ok, err)
		}
		if _, err := db.RecordOutcome(ctx, alice.ID, req.RequestID+1000, true, first); !errors.Is(err, store.ErrRequestNotFound) {
			t.Fatalf("missing request: %v, want ErrRequestNotFound", err)
		}
		got, _, _ = db.Outcome(ctx, alice.ID, req.RequestID)
		if got.Outcome {
			t.Fatal("bob's attempt changed alice's outcome")
		}

		// The history loads it as a relation when asked, and an empty one
		// when there is none.
		other := logPrediction(t, db, okLog(alice.ID, 2))
		var rows []store.Request
		if err := store.Writer(db).NewSelect().Model(&rows).Relation("Response").Relation("Outcome").
			Where("request.user_id = ?", alice.ID).OrderExpr("request.id").Scan(ctx); err != nil {
			t.Fatal(err)
		}
		if len(rows) != 2 || !rows[0].Outcome.Recorded() || rows[0].Outcome.Outcome || rows[1].ID != other.RequestID || rows[1].Outcome.Recorded() {
			t.Fatalf("requests with outcomes: %+v", rows)
		}

		// A disabled user records nothing.
		if _, err := db.SetUserEnabled(ctx, alice.ID, false); err != nil {
			t.Fatal(err)
		}
		if _, err := db.RecordOutcome(ctx, alice.ID, req.RequestID, true, first); !errors.Is(err, store.ErrUserNotFound) {
			t.Fatalf("disabled user: %v, want ErrUserNotFound", err)
		}
		got, _, _ = db.Outcome(ctx, alice.ID, req.RequestID)
		if got.Outcome {
			t.Fatal("a disabled user changed the outcome")
		}
	})
}

func TestScoredOutcomes(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		alice, bob := createUser(t, db, "alice"), createUser(t, db, "bob")
		observed := time.Now().Add(-time.Minute)
		type row struct {
			user    int64
			prob    float64
			version string
			outcome *bool
		}
		yes, no := true, false
		rows := []row{
			{alice.ID, 0.9, "v1", &yes},
			{alice.ID, 0.2, "v1", &no},
			{alice.ID, 0.6, "v2", &no},
			{alice.ID, 0.4, "v1", nil}, // no outcome
			{bob.ID, 0.7, "v1", &yes},
		}
		for i, r := range rows {
			l := okLog(r.user, i)
			yhat := 0
			if r.prob > 0.5 {
				yhat = 1
			}
			l.YhatProb, l.Yhat, l.ModelVersion = &r.prob, &yhat, r.version
			logged := logPrediction(t, db, l)
			if r.outcome != nil {
				if _, err := db.RecordOutcome(ctx, r.user, logged.RequestID, *r.outcome, observed); err != nil {
					t.Fatal(err)
				}
			}
		}
		// A refused request with an outcome is no prediction to score.
		refused := okLog(alice.ID, 99)
		code := "invalid_input"
		refused.YhatProb, refused.Yhat, refused.Status, refused.ErrorCode = nil, nil, store.StatusInvalidInput, &code
		r := logPrediction(t, db, refused)
		if _, err := db.RecordOutcome(ctx, alice.ID, r.RequestID, true, observed); err != nil {
			t.Fatal(err)
		}

		v1 := "v1"
		tests := []struct {
			name   string
			user   int64
			filter store.RequestFilter
			want   []float64 // probabilities, in the order read
		}{
			{"alice", alice.ID, store.RequestFilter{}, []float64{0.9, 0.6, 0.2}},
			{"everyone", 0, store.RequestFilter{}, []float64{0.9, 0.7, 0.6, 0.2}},
			{"version", 0, store.RequestFilter{ModelVersion: &v1}, []float64{0.9, 0.7, 0.2}},
			{"true outcomes", alice.ID, store.RequestFilter{Outcome: &yes}, []float64{0.9}},
			{"with outcome", alice.ID, store.RequestFilter{HasOutcome: &yes}, []float64{0.9, 0.6, 0.2}},
			{"without outcome", alice.ID, store.RequestFilter{HasOutcome: &no}, nil},
		}
		for _, tt := range tests {
			var got []float64
			err := db.ScoredOutcomes(ctx, tt.user, tt.filter, func(s store.ScoredOutcome) error {
				got = append(got, s.YhatProb)
				return nil
			})
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
			}
		}
	})
}
