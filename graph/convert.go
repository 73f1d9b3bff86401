package graph

import (
	"fmt"

	"github.com/mlapi/mlapi/graph/gqlmodel"
	"github.com/mlapi/mlapi/internal/prediction"
	"github.com/mlapi/mlapi/internal/store"
)

func role(stored string) (gqlmodel.Role, error) {
	switch stored {
	case store.RoleUser:
		return gqlmodel.RoleUser, nil
	case store.RoleAdmin:
		return gqlmodel.RoleAdmin, nil
	}
	return "", fmt.Errorf("stored role %q has no GraphQL value", stored)
}

func responseStatus(stored string) (gqlmodel.ResponseStatus, error) {
	switch stored {
	case store.StatusOK:
		return gqlmodel.ResponseStatusOk, nil
	case store.StatusInvalidInput:
		return gqlmodel.ResponseStatusInvalidInput, nil
	}
	return "", fmt.Errorf("stored response status %q has no GraphQL value", stored)
}

func toConnection(page prediction.Page) *gqlmodel.RequestConnection {
	conn := &gqlmodel.RequestConnection{
		TotalCount: page.TotalCount,
		PageInfo:   &gqlmodel.PageInfo{HasNextPage: page.HasNextPage},
		Edges:      make([]gqlmodel.RequestEdge, len(page.Requests)),
	}
	for i := range page.Requests {
		conn.Edges[i] = gqlmodel.RequestEdge{Cursor: page.Cursors[i], Node: &page.Requests[i]}
	}
	if n := len(page.Cursors); n > 0 {
		conn.PageInfo.EndCursor = &page.Cursors[n-1]
	}
	return conn
}

func deref[T any](p *T, fallback T) T {
	if p == nil {
		return fallback
	}
	return *p
}
