package main

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/validator/rules"
)

// appDocument finds the web app's GraphQL documents: template literals
// tagged gql, assigned to a const.
var appDocument = regexp.MustCompile("(?s)const ([A-Z_]+) = gql`(.*?)`;")

// TestAppOperationsMatchTheSchema validates every document the web app sends
// against the schema, fragments included, so that a change to the API that
// would break the app fails here rather than in a browser.
func TestAppOperationsMatchTheSchema(t *testing.T) {
	t.Parallel()
	schemaSource, err := os.ReadFile("schema.graphqls")
	if err != nil {
		t.Fatal(err)
	}
	schema, gerr := gqlparser.LoadSchema(&ast.Source{Name: "schema.graphqls", Input: string(schemaSource)})
	if gerr != nil {
		t.Fatal(gerr)
	}
	js, err := os.ReadFile("internal/webapp/ui/operations.js")
	if err != nil {
		t.Fatal(err)
	}
	documents := map[string]string{}
	var names []string
	for _, m := range appDocument.FindAllStringSubmatch(string(js), -1) {
		documents[m[1]] = m[2]
		names = append(names, m[1])
	}
	if len(names) < 15 {
		t.Fatalf("found %d documents in operations.js; the pattern no longer matches how it writes them", len(names))
	}
	interpolation := regexp.MustCompile(`\$\{([A-Z_]+)\}`)
	for _, name := range names {
		if strings.HasPrefix(strings.TrimSpace(documents[name]), "fragment ") {
			// A fragment on its own is checked with the operations that
			// spread it; it must have some.
			if !strings.Contains(string(js), "${"+name+"}") {
				t.Errorf("fragment %s is not used", name)
			}
			continue
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			doc := interpolation.ReplaceAllStringFunc(documents[name], func(ref string) string {
				fragment, ok := documents[ref[2:len(ref)-1]]
				if !ok {
					t.Errorf("%s interpolates %s, which is not a document of operations.js", name, ref)
				}
				return fragment
			})
			parsed, errs := gqlparser.LoadQueryWithRules(schema, doc, rules.NewDefaultRules())
			if len(errs) > 0 {
				t.Fatalf("%s does not validate against the schema: %v\n%s", name, errs, doc)
			}
			if len(parsed.Operations) != 1 {
				t.Errorf("%s holds %d operations, want one", name, len(parsed.Operations))
			}
		})
	}
}
