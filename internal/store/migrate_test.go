package store_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlapi/mlapi/internal/apperr"
	"github.com/mlapi/mlapi/internal/store"
	"github.com/mlapi/mlapi/internal/store/storetest"
	"github.com/mlapi/mlapi/migrations"
	"github.com/uptrace/bun/migrate"
)

// allMigrations names every embedded migration, oldest first.
func allMigrations(t *testing.T) []string {
	t.Helper()
	ms, err := migrations.New()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range ms.Sorted() {
		names = append(names, m.String())
	}
	return names
}

// tables lists the database's tables, sorted.
func tables(t *testing.T, db *store.DB) []string {
	t.Helper()
	query := "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
	if db.Dialect() == store.SQLite {
		query = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
	}
	rows, err := store.Writer(db).QueryContext(t.Context(), query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	return names
}

func wantStatus(t *testing.T, db *store.DB, wantApplied, wantPending []string) {
	t.Helper()
	applied, pending, err := db.MigrationStatus(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(applied, wantApplied) || !slices.Equal(pending, wantPending) {
		t.Fatalf("applied %v, pending %v; want %v and %v", applied, pending, wantApplied, wantPending)
	}
}

func TestMigrateTwiceIsANoOp(t *testing.T) {
	t.Parallel()
	all := allMigrations(t)
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		wantStatus(t, db, all, nil)
		createUser(t, db, "ada")
		if err := db.Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, db, all, nil)
		wantCount(t, db, len(all), "SELECT count(*) FROM bun_migrations")
		wantCount(t, db, 0, "SELECT count(*) FROM bun_migration_locks")
		if _, err := db.UserByUsername(t.Context(), "ada"); err != nil {
			t.Fatalf("data lost by a second Migrate: %v", err)
		}
	})
}

func TestMigrationsRollBackAndReapply(t *testing.T) {
	t.Parallel()
	all := allMigrations(t)
	schemaTables := []string{"attempt_counters", "audit_chains", "audit_checkpoints", "audit_genesis", "bun_migration_locks", "bun_migrations", "history_rollups", "models", "outcomes", "requests", "responses", "revoked_tokens", "user_history_totals", "users"}
	bunTables := []string{"bun_migration_locks", "bun_migrations"}
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		if got := tables(t, db); !slices.Equal(got, schemaTables) {
			t.Fatalf("tables after Migrate: %v, want %v", got, schemaTables)
		}
		createUser(t, db, "ada")

		rolledBack, err := db.Rollback(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(rolledBack, reversed(all)) {
			t.Fatalf("rolled back %v, want %v", rolledBack, reversed(all))
		}
		if got := tables(t, db); !slices.Equal(got, bunTables) {
			t.Fatalf("tables after Rollback: %v, want only %v", got, bunTables)
		}
		wantStatus(t, db, nil, all)

		if rolledBack, err := db.Rollback(t.Context()); err != nil || len(rolledBack) != 0 {
			t.Fatalf("Rollback with nothing applied = %v, %v", rolledBack, err)
		}

		if err := db.Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, db, all, nil)
		u := createUser(t, db, "ada")
		logPrediction(t, db, okLog(u.ID, 1))
	})
}

// Several processes starting at once on one empty database: each migrates,
// one applies, none fails.
func TestMigrateConcurrently(t *testing.T) {
	t.Parallel()
	all := allMigrations(t)
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		databaseURL := storetest.URL(t, dialect)
		const processes = 4
		dbs := openProcesses(t, databaseURL, processes)
		errs := make([]error, processes)
		var wg sync.WaitGroup
		for i, db := range dbs {
			wg.Go(func() { errs[i] = db.Migrate(t.Context()) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("process %d: %v", i, err)
			}
		}
		wantStatus(t, dbs[0], all, nil)
		wantCount(t, dbs[0], len(all), "SELECT count(*) FROM bun_migrations")
	})
}

// holdMigrationLock takes the migration lock as another process migrating
// would, and returns the function that releases it, the connection's
// backend id on PostgreSQL (for a test to end it as a dying process's
// would end), and what the error of a caller that gave up waiting names.
func holdMigrationLock(t *testing.T, db *store.DB) (release func(), pid int, names string) {
	t.Helper()
	if db.Dialect() == store.SQLite {
		ms, err := migrations.New()
		if err != nil {
			t.Fatal(err)
		}
		other := migrate.NewMigrator(store.Writer(db), ms)
		if err := other.Lock(t.Context()); err != nil {
			t.Fatal(err)
		}
		return func() {
			if err := other.Unlock(t.Context()); err != nil {
				t.Fatal(err)
			}
		}, 0, "bun_migration_locks"
	}
	conn, err := store.Writer(db).Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := conn.ExecContext(t.Context(), "SELECT pg_advisory_lock(?)", store.MigrationLockID); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRowContext(t.Context(), "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		t.Fatal(err)
	}
	return func() {
		if _, err := conn.ExecContext(t.Context(), "SELECT pg_advisory_unlock(?)", store.MigrationLockID); err != nil {
			t.Fatal(err)
		}
	}, pid, "advisory lock"
}

// openProcesses opens the database at databaseURL n times, as n processes
// would, each with a pool of its own.
func openProcesses(t *testing.T, databaseURL string, n int) []*store.DB {
	t.Helper()
	dbs := make([]*store.DB, n)
	for i := range dbs {
		db, err := store.Open(t.Context(), databaseURL, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		dbs[i] = db
	}
	return dbs
}

func TestMigrateWaitsForTheLock(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		// Another process is migrating, or on SQLite died doing so.
		release, _, names := holdMigrationLock(t, db)

		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		err := db.Migrate(ctx)
		wantCode(t, err, apperr.Unavailable)
		if !strings.Contains(err.Error(), names) {
			t.Fatalf("error %q does not say where the lock is (%s)", err, names)
		}

		release()
		if err := db.Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
	})
}

// On PostgreSQL a process that dies while migrating holds up no one: its
// lock goes with its connection, and the process waiting for it goes on.
func TestMigrateOutlivesAHolderThatDied(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		if db.Dialect() != store.Postgres {
			t.Skip("SQLite's lock is bun's row, which a killed process leaves behind: TestMigrateWaitsForTheLock")
		}
		_, pid, _ := holdMigrationLock(t, db)
		migrated := make(chan error, 1)
		go func() { migrated <- db.Migrate(t.Context()) }()
		// Once Migrate waits for the lock, its holder dies.
		wantCountEventually(t, db, 1, `SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database
			WHERE d.datname = current_database() AND l.locktype = 'advisory' AND NOT l.granted`)
		if _, err := store.Writer(db).ExecContext(t.Context(), "SELECT pg_terminate_backend(?)", pid); err != nil {
			t.Fatal(err)
		}
		if err := <-migrated; err != nil {
			t.Fatalf("Migrate after the lock's holder died: %v", err)
		}
	})
}

// wantCountEventually waits until query counts want; the test's deadline
// bounds the wait.
func wantCountEventually(t *testing.T, db *store.DB, want int, query string) {
	t.Helper()
	for count(t, db, query) != want {
		select {
		case <-t.Context().Done():
			t.Fatalf("%s never counted %d", query, want)
		case <-time.After(10 * time.Millisecond):
		}
	}
}
