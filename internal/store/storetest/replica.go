package storetest

import (
	"context"
	"net"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mlapi/mlapi/internal/store"
)

// EnvReadURL names the variable holding the URL of a streaming replica of
// TEST_DATABASE_URL's server (scripts/start-replica.sh starts one on
// 127.0.0.1:5433).
const EnvReadURL = "TEST_DATABASE_READ_URL"

// replicaLockKey is the advisory lock, on the primary, that orders the
// tests of every package using the replica: those that pause its replay
// hold it alone, the others share it.
const replicaLockKey = 7_265_104_311

// Replica is the test's hold on the streaming replica.
type Replica struct {
	t        testing.TB
	adminURL string // the replica's, from TEST_DATABASE_READ_URL
	primary  string // TEST_DATABASE_URL
	pausable bool
}

// OpenReplica returns the replica named by TEST_DATABASE_READ_URL, held
// until t ends: alone when pausable (the test may Pause its replay), else
// shared with the other tests that do not pause it, in every package.
// Without TEST_DATABASE_READ_URL (or TEST_DATABASE_URL) it skips t, or
// fails it under CI=true.
func OpenReplica(t testing.TB, pausable bool) *Replica {
	t.Helper()
	readURL := os.Getenv(EnvReadURL)
	if readURL == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("storetest: " + EnvReadURL + " must name a streaming replica of " + EnvDatabaseURL +
				"'s server under CI=true (scripts/start-replica.sh starts one: postgres://postgres@127.0.0.1:5433/postgres?sslmode=disable)")
		}
		t.Skip("replica skipped: " + EnvReadURL + " is not set (scripts/start-replica.sh)")
	}
	primary := postgresAdminURL(t)
	if primary == "" {
		t.Skip("replica skipped: " + EnvDatabaseURL + " is not set")
	}
	r := &Replica{t: t, adminURL: readURL, primary: primary, pausable: pausable}
	r.lock()
	return r
}

// lock takes the advisory lock on a connection of its own, kept until t
// ends.
func (r *Replica) lock() {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*setupTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, r.primary)
	if err != nil {
		r.t.Fatalf("storetest: connect to %s: %v", store.Redact(r.primary), err)
	}
	r.t.Cleanup(func() { conn.Close(context.Background()) })
	lock := "SELECT pg_advisory_lock_shared($1)"
	if r.pausable {
		lock = "SELECT pg_advisory_lock($1)"
	}
	if _, err := conn.Exec(ctx, lock, int64(replicaLockKey)); err != nil {
		r.t.Fatalf("storetest: wait for the replica: %v", err)
	}
}

// URL returns the URL of databaseURL's database (a PostgreSQL one from
// URL) on the replica, once the replica has replayed everything written
// so far, its creation and migration included.
func (r *Replica) URL(databaseURL string) string {
	r.t.Helper()
	primary, err := url.Parse(databaseURL)
	if err != nil {
		r.t.Fatalf("storetest: %s is not a URL", store.Redact(databaseURL))
	}
	u, err := url.Parse(r.adminURL)
	if err != nil {
		r.t.Fatalf("storetest: %s is not a URL", EnvReadURL)
	}
	u.Path = primary.Path
	r.CatchUp()
	return u.String()
}

// CatchUp waits until the replica has replayed everything the primary has
// written.
func (r *Replica) CatchUp() {
	r.t.Helper()
	var target string
	r.primaryQuery("SELECT pg_current_wal_insert_lsn()::text", &target)
	r.waitFor("replayed "+target, func() bool {
		var caughtUp bool
		r.replicaQuery("SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn", &caughtUp, target)
		return caughtUp
	})
}

// waitFor polls done until it holds, failing the test after setupTimeout.
func (r *Replica) waitFor(what string, done func() bool) {
	r.t.Helper()
	deadline := time.Now().Add(setupTimeout)
	for !done() {
		if time.Now().After(deadline) {
			r.t.Fatalf("storetest: the replica has not %s after %s", what, setupTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Pause stops the replica's replay, until Resume or the end of t: what
// the primary writes meanwhile is not on the replica. Only a pausable
// Replica may pause.
func (r *Replica) Pause() {
	r.t.Helper()
	if !r.pausable {
		r.t.Fatal("storetest: Pause on a replica opened shared")
	}
	r.replicaQuery("SELECT pg_wal_replay_pause()", nil)
	r.t.Cleanup(r.Resume)
	r.waitFor("paused its replay", func() bool {
		var state string
		r.replicaQuery("SELECT pg_get_wal_replay_pause_state()", &state)
		return state == "paused"
	})
}

// Resume lets the replica replay again.
func (r *Replica) Resume() {
	r.t.Helper()
	r.replicaQuery("SELECT pg_wal_replay_resume()", nil)
}

func (r *Replica) primaryQuery(query string, dest any, args ...any) {
	r.t.Helper()
	queryOn(r.t, r.primary, query, dest, args...)
}

func (r *Replica) replicaQuery(query string, dest any, args ...any) {
	r.t.Helper()
	queryOn(r.t, r.adminURL, query, dest, args...)
}

// queryOn scans the one value query returns on the server at serverURL
// into dest, or with a nil dest runs it for its effect.
func queryOn(t testing.TB, serverURL, query string, dest any, args ...any) {
	t.Helper()
	// Cleanups run after t's own context is cancelled: use a fresh one.
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		t.Fatalf("storetest: connect to %s: %v", store.Redact(serverURL), err)
	}
	defer conn.Close(ctx)
	if dest == nil {
		_, err = conn.Exec(ctx, query, args...)
	} else {
		err = conn.QueryRow(ctx, query, args...).Scan(dest)
	}
	if err != nil {
		t.Fatalf("storetest: %s: %v", query, err)
	}
}

// ClosedURL returns databaseURL pointed at a port of this machine that
// nothing listens on: a database that is down.
func ClosedURL(t testing.TB, databaseURL string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(databaseURL)
	if err != nil {
		t.Fatalf("storetest: %s is not a URL", store.Redact(databaseURL))
	}
	u.Host = addr
	return u.String()
}
