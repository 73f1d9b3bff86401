package store_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/migrate"

	"github.com/mlapi/mlapi/internal/apperr"
	"github.com/mlapi/mlapi/internal/audit"
	"github.com/mlapi/mlapi/internal/store"
	"github.com/mlapi/mlapi/internal/store/storetest"
	"github.com/mlapi/mlapi/migrations"
)

// testAuditKey keys the chains of these tests.
var testAuditKey = audit.NewKey([]byte("an audit key of at least 32 bytes, for tests"))

// openAudited opens a fresh, migrated database of dialect whose log is
// chained under testAuditKey, and returns it with its URL.
func openAudited(t *testing.T, dialect string) (*store.DB, string) {
	t.Helper()
	databaseURL := storetest.URL(t, dialect)
	return openAuditedAt(t, databaseURL), databaseURL
}

// openAuditedAt opens the database at databaseURL, another writer of it
// with a chain of its own, and migrates it.
func openAuditedAt(t *testing.T, databaseURL string) *store.DB {
	t.Helper()
	return openWith(t, databaseURL, store.Options{AuditKey: testAuditKey})
}

// verify verifies db's log with testAuditKey.
func verify(t *testing.T, db *store.DB) audit.Report {
	t.Helper()
	report, err := audit.Verify(t.Context(), db, testAuditKey)
	if err != nil {
		t.Fatal(err)
	}
	return report
}

// wantClean fails t unless db's log verifies with rows entries and pruned
// rows accounted for by checkpoints.
func wantClean(t *testing.T, db *store.DB, rows, pruned int64) audit.Report {
	t.Helper()
	r := verify(t, db)
	if !r.OK() {
		t.Fatalf("problems in a log nobody touched: %v", r.Problems)
	}
	if r.Rows != rows || r.PrunedRows != pruned {
		t.Fatalf("verified %d entries and %d pruned, want %d and %d", r.Rows, r.PrunedRows, rows, pruned)
	}
	return r
}

// logMany logs n predictions of alternating kinds (ok, refused input) for
// the users in turn, and returns them in order.
func logMixed(t *testing.T, db *store.DB, n int, users ...store.User) []store.LoggedPrediction {
	t.Helper()
	var logged []store.LoggedPrediction
	for i := range n {
		p := okLog(users[i%len(users)].ID, i)
		if i%3 == 2 {
			code := "out_of_range"
			p = store.PredictionLog{UserID: p.UserID, Input: p.Input, Output: []byte(`{"error":"age"}`),
				ModelVersion: "xgb-1", Status: store.StatusInvalidInput, ErrorCode: &code}
		}
		logged = append(logged, logPrediction(t, db, p))
	}
	return logged
}

func exec(t *testing.T, db *store.DB, query string, args ...any) {
	t.Helper()
	if _, err := store.Writer(db).ExecContext(t.Context(), query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// TestAuditTampering: a log nobody touched verifies; each change made
// directly in the database is named, with the row it concerns, and nothing
// else is.
func TestAuditTampering(t *testing.T) {
	t.Parallel()
	// Each tamper gets the log's 6 predictions (ids 1 to 6, seqs 1 to 6,
	// in chain 1) and changes them as someone with the database's
	// password could.
	tests := []struct {
		name      string
		tamper    func(t *testing.T, db *store.DB, logged []store.LoggedPrediction)
		kind      audit.Kind
		seq       int64
		requestAt int // index in logged of the request named; -1: none
		detail    string
	}{
		{
			name: "a request's input",
			tamper: func(t *testing.T, db *store.DB, l []store.LoggedPrediction) {
				exec(t, db, `UPDATE requests SET input = '{"age": 99, "sex": 1,  "platelets": 500000}' WHERE id = ?`, l[3].RequestID)
			},
			kind: audit.Changed, seq: 4, requestAt: 3, detail: "not what was logged",
		},
		{
			name: "a response's probability",
			tamper: func(t *testing.T, db *store.DB, l []store.LoggedPrediction) {
				exec(t, db, "UPDATE responses SET yhat_prob = 0.01 WHERE request_id = ?", l[1].RequestID)
			},
			kind: audit.Changed, seq: 2, requestAt: 1, detail: "not what was logged",
		},
		{
			name: "a request's creation time",
			tamper: func(t *testing.T, db *store.DB, l []store.LoggedPrediction) {
				exec(t, db, "UPDATE requests SET created_datetime = ? WHERE id = ?", time.Now().AddDate(-1, 0, 0).UTC(), l[4].RequestID)
			},
			kind: audit.Changed, seq: 5, requestAt: 4, detail: "not what was logged",
		},
		{
			name: "a request moved to another user",
			tamper: func(t *testing.T, db *store.DB, l []store.LoggedPrediction) {
				other := createUser(t, db, "mallory")
				exec(t, db, "UPDATE requests SET user_id = ? WHERE id = ?", other.ID, l[0].RequestID)
			},
			kind: audit.Changed, seq: 1, requestAt: 0, detail: "not what was logged",
		},
		{
			name: "a row in the middle deleted",
			tamper: func(t *testing.T, db *store.DB, l []store.LoggedPrediction) {
				exec(t, db, "DELETE FROM requests WHERE id = ?", l[2].RequestID)
			},
			kind: audit.Deleted, seq: 3, requestAt: 3, detail: "entries 3 to 3 are missing",
		},
		{
			name: "a response deleted",
			tamper: func(t *testing.T, db *store.DB, l []store.LoggedPrediction) {
				exec(t, db, "DELETE FROM responses WHERE id = ?", l[2].ResponseID)
			},
			kind: audit.Deleted, seq: 3, requestAt: 2, detail: "its response is missing",
		},
		{
			name: "the tail deleted",
			tamper: func(t *testing.T, db *store.DB, l []store.LoggedPrediction) {
				exec(t, db, "DELETE FROM requests WHERE id >= ?", l[4].RequestID)
			},
			kind: audit.Deleted, seq: 5, requestAt: -1, detail: "last entries, 5 to 6, are missing",
		},
		{
			name: "a row inserted without a chain",
			tamper: func(t *testing.T, db *store.DB, l []store.LoggedPrediction) {
				exec(t, db, `INSERT INTO requests (id, user_id, input, created_datetime, updated_datetime) SELECT 100, user_id, input, created_datetime, updated_datetime FROM requests WHERE id = ?`, l[0].RequestID)
			},
			kind: audit.Inserted, requestAt: -1, detail: "outside the chains logged after the audit log began",
		},
		{
			name: "a row inserted after the chain's head",
			tamper: func(t *testing.T, db *store.DB, l []store.LoggedPrediction) {
				exec(t, db, `INSERT INTO requests (id, user_id, input, created_datetime, updated_datetime, audit_chain, audit_seq, audit_hash)
					SELECT 100, user_id, input, created_datetime, updated_datetime, audit_chain, 7, audit_hash FROM requests WHERE id = ?`, l[5].RequestID)
			},
			kind: audit.Inserted, seq: 7, requestAt: -1, detail: "beyond the chain's head",
		},
		{
			name: "a row replaced by a forged one",
			tamper: func(t *testing.T, db *store.DB, l []store.LoggedPrediction) {
				exec(t, db, "DELETE FROM requests WHERE id = ?", l[3].RequestID)
				exec(t, db, `INSERT INTO requests (id, user_id, input, created_datetime, updated_datetime, audit_chain, audit_seq, audit_hash)
					SELECT ?, user_id, '{"age": 1}', created_datetime, updated_datetime, audit_chain, 4, audit_hash FROM requests WHERE id = ?`,
					l[3].RequestID, l[2].RequestID)
				exec(t, db, `INSERT INTO responses (id, request_id, user_id, output, yhat_prob, yhat, model_version, status, error_code, created_datetime, updated_datetime)
					SELECT ?, ?, user_id, output, yhat_prob, yhat, model_version, status, error_code, created_datetime, updated_datetime FROM responses WHERE id = ?`,
					l[3].ResponseID, l[3].RequestID, l[2].ResponseID)
			},
			kind: audit.Changed, seq: 4, requestAt: 3, detail: "not what was logged",
		},
		{
			name: "a deletion passed off as a prune",
			tamper: func(t *testing.T, db *store.DB, l []store.LoggedPrediction) {
				exec(t, db, "DELETE FROM requests WHERE id <= ?", l[1].RequestID)
				exec(t, db, `INSERT INTO audit_checkpoints (chain_id, from_seq, to_seq, to_hash, reason, seal, created_datetime)
					SELECT 1, 0, 2, head_hash, 'retention', head_hash, started_datetime FROM audit_chains WHERE id = 1`)
			},
			kind: audit.Changed, seq: 1, requestAt: -1, detail: "checkpoint of entries 1 to 2 was changed or made up",
		},
		{
			name: "a chain's rows given another chain",
			tamper: func(t *testing.T, db *store.DB, l []store.LoggedPrediction) {
				exec(t, db, "UPDATE requests SET audit_chain = 9 WHERE id = ?", l[5].RequestID)
			},
			kind: audit.Deleted, seq: 6, requestAt: -1, detail: "last entries, 6 to 6, are missing",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
				db, _ := openAudited(t, dialect)
				ada, bob := createUser(t, db, "ada"), createUser(t, db, "bob")
				logged := logMixed(t, db, 6, ada, bob)
				wantClean(t, db, 6, 0)

				tt.tamper(t, db, logged)
				r := verify(t, db)
				if r.OK() {
					t.Fatal("the change went unnoticed")
				}
				p := r.Problems[0]
				var requestID int64
				if tt.requestAt >= 0 {
					requestID = logged[tt.requestAt].RequestID
				}
				if tt.kind == audit.Inserted {
					requestID = 100 // the forged row's
				}
				if p.Kind != tt.kind || p.Seq != tt.seq || p.RequestID != requestID || !strings.Contains(p.Detail, tt.detail) {
					t.Fatalf("first problem %v, want %s at seq %d, request %d: ...%s...", p, tt.kind, tt.seq, requestID, tt.detail)
				}
			})
		})
	}
}

// TestAuditOneChangedRowIsNamedAlone: past a changed row the walk goes on
// from what the row says, so the rows after it still verify.
func TestAuditOneChangedRowIsNamedAlone(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		db, _ := openAudited(t, dialect)
		logged := logMixed(t, db, 5, createUser(t, db, "ada"))
		exec(t, db, "UPDATE responses SET model_version = 'xgb-2' WHERE id = ?", logged[1].ResponseID)
		r := verify(t, db)
		if len(r.Problems) != 1 || r.Problems[0].RequestID != logged[1].RequestID || r.Rows != 5 {
			t.Fatalf("problems %v after verifying %d rows, want request %d's alone of 5", r.Problems, r.Rows, logged[1].RequestID)
		}
	})
}

// TestAuditOtherKey: a chain written with another key is not verified, and
// says so, rather than passing or being called tampered.
func TestAuditOtherKey(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		db, _ := openAudited(t, dialect)
		logMixed(t, db, 2, createUser(t, db, "ada"))
		other := audit.NewKey([]byte("another audit key of at least 32 bytes"))
		r, err := audit.Verify(t.Context(), db, other)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Problems) != 1 || r.Problems[0].Kind != audit.Unverifiable || r.Rows != 0 {
			t.Fatalf("problems %v, rows %d: want one unverifiable chain", r.Problems, r.Rows)
		}
	})
}

// TestAuditPrune: retention's checkpoints account for what it deleted, in
// every chain, so the log still verifies; deleting a checkpoint shows.
func TestAuditPrune(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		first, databaseURL := openAudited(t, dialect)
		second := openAuditedAt(t, databaseURL)
		ada, bob := createUser(t, first, "ada"), createUser(t, first, "bob")
		logMixed(t, first, 5, ada, bob)
		logMixed(t, second, 4, bob)
		cut := instantAfterNow()
		logMixed(t, first, 3, ada)
		logMixed(t, second, 2, ada, bob)

		// Two requests a batch: the checkpoints of one chain are merged
		// as they meet.
		report, err := first.PruneLog(t.Context(), cut, store.PruneOptions{BatchSize: 2})
		if err != nil || report.Requests != 9 {
			t.Fatalf("pruned %d requests (%v), want 9", report.Requests, err)
		}
		r := wantClean(t, first, 5, 9)
		if r.Chains != 2 || r.Checkpoints != 2 {
			t.Fatalf("%d chains, %d checkpoints; want 2 of each, one a chain", r.Chains, r.Checkpoints)
		}
		// Writing goes on from the chains' heads after a prune.
		logMixed(t, second, 1, ada)
		wantClean(t, first, 6, 9)

		exec(t, first, "DELETE FROM audit_checkpoints WHERE chain_id = 2")
		r = verify(t, first)
		if len(r.Problems) == 0 || r.Problems[0].Kind != audit.Deleted || r.Problems[0].Chain != 2 || r.Problems[0].Seq != 1 {
			t.Fatalf("problems %v, want chain 2's first 4 entries missing", r.Problems)
		}
	})
}

// instantAfterNow returns a time after every prediction logged so far and
// before every one logged after it returns: times are kept to the
// microsecond, so it waits for the clock to pass the next one.
func instantAfterNow() time.Time {
	cut := time.Now().Add(time.Microsecond)
	for !time.Now().After(cut.Add(2 * time.Microsecond)) {
	}
	return cut
}

// TestAuditDeleteUser: deleting a user, whose requests sit between other
// users' in the chains, leaves checkpoints for them, and the log verifies.
func TestAuditDeleteUser(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		db, _ := openAudited(t, dialect)
		ada, bob := createUser(t, db, "ada"), createUser(t, db, "bob")
		logMixed(t, db, 7, ada, bob, bob)
		if err := db.DeleteUser(t.Context(), bob.ID); err != nil {
			t.Fatal(err)
		}
		wantClean(t, db, 3, 4)
		if err := db.DeleteUser(t.Context(), bob.ID); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("deleting a deleted user: %v, want NotFound", err)
		}
	})
}

// TestAuditConcurrentWriters: predictions logged together by group commit,
// from two writers (two processes' worth) on one database, verify; each
// writer has its chain.
func TestAuditConcurrentWriters(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		first, databaseURL := openAudited(t, dialect)
		second := openAuditedAt(t, databaseURL)
		users := []store.User{createUser(t, first, "ada"), createUser(t, first, "bob")}
		const clients, each = 16, 10
		var wg sync.WaitGroup
		for c := range clients {
			db := []*store.DB{first, second}[c%2]
			wg.Go(func() {
				for i := range each {
					if _, err := db.LogPrediction(context.Background(), okLog(users[(c+i)%2].ID, i)); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		r := wantClean(t, first, clients*each, 0)
		if r.Chains != 2 || len(r.Heads) != 2 || r.Heads[0].Seq+r.Heads[1].Seq != clients*each {
			t.Fatalf("chains %d, heads %v; want 2 chains holding %d entries", r.Chains, r.Heads, clients*each)
		}
	})
}

// TestAuditRefusalInABatch: a batch in which one prediction is refused (its
// user disabled while it waited) writes the others, chained without it.
func TestAuditRefusalInABatch(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		db, _ := openAudited(t, dialect)
		ada, bob := createUser(t, db, "ada"), createUser(t, db, "bob")
		gate := installGate(t, db)
		gate.hold()
		// The first caller writes alone, held; the next three queue and
		// go together in the next write.
		results := make(chan error, 4)
		logAs := func(u store.User, n int) {
			_, err := db.LogPrediction(context.Background(), okLog(u.ID, n))
			results <- err
		}
		go logAs(ada, 0)
		receive(t, gate.queued, "the first prediction")
		receive(t, gate.writing, "the first write")
		for i, u := range []store.User{ada, bob, ada} {
			go logAs(u, i+1)
			receive(t, gate.queued, "a queued prediction")
		}
		if _, err := db.SetUserEnabled(t.Context(), bob.ID, false); err != nil {
			t.Fatal(err)
		}
		gate.release()
		refused := 0
		for range 4 {
			if err := receive(t, results, "a result"); err != nil {
				if apperr.CodeOf(err) != apperr.NotFound {
					t.Fatal(err)
				}
				refused++
			}
		}
		if refused != 1 {
			t.Fatalf("%d refused, want bob's", refused)
		}
		wantClean(t, db, 3, 0)
	})
}

// TestAuditGenesis: requests logged before the audit log existed are
// counted by its migration; they verify as they are, pruned too, and one
// added or taken away outside the chains shows.
func TestAuditGenesis(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		databaseURL := storetest.URL(t, dialect)
		db, err := store.Open(t.Context(), databaseURL, store.Options{AuditKey: testAuditKey})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		migrateBefore(t, db, "20261126000008")
		ada := createUser(t, db, "ada")
		for i := range 3 {
			exec(t, db, `INSERT INTO requests (user_id, input, created_datetime, updated_datetime) VALUES (?, '{}', ?, ?)`,
				ada.ID, time.Now().UTC(), time.Now().UTC())
			exec(t, db, `INSERT INTO responses (request_id, user_id, output, model_version, status, error_code, created_datetime, updated_datetime)
				VALUES (?, ?, '{}', 'xgb-0', 'invalid_input', 'old', ?, ?)`, i+1, ada.ID, time.Now().UTC(), time.Now().UTC())
		}
		if err := db.Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
		logMixed(t, db, 2, ada)
		if r := wantClean(t, db, 2, 0); r.UnchainedRows != 3 {
			t.Fatalf("%d requests outside the chains, want the 3 from before", r.UnchainedRows)
		}

		report, err := db.PruneLog(t.Context(), time.Now().Add(time.Hour), store.PruneOptions{BatchSize: 2})
		if err != nil || report.Requests != 5 {
			t.Fatalf("pruned %d (%v), want 5", report.Requests, err)
		}
		wantClean(t, db, 0, 2)

		exec(t, db, "UPDATE audit_genesis SET requests = requests + 1")
		if r := verify(t, db); len(r.Problems) != 1 || r.Problems[0].Kind != audit.Deleted {
			t.Fatalf("problems %v, want one request outside the chains missing", r.Problems)
		}
	})
}

// migrateBefore applies the migrations older than version, as a database
// of an earlier release has them.
func migrateBefore(t *testing.T, db *store.DB, version string) {
	t.Helper()
	all, err := migrations.New()
	if err != nil {
		t.Fatal(err)
	}
	older := migrate.NewMigrations()
	for _, m := range all.Sorted() {
		if m.Name < version {
			older.Add(m)
		}
	}
	m := migrate.NewMigrator(store.Writer(db), older, migrate.WithMarkAppliedOnSuccess(true))
	if err := m.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Migrate(t.Context()); err != nil {
		t.Fatal(fmt.Errorf("migrate before %s: %w", version, err))
	}
}

// TestAuditAtScale verifies a log of MLAPI_SCALE_ROWS requests in one chain
// on PostgreSQL and logs how long it took. It is skipped unless
// MLAPI_SCALE_ROWS is set, since loading takes minutes:
//
//	MLAPI_SCALE_ROWS=1000000 TEST_DATABASE_URL=postgres://... \
//	  go test -run TestAuditAtScale -v -timeout 30m ./internal/store
func TestAuditAtScale(t *testing.T) {
	rows, _ := strconv.Atoi(os.Getenv("MLAPI_SCALE_ROWS"))
	if rows <= 0 || os.Getenv(storetest.EnvDatabaseURL) == "" {
		t.Skip("set MLAPI_SCALE_ROWS (e.g. 1000000) and TEST_DATABASE_URL to verify that many rows on PostgreSQL")
	}
	db, _ := openAudited(t, store.Postgres)
	ctx := t.Context()
	ada := createUser(t, db, "ada")
	began := time.Now()
	for _, stmt := range []string{
		fmt.Sprintf(`INSERT INTO audit_chains (id, key_id, started_datetime, head_seq, head_hash) VALUES (1, '%s', now(), %d, '')`,
			testAuditKey.ID(), rows),
		fmt.Sprintf(`INSERT INTO requests (user_id, input, created_datetime, updated_datetime, audit_chain, audit_seq)
			SELECT %d, ('{"age": ' || g || ', "sex": 1, "platelets": 500000}')::json, t, t, 1, g
			FROM generate_series(1, %d) AS g, LATERAL (SELECT timestamptz '2025-01-01' + g * interval '1 second') AS ts(t)`,
			ada.ID, rows),
		`INSERT INTO responses (request_id, user_id, output, yhat_prob, yhat, model_version, status, error_code, created_datetime, updated_datetime)
			SELECT id, user_id, '{"yhat_prob": "0.5"}', (id * 7919 % 1000) / 1000.0, CASE WHEN (id * 7919 % 1000) >= 500 THEN 1 ELSE 0 END,
				'xgb-1', 'ok', NULL, created_datetime, created_datetime FROM requests`,
	} {
		exec(t, db, stmt)
	}
	// The chain's hashes, computed as the writer computes them, from the
	// rows as verification reads them.
	chainer := audit.NewChainer(testAuditKey)
	head := chainer.Genesis(1)
	err := db.ReadAudit(ctx, func(ctx context.Context, snap audit.Snapshot) error {
		var page []audit.Stored
		seq := int64(0)
		for {
			var err error
			if page, err = snap.Entries(ctx, 1, seq, 5000, page[:0]); err != nil || len(page) == 0 {
				return err
			}
			seqs, hashes := make([]int64, len(page)), make([][]byte, len(page))
			for i := range page {
				head = chainer.Next(head, &page[i].Entry)
				seqs[i], hashes[i] = page[i].Seq, append([]byte(nil), head[:]...)
			}
			_, err = store.Writer(db).NewRaw(`UPDATE requests AS q SET audit_hash = d.h
				FROM unnest(?::bigint[], ?::bytea[]) AS d (seq, h) WHERE q.audit_chain = 1 AND q.audit_seq = d.seq`,
				pgdialect.Array(seqs), pgdialect.Array(hashes)).Exec(ctx)
			if err != nil {
				return err
			}
			seq = page[len(page)-1].Seq
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	exec(t, db, "UPDATE audit_chains SET head_hash = ? WHERE id = 1", head[:])
	exec(t, db, "VACUUM ANALYZE requests")
	exec(t, db, "VACUUM ANALYZE responses")
	t.Logf("loaded and hashed %d requests in %v", rows, time.Since(began).Round(time.Second))

	report := wantClean(t, db, int64(rows), 0)
	t.Logf("verified %d requests in %v (%.0f a second)", report.Rows, report.Took.Round(time.Millisecond),
		float64(report.Rows)/report.Took.Seconds())
}

// TestAuditHeadMoved: a chain's head row moved behind its writer's back
// (here by hand; a commit whose answer was lost does it too) costs no
// prediction: the writer reads the head again and chains from there, and
// verification names the entries the head now claims and no row holds.
func TestAuditHeadMoved(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		db, _ := openAudited(t, dialect)
		ada := createUser(t, db, "ada")
		logMixed(t, db, 2, ada)
		exec(t, db, "UPDATE audit_chains SET head_seq = 5")
		logMixed(t, db, 1, ada)
		r := verify(t, db)
		if len(r.Problems) != 1 || r.Problems[0].Kind != audit.Deleted || r.Problems[0].Seq != 3 || r.Heads[0].Seq != 6 {
			t.Fatalf("problems %v, heads %v: want entries 3 to 5 missing before the one at 6", r.Problems, r.Heads)
		}
	})
}
