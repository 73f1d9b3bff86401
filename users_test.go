package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/client"

	"github.com/mlapi/mlapi/internal/store"
	"github.com/mlapi/mlapi/internal/store/storetest"
)

// Users: the administrators' list of accounts, paged and searched.

const usersQuery = `query($first: Int, $after: String, $search: String) {
  users(first: $first, after: $after, search: $search) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id username email role enabled } } } }`

// usersAnswer is usersQuery's answer.
type usersAnswer struct {
	TotalCount int
	PageInfo   pageInfoAnswer
	Edges      []struct {
		Cursor string
		Node   struct{ ID, Username, Email, Role string }
	}
}

// listUsers pages through every user that matches search, first at a time,
// with token, checking each page's pageInfo; it returns the users' names.
func (a *testAPI) listUsers(t *testing.T, token, search string, first int) []string {
	t.Helper()
	var names []string
	var after any // null on the first page
	for pages := 0; pages < 100; pages++ {
		resp := a.post(t, token, usersQuery, client.Var("first", first), client.Var("after", after), client.Var("search", search))
		if len(resp.Errors) > 0 {
			t.Fatalf("users(search: %q): %s", search, resp.Raw)
		}
		var page usersAnswer
		resp.field(t, "users", &page)
		info := page.PageInfo
		if n := len(page.Edges); n > 0 && (info.StartCursor == nil || *info.StartCursor != page.Edges[0].Cursor ||
			info.EndCursor == nil || *info.EndCursor != page.Edges[n-1].Cursor) || n == 0 && info.StartCursor != nil {
			t.Errorf("page %d of %q: pageInfo does not match the edges: %s", pages, search, resp.Raw)
		}
		if info.HasPreviousPage != (pages > 0) {
			t.Errorf("page %d of %q: hasPreviousPage %v", pages, search, info.HasPreviousPage)
		}
		for _, e := range page.Edges {
			names = append(names, e.Node.Username)
		}
		if !info.HasNextPage {
			if page.TotalCount != len(names) {
				t.Errorf("search %q: totalCount %d, %d users listed", search, page.TotalCount, len(names))
			}
			return names
		}
		after = *info.EndCursor
	}
	t.Fatalf("users(search: %q) does not end", search)
	return nil
}

func TestUsers(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		api := newTestAPI(t, dialect)
		_, admin := api.createAdmin(t, "root", userPassword)
		carolID, _ := api.user(t, "carol")
		api.user(t, "Bob")
		api.user(t, "a_lice")

		everyone := []string{"a_lice", "Bob", "carol", "root"}
		tests := []struct {
			name, search string
			want         []string
		}{
			{"everyone", "", everyone},
			{"by username, ignoring case", "CAR", []string{"carol"}},
			{"by email", "root@example", []string{"root"}},
			{"underscore taken literally", "a_l", []string{"a_lice"}},
			{"no one", "nobody", nil},
		}
		for _, tt := range tests {
			for _, first := range []int{1, 2, 100} {
				if got := api.listUsers(t, admin, tt.search, first); !slices.Equal(got, tt.want) {
					t.Errorf("%s by %d: %q, want %q", tt.name, first, got, tt.want)
				}
			}
		}

		// Without arguments: the first page of the default size, each user
		// as the rest of the API names them.
		resp := api.post(t, admin, usersQuery)
		var page usersAnswer
		resp.field(t, "users", &page)
		ids := map[string]string{}
		for _, e := range page.Edges {
			ids[e.Node.Username] = e.Node.ID
		}
		if page.TotalCount != len(everyone) || len(page.Edges) != len(everyone) || page.PageInfo.HasNextPage ||
			ids["carol"] != carolID || page.Edges[3].Node.Role != "ADMIN" ||
			page.Edges[2].Node.Email != "carol@example.com" {
			t.Errorf("the default page: %s", resp.Raw)
		}
	})
}

func TestUsersRefusals(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		api := newTestAPI(t, dialect)
		_, admin := api.createAdmin(t, "root", userPassword)
		_, token := api.user(t, "eve")
		tests := []struct {
			name, token string
			vars        map[string]any
			code        string
		}{
			{"an ordinary user", token, nil, "FORBIDDEN"},
			{"an ordinary user with bad arguments", token, map[string]any{"first": 0}, "FORBIDDEN"},
			{"no token", "", nil, "UNAUTHENTICATED"},
			{"first 0", admin, map[string]any{"first": 0}, "BAD_USER_INPUT"},
			{"first 101", admin, map[string]any{"first": 101}, "BAD_USER_INPUT"},
			{"not a cursor", admin, map[string]any{"after": "not-a-cursor"}, "BAD_USER_INPUT"},
			{"an overlong search", admin, map[string]any{"search": strings.Repeat("a", 257)}, "BAD_USER_INPUT"},
		}
		for _, tt := range tests {
			resp := api.post(t, tt.token, usersQuery, vars(tt.vars))
			if resp.code() != tt.code || string(resp.Data["users"]) != "" && string(resp.Data["users"]) != "null" {
				t.Errorf("%s: %s, want %s", tt.name, resp.Raw, tt.code)
			}
		}
	})
}

// TestUsersComplexity: a page of users costs its size times its selection,
// as a page of the history does, so aliased pages of 100 are refused.
func TestUsersComplexity(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, store.SQLite)
	_, admin := api.createAdmin(t, "root", userPassword)
	// Each alias costs 1 + size × 10: 1,001 at 100.
	page := `users(first: %d) { edges { cursor node { id username email role enabled createdAt updatedAt } } }`
	aliased := func(size int) string {
		p := fmt.Sprintf(page, size)
		return "{ a: " + p + " b: " + p + " c: " + p + " }"
	}
	if got := api.post(t, admin, aliased(100)).code(); got != "COMPLEXITY_LIMIT_EXCEEDED" {
		t.Errorf("three pages of 100: %q, want COMPLEXITY_LIMIT_EXCEEDED", got)
	}
	if resp := api.post(t, admin, aliased(20)); len(resp.Errors) > 0 {
		t.Errorf("three pages of 20: %s", resp.Raw)
	}
}
