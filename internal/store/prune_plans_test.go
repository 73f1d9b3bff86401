package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/mlapi/mlapi/internal/store"
	"github.com/mlapi/mlapi/internal/store/storetest"
)

// TestPrunePlansOnSQLite: every statement a prune runs on SQLite reads each
// table by an index (SEARCH), never whole (SCAN); only the lists the
// statements carry are scanned. PostgreSQL's plans depend on the tables'
// sizes: TestPruneAtScale checks them on a million rows.
func TestPrunePlansOnSQLite(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)[0].DB
	users := []int64{createUser(t, db, "ada").ID, createUser(t, db, "bob").ID}
	seedHistory(t, db, rand.New(rand.NewPCG(1, 2)), users, 2000)
	statements := pruneStatements(t, db, midSeed, 50)
	for _, stmt := range statements {
		rows, err := store.Writer(db).QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+stmt)
		if err != nil {
			t.Fatalf("explain %s: %v", stmt, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
		for _, step := range plan {
			if strings.HasPrefix(step, "SCAN ") && !strings.HasSuffix(step, "-ROW VALUES CLAUSE") {
				t.Errorf("%s in the plan of %s:\n\t%s", step, stmt, strings.Join(plan, "\n\t"))
			}
		}
	}
	if len(statements) < 6 {
		t.Fatalf("explained %d statements: %q", len(statements), statements)
	}
}

// pruneStatements prunes one batch of size requests created before before,
// and returns the statements it ran that read or write a table.
func pruneStatements(t *testing.T, db *store.DB, before time.Time, size int) []string {
	t.Helper()
	rec := &recorder{on: true}
	store.Writer(db).AddQueryHook(rec) //lint:ignore SA1019 the hook must see the statements the store runs
	defer rec.stop()
	firstOnly := errors.New("one batch")
	_, err := db.PruneLog(t.Context(), before, store.PruneOptions{BatchSize: size, Rest: func(context.Context, time.Duration) error {
		return firstOnly
	}})
	if err != firstOnly {
		t.Fatalf("PruneLog: %v, want it stopped after one batch", err)
	}
	var statements []string
	for _, q := range rec.stop() {
		if q != "BEGIN" && q != "COMMIT" && !strings.HasPrefix(q, "SET ") {
			statements = append(statements, q)
		}
	}
	return statements
}

// recorder keeps the SQL of the queries a bun.DB runs until stopped (a
// hook cannot be removed).
type recorder struct {
	mu      sync.Mutex
	on      bool
	queries []string
}

func (r *recorder) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context { return ctx }
func (r *recorder) AfterQuery(_ context.Context, e *bun.QueryEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.on {
		r.queries = append(r.queries, e.Query)
	}
}

// stop ends the recording and returns what it recorded.
func (r *recorder) stop() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.on = false
	return r.queries
}

// TestPruneAtScale loads MLAPI_SCALE_ROWS requests for one user and as many
// again spread over 100 other users into PostgreSQL, as
// BenchmarkHistoryAtScale does (a minute apart, about two years), with an
// outcome for one in five, and prunes
// the older half: as many rows as MLAPI_SCALE_ROWS. It logs the time taken,
// the rows deleted a second and the longest batch; checks that no statement
// of a batch reads a table by a sequential scan; and that the heavy user's
// and others' totals, stats and histogram agree with their rows afterwards.
// It is skipped unless MLAPI_SCALE_ROWS is set, since loading takes minutes:
//
//	MLAPI_SCALE_ROWS=1000000 TEST_DATABASE_URL=postgres://... \
//	  go test -run TestPruneAtScale -v -timeout 30m ./internal/store
func TestPruneAtScale(t *testing.T) {
	rows, _ := strconv.Atoi(os.Getenv("MLAPI_SCALE_ROWS"))
	if rows <= 0 || os.Getenv("TEST_DATABASE_URL") == "" {
		t.Skip("set MLAPI_SCALE_ROWS (e.g. 1000000) and TEST_DATABASE_URL to prune that many rows in PostgreSQL")
	}
	db := storetest.Open(t)[1].DB // PostgreSQL (the first is SQLite)
	ctx := t.Context()
	w := store.Writer(db)
	heavy := loadHistoryAtScale(t, db, rows)
	for _, stmt := range []string{
		`INSERT INTO outcomes (request_id, user_id, outcome, observed_datetime, created_datetime, updated_datetime)
			SELECT id, user_id, id % 2 = 0, created_datetime, created_datetime, created_datetime FROM requests WHERE id % 5 = 0`,
		`VACUUM ANALYZE outcomes`, `VACUUM ANALYZE user_history_totals`,
	} {
		if _, err := w.ExecContext(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}

	cut := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rows/2) * time.Minute)
	began := time.Now()
	want, err := db.CountLogBefore(ctx, cut)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("counted %+v before %s in %v", want, cut.Format(time.RFC3339), time.Since(began).Round(time.Millisecond))

	// The first batch alone, its statements explained. user_history_totals
	// is left out: it holds a row a user, 101 here, all of which a batch
	// reaches, and PostgreSQL rightly reads them whole.
	first := pruneStatements(t, db, cut, store.DefaultPruneBatch)
	for _, stmt := range first {
		var plan []struct{ Plan planNode }
		if err := json.Unmarshal([]byte(explain(t, w.DB, nil, stmt)), &plan); err != nil {
			t.Fatal(err)
		}
		nodes := plan[0].Plan.walk(nil)
		for _, n := range nodes {
			for _, table := range []string{"requests", "responses", "outcomes", "history_rollups"} {
				if n == "Seq Scan on "+table {
					t.Errorf("%s in the plan of %.300s", n, stmt)
				}
			}
		}
		t.Logf("%s\n\t%.200s", strings.Join(nodes, ", "), stmt)
	}

	began = time.Now()
	report, err := db.PruneLog(ctx, cut, store.PruneOptions{})
	took := time.Since(began)
	if err != nil {
		t.Fatal(err)
	}
	got := logCounts(t, db, "true")
	t.Logf("pruned %d requests, %d responses, %d outcomes in %v (%.0f requests/s) after the explained batch, %d batches of %d, the longest %v; %d requests left",
		report.Requests, report.Responses, report.Outcomes, took.Round(time.Millisecond),
		float64(report.Requests)/took.Seconds(), report.Batches, store.DefaultPruneBatch,
		report.LongestBatch.Round(time.Microsecond), got.Requests)
	if left := logCounts(t, db, "q.created_datetime < ?", cut); left != (store.PruneCounts{}) {
		t.Errorf("left before the cut: %+v", left)
	}
	if got.Requests != int64(2*rows)-want.Requests {
		t.Errorf("%d requests left, want %d", got.Requests, int64(2*rows)-want.Requests)
	}
	for _, u := range []int64{heavy, heavy + 1, heavy + 50} {
		compareRollups(t, db, u)
	}
}
