package graph

import (
	"context"
	"fmt"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// complexityLimit refuses an operation whose cost exceeds max, before any
// resolver runs. It prices fields as gqlgen's complexity calculation does
// (extension.FixedComplexityLimit). A field costs what the schema's
// complexity function says, or 1 plus its selections. __schema costs
// nothing. A field of an interface costs what its most expensive
// implementation does.
//
// Unlike gqlgen's, it prices each fragment once, however often it is
// spread, so its work is linear in the document, and its sums saturate
// instead of overflowing.
type complexityLimit struct {
	es  graphql.ExecutableSchema
	max int
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = complexityLimit{}

func (complexityLimit) ExtensionName() string                   { return "ComplexityLimit" }
func (complexityLimit) Validate(graphql.ExecutableSchema) error { return nil }

func (c complexityLimit) MutateOperationContext(ctx context.Context, op *graphql.OperationContext) *gqlerror.Error {
	cost := operationComplexity(ctx, c.es, op.Operation, op.Variables)
	// Where gqlgen's extension keeps it, for extension.GetComplexityStats.
	op.Stats.SetExtension("ComplexityLimit", &extension.ComplexityStats{Complexity: cost, ComplexityLimit: c.max})
	if cost > c.max {
		return &gqlerror.Error{
			Message:    fmt.Sprintf("operation has complexity %d, which exceeds the limit of %d", cost, c.max),
			Extensions: map[string]any{"code": codeComplexityLimit},
		}
	}
	return nil
}

// operationComplexity is op's cost with variables.
func operationComplexity(ctx context.Context, es graphql.ExecutableSchema, op *ast.OperationDefinition, variables map[string]any) int {
	w := complexityWalker{ctx: ctx, es: es, schema: es.Schema(), vars: variables, memo: map[*ast.FragmentDefinition]int{}}
	return w.selectionSet(op.SelectionSet)
}

type complexityWalker struct {
	ctx    context.Context
	es     graphql.ExecutableSchema
	schema *ast.Schema
	vars   map[string]any
	memo   map[*ast.FragmentDefinition]int
	// visited counts the selections walked, for the tests to bound.
	visited int
}

func (w *complexityWalker) selectionSet(set ast.SelectionSet) int {
	cost := 0
	for _, sel := range set {
		w.visited++
		switch sel := sel.(type) {
		case *ast.Field:
			cost = saturatingAdd(cost, w.field(sel))
		case *ast.InlineFragment:
			cost = saturatingAdd(cost, w.selectionSet(sel.SelectionSet))
		case *ast.FragmentSpread:
			cost = saturatingAdd(cost, w.fragment(sel.Definition))
		}
	}
	return cost
}

func (w *complexityWalker) fragment(def *ast.FragmentDefinition) int {
	if def == nil {
		return 0
	}
	if cost, ok := w.memo[def]; ok {
		return cost
	}
	w.memo[def] = 0 // a cycle, refused by validation, would end here
	cost := w.selectionSet(def.SelectionSet)
	w.memo[def] = cost
	return cost
}

func (w *complexityWalker) field(f *ast.Field) int {
	if f.Definition == nil || f.ObjectDefinition == nil {
		return 1 // not validated: cannot happen once validation passed
	}
	typ := w.schema.Types[f.Definition.Type.Name()]
	if typ == nil {
		return 1
	}
	if typ.Name == "__Schema" {
		return 0
	}
	child := 0
	switch typ.Kind {
	case ast.Object, ast.Interface, ast.Union:
		child = w.selectionSet(f.SelectionSet)
	}
	args := f.ArgumentMap(w.vars)
	if f.ObjectDefinition.Kind != ast.Interface {
		return w.fieldCost(f.ObjectDefinition, f.Name, child, args)
	}
	// An interface's fields have no cost of their own: the most expensive
	// implementation's is taken.
	cost := 0
	for _, t := range w.schema.GetPossibleTypes(f.ObjectDefinition) {
		cost = max(cost, w.fieldCost(t, f.Name, child, args))
	}
	return cost
}

func (w *complexityWalker) fieldCost(object *ast.Definition, field string, child int, args map[string]any) int {
	if cost, ok := w.es.Complexity(w.ctx, object.Name, field, child, args); ok && cost >= 1 {
		return cost
	}
	return saturatingAdd(1, child)
}
