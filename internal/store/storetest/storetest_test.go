package storetest

import (
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/mlapi/mlapi/internal/apperr"
	"github.com/mlapi/mlapi/internal/store"
)

func TestOpenGivesEmptyMigratedDatabases(t *testing.T) {
	t.Parallel()
	dbs := Open(t)
	var names []string
	for _, d := range dbs {
		names = append(names, d.Name)
		if d.DB.Dialect() != d.Name {
			t.Errorf("%s: Dialect() = %q", d.Name, d.DB.Dialect())
		}
		if _, pending, err := d.DB.MigrationStatus(t.Context()); err != nil || len(pending) != 0 {
			t.Errorf("%s: pending migrations %v, %v", d.Name, pending, err)
		}
		if _, err := d.DB.UserByID(t.Context(), 1); apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("%s: a fresh database has user 1 (%v)", d.Name, err)
		}
	}
	want := store.SQLite
	if os.Getenv(EnvDatabaseURL) != "" {
		want += "," + store.Postgres
	}
	if got := strings.Join(names, ","); got != want {
		t.Fatalf("databases %s, want %s", got, want)
	}
}

func TestEachCallGetsItsOwnDatabases(t *testing.T) {
	t.Parallel()
	first, second := Open(t), Open(t)
	for i := range first {
		if _, err := first[i].DB.CreateUser(t.Context(), store.NewUser{Username: "ada"}); err != nil {
			t.Fatal(err)
		}
		if _, err := second[i].DB.UserByUsername(t.Context(), "ada"); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("%s: a user created in one database shows in another (%v)", first[i].Name, err)
		}
	}
}

func TestPostgresDatabaseIsDroppedAtCleanup(t *testing.T) {
	t.Parallel()
	var databaseURL string
	t.Run("user", func(t *testing.T) { databaseURL = OpenPostgresURL(t) })
	if databaseURL == "" {
		t.Skip("PostgreSQL skipped: " + EnvDatabaseURL + " is not set")
	}
	u, err := url.Parse(databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	if !strings.HasPrefix(name, "mlapi_test_") {
		t.Fatalf("database %q", name)
	}
	conn, err := pgx.Connect(t.Context(), os.Getenv(EnvDatabaseURL))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	var n int
	if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("database %s still exists after its test ended", name)
	}
}

// recorder stands in for a test to watch what postgresAdminURL reports.
type recorder struct {
	testing.TB
	fatal, logged string
}

func (r *recorder) Helper()           {}
func (r *recorder) Fatal(args ...any) { r.fatal = fmt.Sprint(args...) }
func (r *recorder) Log(args ...any)   { r.logged = fmt.Sprint(args...) }

func TestMissingPostgres(t *testing.T) {
	// Setenv: not parallel.
	tests := []struct {
		ci        string
		wantFatal bool
	}{
		{"true", true},
		{"", false},
		{"false", false},
	}
	for _, tt := range tests {
		t.Run("CI="+tt.ci, func(t *testing.T) {
			t.Setenv(EnvDatabaseURL, "")
			t.Setenv("CI", tt.ci)
			r := &recorder{TB: t}
			if got := postgresAdminURL(r); got != "" {
				t.Fatalf("postgresAdminURL = %q", got)
			}
			if (r.fatal != "") != tt.wantFatal {
				t.Fatalf("fatal %q, want a failure: %v", r.fatal, tt.wantFatal)
			}
			if !tt.wantFatal && !strings.Contains(r.logged, "PostgreSQL skipped") {
				t.Fatalf("logged %q, want a note that PostgreSQL was skipped", r.logged)
			}
		})
	}
}
