package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// attemptPruneInterval is how often one process deletes the attempt
// counters whose window has ended: often enough that the table holds little
// more than the windows running, seldom enough that pruning costs nothing
// per attempt.
const attemptPruneInterval = time.Minute

// countAttemptSQL counts an attempt in one statement, so that processes
// counting the same key at once each see their own count. A window that
// has ended (at or before now) starts again at 1; a running one counts up
// to maxAttempts+1 and stays there, which is enough to say the limit is passed.
// The SET expressions read the row as it was before this attempt.
const countAttemptSQL = `INSERT INTO attempt_counters (limiter, key, attempts, window_end_datetime)
VALUES (?0, ?1, 1, ?2)
ON CONFLICT (limiter, key) DO UPDATE SET
	attempts = CASE
		WHEN attempt_counters.window_end_datetime <= ?3 THEN 1
		WHEN attempt_counters.attempts <= ?4 THEN attempt_counters.attempts + 1
		ELSE attempt_counters.attempts END,
	window_end_datetime = CASE
		WHEN attempt_counters.window_end_datetime <= ?3 THEN excluded.window_end_datetime
		ELSE attempt_counters.window_end_datetime END
RETURNING attempts, window_end_datetime`

// CountAttempt counts one attempt of key under limiter (a name for one
// limit: the same key counts apart under another) at now, in the window
// of length window that began with the key's first attempt, or in a new
// one when that has ended. It returns the attempts counted in the window,
// never more than maxAttempts+1, and when the window ends. Keys are compared
// exactly: the caller normalises them.
//
// Every process using the database counts in the same rows, each with its
// own clock for now: clocks kept in step (NTP) keep windows the length
// they are meant to be. Windows that have ended are deleted at most once a
// minute per process.
func (db *DB) CountAttempt(ctx context.Context, limiter, key string, maxAttempts int, now time.Time, window time.Duration) (attempts int, windowEnd time.Time, err error) {
	if limiter == "" || maxAttempts < 1 || window <= 0 {
		return 0, time.Time{}, errors.New("count attempt: a limiter name, a positive max and a positive window are required")
	}
	// Both databases keep microseconds: the window ends exactly where it
	// is stored.
	now = now.UTC().Truncate(time.Microsecond)
	err = db.rw.NewRaw(countAttemptSQL, limiter, key, now.Add(window), now, maxAttempts).
		Scan(ctx, &attempts, &windowEnd)
	if err != nil {
		return 0, time.Time{}, classify(fmt.Errorf("count attempt of %s: %w", limiter, err))
	}
	if err := db.pruneAttemptsIfDue(ctx, now); err != nil {
		return 0, time.Time{}, err
	}
	return attempts, windowEnd, nil
}

// pruneAttemptsIfDue deletes the counters whose window has ended, when this
// process last did so attemptPruneInterval or more before now. Only one
// caller at a time wins the turn.
func (db *DB) pruneAttemptsIfDue(ctx context.Context, now time.Time) error {
	due := db.attemptsPruneDue.Load()
	if now.UnixNano() < due || !db.attemptsPruneDue.CompareAndSwap(due, now.Add(attemptPruneInterval).UnixNano()) {
		return nil
	}
	_, err := db.rw.NewDelete().Table("attempt_counters").Where("window_end_datetime <= ?", now).Exec(ctx)
	if err != nil {
		return classify(fmt.Errorf("prune attempt counters: %w", err))
	}
	return nil
}
