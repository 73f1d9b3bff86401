package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/mlapi/mlapi/migrations"
	"github.com/uptrace/bun/migrate"
)

const (
	// lockPoll is how often a waiting Migrate retries bun's migration lock.
	lockPoll = 200 * time.Millisecond
	// unlockTimeout bounds releasing the lock, which must happen even when
	// the caller's context has just expired.
	unlockTimeout = 10 * time.Second
	// migrationLockID names the PostgreSQL advisory lock Migrate and
	// Rollback hold: "mlapi" in ASCII, a number no other application on the
	// database is likely to use.
	migrationLockID int64 = 0x6d6c617069
)

// Migrate applies the migrations not applied yet. Callers in several
// processes take turns: one applies, the others wait within ctx, then find
// nothing left to do. On PostgreSQL they take turns through an advisory
// lock, which the server releases when its holder's connection ends, so a
// process killed while migrating holds up no one. On SQLite they take turns
// through bun's lock table (bun_migration_locks), whose row a killed
// process leaves behind: Migrate then waits until ctx ends and says so, and
// deleting the row releases it.
func (db *DB) Migrate(ctx context.Context) error {
	err := db.withMigrationLock(ctx, func(m *migrate.Migrator) error {
		_, err := m.Migrate(ctx)
		return err
	})
	if err != nil {
		return classify(fmt.Errorf("migrate: %w", err))
	}
	return nil
}

// Rollback reverts the group of migrations the last Migrate applied and
// returns their names, newest first; none when nothing is applied.
func (db *DB) Rollback(ctx context.Context) ([]string, error) {
	var names []string
	err := db.withMigrationLock(ctx, func(m *migrate.Migrator) error {
		group, err := m.Rollback(ctx)
		if err != nil {
			return err
		}
		for i := len(group.Migrations) - 1; i >= 0; i-- {
			names = append(names, group.Migrations[i].String())
		}
		return nil
	})
	if err != nil {
		return nil, classify(fmt.Errorf("roll back: %w", err))
	}
	return names, nil
}

// MigrationStatus lists the migrations this binary knows, oldest first, split
// into those the database has applied and those still pending.
func (db *DB) MigrationStatus(ctx context.Context) (applied, pending []string, err error) {
	m, err := db.migrator()
	if err != nil {
		return nil, nil, err
	}
	if err := initMigrations(ctx, m); err != nil {
		return nil, nil, classify(fmt.Errorf("migration status: %w", err))
	}
	all, err := m.MigrationsWithStatus(ctx)
	if err != nil {
		return nil, nil, classify(fmt.Errorf("migration status: %w", err))
	}
	for _, mig := range all {
		if mig.IsApplied() {
			applied = append(applied, mig.String())
		} else {
			pending = append(pending, mig.String())
		}
	}
	return applied, pending, nil
}

func (db *DB) migrator() (*migrate.Migrator, error) {
	ms, err := migrations.New()
	if err != nil {
		return nil, fmt.Errorf("load migrations: %w", err)
	}
	// Marking a migration applied only once it succeeded means a failed one
	// is retried by the next Migrate instead of being skipped.
	return migrate.NewMigrator(db.rw, ms, migrate.WithMarkAppliedOnSuccess(true)), nil
}

// withMigrationLock runs fn holding the migration lock: PostgreSQL's
// advisory lock, or on SQLite bun's lock row.
func (db *DB) withMigrationLock(ctx context.Context, fn func(*migrate.Migrator) error) error {
	m, err := db.migrator()
	if err != nil {
		return err
	}
	if db.dialect == Postgres {
		return db.withAdvisoryLock(ctx, func() error {
			if err := initMigrations(ctx, m); err != nil {
				return err
			}
			return fn(m)
		})
	}
	if err := initMigrations(ctx, m); err != nil {
		return err
	}
	return withLockRow(ctx, m, func() error { return fn(m) })
}

// withAdvisoryLock runs fn holding the session advisory lock
// migrationLockID, taken on a connection of its own outside the pool: the
// migrations need the pool, which may be a single connection. The lock is
// the session's, so it goes when that connection does, whatever becomes of
// this process.
func (db *DB) withAdvisoryLock(ctx context.Context, fn func() error) error {
	conn, err := pgx.ConnectConfig(ctx, db.pgConfig)
	if err != nil {
		return fmt.Errorf("connect to take the migration lock: %w", err)
	}
	// Closing the session releases the lock.
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), unlockTimeout)
		defer cancel()
		conn.Close(closeCtx)
	}()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrationLockID); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("take the migration lock: another process is migrating "+
				"(pg_locks lists it as the advisory lock %d): %w", migrationLockID, err)
		}
		return fmt.Errorf("take the migration lock: %w", err)
	}
	return fn()
}

// withLockRow runs fn holding bun's lock row in bun_migration_locks.
func withLockRow(ctx context.Context, m *migrate.Migrator, fn func() error) (err error) {
	for {
		err := m.Lock(ctx)
		if err == nil {
			break
		}
		if uniqueViolation(err) {
			// Another process holds it: wait for it to finish.
			err = pause(ctx)
		}
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("take the migration lock: another process may hold it "+
					"(if none is migrating, delete the row in bun_migration_locks): %w", err)
			}
			return fmt.Errorf("take the migration lock: %w", err)
		}
	}
	defer func() {
		unlockCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), unlockTimeout)
		defer cancel()
		if unlockErr := m.Unlock(unlockCtx); unlockErr != nil {
			err = errors.Join(err, fmt.Errorf("release the migration lock: %w", unlockErr))
		}
	}()
	return fn()
}

// initMigrations creates bun's bookkeeping tables. Two PostgreSQL sessions
// running CREATE TABLE IF NOT EXISTS at once can both miss the other's table;
// one then fails with unique_violation (23505) on a catalog index,
// duplicate_table (42P07) or duplicate_object (42710, the table's row type).
// Trying again finds the table.
func initMigrations(ctx context.Context, m *migrate.Migrator) error {
	for {
		err := m.Init(ctx)
		if err == nil {
			return nil
		}
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || (pgErr.Code != "23505" && pgErr.Code != "42P07" && pgErr.Code != "42710") {
			return fmt.Errorf("create the migration tables: %w", err)
		}
		if err := pause(ctx); err != nil {
			return fmt.Errorf("create the migration tables: %w", err)
		}
	}
}

func pause(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(lockPoll):
		return nil
	}
}
