package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/mlapi/mlapi/internal/apperr"
	"github.com/uptrace/bun"
)

// now is the time the store writes: UTC, at the microsecond precision both
// databases keep, so what a method returns equals what a later read finds.
func now() time.Time {
	return time.Now().UTC().Truncate(time.Microsecond)
}

func errUserNotFound() error { return apperr.New(apperr.NotFound, "user not found") }

// CreateUser adds an enabled user. A username taken in any letter case is a
// Conflict; the database's unique index decides, so two concurrent
// registrations of one name cannot both succeed.
func (db *DB) CreateUser(ctx context.Context, nu NewUser) (User, error) {
	if nu.Username == "" {
		return User{}, apperr.New(apperr.Invalid, "username is required")
	}
	role := nu.Role
	if role == "" {
		role = RoleUser
	}
	if role != RoleUser && role != RoleAdmin {
		return User{}, apperr.New(apperr.Invalid, `role must be "user" or "admin"`)
	}
	at := now()
	u := User{
		Username:     nu.Username,
		Email:        nu.Email,
		PasswordHash: nu.PasswordHash,
		Role:         role,
		Enabled:      true,
		CreatedAt:    at,
		UpdatedAt:    at,
	}
	if _, err := db.rw.NewInsert().Model(&u).Returning("id").Exec(ctx); err != nil {
		if uniqueViolation(err) {
			return User{}, apperr.Wrap(apperr.Conflict, "username is already taken", err)
		}
		return User{}, classify(fmt.Errorf("insert user: %w", err))
	}
	return u, nil
}

// UserByUsername finds a user by name, in any letter case. A missing user is
// NotFound.
func (db *DB) UserByUsername(ctx context.Context, username string) (User, error) {
	// The same expression as the unique index, so the index serves the lookup.
	return db.findUser(ctx, "by username", func(q *bun.SelectQuery) *bun.SelectQuery {
		return q.Where("lower(u.username) = lower(?)", username)
	})
}

// UserByID finds a user, enabled or not. A missing user is NotFound.
func (db *DB) UserByID(ctx context.Context, id int64) (User, error) {
	return db.findUser(ctx, "by id", func(q *bun.SelectQuery) *bun.SelectQuery {
		return q.Where("u.id = ?", id)
	})
}

// ActiveUser finds a user who exists and is enabled, as every authenticated
// call must. Otherwise it returns NotFound, not Unauthenticated: whether that
// ends the caller's session is the caller's decision.
func (db *DB) ActiveUser(ctx context.Context, id int64) (User, error) {
	return db.findUser(ctx, "active", func(q *bun.SelectQuery) *bun.SelectQuery {
		return q.Where("u.id = ?", id).Where("u.enabled")
	})
}

func (db *DB) findUser(ctx context.Context, how string, where func(*bun.SelectQuery) *bun.SelectQuery) (User, error) {
	var u User
	err := db.ro.NewSelect().Model(&u).Apply(where).Limit(1).Scan(ctx)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return User{}, errUserNotFound()
	case err != nil:
		return User{}, classify(fmt.Errorf("select user %s: %w", how, err))
	}
	u.inUTC()
	return u, nil
}

// SetUserEnabled enables or disables a user and returns it as updated. A
// disabled user can neither log predictions nor pass ActiveUser.
func (db *DB) SetUserEnabled(ctx context.Context, id int64, enabled bool) (User, error) {
	var u User
	err := db.rw.NewUpdate().Model(&u).
		Set("enabled = ?", enabled).
		Set("updated_datetime = ?", now()).
		Where("id = ?", id).
		Returning("*").
		Scan(ctx)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return User{}, errUserNotFound()
	case err != nil:
		return User{}, classify(fmt.Errorf("update user: %w", err))
	}
	u.inUTC()
	return u, nil
}

// DeleteUser removes a user and, through the foreign keys' ON DELETE
// CASCADE, their requests and responses.
func (db *DB) DeleteUser(ctx context.Context, id int64) error {
	res, err := db.rw.NewDelete().Model((*User)(nil)).Where("id = ?", id).Exec(ctx)
	if err != nil {
		return classify(fmt.Errorf("delete user: %w", err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return classify(fmt.Errorf("delete user: %w", err))
	}
	if n == 0 {
		return errUserNotFound()
	}
	return nil
}
