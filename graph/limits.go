package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// depthLimit refuses operations nested deeper than max fields, before any
// resolver runs. Introspection fields are not counted: GraphiQL's own
// introspection query is deep by design and is bounded by gqlparser.
type depthLimit struct{ max int }

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = depthLimit{}

func (depthLimit) ExtensionName() string                          { return "DepthLimit" }
func (depthLimit) Validate(schema graphql.ExecutableSchema) error { return nil }

func (d depthLimit) MutateOperationContext(_ context.Context, op *graphql.OperationContext) *gqlerror.Error {
	if depth := selectionDepth(op.Operation.SelectionSet); depth > d.max {
		err := gqlerror.Errorf("the operation is nested %d levels deep; at most %d are allowed", depth, d.max)
		errcode.Set(err, errcode.ValidationFailed)
		return err
	}
	return nil
}

// selectionDepth measures the deepest chain of fields. Validation has already
// refused fragment cycles, so following spreads terminates.
func selectionDepth(set ast.SelectionSet) int {
	deepest := 0
	for _, sel := range set {
		var depth int
		switch sel := sel.(type) {
		case *ast.Field:
			if len(sel.Name) >= 2 && sel.Name[:2] == "__" {
				continue
			}
			depth = 1 + selectionDepth(sel.SelectionSet)
		case *ast.InlineFragment:
			depth = selectionDepth(sel.SelectionSet)
		case *ast.FragmentSpread:
			if sel.Definition != nil {
				depth = selectionDepth(sel.Definition.SelectionSet)
			}
		}
		deepest = max(deepest, depth)
	}
	return deepest
}

// oncePerOperation refuses an operation that calls one of the named root
// fields more than once, however aliased or spread: one document must not
// carry a hundred password guesses or registrations.
type oncePerOperation struct{ fields []string }

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = oncePerOperation{}

func (oncePerOperation) ExtensionName() string                          { return "OncePerOperation" }
func (oncePerOperation) Validate(schema graphql.ExecutableSchema) error { return nil }

func (o oncePerOperation) MutateOperationContext(_ context.Context, op *graphql.OperationContext) *gqlerror.Error {
	counts := map[string]int{}
	countRootFields(op.Operation.SelectionSet, counts)
	for _, name := range o.fields {
		if counts[name] > 1 {
			err := gqlerror.Errorf("%s may be called at most once per operation; this one calls it %d times", name, counts[name])
			errcode.Set(err, errcode.ValidationFailed)
			return err
		}
	}
	return nil
}

func countRootFields(set ast.SelectionSet, counts map[string]int) {
	for _, sel := range set {
		switch sel := sel.(type) {
		case *ast.Field:
			counts[sel.Name]++
		case *ast.InlineFragment:
			countRootFields(sel.SelectionSet, counts)
		case *ast.FragmentSpread:
			if sel.Definition != nil {
				countRootFields(sel.Definition.SelectionSet, counts)
			}
		}
	}
}

// codeIntrospectionDisabled refuses introspection when it is turned off: a
// client's request, not a server fault, so it is not logged as an error.
const codeIntrospectionDisabled = "INTROSPECTION_DISABLED"

// introspectionOff refuses, before it runs, an operation that asks for
// __schema or __type while introspection is turned off. __typename stays
// allowed: clients add it to every selection to tell types apart.
type introspectionOff struct{}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = introspectionOff{}

func (introspectionOff) ExtensionName() string                          { return "IntrospectionOff" }
func (introspectionOff) Validate(schema graphql.ExecutableSchema) error { return nil }

func (introspectionOff) MutateOperationContext(_ context.Context, op *graphql.OperationContext) *gqlerror.Error {
	counts := map[string]int{}
	countRootFields(op.Operation.SelectionSet, counts)
	if counts["__schema"] > 0 || counts["__type"] > 0 {
		err := gqlerror.Errorf("introspection is turned off on this server")
		errcode.Set(err, codeIntrospectionDisabled)
		return err
	}
	return nil
}

// predictCost is what one predict costs against the complexity budget: with
// the default budget, about fifty predictions fit in one operation.
const predictCost = 50

// requestsComplexity prices a page of requests by its size, so that a few
// aliased pages of 100 cost what they will make the database do.
func requestsComplexity(childComplexity int, first *int) int {
	n := 20
	if first != nil && *first > 0 {
		n = *first
	}
	return 1 + n*max(childComplexity, 1)
}
