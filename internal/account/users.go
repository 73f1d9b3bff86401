package account

import (
	"context"
	"strconv"
	"strings"

	"github.com/mlapi/mlapi/internal/apperr"
	"github.com/mlapi/mlapi/internal/paging"
	"github.com/mlapi/mlapi/internal/store"
)

// userCursors is the users list's cursor format: a user's place in the
// order of usernames, ignoring case (store.UserKey).
var userCursors = paging.Cursors{Prefix: "usr1:", Keyed: true}

// MaxSearch bounds a users search, in bytes: no username (64) or email
// (254) an account can have is longer, so a longer search is a mistake,
// not a search.
const MaxSearch = 256

// UsersQuery is one page of the users as a Relay connection asks for it.
type UsersQuery struct {
	// First is the page size, 1 to paging.MaxSize; nil is
	// paging.DefaultSize.
	First *int
	// After is a cursor from an earlier page; empty is none.
	After string
	// Search keeps the users whose username or email contains it, ignoring
	// case; empty keeps every user.
	Search string
}

// UsersPage is one page of the users.
type UsersPage struct {
	Users   []store.User
	Cursors []string
	// TotalCount counts the users that match the search, on every page.
	TotalCount                   int
	HasNextPage, HasPreviousPage bool
}

// ListUsers returns a page of the users that match q, in username order
// ignoring case, to an administrator. A cursor is a place in that order,
// whatever the search it came from.
func (s *Service) ListUsers(ctx context.Context, q UsersQuery) (UsersPage, error) {
	// Before anything of q is looked at, so that a caller who may not list
	// users learns nothing from how their arguments are refused.
	if _, err := s.RequireAdmin(ctx); err != nil {
		return UsersPage{}, err
	}
	uq, err := usersQuery(q)
	if err != nil {
		return UsersPage{}, err
	}
	page, err := s.users.ListUsers(ctx, uq)
	if err != nil {
		return UsersPage{}, err
	}
	cursors := make([]string, len(page.Keys))
	for i, k := range page.Keys {
		cursors[i] = userCursors.Encode(k.ID, k.Username)
	}
	return UsersPage{
		Users: page.Users, Cursors: cursors, TotalCount: page.TotalCount,
		HasNextPage: page.HasNextPage, HasPreviousPage: page.HasPreviousPage,
	}, nil
}

// usersQuery checks q and turns it into the store's query.
func usersQuery(q UsersQuery) (store.UserQuery, error) {
	size, err := paging.Size(q.First, "first")
	if err != nil {
		return store.UserQuery{}, err
	}
	if len(q.Search) > MaxSearch {
		return store.UserQuery{}, apperr.New(apperr.Invalid, "search must be at most "+strconv.Itoa(MaxSearch)+" bytes")
	}
	// PostgreSQL's text cannot hold NUL, so no account has one; refused
	// here rather than failing as a query the database rejects.
	if strings.ContainsRune(q.Search, 0) {
		return store.UserQuery{}, apperr.New(apperr.Invalid, "search must not contain a NUL character")
	}
	uq := store.UserQuery{Size: size, Search: q.Search}
	if q.After != "" {
		id, key, err := userCursors.Decode(q.After, "after")
		if err != nil {
			return store.UserQuery{}, err
		}
		uq.After = &store.UserKey{Username: key, ID: id}
	}
	return uq, nil
}
