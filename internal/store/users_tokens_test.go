package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/mlapi/mlapi/internal/apperr"
	"github.com/mlapi/mlapi/internal/store"
	"github.com/mlapi/mlapi/internal/store/storetest"
	"github.com/mlapi/mlapi/migrations"
	"github.com/uptrace/bun/migrate"
)

// A fixed clock for revocation records: no test here reads the wall clock.
var revokeNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func TestTokenUser(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		u := createUser(t, db, "ada")
		if u.TokenGeneration != 0 {
			t.Fatalf("new user at generation %d, want 0", u.TokenGeneration)
		}
		if err := db.RevokeToken(ctx, store.RevokedToken{TokenID: "revoked", UserID: u.ID, ExpiresAt: revokeNow.Add(time.Hour)}, revokeNow); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name  string
			id    int64
			check store.TokenCheck
			found bool
		}{
			{"current generation", u.ID, store.TokenCheck{Generation: 0, TokenID: "a"}, true},
			{"older generation", u.ID, store.TokenCheck{Generation: -1, TokenID: "a"}, false},
			{"newer generation", u.ID, store.TokenCheck{Generation: 1, TokenID: "a"}, false},
			{"revoked token", u.ID, store.TokenCheck{Generation: 0, TokenID: "revoked"}, false},
			{"missing user", u.ID + 100, store.TokenCheck{Generation: 0, TokenID: "a"}, false},
		}
		for _, tt := range tests {
			got, err := db.TokenUser(ctx, tt.id, tt.check)
			if tt.found {
				if err != nil || got.ID != u.ID {
					t.Errorf("%s: %+v, %v; want the user", tt.name, got, err)
				}
				continue
			}
			wantCode(t, err, apperr.NotFound)
		}
	})
}

func TestRevokeTokenPrunesExpired(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		u := createUser(t, db, "ada")
		revoke := func(id string, expires, now time.Time) {
			t.Helper()
			if err := db.RevokeToken(ctx, store.RevokedToken{TokenID: id, UserID: u.ID, ExpiresAt: expires}, now); err != nil {
				t.Fatalf("RevokeToken(%s): %v", id, err)
			}
		}
		revoke("early", revokeNow.Add(time.Minute), revokeNow)
		revoke("late", revokeNow.Add(time.Hour), revokeNow)
		revoke("late", revokeNow.Add(time.Hour), revokeNow) // twice is fine
		wantCount(t, db, 2, "SELECT count(*) FROM revoked_tokens")

		// Later, past the early token's expiry: its record goes, the late
		// one's stays, and the new one is added.
		later := revokeNow.Add(30 * time.Minute)
		revoke("new", later.Add(time.Hour), later)
		var ids []string
		rows, err := store.Writer(db).QueryContext(ctx, "SELECT jti FROM revoked_tokens ORDER BY jti")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		if want := []string{"late", "new"}; !slices.Equal(ids, want) {
			t.Fatalf("revoked tokens %v, want %v", ids, want)
		}

		// Deleting the user deletes their revocations.
		if err := db.DeleteUser(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		wantCount(t, db, 0, "SELECT count(*) FROM revoked_tokens")

		wantCode(t, db.RevokeToken(ctx, store.RevokedToken{UserID: u.ID}, revokeNow), apperr.Internal)
	})
}

func TestGenerationBumps(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		u := createUser(t, db, "ada")
		steps := []struct {
			name string
			do   func() (store.User, error)
			want int64
		}{
			{"enable an enabled user", func() (store.User, error) { return db.SetUserEnabled(ctx, u.ID, true) }, 0},
			{"revoke tokens", func() (store.User, error) { return db.RevokeUserTokens(ctx, u.ID) }, 1},
			{"change password", func() (store.User, error) {
				return db.ChangePassword(ctx, u.ID, store.TokenCheck{Generation: 1, TokenID: "t1"}, "new-hash")
			}, 2},
			{"disable", func() (store.User, error) { return db.SetUserEnabled(ctx, u.ID, false) }, 3},
			{"enable again", func() (store.User, error) { return db.SetUserEnabled(ctx, u.ID, true) }, 3},
		}
		for _, s := range steps {
			got, err := s.do()
			if err != nil || got.TokenGeneration != s.want {
				t.Fatalf("%s: generation %d, %v; want %d", s.name, got.TokenGeneration, err, s.want)
			}
			if read, err := db.UserByID(ctx, u.ID); err != nil || read.TokenGeneration != s.want {
				t.Fatalf("%s: read back generation %d, %v; want %d", s.name, read.TokenGeneration, err, s.want)
			}
		}
		if got, _ := db.UserByID(ctx, u.ID); got.PasswordHash != "new-hash" {
			t.Errorf("password hash %q after ChangePassword", got.PasswordHash)
		}

		// ChangePassword only at the caller's generation, and only while
		// enabled; otherwise nothing changes.
		_, err := db.ChangePassword(ctx, u.ID, store.TokenCheck{Generation: 2, TokenID: "t2"}, "stale-hash")
		wantCode(t, err, apperr.NotFound)
		// A token logged out between its check and the change changes nothing.
		if err := db.RevokeToken(ctx, store.RevokedToken{TokenID: "logged-out", UserID: u.ID, ExpiresAt: time.Now().Add(time.Hour)}, time.Now()); err != nil {
			t.Fatal(err)
		}
		current, err := db.UserByID(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		_, err = db.ChangePassword(ctx, u.ID, store.TokenCheck{Generation: current.TokenGeneration, TokenID: "logged-out"}, "revoked-hash")
		wantCode(t, err, apperr.NotFound)
		if _, err := db.SetUserEnabled(ctx, u.ID, false); err != nil {
			t.Fatal(err)
		}
		_, err = db.ChangePassword(ctx, u.ID, store.TokenCheck{Generation: 4, TokenID: "t4"}, "disabled-hash")
		wantCode(t, err, apperr.NotFound)
		if got, _ := db.UserByID(ctx, u.ID); got.PasswordHash != "new-hash" || got.TokenGeneration != 4 {
			t.Errorf("refused changes still changed the user: %+v", got)
		}

		_, err = db.RevokeUserTokens(ctx, u.ID+100)
		wantCode(t, err, apperr.NotFound)
	})
}

// LogPrediction under a TokenCheck refuses a revoked token and writes
// nothing; without one it checks the user only, as before.
func TestLogPredictionChecksTheToken(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		u := createUser(t, db, "ada")
		if _, err := db.RevokeUserTokens(ctx, u.ID); err != nil { // generation 1
			t.Fatal(err)
		}
		if err := db.RevokeToken(ctx, store.RevokedToken{TokenID: "gone", UserID: u.ID, ExpiresAt: revokeNow.Add(time.Hour)}, revokeNow); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name string
			ctx  context.Context
			ok   bool
		}{
			{"no token check", ctx, true},
			{"current token", store.WithTokenCheck(ctx, store.TokenCheck{Generation: 1, TokenID: "live"}), true},
			{"older generation", store.WithTokenCheck(ctx, store.TokenCheck{Generation: 0, TokenID: "live"}), false},
			{"revoked token", store.WithTokenCheck(ctx, store.TokenCheck{Generation: 1, TokenID: "gone"}), false},
		}
		logged := 0
		for i, tt := range tests {
			_, err := db.LogPrediction(tt.ctx, okLog(u.ID, i))
			if tt.ok {
				if err != nil {
					t.Errorf("%s: %v", tt.name, err)
				}
				logged++
			} else if !errors.Is(err, store.ErrUserNotFound) {
				t.Errorf("%s: %v, want ErrUserNotFound", tt.name, err)
			}
			wantCount(t, db, logged, "SELECT count(*) FROM requests")
			wantCount(t, db, logged, "SELECT count(*) FROM responses")
		}
	})
}

// The token revocation migration goes down and up again on a database with
// users: the column and table go and come back, the users stay, at
// generation 0.
func TestTokenRevocationMigrationDownAndUp(t *testing.T) {
	t.Parallel()
	const name = "20261125000002_token_revocation"
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		u := createUser(t, db, "ada")
		if _, err := db.RevokeUserTokens(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		ms, err := migrations.New()
		if err != nil {
			t.Fatal(err)
		}
		var mig migrate.Migration
		for _, m := range ms.Sorted() {
			if m.String() == name {
				mig = m
			}
		}
		if mig.Up == nil {
			t.Fatalf("no migration %s", name)
		}
		m := migrate.NewMigrator(store.Writer(db), ms)

		if err := mig.Down(ctx, m, &mig); err != nil {
			t.Fatalf("down: %v", err)
		}
		if got := tables(t, db); slices.Contains(got, "revoked_tokens") {
			t.Fatalf("tables after down: %v", got)
		}
		if _, err := store.Writer(db).ExecContext(ctx, "SELECT token_generation FROM users"); err == nil {
			t.Fatal("users.token_generation survived the down migration")
		}
		wantCount(t, db, 1, "SELECT count(*) FROM users")

		if err := mig.Up(ctx, m, &mig); err != nil {
			t.Fatalf("up: %v", err)
		}
		got, err := db.UserByID(ctx, u.ID)
		if err != nil || got.TokenGeneration != 0 || got.Username != "ada" {
			t.Fatalf("user after down and up: %+v, %v; want ada at generation 0", got, err)
		}
		if err := db.RevokeToken(ctx, store.RevokedToken{TokenID: "a", UserID: u.ID, ExpiresAt: revokeNow}, revokeNow); err != nil {
			t.Fatalf("revoked_tokens after up: %v", err)
		}
		// The constraints came back too.
		if _, err := store.Writer(db).ExecContext(ctx, "UPDATE users SET token_generation = -1"); err == nil {
			t.Error("a negative generation was accepted")
		}
	})
}
