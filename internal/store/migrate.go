package store

import (
	"context"
	"errors"
	"fmt"
	"time"

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
)

// Migrate applies the migrations not applied yet. Callers in several
// processes take turns through bun's lock table (bun_migration_locks): one
// applies, the others wait within ctx, then find nothing left to do. A
// process killed while migrating leaves its lock behind; Migrate then waits
// until ctx ends and says so, and deleting the row releases it.
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

// withMigrationLock runs fn holding bun's migration lock.
func (db *DB) withMigrationLock(ctx context.Context, fn func(*migrate.Migrator) error) (err error) {
	m, err := db.migrator()
	if err != nil {
		return err
	}
	if err := initMigrations(ctx, m); err != nil {
		return err
	}
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
	return fn(m)
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
