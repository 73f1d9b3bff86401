package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRealClients runs the real npm GraphQL clients in clients/ against the
// built binary, each on its default settings: graphql-http's GraphQL-over-HTTP
// audit, Apollo Client 3 (auth link, automatic persisted queries, normalized
// cache with Relay pagination, @defer), urql, graphql-request, and GraphQL Code
// Generator's client preset type-checked by tsc. It needs Node.js 20+ and npm:
// without them it is skipped, except under CI=true, where it fails.
func TestRealClients(t *testing.T) {
	if testing.Short() {
		t.Skip("real clients: skipped with -short")
	}
	requireNode(t)
	t.Parallel()
	npmCI(t)
	server := start(t, t.TempDir())
	t.Logf("server at %s", server.base)

	tests := []struct {
		name  string
		cmds  [][]string
		check func(t *testing.T) // after the commands succeeded
	}{
		{name: "graphql-http audit", cmds: [][]string{{"node", "audit.mjs"}}},
		{name: "apollo", cmds: [][]string{{"node", "apollo.mjs"}}},
		{name: "urql", cmds: [][]string{{"node", "urql.mjs"}}},
		{name: "graphql-request", cmds: [][]string{{"node", "graphql-request.mjs"}}},
		{
			name:  "codegen and tsc",
			cmds:  [][]string{{"npm", "run", "--silent", "codegen"}, {"npm", "run", "--silent", "typecheck"}},
			check: checkPersistedDocuments,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, args := range tt.cmds {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				cmd := exec.CommandContext(ctx, args[0], args[1:]...)
				cmd.Dir = "clients"
				cmd.Env = append(os.Environ(), "MLAPI_URL="+server.base)
				cmd.WaitDelay = 5 * time.Second
				out, err := cmd.CombinedOutput()
				if ctx.Err() != nil {
					t.Fatalf("%s: timed out after 2 minutes\n%s", strings.Join(args, " "), out)
				}
				if err != nil {
					t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
				}
				t.Logf("%s:\n%s", strings.Join(args, " "), out)
			}
			if tt.check != nil {
				tt.check(t)
			}
		})
	}
}

// requireNode skips the test without Node.js 20+ and npm, or fails it under CI.
func requireNode(t *testing.T) {
	t.Helper()
	missing := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatalf(format+" (CI must install Node.js 20+ and npm)", args...)
		}
		t.Skipf(format+": install Node.js 20+ and npm to run the real clients", args...)
	}
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing("%s not found", tool)
		}
	}
	out, err := exec.Command("node", "-p", "process.versions.node").Output()
	if err != nil {
		missing("node -p process.versions.node: %v", err)
	}
	version := strings.TrimSpace(string(out))
	major, _ := strconv.Atoi(strings.SplitN(version, ".", 2)[0])
	if major < 20 {
		missing("node %s is too old", version)
	}
}

// npmCI installs clients/node_modules from package-lock.json, unless the last
// install was of the same package.json and lock file with the same Node.js.
func npmCI(t *testing.T) {
	t.Helper()
	h := sha256.New()
	for _, name := range []string{"package.json", "package-lock.json"} {
		b, err := os.ReadFile(filepath.Join("clients", name))
		if err != nil {
			t.Fatal(err)
		}
		h.Write(b)
	}
	nodeVersion, _ := exec.Command("node", "--version").Output()
	h.Write(nodeVersion)
	want := hex.EncodeToString(h.Sum(nil))
	stamp := filepath.Join("clients", "node_modules", ".mlapi-npm-ci")
	if got, err := os.ReadFile(stamp); err == nil && string(got) == want {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
	cmd.Dir = "clients"
	cmd.WaitDelay = 5 * time.Second
	began := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in clients/: %v\n%s", err, out)
	}
	t.Logf("npm ci: %s", time.Since(began).Round(100*time.Millisecond))
	if err := os.WriteFile(stamp, []byte(want), 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkPersistedDocuments reads the manifest the client preset wrote: every
// key is "sha256:" and the hex SHA-256 of its document, one per operation.
func checkPersistedDocuments(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("clients", "gql", "persisted-documents.json"))
	if err != nil {
		t.Fatal(err)
	}
	var manifest map[string]string
	if err := json.Unmarshal(b, &manifest); err != nil {
		t.Fatalf("persisted-documents.json: %v\n%s", err, b)
	}
	operations := map[string]bool{}
	key := regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
	for hash, document := range manifest {
		sum := sha256.Sum256([]byte(document))
		if !key.MatchString(hash) || hash != "sha256:"+hex.EncodeToString(sum[:]) {
			t.Errorf("manifest key %q is not the sha256 of %q", hash, document)
		}
		if m := regexp.MustCompile(`^(query|mutation) (\w+)`).FindStringSubmatch(document); m != nil {
			operations[m[2]] = true
		}
	}
	for _, name := range []string{"Register", "Token", "Predict", "History"} {
		if !operations[name] {
			t.Errorf("manifest: no %s operation in %s", name, b)
		}
	}
	if len(manifest) != len(operations) {
		t.Errorf("manifest: %d documents for %d operations", len(manifest), len(operations))
	}
	checkTrustedDocuments(t, manifest)
}

// checkTrustedDocuments serves the manifest as TRUSTED_DOCUMENTS: its
// documents run by documentId, any other document is refused.
func checkTrustedDocuments(t *testing.T, manifest map[string]string) {
	path, err := filepath.Abs(filepath.Join("clients", "gql", "persisted-documents.json"))
	if err != nil {
		t.Fatal(err)
	}
	server := start(t, t.TempDir(), "TRUSTED_DOCUMENTS="+path)
	send := func(body map[string]any) gqlResponse {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, server.base+"/query", strings.NewReader(mustJSON(body)))
		req.Header.Set("Content-Type", "application/json")
		return doGraphQL(t, http.DefaultClient, req)
	}
	for hash, document := range manifest {
		if !strings.HasPrefix(document, "query History") {
			continue
		}
		// Run without a token: me is null with UNAUTHENTICATED, which only
		// an operation that ran can answer.
		resp := send(map[string]any{"documentId": hash, "variables": map[string]any{"first": 2}})
		if resp.code() != "UNAUTHENTICATED" || string(resp.Data["me"]) != "null" {
			t.Errorf("trusted History by documentId: %s", resp.Raw)
		}
	}
	if resp := send(map[string]any{"query": "{ model { version } }"}); resp.code() != "TRUSTED_DOCUMENT_REQUIRED" {
		t.Errorf("an untrusted document: %s", resp.Raw)
	}
}
