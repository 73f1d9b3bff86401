package gqlhttp

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func apqBody(query, hash string) string {
	body := map[string]any{"extensions": map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hash}}}
	if query != "" {
		body["query"] = query
	}
	b, _ := json.Marshal(body)
	return string(b)
}

// TestAutomaticPersistedQueries follows Apollo's link: the hash alone, a
// miss, the document with its hash, then the hash alone again, over POST
// and GET.
func TestAutomaticPersistedQueries(t *testing.T) {
	t.Parallel()
	const query = "{ name }"
	hash := documentHash(query)
	getExtension := `{"persistedQuery":{"version":1,"sha256Hash":"` + hash + `"}}`
	h := newTestServer(t, PersistedOptions{Automatic: true, CacheBytes: 1 << 20})
	steps := []struct {
		name     string
		req      *http.Request
		wantCode string
	}{
		{name: "hash alone, unknown", req: post("application/json", "", apqBody("", hash)), wantCode: CodePersistedQueryNotFound},
		{name: "hash alone over GET, unknown", req: get("", map[string]string{"extensions": getExtension}), wantCode: CodePersistedQueryNotFound},
		{name: "document with the wrong hash", req: post("application/json", "", apqBody(query, documentHash("{ other }"))), wantCode: CodeBadRequest},
		{name: "document with its hash", req: post("application/json", "", apqBody(query, hash))},
		{name: "hash alone, known", req: post("application/json", "", apqBody("", hash))},
		{name: "hash alone over GET, known", req: get(graphQLOnly, map[string]string{"extensions": getExtension})},
		{name: "documentId", req: post("application/json", "", `{"documentId":"sha256:`+hash+`"}`)},
		{name: "documentId over GET", req: get("", map[string]string{"documentId": "sha256:" + hash})},
		{name: "another version", req: post("application/json", "", `{"extensions":{"persistedQuery":{"version":2,"sha256Hash":"`+hash+`"}}}`), wantCode: CodeBadRequest},
	}
	for _, step := range steps { // in order: each step sees the cache the last left
		a := do(t, h, step.req)
		if got := a.code(); got != step.wantCode {
			t.Fatalf("%s: code %q, want %q: %s", step.name, got, step.wantCode, a.raw)
		}
		if step.wantCode == "" && string(a.body["data"]) != `{"name":"test"}` {
			t.Fatalf("%s: %s", step.name, a.raw)
		}
	}

	off := newTestServer(t, PersistedOptions{})
	if a := do(t, off, post("application/json", "", apqBody("", hash))); a.code() != CodePersistedQueryNotSupported {
		t.Errorf("automatic persisted queries off: %s", a.raw)
	}
}

func TestTrustedDocuments(t *testing.T) {
	t.Parallel()
	const trusted = "query Trusted { name }"
	hash := documentHash(trusted)
	// Keys as graphql-codegen writes them, with the algorithm's prefix.
	h := newTestServer(t, PersistedOptions{Automatic: true, CacheBytes: 1 << 20, Trusted: map[string]string{"sha256:" + hash: trusted}})
	tests := []struct {
		name     string
		body     string
		wantCode string
	}{
		{name: "by hash", body: apqBody("", hash)},
		{name: "by documentId", body: `{"documentId":"sha256:` + hash + `"}`},
		{name: "the trusted document's text", body: `{"query":"query Trusted { name }"}`},
		{name: "the trusted document with its hash", body: apqBody(trusted, hash)},
		{name: "an unknown hash", body: apqBody("", documentHash("{ name }")), wantCode: CodePersistedQueryNotFound},
		{name: "any other document", body: `{"query":"{ name }"}`, wantCode: CodeTrustedDocumentRequired},
		{name: "registering a document is not possible", body: apqBody("{ name }", documentHash("{ name }")), wantCode: CodePersistedQueryNotFound},
		{name: "another text under a trusted hash", body: apqBody("{ name }", hash), wantCode: CodeTrustedDocumentRequired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := do(t, h, post("application/json", graphQLOnly, tt.body))
			if got := a.code(); got != tt.wantCode {
				t.Fatalf("code %q, want %q: %s", got, tt.wantCode, a.raw)
			}
			if tt.wantCode != "" && a.status != http.StatusBadRequest {
				t.Errorf("refused with %d, want 400", a.status)
			}
		})
	}
}

func TestNewPersistedRefusesInvalidTrustedDocuments(t *testing.T) {
	t.Parallel()
	_, err := NewPersisted(PersistedOptions{Trusted: map[string]string{"abc": "{ nope }"}}, testSchema)
	if err == nil || !strings.Contains(err.Error(), "trusted document abc") {
		t.Fatalf("err %v, want the invalid document named", err)
	}
}

func TestLoadManifest(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	tests := []struct {
		name, path, wantErr string
		want                int
	}{
		{name: "graphql-codegen's manifest", path: write("ok.json", `{"a1": "query A { name }", "b2": "query B { name }"}`), want: 2},
		{name: "missing", path: filepath.Join(dir, "missing.json"), wantErr: "read trusted documents"},
		{name: "not a map", path: write("list.json", `["query A { name }"]`), wantErr: "want a JSON object"},
		{name: "empty", path: write("empty.json", `{}`), wantErr: "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			docs, err := LoadManifest(tt.path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || len(docs) != tt.want {
				t.Fatalf("%d documents, %v; want %d", len(docs), err, tt.want)
			}
		})
	}
}
