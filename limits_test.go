package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/mlapi/mlapi/internal/config"
	"github.com/mlapi/mlapi/internal/store"
)

// postFrom sends one GraphQL request as if through a proxy that reports the
// client as forwardedFor (no header when empty).
func (a *testAPI) postFrom(forwardedFor, query string, variables map[string]any) gqlResponse {
	a.t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": variables})
	if err != nil {
		a.t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, a.server.URL+"/query", bytes.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if forwardedFor != "" {
		req.Header.Set("X-Forwarded-For", forwardedFor)
	}
	return doGraphQL(a.t, a.server.Client(), req)
}

// TestPerAddressLimits runs registerUser and token past their per-address
// budget from one client and checks that the next call is refused with a
// time to retry, that another client is unaffected, and that the client is
// told apart by X-Forwarded-For only when the proxy is trusted.
func TestPerAddressLimits(t *testing.T) {
	t.Parallel()
	// Windows of an hour: the test never depends on how fast it runs.
	limits := func(c *config.Config) {
		c.RegisterRate = config.Rate{N: 2, Per: time.Hour}
		c.LoginRate = config.Rate{N: 3, Per: time.Hour}
	}
	trustLoopback := func(c *config.Config) { c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")} }
	register := func(api *testAPI, xff, name string) gqlResponse {
		return api.postFrom(xff, registerMutation, map[string]any{"u": name, "p": "correct horse battery", "e": name + "@example.com"})
	}
	login := func(api *testAPI, xff, name string) gqlResponse {
		return api.postFrom(xff, tokenMutation, map[string]any{"u": name, "p": "wrong password"})
	}
	type step struct {
		xff      string
		wantCode string // "" for success
	}
	tests := []struct {
		name    string
		trusted bool
		call    func(api *testAPI, xff, name string) gqlResponse
		okCode  string // the code of an admitted call
		steps   []step
	}{
		{
			name: "registerUser behind a trusted proxy", trusted: true, call: register,
			steps: []step{{"198.51.100.1", ""}, {"198.51.100.1", ""}, {"198.51.100.1", "TOO_MANY_REQUESTS"}, {"198.51.100.2", ""}, {"203.0.113.5, 198.51.100.1", "TOO_MANY_REQUESTS"}},
		},
		{
			name: "token behind a trusted proxy", trusted: true, call: login, okCode: "UNAUTHENTICATED",
			steps: []step{{"198.51.100.1", ""}, {"198.51.100.1", ""}, {"198.51.100.1", ""}, {"198.51.100.1", "TOO_MANY_REQUESTS"}, {"198.51.100.2", ""}, {"", ""}},
		},
		{
			// An untrusted peer's header is ignored: every call is 127.0.0.1's.
			name: "registerUser with a forged header from an untrusted peer", trusted: false, call: register,
			steps: []step{{"198.51.100.1", ""}, {"198.51.100.2", ""}, {"198.51.100.3", "TOO_MANY_REQUESTS"}, {"", "TOO_MANY_REQUESTS"}},
		},
		{
			name: "token with a forged header from an untrusted peer", trusted: false, call: login, okCode: "UNAUTHENTICATED",
			steps: []step{{"198.51.100.1", ""}, {"198.51.100.2", ""}, {"198.51.100.3", ""}, {"198.51.100.4", "TOO_MANY_REQUESTS"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			adjust := []func(*config.Config){limits}
			if tt.trusted {
				adjust = append(adjust, trustLoopback)
			}
			api := newTestAPI(t, store.SQLite, adjust...)
			for i, s := range tt.steps {
				resp := tt.call(api, s.xff, fmt.Sprintf("user%d", i))
				want := s.wantCode
				if want == "" {
					want = tt.okCode
				}
				if resp.code() != want {
					t.Fatalf("call %d (X-Forwarded-For %q): code %q, want %q: %s", i, s.xff, resp.code(), want, resp.Raw)
				}
				if want == "TOO_MANY_REQUESTS" && !strings.Contains(resp.Errors[0].Message, "from your address, try again in") {
					t.Errorf("call %d: the refusal does not say when to retry: %s", i, resp.Raw)
				}
			}
			if tt.trusted && !strings.Contains(api.logs.String(), `"client":"198.51.100.1"`) {
				t.Errorf("the access log does not name the forwarded client:\n%s", api.logs.String())
			}
		})
	}
}
