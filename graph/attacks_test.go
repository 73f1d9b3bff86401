package graph

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mlapi/mlapi/internal/account"
	"github.com/mlapi/mlapi/internal/auth"
	"github.com/mlapi/mlapi/internal/gqlhttp"
	"github.com/mlapi/mlapi/internal/model"
	"github.com/mlapi/mlapi/internal/prediction"
	"github.com/mlapi/mlapi/internal/serving"
	"github.com/mlapi/mlapi/internal/store/storetest"
)

// newTestHandler wires the handler as the server does: the served model, a
// fresh SQLite database, real accounts and predictions, and limits.
func newTestHandler(t testing.TB, limits Limits) http.Handler {
	t.Helper()
	h, _ := newTestServer(t, limits)
	return h
}

// newTestResolver wires the resolver as the server does: the served model,
// a fresh SQLite database, real accounts and predictions.
func newTestResolver(t testing.TB) *Resolver {
	t.Helper()
	m, err := model.LoadDir("../model")
	if err != nil {
		t.Fatal(err)
	}
	db := storetest.Open(t)[0].DB
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	tokens, err := auth.NewTokens(auth.TokenConfig{Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	passwords, err := auth.NewPasswords(auth.PasswordConfig{MaxConcurrent: 1})
	if err != nil {
		t.Fatal(err)
	}
	attempts, err := auth.NewAttemptLimiter(auth.AttemptLimiterConfig{})
	if err != nil {
		t.Fatal(err)
	}
	accounts := account.NewService(db, passwords, tokens, attempts)
	models, err := serving.New(t.Context(), m, serving.Options[*BoundModel]{
		Dir:  "../model",
		Load: model.LoadDir,
		Bind: func(m *model.Model) (*BoundModel, error) {
			return BindModel(m.Info(), prediction.NewService(m, db), nil)
		},
		Log:    db,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	return NewResolver(accounts, models)
}

// newTestServer is newTestHandler, with the parsed documents' cache.
func newTestServer(t testing.TB, limits Limits) (http.Handler, *documents) {
	t.Helper()
	h, docs, err := newServer(newTestResolver(t), Options{
		Introspection: true,
		Limits:        limits,
		Persisted:     gqlhttp.PersistedOptions{Automatic: true, CacheBytes: 1 << 20},
		Logger:        slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	return h, docs
}

// answer is a decoded GraphQL answer.
type answer struct {
	status int
	size   int
	Data   json.RawMessage `json:"data"`
	Errors []struct {
		Message    string         `json:"message"`
		Extensions map[string]any `json:"extensions"`
	} `json:"errors"`
}

func (a answer) codes() []string {
	codes := make([]string, len(a.Errors))
	for i, e := range a.Errors {
		codes[i], _ = e.Extensions["code"].(string)
	}
	return codes
}

// post sends query as the JSON body of a POST and decodes the answer.
func post(t testing.TB, h http.Handler, query string) answer {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"query": query})
	req := httptest.NewRequest(http.MethodPost, "/query", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	a := answer{status: rec.Code, size: rec.Body.Len()}
	if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
		t.Fatalf("the answer is not JSON: %v: %.300s", err, rec.Body.String())
	}
	return a
}

// conflictDocument is issue 7's first document: pairs of fields of one
// response name that cannot be merged, one validation error per pair.
func conflictDocument(pairs int) string {
	var b strings.Builder
	b.WriteString("{ ")
	for range pairs {
		b.WriteString("a:__typename a:model{version} ")
	}
	b.WriteString("}")
	return b.String()
}

// spreadConflictDocument has as many conflicting pairs, spread over names
// so that no name is selected more than perName times in one set.
func spreadConflictDocument(names, perName int) string {
	var b strings.Builder
	b.WriteString("{ ")
	for n := range names {
		for range perName / 2 {
			fmt.Fprintf(&b, "a%d:__typename a%d:model{version} ", n, n)
		}
	}
	b.WriteString("}")
	return b.String()
}

// fragmentBomb is issue 7's third document: each fragment spreads the next
// one twice, so the document's fields double with every level.
func fragmentBomb(levels int, root, typ, leaf string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "query { %s { ...F0 } }\n", root)
	for i := range levels - 1 {
		fmt.Fprintf(&b, "fragment F%d on %s { ...F%d ...F%d }\n", i, typ, i+1, i+1)
	}
	fmt.Fprintf(&b, "fragment F%d on %s { %s }\n", levels-1, typ, leaf)
	return b.String()
}

// rootFragmentBomb doubles the root fields of a mutation, for the
// once-per-operation and introspection walks.
func rootFragmentBomb(levels int) string {
	var b strings.Builder
	b.WriteString("mutation { ...F0 }\n")
	for i := range levels - 1 {
		fmt.Fprintf(&b, "fragment F%d on Mutation { ...F%d ...F%d }\n", i, i+1, i+1)
	}
	fmt.Fprintf(&b, "fragment F%d on Mutation { __typename }\n", levels-1)
	return b.String()
}

// cacheDocument is a distinct valid document of about size bytes, dense in
// fields (aliases long enough to fill size), within every limit.
func cacheDocument(i, fields, size int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "query Q%d { ", i)
	alias := max(size/fields-len(": __typename  ")-6, 1)
	for j := range fields {
		fmt.Fprintf(&b, "a%d_%s: __typename ", j, strings.Repeat("x", alias))
	}
	b.WriteString("}")
	return b.String()
}

// fragmentConflictDocument spreads n fragments into one selection set,
// each with 20 fields of one response name, 10 of them conflicting with
// the other 10: field merging validation compares every pair across the
// fragments (45 fragments: 200,000 pairs, 52 MB and 330 ms, before
// MaxFieldPairs).
func fragmentConflictDocument(n int) string {
	var b strings.Builder
	b.WriteString("{ ")
	for i := range n {
		fmt.Fprintf(&b, "...F%d ", i)
	}
	b.WriteString("}\n")
	for i := range n {
		fmt.Fprintf(&b, "fragment F%d on Query { %s %s }\n", i, strings.Repeat("a:__typename ", 10), strings.Repeat("a:model{version} ", 10))
	}
	return b.String()
}
