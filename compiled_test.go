package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/mlapi/mlapi/internal/config"
	"github.com/mlapi/mlapi/internal/store/storetest"
)

// TestCompiledPredictsAnswerAsTheExecutor sends the same requests, in the
// same order, to two servers on databases of their own: one answering
// repeated predict documents on the compiled path, one with it off, every
// operation through gqlgen's executor. Each request is sent twice, since a
// document is compiled only once the executor has answered it. The two must
// give the same status and body (request and response ids included, times
// aside), log the same rows, and the compiled one must have taken the
// compiled path exactly where it applies.
func TestCompiledPredictsAnswerAsTheExecutor(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		compiled := newTestAPI(t, dialect)
		interpreted := newTestAPI(t, dialect, func(c *config.Config) { c.CompiledPredicts = false })
		type server struct {
			api   *testAPI
			token string
		}
		servers := []*server{{api: compiled}, {api: interpreted}}
		for _, s := range servers {
			_, s.token = s.api.user(t, "ada")
		}

		const predict = `mutation($in: PredictInput!) { predict(input: $in) { id requestId yhatProb yhat modelVersion createdAt } }`
		const aliased = `query Q { model { version } } mutation P($x: PredictInput!) { p: predict(input: $x) { __typename m: margin yhat id } }`
		with := func(change map[string]any) map[string]any {
			in := seedInput()
			for k, v := range change {
				if v == nil {
					delete(in, k)
				} else {
					in[k] = v
				}
			}
			return in
		}
		type request struct {
			query, operation string
			variables        map[string]any
			extensions       map[string]any
			token            string // "" is the user's own; "-" none
		}
		seed := map[string]any{"in": seedInput()}
		tests := []struct {
			name     string
			req      request
			compiled bool // takes the compiled path once the document was answered without error
		}{
			{name: "the seed example", req: request{query: predict, variables: seed}, compiled: true},
			{name: "aliases, __typename, a named operation among two", req: request{query: aliased, operation: "P", variables: map[string]any{"x": seedInput()}}, compiled: true},
			{name: "an input the model refuses", req: request{query: predict, variables: map[string]any{"in": with(map[string]any{"age": 200, "platelets": -1})}}, compiled: true},
			{name: "a Float past float32", req: request{query: predict, variables: map[string]any{"in": with(map[string]any{"age": json.Number("1e39")})}}, compiled: true},
			{name: "a Float as a string", req: request{query: predict, variables: map[string]any{"in": with(map[string]any{"age": "75"})}}},
			{name: "a Boolean as a number", req: request{query: predict, variables: map[string]any{"in": with(map[string]any{"sex": 1})}}},
			{name: "a field missing", req: request{query: predict, variables: map[string]any{"in": with(map[string]any{"age": nil})}}},
			{name: "an unknown field", req: request{query: predict, variables: map[string]any{"in": with(map[string]any{"weight": 80})}}},
			{name: "a null field", req: request{query: predict, variables: map[string]any{"in": map[string]any{"age": nil}}}},
			{name: "an extra variable", req: request{query: predict, variables: map[string]any{"in": seedInput(), "other": 1}}},
			{name: "no token", req: request{query: predict, variables: seed, token: "-"}},
			{name: "a forged token", req: request{query: predict, variables: seed, token: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"}},
			{name: "a selection the compiled path leaves to the executor", req: request{query: `mutation($in: PredictInput!) { predict(input: $in) { id request { id } } }`, variables: seed}},
			{name: "an input written in the document", req: request{query: `mutation { predict(input: {age: 75, creatininePhosphokinase: 582, ejectionFraction: 20, platelets: 265000, serumCreatinine: 1.9, serumSodium: 130, sex: true, highBloodPressure: true}) { id yhatProb } }`}},
			{name: "extensions", req: request{query: predict, variables: seed, extensions: map[string]any{"tracing": true}}},
		}
		// The documents the executor has answered without an error: the
		// compiled ones.
		learned := map[string]bool{}
		for _, tt := range tests {
			key := tt.req.operation + "\x00" + tt.req.query
			for sending := 1; sending <= 2; sending++ {
				var answers [2]rawAnswer
				for i, s := range servers {
					token := tt.req.token
					switch token {
					case "":
						token = s.token
					case "-":
						token = ""
					}
					answers[i] = s.api.raw(t, token, tt.req.query, tt.req.operation, tt.req.variables, tt.req.extensions)
				}
				if answers[0].status != answers[1].status || answers[0].normalized() != answers[1].normalized() {
					t.Errorf("%s, sending %d: compiled answered %d %s\nthe executor answered %d %s", tt.name, sending,
						answers[0].status, answers[0].body, answers[1].status, answers[1].body)
				}
				wantCompiled := tt.compiled && learned[key]
				if tt.compiled && !strings.Contains(answers[0].body, `"errors"`) {
					learned[key] = true
				}
				if got := compiled.lastLogLine(t)["exec"] == "compiled"; got != wantCompiled {
					t.Errorf("%s, sending %d: compiled path taken %v, want %v", tt.name, sending, got, wantCompiled)
				}
				if interpreted.lastLogLine(t)["exec"] != nil {
					t.Errorf("%s: the server with the compiled path off took it", tt.name)
				}
				if a, b := compiled.loggedRows(t), interpreted.loggedRows(t); a != b {
					t.Errorf("%s, sending %d: rows logged differ:\ncompiled: %s\nexecutor: %s", tt.name, sending, a, b)
				}
			}
		}

		// A token revoked after the document was compiled: refused by the
		// statement that logs, after the compiled path began.
		var revoked [2]rawAnswer
		for i, s := range servers {
			s.api.post(t, s.token, `mutation { logout }`)
			revoked[i] = s.api.raw(t, s.token, predict, "", seed, nil)
		}
		if compiled.lastLogLine(t)["exec"] != "compiled" {
			t.Errorf("revoked token: the compiled path was not taken")
		}
		if revoked[0].normalized() != revoked[1].normalized() || !strings.Contains(revoked[0].body, "UNAUTHENTICATED") {
			t.Errorf("revoked token: compiled answered %s\nthe executor answered %s", revoked[0].body, revoked[1].body)
		}
		if a, b := compiled.loggedRows(t), interpreted.loggedRows(t); a != b {
			t.Errorf("revoked token: rows logged differ:\ncompiled: %s\nexecutor: %s", a, b)
		}
	})
}

// rawAnswer is an answer as it came over the wire.
type rawAnswer struct {
	status int
	body   string
}

// createdAtTimes matches the times an answer carries.
var createdAtTimes = regexp.MustCompile(`"(createdAt|receivedAt)":"[^"]*"`)

// normalized is the body with its times blanked: the two servers cannot
// log at the same instant.
func (a rawAnswer) normalized() string {
	return createdAtTimes.ReplaceAllString(a.body, `"$1":"-"`)
}

// raw posts a GraphQL request and returns the answer's status and body
// untouched.
func (api *testAPI) raw(t *testing.T, token, query, operation string, variables, extensions map[string]any) rawAnswer {
	t.Helper()
	params := map[string]any{"query": query}
	if operation != "" {
		params["operationName"] = operation
	}
	if variables != nil {
		params["variables"] = variables
	}
	if extensions != nil {
		params["extensions"] = extensions
	}
	resp, body := api.fetch(t, api.newRequest(t, http.MethodPost, "/query", token, bytes.NewReader([]byte(mustJSON(params)))))
	return rawAnswer{status: resp.StatusCode, body: body}
}

// lastLogLine is the server's last access log line.
func (api *testAPI) lastLogLine(t *testing.T) map[string]any {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(api.logs.String()), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		var line map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &line); err == nil && line["msg"] == "request" {
			return line
		}
	}
	t.Fatal("no access log line")
	return nil
}

// loggedRows describes every request row with its response, times aside.
func (api *testAPI) loggedRows(t *testing.T) string {
	t.Helper()
	rows, err := api.tables.Query(`SELECT q.id, q.user_id, q.input, s.id, s.status, s.output, s.yhat_prob, s.yhat, s.model_version, s.error_code
		FROM requests q LEFT JOIN responses s ON s.request_id = q.id ORDER BY q.id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out strings.Builder
	for rows.Next() {
		var cells [10]any
		ptrs := make([]any, len(cells))
		for i := range cells {
			ptrs[i] = &cells[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for i, c := range cells {
			if b, ok := c.([]byte); ok {
				cells[i] = string(b)
			}
		}
		out.WriteString(strings.TrimSpace(strings.ReplaceAll(mustJSON(cells), " ", "")) + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out.String()
}
