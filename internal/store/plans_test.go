package store_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/mlapi/mlapi/internal/store"
	"github.com/mlapi/mlapi/internal/store/storetest"
)

// queryLog keeps the SQL of every query a bun.DB runs.
type queryLog struct {
	mu      sync.Mutex
	queries []string
}

func (l *queryLog) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context { return ctx }
func (l *queryLog) AfterQuery(_ context.Context, e *bun.QueryEvent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.queries = append(l.queries, e.Query)
}

func (l *queryLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	q := l.queries
	l.queries = nil
	return q
}

// TestHistoryPlans loads MLAPI_PLAN_ROWS requests (1,000,000 for the
// issue's check) for one user into PostgreSQL, twice as many for others, and
// checks that no statement ListRequests runs for any filter, order or
// direction reads requests, responses or outcomes by a sequential scan: each
// is served by an index, totalCount under a filter on the response or the
// outcome included (through responses.user_id and outcomes.user_id). It
// logs each plan's node types. It is skipped unless MLAPI_PLAN_ROWS is set,
// since loading takes a while:
//
//	MLAPI_PLAN_ROWS=1000000 TEST_DATABASE_URL=postgres://... go test -run TestHistoryPlans -v ./internal/store
func TestHistoryPlans(t *testing.T) {
	rows, _ := strconv.Atoi(os.Getenv("MLAPI_PLAN_ROWS"))
	if rows <= 0 {
		t.Skip("set MLAPI_PLAN_ROWS (e.g. 1000000) to load that many rows and check the history's plans")
	}
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		if db.Dialect() != store.Postgres {
			t.Skip("the plans checked are PostgreSQL's")
		}
		ctx := t.Context()
		w := store.Writer(db)
		target := createUser(t, db, "heavy")
		var others []int64
		for i := range 9 {
			others = append(others, createUser(t, db, fmt.Sprintf("other%d", i)).ID)
		}
		start := time.Now()
		// Two rows in three are other users', interleaved by id.
		total := 3 * rows
		for _, stmt := range []string{
			fmt.Sprintf(`INSERT INTO requests (user_id, input, created_datetime, updated_datetime)
				SELECT CASE WHEN g %% 3 <> 0 THEN (ARRAY[%s])[1 + g %% 9] ELSE %d END,
					'{"age": 60}', t, t
				FROM generate_series(1, %d) AS g,
					LATERAL (SELECT timestamptz '2026-01-01' + g * interval '20 seconds') AS ts(t)`,
				strings.Trim(strings.Join(strings.Fields(fmt.Sprint(others)), ","), "[]"), target.ID, total),
			`INSERT INTO responses (request_id, user_id, output, yhat_prob, yhat, model_version, status, error_code, created_datetime, updated_datetime)
				SELECT id, user_id, '{}',
					CASE WHEN id % 10 = 0 THEN NULL ELSE (id * 7919 % 1000) / 1000.0 END,
					CASE WHEN id % 10 = 0 THEN NULL WHEN (id * 7919 % 1000) >= 500 THEN 1 ELSE 0 END,
					'xgb-' || (id % 4), CASE WHEN id % 10 = 0 THEN 'invalid_input' ELSE 'ok' END,
					CASE WHEN id % 10 = 0 THEN 'BAD_USER_INPUT' END, created_datetime, created_datetime
				FROM requests`,
			`INSERT INTO outcomes (request_id, user_id, outcome, observed_datetime, created_datetime, updated_datetime)
				SELECT id, user_id, id % 2 = 0, created_datetime, created_datetime, created_datetime FROM requests WHERE id % 5 = 0`,
			`VACUUM ANALYZE requests`, `VACUUM ANALYZE responses`, `VACUUM ANALYZE outcomes`,
		} {
			if _, err := w.ExecContext(ctx, stmt); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("loaded %d requests (%d the user's) in %v", total, rows, time.Since(start).Round(time.Second))

		log := &queryLog{}
		// WithQueryHook would hook a copy; the store reads through its own pool.
		store.Reader(db).AddQueryHook(log) //lint:ignore SA1019 the hook must see the statements the store runs
		at := func(s string) *time.Time {
			v, _ := time.Parse(time.RFC3339, s)
			return &v
		}
		status, yhat, version := store.StatusOK, 1, "xgb-2"
		lo, hi, yes, no := 0.2, 0.3, true, false
		filters := map[string]store.RequestFilter{
			"none":           {},
			"from":           {From: at("2026-01-05T00:00:00Z")},
			"from and until": {From: at("2026-01-05T00:00:00Z"), Until: at("2026-01-06T00:00:00Z")},
			"status":         {Status: &status},
			"yhat":           {Yhat: &yhat},
			"model version":  {ModelVersion: &version},
			"probability":    {MinProbability: &lo, MaxProbability: &hi},
			"has outcome":    {HasOutcome: &yes},
			"no outcome":     {HasOutcome: &no},
			"outcome":        {Outcome: &yes},
		}
		names := make([]string, 0, len(filters))
		for name := range filters {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			for _, q := range []store.PageQuery{
				{Filter: filters[name], Size: 20},
				{Filter: filters[name], Size: 20, Order: store.OldestFirst, AfterID: int64(total / 2)},
				{Filter: filters[name], Size: 20, Backward: true, BeforeID: int64(total / 2)},
			} {
				if _, err := db.ListRequests(ctx, target.ID, q); err != nil {
					t.Fatal(err)
				}
				// A SET LOCAL the store ran applies to the statements after
				// it until its transaction ends: explain them under it.
				var settings []string
				for _, query := range log.take() {
					switch {
					case strings.HasPrefix(query, "SET LOCAL "):
						settings = append(settings, query)
						continue
					case query == "BEGIN":
						continue // the transaction explain makes stands for it
					case query == "COMMIT", query == "ROLLBACK":
						settings = nil
						continue
					}
					var plan []struct{ Plan planNode }
					raw := explain(t, w.DB, settings, query)
					if err := json.Unmarshal([]byte(raw), &plan); err != nil {
						t.Fatal(err)
					}
					nodes := plan[0].Plan.walk(nil)
					t.Logf("%s, %s backward=%v after=%d before=%d: %s\n\t%s", name, q.Order, q.Backward, q.AfterID, q.BeforeID, strings.Join(nodes, ", "), query)
					for _, n := range nodes {
						if strings.HasPrefix(n, "Seq Scan on ") {
							t.Errorf("%s: %s in the plan of %s", name, n, query)
						}
					}
				}
			}
		}
	})
}

// planNode is a node of PostgreSQL's JSON plan.
type planNode struct {
	NodeType string     `json:"Node Type"`
	Relation string     `json:"Relation Name"`
	Index    string     `json:"Index Name"`
	Plans    []planNode `json:"Plans"`
}

// walk lists the plan's nodes, each with the table or index it reads.
func (n planNode) walk(out []string) []string {
	s := n.NodeType
	switch {
	case n.Index != "":
		s += " using " + n.Index
	case n.Relation != "":
		s += " on " + n.Relation
	}
	out = append(out, s)
	for _, c := range n.Plans {
		out = c.walk(out)
	}
	return out
}

// explain returns the JSON plan of query, under settings (SET LOCAL
// statements) in a transaction of its own that it rolls back.
func explain(t *testing.T, db *sql.DB, settings []string, query string) string {
	t.Helper()
	tx, err := db.BeginTx(t.Context(), &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	for _, s := range settings {
		if _, err := tx.ExecContext(t.Context(), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	var raw string
	if err := tx.QueryRowContext(t.Context(), "EXPLAIN (FORMAT JSON) "+query).Scan(&raw); err != nil {
		t.Fatalf("explain %s: %v", query, err)
	}
	return raw
}
