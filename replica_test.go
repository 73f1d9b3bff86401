package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/mlapi/mlapi/internal/config"
	"github.com/mlapi/mlapi/internal/store"
	"github.com/mlapi/mlapi/internal/store/storetest"
)

// readyz answers GET /readyz on a's handler.
func (a *testAPI) readyz(t *testing.T) (int, string) {
	t.Helper()
	resp, body := a.fetch(t, a.newRequest(t, http.MethodGet, "/readyz", "", nil))
	return resp.StatusCode, body
}

// Two processes on one PostgreSQL with a streaming replica, its replay
// paused: the process that logged a prediction shows it at once (from the
// primary), and the other shows it too once the database's announcement
// of the request has reached it, though the replica still lacks it; the
// metrics count the reads by target and the primary's, by reason.
func TestReadReplicaAcrossProcesses(t *testing.T) {
	replica := storetest.OpenReplica(t, true)
	// Long enough that the paused replica is never "too far behind",
	// which would send every read to the primary.
	const maxLag = time.Hour
	a := newTestAPI(t, store.Postgres, func(c *config.Config) {
		c.DatabaseReadURL, c.DatabaseReadMaxLag = replica.URL(c.DatabaseURL), maxLag
	})
	b := newTestAPI(t, store.Postgres, func(c *config.Config) {
		c.DatabaseURL, c.JWTSecret = a.url, a.secret
		c.DatabaseReadURL, c.DatabaseReadMaxLag = replica.URL(a.url), maxLag
	})
	_, token := a.user(t, "ada")
	userID, _ := userRow(t, a, "ada")

	// b hears of a's write as the database announces it, at a moment of
	// its own. A subscriber on b gets the announcement after b noted the
	// write, so once it has, b's reads wait for the replica to replay it.
	sub := authenticatedWS(t, b.endpoint, token)
	sub.subscribe(t, "1")
	waitSubscribed(t, b, userID, 1)
	p := a.predict(t, token)
	if e := sub.event(t, "1"); e.ID != p.RequestID {
		t.Fatalf("the other process announced %+v, want request %s", e, p.RequestID)
	}

	// Both processes find out how far behind the replica is, as their
	// probes do: a sample of the primary's position, which the replica
	// then replays.
	catchUp := func() {
		t.Helper()
		for range 2 {
			replica.CatchUp()
			for _, p := range []*testAPI{a, b} {
				if err := p.db.PingReplica(t.Context()); err != nil {
					t.Fatalf("PingReplica: %v", err)
				}
			}
		}
	}
	catchUp()
	// b's next read, the replica now in use, fixes what b waits for at
	// the primary's position then; the primary may answer it, other
	// tests writing meanwhile. Once the replica replays that, it answers.
	if n := b.historyCount(t, token); n != 1 {
		t.Fatalf("the other process reads %d requests, want 1", n)
	}
	catchUp()
	before := total(b.scrape(t), "mlapi_db_reads_total", `target="replica"`)
	if n := b.historyCount(t, token); n != 1 {
		t.Fatalf("the other process reads %d requests, want 1", n)
	}
	if got := total(b.scrape(t), "mlapi_db_reads_total", `target="replica"`) - before; got != 1 {
		t.Fatalf("the other process's reads from the replica, once it replayed the write: %v, want 1", got)
	}
	if code, body := a.readyz(t); code != http.StatusOK || body != `{"status":"ready"}` {
		t.Fatalf("/readyz with the replica up: %d %s", code, body)
	}

	replica.Pause()
	a.predict(t, token)
	if n := a.historyCount(t, token); n != 2 {
		t.Fatalf("the writing process reads %d requests, want its own 2", n)
	}
	// Until the announcement arrives, b may read the replica's 1; after
	// it, never: the replica is paused, so 2 comes from the primary.
	deadline := time.Now().Add(time.Minute)
	for b.historyCount(t, token) != 2 {
		if time.Now().After(deadline) {
			t.Fatal("the other process still reads 1 request: it never heard of the write")
		}
		time.Sleep(10 * time.Millisecond)
	}
	for name, p := range map[string]*testAPI{"writing": a, "other": b} {
		if got := total(p.scrape(t), "mlapi_db_replica_fallbacks_total", `reason="recent_write"`); got < 1 {
			t.Errorf("the %s process's reads sent to the primary for a recent write: %v, want at least 1", name, got)
		}
	}
}

// A replica that does not answer costs no read: the primary answers them,
// /readyz says the server is degraded, not down, and the metrics count
// the fallbacks.
func TestReadReplicaDown(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t, store.Postgres, func(c *config.Config) { c.DatabaseReadURL = storetest.ClosedURL(t, c.DatabaseURL) })
	_, token := a.user(t, "ada")
	a.predict(t, token)
	if n := a.historyCount(t, token); n != 1 {
		t.Fatalf("history: %d requests, want 1", n)
	}
	samples := a.scrape(t)
	if got := total(samples, "mlapi_db_replica_fallbacks_total", `reason="unavailable"`); got != 1 {
		t.Errorf("fallbacks for an unavailable replica: %v, want 1", got)
	}
	if got := total(samples, "mlapi_db_reads_total", `target="primary"`); got != 1 {
		t.Errorf("reads from the primary: %v, want 1", got)
	}
	if got := total(samples, "mlapi_db_pool_max_open_connections", `pool="replica"`); got != 16 {
		t.Errorf("the replica pool's size: %v, want 16", got)
	}
	if code, body := a.readyz(t); code != http.StatusOK || body != `{"degraded":["replica"],"status":"degraded"}`+"\n" {
		t.Fatalf("/readyz with the replica down: %d %s", code, body)
	}
}
