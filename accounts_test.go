package main

import (
	"strings"
	"testing"

	"github.com/99designs/gqlgen/client"

	"github.com/mlapi/mlapi/internal/store"
	"github.com/mlapi/mlapi/internal/store/storetest"
)

// Accounts: what administrators may do to users, and which tokens live
// through a logout, a password change, a revocation, disabling and
// deleting; passwords and secrets too weak to accept.

const (
	logoutMutation         = `mutation { logout }`
	changePasswordMutation = `mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) { token tokenType expiresAt } }`
	revokeTokensMutation   = `mutation($id: ID!) { revokeUserTokens(userId: $id) { id username } }`
	setEnabledMutation     = `mutation($id: ID!, $e: Boolean!) { setUserEnabled(userId: $id, enabled: $e) { id enabled } }`
	deleteUserMutation     = `mutation($id: ID!) { deleteUser(userId: $id) }`
	meQuery                = `{ me { id } }`
)

// wantTokens checks which tokens a request that needs a caller accepts, and
// that tokenStatus agrees.
func (a *testAPI) wantTokens(t *testing.T, live, dead map[string]string) {
	t.Helper()
	for name, token := range live {
		if resp := a.post(t, token, meQuery); len(resp.Errors) > 0 {
			t.Errorf("token %s: %s, want it to work", name, resp.Raw)
		}
		if !a.tokenValid(t, token) {
			t.Errorf("token %s status: invalid, want valid", name)
		}
	}
	for name, token := range dead {
		if got := a.post(t, token, meQuery).code(); got != "UNAUTHENTICATED" {
			t.Errorf("token %s: %q, want UNAUTHENTICATED", name, got)
		}
		if a.tokenValid(t, token) {
			t.Errorf("token %s status: valid, want invalid", name)
		}
	}
}

// wantPredictRefused checks that predict with token, a valid input or a
// refused one, is UNAUTHENTICATED and writes nothing.
func (a *testAPI) wantPredictRefused(t *testing.T, name, token string) {
	t.Helper()
	before := a.count(t, "requests")
	bad := seedInput()
	bad["age"] = "old" // refused by GraphQL's typing, then logged for the caller
	for _, in := range []map[string]any{seedInput(), bad} {
		if got := a.post(t, token, predictMutation, client.Var("in", in)).code(); got != "UNAUTHENTICATED" {
			t.Errorf("predict with %s: %q, want UNAUTHENTICATED", name, got)
		}
	}
	if after := a.count(t, "requests"); after != before || a.count(t, "responses") != before {
		t.Errorf("predict with %s wrote %d request rows", name, after-before)
	}
}

func (a *testAPI) wantPredictWorks(t *testing.T, name, token string) {
	t.Helper()
	if resp := a.post(t, token, predictMutation, client.Var("in", seedInput())); len(resp.Errors) > 0 {
		t.Errorf("predict with %s: %s", name, resp.Raw)
	}
}

func TestAdminManagesUsers(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		api := newTestAPI(t, dialect)
		_, admin := api.createAdmin(t, "root", "admin password 1")
		userID, userToken := api.user(t, "eve")
		api.predict(t, userToken)

		resp := api.post(t, admin, setEnabledMutation, client.Var("id", userID), client.Var("e", false))
		var disabled struct {
			ID      string
			Enabled bool
		}
		resp.field(t, "setUserEnabled", &disabled)
		if len(resp.Errors) > 0 || disabled.ID != userID || disabled.Enabled {
			t.Fatalf("disable: %s", resp.Raw)
		}
		if got := api.post(t, userToken, predictMutation, client.Var("in", seedInput())).code(); got != "UNAUTHENTICATED" {
			t.Errorf("disabled user's predict: %q", got)
		}
		if got := api.post(t, userToken, meQuery).code(); got != "UNAUTHENTICATED" {
			t.Errorf("disabled user's me: %q", got)
		}
		if got := api.post(t, "", tokenMutation, client.Var("u", "eve"), client.Var("p", userPassword)).code(); got != "FORBIDDEN" {
			t.Errorf("disabled user's login: %q", got)
		}
		if n := api.count(t, "requests"); n != 1 {
			t.Errorf("%d request rows, want 1: refused predictions of a disabled user are not logged", n)
		}

		resp = api.post(t, admin, deleteUserMutation, client.Var("id", userID))
		var deleted bool
		resp.field(t, "deleteUser", &deleted)
		if len(resp.Errors) > 0 || !deleted {
			t.Fatalf("delete: %s", resp.Raw)
		}
		if api.count(t, "requests") != 0 || api.count(t, "responses") != 0 {
			t.Errorf("deleting a user left their requests or responses")
		}
		if api.tokenValid(t, userToken) {
			t.Errorf("deleted user's token status: valid")
		}
		if got := api.post(t, admin, deleteUserMutation, client.Var("id", userID)).code(); got != "NOT_FOUND" {
			t.Errorf("deleting a missing user: %q", got)
		}
	})
}

func TestLogoutRevokesOnlyTheTokenInUse(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		api := newTestAPI(t, dialect)
		_, first := api.user(t, "ada")
		second := api.token(t, "ada", userPassword)

		resp := api.post(t, first, logoutMutation)
		var loggedOut bool
		resp.field(t, "logout", &loggedOut)
		if len(resp.Errors) > 0 || !loggedOut {
			t.Fatalf("logout: %s", resp.Raw)
		}
		api.wantTokens(t, map[string]string{"second": second}, map[string]string{"logged out": first})
		api.wantPredictRefused(t, "the logged-out token", first)
		api.wantPredictWorks(t, "the other token", second)
		if got := api.post(t, first, logoutMutation).code(); got != "UNAUTHENTICATED" {
			t.Errorf("logging out twice: %q, want UNAUTHENTICATED", got)
		}
		if got := api.post(t, "", logoutMutation).code(); got != "UNAUTHENTICATED" {
			t.Errorf("logout without a token: %q, want UNAUTHENTICATED", got)
		}
		if n := api.count(t, "revoked_tokens"); n != 1 {
			t.Errorf("%d revoked_tokens rows, want 1", n)
		}
	})
}

func TestChangePasswordRevokesEveryToken(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		api := newTestAPI(t, dialect)
		_, first := api.user(t, "ada")
		second := api.token(t, "ada", userPassword)
		change := func(t *testing.T, token, current, new string) gqlResponse {
			t.Helper()
			return api.post(t, token, changePasswordMutation, client.Var("c", current), client.Var("n", new))
		}

		refusals := []struct {
			name, current, new, want string
		}{
			{"wrong current password", "wrong horse battery", "a brand new secret", "BAD_USER_INPUT"},
			{"common new password", userPassword, "Password123", "BAD_USER_INPUT"},
			{"short new password", userPassword, "short", "BAD_USER_INPUT"},
			{"same password", userPassword, userPassword, "BAD_USER_INPUT"},
		}
		for _, tt := range refusals {
			if resp := change(t, first, tt.current, tt.new); resp.code() != tt.want {
				t.Errorf("%s: %s, want %s", tt.name, resp.Raw, tt.want)
			}
		}
		if got := change(t, "", userPassword, "a brand new secret").code(); got != "UNAUTHENTICATED" {
			t.Errorf("without a token: %q, want UNAUTHENTICATED", got)
		}
		api.wantTokens(t, map[string]string{"first": first, "second": second}, nil)

		resp := change(t, first, userPassword, "a brand new secret")
		var payload struct{ Token, TokenType string }
		resp.field(t, "changePassword", &payload)
		if payload.Token == "" || payload.TokenType != "Bearer" {
			t.Fatalf("changePassword: %s", resp.Raw)
		}
		api.wantTokens(t, map[string]string{"fresh": payload.Token}, map[string]string{"first": first, "second": second})
		api.wantPredictRefused(t, "a token from before the change", second)
		api.wantPredictWorks(t, "the fresh token", payload.Token)
		if got := api.post(t, "", tokenMutation, client.Var("u", "ada"), client.Var("p", userPassword)).code(); got != "UNAUTHENTICATED" {
			t.Errorf("login with the old password: %q, want UNAUTHENTICATED", got)
		}
		api.token(t, "ada", "a brand new secret")
	})
}

func TestAdminRevokesTokens(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		api := newTestAPI(t, dialect)
		rootID, root := api.createAdmin(t, "root", "admin password 1")
		otherID, other := api.createAdmin(t, "other", "admin password 2")
		adaID, ada := api.user(t, "ada")
		second := api.token(t, "ada", userPassword)

		// A user may not; a missing user is NOT_FOUND.
		if got := api.post(t, ada, revokeTokensMutation, client.Var("id", rootID)).code(); got != "FORBIDDEN" {
			t.Errorf("user revoking an admin's tokens: %q, want FORBIDDEN", got)
		}
		if got := api.post(t, root, revokeTokensMutation, client.Var("id", "999999")).code(); got != "NOT_FOUND" {
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
			if got := api.post(t, root, tt.query, vars(tt.vars)).code(); got != "FORBIDDEN" {
				t.Errorf("%s another admin: %q, want FORBIDDEN", tt.name, got)
			}
		}
		api.wantTokens(t, map[string]string{"other admin": other}, nil)
		if n := api.queryInt(t, "SELECT count(*) FROM users WHERE role = 'admin' AND enabled"); n != 2 {
			t.Errorf("%d enabled admins, want 2", n)
		}

		resp := api.post(t, root, revokeTokensMutation, client.Var("id", adaID))
		var revoked struct{ ID, Username string }
		resp.field(t, "revokeUserTokens", &revoked)
		if len(resp.Errors) > 0 || revoked.ID != adaID || revoked.Username != "ada" {
			t.Fatalf("revokeUserTokens: %s", resp.Raw)
		}
		api.wantTokens(t, nil, map[string]string{"first": ada, "second": second})
		api.wantPredictRefused(t, "a revoked token", ada)
		again := api.token(t, "ada", userPassword)
		api.wantTokens(t, map[string]string{"after": again}, nil)

		// An administrator may revoke their own tokens.
		if resp := api.post(t, root, revokeTokensMutation, client.Var("id", rootID)); len(resp.Errors) > 0 {
			t.Errorf("revoking one's own tokens: %s", resp.Raw)
		}
		api.wantTokens(t, nil, map[string]string{"root": root})
	})
}

func TestReenabledUsersOldTokensStayDead(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		api := newTestAPI(t, dialect)
		_, root := api.createAdmin(t, "root", "admin password 1")
		adaID, ada := api.user(t, "ada")

		for _, enabled := range []bool{false, true} {
			if resp := api.post(t, root, setEnabledMutation, client.Var("id", adaID), client.Var("e", enabled)); len(resp.Errors) > 0 {
				t.Fatalf("setUserEnabled(%v): %s", enabled, resp.Raw)
			}
		}
		api.wantTokens(t, nil, map[string]string{"from before disabling": ada})
		api.wantPredictRefused(t, "a token from before disabling", ada)
		fresh := api.token(t, "ada", userPassword)
		api.wantTokens(t, map[string]string{"after enabling": fresh}, nil)
		api.wantPredictWorks(t, "a token from after enabling", fresh)
	})
}

func TestCommonPasswordsAreRefused(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		api := newTestAPI(t, dialect)
		for _, password := range []string{"password", "Password123", "ILOVEYOU", "qwertyuiop"} {
			resp := api.post(t, "", registerMutation, client.Var("u", "ada"), client.Var("p", password), client.Var("e", "ada@example.com"))
			if resp.code() != "BAD_USER_INPUT" || !strings.Contains(resp.Errors[0].Message, "most commonly used") {
				t.Errorf("register with %q: %s, want BAD_USER_INPUT naming the reason", password, resp.Raw)
			}
		}
		if n := api.count(t, "users"); n != 0 {
			t.Errorf("%d users registered with common passwords", n)
		}
		api.register(t, "ada", userPassword)
	})
}

// A refused registration names each offending field, so that a form shows
// each message next to its field; the message still says it all, for
// clients that read only the message.
func TestRegistrationNamesEachOffendingField(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, store.SQLite)
	tests := []struct {
		name, username, password, email string
		want                            []string
	}{
		{"short username", "ab", userPassword, "ab@example.com", []string{"username"}},
		{"common password", "ada", "Password123", "ada@example.com", []string{"password"}},
		{"no email", "ada", userPassword, "not an address", []string{"email"}},
		{"everything", "a b", "short", "@", []string{"username", "password", "email"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp := api.post(t, "", registerMutation, client.Var("u", tt.username), client.Var("p", tt.password), client.Var("e", tt.email))
			if resp.code() != "BAD_USER_INPUT" {
				t.Fatalf("%s, want BAD_USER_INPUT", resp.Raw)
			}
			var got []string
			for _, f := range resp.Errors[0].Extensions.Fields {
				got = append(got, f.Field)
				if f.Message == "" || !strings.Contains(resp.Errors[0].Message, f.Message) {
					t.Errorf("field %s: message %q, not part of the error's %q", f.Field, f.Message, resp.Errors[0].Message)
				}
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("fields %v, want %v", got, tt.want)
			}
		})
	}
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
			cfg := defaultConfig(t)
			cfg.JWTSecret = secret
			_, err := startWith(t, cfg)
			if err == nil {
				t.Fatalf("newApp started with JWT_SECRET %q", secret)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q repeats the secret", err)
			}
		})
	}
}
