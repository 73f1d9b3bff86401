package store_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/mlapi/mlapi/internal/store"
	"github.com/mlapi/mlapi/internal/store/storetest"
)

// listAll pages through the users that match search, size at a time, and
// checks what every page says of itself on the way.
func listAll(t *testing.T, db *store.DB, search string, size int) []store.User {
	t.Helper()
	var all []store.User
	var after *store.UserKey
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatalf("search %q by %d: paging does not end", search, size)
		}
		page, err := db.ListUsers(t.Context(), store.UserQuery{Search: search, Size: size, After: after})
		if err != nil {
			t.Fatalf("search %q by %d: %v", search, size, err)
		}
		if len(page.Users) > size || len(page.Keys) != len(page.Users) {
			t.Fatalf("search %q by %d: %d users, %d keys", search, size, len(page.Users), len(page.Keys))
		}
		for i, u := range page.Users {
			if want := (store.UserKey{Username: strings.ToLower(u.Username), ID: u.ID}); page.Keys[i] != want {
				t.Errorf("search %q by %d: key %+v of %q, want %+v", search, size, page.Keys[i], u.Username, want)
			}
		}
		all = append(all, page.Users...)
		if page.HasPreviousPage != (pages > 0) {
			t.Errorf("search %q by %d, page %d: hasPreviousPage %v", search, size, pages, page.HasPreviousPage)
		}
		if page.TotalCount < len(all) {
			t.Errorf("search %q by %d: totalCount %d, and %d users listed", search, size, page.TotalCount, len(all))
		}
		if !page.HasNextPage {
			if page.TotalCount != len(all) {
				t.Errorf("search %q by %d: totalCount %d, %d users listed", search, size, page.TotalCount, len(all))
			}
			return all
		}
		if len(page.Users) != size {
			t.Fatalf("search %q by %d: a page of %d with a next page", search, size, len(page.Users))
		}
		after = &page.Keys[len(page.Keys)-1]
	}
}

func usernames(users []store.User) []string {
	names := make([]string, len(users))
	for i, u := range users {
		names[i] = u.Username
	}
	return names
}

// TestListUsersPages: users come in username order ignoring case, not in
// the order they were created, and paging through them by any size lists
// every user exactly once.
func TestListUsersPages(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		for _, name := range []string{"carol", "Alice", "ivan", "bob", "Heidi", "Dave", "erin", "grace", "Frank"} {
			createUser(t, db, name)
		}
		want := []string{"Alice", "bob", "carol", "Dave", "erin", "Frank", "grace", "Heidi", "ivan"}
		for _, size := range []int{1, 2, 3, 8, 9, 10, store.MaxPageSize} {
			if got := usernames(listAll(t, db, "", size)); !slices.Equal(got, want) {
				t.Errorf("by %d: %q, want %q", size, got, want)
			}
		}

		ctx := t.Context()
		first, err := db.ListUsers(ctx, store.UserQuery{Size: 2})
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name         string
			after        store.UserKey
			want         []string
			next, before bool
		}{
			{"after the first page", first.Keys[1], []string{"carol", "Dave"}, true, true},
			{"from a name no one has", store.UserKey{Username: "c", ID: 1}, []string{"carol", "Dave"}, true, true},
			{"before everyone", store.UserKey{Username: "", ID: 0}, []string{"Alice", "bob"}, true, false},
			{"after the last", store.UserKey{Username: "ivan", ID: 1 << 40}, nil, false, true},
			{"beyond everyone", store.UserKey{Username: "zzz", ID: 1}, nil, false, true},
		}
		for _, tt := range tests {
			page, err := db.ListUsers(ctx, store.UserQuery{Size: 2, After: &tt.after})
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if got := usernames(page.Users); !slices.Equal(got, tt.want) || page.HasNextPage != tt.next ||
				page.HasPreviousPage != tt.before || page.TotalCount != len(want) {
				t.Errorf("%s: %q next=%v previous=%v total=%d, want %q next=%v previous=%v total=%d", tt.name,
					got, page.HasNextPage, page.HasPreviousPage, page.TotalCount, tt.want, tt.next, tt.before, len(want))
			}
		}
	})
}

// TestListUsersSearch: a search finds users by username or email, ignoring
// case, takes every character literally (LIKE's wildcards and escape
// included), counts what it finds, and pages through it like the rest.
func TestListUsersSearch(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		for _, u := range []struct{ username, email string }{
			{"Ada", "ada@example.com"},
			{"a_b", "first@example.com"},
			{"axb", "second@example.com"},
			{"a%b", "third@example.com"},
			{`back\slash`, "fourth@example.net"},
			{"backslash", "fifth@example.net"},
			{"zed", "Mixed.Case@EXAMPLE.org"},
			{"Grace", "grace@navy.mil"},
		} {
			if _, err := db.CreateUser(t.Context(), store.NewUser{Username: u.username, Email: u.email, PasswordHash: "hash"}); err != nil {
				t.Fatal(err)
			}
		}
		tests := []struct {
			name, search string
			want         []string
		}{
			{"no search", "", []string{"Ada", "a_b", "axb", "a%b", `back\slash`, "backslash", "zed", "Grace"}},
			{"username, other case", "aDA", []string{"Ada"}},
			{"part of a username", "RAC", []string{"Grace"}},
			{"email, other case", "mixed.case@example", []string{"zed"}},
			{"part of an email", "NAVY", []string{"Grace"}},
			{"username or email", "example.com", []string{"Ada", "a_b", "axb", "a%b"}},
			{"in every field but one", "EXAMPLE", []string{"Ada", "a_b", "axb", "a%b", `back\slash`, "backslash", "zed"}},
			{"underscore is literal", "a_b", []string{"a_b"}},
			{"lone underscore", "_", []string{"a_b"}},
			{"percent is literal", "a%b", []string{"a%b"}},
			{"lone percent", "%", []string{"a%b"}},
			{"backslash is literal", `k\s`, []string{`back\slash`}},
			{"lone backslash", `\`, []string{`back\slash`}},
			{"escaped-looking text", `\_`, nil},
			{"no match", "nobody", nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				want := slices.Sorted(slices.Values(tt.want))
				for _, size := range []int{2, store.MaxPageSize} {
					got := usernames(listAll(t, db, tt.search, size))
					// Sorted here: the order is TestListUsersPages'.
					if slices.Sort(got); !slices.Equal(got, want) {
						t.Errorf("search %q by %d: %q, want %q", tt.search, size, got, want)
					}
				}
			})
		}
	})
}

// TestListUsersPlan: on PostgreSQL a page of users, from the start or from
// a cursor, and the look before the cursor, are read in the order of the
// unique index on lower(username), never by sorting every user. Sequential
// scans are turned off so that a handful of rows shows the plan a large
// table gets. Under a search the planner weighs how many users it expects
// to match, and may rightly sort a few matches instead: that is not checked.
func TestListUsersPlan(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		if db.Dialect() != store.Postgres {
			t.Skip("the plans checked are PostgreSQL's")
		}
		for _, name := range []string{"ada", "bob", "carol"} {
			createUser(t, db, name)
		}
		log := &queryLog{}
		// WithQueryHook would hook a copy; the store reads through its own pool.
		store.Reader(db).AddQueryHook(log) //lint:ignore SA1019 the hook must see the statements the store runs
		after := &store.UserKey{Username: "ada", ID: 1}
		for _, q := range []store.UserQuery{{Size: 20}, {Size: 20, After: after}} {
			if _, err := db.ListUsers(t.Context(), q); err != nil {
				t.Fatal(err)
			}
			for _, query := range log.take() {
				if strings.Contains(query, "count(") {
					continue
				}
				var plan []struct{ Plan planNode }
				raw := explain(t, store.Writer(db).DB, []string{"SET LOCAL enable_seqscan = off"}, query)
				if err := json.Unmarshal([]byte(raw), &plan); err != nil {
					t.Fatal(err)
				}
				nodes := plan[0].Plan.walk(nil)
				t.Logf("%s\n\t%s", strings.Join(nodes, ", "), query)
				if !slices.Contains(nodes, "Index Scan using users_username_lower_key") {
					t.Errorf("not read through users_username_lower_key: %s in the plan of %s", nodes, query)
				}
				if slices.Contains(nodes, "Sort") {
					t.Errorf("the users are sorted: %s in the plan of %s", nodes, query)
				}
			}
		}
	})
}
