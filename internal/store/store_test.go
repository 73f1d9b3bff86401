package store_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/mlapi/mlapi/internal/apperr"
	"github.com/mlapi/mlapi/internal/store"
	"github.com/mlapi/mlapi/internal/store/storetest"
)

// openWith opens the database at databaseURL with opts and migrates it.
func openWith(t *testing.T, databaseURL string, opts store.Options) *store.DB {
	t.Helper()
	db, err := store.Open(t.Context(), databaseURL, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestOpenRejectsUnknownScheme(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url, scheme string
	}{
		{"mysql://root:hunter2@db:3306/mlapi", `"mysql"`},
		{"http://user:hunter2@example.com", `"http"`},
		{"user:hunter2@localhost/db", `"user"`},
		{"localhost:5432/hunter2", `"localhost"`},
		{"//hunter2@localhost", `""`},
		{"hunter2", `""`},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			db, err := store.Open(t.Context(), tt.url, store.Options{})
			if err == nil {
				db.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), "unsupported database URL scheme "+tt.scheme) {
				t.Fatalf("error %q does not name the scheme %s", err, tt.scheme)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("error %q reveals the password", err)
			}
		})
	}
}

func TestOpenMalformedPostgresURLHidesPassword(t *testing.T) {
	t.Parallel()
	for _, databaseURL := range []string{
		"postgres://mlapi:hunter2@db:port/mlapi",
		"postgres://mlapi:hunter2@db/mlapi?sslmode=sometimes",
	} {
		_, err := store.Open(t.Context(), databaseURL, store.Options{})
		if err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Open(%s): %v, want an error without the password", store.Redact(databaseURL), err)
		}
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url, want string
	}{
		{"postgres://mlapi:hunter2@db:5432/mlapi?sslmode=disable", "postgres://mlapi:xxxxx@db:5432/mlapi?sslmode=disable"},
		{"postgresql://db/mlapi?user=mlapi&password=hunter2", "postgresql://db/mlapi?password=xxxxx&user=mlapi"},
		{"postgres://db/mlapi?sslpassword=hunter2", "postgres://db/mlapi?sslpassword=xxxxx"},
		{"postgres://mlapi@db/mlapi", "postgres://mlapi@db/mlapi"},
		{"sqlite:///var/lib/mlapi/mlapi.db", "sqlite:///var/lib/mlapi/mlapi.db"},
		{"file:data/mlapi.db", "file:data/mlapi.db"},
		{"postgres://mlapi:hunter2@db:port/mlapi", "(unparsable database URL)"},
		{"host=db password=hunter2", "(unparsable database URL)"},
		{"", "(unparsable database URL)"},
	}
	for _, tt := range tests {
		if got := store.Redact(tt.url); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.url, got, tt.want)
		}
	}
}

func TestOpenSQLiteCreatesItsDirectory(t *testing.T) {
	t.Parallel()
	for _, prefix := range []string{"sqlite://", "file:"} {
		t.Run(prefix, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "a", "b")
			db, err := store.Open(t.Context(), prefix+filepath.Join(dir, "mlapi.db"), store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if db.Dialect() != store.SQLite {
				t.Fatalf("Dialect() = %q", db.Dialect())
			}
			info, err := os.Stat(dir)
			if err != nil {
				t.Fatal(err)
			}
			if perm := info.Mode().Perm(); perm != 0o700 {
				t.Fatalf("directory mode %v, want 0700", perm)
			}
			if err := db.Migrate(t.Context()); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(dir, "mlapi.db")); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestOpenSQLiteDefaultPath(t *testing.T) {
	// Chdir: not parallel.
	t.Chdir(t.TempDir())
	db, err := store.Open(t.Context(), "", store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(store.DefaultSQLitePath); err != nil {
		t.Fatal(err)
	}
}

func TestOpenPostgresReportsItsDialect(t *testing.T) {
	t.Parallel()
	db, err := store.Open(t.Context(), storetest.OpenPostgresURL(t), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if db.Dialect() != store.Postgres {
		t.Fatalf("Dialect() = %q", db.Dialect())
	}
}

func TestOpenUnreachablePostgresIsUnavailable(t *testing.T) {
	t.Parallel()
	// Port 1 on loopback: nothing listens, the connection is refused.
	_, err := store.Open(t.Context(), "postgres://mlapi:hunter2@127.0.0.1:1/mlapi?sslmode=disable&connect_timeout=5", store.Options{})
	wantError(t, err, apperr.Unavailable, "the database is unavailable, try again later")
	if strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("error %q reveals the password", err)
	}
}

// calls exercises one read and one write of each kind, for the tests that
// make the database unavailable.
func calls(db *store.DB, userID int64) map[string]func(context.Context) error {
	return map[string]func(context.Context) error{
		"Ping": db.Ping,
		"CreateUser": func(ctx context.Context) error {
			_, err := db.CreateUser(ctx, store.NewUser{Username: "grace"})
			return err
		},
		"UserByID":       func(ctx context.Context) error { _, err := db.UserByID(ctx, userID); return err },
		"UserByUsername": func(ctx context.Context) error { _, err := db.UserByUsername(ctx, "ada"); return err },
		"ActiveUser":     func(ctx context.Context) error { _, err := db.ActiveUser(ctx, userID); return err },
		"SetUserEnabled": func(ctx context.Context) error { _, err := db.SetUserEnabled(ctx, userID, false); return err },
		"DeleteUser":     func(ctx context.Context) error { return db.DeleteUser(ctx, userID) },
		"LogPrediction":  func(ctx context.Context) error { _, err := db.LogPrediction(ctx, okLog(userID, 1)); return err },
		"ListRequests": func(ctx context.Context) error {
			_, err := db.ListRequests(ctx, userID, store.PageQuery{Size: 10})
			return err
		},
		"Request":  func(ctx context.Context) error { _, err := db.Request(ctx, userID, 1); return err },
		"Migrate":  db.Migrate,
		"Rollback": func(ctx context.Context) error { _, err := db.Rollback(ctx); return err },
		"MigrationStatus": func(ctx context.Context) error {
			_, _, err := db.MigrationStatus(ctx)
			return err
		},
	}
}

func TestClosedDatabaseIsUnavailable(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		u := createUser(t, db, "ada")
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		for name, call := range calls(db, u.ID) {
			t.Run(name, func(t *testing.T) {
				wantCode(t, call(t.Context()), apperr.Unavailable)
			})
		}
	})
}

func TestExpiredContextIsUnavailable(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		u := createUser(t, db, "ada")
		expired, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
		defer cancel()
		cancelled, cancel := context.WithCancel(t.Context())
		cancel()
		for name, call := range calls(db, u.ID) {
			t.Run(name, func(t *testing.T) {
				wantCode(t, call(expired), apperr.Unavailable)
				wantCode(t, call(cancelled), apperr.Unavailable)
			})
		}
		// Nothing happened: the user is still there, enabled, without requests.
		if got, err := db.ActiveUser(t.Context(), u.ID); err != nil || !sameUser(got, u) {
			t.Fatalf("ActiveUser = %+v, %v; want %+v", got, err, u)
		}
		wantCount(t, db, 0, "SELECT count(*) FROM requests")
	})
}

// A request that finds every connection taken waits for one within its
// deadline, then fails as Unavailable.
func TestExhaustedPoolIsUnavailable(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		db := openWith(t, storetest.URL(t, dialect), store.Options{MaxOpenConns: 1})
		u := createUser(t, db, "ada")

		// Hold the only connection of each pool (on PostgreSQL they are one).
		reader, err := store.Reader(db).Conn(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer reader.Close()
		if store.Writer(db) != store.Reader(db) {
			writer, err := store.Writer(db).Conn(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			defer writer.Close()
		}

		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		_, err = db.UserByID(ctx, u.ID)
		wantCode(t, err, apperr.Unavailable)
		_, err = db.LogPrediction(ctx, okLog(u.ID, 1))
		wantCode(t, err, apperr.Unavailable)
	})
}

// A query stuck behind a lock is cut off at the caller's deadline.
func TestSlowDatabaseIsUnavailable(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		databaseURL := storetest.URL(t, dialect)
		db := openWith(t, databaseURL, store.Options{})
		u := createUser(t, db, "ada")

		// Another session takes the lock a prediction needs and keeps it.
		// On SQLite that is the file's write lock, which the writer's
		// transaction holds from BEGIN IMMEDIATE on; the prediction then
		// comes through a second handle, like another process's.
		other := db
		if dialect == store.SQLite {
			other = openWith(t, databaseURL, store.Options{})
		}
		tx, err := store.Writer(db).BeginTx(t.Context(), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		if dialect == store.Postgres {
			if _, err := tx.ExecContext(t.Context(), "LOCK TABLE requests IN ACCESS EXCLUSIVE MODE"); err != nil {
				t.Fatal(err)
			}
		}

		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		_, err = other.LogPrediction(ctx, okLog(u.ID, 1))
		wantCode(t, err, apperr.Unavailable)
	})
}

// When PostgreSQL drops every connection (a restart, a failover), the pool
// replaces them by itself: at most the calls that held one fail, as
// Unavailable, and the next succeeds.
func TestRecoversFromDroppedConnections(t *testing.T) {
	t.Parallel()
	databaseURL := storetest.OpenPostgresURL(t)
	db := openWith(t, databaseURL, store.Options{MaxOpenConns: 4})
	u := createUser(t, db, "ada")

	admin, err := pgx.Connect(t.Context(), databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(t.Context())
	var killed int
	if err := admin.QueryRow(t.Context(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&killed); err != nil {
		t.Fatal(err)
	}
	if killed == 0 {
		t.Fatal("no connection of the store's pool to drop")
	}

	const attempts = 3
	for i := range attempts {
		_, err = db.LogPrediction(t.Context(), okLog(u.ID, i))
		if err == nil {
			break
		}
		wantCode(t, err, apperr.Unavailable)
	}
	if err != nil {
		t.Fatalf("still failing after %d attempts: %v", attempts, err)
	}
}

// TestPostgresPlansWithoutJIT: the pool's connections run with jit off,
// unless the URL says otherwise.
func TestPostgresPlansWithoutJIT(t *testing.T) {
	t.Parallel()
	if os.Getenv("TEST_DATABASE_URL") == "" {
		t.Skip("TEST_DATABASE_URL is not set")
	}
	base := storetest.OpenPostgresURL(t)
	separator := "?"
	if strings.Contains(base, "?") {
		separator = "&"
	}
	for _, tt := range []struct{ url, want string }{
		{base, "off"},
		{base + separator + "jit=on", "on"},
	} {
		db, err := store.Open(t.Context(), tt.url, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var jit string
		err = store.Reader(db).QueryRowContext(t.Context(), "SHOW jit").Scan(&jit)
		db.Close()
		if err != nil || jit != tt.want {
			t.Errorf("%s: jit %q (%v), want %q", store.Redact(tt.url), jit, err, tt.want)
		}
	}
}

// PoolStats names every pool with its own figures: on SQLite the one
// writer and the readers MaxOpenConns bounds, on PostgreSQL one pool.
func TestPoolStats(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		db := openWith(t, storetest.URL(t, dialect), store.Options{MaxOpenConns: 3})
		type pool struct {
			name    string
			maxOpen int
		}
		want := []pool{{store.ReadWritePool, 3}}
		if dialect == store.SQLite {
			want = []pool{{store.ReadWritePool, 1}, {store.ReadOnlyPool, 3}}
		}
		var got []pool
		for _, p := range db.PoolStats() {
			got = append(got, pool{p.Pool, p.MaxOpenConnections})
			if p.OpenConnections < 1 {
				t.Errorf("pool %s: %d open connections after Open's ping", p.Pool, p.OpenConnections)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("pools %+v, want %+v", got, want)
		}
	})
}
