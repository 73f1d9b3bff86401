package graph

import (
	"context"

	"github.com/mlapi/mlapi/graph/gqlmodel"
	"github.com/mlapi/mlapi/internal/apperr"
	"github.com/mlapi/mlapi/internal/store"
)

// node fetches any object by its global id, with the same scoping as the
// field that first returned it: a caller sees their own account, requests
// and responses, administrators any user, and everyone the served model.
// What is not the caller's to see is null, like what does not exist.
func (r *Resolver) node(ctx context.Context, id string) (gqlmodel.Node, error) {
	t, key, err := decodeNodeID(id)
	if err != nil {
		return nil, err
	}
	if t == nodeModelInfo {
		info := r.served().info
		if key != info.Version {
			return nil, nil
		}
		return info, nil
	}
	rowID, err := decodeRowID(t, id)
	if err != nil {
		return nil, nil // a type this API does not issue ids for
	}
	switch t {
	case nodeViewer:
		user, err := r.accounts.Authenticate(ctx)
		if err != nil || user.ID != rowID {
			return nil, err
		}
		return &gqlmodel.Viewer{User: user}, nil
	case nodeUser:
		return nullIfNotFound(r.accounts.User(ctx, rowID))
	case nodeRequest:
		return nullIfNotFound(r.callerRequest(ctx, rowID))
	case nodeResponse:
		userID, err := r.callerID(ctx)
		if err != nil {
			return nil, err
		}
		return nullIfNotFound(r.served().predictions.Response(ctx, userID, rowID))
	}
	return nil, nil
}

// callerRequest returns one of the caller's own requests.
func (r *Resolver) callerRequest(ctx context.Context, requestID int64) (store.Request, error) {
	userID, err := r.callerID(ctx)
	if err != nil {
		return store.Request{}, err
	}
	return r.served().predictions.Request(ctx, userID, requestID)
}

// callerID is the id of the caller, who must still be enabled: reads of
// history check the account, unlike predict, whose write checks it itself.
func (r *Resolver) callerID(ctx context.Context) (int64, error) {
	user, err := r.accounts.Authenticate(ctx)
	return user.ID, err
}

// nullIfNotFound turns NotFound into GraphQL's null without an error: the
// nullable fields that fetch by id answer "no such object" that way.
func nullIfNotFound[T any](v T, err error) (*T, error) {
	if apperr.CodeOf(err) == apperr.NotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &v, nil
}
