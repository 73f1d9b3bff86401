package graph

import (
	"github.com/vektah/gqlparser/v2/ast"
)

// Operations names every operation the metrics count apart, as
// "type/field": each root field of the schema under its operation type
// ("mutation/predict"), and the introspection fields. The set is the
// schema's, so a label made of it is bounded whatever clients send.
func Operations() []string {
	schema := NewExecutableSchema(Config{}).Schema()
	ops := []string{"query/__schema", "query/__type"}
	for _, root := range []struct {
		kind ast.Operation
		def  *ast.Definition
	}{{ast.Query, schema.Query}, {ast.Mutation, schema.Mutation}, {ast.Subscription, schema.Subscription}} {
		if root.def == nil {
			continue
		}
		ops = append(ops, string(root.kind)+"/__typename")
		for _, f := range root.def.Fields {
			if f.Name != "__schema" && f.Name != "__type" && f.Name != "__typename" {
				ops = append(ops, string(root.kind)+"/"+f.Name)
			}
		}
	}
	return ops
}

// maxRootFieldDepth bounds the fragments rootField follows: validation
// refuses deeper nesting, and a document that failed validation may spread
// fragments in a cycle.
const maxRootFieldDepth = 8

// rootField names the first field an operation selects at its root,
// through fragments, or "" when there is none within maxRootFieldDepth.
func rootField(set ast.SelectionSet, depth int) string {
	if depth > maxRootFieldDepth {
		return ""
	}
	for _, sel := range set {
		var name string
		switch s := sel.(type) {
		case *ast.Field:
			return s.Name
		case *ast.InlineFragment:
			name = rootField(s.SelectionSet, depth+1)
		case *ast.FragmentSpread:
			if s.Definition != nil {
				name = rootField(s.Definition.SelectionSet, depth+1)
			}
		}
		if name != "" {
			return name
		}
	}
	return ""
}
