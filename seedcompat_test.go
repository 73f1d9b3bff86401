package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"

	"github.com/mlapi/mlapi/internal/config"
	"github.com/mlapi/mlapi/internal/store/storetest"
)

// The Python app's REST endpoints (internal/seedcompat): its documented
// flow against the built binary, answered as the app answered and writing
// the rows the same GraphQL calls write; every refusal; the switches.
//
// The app's answers quoted here are those of its app.py (the api-book
// repository, chapter-7-final-serving/ML_API/app.py), which the project's
// notes on the seed app summarise; the predict example and its answer are
// the seed document's.

// restAnswer is an answer of a REST endpoint, its body as written.
type restAnswer struct {
	status int
	header http.Header
	body   string
}

// member decodes the answer's top-level member name, nil when absent.
func (a restAnswer) member(t testing.TB, name string) any {
	t.Helper()
	var members map[string]any
	if err := json.Unmarshal([]byte(a.body), &members); err != nil {
		t.Fatalf("answer is not a JSON object (%d): %s", a.status, a.body)
	}
	return members[name]
}

// detailFields lists the fields a FastAPI-style detail names ("body.age",
// "path.user_id"), nil when the detail is not a list.
func (a restAnswer) detailFields(t testing.TB) []string {
	t.Helper()
	list, _ := a.member(t, "detail").([]any)
	var fields []string
	for _, d := range list {
		loc, _ := d.(map[string]any)["loc"].([]any)
		parts := make([]string, len(loc))
		for i, p := range loc {
			parts[i] = fmt.Sprint(p)
		}
		fields = append(fields, strings.Join(parts, "."))
	}
	return fields
}

// rest sends one request as the app's clients did: authorization as the
// whole Authorization header (the app's clients sent the bare token), a
// JSON body unless empty.
func (e endpoint) rest(t testing.TB, method, path, authorization, body string) restAnswer {
	t.Helper()
	var reader io.Reader
	if body != "" {
		reader = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.base+path, reader)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, text := e.fetch(t, req)
	return restAnswer{status: resp.StatusCode, header: resp.Header, body: text}
}

// The seed document's example input, as the app's clients sent it, and
// the app's answer to it, byte for byte (json.dumps, spaces and all).
const (
	seedPredictBody   = `{"age": 25, "creatinine_phosphokinase": 1000, "ejection_fraction": 35, "platelets": 500000, "serum_creatinine": 8, "serum_sodium": 135, "sex": 1, "high_blood_pressure": 0}`
	seedPredictAnswer = `{"yhat_prob": "0.5124506", "yhat": "1"}`
	// refusedPredictBody has two features out of range: refused alike by
	// both APIs, and logged alike.
	refusedPredictBody = `{"age": -25, "creatinine_phosphokinase": 1000, "ejection_fraction": 35, "platelets": 500000, "serum_creatinine": 8, "serum_sodium": 1000000, "sex": 1, "high_blood_pressure": 0}`
)

// refusedPredictInput is refusedPredictBody as GraphQL variables.
func refusedPredictInput() map[string]any {
	in := seedInput()
	in["age"], in["serumSodium"] = -25, 1000000
	return in
}

// userIDOf reads a user's id from the users table.
func userIDOf(t testing.TB, tables *sql.DB, username string) int64 {
	t.Helper()
	var id int64
	if err := tables.QueryRow("SELECT id FROM users WHERE username = $1", username).Scan(&id); err != nil {
		t.Fatalf("user %s: %v", username, err)
	}
	return id
}

// loggedRow is one request row with its response, as the tables hold
// them, without what differs between any two rows (ids, times, the audit
// chain's place).
type loggedRow struct {
	Input, Output          any
	YhatProb               sql.NullFloat64
	Yhat                   sql.NullInt64
	ModelVersion, Status   string
	ErrorCode              sql.NullString
	UserRole, UserEnabled  string
	UserGenerationAtLeast1 bool
}

// loggedRows reads what was written for a user: their requests with their
// responses, oldest first, and their account's state. The inputs' 0 and 1
// of the boolean features are read as false and true: the REST endpoint
// logs them as the app's clients send them, GraphQL as its Booleans.
func loggedRows(t testing.TB, tables *sql.DB, userID int64) []loggedRow {
	t.Helper()
	rows, err := tables.Query(`SELECT r.input, s.output, s.yhat_prob, s.yhat, s.model_version, s.status, s.error_code,
			u.role, CASE WHEN u.enabled THEN 'enabled' ELSE 'disabled' END, u.token_generation >= 1
		FROM requests r JOIN responses s ON s.request_id = r.id JOIN users u ON u.id = r.user_id
		WHERE r.user_id = $1 ORDER BY r.id`, userID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []loggedRow
	for rows.Next() {
		var row loggedRow
		var input, output string
		if err := rows.Scan(&input, &output, &row.YhatProb, &row.Yhat, &row.ModelVersion, &row.Status, &row.ErrorCode,
			&row.UserRole, &row.UserEnabled, &row.UserGenerationAtLeast1); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(input), &row.Input); err != nil {
			t.Fatalf("input %s: %v", input, err)
		}
		for _, name := range []string{"sex", "high_blood_pressure"} {
			if fields, ok := row.Input.(map[string]any); ok && (fields[name] == 0.0 || fields[name] == 1.0) {
				fields[name] = fields[name] == 1.0
			}
		}
		if err := json.Unmarshal([]byte(output), &row.Output); err != nil {
			t.Fatalf("output %s: %v", output, err)
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSeedAppFlow replays the app's documented flow (register, token,
// token status, predict, toggle, remove) against the built binary on each
// database, under /v1 and at the root paths, and compares every status and
// body with the app's. The same calls through GraphQL for another user
// write the same rows.
func TestSeedAppFlow(t *testing.T) {
	t.Parallel()
	binary(t) // -short skips here, before a database is made
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		databaseURL, secret := storetest.URL(t, dialect), randomSecret(t)
		env := func(key string) string {
			return map[string]string{"DATABASE_URL": databaseURL, "JWT_SECRET": secret}[key]
		}
		server := start(t, t.TempDir(), "DATABASE_URL="+databaseURL, "JWT_SECRET="+secret, "SEED_COMPAT_ROOT=true")
		tables := openTables(t, databaseURL)
		t.Cleanup(func() { tables.Close() })
		_, admin := createAdmin(t, env, server.endpoint, "root", userPassword)
		admin = "Bearer " + admin

		restUsers := map[string]int64{}
		for _, prefix := range []string{"/v1", ""} {
			username := "eligijus" + strings.ReplaceAll(prefix, "/", "_")
			restUsers[prefix] = replaySeedFlow(t, server.endpoint, tables, prefix, username, admin)
		}
		graphUser := replayWithGraphQL(t, server.endpoint, tables, "graphql_user", strings.TrimPrefix(admin, "Bearer "))

		want := loggedRows(t, tables, graphUser)
		if len(want) != 3 {
			t.Fatalf("GraphQL calls logged %d rows, want 3: %+v", len(want), want)
		}
		for prefix, id := range restUsers {
			if got := loggedRows(t, tables, id); !reflect.DeepEqual(got, want) {
				t.Errorf("%q: the REST calls wrote\n%+v\nthe GraphQL calls\n%+v", prefix, got, want)
			}
		}

		// remove-user: the app's answers; the user goes with their rows,
		// as deleteUser removes them.
		for prefix, id := range restUsers {
			path := prefix + "/remove-user/" + strconv.FormatInt(id, 10)
			if got := server.rest(t, http.MethodDelete, path, admin, ""); got.status != http.StatusOK || got.body != `{"message":"User deleted successfully"}` {
				t.Errorf("DELETE %s: %d %s", path, got.status, got.body)
			}
			if got := server.rest(t, http.MethodDelete, path, admin, ""); got.status != http.StatusNotFound || got.member(t, "message") != "User not found" {
				t.Errorf("DELETE %s again: %d %s", path, got.status, got.body)
			}
			toggle := prefix + "/toggle-user-permission/" + strconv.FormatInt(id, 10) + "/true"
			if got := server.rest(t, http.MethodPut, toggle, admin, ""); got.status != http.StatusNotFound || got.member(t, "message") != "User not found" {
				t.Errorf("PUT %s of a removed user: %d %s", toggle, got.status, got.body)
			}
		}
		if resp := server.post(t, strings.TrimPrefix(admin, "Bearer "), deleteUserMutation, client.Var("id", strconv.FormatInt(graphUser, 10))); len(resp.Errors) > 0 {
			t.Fatalf("deleteUser: %s", resp.Raw)
		}
		for _, table := range []string{"users", "requests", "responses"} {
			var n int
			if err := tables.QueryRow("SELECT count(*) FROM " + table + " WHERE " + map[string]string{
				"users": "role <> 'admin'", "requests": "true", "responses": "true"}[table]).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Errorf("%d rows left in %s after every user was removed", n, table)
			}
		}
	})
}

// replaySeedFlow runs the app's flow for username at prefix and returns
// the user's id.
func replaySeedFlow(t *testing.T, e endpoint, tables *sql.DB, prefix, username, admin string) int64 {
	t.Helper()
	// The seed document posts the same dict to /register-user and /token.
	userDict := mustJSON(map[string]string{"username": username, "password": userPassword, "email": username + "@testmail.com"})

	// app.py: 201 {"message": "User created successfully", "user_id": _user.id}
	got := e.rest(t, http.MethodPost, prefix+"/register-user", "", userDict)
	id := userIDOf(t, tables, username)
	if want := fmt.Sprintf(`{"message":"User created successfully","user_id":%d}`, id); got.status != http.StatusCreated || got.body != want {
		t.Errorf("register: %d %s, want 201 %s", got.status, got.body, want)
	}
	// app.py: 409 {"message": "User already exists", "user_id": ...}; the
	// existing user's id is no longer told to anyone who asks.
	got = e.rest(t, http.MethodPost, prefix+"/register-user", "", userDict)
	if got.status != http.StatusConflict || got.member(t, "message") != "User already exists" || got.member(t, "user_id") != nil {
		t.Errorf("register again: %d %s", got.status, got.body)
	}

	// app.py: 200 {"token": token}; 401 {"message": "Invalid credentials"}.
	got = e.rest(t, http.MethodPost, prefix+"/token", "", userDict)
	token, _ := got.member(t, "token").(string)
	if got.status != http.StatusOK || !regexp.MustCompile(`^\{"token":"[A-Za-z0-9._-]+"\}$`).MatchString(got.body) {
		t.Fatalf("token: %d %s", got.status, got.body)
	}
	got = e.rest(t, http.MethodPost, prefix+"/token", "", mustJSON(map[string]string{"username": username, "password": "not the password"}))
	if got.status != http.StatusUnauthorized || got.member(t, "message") != "Invalid credentials" {
		t.Errorf("token with a wrong password: %d %s", got.status, got.body)
	}

	// app.py: 200 {"message": "Token is valid"}; 401 {"message": "Invalid token"}.
	tokenStatus := func(token string) restAnswer { return e.rest(t, http.MethodGet, prefix+"/token_status/"+token, "", "") }
	if got := tokenStatus(token); got.status != http.StatusOK || got.body != `{"message":"Token is valid"}` {
		t.Errorf("token_status: %d %s", got.status, got.body)
	}
	if got := tokenStatus(token + "x"); got.status != http.StatusUnauthorized || got.body != `{"message":"Invalid token"}` {
		t.Errorf("token_status of a bad token: %d %s", got.status, got.body)
	}

	// The seed document: the bare token in Authorization, 200 and its
	// answer. Bearer works too. A refused input is the app's 400 "Bad
	// request", naming the fields.
	if got := e.rest(t, http.MethodPost, prefix+"/predict", token, seedPredictBody); got.status != http.StatusOK || got.body != seedPredictAnswer {
		t.Errorf("predict: %d %s, want 200 %s", got.status, got.body, seedPredictAnswer)
	}
	got = e.rest(t, http.MethodPost, prefix+"/predict", token, refusedPredictBody)
	if fields := got.detailFields(t); got.status != http.StatusBadRequest || got.member(t, "message") != "Bad request" ||
		!slices.Equal(fields, []string{"body.age", "body.serum_sodium"}) {
		t.Errorf("predict refused: %d %s (fields %q)", got.status, got.body, fields)
	}
	if got := e.rest(t, http.MethodPost, prefix+"/predict", "Bearer "+token, seedPredictBody); got.status != http.StatusOK || got.body != seedPredictAnswer {
		t.Errorf("predict with Bearer: %d %s", got.status, got.body)
	}

	// app.py: 200 {"message": "User permission updated successfully",
	// "user_id": _user.id}. permission is the enabled flag: a disabled
	// user's token stops working, and stays dead once re-enabled.
	toggle := func(permission string) restAnswer {
		return e.rest(t, http.MethodPut, fmt.Sprintf("%s/toggle-user-permission/%d/%s", prefix, id, permission), admin, "")
	}
	want := fmt.Sprintf(`{"message":"User permission updated successfully","user_id":%d}`, id)
	if got := toggle("false"); got.status != http.StatusOK || got.body != want {
		t.Errorf("toggle false: %d %s, want %s", got.status, got.body, want)
	}
	if got := tokenStatus(token); got.status != http.StatusUnauthorized {
		t.Errorf("token_status of a disabled user: %d %s", got.status, got.body)
	}
	// app.py: 401 {"error": "Unauthorized"}; nothing is logged.
	if got := e.rest(t, http.MethodPost, prefix+"/predict", token, seedPredictBody); got.status != http.StatusUnauthorized || got.member(t, "error") != "Unauthorized" {
		t.Errorf("predict of a disabled user: %d %s", got.status, got.body)
	}
	if got := toggle("true"); got.status != http.StatusOK || got.body != want {
		t.Errorf("toggle true: %d %s", got.status, got.body)
	}
	if got := tokenStatus(token); got.status != http.StatusUnauthorized {
		t.Errorf("token_status of a token from before the user was disabled: %d %s", got.status, got.body)
	}
	return id
}

// replayWithGraphQL makes, through GraphQL, the calls replaySeedFlow makes
// that write rows, and returns the user's id.
func replayWithGraphQL(t *testing.T, e endpoint, tables *sql.DB, username, admin string) int64 {
	t.Helper()
	_, token := e.user(t, username)
	id := userIDOf(t, tables, username)
	e.predict(t, token)
	if resp := e.post(t, token, predictMutation, client.Var("in", refusedPredictInput())); resp.code() != "BAD_USER_INPUT" {
		t.Errorf("GraphQL predict refused: %s", resp.Raw)
	}
	e.predict(t, token)
	for _, enabled := range []bool{false, true} {
		if resp := e.post(t, admin, setEnabledMutation, client.Var("id", strconv.FormatInt(id, 10)), client.Var("e", enabled)); len(resp.Errors) > 0 {
			t.Fatalf("setUserEnabled %t: %s", enabled, resp.Raw)
		}
	}
	return id
}

// TestSeedEndpointRefusals is every refusal of the REST endpoints, on the
// real handler and each database: its status, the app's members where it
// had an answer for it, the fields named, and what was logged (a refused
// input is, as on GraphQL; a request that never reached the model is not).
func TestSeedEndpointRefusals(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		api := newTestAPI(t, dialect)
		_, ada := api.user(t, "ada")
		adaID := strconv.FormatInt(userIDOf(t, api.tables, "ada"), 10)
		_, bob := api.user(t, "bob")
		bobID := strconv.FormatInt(userIDOf(t, api.tables, "bob"), 10)
		rootID, root := api.createAdmin(t, "root", userPassword)
		root2ID, _ := api.createAdmin(t, "root2", userPassword)
		if resp := api.post(t, root, setEnabledMutation, client.Var("id", bobID), client.Var("e", false)); len(resp.Errors) > 0 {
			t.Fatalf("disable bob: %s", resp.Raw)
		}
		seed := func(change string) string { // the seed's input with one change
			return strings.Replace(seedPredictBody, `"age": 25`, change, 1)
		}
		const form = "application/x-www-form-urlencoded"
		tests := []struct {
			name, method, path, auth, contentType, body string
			wantStatus                                  int
			// want are top-level members, compared as JSON values.
			want map[string]any
			// wantFields are the fields the detail names, in order.
			wantFields []string
			// logged is how many requests the call logs.
			logged int
			// bare: the app's answer is kept whole, with no detail added.
			bare bool
			// chunked sends the body without a Content-Length.
			chunked bool
		}{
			{name: "register: not JSON", method: "POST", path: "/register-user", body: `{"username":`,
				wantStatus: 400, want: map[string]any{"message": "Cannot create user"}},
			{name: "register: a field of the wrong type", method: "POST", path: "/register-user", body: `{"username": 5, "password": "x", "email": "x"}`,
				wantStatus: 400, want: map[string]any{"message": "Cannot create user"}},
			{name: "register: a form, which any page can post", method: "POST", path: "/register-user", contentType: form, body: `username=eve`,
				wantStatus: 415},
			{name: "register: taken, in another case", method: "POST", path: "/register-user",
				body:       mustJSON(map[string]string{"username": "ADA", "password": userPassword, "email": "ada2@example.com"}),
				wantStatus: 409, want: map[string]any{"message": "User already exists", "detail": "username is already taken"}},
			{name: "register: every bad field named", method: "POST", path: "/register-user", body: `{"username": "a", "password": "password", "email": "x"}`,
				wantStatus: 400, want: map[string]any{"message": "Cannot create user"}, wantFields: []string{"body.username", "body.password", "body.email"}},
			{name: "token: wrong password", method: "POST", path: "/token", body: `{"username": "ada", "password": "not the password"}`,
				wantStatus: 401, want: map[string]any{"message": "Invalid credentials"}},
			{name: "token: unknown user", method: "POST", path: "/token", body: `{"username": "nobody", "password": "not the password"}`,
				wantStatus: 401, want: map[string]any{"message": "Invalid credentials"}},
			{name: "token: a disabled user, who is told so", method: "POST", path: "/token", body: mustJSON(map[string]string{"username": "bob", "password": userPassword}),
				wantStatus: 401, want: map[string]any{"message": "Invalid credentials", "detail": "this account is disabled"}},
			{name: "token: two JSON values", method: "POST", path: "/token", body: `{"username": "ada"} {}`,
				wantStatus: 400},
			{name: "token_status: not a token", method: "GET", path: "/token_status/abc",
				wantStatus: 401, want: map[string]any{"message": "Invalid token"}, bare: true},
			{name: "token_status: a disabled user's", method: "GET", path: "/token_status/" + bob,
				wantStatus: 401, want: map[string]any{"message": "Invalid token"}, bare: true},
			{name: "predict: no token", method: "POST", path: "/predict", body: seedPredictBody,
				wantStatus: 401, want: map[string]any{"error": "Unauthorized"}},
			{name: "predict: not a token", method: "POST", path: "/predict", auth: "abc", body: seedPredictBody,
				wantStatus: 401, want: map[string]any{"error": "Unauthorized"}},
			{name: "predict: a scheme without a token", method: "POST", path: "/predict", auth: "Bearer", body: seedPredictBody,
				wantStatus: 401, want: map[string]any{"error": "Unauthorized"}},
			{name: "predict: a disabled user's token", method: "POST", path: "/predict", auth: bob, body: seedPredictBody,
				wantStatus: 401, want: map[string]any{"error": "Unauthorized"}},
			{name: "predict: not JSON", method: "POST", path: "/predict", auth: ada, body: `{"age": 25,`,
				wantStatus: 400, want: map[string]any{"message": "Bad request"}},
			{name: "predict: not an object", method: "POST", path: "/predict", auth: ada, body: `[25, 1000]`,
				wantStatus: 400, want: map[string]any{"message": "Bad request"}},
			{name: "predict: text/plain", method: "POST", path: "/predict", auth: ada, contentType: "text/plain", body: seedPredictBody,
				wantStatus: 415},
			{name: "predict: a string for a number", method: "POST", path: "/predict", auth: ada, body: seed(`"age": "25"`),
				wantStatus: 400, want: map[string]any{"message": "Bad request"}, wantFields: []string{"body.age"}, logged: 1},
			{name: "predict: a missing feature and an unknown field", method: "POST", path: "/predict", auth: ada, body: seed(`"agee": 25`),
				wantStatus: 400, want: map[string]any{"message": "Bad request"}, wantFields: []string{"body.age", "body.agee"}, logged: 1},
			{name: "predict: a sex of 2", method: "POST", path: "/predict", auth: "Bearer " + ada, body: strings.Replace(seedPredictBody, `"sex": 1`, `"sex": 2`, 1),
				wantStatus: 400, want: map[string]any{"message": "Bad request"}, wantFields: []string{"body.sex"}, logged: 1},
			// With a Content-Length over the limit, the server's middleware
			// answers 413 before any handler, as it does on /query.
			{name: "predict: over the body limit", method: "POST", path: "/predict", auth: ada, body: seed(`"age": 25, "pad": "` + strings.Repeat("x", 70<<10) + `"`),
				wantStatus: 413, bare: true},
			{name: "predict: over the body limit, chunked", method: "POST", path: "/predict", auth: ada, body: seed(`"age": 25, "pad": "` + strings.Repeat("x", 70<<10) + `"`),
				wantStatus: 413, chunked: true},
			{name: "predict: GET", method: "GET", path: "/predict", auth: ada,
				wantStatus: 405, want: map[string]any{"detail": "Method Not Allowed"}},
			{name: "toggle: no token", method: "PUT", path: "/toggle-user-permission/" + adaID + "/false",
				wantStatus: 401},
			{name: "toggle: not an administrator", method: "PUT", path: "/toggle-user-permission/" + adaID + "/false", auth: ada,
				wantStatus: 403},
			{name: "toggle: not a user id", method: "PUT", path: "/toggle-user-permission/ada/false", auth: root,
				wantStatus: 422, wantFields: []string{"path.user_id"}},
			{name: "toggle: neither a user id nor a boolean", method: "PUT", path: "/toggle-user-permission/1.5/maybe", auth: root,
				wantStatus: 422, wantFields: []string{"path.user_id", "path.permission"}},
			{name: "toggle: no such user", method: "PUT", path: "/toggle-user-permission/999999/true", auth: root,
				wantStatus: 404, want: map[string]any{"message": "User not found"}},
			{name: "toggle: an administrator disabling themselves", method: "PUT", path: "/toggle-user-permission/" + rootID + "/off", auth: root,
				wantStatus: 400},
			{name: "toggle: another administrator", method: "PUT", path: "/toggle-user-permission/" + root2ID + "/false", auth: root,
				wantStatus: 403},
			{name: "toggle: yes, as FastAPI read it", method: "PUT", path: "/toggle-user-permission/" + bobID + "/YES", auth: root,
				wantStatus: 200, want: map[string]any{"message": "User permission updated successfully", "user_id": json.Number(bobID)}},
			{name: "remove: no token", method: "DELETE", path: "/remove-user/" + adaID,
				wantStatus: 401},
			{name: "remove: not an administrator", method: "DELETE", path: "/remove-user/" + adaID, auth: ada,
				wantStatus: 403},
			{name: "remove: not a user id", method: "DELETE", path: "/remove-user/x", auth: root,
				wantStatus: 422, wantFields: []string{"path.user_id"}},
			{name: "remove: no such user", method: "DELETE", path: "/remove-user/999999", auth: root,
				wantStatus: 404, want: map[string]any{"message": "User not found"}},
			{name: "remove: another administrator", method: "DELETE", path: "/remove-user/" + root2ID, auth: root,
				wantStatus: 403},
			{name: "a path the app never had", method: "GET", path: "/users",
				wantStatus: 404, want: map[string]any{"detail": "Not Found"}},
		}
		for _, tt := range tests {
			before := api.count(t, "requests")
			req := api.newRequest(t, tt.method, "/v1"+tt.path, "", nil)
			if tt.body != "" {
				var body io.Reader = strings.NewReader(tt.body)
				if tt.chunked {
					body = io.MultiReader(body) // of unknown length
				}
				req = api.newRequest(t, tt.method, "/v1"+tt.path, "", body)
				if tt.contentType != "" {
					req.Header.Set("Content-Type", tt.contentType)
				}
			}
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			resp, body := api.fetch(t, req)
			got := restAnswer{status: resp.StatusCode, body: body}
			if got.status != tt.wantStatus {
				t.Errorf("%s: %d %s, want %d", tt.name, got.status, got.body, tt.wantStatus)
				continue
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("%s: Content-Type %q", tt.name, ct)
			}
			var members map[string]any
			dec := json.NewDecoder(strings.NewReader(body))
			dec.UseNumber()
			if err := dec.Decode(&members); err != nil {
				t.Errorf("%s: not a JSON object: %s", tt.name, body)
				continue
			}
			for name, want := range tt.want {
				if !reflect.DeepEqual(members[name], want) {
					t.Errorf("%s: %s is %v, want %v (%s)", tt.name, name, members[name], want, body)
				}
			}
			if members["detail"] == nil && tt.wantStatus != 200 && !tt.bare {
				t.Errorf("%s: no detail: %s", tt.name, body)
			}
			if fields := got.detailFields(t); !slices.Equal(fields, tt.wantFields) {
				t.Errorf("%s: detail names %q, want %q (%s)", tt.name, fields, tt.wantFields, body)
			}
			if logged := api.count(t, "requests") - before; logged != tt.logged {
				t.Errorf("%s: logged %d requests, want %d", tt.name, logged, tt.logged)
			}
		}
	})
}

// TestSeedCompatSwitches: /v1 by default, the root paths too with
// SEED_COMPAT_ROOT, and nothing at all with SEED_COMPAT=false.
func TestSeedCompatSwitches(t *testing.T) {
	t.Parallel()
	servers := map[string]*testAPI{
		"default":           newTestAPI(t, "sqlite"),
		"SEED_COMPAT_ROOT":  newTestAPI(t, "sqlite", func(c *config.Config) { c.SeedCompatRoot = true }),
		"SEED_COMPAT=false": newTestAPI(t, "sqlite", func(c *config.Config) { c.SeedCompat = false }),
	}
	tests := []struct {
		server, method, path string
		want                 int
	}{
		{"default", "GET", "/v1/token_status/abc", 401},
		{"default", "PUT", "/v1/toggle-user-permission/1/true", 401},
		{"default", "GET", "/token_status/abc", 404},
		{"default", "PUT", "/toggle-user-permission/1/true", 404},
		{"SEED_COMPAT_ROOT", "GET", "/v1/token_status/abc", 401},
		{"SEED_COMPAT_ROOT", "GET", "/token_status/abc", 401},
		{"SEED_COMPAT_ROOT", "PUT", "/toggle-user-permission/1/true", 401},
		{"SEED_COMPAT_ROOT", "DELETE", "/remove-user/1", 401},
		{"SEED_COMPAT_ROOT", "GET", "/predict", 405},
		{"SEED_COMPAT=false", "GET", "/v1/token_status/abc", 404},
		{"SEED_COMPAT=false", "DELETE", "/v1/remove-user/1", 404},
		{"SEED_COMPAT=false", "GET", "/token_status/abc", 404},
		{"SEED_COMPAT=false", "GET", "/predict", 404},
	}
	for _, tt := range tests {
		api := servers[tt.server]
		if got := api.rest(t, tt.method, tt.path, "", ""); got.status != tt.want {
			t.Errorf("%s: %s %s answered %d %s, want %d", tt.server, tt.method, tt.path, got.status, got.body, tt.want)
		}
	}
	// The GraphQL API and the rest of the server are the same either way.
	for name, api := range servers {
		if api.tokenValid(t, "abc") || api.rest(t, "GET", "/healthz", "", "").status != http.StatusOK {
			t.Errorf("%s: GraphQL or /healthz answer otherwise", name)
		}
	}
}

// TestSeedEndpointsShareTheLimits: one registration budget per address,
// whichever API spends it, counted by the account service.
func TestSeedEndpointsShareTheLimits(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, "sqlite", func(c *config.Config) { c.RegisterRate = config.Rate{N: 2, Per: time.Hour} })
	api.register(t, "ada", userPassword)
	registration := func(username string) string {
		return mustJSON(map[string]string{"username": username, "password": userPassword, "email": username + "@example.com"})
	}
	if got := api.rest(t, "POST", "/v1/register-user", "", registration("bob")); got.status != http.StatusCreated {
		t.Fatalf("second registration: %d %s", got.status, got.body)
	}
	if got := api.rest(t, "POST", "/v1/register-user", "", registration("eve")); got.status != http.StatusTooManyRequests || got.member(t, "detail") == nil {
		t.Errorf("third registration, over REST: %d %s", got.status, got.body)
	}
	resp := api.post(t, "", registerMutation, client.Var("u", "eve"), client.Var("p", userPassword), client.Var("e", "eve@example.com"))
	if resp.code() != "TOO_MANY_REQUESTS" {
		t.Errorf("third registration, over GraphQL: %s", resp.Raw)
	}
}

// TestSeedEndpointsInTheLogAndMetrics: each endpoint is one route label
// however many users and tokens it serves, a token in a path reaches
// neither the log nor the metrics, and a REST prediction is counted as
// any other.
func TestSeedEndpointsInTheLogAndMetrics(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, "sqlite")
	_, token := api.user(t, "ada")
	before := api.scrape(t)
	for _, id := range []string{"123", "456"} {
		api.rest(t, "DELETE", "/v1/remove-user/"+id, "", "")
	}
	api.rest(t, "GET", "/v1/token_status/"+token, "", "")
	if got := api.rest(t, "POST", "/v1/predict", token, seedPredictBody); got.status != http.StatusOK {
		t.Fatalf("predict: %d %s", got.status, got.body)
	}
	after := api.scrape(t)
	for _, tt := range []struct {
		series string
		labels []string
		want   float64
	}{
		{"mlapi_http_requests_total", []string{`path="/v1/remove-user"`, `status="4xx"`, `code="UNAUTHENTICATED"`}, 2},
		{"mlapi_http_requests_total", []string{`path="/v1/token_status"`, `status="2xx"`}, 1},
		{"mlapi_http_requests_total", []string{`path="/v1/predict"`, `status="2xx"`}, 1},
		{"mlapi_predictions_total", []string{`status="ok"`}, 1},
	} {
		if got := total(after, tt.series, tt.labels...) - total(before, tt.series, tt.labels...); got != tt.want {
			t.Errorf("%s%v moved by %v, want %v", tt.series, tt.labels, got, tt.want)
		}
	}
	for series := range after {
		for _, secret := range []string{token, `"123"`, `"456"`, "/v1/remove-user/"} {
			if strings.Contains(series, secret) {
				t.Errorf("series %s holds %s", series, secret)
			}
		}
	}
	if logs := api.logs.String(); strings.Contains(logs, token) || !strings.Contains(logs, `"path":"/v1/token_status/{token}"`) {
		t.Errorf("the log holds the token, or not the route it was sent to:\n%s", logs)
	}
}
