// Package storetest gives tests ready databases: each call makes new, empty
// ones, migrated unless the caller asks for a bare URL, and removes them when
// the test ends.
//
// SQLite is always there, in the test's temporary directory. PostgreSQL is
// added when TEST_DATABASE_URL names a server and a role that may create
// databases: every call gets a database of its own, CREATE DATABASE
// mlapi_test_<random>, dropped WITH (FORCE) at cleanup. A database per call,
// rather than a schema, isolates everything, bun's migration tables and
// locks included, and cleanup cannot be blocked by a connection a failing
// test leaked. Under CI=true a missing TEST_DATABASE_URL fails the test, so
// PostgreSQL coverage cannot silently vanish; elsewhere it is logged and
// PostgreSQL is skipped.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mlapi/mlapi/internal/store"
)

// EnvDatabaseURL names the variable holding the PostgreSQL admin URL.
const EnvDatabaseURL = "TEST_DATABASE_URL"

// setupTimeout bounds creating, migrating and dropping one test database.
const setupTimeout = time.Minute

// Named is a database to run a test against, named for t.Run.
type Named struct {
	Name string
	DB   *store.DB
}

// Open returns a fresh, migrated, empty SQLite database and, when PostgreSQL
// is configured, a PostgreSQL one; they are closed and removed when t ends.
func Open(t testing.TB) []Named {
	t.Helper()
	var dbs []Named
	for _, dialect := range dialects(t) {
		dbs = append(dbs, Named{Name: dialect, DB: open(t, URL(t, dialect))})
	}
	return dbs
}

// ForEachDialect runs test once per database Open would return, each as a
// parallel subtest named for its dialect. It is the one way a test runs "on
// every database": SQLite always, PostgreSQL when TEST_DATABASE_URL is set,
// and under CI=true a missing TEST_DATABASE_URL fails t instead of quietly
// leaving PostgreSQL out. test opens what it needs through URL, for its own
// store.Options, an unmigrated database or a server of its own; Run gives it
// a migrated one.
func ForEachDialect(t *testing.T, test func(t *testing.T, dialect string)) {
	t.Helper()
	for _, dialect := range dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			test(t, dialect)
		})
	}
}

// Run is ForEachDialect with a fresh, migrated, empty database of each
// dialect.
func Run(t *testing.T, test func(t *testing.T, db *store.DB)) {
	t.Helper()
	ForEachDialect(t, func(t *testing.T, dialect string) {
		test(t, open(t, URL(t, dialect)))
	})
}

// dialects lists SQLite, and PostgreSQL when TEST_DATABASE_URL is set: the
// one place that decides which databases a test runs on.
func dialects(t testing.TB) []string {
	t.Helper()
	dialects := []string{store.SQLite}
	if postgresAdminURL(t) != "" {
		dialects = append(dialects, store.Postgres)
	}
	return dialects
}

// URL returns the URL of a fresh, empty, unmigrated database of the named
// dialect (store.SQLite or store.Postgres).
func URL(t testing.TB, dialect string) string {
	t.Helper()
	switch dialect {
	case store.SQLite:
		return OpenSQLiteURL(t)
	case store.Postgres:
		return OpenPostgresURL(t)
	}
	t.Fatalf("storetest: unknown dialect %q", dialect)
	return ""
}

// OpenSQLiteURL returns the URL of a new, empty SQLite database file in the
// test's temporary directory, for code that opens it itself (the binary under
// DATABASE_URL, or store.Open). Nothing is migrated.
func OpenSQLiteURL(t testing.TB) string {
	t.Helper()
	return "sqlite://" + filepath.Join(t.TempDir(), "mlapi.db")
}

// OpenPostgresURL returns the URL of a new, empty PostgreSQL database,
// dropped when t ends; nothing is migrated. Without TEST_DATABASE_URL it
// skips the test, or fails it under CI=true.
func OpenPostgresURL(t testing.TB) string {
	t.Helper()
	adminURL := postgresAdminURL(t)
	if adminURL == "" {
		t.Skip("PostgreSQL skipped: " + EnvDatabaseURL + " is not set")
	}
	return createPostgresDatabase(t, adminURL)
}

// postgresAdminURL returns TEST_DATABASE_URL, failing t under CI when it is
// missing.
func postgresAdminURL(t testing.TB) string {
	t.Helper()
	adminURL := os.Getenv(EnvDatabaseURL)
	if adminURL == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("storetest: " + EnvDatabaseURL + " must name a PostgreSQL server under CI=true " +
				"(e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
		}
		t.Log("storetest: PostgreSQL skipped, " + EnvDatabaseURL + " is not set")
	}
	return adminURL
}

// OpenURL opens and migrates the database at databaseURL (from URL), as one
// more process using it would, and closes it when t ends.
func OpenURL(t testing.TB, databaseURL string) *store.DB {
	t.Helper()
	return open(t, databaseURL)
}

func open(t testing.TB, databaseURL string) *store.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	db, err := store.Open(ctx, databaseURL, store.Options{})
	if err != nil {
		t.Fatalf("storetest: open %s: %v", store.Redact(databaseURL), err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("storetest: close %s: %v", store.Redact(databaseURL), err)
		}
	})
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("storetest: migrate %s: %v", store.Redact(databaseURL), err)
	}
	return db
}

// createPostgresDatabase creates a database through adminURL and returns
// adminURL pointed at it.
func createPostgresDatabase(t testing.TB, adminURL string) string {
	t.Helper()
	u, err := url.Parse(adminURL)
	if err != nil {
		t.Fatalf("storetest: %s is not a URL", EnvDatabaseURL)
	}
	random := make([]byte, 8)
	if _, err := rand.Read(random); err != nil {
		t.Fatalf("storetest: %v", err)
	}
	name := "mlapi_test_" + hex.EncodeToString(random)

	// template0, because CREATE DATABASE fails while anyone is connected to
	// its template, and nobody can connect to template0.
	adminExec(t, adminURL, "CREATE DATABASE "+name+" TEMPLATE template0")
	t.Cleanup(func() { adminExec(t, adminURL, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })

	u.Path = "/" + name
	return u.String()
}

func adminExec(t testing.TB, adminURL, statement string) {
	t.Helper()
	queryOn(t, adminURL, statement, nil)
}
