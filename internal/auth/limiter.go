package auth

import (
	"container/list"
	"strings"
	"sync"
	"time"
)

// AttemptLimiterConfig configures an AttemptLimiter. Zero or negative values
// take the defaults noted.
type AttemptLimiterConfig struct {
	Max     int              // attempts allowed per key per window; 10 when zero
	Window  time.Duration    // window length; 1 minute when zero
	MaxKeys int              // keys tracked at most; 100 000 when zero
	Now     func() time.Time // clock; time.Now when nil
}

// maxLimiterKey caps the bytes kept per key: usernames are at most 64
// bytes, and a longer key is junk that should not cost memory.
const maxLimiterKey = 128

// AttemptLimiter counts login attempts per key (a username) in fixed
// windows. Every call counts, whatever its outcome, so that a password
// guesser gains nothing from the answers. Memory is bounded: when MaxKeys
// keys are tracked, expired ones are dropped first and then the one whose
// window started earliest. Evicting a live key forgets its count; that takes
// MaxKeys fresh keys within one window, and refusing new keys instead would
// let the same flood lock every user out. Safe for concurrent use.
type AttemptLimiter struct {
	max     int
	window  time.Duration
	maxKeys int
	now     func() time.Time

	mu    sync.Mutex
	keys  map[string]*list.Element // of *attempts
	order *list.List               // by window start, oldest first
}

type attempts struct {
	key   string
	start time.Time
	count int
}

// NewAttemptLimiter returns a limiter configured by cfg.
func NewAttemptLimiter(cfg AttemptLimiterConfig) *AttemptLimiter {
	l := &AttemptLimiter{
		max:     orDefault(cfg.Max, 10),
		window:  orDefault(cfg.Window, time.Minute),
		maxKeys: orDefault(cfg.MaxKeys, 100_000),
		now:     cfg.Now,
		keys:    make(map[string]*list.Element),
		order:   list.New(),
	}
	if l.now == nil {
		l.now = time.Now
	}
	return l
}

// orDefault returns v when it is positive and def otherwise: a limit of zero
// or less would mean "refuse everything" or "never reset", never intended.
func orDefault[T int | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

// Allow records an attempt for key and reports whether it is within the
// limit. Keys are compared case-insensitively.
func (l *AttemptLimiter) Allow(key string) bool {
	if len(key) > maxLimiterKey {
		key = key[:maxLimiterKey]
	}
	key = strings.ToLower(key)
	now := l.now()

	l.mu.Lock()
	defer l.mu.Unlock()
	l.dropExpired(now)
	if e, ok := l.keys[key]; ok {
		a := e.Value.(*attempts)
		if a.count >= l.max {
			return false
		}
		a.count++
		return true
	}
	if len(l.keys) >= l.maxKeys {
		l.remove(l.order.Front())
	}
	l.keys[key] = l.order.PushBack(&attempts{key: key, start: now, count: 1})
	return true
}

// dropExpired removes the keys whose window has ended. The list is ordered
// by window start, so they are all at its front: the cost is what is
// removed, not what is tracked.
func (l *AttemptLimiter) dropExpired(now time.Time) {
	for e := l.order.Front(); e != nil; e = l.order.Front() {
		if now.Sub(e.Value.(*attempts).start) < l.window {
			return
		}
		l.remove(e)
	}
}

func (l *AttemptLimiter) remove(e *list.Element) {
	delete(l.keys, l.order.Remove(e).(*attempts).key)
}

// tracked reports how many keys the limiter holds, for tests.
func (l *AttemptLimiter) tracked() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.keys)
}
