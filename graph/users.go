package graph

import (
	"context"

	"github.com/mlapi/mlapi/graph/gqlmodel"
	"github.com/mlapi/mlapi/internal/account"
	"github.com/mlapi/mlapi/internal/store"
)

// users pages the user accounts for administrators.
func (r *Resolver) users(ctx context.Context, first *int, after, search *string) (*gqlmodel.UserConnection, error) {
	page, err := r.accounts.ListUsers(ctx, account.UsersQuery{First: first, After: deref(after, ""), Search: deref(search, "")})
	if err != nil {
		return nil, err
	}
	return &gqlmodel.UserConnection{
		TotalCount: page.TotalCount,
		PageInfo:   pageInfo(page.Cursors, page.HasNextPage, page.HasPreviousPage),
		Edges: edges(page.Users, page.Cursors, func(cursor string, u *store.User) gqlmodel.UserEdge {
			return gqlmodel.UserEdge{Cursor: cursor, Node: u}
		}),
	}, nil
}
