package gqlhttp

import (
	"context"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Deferral is the handler extension that delivers @defer's fields in the
// one answer, which the incremental delivery specification allows a server
// to do. It exists because gqlgen v0.17.98 cannot be trusted to stream
// them. In a mutation it answers them null, non-null fields included. In a
// query it leaves its own fields in the first part as nulls and never sends
// them again. And a stream cut short (a client that leaves, the request
// deadline) can leave the handler waiting forever on a deferred result its
// generated code receives without a context.
type Deferral struct {
	schema *ast.Schema
}

var (
	_ graphql.HandlerExtension        = (*Deferral)(nil)
	_ graphql.OperationContextMutator = (*Deferral)(nil)
)

// NewDeferral returns the extension for schema.
func NewDeferral(schema *ast.Schema) *Deferral { return &Deferral{schema: schema} }

func (*Deferral) ExtensionName() string                   { return "Deferral" }
func (*Deferral) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationContext replaces an operation that defers with one that
// does not. The parsed document may be shared through the query cache, so
// the operation gets a copy of its own, parsed again: work done only for
// documents that use @defer.
func (d *Deferral) MutateOperationContext(_ context.Context, op *graphql.OperationContext) *gqlerror.Error {
	if !strings.Contains(op.RawQuery, "defer") || !defers(op.Doc) {
		return nil
	}
	doc, errs := gqlparser.LoadQueryWithRules(d.schema, op.RawQuery, nil)
	if errs != nil {
		return errs[0]
	}
	for _, o := range doc.Operations {
		withoutDefer(o.SelectionSet)
	}
	for _, f := range doc.Fragments {
		withoutDefer(f.SelectionSet)
	}
	op.Doc = doc
	op.Operation = doc.Operations.ForName(op.OperationName)
	return nil
}

// defers reports whether any fragment of doc carries @defer.
func defers(doc *ast.QueryDocument) bool {
	found := false
	visit := func(directives ast.DirectiveList) {
		found = found || directives.ForName("defer") != nil
	}
	for _, o := range doc.Operations {
		walkFragments(o.SelectionSet, visit)
	}
	for _, f := range doc.Fragments {
		walkFragments(f.SelectionSet, visit)
	}
	return found
}

func withoutDefer(set ast.SelectionSet) {
	for _, sel := range set {
		switch sel := sel.(type) {
		case *ast.Field:
			withoutDefer(sel.SelectionSet)
		case *ast.InlineFragment:
			sel.Directives = dropDefer(sel.Directives)
			withoutDefer(sel.SelectionSet)
		case *ast.FragmentSpread:
			sel.Directives = dropDefer(sel.Directives)
		}
	}
}

func dropDefer(directives ast.DirectiveList) ast.DirectiveList {
	kept := directives[:0:0]
	for _, d := range directives {
		if d.Name != "defer" {
			kept = append(kept, d)
		}
	}
	return kept
}

// walkFragments calls visit with the directives of every inline fragment
// and fragment spread in set, at any depth; named fragments are walked
// where they are defined.
func walkFragments(set ast.SelectionSet, visit func(ast.DirectiveList)) {
	for _, sel := range set {
		switch sel := sel.(type) {
		case *ast.Field:
			walkFragments(sel.SelectionSet, visit)
		case *ast.InlineFragment:
			visit(sel.Directives)
			walkFragments(sel.SelectionSet, visit)
		case *ast.FragmentSpread:
			visit(sel.Directives)
		}
	}
}
