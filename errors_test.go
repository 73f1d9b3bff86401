package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/client"

	"github.com/mlapi/mlapi/internal/config"
	"github.com/mlapi/mlapi/internal/store"
	"github.com/mlapi/mlapi/internal/store/storetest"
)

// Errors and refusals: the code each mistake gets, the fields a refused
// input names, and what a refusal leaves in the history and the tables.

func TestErrorCodes(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, store.SQLite)
	_, token := api.user(t, "grace")
	outOfRange := seedInput()
	outOfRange["age"] = -1
	outOfRange["ejectionFraction"] = 400

	tests := []struct {
		name     string
		token    string
		query    string
		vars     map[string]any
		wantCode string
		check    func(t *testing.T, resp gqlResponse)
	}{
		{name: "predict without a token", query: predictMutation, vars: map[string]any{"in": seedInput()}, wantCode: "UNAUTHENTICATED"},
		{name: "me with a garbage token", token: "a.b.c", query: `{ me { id } }`, wantCode: "UNAUTHENTICATED"},
		{name: "history without a token", query: `{ me { requests { totalCount } } }`, wantCode: "UNAUTHENTICATED"},
		{name: "admin operation by a user", token: token, query: `mutation { setUserEnabled(userId: "1", enabled: false) { id } }`, wantCode: "FORBIDDEN"},
		{name: "delete by a user", token: token, query: `mutation { deleteUser(userId: "1") }`, wantCode: "FORBIDDEN"},
		{
			name: "every out-of-range field named", token: token, query: predictMutation, vars: map[string]any{"in": outOfRange}, wantCode: "BAD_USER_INPUT",
			check: func(t *testing.T, resp gqlResponse) {
				var names []string
				for _, f := range resp.Errors[0].Extensions.Fields {
					names = append(names, f.Field)
				}
				if !slices.Equal(names, []string{"age", "ejectionFraction"}) {
					t.Errorf("fields %v, want age and ejectionFraction", names)
				}
			},
		},
		{name: "missing variable field", token: token, query: predictMutation, vars: map[string]any{"in": map[string]any{"age": 50}}, wantCode: "BAD_USER_INPUT"},
		{
			name: "username taken, in another case", query: registerMutation, vars: map[string]any{"u": "GRACE", "p": "another password", "e": "g@example.com"}, wantCode: "CONFLICT",
			check: func(t *testing.T, resp gqlResponse) {
				if strings.ContainsAny(resp.Errors[0].Message, "0123456789") {
					t.Errorf("conflict message reveals an id: %q", resp.Errors[0].Message)
				}
			},
		},
		{name: "short password", query: registerMutation, vars: map[string]any{"u": "newbie", "p": "short", "e": "n@example.com"}, wantCode: "BAD_USER_INPUT"},
		{name: "wrong password", query: tokenMutation, vars: map[string]any{"u": "grace", "p": "wrong password!"}, wantCode: "UNAUTHENTICATED"},
		{name: "unknown user", query: tokenMutation, vars: map[string]any{"u": "nobody", "p": "wrong password!"}, wantCode: "UNAUTHENTICATED"},
		{name: "page too large", token: token, query: `{ me { requests(first: 101) { totalCount } } }`, wantCode: "BAD_USER_INPUT"},
		{name: "bad cursor", token: token, query: `{ me { requests(after: "not-a-cursor") { totalCount } } }`, wantCode: "BAD_USER_INPUT"},
		{name: "bad id", token: token, query: `{ request(id: "x") { id } }`, wantCode: "BAD_USER_INPUT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := api.post(t, tt.token, tt.query, vars(tt.vars))
			if resp.code() != tt.wantCode {
				t.Fatalf("code %q, want %q: %s", resp.code(), tt.wantCode, resp.Raw)
			}
			if tt.check != nil {
				tt.check(t, resp)
			}
		})
	}
	// Same answer for an unknown user and a wrong password.
	unknown := api.post(t, "", tokenMutation, client.Var("u", "nobody"), client.Var("p", "wrong password!"))
	wrong := api.post(t, "", tokenMutation, client.Var("u", "grace"), client.Var("p", "wrong password!"))
	if len(unknown.Errors) == 0 || len(wrong.Errors) == 0 || unknown.Errors[0].Message != wrong.Errors[0].Message {
		t.Errorf("unknown user %s vs wrong password %s", unknown.Raw, wrong.Raw)
	}
}

// TestErrorCodesForClientMistakes: each is the client's to mend, with a
// code saying what, and only the operations that need a token fail for a
// bad Authorization header.
func TestErrorCodesForClientMistakes(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, store.SQLite, func(c *config.Config) { c.Introspection = false })
	_, token := api.user(t, "ada")
	tests := []struct {
		name, authorization, query string
		wantCode                   string
		wantField                  string // a field answered despite the error
	}{
		{name: "introspection off", query: `{ __schema { types { name } } }`, wantCode: "INTROSPECTION_DISABLED"},
		{name: "__type off too", query: `{ model { version } __type(name: "Query") { name } }`, wantCode: "INTROSPECTION_DISABLED"},
		{name: "__typename still answers", query: `{ __typename model { version } }`, wantField: "model"},
		{name: "a bad since", authorization: "Bearer " + token, query: `{ me { requests(since: "yesterday") { totalCount } } }`, wantCode: "BAD_USER_INPUT"},
		{name: "empty Bearer: token still works", authorization: "Bearer ", query: `mutation { token(input: {username: "ada", password: "correct horse battery"}) { token } }`, wantField: "token"},
		{name: "empty Bearer: registerUser still works", authorization: "Bearer ", query: `mutation { registerUser(input: {username: "bea", password: "correct horse battery", email: "bea@example.com"}) { user { id } } }`, wantField: "registerUser"},
		{name: "malformed header: model still works", authorization: "Basic a b", query: `{ model { version } }`, wantField: "model"},
		{name: "malformed header: me fails", authorization: "Basic a b", query: `{ me { username } }`, wantCode: "UNAUTHENTICATED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var options []client.Option
			if tt.authorization != "" {
				options = append(options, client.AddHeader("Authorization", tt.authorization))
			}
			resp := api.post(t, "", tt.query, options...)
			if got := resp.code(); got != tt.wantCode {
				t.Errorf("code %q, want %q: %s", got, tt.wantCode, resp.Raw)
			}
			if tt.wantField != "" {
				var answered any
				if resp.decode(tt.wantField, &answered) != nil || answered == nil {
					t.Errorf("no %s in %s", tt.wantField, resp.Raw)
				}
			}
		})
	}
	for _, entry := range api.logLines(t) {
		if entry.Level == "ERROR" {
			t.Errorf("a client's mistake was logged as a server error: %+v", entry)
		}
	}
}

func TestRefusedInputIsLogged(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		api := newTestAPI(t, dialect)
		_, token := api.user(t, "lin")
		in := seedInput()
		in["serumSodium"] = 1000
		if resp := api.post(t, token, predictMutation, client.Var("in", in)); resp.code() != "BAD_USER_INPUT" {
			t.Fatalf("predict: %s", resp.Raw)
		}
		resp := api.post(t, token, `{ me { requests { totalCount edges { node { input response { status errorCode yhatProb } } } } } }`)
		var me struct {
			Requests struct {
				TotalCount int
				Edges      []struct {
					Node struct {
						Input    map[string]any
						Response struct {
							Status    string
							ErrorCode *string
							YhatProb  *json.Number
						}
					}
				}
			}
		}
		resp.field(t, "me", &me)
		if me.Requests.TotalCount != 1 || len(me.Requests.Edges) != 1 {
			t.Fatalf("refused request's log: %s", resp.Raw)
		}
		node := me.Requests.Edges[0].Node
		if r := node.Response; r.Status != "INVALID_INPUT" || r.ErrorCode == nil || *r.ErrorCode != "BAD_USER_INPUT" || r.YhatProb != nil ||
			node.Input["serum_sodium"] != float64(1000) {
			t.Errorf("refused request's log: %s", resp.Raw)
		}
	})
}

// A predict input refused by GraphQL's own variable coercion gets what a
// refusal by the model gets: every offending field named, and a log entry.
func TestVariableRefusals(t *testing.T) {
	t.Parallel()
	with := func(changes map[string]any, drop ...string) map[string]any {
		in := seedInput()
		maps.Copy(in, changes)
		for _, name := range drop {
			delete(in, name)
		}
		return in
	}
	tests := []struct {
		name       string
		anonymous  bool
		in         any
		wantCode   string
		wantFields []string // field:reason as presented
		wantLogged bool
	}{
		{
			name:     "every kind of problem at once",
			in:       with(map[string]any{"age": "old", "ejectionFraction": 400, "sex": 1, "bmi": 22}, "platelets", "serumSodium"),
			wantCode: "BAD_USER_INPUT", wantLogged: true,
			wantFields: []string{"age:wrong_type", "bmi:unknown_field", "ejectionFraction:out_of_range", "platelets:missing", "serumSodium:missing", "sex:wrong_type"},
		},
		{
			name: "a feature's own name is not its field", in: with(map[string]any{"serum_sodium": 135}, "serumSodium"),
			wantCode: "BAD_USER_INPUT", wantLogged: true, wantFields: []string{"serumSodium:missing", "serum_sodium:unknown_field"},
		},
		{name: "null", in: with(map[string]any{"age": nil}), wantCode: "BAD_USER_INPUT", wantLogged: true, wantFields: []string{"age:missing"}},
		{name: "a number for a boolean", in: with(map[string]any{"highBloodPressure": 0}), wantCode: "BAD_USER_INPUT", wantLogged: true, wantFields: []string{"highBloodPressure:wrong_type"}},
		{name: "beyond float64", in: with(map[string]any{"platelets": json.Number("1e400")}), wantCode: "BAD_USER_INPUT", wantLogged: true, wantFields: []string{"platelets:non_finite"}},
		{name: "without a token", anonymous: true, in: with(map[string]any{"age": "old"}), wantCode: "UNAUTHENTICATED"},
		{name: "not an object", in: 5, wantCode: "BAD_USER_INPUT"},
	}
	// Inline, a literal GraphQL refuses is refused and logged like a
	// variable: every authenticated predict leaves a request and a response.
	inlineTests := []struct {
		name, document string
		wantCode       string
		wantFields     []string // empty: GraphQL's own errors stand
		wantLogged     bool
	}{
		{
			name: "wrong literals", wantCode: "BAD_USER_INPUT", wantLogged: true,
			document:   `mutation { predict(input: {age: "old", creatininePhosphokinase: 1000, ejectionFraction: 35, platelets: 500000, serumCreatinine: 8, serumSodium: 135, sex: 1, bmi: 22}) { id } }`,
			wantFields: []string{"age:wrong_type", "bmi:unknown_field", "highBloodPressure:missing", "sex:wrong_type"},
		},
		{
			name: "a string is no Float in a literal", wantCode: "BAD_USER_INPUT", wantLogged: true,
			document:   `mutation { predict(input: {age: "35", creatininePhosphokinase: 1000, ejectionFraction: 35, platelets: 500000, serumCreatinine: 8, serumSodium: 135, sex: true, highBloodPressure: false}) { id } }`,
			wantFields: []string{"age:wrong_type"},
		},
		{
			name: "another fault in the document runs nothing", wantCode: "GRAPHQL_VALIDATION_FAILED",
			document: `mutation { predict(input: {age: "old", creatininePhosphokinase: 1000, ejectionFraction: 35, platelets: 500000, serumCreatinine: 8, serumSodium: 135, sex: true, highBloodPressure: false}) { id nope } }`,
		},
	}
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		api := newTestAPI(t, dialect)
		_, token := api.user(t, "noor")
		refusals := func(t *testing.T) int {
			t.Helper()
			return api.count(t, "responses WHERE status = 'invalid_input'")
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				caller := token
				if tt.anonymous {
					caller = ""
				}
				before := refusals(t)
				resp := api.post(t, caller, predictMutation, client.Var("in", tt.in))
				if resp.code() != tt.wantCode || len(resp.Errors) != 1 || len(resp.Data) != 0 {
					t.Fatalf("code %q, want one %s error and no data: %s", resp.code(), tt.wantCode, resp.Raw)
				}
				got := resp.fields()
				if tt.wantFields != nil && !slices.Equal(got, tt.wantFields) {
					t.Errorf("fields %v, want %v", got, tt.wantFields)
				}
				if tt.wantFields != nil && fmt.Sprint(resp.Errors[0].Path) != "[variable in]" {
					t.Errorf("path %v, want [variable in]", resp.Errors[0].Path)
				}
				if logged := refusals(t) - before; logged != map[bool]int{true: 1}[tt.wantLogged] {
					t.Errorf("%d refusals logged, want logged=%v", logged, tt.wantLogged)
				}
			})
		}
		for _, tt := range inlineTests {
			t.Run("inline: "+tt.name, func(t *testing.T) {
				before := refusals(t)
				resp := api.post(t, token, tt.document)
				if resp.code() != tt.wantCode || len(resp.Data) != 0 {
					t.Fatalf("code %q, want %s and no data: %s", resp.code(), tt.wantCode, resp.Raw)
				}
				got := resp.fields()
				slices.Sort(got)
				if !slices.Equal(got, tt.wantFields) {
					t.Errorf("fields %v, want %v", got, tt.wantFields)
				}
				if logged := refusals(t) - before; logged != map[bool]int{true: 1}[tt.wantLogged] {
					t.Errorf("%d refusals logged, want logged=%v", logged, tt.wantLogged)
				}
			})
		}
		// The access log reports the refusal, not the coercion error it replaced.
		codes := map[string]bool{}
		for _, entry := range api.logLines(t) {
			codes[strings.Join(entry.ErrorCodes, ",")] = true
		}
		if !codes["UNAUTHENTICATED"] || !codes["BAD_USER_INPUT"] {
			t.Errorf("access log lacks the refusals' codes:\n%s", api.logs.String())
		}
		// The log keeps what was sent, unknown fields included.
		resp := api.post(t, token, `{ me { requests(first: 100) { edges { node { input } } } } }`)
		var me struct {
			Requests struct {
				Edges []struct {
					Node struct{ Input json.RawMessage }
				}
			}
		}
		resp.field(t, "me", &me)
		var keptText, keptUnknown bool
		for _, e := range me.Requests.Edges {
			// As numbers: one input holds 1e400, which no float64 does.
			var in map[string]any
			d := json.NewDecoder(bytes.NewReader(e.Node.Input))
			d.UseNumber()
			if err := d.Decode(&in); err != nil {
				continue // an input that is not an object, as sent
			}
			keptText = keptText || in["age"] == "old"
			keptUnknown = keptUnknown || in["bmi"] == json.Number("22")
		}
		if !keptText || !keptUnknown {
			t.Errorf("logged inputs: %s", resp.Raw)
		}
	})
}

// inlinePredict is predict with its input written in the document, each
// field's literal as given (seed values for the others).
func inlinePredict(literals map[string]string) string {
	fields := map[string]string{
		"age": "25", "creatininePhosphokinase": "1000", "ejectionFraction": "35", "platelets": "500000",
		"serumCreatinine": "8", "serumSodium": "135", "sex": "true", "highBloodPressure": "false",
	}
	maps.Copy(fields, literals)
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		parts = append(parts, name+": "+fields[name])
	}
	return `mutation { predict(input: {` + strings.Join(parts, ", ") + `}) { id yhatProb } }`
}

// Every authenticated predict leaves a request and a response row, whatever
// numbers it sends, and the request row holds the input as it was sent:
// numbers with their text, not read back from float32.
func TestInputsAreLoggedAsReceived(t *testing.T) {
	t.Parallel()
	with := func(changes map[string]any) map[string]any {
		in := seedInput()
		maps.Copy(in, changes)
		return in
	}
	tests := []struct {
		name       string
		query      string         // an inline document; empty means predictMutation with vars
		in         map[string]any // the variable's value
		wantFields []string       // field:reason; none means a prediction
		wantStored []string       // in the request row's input
		wantStatus string
	}{
		{
			name: "a number float32 would change, as a variable", in: with(map[string]any{"serumCreatinine": json.Number("1.00000001")}),
			wantStatus: "ok", wantStored: []string{`"serum_creatinine":1.00000001`, `"age":25`},
		},
		{
			name: "a number float32 would change, inline", query: inlinePredict(map[string]string{"serumCreatinine": "1.00000001", "age": "2.5e1"}),
			wantStatus: "ok", wantStored: []string{`"serum_creatinine":1.00000001`, `"age":2.5e1`, `"sex":true`},
		},
		{
			name: "130.00001 is refused and logged as sent", in: with(map[string]any{"age": json.Number("130.00001")}),
			wantFields: []string{"age:out_of_range"}, wantStatus: "invalid_input", wantStored: []string{`"age":130.00001`},
		},
		{
			name: "NaN as a string", in: with(map[string]any{"age": "NaN"}),
			wantFields: []string{"age:non_finite"}, wantStatus: "invalid_input", wantStored: []string{`"age":"NaN"`},
		},
		{
			name: "Infinity as a string", in: with(map[string]any{"platelets": "Infinity", "serumSodium": "-Infinity"}),
			wantFields: []string{"platelets:non_finite", "serumSodium:non_finite"}, wantStatus: "invalid_input",
			wantStored: []string{`"platelets":"Infinity"`, `"serum_sodium":"-Infinity"`},
		},
		{
			name: "beyond float32, as a variable", in: with(map[string]any{"age": json.Number("1e39"), "platelets": json.Number("1e308")}),
			wantFields: []string{"age:out_of_range", "platelets:out_of_range"}, wantStatus: "invalid_input",
			wantStored: []string{`"age":1e39`, `"platelets":1e308`},
		},
		{
			name: "beyond float32, inline", query: inlinePredict(map[string]string{"age": "-1e39", "platelets": "1e308"}),
			wantFields: []string{"age:out_of_range", "platelets:out_of_range"}, wantStatus: "invalid_input",
			wantStored: []string{`"age":-1e39`, `"platelets":1e308`},
		},
		{
			name: "beyond float32, as a string", in: with(map[string]any{"ejectionFraction": "1e39"}),
			wantFields: []string{"ejectionFraction:out_of_range"}, wantStatus: "invalid_input", wantStored: []string{`"ejection_fraction":"1e39"`},
		},
		{
			name: "beyond float32 with a coercion error", in: with(map[string]any{"age": json.Number("1e39"), "sex": 1}),
			wantFields: []string{"age:out_of_range", "sex:wrong_type"}, wantStatus: "invalid_input", wantStored: []string{`"age":1e39`, `"sex":1`},
		},
		{
			name:  "inline fields and variables mixed",
			query: `mutation($a: Float!) { predict(input: {age: $a, creatininePhosphokinase: 1000.0, ejectionFraction: 35, platelets: 5e5, serumCreatinine: 8, serumSodium: 135, sex: true, highBloodPressure: false}) { id } }`,
			in:    map[string]any{"a": json.Number("1e39")}, wantFields: []string{"age:out_of_range"}, wantStatus: "invalid_input",
			wantStored: []string{`"age":1e39`, `"creatinine_phosphokinase":1000.0`, `"platelets":5e5`},
		},
		{
			name:       "a variable's default value",
			query:      `mutation($in: PredictInput! = {age: 1e39, creatininePhosphokinase: 1000, ejectionFraction: 35, platelets: 500000, serumCreatinine: 8.50, serumSodium: 135, sex: true, highBloodPressure: false}) { predict(input: $in) { id } }`,
			wantFields: []string{"age:out_of_range"}, wantStatus: "invalid_input", wantStored: []string{`"age":1e39`, `"serum_creatinine":8.50`},
		},
	}
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		api := newTestAPI(t, dialect)
		_, token := api.user(t, "ines")
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				requests, responses := api.count(t, "requests"), api.count(t, "responses")
				var resp gqlResponse
				switch {
				case tt.query == "":
					resp = api.post(t, token, predictMutation, client.Var("in", tt.in))
				default:
					resp = api.post(t, token, tt.query, vars(tt.in))
				}
				if got := resp.fields(); !slices.Equal(got, tt.wantFields) {
					t.Errorf("fields %v, want %v: %s", got, tt.wantFields, resp.Raw)
				}
				if tt.wantFields != nil && (resp.code() != "BAD_USER_INPUT" || len(resp.Errors) != 1) {
					t.Errorf("want one BAD_USER_INPUT error: %s", resp.Raw)
				}
				if tt.wantFields == nil && len(resp.Errors) != 0 {
					t.Errorf("want a prediction: %s", resp.Raw)
				}
				if api.count(t, "requests") != requests+1 || api.count(t, "responses") != responses+1 {
					t.Fatalf("want one request and one response row")
				}
				// The stored text itself is the point: how each number was
				// written, which decoding would normalise.
				input, _, status := api.lastLogged(t)
				if status != tt.wantStatus {
					t.Errorf("status %s, want %s", status, tt.wantStatus)
				}
				for _, want := range tt.wantStored {
					if !strings.Contains(input, want) {
						t.Errorf("stored input %s lacks %s", input, want)
					}
				}
				if !json.Valid([]byte(input)) {
					t.Errorf("stored input is not JSON: %s", input)
				}
			})
		}
	})
}
