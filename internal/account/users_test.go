package account

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/mlapi/mlapi/internal/apperr"
	"github.com/mlapi/mlapi/internal/paging"
	"github.com/mlapi/mlapi/internal/store"
	"github.com/mlapi/mlapi/internal/store/storetest"
)

func TestListUsers(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newService(t, db)
		if _, err := s.registry.CreateAdmin(ctx, Registration{Username: "root", Password: "admin password", Email: "root@example.com"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Register(ctx, Registration{Username: "Mallory", Password: "correct horse", Email: "mallory@example.net"}); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"carol", "Bob", "alice"} {
			if _, err := db.CreateUser(ctx, store.NewUser{Username: name, Email: name + "@example.com", PasswordHash: "hash"}); err != nil {
				t.Fatal(err)
			}
		}
		asAdmin := authenticated(ctx, must(s.IssueToken(ctx, "root", "admin password")).Token)
		asUser := authenticated(ctx, must(s.IssueToken(ctx, "mallory", "correct horse")).Token)
		n := func(v int) *int { return &v }

		// Page by page, each page's last cursor asking for the next.
		var names []string
		q := UsersQuery{First: n(2)}
		for pages := 0; ; pages++ {
			page, err := s.ListUsers(asAdmin, q)
			if err != nil {
				t.Fatal(err)
			}
			if page.TotalCount != 5 || len(page.Cursors) != len(page.Users) || page.HasPreviousPage != (pages > 0) {
				t.Fatalf("page %d: %+v", pages, page)
			}
			for _, u := range page.Users {
				names = append(names, u.Username)
			}
			if !page.HasNextPage {
				break
			}
			q.After = page.Cursors[len(page.Cursors)-1]
		}
		if want := []string{"alice", "Bob", "carol", "Mallory", "root"}; !slices.Equal(names, want) {
			t.Errorf("paged through %q, want %q", names, want)
		}

		page, err := s.ListUsers(asAdmin, UsersQuery{Search: "EXAMPLE.COM"})
		if err != nil {
			t.Fatal(err)
		}
		if got := len(page.Users); got != 4 || page.TotalCount != 4 || page.HasNextPage {
			t.Errorf("search: %+v, want the 4 users at example.com", page)
		}
		if page, err := s.ListUsers(asAdmin, UsersQuery{}); err != nil || len(page.Users) != 5 {
			t.Errorf("the default page: %v %+v", err, page)
		}

		tests := []struct {
			name    string
			ctx     context.Context
			q       UsersQuery
			code    apperr.Code
			message string
		}{
			{"no token", ctx, UsersQuery{}, apperr.Unauthenticated, ""},
			{"not an administrator", asUser, UsersQuery{}, apperr.Forbidden, "this operation is for administrators only"},
			{"not an administrator, bad arguments too", asUser, UsersQuery{First: n(0), After: "x"}, apperr.Forbidden, ""},
			{"first 0", asAdmin, UsersQuery{First: n(0)}, apperr.Invalid, "first must be between 1 and 100"},
			{"first 101", asAdmin, UsersQuery{First: n(paging.MaxSize + 1)}, apperr.Invalid, "first must be between 1 and 100"},
			{"not a cursor", asAdmin, UsersQuery{After: "garbage"}, apperr.Invalid, "after is not a cursor this API issued"},
			{"a history cursor", asAdmin, UsersQuery{After: paging.Cursors{Prefix: "req1:"}.Encode(1, "")}, apperr.Invalid, "after is not a cursor this API issued"},
			{"an overlong search", asAdmin, UsersQuery{Search: strings.Repeat("a", MaxSearch+1)}, apperr.Invalid, "search must be at most 256 bytes"},
			{"a NUL in the search", asAdmin, UsersQuery{Search: "a\x00"}, apperr.Invalid, "search must not contain a NUL character"},
		}
		for _, tt := range tests {
			_, err := s.ListUsers(tt.ctx, tt.q)
			if apperr.CodeOf(err) != tt.code || (tt.message != "" && apperr.MessageOf(err) != tt.message) {
				t.Errorf("%s: %v, want %s %q", tt.name, err, tt.code, tt.message)
			}
		}
	})
}
