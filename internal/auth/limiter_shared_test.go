package auth_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mlapi/mlapi/internal/apperr"
	"github.com/mlapi/mlapi/internal/auth"
	"github.com/mlapi/mlapi/internal/store"
	"github.com/mlapi/mlapi/internal/store/storetest"
)

// limiter is what both kinds of attempt limiter offer.
type limiter interface {
	Attempt(ctx context.Context, key string) (ok bool, retryAfter time.Duration, err error)
}

// TestSharedLimiterCountsAsOneProcess plays one script of attempts, spread
// over two processes, against the shared limiter on each database, and
// against the in-memory limiter of a single process: every answer must be
// the one a single process gives.
func TestSharedLimiterCountsAsOneProcess(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 1000)
	type step struct {
		process   int           // which process makes the attempt
		advance   time.Duration // before the attempt
		key       string
		wantOK    bool
		wantRetry time.Duration
	}
	script := []step{
		{0, 0, "alice", true, 0},
		{1, time.Second, "alice", true, 0},
		{0, time.Second, "Alice", true, 0},
		{1, 0, "ALICE", false, 58 * time.Second},
		{0, 0, "bob", true, 0},
		{1, 40 * time.Second, "alice", false, 18 * time.Second},
		{0, 18 * time.Second, "alice", true, 0},
		// Keys are cut before they are compared.
		{1, 0, long + "1", true, 0},
		{0, 0, long + "2", true, 0},
		{1, 0, long + "3", true, 0},
		{0, 0, long + "4", false, time.Minute},
	}
	const window = time.Minute
	play := func(t *testing.T, c *auth.FakeClock, processes [2]limiter) {
		t.Helper()
		for i, s := range script {
			c.Advance(s.advance)
			ok, retry, err := processes[s.process].Attempt(t.Context(), s.key)
			if err != nil {
				t.Fatal(err)
			}
			if ok != s.wantOK || retry != s.wantRetry {
				t.Fatalf("step %d (%.10s on process %d): %v, retry after %s; want %v, %s",
					i, s.key, s.process, ok, retry, s.wantOK, s.wantRetry)
			}
		}
	}
	t.Run("memory, one process", func(t *testing.T) {
		t.Parallel()
		c := auth.NewFakeClock()
		l, err := auth.NewAttemptLimiter(auth.AttemptLimiterConfig{Max: 3, Window: window, Now: c.Now})
		if err != nil {
			t.Fatal(err)
		}
		play(t, c, [2]limiter{l, l})
	})
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		c := auth.NewFakeClock()
		databaseURL := storetest.URL(t, dialect)
		var processes [2]limiter
		for i := range processes {
			l, err := auth.NewSharedLimiter(storetest.OpenURL(t, databaseURL), auth.SharedLimiterConfig{Name: "login", Max: 3, Window: window, Now: c.Now})
			if err != nil {
				t.Fatal(err)
			}
			processes[i] = l
		}
		play(t, c, processes)
	})
}

// An attempt the database cannot count is refused, with the reason.
func TestSharedLimiterRefusesWhatItCannotCount(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		l, err := auth.NewSharedLimiter(db, auth.SharedLimiterConfig{Name: "login"})
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
		ok, _, err := l.Attempt(t.Context(), "alice")
		if ok || apperr.CodeOf(err) != apperr.Unavailable {
			t.Errorf("Attempt on a closed database: %v, %v; want refused, %s", ok, err, apperr.Unavailable)
		}
	})
}

func TestNewSharedLimiterRefusesBadSettings(t *testing.T) {
	t.Parallel()
	for _, cfg := range []auth.SharedLimiterConfig{{}, {Name: "login", Max: -1}, {Name: "login", Window: -time.Second}} {
		if _, err := auth.NewSharedLimiter(nil, cfg); err == nil {
			t.Errorf("NewSharedLimiter(%+v) accepted", cfg)
		}
	}
}
