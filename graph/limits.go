package graph

import (
	"context"
	"fmt"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/mlapi/mlapi/internal/paging"
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
	if depth := operationDepth(op.Operation); depth > d.max {
		err := gqlerror.Errorf("the operation is nested %d levels deep; at most %d are allowed", depth, d.max)
		errcode.Set(err, errcode.ValidationFailed)
		return err
	}
	return nil
}

// operationDepth measures the deepest chain of fields of op. Each fragment
// is measured once, however often it is spread, so the work is linear in the
// document: a fragment spreading the next one twice, level after level,
// would otherwise double the work with each level.
func operationDepth(op *ast.OperationDefinition) int {
	w := depthWalker{memo: map[*ast.FragmentDefinition]int{}}
	return w.selectionSet(op.SelectionSet)
}

type depthWalker struct {
	memo map[*ast.FragmentDefinition]int
	// visited counts the selections walked, for the tests to bound.
	visited int
}

func (w *depthWalker) selectionSet(set ast.SelectionSet) int {
	deepest := 0
	for _, sel := range set {
		w.visited++
		var depth int
		switch sel := sel.(type) {
		case *ast.Field:
			if strings.HasPrefix(sel.Name, "__") {
				continue
			}
			depth = 1 + w.selectionSet(sel.SelectionSet)
		case *ast.InlineFragment:
			depth = w.selectionSet(sel.SelectionSet)
		case *ast.FragmentSpread:
			depth = w.fragment(sel.Definition)
		}
		deepest = max(deepest, depth)
	}
	return deepest
}

func (w *depthWalker) fragment(def *ast.FragmentDefinition) int {
	if def == nil {
		return 0
	}
	if depth, ok := w.memo[def]; ok {
		return depth
	}
	// Validation refuses fragment cycles; were one to come here, it would
	// end at the fragment already being measured.
	w.memo[def] = 0
	depth := w.selectionSet(def.SelectionSet)
	w.memo[def] = depth
	return depth
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
	counts := rootFieldCounts(op.Operation.SelectionSet)
	for _, name := range o.fields {
		if counts[name] > 1 {
			err := gqlerror.Errorf("%s may be called at most once per operation; this one calls it %d times", name, counts[name])
			errcode.Set(err, errcode.ValidationFailed)
			return err
		}
	}
	return nil
}

// rootFieldCounts counts how often each root field is selected, through
// inline fragments and fragment spreads (a fragment spread twice counts
// twice). Counts saturate instead of overflowing. Each fragment is counted
// once and its counts reused, so the work is linear in the document.
func rootFieldCounts(set ast.SelectionSet) map[string]int {
	w := rootFieldWalker{memo: map[*ast.FragmentDefinition]map[string]int{}}
	counts := map[string]int{}
	w.selectionSet(set, counts)
	return counts
}

type rootFieldWalker struct {
	memo    map[*ast.FragmentDefinition]map[string]int
	visited int
}

func (w *rootFieldWalker) selectionSet(set ast.SelectionSet, counts map[string]int) {
	for _, sel := range set {
		w.visited++
		switch sel := sel.(type) {
		case *ast.Field:
			counts[sel.Name] = saturatingAdd(counts[sel.Name], 1)
		case *ast.InlineFragment:
			w.selectionSet(sel.SelectionSet, counts)
		case *ast.FragmentSpread:
			for name, n := range w.fragment(sel.Definition) {
				counts[name] = saturatingAdd(counts[name], n)
			}
		}
	}
}

func (w *rootFieldWalker) fragment(def *ast.FragmentDefinition) map[string]int {
	if def == nil {
		return nil
	}
	if counts, ok := w.memo[def]; ok {
		return counts
	}
	counts := map[string]int{}
	w.memo[def] = counts // a cycle, refused by validation, would end here
	w.selectionSet(def.SelectionSet, counts)
	return counts
}

// codeIntrospectionDisabled is the code of the refusal of introspection
// while it is turned off. The fault is the client's request, not the
// server's, so it is not logged as an error.
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
	counts := rootFieldCounts(op.Operation.SelectionSet)
	if counts["__schema"] > 0 || counts["__type"] > 0 {
		err := gqlerror.Errorf("introspection is turned off on this server")
		errcode.Set(err, codeIntrospectionDisabled)
		return err
	}
	return nil
}

// inputCost is what a logged request's input costs against the complexity
// budget: a page of 100 with its inputs costs about half of it.
const inputCost = 10

// predictCost is what one predict costs against the complexity budget: with
// the default budget, about fifty predictions fit in one operation.
const predictCost = 50

// pageComplexity prices a page of a list (requests, users) by its size, so
// that a few aliased pages of 100 cost what they will make the database
// do. The product saturates: a huge first must not wrap around to a small
// cost.
func pageComplexity(childComplexity int, first *int) int {
	n := paging.DefaultSize
	if first != nil && *first > 0 {
		n = *first
	}
	return saturatingAdd(1, saturatingMul(n, max(childComplexity, 1)))
}

const maxInt = int(^uint(0) >> 1)

// saturatingAdd adds two costs, negative ones counting as nothing, and
// answers maxInt rather than overflowing.
func saturatingAdd(a, b int) int {
	a, b = max(a, 0), max(b, 0)
	if a > maxInt-b {
		return maxInt
	}
	return a + b
}

// saturatingMul multiplies two costs, negative ones counting as nothing, and
// answers maxInt rather than overflowing.
func saturatingMul(a, b int) int {
	a, b = max(a, 0), max(b, 0)
	if a != 0 && b > maxInt/a {
		return maxInt
	}
	return a * b
}

// introspectionLimit refuses an operation that asks for more than max
// introspection fields, counted as the answer will hold them: each fragment
// as often as it is spread. Each fragment's count is memoized, so the work
// is linear in the document.
//
// Introspection costs nothing in the complexity budget and is not counted
// for depth. Without this limit, a small document of aliased __schema
// fields (or aliased types under one) would make answers of hundreds of
// megabytes: 300 aliases of GraphiQL's query allocated 600 MB.
type introspectionLimit struct{ max int }

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = introspectionLimit{}

func (introspectionLimit) ExtensionName() string                   { return "IntrospectionLimit" }
func (introspectionLimit) Validate(graphql.ExecutableSchema) error { return nil }

func (l introspectionLimit) MutateOperationContext(_ context.Context, op *graphql.OperationContext) *gqlerror.Error {
	if n := introspectionFields(op.Operation.SelectionSet); n > l.max {
		return &gqlerror.Error{
			Message:    fmt.Sprintf("the operation asks for %d introspection fields; at most %d are allowed", n, l.max),
			Extensions: map[string]any{"code": codeComplexityLimit},
		}
	}
	return nil
}

// introspectionFields counts the fields under __schema and __type in set,
// spread fragments expanded.
func introspectionFields(set ast.SelectionSet) int {
	w := expandedWalker{memo: map[*ast.FragmentDefinition]int{}, rootMemo: map[*ast.FragmentDefinition]int{}}
	return w.introspection(set)
}

type expandedWalker struct {
	memo     map[*ast.FragmentDefinition]int // a fragment's size
	rootMemo map[*ast.FragmentDefinition]int // a root fragment's introspection
	visited  int
}

// introspection sums the expanded size of every __schema and __type field
// reached from set.
func (w *expandedWalker) introspection(set ast.SelectionSet) int {
	n := 0
	for _, sel := range set {
		w.visited++
		switch sel := sel.(type) {
		case *ast.Field:
			if sel.Name == "__schema" || sel.Name == "__type" {
				n = saturatingAdd(n, saturatingAdd(1, w.size(sel.SelectionSet)))
			}
		case *ast.InlineFragment:
			n = saturatingAdd(n, w.introspection(sel.SelectionSet))
		case *ast.FragmentSpread:
			// Introspection fields are the query type's: a fragment
			// spread at the root may hold them.
			n = saturatingAdd(n, w.rootFragment(sel.Definition))
		}
	}
	return n
}

func (w *expandedWalker) rootFragment(def *ast.FragmentDefinition) int {
	if def == nil {
		return 0
	}
	if n, ok := w.rootMemo[def]; ok {
		return n
	}
	w.rootMemo[def] = 0 // a cycle, refused by validation, would end here
	n := w.introspection(def.SelectionSet)
	w.rootMemo[def] = n
	return n
}

// size is the number of fields set selects, fragments expanded.
func (w *expandedWalker) size(set ast.SelectionSet) int {
	n := 0
	for _, sel := range set {
		w.visited++
		switch sel := sel.(type) {
		case *ast.Field:
			n = saturatingAdd(n, saturatingAdd(1, w.size(sel.SelectionSet)))
		case *ast.InlineFragment:
			n = saturatingAdd(n, w.size(sel.SelectionSet))
		case *ast.FragmentSpread:
			n = saturatingAdd(n, w.fragmentSize(sel.Definition))
		}
	}
	return n
}

func (w *expandedWalker) fragmentSize(def *ast.FragmentDefinition) int {
	if def == nil {
		return 0
	}
	if n, ok := w.memo[def]; ok {
		return n
	}
	w.memo[def] = 0 // a cycle, refused by validation, would end here
	n := w.size(def.SelectionSet)
	w.memo[def] = n
	return n
}
