package store

import "github.com/uptrace/bun"

// Writer exposes the pool that takes writes, for tests that inspect or
// rearrange rows directly.
func Writer(db *DB) *bun.DB { return db.rw }

// Reader exposes the pool that takes reads; on PostgreSQL it is Writer's.
func Reader(db *DB) *bun.DB { return db.ro }

// MigrationLockID is the PostgreSQL advisory lock Migrate takes.
const MigrationLockID = migrationLockID

// MaxLogBatch is how many predictions one write of the log carries at most.
const MaxLogBatch = maxLogBatch

// LogWriterHooks are test hooks on the prediction log's writer: Queued after
// a call's prediction joins the queue (with the queue's length), Writing
// before a batch is written (with its size; it may block to hold the
// write), Closing once Close has stopped taking predictions. Nil is none.
type LogWriterHooks struct {
	Queued  func(queueLen int)
	Writing func(batchLen int)
	Closing func()
}

// SetLogWriterHooks installs h; call it before db logs anything.
func SetLogWriterHooks(db *DB, h LogWriterHooks) {
	db.logs.hooks = logWriterHooks{queued: h.Queued, writing: h.Writing, closing: h.Closing}
}

// LogWrites counts the writes of the prediction log so far, batches and
// the retries of their items alike.
func LogWrites(db *DB) int {
	db.logs.mu.Lock()
	defer db.logs.mu.Unlock()
	return db.logs.writes
}

// LogWriterRunning reports whether the log's writing goroutine is alive.
func LogWriterRunning(db *DB) bool {
	db.logs.mu.Lock()
	defer db.logs.mu.Unlock()
	return db.logs.running
}
