package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
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
// CASCADE, their requests and responses, leaving the audit log checkpoints
// that say those were deleted on purpose.
func (db *DB) DeleteUser(ctx context.Context, id int64) error {
	err := db.rw.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		// The user's row first: a prediction being logged for them holds
		// it (its foreign key check), so none can slip in after the read
		// of their requests below, and be deleted with no checkpoint.
		lockUser := tx.NewSelect().Model((*User)(nil)).Column("id").Where("id = ?", id)
		lockRequests := tx.NewSelect().TableExpr("requests").
			Column("audit_chain", "audit_seq", "audit_hash").Where("user_id = ?", id)
		if db.dialect == Postgres {
			lockUser, lockRequests = lockUser.For("UPDATE"), lockRequests.For("UPDATE")
		}
		var found []int64
		if err := lockUser.Scan(ctx, &found); err != nil {
			return err
		}
		if len(found) == 0 {
			return ErrUserNotFound
		}
		var audited []auditedRequest
		if err := lockRequests.Scan(ctx, &audited); err != nil {
			return fmt.Errorf("read their requests' audit chains: %w", err)
		}
		if _, err := tx.NewDelete().Model((*User)(nil)).Where("id = ?", id).Exec(ctx); err != nil {
			return err
		}
		return db.seal(ctx, tx, audited, reasonUserDeleted)
	})
	if errors.Is(err, ErrUserNotFound) {
		return err
	}
	if err != nil {
		return classify(fmt.Errorf("delete user: %w", err))
	}
	return nil
}

// ListUsers returns a page of the users that match q.Search, in the order
// of UserKey, after q.After. The order is lower(username), the expression
// of the unique index users_username_lower_key, so that PostgreSQL reads a
// page from the index, starting at the cursor, rather than sorting every
// user; then id, which never decides between two users of one name (there
// are none) but keeps the order total by construction. A cursor is a place
// in that order, whatever the search it came from. TotalCount is counted by
// a separate statement, so a user created between the two may show in one
// and not the other.
//
// The page's far end is known from the one row more it reads; its near end
// from one more query of one row, the first matching user at or before
// q.After, looked for from the cursor backward.
func (db *DB) ListUsers(ctx context.Context, q UserQuery) (UserPage, error) {
	size := min(max(q.Size, 1), MaxPageSize)
	matching := func(sq *bun.SelectQuery) *bun.SelectQuery {
		if q.Search == "" {
			return sq
		}
		// lower() on both sides rather than ILIKE, which SQLite lacks.
		pattern := "%" + likeEscaper.Replace(q.Search) + "%"
		return sq.Where(`(lower(u.username) LIKE lower(?) ESCAPE '\' OR lower(u.email) LIKE lower(?) ESCAPE '\')`, pattern, pattern)
	}
	total, err := db.ro.NewSelect().Model((*User)(nil)).Apply(matching).Count(ctx)
	if err != nil {
		return UserPage{}, classify(fmt.Errorf("count users: %w", err))
	}
	page := UserPage{Users: []User{}, Keys: []UserKey{}, TotalCount: int(total)}
	if total == 0 {
		return page, nil
	}

	// The sort key is read back as the database folds it (PostgreSQL's
	// lower() follows the locale, SQLite's folds ASCII only), so a cursor
	// made from it compares as the database orders.
	var rows []keyedUser
	sel := db.ro.NewSelect().Model(&rows).ColumnExpr("u.*").ColumnExpr("lower(u.username) AS sort_key").Apply(matching)
	if q.After != nil {
		sel = sel.Where("(lower(u.username), u.id) > (?, ?)", q.After.Username, q.After.ID)
	}
	if err := sel.OrderExpr("lower(u.username), u.id").Limit(int64(size) + 1).Scan(ctx); err != nil {
		return UserPage{}, classify(fmt.Errorf("select users: %w", err))
	}
	page.HasNextPage = len(rows) > size
	for _, r := range rows[:min(len(rows), size)] {
		r.inUTC()
		page.Users = append(page.Users, r.User)
		page.Keys = append(page.Keys, UserKey{Username: r.SortKey, ID: r.ID})
	}

	if q.After != nil {
		var found []int64
		err := db.ro.NewSelect().Model((*User)(nil)).Column("u.id").Apply(matching).
			Where("(lower(u.username), u.id) <= (?, ?)", q.After.Username, q.After.ID).
			OrderExpr("lower(u.username) DESC, u.id DESC").Limit(1).Scan(ctx, &found)
		if err != nil {
			return UserPage{}, classify(fmt.Errorf("look before the cursor: %w", err))
		}
		page.HasPreviousPage = len(found) > 0
	}
	return page, nil
}

// keyedUser is a user read with its place in the users' order.
type keyedUser struct {
	User    `bun:",extend"`
	SortKey string `bun:"sort_key,scanonly"`
}

// likeEscaper makes text match only itself in a LIKE pattern that declares
// ESCAPE '\': a search for "a_b" must not find "axb".
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
