package account

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mlapi/mlapi/internal/apperr"
	"github.com/mlapi/mlapi/internal/auth"
	"github.com/mlapi/mlapi/internal/store"
	"github.com/mlapi/mlapi/internal/store/storetest"
)

func newService(t *testing.T, db *store.DB) *Service {
	t.Helper()
	tokens, err := auth.NewTokens(auth.TokenConfig{Secret: []byte("t9Kq2vXw8LmZ4rBn6YcJ1hGs5DpF7aEu"), TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return NewService(db, must(auth.NewPasswords(auth.PasswordConfig{MaxConcurrent: 2})), tokens, must(auth.NewAttemptLimiter(auth.AttemptLimiterConfig{Max: 5})))
}

func authenticated(ctx context.Context, token string) context.Context {
	return auth.WithToken(ctx, token)
}

func TestAccountLifecycle(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newService(t, db)

		user, err := s.Register(ctx, Registration{Username: "Ada", Password: "correct horse", Email: "Ada@Example.com"})
		if err != nil {
			t.Fatal(err)
		}
		if user.Role != store.RoleUser || !user.Enabled || user.Email != "ada@example.com" {
			t.Errorf("registered %+v", user)
		}
		if user.PasswordHash == "correct horse" || len(user.PasswordHash) < 60 {
			t.Errorf("password stored as %q, want an argon2id hash", user.PasswordHash)
		}
		if _, err := s.Register(ctx, Registration{Username: "ADA", Password: "another one", Email: "x@example.com"}); apperr.CodeOf(err) != apperr.Conflict {
			t.Errorf("same name in another case: %v, want CONFLICT", err)
		}

		token, err := s.IssueToken(ctx, "ada", "correct horse")
		if err != nil {
			t.Fatal(err)
		}
		me, err := s.Authenticate(authenticated(ctx, token.Token))
		if err != nil || me.ID != user.ID {
			t.Fatalf("Authenticate: %v %+v", err, me)
		}
		if valid, _, err := s.TokenStatus(ctx, token.Token); !valid || err != nil {
			t.Errorf("TokenStatus: %v %v", valid, err)
		}

		admin, err := s.registry.CreateAdmin(ctx, Registration{Username: "root", Password: "admin password", Email: "root@example.com"})
		if err != nil || admin.Role != store.RoleAdmin {
			t.Fatalf("CreateAdmin: %v %+v", err, admin)
		}
		adminToken, err := s.IssueToken(ctx, "root", "admin password")
		if err != nil {
			t.Fatal(err)
		}
		asAdmin := authenticated(ctx, adminToken.Token)
		asUser := authenticated(ctx, token.Token)

		if _, err := s.SetUserEnabled(asUser, admin.ID, false); apperr.CodeOf(err) != apperr.Forbidden {
			t.Errorf("user disabling admin: %v, want FORBIDDEN", err)
		}
		if _, err := s.SetUserEnabled(asAdmin, admin.ID, false); apperr.CodeOf(err) != apperr.Invalid {
			t.Errorf("admin disabling themselves: %v, want BAD_USER_INPUT", err)
		}
		if _, err := s.SetUserEnabled(asAdmin, user.ID, false); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(asUser); apperr.CodeOf(err) != apperr.Unauthenticated {
			t.Errorf("disabled user's token: %v, want UNAUTHENTICATED", err)
		}
		if valid, _, _ := s.TokenStatus(ctx, token.Token); valid {
			t.Error("disabled user's token reported valid")
		}
		if _, err := s.IssueToken(ctx, "ada", "correct horse"); apperr.CodeOf(err) != apperr.Forbidden {
			t.Errorf("disabled user's login: %v, want FORBIDDEN", err)
		}
		if err := s.DeleteUser(asAdmin, user.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteUser(asAdmin, user.ID); apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("deleting twice: %v, want NOT_FOUND", err)
		}
	})
}

func TestIssueTokenRefusals(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newService(t, db)
		if _, err := s.Register(ctx, Registration{Username: "grace", Password: "hopper-1906", Email: "g@example.com"}); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name, username, password string
			want                     apperr.Code
		}{
			{"wrong password", "grace", "wrong-password", apperr.Unauthenticated},
			{"unknown user", "nobody", "wrong-password", apperr.Unauthenticated},
			{"password no account can have", "grace", "short", apperr.Unauthenticated},
			// It once reached the database and broke bun's SQLite query: INTERNAL.
			{"a NUL byte in the username", "gr\x00ace", "hopper-1906", apperr.Unauthenticated},
			{"a name no account can have", "g", "hopper-1906", apperr.Unauthenticated},
		}
		var messages []string
		for _, tt := range tests {
			_, err := s.IssueToken(ctx, tt.username, tt.password)
			if apperr.CodeOf(err) != tt.want {
				t.Errorf("%s: %v, want %s", tt.name, err, tt.want)
			}
			messages = append(messages, apperr.MessageOf(err))
		}
		for _, m := range messages[1:] {
			if m != messages[0] {
				t.Errorf("answers differ: %q vs %q", messages[0], m)
			}
		}
		// The limiter (5 attempts a minute here) counts every call.
		var last error
		for range 5 {
			_, last = s.IssueToken(ctx, "grace", "hopper-1906")
		}
		if apperr.CodeOf(last) != apperr.TooManyRequests {
			t.Errorf("attempt beyond the limit: %v, want TOO_MANY_REQUESTS", last)
		}
	})
}

func TestRegistrationReportsEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := validateRegistration(Registration{Username: "a b", Password: "short", Email: "not-an-email"})
	if apperr.CodeOf(err) != apperr.Invalid {
		t.Fatalf("got %v, want BAD_USER_INPUT", err)
	}
	msg := apperr.MessageOf(err)
	for _, want := range []string{"username", "password", "email"} {
		if !strings.Contains(strings.ToLower(msg), want) {
			t.Errorf("message %q does not mention %s", msg, want)
		}
	}
}

// must returns v, and panics on err: for constructors given fixed,
// known-good settings.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
