package graph

import (
	"slices"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

// The operation label of the metrics: the first root field, through
// fragments, and never a loop over fragments that spread each other.
func TestRootField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, document, want string
	}{
		{"a field", `mutation { predict(input: {}) { yhat } }`, "predict"},
		{"the first of several", `{ model { version } me { username } }`, "model"},
		{"through an inline fragment", `{ ... on Query { tokenStatus(token: "x") { valid } } }`, "tokenStatus"},
		{"through a fragment", `query { ...Me } fragment Me on Query { me { username } }`, "me"},
		{"introspection", `{ __schema { queryType { name } } }`, "__schema"},
		{"fragments in a cycle", `query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// Validation is left out: the annotation is made of documents
			// that failed it too.
			doc, err := parser.ParseQuery(&ast.Source{Input: tt.document})
			if err != nil {
				t.Fatal(err)
			}
			// What validation would do for the spreads, without refusing the
			// cycle.
			for _, op := range doc.Operations {
				linkSpreads(op.SelectionSet, doc.Fragments)
			}
			for _, f := range doc.Fragments {
				linkSpreads(f.SelectionSet, doc.Fragments)
			}
			if got := rootField(doc.Operations[0].SelectionSet, 0); got != tt.want {
				t.Errorf("root field %q, want %q", got, tt.want)
			}
		})
	}
}

func linkSpreads(set ast.SelectionSet, fragments ast.FragmentDefinitionList) {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.FragmentSpread:
			s.Definition = fragments.ForName(s.Name)
		case *ast.InlineFragment:
			linkSpreads(s.SelectionSet, fragments)
		}
	}
}

// Operations lists each root field under its type, and nothing twice.
func TestOperations(t *testing.T) {
	t.Parallel()
	ops := Operations()
	for _, want := range []string{"mutation/predict", "mutation/token", "mutation/registerUser", "query/me", "query/model",
		"query/__schema", "query/__typename", "subscription/requestLogged"} {
		if !slices.Contains(ops, want) {
			t.Errorf("operations lack %s: %v", want, ops)
		}
	}
	if len(slices.Compact(slices.Sorted(slices.Values(ops)))) != len(ops) {
		t.Errorf("an operation is listed twice: %v", ops)
	}
}
