package store

import "github.com/uptrace/bun"

// Writer exposes the pool that takes writes, for tests that inspect or
// rearrange rows directly.
func Writer(db *DB) *bun.DB { return db.rw }

// Reader exposes the pool that takes reads; on PostgreSQL it is Writer's.
func Reader(db *DB) *bun.DB { return db.ro }
