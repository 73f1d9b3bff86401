package graph

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/mlapi/mlapi/internal/gqlhttp"
	"github.com/mlapi/mlapi/internal/httpserver"
)

func TestReceivedParams(t *testing.T) {
	t.Parallel()
	op := &graphql.OperationContext{}
	if got := receivedFor(op); got == nil || got.Query != "" || got.Variables != nil {
		t.Fatalf("before receivedParams ran: %+v, want empty parameters", got)
	}
	params := &graphql.RawParams{Variables: map[string]any{"in": map[string]any{"age": "old"}}}
	if err := (receivedParams{}).MutateOperationParameters(graphql.WithOperationContext(context.Background(), op), params); err != nil {
		t.Fatal(err)
	}
	// As the persisted documents do when added after receivedParams.
	params.Query = "mutation { predict(input: {}) { yhat } }"
	got := receivedFor(op)
	if got.Query != params.Query || !reflect.DeepEqual(got.Variables, params.Variables) {
		t.Errorf("received %+v, want the parameters as they ended: %+v", got, params)
	}
	if vars := (variableRefusals{}).rawVariables(op); !reflect.DeepEqual(vars, params.Variables) {
		t.Errorf("rawVariables = %v, want %v", vars, params.Variables)
	}
}

func TestRefusedVariable(t *testing.T) {
	t.Parallel()
	const predict = `mutation($in: PredictInput!) { predict(input: $in) { yhat } }`
	onVariable := func(name string) *gqlerror.Error {
		return &gqlerror.Error{Message: "bad", Path: ast.Path{ast.PathName("variable"), ast.PathName(name)}}
	}
	tests := []struct {
		name      string
		query     string
		coerced   bool // gqlgen coerced the variables: they were fine
		errs      gqlerror.List
		wantName  string
		wantFound bool
	}{
		{name: "a PredictInput variable", query: predict, errs: gqlerror.List{onVariable("in")}, wantName: "in", wantFound: true},
		{name: "named by a later error", query: predict, errs: gqlerror.List{{Message: "other"}, onVariable("in")}, wantName: "in", wantFound: true},
		{name: "variables coerced", query: predict, coerced: true, errs: gqlerror.List{onVariable("in")}},
		{name: "no errors", query: predict},
		{name: "an error on no variable", query: predict, errs: gqlerror.List{{Message: "bad", Path: ast.Path{ast.PathName("predict")}}}},
		{name: "a path naming no variable", query: predict, errs: gqlerror.List{{Message: "bad", Path: ast.Path{ast.PathName("variable")}}}},
		{name: "a path with an index", query: predict, errs: gqlerror.List{{Message: "bad", Path: ast.Path{ast.PathName("variable"), ast.PathIndex(0)}}}},
		{name: "an undeclared variable", query: predict, errs: gqlerror.List{onVariable("other")}},
		{
			name:  "a variable of another type",
			query: `mutation($e: Boolean!) { setUserEnabled(userId: "1", enabled: $e) { id } }`,
			errs:  gqlerror.List{onVariable("e")},
		},
		{
			name:  "a list of PredictInput",
			query: `mutation($in: [PredictInput!]!) { predict(input: $in) { yhat } }`,
			errs:  gqlerror.List{onVariable("in")},
		},
		{
			name:  "a query",
			query: `query($in: PredictInput!) { model { version } }`,
			errs:  gqlerror.List{onVariable("in")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc, err := parser.ParseQuery(&ast.Source{Input: tt.query})
			if err != nil {
				t.Fatal(err)
			}
			op := &graphql.OperationContext{Operation: doc.Operations[0]}
			if tt.coerced {
				op.Variables = map[string]any{}
			}
			name, found := refusedVariable(op, tt.errs)
			if name != tt.wantName || found != tt.wantFound {
				t.Errorf("refusedVariable = %q, %v; want %q, %v", name, found, tt.wantName, tt.wantFound)
			}
		})
	}
	t.Run("no operation", func(t *testing.T) {
		t.Parallel()
		if _, found := refusedVariable(&graphql.OperationContext{}, gqlerror.List{onVariable("in")}); found {
			t.Error("found a refused variable with no operation")
		}
	})
}

// locate is where the first occurrence of what lies in query.
func locate(t *testing.T, query, what string) gqlerror.Location {
	t.Helper()
	i := strings.Index(query, what)
	if i < 0 {
		t.Fatalf("%q is not in the query", what)
	}
	line := 1 + strings.Count(query[:i], "\n")
	return gqlerror.Location{Line: line, Column: i - strings.LastIndex(query[:i], "\n")}
}

func TestRefusedLiteral(t *testing.T) {
	t.Parallel()
	const mutation = "mutation M {\n  p: predict(input: {age: \"old\"}) { yhat }\n  after: __typename\n}"
	// valueError is a value error at each of the places named, located in
	// the case's query by at.
	valueError := func(at func(string) gqlerror.Location, where ...string) *gqlerror.Error {
		err := &gqlerror.Error{Message: "bad value", Rule: "ValuesOfCorrectType"}
		for _, w := range where {
			err.Locations = append(err.Locations, at(w))
		}
		return err
	}
	inLiteral := func(at func(string) gqlerror.Location) gqlerror.List {
		return gqlerror.List{valueError(at, `"old"`)}
	}
	tests := []struct {
		name          string
		query         string
		operationName string
		errs          func(at func(string) gqlerror.Location) gqlerror.List
		want          bool
	}{
		{name: "one value error in the literal", query: mutation, errs: inLiteral, want: true},
		{name: "by its operation's name", query: "query Q { model { version } }\n" + mutation, operationName: "M", errs: inLiteral, want: true},
		{
			name: "the errors documents joined, laid out or not", query: mutation, want: true,
			errs: func(at func(string) gqlerror.Location) gqlerror.List {
				return gqlerror.List{joinErrors(gqlerror.List{valueError(at, `"old"`), valueError(at, "age")})}
			},
		},
		{
			name: "validation stopped, the errors joined", query: mutation,
			errs: func(at func(string) gqlerror.Location) gqlerror.List {
				return gqlerror.List{joinErrors(gqlerror.List{valueError(at, `"old"`), tooManyErrors("validation stopped")})}
			},
		},
		{name: "no errors", query: mutation, errs: func(func(string) gqlerror.Location) gqlerror.List { return nil }},
		{
			name: "an error of another rule", query: mutation,
			errs: func(at func(string) gqlerror.Location) gqlerror.List {
				return gqlerror.List{valueError(at, `"old"`), {Message: "no such field", Rule: "FieldsOnCorrectType", Locations: []gqlerror.Location{at("yhat")}}}
			},
		},
		{
			name: "an error located nowhere", query: mutation,
			errs: func(at func(string) gqlerror.Location) gqlerror.List { return gqlerror.List{valueError(at)} },
		},
		{
			name: "an error also before predict", query: mutation,
			errs: func(at func(string) gqlerror.Location) gqlerror.List {
				return gqlerror.List{valueError(at, `"old"`, "mutation")}
			},
		},
		{
			name: "an error in the next field", query: mutation,
			errs: func(at func(string) gqlerror.Location) gqlerror.List {
				return gqlerror.List{valueError(at, "__typename")}
			},
		},
		{name: "two predicts", query: `mutation { a: predict(input: {age: "old"}) { yhat } b: predict(input: {age: 1}) { yhat } }`, errs: inLiteral},
		{
			name: "the input a variable", query: "mutation($in: PredictInput!) { predict(input: $in) { yhat } }",
			errs: func(at func(string) gqlerror.Location) gqlerror.List { return gqlerror.List{valueError(at, "$in)")} },
		},
		{
			name: "no input", query: "mutation { predict { yhat } }",
			errs: func(at func(string) gqlerror.Location) gqlerror.List { return gqlerror.List{valueError(at, "yhat")} },
		},
		{
			name: "a query", query: "query { model { version } }",
			errs: func(at func(string) gqlerror.Location) gqlerror.List { return gqlerror.List{valueError(at, "version")} },
		},
		{name: "another operation's name", query: mutation, operationName: "Other", errs: inLiteral},
		{name: "a document that does not parse", query: `mutation { predict(input: {age: "old"`, errs: inLiteral},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			at := func(what string) gqlerror.Location { return locate(t, tt.query, what) }
			doc, op, predict, ok := refusedLiteral(tt.query, tt.operationName, tt.errs(at))
			if ok != tt.want {
				t.Fatalf("refusedLiteral found a refused literal: %v, want %v", ok, tt.want)
			}
			if !ok {
				return
			}
			if doc == nil || op == nil || op.Operation != ast.Mutation || predict == nil || predict.Name != "predict" {
				t.Errorf("refusedLiteral = %v, %v, %v: want the document, its mutation and its predict", doc, op, predict)
			}
		})
	}
	t.Run("no document", func(t *testing.T) {
		t.Parallel()
		if _, _, _, ok := refusedLiteral("", "", gqlerror.List{{Message: "bad value", Rule: "ValuesOfCorrectType", Locations: []gqlerror.Location{{Line: 1, Column: 1}}}}); ok {
			t.Error("found a refused literal in no document")
		}
	})
}

func TestReceivedValue(t *testing.T) {
	t.Parallel()
	const query = `mutation($in: PredictInput!, $age: Float = 7, $sex: Boolean) {
  predict(input: {age: $age, serumSodium: 1.5e2, ejectionFraction: 35, sex: $sex, platelets: "x", creatininePhosphokinase: null, serumCreatinine: [1, A], highBloodPressure: false}) { yhat }
  again: predict(input: $in) { yhat }
}`
	doc, err := parser.ParseQuery(&ast.Source{Input: query})
	if err != nil {
		t.Fatal(err)
	}
	op := doc.Operations[0]
	literal := op.SelectionSet[0].(*ast.Field).Arguments.ForName("input").Value
	variable := op.SelectionSet[1].(*ast.Field).Arguments.ForName("input").Value
	sent := map[string]any{"age": json.Number("60"), "sex": "yes"}
	tests := []struct {
		name  string
		value *ast.Value
		vars  map[string]any
		want  any
	}{
		{
			name: "literal, variables sent", value: literal, vars: map[string]any{"age": json.Number("35.50"), "sex": json.Number("1")},
			want: map[string]any{
				"age": json.Number("35.50"), "serumSodium": json.Number("1.5e2"), "ejectionFraction": json.Number("35"), "sex": json.Number("1"),
				"platelets": "x", "creatininePhosphokinase": nil, "serumCreatinine": []any{json.Number("1"), "A"}, "highBloodPressure": false,
			},
		},
		{
			name: "literal, variables left to their defaults", value: literal,
			want: map[string]any{
				"age": json.Number("7"), "serumSodium": json.Number("1.5e2"), "ejectionFraction": json.Number("35"), "sex": nil,
				"platelets": "x", "creatininePhosphokinase": nil, "serumCreatinine": []any{json.Number("1"), "A"}, "highBloodPressure": false,
			},
		},
		{name: "a variable as sent", value: variable, vars: map[string]any{"in": sent}, want: sent},
		{name: "a variable not sent", value: variable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := receivedValue(tt.value, tt.vars, op.VariableDefinitions); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("receivedValue = %#v, want %#v", got, tt.want)
			}
		})
	}
}

// refusalClient sends requests to a handler as a client does, through the
// middleware that puts the token in the request's context and writes its
// log line.
type refusalClient struct {
	h     http.Handler
	token string
}

// refusalAnswer is an answer and the error codes of its log line.
type refusalAnswer struct {
	Data   json.RawMessage `json:"data"`
	Errors []struct {
		Path       []any          `json:"path"`
		Extensions map[string]any `json:"extensions"`
	} `json:"errors"`
	logged []string
}

func (a refusalAnswer) codes() []string {
	var codes []string
	for _, e := range a.Errors {
		code, _ := e.Extensions["code"].(string)
		codes = append(codes, code)
	}
	return codes
}

// fields lists the fields the first error names, as field:reason, sorted.
func (a refusalAnswer) fields() []string {
	if len(a.Errors) == 0 {
		return nil
	}
	list, _ := a.Errors[0].Extensions["fields"].([]any)
	var fields []string
	for _, f := range list {
		f, _ := f.(map[string]any)
		fields = append(fields, fmt.Sprintf("%v:%v", f["field"], f["reason"]))
	}
	slices.Sort(fields)
	return fields
}

// refusalRequest is one GraphQL request. byHash sends the document by its
// SHA-256 alone, as a client of automatic persisted queries does once the
// server holds it (persist).
type refusalRequest struct {
	query         string
	operationName string
	variables     map[string]any
	anonymous     bool
	byHash        bool
}

func persistedQuery(query string) map[string]any {
	sum := sha256.Sum256([]byte(query))
	return map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hex.EncodeToString(sum[:])}}
}

// persist sends query with its hash, for the server to keep.
func (c *refusalClient) persist(t *testing.T, query string) {
	t.Helper()
	c.post(t, map[string]any{"query": query, "extensions": persistedQuery(query)}, true)
}

func (c *refusalClient) send(t *testing.T, req refusalRequest) refusalAnswer {
	t.Helper()
	body := map[string]any{"query": req.query, "variables": req.variables}
	if req.byHash {
		body = map[string]any{"extensions": persistedQuery(req.query), "variables": req.variables}
	}
	if req.operationName != "" {
		body["operationName"] = req.operationName
	}
	return c.post(t, body, !req.anonymous)
}

func (c *refusalClient) post(t *testing.T, body map[string]any, withToken bool) refusalAnswer {
	t.Helper()
	raw, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, "/query", bytes.NewReader(raw))
	r.Header.Set("Content-Type", "application/json")
	if withToken && c.token != "" {
		r.Header.Set("Authorization", "Bearer "+c.token)
	}
	var logLine bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logLine, nil))
	rec := httptest.NewRecorder()
	httpserver.AccessLog(logger)(httpserver.BearerToken(c.h)).ServeHTTP(rec, r)
	var a refusalAnswer
	if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
		t.Fatalf("the answer is not JSON: %v: %.300s", err, rec.Body.String())
	}
	var line struct {
		ErrorCodes []string `json:"error_codes"`
	}
	if err := json.Unmarshal(logLine.Bytes(), &line); err != nil {
		t.Fatalf("the log line is not JSON: %v: %s", err, logLine.String())
	}
	a.logged = line.ErrorCodes
	return a
}

// signIn registers a user and keeps its token for the requests to come.
func (c *refusalClient) signIn(t *testing.T) {
	t.Helper()
	vars := map[string]any{"u": "refused", "p": "correct horse battery"}
	reg := c.post(t, map[string]any{
		"query":     `mutation($u: String!, $p: String!) { registerUser(input: {username: $u, password: $p, email: "r@example.com"}) { user { id } } }`,
		"variables": vars,
	}, false)
	tok := c.post(t, map[string]any{
		"query":     `mutation($u: String!, $p: String!) { token(input: {username: $u, password: $p}) { token } }`,
		"variables": vars,
	}, false)
	var data struct{ Token struct{ Token string } }
	if len(reg.Errors) > 0 || len(tok.Errors) > 0 || json.Unmarshal(tok.Data, &data) != nil || data.Token.Token == "" {
		t.Fatalf("signing in: %v %v %s", reg.codes(), tok.codes(), tok.Data)
	}
	c.token = data.Token.Token
}

// history counts the caller's logged requests.
func (c *refusalClient) history(t *testing.T) int {
	t.Helper()
	a := c.post(t, map[string]any{"query": `{ me { requests { totalCount } } }`}, true)
	var data struct {
		Me struct{ Requests struct{ TotalCount int } }
	}
	if len(a.Errors) > 0 || json.Unmarshal(a.Data, &data) != nil {
		t.Fatalf("history: %v %s", a.codes(), a.Data)
	}
	return data.Me.Requests.TotalCount
}

// The seed example's fields but age and sex, for literals.
const otherFields = `creatininePhosphokinase: 1000, ejectionFraction: 35, platelets: 500000, serumCreatinine: 8, serumSodium: 135, highBloodPressure: false`

// refusedLiteralPredict is a predict whose literal GraphQL refuses: age is
// a string.
const refusedLiteralPredict = `mutation { predict(input: {age: "old", sex: true, ` + otherFields + `}) { yhat } }`

// TestRefusalsInTheHandler runs refusals in the handler newServer builds.
// It fails if newServer adds receivedParams after documents (a refused
// literal would stand as GraphQL's validation error, unlogged) or
// variableRefusals before annotateLog (the log line would carry the code of
// the error the refusal replaced).
func TestRefusalsInTheHandler(t *testing.T) {
	t.Parallel()
	h, _ := newTestServer(t, Limits{})
	c := &refusalClient{h: h}
	c.signIn(t)
	seed := func(changes map[string]any) map[string]any {
		in := map[string]any{
			"age": 25, "creatininePhosphokinase": 1000, "ejectionFraction": 35, "platelets": 500000,
			"serumCreatinine": 8, "serumSodium": 135, "sex": true, "highBloodPressure": false,
		}
		maps.Copy(in, changes)
		return in
	}
	const byVariable = `mutation($in: PredictInput!) { predict(input: $in) { yhat } }`
	var unknownFields strings.Builder
	for i := range 25 {
		fmt.Fprintf(&unknownFields, "bogus%d: 1, ", i)
	}
	tests := []struct {
		name       string
		req        refusalRequest
		wantCodes  []string // of the answer, and of its log line
		wantFields []string
		wantPath   []any
		wantLogged int // requests added to the caller's history
	}{
		{
			name:       "a valid predict",
			req:        refusalRequest{query: byVariable, variables: map[string]any{"in": seed(nil)}},
			wantLogged: 1,
		},
		{
			name:       "a variable with two bad fields",
			req:        refusalRequest{query: byVariable, variables: map[string]any{"in": seed(map[string]any{"age": "old", "sex": 1})}},
			wantCodes:  []string{"BAD_USER_INPUT"},
			wantFields: []string{"age:wrong_type", "sex:wrong_type"},
			wantPath:   []any{"variable", "in"},
			wantLogged: 1,
		},
		{
			name:       "a literal with a bad field",
			req:        refusalRequest{query: refusedLiteralPredict},
			wantCodes:  []string{"BAD_USER_INPUT"},
			wantFields: []string{"age:wrong_type"},
			wantPath:   []any{"predict"},
			wantLogged: 1,
		},
		{
			// gqlgen leaves the operation's name unset when validation
			// fails: the name comes from the request itself.
			name: "a literal with a bad field, in the named one of two operations",
			req: refusalRequest{
				query:         "query Q { model { version } }\n" + strings.Replace(refusedLiteralPredict, "mutation", "mutation M", 1),
				operationName: "M",
			},
			wantCodes:  []string{"BAD_USER_INPUT"},
			wantFields: []string{"age:wrong_type"},
			wantPath:   []any{"predict"},
			wantLogged: 1,
		},
		{
			name:       "a literal with a bad field, by hash",
			req:        refusalRequest{query: refusedLiteralPredict, byHash: true},
			wantCodes:  []string{"BAD_USER_INPUT"},
			wantFields: []string{"age:wrong_type"},
			wantPath:   []any{"predict"},
			wantLogged: 1,
		},
		{
			name:      "a literal with a bad field, anonymous",
			req:       refusalRequest{query: refusedLiteralPredict, anonymous: true},
			wantCodes: []string{"UNAUTHENTICATED"},
			wantPath:  []any{"predict"},
		},
		{
			name:      "a literal with a bad field, and a fault elsewhere",
			req:       refusalRequest{query: strings.Replace(refusedLiteralPredict, "{ yhat }", "{ yhat nope }", 1)},
			wantCodes: []string{"GRAPHQL_VALIDATION_FAILED", "GRAPHQL_VALIDATION_FAILED"},
		},
		{
			name:      "a literal with more errors than an answer holds",
			req:       refusalRequest{query: `mutation { predict(input: {` + unknownFields.String() + `age: 25, sex: true, ` + otherFields + `}) { yhat } }`},
			wantCodes: append(slices.Repeat([]string{"GRAPHQL_VALIDATION_FAILED"}, DefaultLimits().MaxErrors), codeTooManyErrors),
		},
		{
			name:      "a bad variable of another type",
			req:       refusalRequest{query: `mutation($e: Boolean!) { setUserEnabled(userId: "VXNlcjox", enabled: $e) { id } }`, variables: map[string]any{"e": "yes"}},
			wantCodes: []string{"BAD_USER_INPUT"},
			wantPath:  []any{"variable", "e"},
		},
	}
	// In turn: each case counts what it adds to one history.
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.req.byHash {
				c.persist(t, tt.req.query)
			}
			before := c.history(t)
			a := c.send(t, tt.req)
			if got := a.codes(); !slices.Equal(got, tt.wantCodes) {
				t.Errorf("codes %v, want %v: %s", got, tt.wantCodes, a.Data)
			}
			if !slices.Equal(a.logged, tt.wantCodes) {
				t.Errorf("the log line's codes %v, want %v", a.logged, tt.wantCodes)
			}
			if got := a.fields(); !slices.Equal(got, tt.wantFields) {
				t.Errorf("fields %v, want %v", got, tt.wantFields)
			}
			if tt.wantPath != nil && (len(a.Errors) == 0 || !reflect.DeepEqual(a.Errors[0].Path, tt.wantPath)) {
				t.Errorf("errors %+v, want the first at %v", a.Errors, tt.wantPath)
			}
			if got := c.history(t) - before; got != tt.wantLogged {
				t.Errorf("%d requests logged, want %d", got, tt.wantLogged)
			}
		})
	}
}

// orderedServer is the part of newServer refusals take part in, with the
// extensions added in the order given.
func orderedServer(t *testing.T, order []string) http.Handler {
	t.Helper()
	resolver := newTestResolver(t)
	present := errorPresenter(slog.New(slog.DiscardHandler))
	limits := Limits{MaxErrors: 3}.withDefaults()
	schema := NewExecutableSchema(Config{Resolvers: resolver})
	persisted, err := gqlhttp.NewPersisted(gqlhttp.PersistedOptions{Automatic: true, CacheBytes: 1 << 20}, schema.Schema())
	if err != nil {
		t.Fatal(err)
	}
	docs := newDocuments(schema.Schema(), limits, validationRules)
	extensions := map[string]graphql.HandlerExtension{
		"persisted":        persisted,
		"receivedParams":   receivedParams{},
		"documents":        docs,
		"variableRefusals": variableRefusals{resolver: resolver, present: present},
		"capErrors":        capErrors{max: limits.MaxErrors, present: present},
	}
	srv := handler.New(schema)
	srv.AddTransport(gqlhttp.Transport{MaxResponseBytes: limits.MaxResponseBytes})
	srv.SetQueryCache(docs)
	srv.SetErrorPresenter(present)
	for _, name := range order {
		srv.Use(extensions[name])
	}
	return srv
}

// TestRefusalsWhateverTheOrder: what refusals.go says may come in either
// order does.
func TestRefusalsWhateverTheOrder(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		order []string
	}{
		{name: "as newServer adds them", order: []string{"persisted", "receivedParams", "documents", "variableRefusals", "capErrors"}},
		{name: "receivedParams before persisted", order: []string{"receivedParams", "persisted", "documents", "variableRefusals", "capErrors"}},
		{name: "capErrors before variableRefusals", order: []string{"persisted", "receivedParams", "documents", "capErrors", "variableRefusals"}},
		{name: "both", order: []string{"receivedParams", "persisted", "documents", "capErrors", "variableRefusals"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := &refusalClient{h: orderedServer(t, tt.order)}
			c.signIn(t)

			c.persist(t, refusedLiteralPredict)
			before := c.history(t)
			a := c.send(t, refusalRequest{query: refusedLiteralPredict, byHash: true})
			if got := a.fields(); !slices.Equal(a.codes(), []string{"BAD_USER_INPUT"}) || !slices.Equal(got, []string{"age:wrong_type"}) {
				t.Errorf("a refused literal by hash: codes %v, fields %v; want BAD_USER_INPUT naming age", a.codes(), got)
			}
			if got := c.history(t) - before; got != 1 {
				t.Errorf("%d requests logged, want 1", got)
			}

			// Eight fields missing: validation stops at three errors, and
			// its errors stand.
			before = c.history(t)
			a = c.send(t, refusalRequest{query: `mutation { predict(input: {}) { yhat } }`})
			want := []string{"GRAPHQL_VALIDATION_FAILED", "GRAPHQL_VALIDATION_FAILED", "GRAPHQL_VALIDATION_FAILED", codeTooManyErrors}
			if !slices.Equal(a.codes(), want) {
				t.Errorf("a literal with too many errors: codes %v, want %v", a.codes(), want)
			}
			if got := c.history(t) - before; got != 0 {
				t.Errorf("%d requests logged, want none", got)
			}
		})
	}
}
