package retention_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/mlapi/mlapi/internal/retention"
	"github.com/mlapi/mlapi/internal/store"
	"github.com/mlapi/mlapi/internal/store/storetest"
)

// TestPassAtStart: the first pass runs as the pruner starts, deletes what
// is older than MaxAge by the pruner's clock, keeps the rest, and logs what
// it deleted.
func TestPassAtStart(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// clock is how far the pruner's clock runs ahead of the rows.
		clock         time.Duration
		wantDeleted   int64
		wantBatches   int64
		wantInHistory int
	}{
		{name: "everything older", clock: 2 * time.Hour, wantDeleted: 5, wantBatches: 3},
		{name: "nothing older", clock: 0, wantDeleted: 0, wantBatches: 0, wantInHistory: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			storetest.Run(t, func(t *testing.T, db *store.DB) {
				user := logPredictions(t, db, 5)
				logs := newRecords()
				p := retention.Start(t.Context(), db, retention.Options{
					MaxAge: time.Hour, BatchSize: 2, Rest: time.Millisecond, Logger: logs.logger(),
					Now: func() time.Time { return time.Now().Add(tt.clock) },
				})
				rec := logs.next(t)
				p.Stop()
				if rec.Message != "retention pass" || rec.attr("requests") != tt.wantDeleted ||
					rec.attr("responses") != tt.wantDeleted || rec.attr("outcomes") != int64(0) || rec.attr("batches") != tt.wantBatches {
					t.Errorf("logged %s %v", rec.Message, rec.attrs)
				}
				if n := historyCount(t, db, user); n != tt.wantInHistory {
					t.Errorf("%d requests in the history, want %d", n, tt.wantInHistory)
				}
			})
		})
	}
}

// TestPassesRepeat: a pass follows another after Interval, each deleting
// what has aged since.
func TestPassesRepeat(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		logs := newRecords()
		p := retention.Start(t.Context(), db, retention.Options{
			MaxAge: time.Hour, Interval: time.Millisecond, Logger: logs.logger(),
			Now: func() time.Time { return time.Now().Add(2 * time.Hour) },
		})
		defer p.Stop()
		logs.next(t)
		user := logPredictions(t, db, 3)
		// A pass may come between two of the predictions.
		for deleted := int64(0); deleted < 3; {
			deleted += logs.next(t).attr("requests").(int64)
		}
		if n := historyCount(t, db, user); n != 0 {
			t.Errorf("%d requests left", n)
		}
	})
}

// TestStopDuringRest: Stop ends a pass resting between batches at once,
// with the batches done kept, and the pass logged as stopped.
func TestStopDuringRest(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		user := logPredictions(t, db, 3)
		logs := newRecords()
		resting := make(chan struct{})
		p := retention.Start(t.Context(), restSignal{db, resting}, retention.Options{
			MaxAge: time.Hour, BatchSize: 1, Rest: 24 * time.Hour, Logger: logs.logger(),
			Now: func() time.Time { return time.Now().Add(2 * time.Hour) },
		})
		<-resting
		p.Stop()
		rec := logs.next(t)
		if rec.Message != "retention pass stopped" || rec.attr("requests") != int64(1) {
			t.Errorf("logged %s %v", rec.Message, rec.attrs)
		}
		if n := historyCount(t, db, user); n != 2 {
			t.Errorf("%d requests left, want 2", n)
		}
	})
}

// TestFailedPassIsLogged: a pass the database refuses is logged as an
// error, and the pruner carries on.
func TestFailedPassIsLogged(t *testing.T) {
	t.Parallel()
	db, err := store.Open(t.Context(), storetest.OpenSQLiteURL(t), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	logs := newRecords()
	p := retention.Start(t.Context(), db, retention.Options{MaxAge: time.Hour, Interval: time.Millisecond, Logger: logs.logger()})
	for range 2 {
		if rec := logs.next(t); rec.Level != slog.LevelError || rec.Message != "retention pass failed" || rec.attrs["err"] == nil {
			t.Errorf("logged %s %s %v", rec.Level, rec.Message, rec.attrs)
		}
	}
	p.Stop()
}

// restSignal is the database, saying on resting when a pass rests.
type restSignal struct {
	*store.DB
	resting chan<- struct{}
}

func (r restSignal) PruneLog(ctx context.Context, before time.Time, opts store.PruneOptions) (store.PruneReport, error) {
	rest := opts.Rest
	opts.Rest = func(ctx context.Context, took time.Duration) error {
		r.resting <- struct{}{}
		return rest(ctx, took)
	}
	return r.DB.PruneLog(ctx, before, opts)
}

// logPredictions creates a user with n predictions, and returns the user.
func logPredictions(t *testing.T, db *store.DB, n int) int64 {
	t.Helper()
	u, err := db.CreateUser(t.Context(), store.NewUser{Username: "ada", Email: "ada@example.com", PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	prob, yhat := 0.25, 0
	for i := range n {
		_, err := db.LogPrediction(t.Context(), store.PredictionLog{
			UserID: u.ID, Input: json.RawMessage(fmt.Sprintf(`{"age": %d}`, i)), Output: json.RawMessage(`{}`),
			YhatProb: &prob, Yhat: &yhat, ModelVersion: "xgb-1", Status: store.StatusOK,
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return u.ID
}

// historyCount is the user's totalCount, as the history's first page reads
// it (from the rollups the prune keeps).
func historyCount(t *testing.T, db *store.DB, user int64) int {
	t.Helper()
	page, err := db.ListRequests(t.Context(), user, store.PageQuery{Size: 1})
	if err != nil {
		t.Fatal(err)
	}
	return page.TotalCount
}

// records is a slog handler that hands over each record, dropping those
// nobody waits for once 100 are waiting.
type records struct{ ch chan record }

type record struct {
	Level   slog.Level
	Message string
	attrs   map[string]any
}

func (r record) attr(key string) any { return r.attrs[key] }

func newRecords() *records { return &records{ch: make(chan record, 100)} }

func (r *records) logger() *slog.Logger { return slog.New(r) }

func (r *records) Enabled(context.Context, slog.Level) bool { return true }
func (r *records) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *records) WithGroup(string) slog.Handler            { return r }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	out := record{Level: rec.Level, Message: rec.Message, attrs: map[string]any{}}
	rec.Attrs(func(a slog.Attr) bool {
		out.attrs[a.Key] = a.Value.Any()
		return true
	})
	select {
	case r.ch <- out:
	default:
	}
	return nil
}

// next waits for the next record.
func (r *records) next(t *testing.T) record {
	t.Helper()
	select {
	case rec := <-r.ch:
		return rec
	case <-t.Context().Done():
		t.Fatal("no record")
		return record{}
	}
}
