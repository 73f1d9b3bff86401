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

// TokenCheck is what an access token says about its user that the database
// confirms: the user's token generation when the token was issued, and the
// token's own id (jti), which must not have been revoked.
type TokenCheck struct {
	Generation int64
	TokenID    string
}

type tokenCheckKey struct{}

// WithTokenCheck returns a context under which LogPrediction also checks the
// caller's token, in the same statement as the rest: a prediction made with a
// revoked token is refused and writes nothing, even when the token was
// revoked after it was verified.
func WithTokenCheck(ctx context.Context, c TokenCheck) context.Context {
	return context.WithValue(ctx, tokenCheckKey{}, c)
}

// tokenCheckFrom returns the TokenCheck ctx carries, if any.
func tokenCheckFrom(ctx context.Context) (TokenCheck, bool) {
	c, ok := ctx.Value(tokenCheckKey{}).(TokenCheck)
	return c, ok
}

// TokenUser finds the user an access token speaks for: one who exists, is
// enabled and still has the token's generation, the token not being revoked.
// Otherwise it returns NotFound, as ActiveUser does.
func (db *DB) TokenUser(ctx context.Context, id int64, c TokenCheck) (User, error) {
	return db.findUser(ctx, "by token", func(q *bun.SelectQuery) *bun.SelectQuery {
		return q.Where("u.id = ?", id).Where("u.enabled").
			Where("u.token_generation = ?", c.Generation).
			Where("NOT EXISTS (SELECT 1 FROM revoked_tokens AS rt WHERE rt.jti = ?)", c.TokenID)
	})
}

// RevokeToken records that one token is revoked until it expires, and drops
// the records of tokens that expired before pruneBefore (they revoke nothing
// any more), in one transaction. Revoking a token twice is not an error.
func (db *DB) RevokeToken(ctx context.Context, t RevokedToken, pruneBefore time.Time) error {
	if t.TokenID == "" || t.UserID <= 0 {
		return fmt.Errorf("revoke token: a token id and a user id are required")
	}
	t.ExpiresAt = t.ExpiresAt.UTC()
	err := db.rw.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewDelete().Model((*RevokedToken)(nil)).
			Where("expires_datetime < ?", pruneBefore.UTC()).Exec(ctx); err != nil {
			return fmt.Errorf("prune revoked tokens: %w", err)
		}
		if _, err := tx.NewInsert().Model(&t).On("CONFLICT (jti) DO NOTHING").Exec(ctx); err != nil {
			return fmt.Errorf("insert revoked token: %w", err)
		}
		return nil
	})
	if err != nil {
		return classify(err)
	}
	return nil
}

// RevokeUserTokens bumps the user's token generation, which revokes every
// token issued to them so far, and returns the user as updated.
func (db *DB) RevokeUserTokens(ctx context.Context, id int64) (User, error) {
	return db.updateUser(ctx, "revoke tokens", id, func(q *bun.UpdateQuery) *bun.UpdateQuery {
		return q.Set("token_generation = token_generation + 1")
	})
}

// ChangePassword stores a new password hash and bumps the user's token
// generation, revoking every token issued so far. It changes only a user
// who is enabled and still at c's generation, and whose token c.TokenID is
// not revoked. A user who is missing, disabled or whose token was revoked
// in the meantime is NotFound, and nothing changes.
func (db *DB) ChangePassword(ctx context.Context, id int64, c TokenCheck, passwordHash string) (User, error) {
	if passwordHash == "" {
		return User{}, fmt.Errorf("change password: the hash is empty")
	}
	return db.updateUser(ctx, "change password", id, func(q *bun.UpdateQuery) *bun.UpdateQuery {
		return q.Set("password_hash = ?", passwordHash).
			Set("token_generation = token_generation + 1").
			Where("enabled").
			Where("token_generation = ?", c.Generation).
			// A logout between the check and this change must win.
			Where("NOT EXISTS (SELECT 1 FROM revoked_tokens AS rt WHERE rt.jti = ?)", c.TokenID)
	})
}

// updateUser updates user id as change says, stamps updated_datetime and
// returns the row as updated; no row is NotFound.
func (db *DB) updateUser(ctx context.Context, what string, id int64, change func(*bun.UpdateQuery) *bun.UpdateQuery) (User, error) {
	var u User
	err := db.rw.NewUpdate().Model(&u).
		Apply(change).
		Set("updated_datetime = ?", now()).
		Where("id = ?", id).
		Returning("*").
		Scan(ctx)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return User{}, ErrUserNotFound
	case err != nil:
		return User{}, classify(fmt.Errorf("%s: %w", what, err))
	}
	u.inUTC()
	return u, nil
}

func (db *DB) findUser(ctx context.Context, how string, where func(*bun.SelectQuery) *bun.SelectQuery) (User, error) {
	var u User
	err := db.ro.NewSelect().Model(&u).Apply(where).Limit(1).Scan(ctx)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return User{}, ErrUserNotFound
	case err != nil:
		return User{}, classify(fmt.Errorf("select user %s: %w", how, err))
	}
	u.inUTC()
	return u, nil
}

// SetUserEnabled enables or disables a user and returns it as updated. A
// disabled user can neither log predictions nor pass ActiveUser. Disabling
// also bumps the token generation, so that the tokens issued before stay
// revoked when the user is enabled again.
func (db *DB) SetUserEnabled(ctx context.Context, id int64, enabled bool) (User, error) {
	return db.updateUser(ctx, "update user", id, func(q *bun.UpdateQuery) *bun.UpdateQuery {
		q = q.Set("enabled = ?", enabled)
		if !enabled {
			q = q.Set("token_generation = token_generation + 1")
		}
		return q
	})
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
		return ErrUserNotFound
	}
	return nil
}
