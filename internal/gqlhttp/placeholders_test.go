package gqlhttp

import (
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

func TestWithoutDeferredPlaceholders(t *testing.T) {
	t.Parallel()
	schema := gqlparser.MustLoadSchema(&ast.Source{Input: `
		type Query { me: User! }
		type User { name: String! bio: String! friends: [User!]! }`})
	tests := []struct {
		name, query, data, want string
		variables               map[string]any
	}{
		{
			name:  "a deferred field's null is left out",
			query: `{ me { name ... @defer { bio } } }`,
			data:  `{"me":{"name":"ada","bio":null}}`,
			want:  `{"me":{"name":"ada"}}`,
		},
		{
			name:  "in every element of a list, under an alias",
			query: `{ me { pals: friends { name ...F @defer } } } fragment F on User { bio }`,
			data:  `{"me":{"pals":[{"name":"a","bio":null},{"name":"b","bio":null}]}}`,
			want:  `{"me":{"pals":[{"name":"a"},{"name":"b"}]}}`,
		},
		{
			name:  "a field also selected outside the fragment stays",
			query: `{ me { bio ... @defer { bio name } } }`,
			data:  `{"me":{"bio":null,"name":null}}`,
			want:  `{"me":{"bio":null}}`,
		},
		{
			name:      "@defer(if: false) defers nothing",
			query:     `query($d: Boolean!) { me { name ... @defer(if: $d) { bio } } }`,
			variables: map[string]any{"d": false},
			data:      `{"me":{"name":"ada","bio":null}}`,
			want:      `{"me":{"name":"ada","bio":null}}`,
		},
		{
			name:  "order is kept",
			query: `{ me { name ... @defer { bio } friends { name } } }`,
			data:  `{"me":{"name":"ada","bio":null,"friends":[]}}`,
			want:  `{"me":{"name":"ada","friends":[]}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc, errs := gqlparser.LoadQueryWithRules(schema, tt.query, nil)
			if errs != nil {
				t.Fatal(errs)
			}
			got := withoutDeferredPlaceholders([]byte(tt.data), doc.Operations[0], tt.variables)
			if string(got) != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}
