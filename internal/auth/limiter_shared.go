package auth

import (
	"cmp"
	"context"
	"fmt"
	"time"
)

// AttemptCounters keeps attempt counts where every process sees them
// (store.DB on PostgreSQL). CountAttempt counts one attempt of key under
// limiter at now, in the window of length window that began with the key's
// first attempt or in a new one once that has ended, and returns the
// attempts counted in the window (never more than maxAttempts+1) and when
// the window ends.
type AttemptCounters interface {
	CountAttempt(ctx context.Context, limiter, key string, maxAttempts int, now time.Time, window time.Duration) (attempts int, windowEnd time.Time, err error)
}

// SharedLimiterConfig configures a SharedLimiter. Zero values take the
// defaults noted; negative ones are refused.
type SharedLimiterConfig struct {
	// Name tells this limit's counters from another's; required.
	Name   string
	Max    int              // attempts allowed per key per window; 10 when zero
	Window time.Duration    // window length; 1 minute when zero
	Now    func() time.Time // clock; time.Now when nil
}

// SharedLimiter counts attempts per key as AttemptLimiter does (every call,
// case-insensitively, in windows that start at each key's first attempt),
// in counters that every process using the same database shares: several
// processes behind one address are limited as one. The database holds the
// keys, so none is ever evicted, and the windows that have ended are pruned
// there.
type SharedLimiter struct {
	counters AttemptCounters
	name     string
	max      int
	window   time.Duration
	now      func() time.Time
}

// NewSharedLimiter checks cfg and returns a limiter counting in counters.
func NewSharedLimiter(counters AttemptCounters, cfg SharedLimiterConfig) (*SharedLimiter, error) {
	if cfg.Name == "" || cfg.Max < 0 || cfg.Window < 0 {
		return nil, fmt.Errorf("auth: shared attempt limiter: a name and no negative setting are required in %+v", cfg)
	}
	l := &SharedLimiter{
		counters: counters,
		name:     cfg.Name,
		max:      cmp.Or(cfg.Max, 10),
		window:   cmp.Or(cfg.Window, time.Minute),
		now:      cfg.Now,
	}
	if l.now == nil {
		l.now = time.Now
	}
	return l, nil
}

// Attempt records an attempt for key and reports whether it is within the
// limit; when refused, retryAfter is how long until the key's window ends.
// An attempt that could not be counted is refused with the error.
func (l *SharedLimiter) Attempt(ctx context.Context, key string) (ok bool, retryAfter time.Duration, err error) {
	now := l.now()
	attempts, windowEnd, err := l.counters.CountAttempt(ctx, l.name, limiterKey(key), l.max, now, l.window)
	if err != nil {
		return false, 0, err
	}
	if attempts > l.max {
		return false, windowEnd.Sub(now), nil
	}
	return true, 0, nil
}
