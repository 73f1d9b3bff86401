package store_test

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mlapi/mlapi/internal/stats"
	"github.com/mlapi/mlapi/internal/store"
	"github.com/mlapi/mlapi/internal/store/storetest"
)

// BenchmarkHistoryAtScale loads MLAPI_SCALE_ROWS requests for one user and
// as many again spread over 100 other users into PostgreSQL, then times what
// a history screen asks first: the first page with its totalCount, and the
// stats over the whole history (daily buckets, in UTC and in a zone with a
// half-hour offset). It reports the median and the 99th percentile of each.
// It is skipped unless MLAPI_SCALE_ROWS is set, since loading takes minutes:
//
//	MLAPI_SCALE_ROWS=1000000 TEST_DATABASE_URL=postgres://... \
//	  go test -run '^$' -bench HistoryAtScale -benchtime 200x ./internal/store
func BenchmarkHistoryAtScale(b *testing.B) {
	rows, _ := strconv.Atoi(os.Getenv("MLAPI_SCALE_ROWS"))
	if rows <= 0 || os.Getenv("TEST_DATABASE_URL") == "" {
		b.Skip("set MLAPI_SCALE_ROWS (e.g. 1000000) and TEST_DATABASE_URL to load that many rows into PostgreSQL")
	}
	db := storetest.Open(b)[1].DB // PostgreSQL (the first is SQLite)
	if db.Dialect() != store.Postgres {
		b.Fatal("want PostgreSQL")
	}
	ctx := b.Context()
	heavy := loadHistoryAtScale(b, db, rows)

	chart := stats.NewService(db)
	for _, tc := range []struct {
		name string
		run  func() error
	}{
		{"first page with totalCount", func() error {
			page, err := db.ListRequests(ctx, heavy, store.PageQuery{Size: 20})
			if err == nil && page.TotalCount != rows {
				err = fmt.Errorf("totalCount %d, want %d", page.TotalCount, rows)
			}
			return err
		}},
		{"stats, daily, UTC", func() error {
			s, err := chart.Stats(ctx, heavy, stats.Query{Bucket: stats.Day})
			if err == nil && s.Totals.Requests != rows {
				err = fmt.Errorf("stats count %d, want %d", s.Totals.Requests, rows)
			}
			return err
		}},
		{"stats, daily, Asia/Kolkata", func() error {
			_, err := chart.Stats(ctx, heavy, stats.Query{Bucket: stats.Day, TimeZone: "Asia/Kolkata"})
			return err
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			times := make([]time.Duration, 0, b.N)
			for b.Loop() {
				began := time.Now()
				if err := tc.run(); err != nil {
					b.Fatal(err)
				}
				times = append(times, time.Since(began))
			}
			slices.Sort(times)
			quantile := func(q float64) float64 {
				return float64(times[int(q*float64(len(times)-1))].Microseconds()) / 1000
			}
			b.ReportMetric(quantile(0.5), "p50-ms")
			b.ReportMetric(quantile(0.99), "p99-ms")
		})
	}
}

// loadHistoryAtScale loads rows requests for one user (the heavy one, whose
// id it returns) and as many again spread over 100 other users into db, a
// PostgreSQL database.
func loadHistoryAtScale(tb testing.TB, db *store.DB, rows int) (heavy int64) {
	tb.Helper()
	w := store.Writer(db)
	heavy = createUser(tb, db, "heavy").ID
	var others []string
	for i := range 100 {
		others = append(others, strconv.FormatInt(createUser(tb, db, fmt.Sprintf("other%d", i)).ID, 10))
	}
	start := time.Now()
	// The heavy user's rows a minute apart (about two years), the others'
	// interleaved by id; responses and outcomes as the plans test writes them.
	for _, stmt := range []string{
		fmt.Sprintf(`INSERT INTO requests (user_id, input, created_datetime, updated_datetime)
			SELECT CASE WHEN g %% 2 = 0 THEN (ARRAY[%s])[1 + (g / 2) %% 100] ELSE %d END,
				'{"age": 60}', t, t
			FROM generate_series(1, %d) AS g,
				LATERAL (SELECT timestamptz '2025-01-01' + (g / 2) * interval '1 minute') AS ts(t)`,
			strings.Join(others, ","), heavy, 2*rows),
		`INSERT INTO responses (request_id, user_id, output, yhat_prob, yhat, model_version, status, error_code, created_datetime, updated_datetime)
			SELECT id, user_id, '{}',
				CASE WHEN id % 10 = 0 THEN NULL ELSE (id * 7919 % 1000) / 1000.0 END,
				CASE WHEN id % 10 = 0 THEN NULL WHEN (id * 7919 % 1000) >= 500 THEN 1 ELSE 0 END,
				'xgb-1', CASE WHEN id % 10 = 0 THEN 'invalid_input' ELSE 'ok' END,
				CASE WHEN id % 10 = 0 THEN 'BAD_USER_INPUT' END, created_datetime, created_datetime
			FROM requests`,
		`VACUUM ANALYZE requests`, `VACUUM ANALYZE responses`, `VACUUM ANALYZE history_rollups`,
	} {
		if _, err := w.ExecContext(tb.Context(), stmt); err != nil {
			tb.Fatal(err)
		}
	}
	tb.Logf("loaded %d requests (%d the user's) in %v", 2*rows, rows, time.Since(start).Round(time.Second))
	return heavy
}
