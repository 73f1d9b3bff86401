package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/mlapi/mlapi/internal/config"
	"github.com/mlapi/mlapi/internal/store"
	"github.com/mlapi/mlapi/internal/store/storetest"
)

// testAPI is the real HTTP handler, wired as the binary wires it, on a
// database of its own.
type testAPI struct {
	t      *testing.T
	server *httptest.Server
	db     *store.DB
	url    string  // the database's URL
	tables *sql.DB // the database on connections of its own, as an operator inspects it
	logs   *syncBuffer
}

// on returns the API with its helpers reporting to t, for use in a subtest:
// a helper failing the parent from a subtest hides the real failure.
func (a *testAPI) on(t *testing.T) *testAPI {
	bound := *a
	bound.t = t
	return &bound
}

func newTestAPI(t *testing.T, dialect string, adjust ...func(*config.Config)) *testAPI {
	t.Helper()
	databaseURL := storetest.URL(t, dialect)
	cfg, err := config.Parse(nil, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	cfg.DatabaseURL = databaseURL
	cfg.JWTSecret = randomSecret(t)
	for _, f := range adjust {
		f(&cfg)
	}
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, nil))
	a, err := newApp(context.Background(), cfg, logger)
	if err != nil {
		t.Fatalf("newApp: %v", err)
	}
	server := httptest.NewServer(a.handler)
	tables := openTables(t, databaseURL)
	t.Cleanup(func() {
		server.Close()
		tables.Close()
		a.db.Close()
	})
	return &testAPI{t: t, server: server, db: a.db, url: databaseURL, tables: tables, logs: logs}
}

func randomSecret(t testing.TB) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

type gqlError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

type gqlResponse struct {
	Status int
	Data   map[string]json.RawMessage `json:"data"`
	Errors []gqlError                 `json:"errors"`
	Raw    string
}

func (r gqlResponse) code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	code, _ := r.Errors[0].Extensions["code"].(string)
	return code
}

// field decodes one top-level field of data into v.
func (r gqlResponse) field(t testing.TB, name string, v any) {
	t.Helper()
	raw, ok := r.Data[name]
	if !ok {
		t.Fatalf("no %q in data: %s", name, r.Raw)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("decode %s: %v in %s", name, err, r.Raw)
	}
}

// post sends one GraphQL request with an optional bearer token.
func (a *testAPI) post(token, query string, variables map[string]any) gqlResponse {
	a.t.Helper()
	resp, err := a.send(token, query, variables)
	if err != nil {
		a.t.Fatal(err)
	}
	return resp
}

// send is post for goroutines, which must not call t.Fatal: it returns the
// failure instead.
func (a *testAPI) send(token, query string, variables map[string]any) (gqlResponse, error) {
	body, err := json.Marshal(map[string]any{"query": query, "variables": variables})
	if err != nil {
		return gqlResponse{}, err
	}
	return a.request(token, "application/json", body)
}

func (a *testAPI) raw(token, contentType string, body []byte) gqlResponse {
	a.t.Helper()
	resp, err := a.request(token, contentType, body)
	if err != nil {
		a.t.Fatal(err)
	}
	return resp
}

func (a *testAPI) request(token, contentType string, body []byte) (gqlResponse, error) {
	req, err := http.NewRequest(http.MethodPost, a.server.URL+"/query", bytes.NewReader(body))
	if err != nil {
		return gqlResponse{}, err
	}
	req.Header.Set("Content-Type", contentType)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return sendGraphQL(a.server.Client(), req)
}

func doGraphQL(t testing.TB, client *http.Client, req *http.Request) gqlResponse {
	t.Helper()
	resp, err := sendGraphQL(client, req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func sendGraphQL(client *http.Client, req *http.Request) (gqlResponse, error) {
	resp, err := client.Do(req)
	if err != nil {
		return gqlResponse{}, fmt.Errorf("POST /query: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return gqlResponse{}, fmt.Errorf("read the answer: %w", err)
	}
	out := gqlResponse{Status: resp.StatusCode, Raw: string(b)}
	if err := json.Unmarshal(b, &out); err != nil {
		return gqlResponse{}, fmt.Errorf("answer is not JSON (%d): %s", resp.StatusCode, b)
	}
	return out, nil
}

const registerMutation = `mutation($u: String!, $p: String!, $e: String!) {
  registerUser(input: {username: $u, password: $p, email: $e}) { user { id username email enabled createdAt role } } }`

const tokenMutation = `mutation($u: String!, $p: String!) { token(input: {username: $u, password: $p}) { token tokenType expiresAt } }`

const predictMutation = `mutation($in: PredictInput!) { predict(input: $in) {
  id requestId yhatProb yhat margin modelVersion createdAt contributions { feature field value } bias } }`

// seedInput is the seed document's example, as GraphQL variables.
func seedInput() map[string]any {
	return map[string]any{
		"age": 25, "creatininePhosphokinase": 1000, "ejectionFraction": 35, "platelets": 500000,
		"serumCreatinine": 8, "serumSodium": 135, "sex": true, "highBloodPressure": false,
	}
}

// register creates a user and returns its id.
func (a *testAPI) register(username, password string) string {
	a.t.Helper()
	resp := a.post("", registerMutation, map[string]any{"u": username, "p": password, "e": username + "@example.com"})
	if len(resp.Errors) > 0 {
		a.t.Fatalf("registerUser %s: %s", username, resp.Raw)
	}
	var payload struct{ User struct{ ID string } }
	resp.field(a.t, "registerUser", &payload)
	return payload.User.ID
}

func (a *testAPI) token(username, password string) string {
	a.t.Helper()
	resp := a.post("", tokenMutation, map[string]any{"u": username, "p": password})
	if len(resp.Errors) > 0 {
		a.t.Fatalf("token %s: %s", username, resp.Raw)
	}
	var payload struct{ Token string }
	resp.field(a.t, "token", &payload)
	return payload.Token
}

// user registers a user and returns its id and a token.
func (a *testAPI) user(username string) (id, token string) {
	a.t.Helper()
	id = a.register(username, "correct horse battery")
	return id, a.token(username, "correct horse battery")
}

// openTables opens the database at databaseURL on connections of its own,
// the way an operator inspects the tables.
func openTables(t *testing.T, databaseURL string) *sql.DB {
	t.Helper()
	driver, dsn := "pgx", databaseURL
	if path, ok := strings.CutPrefix(databaseURL, "sqlite://"); ok {
		driver, dsn = "sqlite", path+"?_pragma=busy_timeout(5000)"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(2)
	return db
}

// queryInt runs a query returning one integer.
func (a *testAPI) queryInt(query string) int {
	a.t.Helper()
	var n int
	if err := a.tables.QueryRow(query).Scan(&n); err != nil {
		a.t.Fatalf("%s: %v", query, err)
	}
	return n
}

func (a *testAPI) count(table string) int {
	a.t.Helper()
	return a.queryInt("SELECT count(*) FROM " + table)
}

type predictionAnswer struct {
	ID            string
	RequestID     string
	YhatProb      json.Number
	Yhat          int
	Margin        float64
	ModelVersion  string
	Contributions []struct {
		Feature, Field string
		Value          float64
	}
	Bias float64
}

// forEachDatabase runs test on SQLite, and on PostgreSQL when
// TEST_DATABASE_URL is set (under CI=true it must be).
func forEachDatabase(t *testing.T, test func(t *testing.T, dialect string)) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			test(t, dialect)
		})
	}
}

func TestSeedFlow(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, dialect string) {
		api := newTestAPI(t, dialect)
		userID, token := api.user("ada")

		resp := api.post(token, predictMutation, map[string]any{"in": seedInput()})
		if len(resp.Errors) > 0 {
			t.Fatalf("predict: %s", resp.Raw)
		}
		var p predictionAnswer
		resp.field(t, "predict", &p)
		if p.YhatProb.String() != "0.5124506" || p.Yhat != 1 {
			t.Errorf("seed example: yhatProb %s yhat %d, want 0.5124506 and 1", p.YhatProb, p.Yhat)
		}
		sum := p.Bias
		for _, c := range p.Contributions {
			sum += c.Value
		}
		if len(p.Contributions) != 8 || math.Abs(sum-p.Margin) > 1e-5 {
			t.Errorf("contributions %v + bias %v = %v, want margin %v", p.Contributions, p.Bias, sum, p.Margin)
		}

		history := api.post(token, `query { me { id username requests(first: 20) { totalCount pageInfo { hasNextPage endCursor }
		  edges { cursor node { id createdAt input response { id yhatProb yhat modelVersion status errorCode } } } } } }`, nil)
		var me struct {
			ID       string
			Username string
			Requests struct {
				TotalCount int
				PageInfo   struct{ HasNextPage bool }
				Edges      []struct {
					Node struct {
						ID       string
						Input    map[string]any
						Response struct {
							ID           string
							YhatProb     json.Number
							Yhat         int
							ModelVersion string
							Status       string
						}
					}
				}
			}
		}
		history.field(t, "me", &me)
		if me.ID == "" || me.Requests.TotalCount != 1 || len(me.Requests.Edges) != 1 || me.Requests.PageInfo.HasNextPage {
			t.Fatalf("history: %s", history.Raw)
		}
		// The caller's account as Viewer and as User are two objects of
		// one account: node(id:) fetches each back as its own type.
		again := api.post(token, `query($v: ID!, $u: ID!) { v: node(id: $v) { __typename ... on Viewer { username } } u: node(id: $u) { __typename ... on User { username } } }`,
			map[string]any{"v": me.ID, "u": userID})
		type named struct {
			Typename string `json:"__typename"`
			Username string
		}
		var viewerNode, userNode named
		again.field(t, "v", &viewerNode)
		again.field(t, "u", &userNode)
		if viewerNode != (named{"Viewer", "ada"}) || userNode != (named{"User", "ada"}) {
			t.Errorf("node(id:) of the caller's ids: %s", again.Raw)
		}
		node := me.Requests.Edges[0].Node
		if node.ID != p.RequestID || node.Response.ID != p.ID || node.Response.YhatProb.String() != "0.5124506" ||
			node.Response.Status != "OK" || node.Response.ModelVersion != p.ModelVersion {
			t.Errorf("logged request %+v does not match the prediction %+v", node, p)
		}
		if node.Input["serum_creatinine"] != float64(8) || node.Input["sex"] != true {
			t.Errorf("logged input %v, want the features as received", node.Input)
		}

		// The seed's own output shape is kept in responses.output.
		var output string
		if err := api.tables.QueryRow("SELECT output FROM responses").Scan(&output); err != nil {
			t.Fatal(err)
		}
		var seedShape map[string]string
		if err := json.Unmarshal([]byte(output), &seedShape); err != nil || seedShape["yhat_prob"] != "0.5124506" || seedShape["yhat"] != "1" {
			t.Errorf("responses.output = %s, want the seed's shape", output)
		}

		one := api.post(token, `query($id: ID!) { request(id: $id) { id input response { yhatProb } } }`, map[string]any{"id": p.RequestID})
		if !strings.Contains(one.Raw, `"yhatProb":0.5124506`) {
			t.Errorf("request(id): %s", one.Raw)
		}
		status := api.post("", `query($t: String!) { tokenStatus(token: $t) { valid expiresAt } }`, map[string]any{"t": token})
		if !strings.Contains(status.Raw, `"valid":true`) {
			t.Errorf("tokenStatus: %s", status.Raw)
		}
		info := api.post("", `{ model { version objective numTrees features { name field type min max } } }`, nil)
		if !strings.Contains(info.Raw, `"objective":"binary:logistic"`) || !strings.Contains(info.Raw, `"field":"serumCreatinine"`) {
			t.Errorf("model: %s", info.Raw)
		}

		// One access line per request (register, token and the 5 above),
		// with its outcome and latency, and no password or token anywhere.
		var requests int
		for line := range strings.Lines(api.logs.String()) {
			var entry struct {
				Msg       string
				Status    int
				LatencyMS *float64 `json:"latency_ms"`
			}
			if err := json.Unmarshal([]byte(line), &entry); err != nil {
				t.Fatalf("log line is not JSON: %q", line)
			}
			if entry.Msg == "request" {
				requests++
				if entry.Status != http.StatusOK || entry.LatencyMS == nil {
					t.Errorf("access line without status or latency: %s", line)
				}
			}
		}
		if requests != 8 {
			t.Errorf("%d access lines, want 8:\n%s", requests, api.logs.String())
		}
		for _, secret := range []string{"correct horse battery", token} {
			if strings.Contains(api.logs.String(), secret) {
				t.Errorf("the log contains %q", secret)
			}
		}
	})
}

func TestBareTokenIsAccepted(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, store.SQLite)
	_, token := api.user("bare")
	req, _ := http.NewRequest(http.MethodPost, api.server.URL+"/query", strings.NewReader(`{"query":"{ me { username } }"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", token) // as the seed's clients send it
	resp := doGraphQL(t, api.server.Client(), req)
	if len(resp.Errors) > 0 || !strings.Contains(resp.Raw, `"username":"bare"`) {
		t.Fatalf("bare token: %s", resp.Raw)
	}
}

func TestHistoryIsTheCallersOwn(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, dialect string) {
		api := newTestAPI(t, dialect)
		_, alice := api.user("alice")
		_, bob := api.user("bob")
		var requestIDs []string
		for range 3 {
			var p predictionAnswer
			api.post(alice, predictMutation, map[string]any{"in": seedInput()}).field(t, "predict", &p)
			requestIDs = append(requestIDs, p.RequestID)
		}
		for _, id := range requestIDs {
			resp := api.post(bob, `query($id: ID!) { request(id: $id) { id input } }`, map[string]any{"id": id})
			if len(resp.Errors) > 0 || string(resp.Data["request"]) != "null" {
				t.Errorf("bob reading alice's request %s: %s", id, resp.Raw)
			}
		}
		resp := api.post(bob, `{ me { requests { totalCount edges { node { id } } } } }`, nil)
		if !strings.Contains(resp.Raw, `"totalCount":0`) {
			t.Errorf("bob's history: %s", resp.Raw)
		}

		// Alice pages through her own history, newest first, with no gaps.
		var seen []string
		after := ""
		for page := 0; page < 5; page++ {
			vars := map[string]any{"after": nil}
			if after != "" {
				vars["after"] = after
			}
			resp := api.post(alice, `query($after: String) { me { requests(first: 2, after: $after) {
			  totalCount pageInfo { hasNextPage endCursor } edges { node { id } } } } }`, vars)
			var me struct {
				Requests struct {
					TotalCount int
					PageInfo   struct {
						HasNextPage bool
						EndCursor   string
					}
					Edges []struct{ Node struct{ ID string } }
				}
			}
			resp.field(t, "me", &me)
			for _, e := range me.Requests.Edges {
				seen = append(seen, e.Node.ID)
			}
			if !me.Requests.PageInfo.HasNextPage {
				break
			}
			after = me.Requests.PageInfo.EndCursor
		}
		want := []string{requestIDs[2], requestIDs[1], requestIDs[0]}
		if strings.Join(seen, ",") != strings.Join(want, ",") {
			t.Errorf("pages gave %v, want %v (newest first)", seen, want)
		}
		future := api.post(alice, `{ me { requests(since: "2999-01-01T00:00:00Z") { totalCount } } }`, nil)
		if !strings.Contains(future.Raw, `"totalCount":0`) {
			t.Errorf("since in the future: %s", future.Raw)
		}
	})
}

func TestErrorCodes(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, store.SQLite)
	_, token := api.user("grace")
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
				fields, _ := resp.Errors[0].Extensions["fields"].([]any)
				var names []string
				for _, f := range fields {
					names = append(names, f.(map[string]any)["field"].(string))
				}
				if strings.Join(names, ",") != "age,ejectionFraction" {
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
			resp := api.on(t).post(tt.token, tt.query, tt.vars)
			if resp.code() != tt.wantCode {
				t.Fatalf("code %q, want %q: %s", resp.code(), tt.wantCode, resp.Raw)
			}
			if tt.check != nil {
				tt.check(t, resp)
			}
		})
	}
	// Same answer for an unknown user and a wrong password.
	unknown := api.post("", tokenMutation, map[string]any{"u": "nobody", "p": "wrong password!"})
	wrong := api.post("", tokenMutation, map[string]any{"u": "grace", "p": "wrong password!"})
	if unknown.Errors[0].Message != wrong.Errors[0].Message {
		t.Errorf("unknown user %q vs wrong password %q", unknown.Errors[0].Message, wrong.Errors[0].Message)
	}
}

func TestRefusedInputIsLogged(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, dialect string) {
		api := newTestAPI(t, dialect)
		_, token := api.user("lin")
		in := seedInput()
		in["serumSodium"] = 1000
		if resp := api.post(token, predictMutation, map[string]any{"in": in}); resp.code() != "BAD_USER_INPUT" {
			t.Fatalf("predict: %s", resp.Raw)
		}
		resp := api.post(token, `{ me { requests { totalCount edges { node { input response { status errorCode yhatProb } } } } } }`, nil)
		if !strings.Contains(resp.Raw, `"status":"INVALID_INPUT"`) || !strings.Contains(resp.Raw, `"errorCode":"BAD_USER_INPUT"`) ||
			!strings.Contains(resp.Raw, `"yhatProb":null`) || !strings.Contains(resp.Raw, `"serum_sodium":1000`) {
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
	forEachDatabase(t, func(t *testing.T, dialect string) {
		api := newTestAPI(t, dialect)
		_, token := api.user("noor")
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				api := api.on(t)
				caller := token
				if tt.anonymous {
					caller = ""
				}
				before := api.count("responses WHERE status = 'invalid_input'")
				resp := api.post(caller, predictMutation, map[string]any{"in": tt.in})
				if resp.code() != tt.wantCode || len(resp.Errors) != 1 || len(resp.Data) != 0 {
					t.Fatalf("code %q, want one %s error and no data: %s", resp.code(), tt.wantCode, resp.Raw)
				}
				var got []string
				fields, _ := resp.Errors[0].Extensions["fields"].([]any)
				for _, f := range fields {
					f := f.(map[string]any)
					got = append(got, fmt.Sprint(f["field"], ":", f["reason"]))
				}
				if tt.wantFields != nil && !slices.Equal(got, tt.wantFields) {
					t.Errorf("fields %v, want %v", got, tt.wantFields)
				}
				if tt.wantFields != nil && fmt.Sprint(resp.Errors[0].Path) != "[variable in]" {
					t.Errorf("path %v, want [variable in]", resp.Errors[0].Path)
				}
				if logged := api.count("responses WHERE status = 'invalid_input'") - before; logged != map[bool]int{true: 1}[tt.wantLogged] {
					t.Errorf("%d refusals logged, want logged=%v", logged, tt.wantLogged)
				}
			})
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
		for _, tt := range inlineTests {
			t.Run("inline: "+tt.name, func(t *testing.T) {
				api := api.on(t)
				before := api.count("responses WHERE status = 'invalid_input'")
				resp := api.post(token, tt.document, nil)
				if resp.code() != tt.wantCode || len(resp.Data) != 0 {
					t.Fatalf("code %q, want %s and no data: %s", resp.code(), tt.wantCode, resp.Raw)
				}
				var got []string
				fields, _ := resp.Errors[0].Extensions["fields"].([]any)
				for _, f := range fields {
					f := f.(map[string]any)
					got = append(got, fmt.Sprint(f["field"], ":", f["reason"]))
				}
				slices.Sort(got)
				if !slices.Equal(got, tt.wantFields) {
					t.Errorf("fields %v, want %v", got, tt.wantFields)
				}
				if logged := api.count("responses WHERE status = 'invalid_input'") - before; logged != map[bool]int{true: 1}[tt.wantLogged] {
					t.Errorf("%d refusals logged, want logged=%v", logged, tt.wantLogged)
				}
			})
		}
		// The access log reports the refusal, not the coercion error it replaced.
		if !strings.Contains(api.logs.String(), `"error_codes":["UNAUTHENTICATED"]`) ||
			!strings.Contains(api.logs.String(), `"error_codes":["BAD_USER_INPUT"]`) {
			t.Errorf("access log lacks the refusals' codes:\n%s", api.logs.String())
		}
		// The log keeps what was sent, unknown fields included.
		resp := api.post(token, `{ me { requests(first: 100) { edges { node { input } } } } }`, nil)
		if !strings.Contains(resp.Raw, `"age":"old"`) || !strings.Contains(resp.Raw, `"bmi":22`) {
			t.Errorf("logged inputs: %s", resp.Raw)
		}
	})
}

func TestAdminManagesUsers(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, dialect string) {
		api := newTestAPI(t, dialect)
		var out bytes.Buffer
		err := run(context.Background(), []string{"user", "create", "--admin", "--username", "root", "--email", "root@example.com"},
			func(key string) string {
				if key == "DATABASE_URL" {
					return api.url
				}
				return ""
			}, strings.NewReader("admin password 1\n"), &out, io.Discard)
		if err != nil {
			t.Fatalf("user create --admin: %v", err)
		}
		admin := api.token("root", "admin password 1")
		userID, userToken := api.user("eve")
		api.post(userToken, predictMutation, map[string]any{"in": seedInput()})

		resp := api.post(admin, `mutation($id: ID!) { setUserEnabled(userId: $id, enabled: false) { id enabled } }`, map[string]any{"id": userID})
		if !strings.Contains(resp.Raw, `"enabled":false`) {
			t.Fatalf("disable: %s", resp.Raw)
		}
		if got := api.post(userToken, predictMutation, map[string]any{"in": seedInput()}).code(); got != "UNAUTHENTICATED" {
			t.Errorf("disabled user's predict: %q", got)
		}
		if got := api.post(userToken, `{ me { id } }`, nil).code(); got != "UNAUTHENTICATED" {
			t.Errorf("disabled user's me: %q", got)
		}
		if got := api.post("", tokenMutation, map[string]any{"u": "eve", "p": "correct horse battery"}).code(); got != "FORBIDDEN" {
			t.Errorf("disabled user's login: %q", got)
		}
		if n := api.count("requests"); n != 1 {
			t.Errorf("%d request rows, want 1: refused predictions of a disabled user are not logged", n)
		}

		resp = api.post(admin, `mutation($id: ID!) { deleteUser(userId: $id) }`, map[string]any{"id": userID})
		if !strings.Contains(resp.Raw, `"deleteUser":true`) {
			t.Fatalf("delete: %s", resp.Raw)
		}
		if api.count("requests") != 0 || api.count("responses") != 0 {
			t.Errorf("deleting a user left their requests or responses")
		}
		status := api.post("", `query($t: String!) { tokenStatus(token: $t) { valid } }`, map[string]any{"t": userToken})
		if !strings.Contains(status.Raw, `"valid":false`) {
			t.Errorf("deleted user's token status: %s", status.Raw)
		}
		if got := api.post(admin, `mutation($id: ID!) { deleteUser(userId: $id) }`, map[string]any{"id": userID}).code(); got != "NOT_FOUND" {
			t.Errorf("deleting a missing user: %q", got)
		}
	})
}

func TestConcurrentPredictionsAreAllLogged(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, dialect string) {
		api := newTestAPI(t, dialect)
		_, token := api.user("load")
		const clients, each = 20, 50
		var wg sync.WaitGroup
		failures := make(chan string, clients*each)
		for range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range each {
					resp, err := api.send(token, predictMutation, map[string]any{"in": seedInput()})
					if err != nil {
						failures <- err.Error()
						continue
					}
					if !strings.Contains(resp.Raw, `"yhatProb":0.5124506`) {
						failures <- resp.Raw
					}
				}
			}()
		}
		wg.Wait()
		close(failures)
		for f := range failures {
			t.Errorf("prediction failed: %s", f)
		}
		requests, responses := api.count("requests"), api.count("responses")
		matched := api.queryInt("SELECT count(DISTINCT r.id) FROM requests r JOIN responses s ON s.request_id = r.id")
		if requests != clients*each || responses != clients*each || matched != clients*each {
			t.Errorf("%d requests, %d responses, %d matched; want %d each", requests, responses, matched, clients*each)
		}
	})
}

func TestConcurrentRegistrationsOfOneName(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, dialect string) {
		// Four clients, each from an address of its own behind a trusted
		// proxy: one address's calls are queued behind each other, which
		// is not the race under test.
		api := newTestAPI(t, dialect, func(c *config.Config) {
			c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
		})
		const racers = 4
		codes := make(chan string, racers)
		var wg sync.WaitGroup
		for i := range racers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				name := []string{"twin", "TWIN", "Twin", "twiN"}[i]
				body := mustJSON(map[string]any{"query": registerMutation, "variables": map[string]any{"u": name, "p": "same password", "e": "t@example.com"}})
				req, _ := http.NewRequest(http.MethodPost, api.server.URL+"/query", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Forwarded-For", fmt.Sprintf("192.0.2.%d", i+1))
				resp, err := sendGraphQL(api.server.Client(), req)
				if err != nil {
					codes <- err.Error()
					return
				}
				codes <- resp.code()
			}()
		}
		wg.Wait()
		close(codes)
		got := map[string]int{}
		for c := range codes {
			got[c]++
		}
		if got[""] != 1 || got["CONFLICT"] != racers-1 {
			t.Errorf("outcomes %v, want one success and %d CONFLICT", got, racers-1)
		}
		if n := api.count("users"); n != 1 {
			t.Errorf("%d users, want 1", n)
		}
	})
}

func TestProtections(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, store.SQLite)
	_, token := api.user("mallory")

	aliases := func(n int, field string) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "a%d: %s\n", i, field)
		}
		return b.String()
	}
	tests := []struct {
		name        string
		contentType string
		body        string
		token       string
		wantStatus  int
		wantCode    string
		mustNotSay  string
	}{
		{name: "malformed JSON is not echoed", body: `{"query": "{ model { version } }", SECRET-BODY`, wantStatus: 400, wantCode: "BAD_REQUEST", mustNotSay: "SECRET-BODY"},
		{name: "batching refused", body: `[{"query":"{ model { version } }"}]`, wantStatus: 400, wantCode: "BAD_REQUEST", mustNotSay: "version"},
		{name: "text/plain refused (CSRF)", contentType: "text/plain", body: `{"query":"{ model { version } }"}`, wantStatus: 415, wantCode: "UNSUPPORTED_MEDIA_TYPE"},
		{name: "form refused (CSRF)", contentType: "application/x-www-form-urlencoded", body: `query=%7B+model+%7B+version+%7D+%7D`, wantStatus: 415, wantCode: "UNSUPPORTED_MEDIA_TYPE"},
		{name: "misspelled field has no suggestion", body: `{"query":"{ modle { version } }"}`, wantStatus: 200, wantCode: "GRAPHQL_VALIDATION_FAILED", mustNotSay: "Did you mean"},
		{name: "misspelled argument has no suggestion", body: `{"query":"{ me { requests(frist: 1) { totalCount } } }"}`, wantStatus: 200, wantCode: "GRAPHQL_VALIDATION_FAILED", mustNotSay: "Did you mean"},
		{name: "misspelled enum/type has no suggestion", body: `{"query":"query($x: PredictInpt!) { model { version } }"}`, wantStatus: 200, wantCode: "GRAPHQL_VALIDATION_FAILED", mustNotSay: "Did you mean"},
		{
			name: "login brute force by aliases", wantStatus: 200, wantCode: "GRAPHQL_VALIDATION_FAILED",
			body: mustJSON(map[string]any{"query": "mutation {" + aliases(100, `token(input: {username: "mallory", password: "guess-guess"}) { token }`) + "}"}),
		},
		{
			name: "alias overloading of history", token: token, wantStatus: 200, wantCode: "COMPLEXITY_LIMIT_EXCEEDED",
			body: mustJSON(map[string]any{"query": "{" + aliases(200, `me { requests(first: 100) { edges { node { id input } } } }`) + "}"}),
		},
		{
			name: "aliased predictions", token: token, wantStatus: 200, wantCode: "COMPLEXITY_LIMIT_EXCEEDED",
			body: mustJSON(map[string]any{"query": "mutation {" + aliases(60, `predict(input: {age: 25, creatininePhosphokinase: 1000, ejectionFraction: 35, platelets: 500000, serumCreatinine: 8, serumSodium: 135, sex: true, highBloodPressure: false}) { yhat }`) + "}"}),
		},
		{name: "huge page", token: token, body: `{"query":"{ me { requests(first: 99999999) { edges { node { id } } } } }"}`, wantStatus: 200, wantCode: "COMPLEXITY_LIMIT_EXCEEDED"},
		{name: "token limit", body: mustJSON(map[string]any{"query": "{" + aliases(2000, "__typename") + "}"}), wantStatus: 200, wantCode: "GRAPHQL_PARSE_FAILED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			contentType := tt.contentType
			if contentType == "" {
				contentType = "application/json"
			}
			req, _ := http.NewRequest(http.MethodPost, api.server.URL+"/query", strings.NewReader(tt.body))
			req.Header.Set("Content-Type", contentType)
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			resp, err := api.server.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status %d, want %d: %s", resp.StatusCode, tt.wantStatus, b)
			}
			if tt.wantCode != "" && !bytes.Contains(b, []byte(`"code":"`+tt.wantCode+`"`)) {
				t.Errorf("want code %s: %s", tt.wantCode, b)
			}
			if tt.mustNotSay != "" && bytes.Contains(b, []byte(tt.mustNotSay)) {
				t.Errorf("answer contains %q: %s", tt.mustNotSay, b)
			}
		})
	}
	// The refused documents ran nothing: no prediction was logged, and the
	// real password still works, with no attempt spent by the brute force.
	if n := api.count("requests"); n != 0 {
		t.Errorf("%d requests logged by refused documents", n)
	}
	if api.token("mallory", "correct horse battery") == "" {
		t.Error("login after the refused brute force failed")
	}
}

func TestHTTPLimits(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, store.SQLite)
	tests := []struct {
		name       string
		method     string
		path       string
		header     map[string]string
		body       io.Reader
		wantStatus int
	}{
		{name: "5 MB body", method: "POST", path: "/query", body: bytes.NewReader(make([]byte, 5<<20)), wantStatus: http.StatusRequestEntityTooLarge},
		{name: "mutation over GET", method: "GET", path: "/query?query=mutation%7BdeleteUser(userId:%221%22)%7D", wantStatus: http.StatusMethodNotAllowed},
		{name: "huge Authorization header", method: "POST", path: "/query", header: map[string]string{"Authorization": "Bearer " + strings.Repeat("a", 100000)}, body: strings.NewReader(`{"query":"{ model { version } }"}`), wantStatus: http.StatusUnauthorized},
		{name: "healthz", method: "GET", path: "/healthz", wantStatus: http.StatusOK},
		{name: "readyz", method: "GET", path: "/readyz", wantStatus: http.StatusOK},
		{name: "GraphiQL", method: "GET", path: "/", wantStatus: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// In process: over a socket, the server answering 413 before
			// reading the body races the client still writing it.
			req := httptest.NewRequest(tt.method, tt.path, tt.body)
			req.Header.Set("Content-Type", "application/json")
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			api.server.Config.Handler.ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus {
				t.Errorf("status %d, want %d", rec.Code, tt.wantStatus)
			}
		})
	}
}

func TestProductionSwitches(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, store.SQLite, func(c *config.Config) {
		c.GraphiQL = false
		c.Introspection = false
	})
	if resp := api.post("", `{ __schema { types { name } } }`, nil); len(resp.Errors) == 0 {
		t.Errorf("introspection answered with it off: %s", resp.Raw)
	}
	resp, err := api.server.Client().Get(api.server.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GraphiQL off: / answered %d", resp.StatusCode)
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
