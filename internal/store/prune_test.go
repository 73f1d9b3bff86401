package store_test

import (
	"cmp"
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/mlapi/mlapi/internal/store"
	"github.com/mlapi/mlapi/internal/store/storetest"
)

// The seeded history spans March 2026 (seedHistory); the rows logged
// through LogPrediction are newer than every cut-off here.
var (
	beforeSeed = time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	midSeed    = time.Date(2026, 3, 16, 7, 23, 41, 123456000, time.UTC)
	afterSeed  = time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
)

// TestPruneLog: every request created before the cut-off goes, with its
// response and outcome, however the batches fall; every later one stays;
// counting first deletes nothing and finds what the prune deletes; and every
// user's totalCount, stats and histogram (the rollups) answer what reading
// the rows left answers, the user whose rows are all newer included.
func TestPruneLog(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		rows  int
		cut   time.Time
		batch int
		// arrange changes the seeded rows by hand before the prune.
		arrange func(t *testing.T, db *store.DB, rows []historyRow)
	}{
		{name: "a cut in the middle", rows: 1500, cut: midSeed},
		{name: "batches of 3 over 10 rows", rows: 10, cut: afterSeed, batch: 3},
		{name: "batches of 2 over 10 rows", rows: 10, cut: afterSeed, batch: 2},
		{name: "nothing older", rows: 50, cut: beforeSeed},
		{name: "everything seeded", rows: 400, cut: afterSeed, batch: 64},
		{name: "requests moved across the cut by hand", rows: 800, cut: midSeed, batch: 50,
			arrange: func(t *testing.T, db *store.DB, rows []historyRow) {
				rng := rand.New(rand.NewPCG(3, 5))
				for range 40 {
					r := rows[rng.IntN(len(rows))]
					moved := r.created.Add(time.Duration(rng.Int64N(20*24*3600)-10*24*3600) * time.Second)
					moveRequest(t, db, r.id, moved)
				}
			}},
		{name: "ties at one instant across batches", rows: 300, cut: midSeed, batch: 3,
			arrange: func(t *testing.T, db *store.DB, rows []historyRow) {
				for _, r := range rows[:10] {
					moveRequest(t, db, r.id, midSeed.Add(-time.Hour))
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			storetest.Run(t, func(t *testing.T, db *store.DB) {
				ctx := t.Context()
				users := []int64{createUser(t, db, "ada").ID, createUser(t, db, "bob").ID, createUser(t, db, "cy").ID}
				rows := seedHistory(t, db, rand.New(rand.NewPCG(7, uint64(tt.rows))), users, tt.rows)
				newer := createUser(t, db, "dee").ID
				for i := range 5 {
					logPrediction(t, db, okLog(newer, i))
					logPrediction(t, db, okLog(users[i%len(users)], i))
				}
				if tt.arrange != nil {
					tt.arrange(t, db, rows)
				}
				older := logCounts(t, db, "q.created_datetime < ?", tt.cut)
				kept := logCounts(t, db, "q.created_datetime >= ?", tt.cut)

				counted, err := db.CountLogBefore(ctx, tt.cut)
				if err != nil {
					t.Fatal(err)
				}
				if counted != older {
					t.Errorf("CountLogBefore %+v, want %+v", counted, older)
				}
				if now := logCounts(t, db, "q.created_datetime < ?", tt.cut); now != older {
					t.Fatalf("counting deleted rows: %+v left of %+v", now, older)
				}

				report, err := db.PruneLog(ctx, tt.cut, store.PruneOptions{BatchSize: tt.batch})
				if err != nil {
					t.Fatal(err)
				}
				if report.PruneCounts != older {
					t.Errorf("pruned %+v, want %+v", report.PruneCounts, older)
				}
				size := cmp.Or(tt.batch, store.DefaultPruneBatch)
				if want := int((older.Requests + int64(size) - 1) / int64(size)); report.Batches != want {
					t.Errorf("%d batches of %d for %d requests, want %d", report.Batches, size, older.Requests, want)
				}
				if left := logCounts(t, db, "q.created_datetime < ?", tt.cut); left != (store.PruneCounts{}) {
					t.Errorf("left before the cut: %+v", left)
				}
				if now := logCounts(t, db, "q.created_datetime >= ?", tt.cut); now != kept {
					t.Errorf("after the cut: %+v, want %+v", now, kept)
				}
				wantCount(t, db, 0, "SELECT count(*) FROM responses WHERE request_id NOT IN (SELECT id FROM requests)")
				wantCount(t, db, 0, "SELECT count(*) FROM outcomes WHERE request_id NOT IN (SELECT id FROM requests)")
				for _, u := range append(users, newer) {
					compareRollups(t, db, u)
					// A user with no request left has no figures left.
					if count(t, db, "SELECT count(*) FROM requests WHERE user_id = ?", u) == 0 {
						wantCount(t, db, 0, "SELECT count(*) FROM user_history_totals WHERE user_id = ?", u)
						wantCount(t, db, 0, "SELECT count(*) FROM history_rollups WHERE user_id = ?", u)
					}
				}
				// Nothing is left to prune, and logging goes on.
				if again, err := db.PruneLog(ctx, tt.cut, store.PruneOptions{}); err != nil || again != (store.PruneReport{}) {
					t.Errorf("a second prune: %+v, %v", again, err)
				}
				logPrediction(t, db, okLog(users[0], 99))
				compareRollups(t, db, users[0])
			})
		})
	}
}

// TestPruneLogConcurrently: two processes (on SQLite, one process's two
// prunes) pruning the same history while
// predictions are logged delete every old request once between them, and
// leave the rollups exact.
func TestPruneLogConcurrently(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		url := storetest.URL(t, dialect)
		first := openWith(t, url, store.Options{})
		// Two processes on PostgreSQL. SQLite has one writing process, whose
		// writes (prunes and predictions alike) take turns on its one write
		// connection: two would only wait on each other's file lock, up to
		// the busy timeout, which a slow machine under -race can reach.
		second := first
		if dialect == store.Postgres {
			second = openWith(t, url, store.Options{})
		}
		users := []int64{createUser(t, first, "ada").ID, createUser(t, first, "bob").ID}
		seedHistory(t, first, rand.New(rand.NewPCG(1, 2)), users, 1200)
		older := logCounts(t, first, "q.created_datetime < ?", midSeed)
		kept := logCounts(t, first, "q.created_datetime >= ?", midSeed)

		const logged = 60
		var wg sync.WaitGroup
		reports := make([]store.PruneReport, 2)
		errs := make([]error, 2)
		for i, db := range []*store.DB{first, second} {
			wg.Go(func() {
				reports[i], errs[i] = db.PruneLog(t.Context(), midSeed, store.PruneOptions{BatchSize: 5 + 2*i})
			})
		}
		wg.Go(func() {
			for i := range logged {
				if _, err := second.LogPrediction(context.WithoutCancel(t.Context()), okLog(users[i%2], i)); err != nil {
					t.Error(err)
				}
			}
		})
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		var sum store.PruneCounts
		for _, r := range reports {
			sum.Requests += r.Requests
			sum.Responses += r.Responses
			sum.Outcomes += r.Outcomes
		}
		if sum != older {
			t.Errorf("pruned %+v and %+v, want %+v between them", reports[0], reports[1], older)
		}
		if left := logCounts(t, first, "q.created_datetime < ?", midSeed); left != (store.PruneCounts{}) {
			t.Errorf("left before the cut: %+v", left)
		}
		kept.Requests += logged
		kept.Responses += logged
		if now := logCounts(t, first, "q.created_datetime >= ?", midSeed); now != kept {
			t.Errorf("after the cut: %+v, want %+v", now, kept)
		}
		for _, u := range users {
			compareRollups(t, first, u)
		}
	})
}

func TestPruneLogRefusesBatchSizes(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)[0].DB
	for _, size := range []int{-1, store.MaxPruneBatch + 1} {
		if _, err := db.PruneLog(t.Context(), afterSeed, store.PruneOptions{BatchSize: size}); err == nil {
			t.Errorf("batch size %d accepted", size)
		}
	}
}

// TestPruneLogRests: Rest is called between batches, never after the last,
// and its error stops the prune with the batches before it kept.
func TestPruneLogRests(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		users := []int64{createUser(t, db, "ada").ID}
		seedHistory(t, db, rand.New(rand.NewPCG(4, 4)), users, 10)
		rests := 0
		report, err := db.PruneLog(t.Context(), afterSeed, store.PruneOptions{BatchSize: 3, Rest: func(context.Context, time.Duration) error {
			rests++
			return nil
		}})
		if err != nil || report.Batches != 4 || rests != 3 {
			t.Errorf("4 batches with 3 rests between them: %+v, %d rests, %v", report, rests, err)
		}

		seedHistory(t, db, rand.New(rand.NewPCG(5, 5)), users, 10)
		stop := context.Canceled
		report, err = db.PruneLog(t.Context(), afterSeed, store.PruneOptions{BatchSize: 4, Rest: func(context.Context, time.Duration) error {
			return stop
		}})
		if err != stop || report.Requests != 4 {
			t.Errorf("stopped after the first batch: %+v, %v", report, err)
		}
		wantCount(t, db, 6, "SELECT count(*) FROM requests")
		compareRollups(t, db, users[0])
	})
}

// logCounts counts the requests where cond holds, and their responses and
// outcomes, as PruneCounts.
func logCounts(t *testing.T, db *store.DB, cond string, args ...any) store.PruneCounts {
	t.Helper()
	var c store.PruneCounts
	err := store.Writer(db).NewSelect().TableExpr("requests AS q").
		ColumnExpr("count(*), count(s.id), count(o.request_id)").
		Join("LEFT JOIN responses AS s ON s.request_id = q.id").
		Join("LEFT JOIN outcomes AS o ON o.request_id = q.id").
		Where(cond, args...).
		Scan(t.Context(), &c.Requests, &c.Responses, &c.Outcomes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// moveRequest changes a request's creation time by hand, as an operator
// might (the rollups follow through their trigger).
func moveRequest(t *testing.T, db *store.DB, id int64, to time.Time) {
	t.Helper()
	if _, err := store.Writer(db).ExecContext(t.Context(), "UPDATE requests SET created_datetime = ? WHERE id = ?", to, id); err != nil {
		t.Fatal(err)
	}
}
