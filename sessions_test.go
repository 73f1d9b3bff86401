package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/mlapi/mlapi/internal/config"
	"github.com/mlapi/mlapi/internal/store"
	"github.com/mlapi/mlapi/internal/store/storetest"
)

const (
	logoutMutation         = `mutation { logout }`
	changePasswordMutation = `mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) { token tokenType expiresAt } }`
	revokeTokensMutation   = `mutation($id: ID!) { revokeUserTokens(userId: $id) { id username } }`
	setEnabledMutation     = `mutation($id: ID!, $e: Boolean!) { setUserEnabled(userId: $id, enabled: $e) { id enabled } }`
	deleteUserMutation     = `mutation($id: ID!) { deleteUser(userId: $id) }`
	tokenStatusQuery       = `query($t: String!) { tokenStatus(token: $t) { valid } }`
	meQuery                = `{ me { id } }`
)

// createAdmin makes an administrator on the command line, as an operator
// does, and returns their id (the bare integer the command prints, which the
// API accepts as a User id) and a token.
func (a *testAPI) createAdmin(username, password string) (id, token string) {
	a.t.Helper()
	var out strings.Builder
	err := run(context.Background(), []string{"user", "create", "--admin", "--username", username, "--email", username + "@example.com"},
		func(key string) string {
			if key == "DATABASE_URL" {
				return a.url
			}
			return ""
		}, strings.NewReader(password+"\n"), &out, io.Discard)
	if err != nil {
		a.t.Fatalf("user create --admin %s: %v", username, err)
	}
	_, after, found := strings.Cut(out.String(), "(id ")
	id, _, closed := strings.Cut(after, ")")
	if !found || !closed || id == "" {
		a.t.Fatalf("user create printed %q, want the new id", out.String())
	}
	return id, a.token(username, password)
}

// wantTokens checks which tokens a request that needs a caller accepts, and
// that tokenStatus agrees.
func (a *testAPI) wantTokens(live, dead map[string]string) {
	a.t.Helper()
	for name, token := range live {
		if resp := a.post(token, meQuery, nil); len(resp.Errors) > 0 {
			a.t.Errorf("token %s: %s, want it to work", name, resp.Raw)
		}
		if resp := a.post("", tokenStatusQuery, map[string]any{"t": token}); !strings.Contains(resp.Raw, `"valid":true`) {
			a.t.Errorf("token %s status: %s, want valid", name, resp.Raw)
		}
	}
	for name, token := range dead {
		if got := a.post(token, meQuery, nil).code(); got != "UNAUTHENTICATED" {
			a.t.Errorf("token %s: %q, want UNAUTHENTICATED", name, got)
		}
		if resp := a.post("", tokenStatusQuery, map[string]any{"t": token}); !strings.Contains(resp.Raw, `"valid":false`) {
			a.t.Errorf("token %s status: %s, want invalid", name, resp.Raw)
		}
	}
}

// wantPredictRefused checks that predict with token, a valid input or a
// refused one, is UNAUTHENTICATED and writes nothing.
func (a *testAPI) wantPredictRefused(name, token string) {
	a.t.Helper()
	before := a.count("requests")
	bad := seedInput()
	bad["age"] = "old" // refused by GraphQL's typing, then logged for the caller
	for _, in := range []map[string]any{seedInput(), bad} {
		if got := a.post(token, predictMutation, map[string]any{"in": in}).code(); got != "UNAUTHENTICATED" {
			a.t.Errorf("predict with %s: %q, want UNAUTHENTICATED", name, got)
		}
	}
	if after := a.count("requests"); after != before || a.count("responses") != before {
		a.t.Errorf("predict with %s wrote %d request rows", name, after-before)
	}
}

func (a *testAPI) wantPredictWorks(name, token string) {
	a.t.Helper()
	if resp := a.post(token, predictMutation, map[string]any{"in": seedInput()}); len(resp.Errors) > 0 {
		a.t.Errorf("predict with %s: %s", name, resp.Raw)
	}
}

func TestLogoutRevokesOnlyTheTokenInUse(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, dialect string) {
		api := newTestAPI(t, dialect)
		_, first := api.user("ada")
		second := api.token("ada", "correct horse battery")

		resp := api.post(first, logoutMutation, nil)
		if !strings.Contains(resp.Raw, `"logout":true`) {
			t.Fatalf("logout: %s", resp.Raw)
		}
		api.wantTokens(map[string]string{"second": second}, map[string]string{"logged out": first})
		api.wantPredictRefused("the logged-out token", first)
		api.wantPredictWorks("the other token", second)
		if got := api.post(first, logoutMutation, nil).code(); got != "UNAUTHENTICATED" {
			t.Errorf("logging out twice: %q, want UNAUTHENTICATED", got)
		}
		if got := api.post("", logoutMutation, nil).code(); got != "UNAUTHENTICATED" {
			t.Errorf("logout without a token: %q, want UNAUTHENTICATED", got)
		}
		if n := api.count("revoked_tokens"); n != 1 {
			t.Errorf("%d revoked_tokens rows, want 1", n)
		}
	})
}

func TestChangePasswordRevokesEveryToken(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, dialect string) {
		api := newTestAPI(t, dialect)
		_, first := api.user("ada")
		second := api.token("ada", "correct horse battery")

		refusals := []struct {
			name, current, new, want string
		}{
			{"wrong current password", "wrong horse battery", "a brand new secret", "BAD_USER_INPUT"},
			{"common new password", "correct horse battery", "Password123", "BAD_USER_INPUT"},
			{"short new password", "correct horse battery", "short", "BAD_USER_INPUT"},
			{"same password", "correct horse battery", "correct horse battery", "BAD_USER_INPUT"},
		}
		for _, tt := range refusals {
			resp := api.post(first, changePasswordMutation, map[string]any{"c": tt.current, "n": tt.new})
			if resp.code() != tt.want {
				t.Errorf("%s: %s, want %s", tt.name, resp.Raw, tt.want)
			}
		}
		if got := api.post("", changePasswordMutation, map[string]any{"c": "correct horse battery", "n": "a brand new secret"}).code(); got != "UNAUTHENTICATED" {
			t.Errorf("without a token: %q, want UNAUTHENTICATED", got)
		}
		api.wantTokens(map[string]string{"first": first, "second": second}, nil)

		resp := api.post(first, changePasswordMutation, map[string]any{"c": "correct horse battery", "n": "a brand new secret"})
		var payload struct{ Token, TokenType string }
		resp.field(t, "changePassword", &payload)
		if payload.Token == "" || payload.TokenType != "Bearer" {
			t.Fatalf("changePassword: %s", resp.Raw)
		}
		api.wantTokens(map[string]string{"fresh": payload.Token}, map[string]string{"first": first, "second": second})
		api.wantPredictRefused("a token from before the change", second)
		api.wantPredictWorks("the fresh token", payload.Token)
		if got := api.post("", tokenMutation, map[string]any{"u": "ada", "p": "correct horse battery"}).code(); got != "UNAUTHENTICATED" {
			t.Errorf("login with the old password: %q, want UNAUTHENTICATED", got)
		}
		api.token("ada", "a brand new secret")
	})
}

func TestAdminRevokesTokens(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, dialect string) {
		api := newTestAPI(t, dialect)
		rootID, root := api.createAdmin("root", "admin password 1")
		otherID, other := api.createAdmin("other", "admin password 2")
		adaID, ada := api.user("ada")
		second := api.token("ada", "correct horse battery")

		// A user may not; a missing user is NOT_FOUND.
		if got := api.post(ada, revokeTokensMutation, map[string]any{"id": rootID}).code(); got != "FORBIDDEN" {
			t.Errorf("user revoking an admin's tokens: %q, want FORBIDDEN", got)
		}
		if got := api.post(root, revokeTokensMutation, map[string]any{"id": "999999"}).code(); got != "NOT_FOUND" {
			t.Errorf("revoking a missing user's tokens: %q, want NOT_FOUND", got)
		}

		// Another administrator: refused, whatever the operation.
		onAdmin := []struct {
			name, query string
			vars        map[string]any
		}{
			{"disable", setEnabledMutation, map[string]any{"id": otherID, "e": false}},
			{"enable", setEnabledMutation, map[string]any{"id": otherID, "e": true}},
			{"delete", deleteUserMutation, map[string]any{"id": otherID}},
			{"revoke tokens", revokeTokensMutation, map[string]any{"id": otherID}},
		}
		for _, tt := range onAdmin {
			if got := api.post(root, tt.query, tt.vars).code(); got != "FORBIDDEN" {
				t.Errorf("%s another admin: %q, want FORBIDDEN", tt.name, got)
			}
		}
		api.wantTokens(map[string]string{"other admin": other}, nil)
		if n := api.queryInt("SELECT count(*) FROM users WHERE role = 'admin' AND enabled"); n != 2 {
			t.Errorf("%d enabled admins, want 2", n)
		}

		resp := api.post(root, revokeTokensMutation, map[string]any{"id": adaID})
		if !strings.Contains(resp.Raw, `"username":"ada"`) {
			t.Fatalf("revokeUserTokens: %s", resp.Raw)
		}
		api.wantTokens(nil, map[string]string{"first": ada, "second": second})
		api.wantPredictRefused("a revoked token", ada)
		again := api.token("ada", "correct horse battery")
		api.wantTokens(map[string]string{"after": again}, nil)

		// An administrator may revoke their own tokens.
		if resp := api.post(root, revokeTokensMutation, map[string]any{"id": rootID}); len(resp.Errors) > 0 {
			t.Errorf("revoking one's own tokens: %s", resp.Raw)
		}
		api.wantTokens(nil, map[string]string{"root": root})
	})
}

func TestReenabledUsersOldTokensStayDead(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, dialect string) {
		api := newTestAPI(t, dialect)
		_, root := api.createAdmin("root", "admin password 1")
		adaID, ada := api.user("ada")

		for _, enabled := range []bool{false, true} {
			if resp := api.post(root, setEnabledMutation, map[string]any{"id": adaID, "e": enabled}); len(resp.Errors) > 0 {
				t.Fatalf("setUserEnabled(%v): %s", enabled, resp.Raw)
			}
		}
		api.wantTokens(nil, map[string]string{"from before disabling": ada})
		api.wantPredictRefused("a token from before disabling", ada)
		fresh := api.token("ada", "correct horse battery")
		api.wantTokens(map[string]string{"after enabling": fresh}, nil)
		api.wantPredictWorks("a token from after enabling", fresh)
	})
}

func TestCommonPasswordsAreRefused(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, dialect string) {
		api := newTestAPI(t, dialect)
		for _, password := range []string{"password", "Password123", "ILOVEYOU", "qwertyuiop"} {
			resp := api.post("", registerMutation, map[string]any{"u": "ada", "p": password, "e": "ada@example.com"})
			if resp.code() != "BAD_USER_INPUT" || !strings.Contains(resp.Raw, "most commonly used") {
				t.Errorf("register with %q: %s, want BAD_USER_INPUT naming the reason", password, resp.Raw)
			}
		}
		if n := api.count("users"); n != 0 {
			t.Errorf("%d users registered with common passwords", n)
		}
		api.register("ada", "correct horse battery")
	})
}

// A JWT secret that is not random stops the server from starting, and the
// error does not repeat it.
func TestWeakJWTSecretsAreRefused(t *testing.T) {
	t.Parallel()
	for _, secret := range []string{
		strings.Repeat("a", 32),
		strings.Repeat("changeme", 4),
		"your-256-bit-secret-your-256-bit-secret",
		"0123456789abcdefghijklmnopqrstuvwxyz",
		"my-super-secret-jwt-key-for-production",
	} {
		t.Run(secret[:8], func(t *testing.T) {
			t.Parallel()
			cfg, err := config.Parse(nil, func(string) string { return "" }, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			cfg.DatabaseURL = storetest.URL(t, store.SQLite)
			cfg.JWTSecret = secret
			a, err := newApp(context.Background(), cfg, slog.New(slog.DiscardHandler))
			if err == nil {
				a.db.Close()
				t.Fatalf("newApp started with JWT_SECRET %q", secret)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q repeats the secret", err)
			}
		})
	}
}
