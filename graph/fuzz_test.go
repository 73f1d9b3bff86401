package graph

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// introspectionQuery is GraphiQL's, abridged to its shape: four fragments,
// nested type references.
const introspectionQuery = `query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } }
}`

// FuzzDocument sends whole GraphQL documents to the handler as the server
// wires it (no token: what an anonymous caller can do) and checks that
// every answer is JSON, within the answer and error bounds, and that no
// request allocates more than maxRequestBytes. A panic anywhere fails it.
//
//	go test -run '^$' -fuzz FuzzDocument -fuzztime 5m ./graph
func FuzzDocument(f *testing.F) {
	for _, seed := range []string{
		`{ model { version } }`,
		`{ __typename model { version features { name field type min max } } }`,
		`{ me { username requests(first: 5) { totalCount pageInfo { hasNextPage endCursor } edges { node { id createdAt input response { yhatProb yhat } } } } } }`,
		`mutation { token(input: {username: "ada", password: "correct horse battery"}) { token tokenType expiresAt } }`,
		`mutation { predict(input: {age: 25, creatininePhosphokinase: 1000, ejectionFraction: 35, platelets: 500000, serumCreatinine: 8, serumSodium: 135, sex: true, highBloodPressure: false}) { yhatProb yhat } }`,
		`query { model { ... @defer { version } } }`,
		introspectionQuery,
		conflictDocument(550),
		conflictDocument(10),
		spreadConflictDocument(45, 20),
		fragmentConflictDocument(45),
		fragmentBomb(26, "model", "ModelInfo", "version"),
		fragmentBomb(100, "model", "ModelInfo", "version"),
		fragmentBomb(40, "__schema", "__Schema", "description"),
		rootFragmentBomb(30),
		cacheDocument(1, 100, 2000),
		"{ " + aliased(100, "me { username }") + "}",
		`{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }`,
	} {
		f.Add(seed)
	}
	h := newTestHandler(f, DefaultLimits())
	limits := DefaultLimits()
	f.Fuzz(func(t *testing.T, query string) {
		body, _ := json.Marshal(map[string]string{"query": query})
		req := httptest.NewRequest(http.MethodPost, "/query", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		allocatedBytes, _ := allocated(func() { h.ServeHTTP(rec, req) })
		var a struct {
			Data   json.RawMessage   `json:"data"`
			Errors []json.RawMessage `json:"errors"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
			t.Fatalf("the answer is not JSON: %v: %.300q", err, rec.Body.String())
		}
		if rec.Body.Len() > limits.MaxResponseBytes {
			t.Errorf("the answer is %d bytes", rec.Body.Len())
		}
		if len(a.Errors) > limits.MaxErrors+1 {
			t.Errorf("the answer has %d errors", len(a.Errors))
		}
		// A refused document within maxRequestBytes; one that ran may
		// also hash a password or two (19 MiB each, token and
		// registerUser being once per operation).
		bound := uint64(maxRequestBytes)
		if a.Data != nil {
			bound += 2 * 20 << 20
		}
		if allocatedBytes > bound {
			t.Errorf("the request allocated %d bytes, over %d", allocatedBytes, bound)
		}
	})
}
