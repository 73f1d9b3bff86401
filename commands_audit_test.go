package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mlapi/mlapi/internal/store/storetest"
)

// auditVerify runs mlapi audit verify beside api, as its operator would,
// and returns what it printed and its error.
func (a *testAPI) auditVerify(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(context.Background(), append([]string{"audit", "verify"}, args...), a.env, nil, &out, io.Discard)
	return out.String(), err
}

// heads returns the head lines verify printed, as --expect takes them.
func heads(out string) []string {
	var hs []string
	for line := range strings.Lines(out) {
		if h, ok := strings.CutPrefix(strings.TrimSpace(line), "head "); ok {
			hs = append(hs, h)
		}
	}
	return hs
}

// TestAuditCommand: mlapi audit verify passes the log the server wrote,
// names the row changed behind its back and fails, and with --expect sees a
// chain cut back to an earlier state that verifies on its own.
func TestAuditCommand(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		api := newTestAPI(t, dialect)
		_, ada := api.user(t, "ada")
		for range 4 {
			api.predict(t, ada)
		}
		out, err := api.auditVerify(t)
		if err != nil || !strings.Contains(out, "audit log OK: 1 chains, 4 entries verified") {
			t.Fatalf("verify printed %q (%v), want OK with 4 entries", out, err)
		}
		published := heads(out)
		if len(published) != 1 || !strings.HasPrefix(published[0], "1:4:") {
			t.Fatalf("heads %q, want chain 1 at 4", published)
		}

		// The last prediction deleted, and the chain's head set back to
		// the one before: nothing in the database contradicts it.
		last := api.queryInt(t, "SELECT max(id) FROM requests")
		if _, err := api.tables.Exec(fmt.Sprintf("DELETE FROM requests WHERE id = %d", last)); err != nil {
			t.Fatal(err)
		}
		if _, err := api.tables.Exec(`UPDATE audit_chains SET head_seq = 3,
			head_hash = (SELECT audit_hash FROM requests WHERE audit_chain = 1 AND audit_seq = 3)`); err != nil {
			t.Fatal(err)
		}
		if out, err := api.auditVerify(t); err != nil || !strings.Contains(out, "3 entries verified") {
			t.Fatalf("a chain cut back and its head rewritten: %q (%v), want it to verify on its own", out, err)
		}
		out, err = api.auditVerify(t, "--expect", published[0])
		if err == nil || !strings.Contains(out, "problem: deleted (chain 1, seq 4): the chain was cut back") {
			t.Fatalf("with the head published before: %q (%v), want the cut named", out, err)
		}

		if _, err := api.tables.Exec("UPDATE responses SET yhat_prob = 0.99 WHERE id = (SELECT min(id) FROM responses)"); err != nil {
			t.Fatal(err)
		}
		out, err = api.auditVerify(t)
		first := api.queryInt(t, "SELECT min(id) FROM requests")
		want := fmt.Sprintf("problem: changed (chain 1, seq 1, request %d): its request or response is not what was logged", first)
		if err == nil || !strings.Contains(out, "audit log NOT OK") || !strings.Contains(out, want) {
			t.Fatalf("verify printed %q (%v), want %q and an error", out, err, want)
		}
	})
}

// TestAuditCommandRefuses: what mlapi audit refuses, before it opens the
// database.
func TestAuditCommandRefuses(t *testing.T) {
	t.Parallel()
	wantRefusals(t, "audit", []refusal{
		{args: nil, want: "usage: mlapi audit verify"},
		{args: []string{"-h"}, wantHelp: true, want: "usage: mlapi audit verify"},
		{args: []string{"check"}, want: "usage: mlapi audit verify"},
		{args: []string{"verify", "-h"}, wantHelp: true, want: "--expect"},
		{args: []string{"verify", "--expect", "1:2"}, want: "want CHAIN:SEQ:HASH"},
		{args: []string{"verify", "--expect", "1:2:abc"}, want: "want CHAIN:SEQ:HASH"},
		{args: []string{"verify", "now"}, want: "unexpected arguments: now"},
		// PostgreSQL has no secret beside it to derive the key from.
		{args: []string{"verify", "--database-url", "postgres://127.0.0.1:1/none"}, want: "JWT_SECRET"},
	})
}

const auditLogQuery = `{ auditLog { ok keyId chains rows prunedRows heads { chain seq hash }
	problems { kind chain seq requestId message } moreProblems } }`

// auditAnswer is auditLog's answer.
type auditAnswer struct {
	OK       bool
	KeyID    string
	Chains   int
	Rows     int
	Heads    []struct{ Chain, Seq int }
	Problems []struct {
		Kind       string
		Chain, Seq *int
		RequestID  *string
		Message    string
	}
}

// TestAuditLogQuery: administrators verify the log over the API, which
// names a changed request by the id its owner knows it by; users are
// refused.
func TestAuditLogQuery(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		api := newTestAPI(t, dialect)
		_, root := api.createAdmin(t, "root", userPassword)
		_, ada := api.user(t, "ada")
		var answers []predictionAnswer
		for range 3 {
			answers = append(answers, api.predict(t, ada))
		}
		if got := api.post(t, ada, auditLogQuery).code(); got != "FORBIDDEN" {
			t.Fatalf("a user asking for auditLog: %q, want FORBIDDEN", got)
		}
		// Each verification reads the whole log: one a document.
		if got := api.post(t, root, `{ a: auditLog { ok } b: auditLog { ok } }`).code(); got != "GRAPHQL_VALIDATION_FAILED" {
			t.Fatalf("auditLog twice in a document: %q, want GRAPHQL_VALIDATION_FAILED", got)
		}

		var report auditAnswer
		api.post(t, root, auditLogQuery).field(t, "auditLog", &report)
		if !report.OK || report.Chains != 1 || report.Rows != 3 || len(report.Problems) != 0 || len(report.Heads) != 1 || report.Heads[0].Seq != 3 {
			t.Fatalf("auditLog %+v, want OK with 3 rows in one chain", report)
		}

		if _, err := api.tables.Exec(`UPDATE requests SET input = '{"age": 1}' WHERE id = (SELECT min(id) FROM requests)`); err != nil {
			t.Fatal(err)
		}
		report = auditAnswer{}
		api.post(t, root, auditLogQuery).field(t, "auditLog", &report)
		if report.OK || len(report.Problems) != 1 {
			t.Fatalf("auditLog %+v, want one problem", report)
		}
		p := report.Problems[0]
		if p.Kind != "CHANGED" || p.Chain == nil || *p.Chain != 1 || p.Seq == nil || *p.Seq != 1 ||
			p.RequestID == nil || *p.RequestID != answers[0].RequestID {
			t.Fatalf("problem %+v, want CHANGED at chain 1, seq 1, request %s", p, answers[0].RequestID)
		}
	})
}

// TestAuditHeadLoggedAtShutdown: a server logs its chain's head as it
// closes, in the form --expect takes, and the log verifies through it.
func TestAuditHeadLoggedAtShutdown(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		cfg := defaultConfig(t)
		cfg.DatabaseURL, cfg.JWTSecret = storetest.URL(t, dialect), randomSecret(t)
		logs := &syncBuffer{}
		a, err := newApp(t.Context(), cfg, slog.New(slog.NewJSONHandler(logs, nil)))
		if err != nil {
			t.Fatal(err)
		}
		server := httptest.NewServer(a.handler)
		api := endpoint{base: server.URL, client: server.Client()}
		_, ada := api.user(t, "ada")
		api.predict(t, ada)
		api.predict(t, ada)
		server.Close()
		if err := a.close(); err != nil {
			t.Fatal(err)
		}

		var head string
		for line := range strings.Lines(logs.String()) {
			var entry struct{ Msg, Expect string }
			if err := json.Unmarshal([]byte(line), &entry); err == nil && entry.Msg == "audit chain head" {
				head = entry.Expect
			}
		}
		if !strings.HasPrefix(head, "1:2:") {
			t.Fatalf("logged head %q, want chain 1 at 2", head)
		}
		env := func(k string) string {
			return map[string]string{"DATABASE_URL": cfg.DatabaseURL, "JWT_SECRET": cfg.JWTSecret}[k]
		}
		var out bytes.Buffer
		if err := run(t.Context(), []string{"audit", "verify", "--expect", head}, env, nil, &out, io.Discard); err != nil {
			t.Fatalf("verify --expect %s: %v\n%s", head, err, out.String())
		}
	})
}
