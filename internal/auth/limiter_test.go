package auth

import (
	"fmt"
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

func allowN(l *AttemptLimiter, key string, n int) (allowed int) {
	for range n {
		if l.Allow(key) {
			allowed++
		}
	}
	return allowed
}

func TestAttemptLimiterCountsEveryCall(t *testing.T) {
	t.Parallel()
	l := NewAttemptLimiter(AttemptLimiterConfig{Now: newFakeClock().Now})
	if got := allowN(l, "alice", 15); got != 10 {
		t.Errorf("allowed %d of 15 attempts, want the default 10", got)
	}
	if l.Allow("ALICE") {
		t.Error("a differently-cased username escaped the limit")
	}
	if !l.Allow("bob") {
		t.Error("another user was limited by alice's attempts")
	}
}

func TestAttemptLimiterWindowResets(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	l := NewAttemptLimiter(AttemptLimiterConfig{Max: 3, Window: time.Minute, Now: clock.Now})
	if got := allowN(l, "alice", 4); got != 3 {
		t.Fatalf("allowed %d of 4, want 3", got)
	}
	clock.Advance(time.Minute - time.Nanosecond)
	if l.Allow("alice") {
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
	l := NewAttemptLimiter(AttemptLimiterConfig{Max: 2, Window: time.Minute, MaxKeys: 3, Now: clock.Now})
	allowN(l, "a", 2) // a is at its limit
	clock.Advance(time.Second)
	allowN(l, "b", 2)
	allowN(l, "c", 2)
	if n := l.tracked(); n != 3 {
		t.Fatalf("tracking %d keys, want 3", n)
	}
	// A fourth key evicts the oldest window, a's: its count is forgotten.
	l.Allow("d")
	if n := l.tracked(); n != 3 {
		t.Errorf("tracking %d keys after a fourth, want the cap of 3", n)
	}
	if !l.Allow("a") {
		t.Error("a was not the key evicted")
	}
	if l.Allow("c") {
		t.Error("c, still tracked, was allowed past its limit")
	}
	// Expired windows are dropped as time passes, not kept until the cap.
	clock.Advance(time.Minute)
	l.Allow("e")
	if n := l.tracked(); n != 1 {
		t.Errorf("tracking %d keys after every window ended, want 1", n)
	}
}

func TestAttemptLimiterLongKeys(t *testing.T) {
	t.Parallel()
	l := NewAttemptLimiter(AttemptLimiterConfig{Max: 1, Now: newFakeClock().Now})
	long := strings.Repeat("x", 10_000)
	l.Allow(long + "1")
	if l.Allow(long + "2") {
		t.Error("keys differing after the stored prefix were counted apart")
	}
}

func TestAttemptLimiterConcurrent(t *testing.T) {
	t.Parallel()
	l := NewAttemptLimiter(AttemptLimiterConfig{Max: 50, Now: newFakeClock().Now})
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 100 {
				if l.Allow("shared") {
					allowed.Add(1)
				}
				l.Allow(fmt.Sprintf("own-%d-%d", g, i))
			}
		})
	}
	wg.Wait()
	if got := allowed.Load(); got != 50 {
		t.Errorf("800 concurrent attempts on one key: %d allowed, want exactly 50", got)
	}
}
