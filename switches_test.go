package main

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlapi/mlapi/internal/config"
	"github.com/mlapi/mlapi/internal/store"
)

// Switches: what the configuration turns on and off, and what each setting
// then answers.

func TestProductionSwitches(t *testing.T) {
	t.Parallel()
	status := func(t *testing.T, api *testAPI, path string) int {
		t.Helper()
		// Raw HTTP: the status is the answer.
		resp, err := api.server.Client().Get(api.server.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	off := newTestAPI(t, store.SQLite, func(c *config.Config) {
		c.GraphiQL = false
		c.App = false
		c.Introspection = false
	})
	if resp := off.post(t, "", `{ __schema { types { name } } }`); len(resp.Errors) == 0 {
		t.Errorf("introspection answered with it off: %s", resp.Raw)
	}
	on := newTestAPI(t, store.SQLite)
	for _, path := range []string{"/", "/app/", "/app/assets/main.js", "/app/assets/LICENSE.chartjs"} {
		if got := status(t, on, path); got != http.StatusOK {
			t.Errorf("by default, %s answered %d", path, got)
		}
		if got := status(t, off, path); got != http.StatusNotFound {
			t.Errorf("GRAPHIQL=false APP=false: %s answered %d", path, got)
		}
	}
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// TestPersistedQueries follows Apollo's persisted-query link on the real
// handler, then serves trusted documents only. The bodies are written out
// as the link sends them (no query at all, not an empty one).
func TestPersistedQueries(t *testing.T) {
	t.Parallel()
	const query = `query Model { model { version } }`
	persisted := func(hash, query string) string {
		body := map[string]any{"extensions": map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hash}}}
		if query != "" {
			body["query"] = query
		}
		return mustJSON(body)
	}
	send := func(t *testing.T, api *testAPI, body string) gqlResponse {
		t.Helper()
		return api.send(t, api.newRequest(t, http.MethodPost, "/query", "", strings.NewReader(body)))
	}

	t.Run("automatic", func(t *testing.T) {
		t.Parallel()
		api := newTestAPI(t, store.SQLite)
		hash := sha256Hex(query)
		if resp := send(t, api, persisted(hash, "")); resp.code() != "PERSISTED_QUERY_NOT_FOUND" || resp.Errors[0].Message != "PersistedQueryNotFound" {
			t.Fatalf("first hash-only request: %s", resp.Raw)
		}
		if resp := send(t, api, persisted(hash, query)); len(resp.Errors) > 0 {
			t.Fatalf("registering: %s", resp.Raw)
		}
		ext := `{"persistedQuery":{"version":1,"sha256Hash":"` + hash + `"}}`
		resp := api.get(t, "", map[string]string{"extensions": ext})
		var model struct{ Version string }
		resp.field(t, "model", &model)
		if len(resp.Errors) > 0 || model.Version == "" {
			t.Fatalf("hash-only GET: %s", resp.Raw)
		}
	})

	t.Run("turned off", func(t *testing.T) {
		t.Parallel()
		api := newTestAPI(t, store.SQLite, func(c *config.Config) { c.PersistedQueries = false })
		if resp := send(t, api, persisted(sha256Hex(query), "")); resp.code() != "PERSISTED_QUERY_NOT_SUPPORTED" {
			t.Fatalf("hash-only request: %s", resp.Raw)
		}
	})

	t.Run("trusted documents only", func(t *testing.T) {
		t.Parallel()
		manifest := filepath.Join(t.TempDir(), "persisted-documents.json")
		if err := os.WriteFile(manifest, []byte(mustJSON(map[string]string{sha256Hex(query): query})), 0o600); err != nil {
			t.Fatal(err)
		}
		api := newTestAPI(t, store.SQLite, func(c *config.Config) { c.TrustedDocuments = manifest })
		if resp := send(t, api, persisted(sha256Hex(query), "")); len(resp.Errors) > 0 {
			t.Errorf("a trusted document by hash: %s", resp.Raw)
		}
		if resp := send(t, api, `{"documentId":"sha256:`+sha256Hex(query)+`"}`); len(resp.Errors) > 0 {
			t.Errorf("a trusted document by documentId: %s", resp.Raw)
		}
		if resp := api.post(t, "", `{ model { version } }`); resp.code() != "TRUSTED_DOCUMENT_REQUIRED" {
			t.Errorf("an untrusted document: %s", resp.Raw)
		}
	})

	t.Run("a manifest that does not fit the schema stops the start", func(t *testing.T) {
		t.Parallel()
		manifest := filepath.Join(t.TempDir(), "persisted-documents.json")
		if err := os.WriteFile(manifest, []byte(`{"abc": "{ nope }"}`), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg := defaultConfig(t)
		cfg.TrustedDocuments = manifest
		if _, err := startWith(t, cfg); err == nil || !strings.Contains(err.Error(), "trusted document abc") {
			t.Errorf("err %v, want the bad document named", err)
		}
	})
}

// TestCORSOnTheAPI: a page on an allowed origin may call the API; any
// other gets no CORS header, which the browser enforces. Raw HTTP: the
// headers are what is tested.
func TestCORSOnTheAPI(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, store.SQLite, func(c *config.Config) { c.CORSOrigins = []string{"https://app.example.com"} })
	tests := []struct {
		origin      string
		wantAllowed bool
	}{
		{origin: "https://app.example.com", wantAllowed: true},
		{origin: "https://evil.example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.origin, func(t *testing.T) {
			preflight := api.newRequest(t, http.MethodOptions, "/query", "", nil)
			preflight.Header.Set("Origin", tt.origin)
			preflight.Header.Set("Access-Control-Request-Method", "POST")
			preflight.Header.Set("Access-Control-Request-Headers", "authorization,content-type")
			resp, err := api.server.Client().Do(preflight)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			allowed := resp.Header.Get("Access-Control-Allow-Origin") == tt.origin &&
				strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Authorization")
			if resp.StatusCode != http.StatusNoContent || allowed != tt.wantAllowed {
				t.Errorf("preflight: %d %v", resp.StatusCode, resp.Header)
			}

			req := api.newRequest(t, http.MethodPost, "/query", "", strings.NewReader(`{"query":"{ model { version } }"}`))
			req.Header.Set("Origin", tt.origin)
			answer := api.send(t, req)
			if got := answer.Header.Get("Access-Control-Allow-Origin") == tt.origin; got != tt.wantAllowed {
				t.Errorf("POST from %s: Access-Control-Allow-Origin %q", tt.origin, answer.Header.Get("Access-Control-Allow-Origin"))
			}
		})
	}
}
