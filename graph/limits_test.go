package graph

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/transport"

	"github.com/mlapi/mlapi/internal/paging"
)

// limitedServer runs the schema with no resolvers behind it: any operation a
// limit lets through panics, so a refusal proves the limit ran first.
func limitedServer(t *testing.T, limit graphql.HandlerExtension) *handler.Server {
	t.Helper()
	srv := handler.New(NewExecutableSchema(Config{}))
	srv.AddTransport(transport.POST{})
	srv.Use(extension.Introspection{})
	srv.Use(limit)
	return srv
}

func send(t *testing.T, h http.Handler, query string) (int, string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"query": query})
	req := httptest.NewRequest(http.MethodPost, "/query", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

func TestDepthLimit(t *testing.T) {
	t.Parallel()
	srv := limitedServer(t, depthLimit{max: 3})
	tests := []struct {
		name    string
		query   string
		refused bool
	}{
		{name: "four levels", query: `{ me { requests { edges { cursor } } } }`, refused: true},
		{name: "four levels through a fragment", query: `query { me { ...R } } fragment R on Viewer { requests { edges { cursor } } }`, refused: true},
		{name: "four levels through an inline fragment", query: `{ me { ... on Viewer { requests { edges { cursor } } } } }`, refused: true},
		{name: "introspection is exempt", query: `{ __schema { types { fields { type { ofType { ofType { name } } } } } } }`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, body := send(t, srv, tt.query)
			refused := strings.Contains(body, "levels deep")
			if refused != tt.refused {
				t.Errorf("refused=%v, want %v: %s", refused, tt.refused, body)
			}
		})
	}
}

func TestOncePerOperation(t *testing.T) {
	t.Parallel()
	srv := limitedServer(t, oncePerOperation{fields: []string{"token", "registerUser"}})
	tests := []struct {
		name  string
		query string
	}{
		{name: "aliases", query: `mutation { a: token(input: {username: "u", password: "p"}) { token } b: token(input: {username: "u", password: "q"}) { token } }`},
		{name: "fragments", query: `mutation { ...T ...U } fragment T on Mutation { token(input: {username: "u", password: "p"}) { token } } fragment U on Mutation { again: token(input: {username: "u", password: "q"}) { token } }`},
		{name: "registrations", query: `mutation { a: registerUser(input: {username: "a", password: "pppppppp", email: "a@b.c"}) { user { id } } b: registerUser(input: {username: "b", password: "pppppppp", email: "a@b.c"}) { user { id } } }`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, body := send(t, srv, tt.query)
			if !strings.Contains(body, "at most once per operation") {
				t.Errorf("not refused: %s", body)
			}
		})
	}
}

func TestPageComplexity(t *testing.T) {
	t.Parallel()
	first := 100
	if got := pageComplexity(10, &first); got != 1001 {
		t.Errorf("pageComplexity(10, 100) = %d, want 1001", got)
	}
	if got := pageComplexity(10, nil); got != 201 {
		t.Errorf("pageComplexity(10, default 20) = %d, want 201", got)
	}
}

// The schema's descriptions of the paged lists cannot name the Go
// constants the resolvers and the complexity fall back on when first is
// null, nor the maximum; this keeps them one value.
func TestDefaultPageSizeInSchema(t *testing.T) {
	t.Parallel()
	schema := NewExecutableSchema(Config{}).Schema()
	// The schema states the default page in words (requests' first has no
	// default, so that last can be given alone): the words must name the
	// constants.
	for _, tt := range []struct{ typ, field, want string }{
		{"Viewer", "requests", "with neither first nor last, the first " + strconv.Itoa(paging.DefaultSize)},
		{"Query", "users", "first (1 to " + strconv.Itoa(paging.MaxSize) + ", default " + strconv.Itoa(paging.DefaultSize) + ")"},
	} {
		field := schema.Types[tt.typ].Fields.ForName(tt.field)
		if description := strings.Join(strings.Fields(field.Description), " "); !strings.Contains(description, tt.want) {
			t.Errorf("%s.%s's description does not say %q: %q", tt.typ, tt.field, tt.want, description)
		}
	}
	field := schema.Types["Viewer"].Fields.ForName("requests")
	if arg := field.Arguments.ForName("first"); arg == nil || arg.DefaultValue != nil {
		t.Errorf("Viewer.requests(first:) has a default, which would refuse last alone")
	}
}
