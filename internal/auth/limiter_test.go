package auth

import (
	"cmp"
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a settable clock for the limiter.
type fakeClock struct{ t atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.t.Store(testNow().UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.t.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.t.Add(int64(d)) }

// allow counts an attempt of key and reports whether it was within l's
// limit.
func allow(l *AttemptLimiter, key string) bool {
	ok, _, _ := l.Attempt(context.Background(), key)
	return ok
}

func allowN(l *AttemptLimiter, key string, n int) (allowed int) {
	for range n {
		if allow(l, key) {
			allowed++
		}
	}
	return allowed
}

func TestAttemptLimiterCountsEveryCall(t *testing.T) {
	t.Parallel()
	l := newLimiter(t, AttemptLimiterConfig{Now: newFakeClock().Now})
	if got := allowN(l, "alice", 15); got != 10 {
		t.Errorf("allowed %d of 15 attempts, want the default 10", got)
	}
	if allow(l, "ALICE") {
		t.Error("a differently-cased username escaped the limit")
	}
	if !allow(l, "bob") {
		t.Error("another user was limited by alice's attempts")
	}
}

func TestAttemptLimiterWindowResets(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	l := newLimiter(t, AttemptLimiterConfig{Max: 3, Window: time.Minute, Now: clock.Now})
	if got := allowN(l, "alice", 4); got != 3 {
		t.Fatalf("allowed %d of 4, want 3", got)
	}
	clock.Advance(time.Minute - time.Nanosecond)
	if allow(l, "alice") {
		t.Error("allowed before the window ended")
	}
	clock.Advance(time.Nanosecond)
	if got := allowN(l, "alice", 4); got != 3 {
		t.Errorf("after the window: allowed %d of 4, want 3", got)
	}
}

func TestAttemptLimiterBoundsMemory(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	l := newLimiter(t, AttemptLimiterConfig{Max: 4, KeepAt: 2, Window: time.Minute, MaxKeys: 3, Now: clock.Now})
	allowN(l, "a", 4) // a is at its limit
	clock.Advance(time.Second)
	allow(l, "b") // cold: one attempt
	allow(l, "c")
	if n := l.tracked(); n != 3 {
		t.Fatalf("tracking %d keys, want 3", n)
	}
	// A fourth key evicts the oldest cold key, b, and never a, though a's
	// window started earlier.
	allow(l, "d")
	if n := l.tracked(); n != 3 {
		t.Errorf("tracking %d keys after a fourth, want the cap of 3", n)
	}
	if allow(l, "a") {
		t.Error("a, locked, was evicted")
	}
	if got := allowN(l, "c", 4); got != 3 {
		t.Errorf("c, still tracked: %d more attempts allowed, want 3", got)
	}
	if got := allowN(l, "b", 4); got != 4 {
		t.Errorf("b, evicted: %d attempts allowed, want a fresh 4", got)
	}
	// Expired windows are dropped as time passes, not kept until the cap.
	clock.Advance(time.Minute)
	allow(l, "e")
	if n := l.tracked(); n != 1 {
		t.Errorf("tracking %d keys after every window ended, want 1", n)
	}
}

// TestAttemptLimiterFloodCannotEvictAVictim is the attack of issue 7: lock
// a victim's username, then send cheap attempts for 100 000 distinct
// usernames (as many as the limiter tracks, or more) in the same minute,
// hoping to evict the victim's counter and guess again.
func TestAttemptLimiterFloodCannotEvictAVictim(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		maxKeys      int // 0: the default, 100 000
		floodKeys    int
		floodRepeats int // attempts per flood key
		victimTries  int // attempts on the victim before the flood
		wantAfter    int // attempts allowed on the victim after it, of 10
	}{
		{name: "locked victim, default size", floodKeys: 100_000, floodRepeats: 1, victimTries: 10, wantAfter: 0},
		{name: "locked victim, ten times the size", maxKeys: 10_000, floodKeys: 100_000, floodRepeats: 1, victimTries: 10, wantAfter: 0},
		{name: "nearly locked victim is kept", maxKeys: 10_000, floodKeys: 100_000, floodRepeats: 1, victimTries: 3, wantAfter: 7},
		{name: "locked victim, flood keys made hot", maxKeys: 10_000, floodKeys: 100_000, floodRepeats: 3, victimTries: 10, wantAfter: 0},
		// The bound the design accepts: a cold key (under KeepAt) can be
		// evicted, which forgets at most KeepAt-1 = 2 attempts.
		{name: "cold victim is forgotten", maxKeys: 10_000, floodKeys: 100_000, floodRepeats: 1, victimTries: 2, wantAfter: 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := newFakeClock()
			l := newLimiter(t, AttemptLimiterConfig{MaxKeys: tt.maxKeys, Now: clock.Now})
			allowN(l, "victim", tt.victimTries)
			for i := range tt.floodKeys {
				for range tt.floodRepeats {
					allow(l, fmt.Sprintf("flood-%d", i))
				}
				if i%1000 == 0 {
					clock.Advance(time.Millisecond) // all within the victim's minute
				}
			}
			if n, limit := l.tracked(), cmp.Or(tt.maxKeys, 100_000); n > limit {
				t.Errorf("tracking %d keys, over the cap of %d", n, limit)
			}
			if got := allowN(l, "victim", 10); got != tt.wantAfter {
				t.Errorf("after the flood: %d of 10 attempts on the victim allowed, want %d", got, tt.wantAfter)
			}
		})
	}
}

func TestAttemptLimiterFullOfHotKeys(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		admitWhenFull bool
		wantNewKey    bool
	}{
		{name: "usernames: a new key is refused", admitWhenFull: false, wantNewKey: false},
		{name: "addresses: a new key is counted in the shared overflow budget", admitWhenFull: true, wantNewKey: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := newFakeClock()
			l := newLimiter(t, AttemptLimiterConfig{Max: 5, KeepAt: 2, MaxKeys: 2, AdmitWhenFull: tt.admitWhenFull, Now: clock.Now})
			allowN(l, "a", 2)
			clock.Advance(10 * time.Second)
			allowN(l, "b", 2)
			ok, retry, _ := l.Attempt(t.Context(), "new")
			if ok != tt.wantNewKey {
				t.Errorf("new key allowed: %v, want %v", ok, tt.wantNewKey)
			}
			if !ok && retry != 50*time.Second {
				t.Errorf("retry after %v, want 50s (when a's window ends)", retry)
			}
			if tt.admitWhenFull {
				// Keys without room share one budget: filling the table does
				// not switch the limit off.
				if got := allowN(l, "other", 5*OverflowFactor+5); got != 5*OverflowFactor-1 {
					t.Errorf("keys without room: %d allowed, want the shared %d", got, 5*OverflowFactor-1)
				}
			}
			if got := allowN(l, "a", 5); got != 3 {
				t.Errorf("a, hot and kept: %d more allowed, want 3", got)
			}
			// When a's window ends, its slot frees and new keys are counted again.
			clock.Advance(50 * time.Second)
			if got := allowN(l, "new", 6); got != 5 {
				t.Errorf("after a's window: %d of 6 allowed for a new key, want 5", got)
			}
		})
	}
}

func TestAttemptLimiterRetryAfter(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	l := newLimiter(t, AttemptLimiterConfig{Max: 2, Window: time.Hour, Now: clock.Now})
	allowN(l, "k", 2)
	clock.Advance(20 * time.Minute)
	if ok, retry, _ := l.Attempt(t.Context(), "k"); ok || retry != 40*time.Minute {
		t.Errorf("Attempt = %v, %v; want refused, retry after 40m", ok, retry)
	}
	if ok, retry, _ := l.Attempt(t.Context(), "other"); !ok || retry != 0 {
		t.Errorf("Attempt(other) = %v, %v; want allowed", ok, retry)
	}
}

func TestClientKey(t *testing.T) {
	t.Parallel()
	tests := []struct{ addr, want string }{
		{"192.0.2.1", "192.0.2.1"},
		{"::ffff:192.0.2.1", "192.0.2.1"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"},
		{"fe80::1%eth0", "fe80::/64"},
	}
	for _, tt := range tests {
		if got := ClientKey(netip.MustParseAddr(tt.addr)); got != tt.want {
			t.Errorf("ClientKey(%s) = %s, want %s", tt.addr, got, tt.want)
		}
	}
}

func TestAttemptLimiterLongKeys(t *testing.T) {
	t.Parallel()
	l := newLimiter(t, AttemptLimiterConfig{Max: 1, Now: newFakeClock().Now})
	long := strings.Repeat("x", 10_000)
	allow(l, long+"1")
	if allow(l, long+"2") {
		t.Error("keys differing after the stored prefix were counted apart")
	}
}

func TestAttemptLimiterConcurrent(t *testing.T) {
	t.Parallel()
	l := newLimiter(t, AttemptLimiterConfig{Max: 50, Now: newFakeClock().Now})
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 100 {
				if allow(l, "shared") {
					allowed.Add(1)
				}
				allow(l, fmt.Sprintf("own-%d-%d", g, i))
			}
		})
	}
	wg.Wait()
	if got := allowed.Load(); got != 50 {
		t.Errorf("800 concurrent attempts on one key: %d allowed, want exactly 50", got)
	}
}

func newLimiter(t testing.TB, cfg AttemptLimiterConfig) *AttemptLimiter {
	t.Helper()
	l, err := NewAttemptLimiter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestNewAttemptLimiterRefusesNegativeSettings(t *testing.T) {
	t.Parallel()
	for name, cfg := range map[string]AttemptLimiterConfig{
		"max":      {Max: -1},
		"window":   {Window: -time.Second},
		"max keys": {MaxKeys: -1},
		"keep at":  {KeepAt: -1},
	} {
		if _, err := NewAttemptLimiter(cfg); err == nil {
			t.Errorf("negative %s accepted", name)
		}
	}
}
