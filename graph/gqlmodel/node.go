package gqlmodel

import "github.com/mlapi/mlapi/internal/store"

// Node is what the schema's Node interface binds to. The store's types
// cannot carry GraphQL's marker methods, so any value may be a Node and the
// generated code dispatches on its concrete type.
type Node any

// Viewer is the authenticated caller. It wraps the stored user so that a
// Node can be told apart from the same account seen by an administrator
// (User): the two are different GraphQL types with different ids.
type Viewer struct {
	store.User
}
