package account

import (
	"context"
	"testing"

	"github.com/mlapi/mlapi/internal/apperr"
	"github.com/mlapi/mlapi/internal/auth"
	"github.com/mlapi/mlapi/internal/store"
	"github.com/mlapi/mlapi/internal/store/storetest"
)

// newRoomyService is newService with room for more logins than the tests
// below make.
func newRoomyService(t *testing.T, db *store.DB) *Service {
	t.Helper()
	s := newService(t, db)
	s.attempts = must(auth.NewAttemptLimiter(auth.AttemptLimiterConfig{Max: 100}))
	return s
}

// session registers a user (or an administrator) and logs them in.
type session struct {
	user  store.User
	token string
}

func newSession(t *testing.T, s *Service, username, password string, admin bool) session {
	t.Helper()
	ctx := context.Background()
	register := s.Register
	if admin {
		register = s.registry.CreateAdmin
	}
	u, err := register(ctx, Registration{Username: username, Password: password, Email: username + "@example.com"})
	if err != nil {
		t.Fatalf("register %s: %v", username, err)
	}
	return session{user: u, token: login(t, s, username, password)}
}

func login(t *testing.T, s *Service, username, password string) string {
	t.Helper()
	tok, err := s.IssueToken(context.Background(), username, password)
	if err != nil {
		t.Fatalf("log in %s: %v", username, err)
	}
	return tok.Token
}

// wantTokens checks which tokens authenticate, and that tokenStatus agrees.
func wantTokens(t *testing.T, s *Service, live, dead map[string]string) {
	t.Helper()
	ctx := context.Background()
	for name, token := range live {
		if _, err := s.Authenticate(authenticated(ctx, token)); err != nil {
			t.Errorf("token %s: %v, want it to work", name, err)
		}
		if valid, _, err := s.TokenStatus(ctx, token); !valid || err != nil {
			t.Errorf("token %s status: %v, %v; want valid", name, valid, err)
		}
	}
	for name, token := range dead {
		if _, err := s.Authenticate(authenticated(ctx, token)); apperr.CodeOf(err) != apperr.Unauthenticated {
			t.Errorf("token %s: %v, want UNAUTHENTICATED", name, err)
		}
		if valid, _, err := s.TokenStatus(ctx, token); valid || err != nil {
			t.Errorf("token %s status: %v, %v; want invalid", name, valid, err)
		}
	}
}

// logWith logs a prediction for user the way predict does: under the
// context CallerID returns for token.
func logWith(s *Service, db *store.DB, token string) error {
	ctx, userID, err := s.CallerID(authenticated(context.Background(), token))
	if err != nil {
		return err
	}
	code := "BAD_USER_INPUT"
	_, err = db.LogPrediction(ctx, store.PredictionLog{
		UserID: userID, Input: []byte(`{}`), Output: []byte(`{}`),
		ModelVersion: "v", Status: store.StatusInvalidInput, ErrorCode: &code,
	})
	return CallerError(err)
}

func TestLogoutRevokesOnlyThatToken(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		s := newRoomyService(t, db)
		ada := newSession(t, s, "ada", "correct horse battery", false)
		second := login(t, s, "ada", "correct horse battery")

		if err := s.Logout(authenticated(context.Background(), ada.token)); err != nil {
			t.Fatalf("Logout: %v", err)
		}
		wantTokens(t, s, map[string]string{"second": second}, map[string]string{"logged out": ada.token})
		if err := s.Logout(authenticated(context.Background(), ada.token)); apperr.CodeOf(err) != apperr.Unauthenticated {
			t.Errorf("logging out twice: %v, want UNAUTHENTICATED", err)
		}
		if err := s.Logout(context.Background()); apperr.CodeOf(err) != apperr.Unauthenticated {
			t.Errorf("logout without a token: %v, want UNAUTHENTICATED", err)
		}
		// CallerID verifies without reading the database; the write refuses.
		if err := logWith(s, db, ada.token); apperr.CodeOf(err) != apperr.Unauthenticated {
			t.Errorf("logging a prediction with the logged-out token: %v, want UNAUTHENTICATED", err)
		}
		if err := logWith(s, db, second); err != nil {
			t.Errorf("logging a prediction with the other token: %v", err)
		}
	})
}

func TestChangePassword(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newRoomyService(t, db)
		ada := newSession(t, s, "ada", "correct horse battery", false)
		other := login(t, s, "ada", "correct horse battery")

		refusals := []struct {
			name, current, new string
			want               apperr.Code
		}{
			{"wrong current password", "wrong horse battery", "a brand new secret", apperr.Invalid},
			{"current password no account can have", "short", "a brand new secret", apperr.Invalid},
			{"common new password", "correct horse battery", "Password1", apperr.Invalid},
			{"short new password", "correct horse battery", "short", apperr.Invalid},
			{"same password", "correct horse battery", "correct horse battery", apperr.Invalid},
		}
		for _, tt := range refusals {
			if _, err := s.ChangePassword(authenticated(ctx, ada.token), tt.current, tt.new); apperr.CodeOf(err) != tt.want {
				t.Errorf("%s: %v, want %s", tt.name, err, tt.want)
			}
		}
		wantTokens(t, s, map[string]string{"in use": ada.token, "other": other}, nil)

		fresh, err := s.ChangePassword(authenticated(ctx, ada.token), "correct horse battery", "a brand new secret")
		if err != nil {
			t.Fatalf("ChangePassword: %v", err)
		}
		wantTokens(t, s, map[string]string{"fresh": fresh.Token}, map[string]string{"in use": ada.token, "other": other})
		if err := logWith(s, db, other); apperr.CodeOf(err) != apperr.Unauthenticated {
			t.Errorf("logging a prediction with a token from before: %v, want UNAUTHENTICATED", err)
		}
		if _, err := s.IssueToken(ctx, "ada", "correct horse battery"); apperr.CodeOf(err) != apperr.Unauthenticated {
			t.Errorf("logging in with the old password: %v, want UNAUTHENTICATED", err)
		}
		login(t, s, "ada", "a brand new secret")
		if _, err := s.ChangePassword(authenticated(ctx, other), "a brand new secret", "yet another secret"); apperr.CodeOf(err) != apperr.Unauthenticated {
			t.Errorf("changing the password with a revoked token: %v, want UNAUTHENTICATED", err)
		}
	})
}

// Password attempts through changePassword count against the login limit
// (5 a minute in newService).
func TestChangePasswordIsRateLimited(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		s := newService(t, db)
		ada := newSession(t, s, "ada", "correct horse battery", false) // one attempt
		var last error
		for range 5 {
			_, last = s.ChangePassword(authenticated(context.Background(), ada.token), "wrong horse battery", "a brand new secret")
		}
		if apperr.CodeOf(last) != apperr.TooManyRequests {
			t.Errorf("attempt beyond the limit: %v, want TOO_MANY_REQUESTS", last)
		}
	})
}

func TestAdminsManageTokens(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newRoomyService(t, db)
		root := newSession(t, s, "root", "admin password", true)
		other := newSession(t, s, "other", "other admin password", true)
		ada := newSession(t, s, "ada", "correct horse battery", false)
		asRoot, asAda := authenticated(ctx, root.token), authenticated(ctx, ada.token)

		if _, err := s.RevokeUserTokens(asAda, root.user.ID); apperr.CodeOf(err) != apperr.Forbidden {
			t.Errorf("user revoking an admin's tokens: %v, want FORBIDDEN", err)
		}
		if _, err := s.RevokeUserTokens(asRoot, ada.user.ID+100); apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("revoking a missing user's tokens: %v, want NOT_FOUND", err)
		}

		// On another administrator: every operation refused, nothing done.
		onAdmin := []struct {
			name string
			do   func() error
		}{
			{"disable", func() error { _, err := s.SetUserEnabled(asRoot, other.user.ID, false); return err }},
			{"enable", func() error { _, err := s.SetUserEnabled(asRoot, other.user.ID, true); return err }},
			{"delete", func() error { return s.DeleteUser(asRoot, other.user.ID) }},
			{"revoke tokens", func() error { _, err := s.RevokeUserTokens(asRoot, other.user.ID); return err }},
		}
		for _, tt := range onAdmin {
			if err := tt.do(); apperr.CodeOf(err) != apperr.Forbidden {
				t.Errorf("%s another admin: %v, want FORBIDDEN", tt.name, err)
			}
		}
		wantTokens(t, s, map[string]string{"other admin": other.token}, nil)

		// On a user: revoking ends every token; the user logs in again.
		second := login(t, s, "ada", "correct horse battery")
		if _, err := s.RevokeUserTokens(asRoot, ada.user.ID); err != nil {
			t.Fatal(err)
		}
		again := login(t, s, "ada", "correct horse battery")
		wantTokens(t, s, map[string]string{"after": again}, map[string]string{"first": ada.token, "second": second})

		// Disabling and enabling again leaves the tokens of before dead.
		if _, err := s.SetUserEnabled(asRoot, ada.user.ID, false); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetUserEnabled(asRoot, ada.user.ID, true); err != nil {
			t.Fatal(err)
		}
		wantTokens(t, s, nil, map[string]string{"from before disabling": again})
		if err := logWith(s, db, again); apperr.CodeOf(err) != apperr.Unauthenticated {
			t.Errorf("logging a prediction with a token from before disabling: %v, want UNAUTHENTICATED", err)
		}
		wantTokens(t, s, map[string]string{"after enabling": login(t, s, "ada", "correct horse battery")}, nil)

		// An administrator may revoke their own tokens.
		if _, err := s.RevokeUserTokens(asRoot, root.user.ID); err != nil {
			t.Fatalf("revoking one's own tokens: %v", err)
		}
		wantTokens(t, s, nil, map[string]string{"root": root.token})
	})
}
