package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"github.com/mlapi/mlapi/internal/apperr"
)

// Reads on a replica.
//
// With Options.ReadURL, a user's history pages and counts, stats and
// performance (the routed reads: ListRequests, StatsTotals, StatsBuckets,
// StatsHistogram, and ScoredOutcomes of one user) go to a PostgreSQL
// streaming replica, chosen per read by route. Everything else stays on the
// primary: every write, and every read that must be current (a caller's
// user and token, a request read back for a subscription, an outcome just
// recorded, the administrators' lists, drift and verification).
//
// Read-your-own-writes. The replica replays the primary's WAL some time
// after each commit. When a user's history changes (a prediction logged,
// an outcome recorded), the primary's WAL insert position, which is past
// the end of that commit, is kept as the position the replica must have
// replayed (pg_last_wal_replay_lsn) before it may answer that user; until
// then the user reads the primary. This process reads that position after
// each write of its own commits (one query per group of predictions
// written together), before they are answered. Another process's writes
// reach it through Written, which the server calls for every request the
// database announces on the live channel: the user's next read then asks
// the primary for its position, which is past the announced commit. Once
// this process has heard of a write, it never answers that user from a
// replica that has not replayed it. A read that reaches this process
// before the announcement does may still be answered from the replica
// without that write (the announcement usually arrives well within a
// millisecond).
//
// Fallbacks. A replica that cannot be reached, or is not a standby, or is
// more than MaxReplicaLag behind the primary, takes no reads until a later
// probe finds it well; a routed read that fails on the replica is run once
// more on the primary. A read is never refused because of the replica.

// Read targets and the reasons a routed read went to the primary, as a
// ReadObserver hears them.
const (
	ReadPrimary = "primary"
	ReadReplica = "replica"

	// FallbackUnavailable: the last probe could not reach the replica,
	// or found it was no standby.
	FallbackUnavailable = "unavailable"
	// FallbackLagging: the replica is more than MaxReplicaLag behind.
	FallbackLagging = "lagging"
	// FallbackRecentWrite: the replica has not replayed the user's last
	// write yet.
	FallbackRecentWrite = "recent_write"
	// FallbackFailed: the read failed on the replica, and was run again on
	// the primary.
	FallbackFailed = "failed"
)

// ReadObserver hears where each routed read was answered: target is
// ReadPrimary or ReadReplica; fallback is why a read went to the primary
// (a Fallback* constant), empty when it went where it should. It runs on
// the reading goroutine, so it must be quick.
type ReadObserver interface {
	ObserveRead(target, fallback string)
}

// DefaultMaxReplicaLag is how far behind the replica may be, by default,
// before every read goes to the primary.
const DefaultMaxReplicaLag = 30 * time.Second

const (
	// probeInterval is how often the replica's state is read again, by the
	// read that finds it older than that.
	probeInterval = time.Second
	// probeTimeout bounds a probe, so that a replica that hangs delays one
	// read a second by at most that.
	probeTimeout = time.Second
	// maxWriters bounds the users whose writes are remembered; past it,
	// every user waits for the newest write (see note).
	maxWriters = 100_000
	// everyone is the writes key of a write every user must wait for.
	everyone = 0
)

var (
	errReplicaNeedsPostgres = errors.New("a read replica (DATABASE_READ_URL) needs PostgreSQL as the database")
	errNotStandby           = errors.New("the read replica is not a standby in recovery")
)

// replica is the second pool the routed reads may take, and what route
// knows of how far it has replayed.
type replica struct {
	pool *bun.DB
	// view is the database with pool as its readers: the routed reads run
	// their usual code on it.
	view    *DB
	maxLag  time.Duration
	observe ReadObserver

	// probing is held by the one read probing at a time.
	probing sync.Mutex

	mu sync.Mutex
	// probedAt is when the state below was last read; up says whether
	// that probe reached a standby.
	probedAt time.Time
	up       bool
	// replayed is the replica's last known replay position.
	replayed uint64
	// caughtUpAt is the latest time the replica is known to have
	// replayed everything the primary had written by then.
	caughtUpAt time.Time
	// sample is the primary's insert position at sampledAt, waiting for
	// the replica to replay it (sampled says whether one waits).
	sample    uint64
	sampledAt time.Time
	sampled   bool
	// writes holds, per user, the position the replica must have replayed
	// before answering them; key everyone holds the one for all users.
	writes map[int64]written
	// marks counts notes of unknown positions, ordering them against
	// positions read.
	marks uint64
	// maxWriters bounds the users writes holds (see note).
	maxWriters int
}

// written is the position a user's reads wait for. A note not yet turned
// into a position (mark, the note's number, non-zero) takes the primary's
// position at the user's next read.
type written struct {
	lsn  uint64
	mark uint64
}

// openReplica opens the pool of opts.ReadURL for primary's routed reads.
// It does not connect: a replica down at start-up takes no reads until it
// answers.
func openReplica(primary *DB, opts Options) (*replica, error) {
	pool, config, err := openPostgresPool(opts.ReadURL, opts.MaxOpenConns)
	if err != nil {
		return nil, fmt.Errorf("read replica: %w", err)
	}
	maxLag := opts.MaxReplicaLag
	if maxLag <= 0 {
		maxLag = DefaultMaxReplicaLag
	}
	r := &replica{pool: pool, maxLag: maxLag, observe: opts.Reads, writes: map[int64]written{}, maxWriters: maxWriters}
	if r.observe == nil {
		r.observe = noReads{}
	}
	r.view = &DB{rw: primary.rw, ro: pool, dialect: Postgres, pgConfig: config, logs: primary.logs, audit: primary.audit}
	return r, nil
}

type noReads struct{}

func (noReads) ObserveRead(string, string) {}

// routed runs read on the database route picks for userID: on db, or on
// the replica's view of it. A read that fails on the replica runs once
// more on db, if retry (nil: always) still allows it.
func routed[T any](ctx context.Context, db *DB, userID int64, retry func() bool, read func(on *DB) (T, error)) (T, error) {
	r := db.replica
	if r == nil {
		return read(db)
	}
	on, fallback := r.route(ctx, db, userID)
	if on == db {
		r.observe.ObserveRead(ReadPrimary, fallback)
		return read(db)
	}
	v, err := read(on)
	if err == nil || !replicaFault(err) || ctx.Err() != nil || (retry != nil && !retry()) {
		r.observe.ObserveRead(ReadReplica, "")
		return v, err
	}
	if unavailable(err) {
		r.down()
	}
	r.observe.ObserveRead(ReadPrimary, FallbackFailed)
	return read(db)
}

// replicaFault says whether err, from a read on the replica, may be the
// replica's doing (down, a recovery conflict, a database not replayed
// yet), rather than an answer the primary would give too.
func replicaFault(err error) bool {
	code := apperr.CodeOf(err)
	return code == apperr.Unavailable || code == apperr.Internal
}

// route picks where userID's read goes: primary, or the replica's view,
// with the reason for the primary when the replica should have taken it.
func (r *replica) route(ctx context.Context, primary *DB, userID int64) (*DB, string) {
	r.probeIfDue(ctx, primary)
	r.mu.Lock()
	up, lagging := r.up, time.Since(r.caughtUpAt) > r.maxLag
	lsn, unknown := r.requiredLocked(userID)
	marks, replayed := r.marks, r.replayed
	r.mu.Unlock()
	switch {
	case !up:
		return primary, FallbackUnavailable
	case lagging:
		return primary, FallbackLagging
	}
	if unknown {
		at, err := insertLSN(ctx, primary.rw)
		if err != nil {
			// The primary will tell the read what went wrong.
			return primary, FallbackRecentWrite
		}
		lsn = max(lsn, at)
		r.settle(userID, marks, at)
	}
	if lsn <= replayed {
		return r.view, ""
	}
	// Replay moves on between probes: look again before going to the
	// primary.
	replayed, err := r.replayLSN(ctx)
	if err != nil {
		r.down()
		return primary, FallbackUnavailable
	}
	r.mu.Lock()
	r.replayed = max(r.replayed, replayed)
	r.mu.Unlock()
	if lsn > replayed {
		return primary, FallbackRecentWrite
	}
	return r.view, ""
}

// requiredLocked returns the position the replica must have replayed to
// answer userID, and whether a note of theirs still waits for the
// primary's position (unknown).
func (r *replica) requiredLocked(userID int64) (lsn uint64, unknown bool) {
	w, all := r.writes[userID], r.writes[everyone]
	return max(w.lsn, all.lsn), w.mark != 0 || all.mark != 0
}

// note records that userID (everyone: every user) wrote, and that the
// primary's position after that write was lsn: their reads wait for the
// replica to replay it. A zero lsn (unknown) takes the primary's position
// at the user's next read.
func (r *replica) note(userID int64, lsn uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.writes[userID]; !ok && len(r.writes) >= r.maxWriters {
		r.pruneLocked()
		if len(r.writes) >= r.maxWriters {
			r.foldLocked()
			userID = everyone
		}
	}
	w := r.writes[userID]
	if lsn != 0 {
		w.lsn = max(w.lsn, lsn)
	} else {
		r.marks++
		w.mark = r.marks
	}
	r.writes[userID] = w
}

// noteWrites records the writes of userIDs, just committed on primary, at
// the primary's position now.
func (r *replica) noteWrites(ctx context.Context, primary *DB, userIDs ...int64) {
	lsn, err := insertLSN(ctx, primary.rw)
	if err != nil {
		lsn = 0
	}
	for _, id := range userIDs {
		r.note(id, lsn)
	}
}

// settle turns the notes of userID and everyone made up to marks into
// position lsn, read from the primary after they were made. A note made
// since stays, for the next read.
func (r *replica) settle(userID int64, marks, lsn uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, id := range []int64{userID, everyone} {
		w, ok := r.writes[id]
		if ok && w.mark != 0 && w.mark <= marks {
			r.writes[id] = written{lsn: max(w.lsn, lsn)}
		}
	}
}

// foldLocked forgets every user, too many to remember each: every user
// then waits for the latest of their positions, and for the primary's
// position at their next read if any of them waited for it.
func (r *replica) foldLocked() {
	all := r.writes[everyone]
	unknown := false
	for _, w := range r.writes {
		all.lsn = max(all.lsn, w.lsn)
		unknown = unknown || w.mark != 0
	}
	if unknown {
		r.marks++
		all.mark = r.marks
	}
	clear(r.writes)
	r.writes[everyone] = all
}

// pruneLocked forgets the positions the replica has replayed.
func (r *replica) pruneLocked() {
	for id, w := range r.writes {
		if w.mark == 0 && w.lsn <= r.replayed {
			delete(r.writes, id)
		}
	}
}

// down takes the replica out of the reads until the next probe.
func (r *replica) down() {
	r.mu.Lock()
	r.up = false
	r.probedAt = time.Now()
	r.mu.Unlock()
}

// probeIfDue reads the replica's state again when it is older than
// probeInterval, unless another read is already at it.
func (r *replica) probeIfDue(ctx context.Context, primary *DB) {
	r.mu.Lock()
	due := time.Since(r.probedAt) >= probeInterval
	r.mu.Unlock()
	if !due || !r.probing.TryLock() {
		return
	}
	defer r.probing.Unlock()
	_ = r.probe(ctx, primary)
}

// probe reads how far the replica has replayed, and how far the primary
// has written, and from the two how far behind the replica is. It returns
// why the replica cannot take reads, nil when it can.
func (r *replica) probe(ctx context.Context, primary *DB) error {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	sampledAt := time.Now()
	at, primaryErr := insertLSN(ctx, primary.rw)
	replayed, err := r.replayLSN(ctx)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.probedAt = time.Now()
	r.up = err == nil
	if err != nil {
		return err
	}
	r.replayed = max(r.replayed, replayed)
	if r.sampled && replayed >= r.sample {
		r.caughtUpAt, r.sampled = r.sampledAt, false
	}
	if primaryErr == nil {
		switch {
		case replayed >= at:
			r.caughtUpAt, r.sampled = sampledAt, false
		case !r.sampled:
			r.sample, r.sampledAt, r.sampled = at, sampledAt, true
		}
	}
	r.pruneLocked()
	return nil
}

// replayLSN returns the replica's replay position. Only a server in
// recovery is a standby: a primary that went through crash recovery at
// start-up (after a kill -9, or a host restored from a snapshot) also
// answers pg_last_wal_replay_lsn, with where that recovery ended.
func (r *replica) replayLSN(ctx context.Context) (uint64, error) {
	var (
		inRecovery bool
		lsn        sql.NullInt64
	)
	err := r.pool.QueryRowContext(ctx, "SELECT pg_is_in_recovery(), (pg_last_wal_replay_lsn() - '0/0')::bigint").Scan(&inRecovery, &lsn)
	switch {
	case err != nil:
		return 0, classify(fmt.Errorf("read replica's replay position: %w", err))
	case !inRecovery || !lsn.Valid:
		return 0, errNotStandby
	}
	return uint64(lsn.Int64), nil
}

// insertLSN returns the primary's WAL insert position: past the end of
// every commit that has returned, whatever synchronous_commit says.
func insertLSN(ctx context.Context, primary *bun.DB) (uint64, error) {
	var lsn int64
	if err := primary.QueryRowContext(ctx, "SELECT (pg_current_wal_insert_lsn() - '0/0')::bigint").Scan(&lsn); err != nil {
		return 0, classify(fmt.Errorf("read the primary's WAL position: %w", err))
	}
	return uint64(lsn), nil
}

// Written tells the database that userID's history changed through
// another process (the server calls it for every request the database
// announces), so that the user's next reads wait for the replica to
// replay it. Without a replica it does nothing.
func (db *DB) Written(userID int64) {
	if db.replica != nil {
		db.replica.note(userID, 0)
	}
}

// PingReplica checks that the read replica answers as a standby, for
// readiness probes; nil without a replica. A replica that fails takes no
// reads until it answers again.
func (db *DB) PingReplica(ctx context.Context) error {
	if db.replica == nil {
		return nil
	}
	if err := db.replica.probe(ctx, db); err != nil {
		return fmt.Errorf("read replica: %w", err)
	}
	return nil
}
