package auth

import (
	"cmp"
	"container/list"
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
)

// AttemptLimiterConfig configures an AttemptLimiter. Zero values take the
// defaults noted; negative ones are refused.
type AttemptLimiterConfig struct {
	Max     int           // attempts allowed per key per window; 10 when zero
	Window  time.Duration // window length; 1 minute when zero
	MaxKeys int           // keys tracked at most; 100 000 when zero
	// KeepAt is the count from which a key is never evicted to make room
	// for another: 3 when zero, and never more than Max.
	KeepAt int
	// AdmitWhenFull says what becomes of a new key's attempt when every
	// tracked key has reached KeepAt. False (the default, for usernames)
	// refuses it. True (for client addresses) counts it in one overflow
	// budget of OverflowFactor times Max attempts a window, shared by every
	// key the table has no room for: filling the table must not switch the
	// limit off.
	AdmitWhenFull bool
	Now           func() time.Time // clock; time.Now when nil
}

// OverflowFactor sizes the budget shared by the keys a full table has no
// room for: that many keys' worth of attempts a window.
const OverflowFactor = 10

// overflow counts an attempt of a key the table has no room for in the
// budget they share.
func (l *AttemptLimiter) overflow(now time.Time) (bool, time.Duration) {
	if now.Sub(l.overflowStart) >= l.window {
		l.overflowStart, l.overflowCount = now, 0
	}
	if l.overflowCount >= l.max*OverflowFactor {
		return false, l.overflowStart.Add(l.window).Sub(now)
	}
	l.overflowCount++
	return true, 0
}

// maxLimiterKey caps the bytes kept per key: usernames are at most 64
// bytes, and a longer key is junk that should not cost memory.
const maxLimiterKey = 128

// AttemptLimiter counts attempts per key (a username, a client address) in
// fixed windows that start at each key's first attempt. It is safe for
// concurrent use. Every call counts, whatever its outcome, so that a
// password guesser gains nothing from the answers.
//
// Memory is bounded by MaxKeys, and a flood of fresh keys cannot buy a
// guesser a fresh count for a key under attack. When the table is full,
// keys whose window has ended go first, then the cold key (fewer than
// KeepAt attempts in its window) whose window started earliest. A key with
// KeepAt attempts or more (locked, or on its way) is never evicted. So a
// flood of distinct keys evicts only its own cold keys and real users' keys
// with at most KeepAt-1 attempts, which is all the count it can wipe out.
//
// When every tracked key has KeepAt attempts, a new key is refused until a
// window ends, or, with AdmitWhenFull, counted in a budget shared by all
// such keys. Forgetting a locked key instead would give its guesser a fresh
// count. Reaching that state takes MaxKeys×KeepAt attempts within one
// window (300 000 a minute with the defaults), which the per-address limits
// spread over thousands of addresses.
type AttemptLimiter struct {
	max, keepAt   int
	window        time.Duration
	maxKeys       int
	admitWhenFull bool
	now           func() time.Time

	// The shared budget of the keys without room, with AdmitWhenFull.
	overflowStart time.Time
	overflowCount int

	mu    sync.Mutex
	keys  map[string]*attempts
	order *list.List // every key, by window start, oldest first: for expiry
	cold  *list.List // keys under keepAt, by window start: eviction candidates
}

type attempts struct {
	key   string
	start time.Time
	count int
	inAll *list.Element // in order
	cold  *list.Element // in cold; nil once the key has keepAt attempts
}

// NewAttemptLimiter checks cfg and returns a limiter.
func NewAttemptLimiter(cfg AttemptLimiterConfig) (*AttemptLimiter, error) {
	if cfg.Max < 0 || cfg.Window < 0 || cfg.MaxKeys < 0 || cfg.KeepAt < 0 {
		return nil, fmt.Errorf("auth: attempt limiter: negative setting in %+v", cfg)
	}
	l := &AttemptLimiter{
		max:           cmp.Or(cfg.Max, 10),
		keepAt:        cmp.Or(cfg.KeepAt, 3),
		window:        cmp.Or(cfg.Window, time.Minute),
		maxKeys:       cmp.Or(cfg.MaxKeys, 100_000),
		admitWhenFull: cfg.AdmitWhenFull,
		now:           cfg.Now,
		keys:          make(map[string]*attempts),
		order:         list.New(),
		cold:          list.New(),
	}
	l.keepAt = min(l.keepAt, l.max)
	if l.now == nil {
		l.now = time.Now
	}
	return l, nil
}

// Attempt records an attempt for key and reports whether it is within the
// limit. Keys are compared case-insensitively. When the attempt is refused,
// retryAfter is how long until the key's window ends, or, when the table is
// full of keys that cannot be evicted, until the first of their windows
// ends (with AdmitWhenFull, until the shared budget's window ends). It
// counts in memory and never fails: ctx and the error are SharedLimiter's.
func (l *AttemptLimiter) Attempt(_ context.Context, key string) (ok bool, retryAfter time.Duration, err error) {
	ok, retryAfter = l.attempt(limiterKey(key))
	return ok, retryAfter, nil
}

// limiterKey is key as every limiter counts it: lower-cased, and cut to
// maxLimiterKey bytes first.
func limiterKey(key string) string {
	if len(key) > maxLimiterKey {
		key = key[:maxLimiterKey]
	}
	return strings.ToLower(key)
}

func (l *AttemptLimiter) attempt(key string) (ok bool, retryAfter time.Duration) {
	now := l.now()

	l.mu.Lock()
	defer l.mu.Unlock()
	l.dropExpired(now)
	if a, ok := l.keys[key]; ok {
		if a.count >= l.max {
			return false, a.start.Add(l.window).Sub(now)
		}
		a.count++
		if a.count >= l.keepAt && a.cold != nil {
			l.cold.Remove(a.cold)
			a.cold = nil
		}
		return true, 0
	}
	if len(l.keys) >= l.maxKeys {
		victim := l.cold.Front()
		if victim == nil {
			// Every key is locked or nearly: keep them all.
			if l.admitWhenFull {
				return l.overflow(now)
			}
			first := l.order.Front().Value.(*attempts)
			return false, first.start.Add(l.window).Sub(now)
		}
		l.remove(victim.Value.(*attempts))
	}
	a := &attempts{key: key, start: now, count: 1}
	a.inAll = l.order.PushBack(a)
	if a.count < l.keepAt {
		a.cold = l.cold.PushBack(a)
	}
	l.keys[key] = a
	return true, 0
}

// dropExpired removes the keys whose window has ended. The list is ordered
// by window start, so they are all at its front: the cost is what is
// removed, not what is tracked.
func (l *AttemptLimiter) dropExpired(now time.Time) {
	for e := l.order.Front(); e != nil; e = l.order.Front() {
		a := e.Value.(*attempts)
		if now.Sub(a.start) < l.window {
			return
		}
		l.remove(a)
	}
}

func (l *AttemptLimiter) remove(a *attempts) {
	l.order.Remove(a.inAll)
	if a.cold != nil {
		l.cold.Remove(a.cold)
	}
	delete(l.keys, a.key)
}
