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
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/mlapi/mlapi/internal/config"
	"github.com/mlapi/mlapi/internal/live"
	"github.com/mlapi/mlapi/internal/store"
	"github.com/mlapi/mlapi/internal/store/storetest"
)

// The harness of the root tests: the API in process (testAPI) or as the
// built binary (process), both reached over loopback through one endpoint,
// and the typed answers they give.

func TestMain(m *testing.M) {
	code := m.Run()
	if binaryPath != "" {
		os.RemoveAll(filepath.Dir(binaryPath))
	}
	os.Exit(code)
}

// endpoint is where a test sends GraphQL: the in-process server of a testAPI
// or a running binary. Every GraphQL request of the root tests goes through
// its post, do or send.
type endpoint struct {
	base   string // http://127.0.0.1:PORT
	client *http.Client
}

// post sends one GraphQL request: query with options of gqlgen's client
// (client.Var, client.Operation, client.Path, client.AddHeader), and token as
// a bearer token unless empty. GraphQL errors are returned, not failed on.
func (e endpoint) post(t testing.TB, token, query string, options ...client.Option) gqlResponse {
	t.Helper()
	resp, err := e.do(token, query, options...)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// do is post for goroutines, which must not call t.Fatal: it returns the
// failure instead. A failure to reach the server wraps a *url.Error.
func (e endpoint) do(token, query string, options ...client.Option) (gqlResponse, error) {
	// gqlgen's client describes the request; its own Post is not used: it
	// calls an http.Handler in process, where the binary is reached over
	// loopback, decodes the answer through float64 (losing how yhatProb is
	// printed), and turns a 4xx into a bare error.
	req, err := http.NewRequest(http.MethodPost, e.base+"/query", nil)
	if err != nil {
		return gqlResponse{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	r := &client.Request{Query: query, HTTP: req}
	for _, option := range options {
		option(r)
	}
	body, err := json.Marshal(r)
	if err != nil {
		return gqlResponse{}, err
	}
	req.ContentLength = int64(len(body))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	req.Body, _ = req.GetBody()
	return e.roundTrip(req)
}

// send sends a request made by hand, for what a GraphQL client would not
// send (a raw body, GET, another content type), and decodes the answer.
func (e endpoint) send(t testing.TB, req *http.Request) gqlResponse {
	t.Helper()
	resp, err := e.roundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// newRequest makes a request to path for send, with a JSON body unless
// body is nil.
func (e endpoint) newRequest(t testing.TB, method, path, token string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, e.base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req
}

// get sends a GraphQL request over GET, its parameters in the query string.
func (e endpoint) get(t testing.TB, token string, params map[string]string) gqlResponse {
	t.Helper()
	q := url.Values{}
	for k, v := range params {
		q.Set(k, v)
	}
	return e.send(t, e.newRequest(t, http.MethodGet, "/query?"+q.Encode(), token, nil))
}

// fetch sends req and returns the answer with its body, read whole and
// untouched.
func (e endpoint) fetch(t testing.TB, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

func (e endpoint) roundTrip(req *http.Request) (gqlResponse, error) {
	resp, err := e.client.Do(req)
	if err != nil {
		return gqlResponse{}, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return gqlResponse{}, fmt.Errorf("read the answer: %v", err)
	}
	out := gqlResponse{Status: resp.StatusCode, Header: resp.Header, Raw: string(b)}
	if err := json.Unmarshal(b, &out); err != nil {
		return gqlResponse{}, fmt.Errorf("answer is not JSON (%d): %s", resp.StatusCode, b)
	}
	return out, nil
}

// gqlResponse is one answer: its errors typed, its data decoded field by
// field with field, so that numbers keep the text the server wrote
// (json.Number).
type gqlResponse struct {
	Status int                        `json:"-"`
	Header http.Header                `json:"-"`
	Data   map[string]json.RawMessage `json:"data"`
	Errors []gqlError                 `json:"errors"`
	Raw    string                     `json:"-"`
}

type gqlError struct {
	Message    string `json:"message"`
	Path       []any  `json:"path"`
	Extensions struct {
		Code string `json:"code"`
		// Fields are the input fields a BAD_USER_INPUT names.
		Fields []struct{ Field, Reason, Message string } `json:"fields"`
	} `json:"extensions"`
}

// code is the first error's code, "" without errors.
func (r gqlResponse) code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	return r.Errors[0].Extensions.Code
}

// fields lists the first error's fields as field:reason, in the order
// presented.
func (r gqlResponse) fields() []string {
	if len(r.Errors) == 0 {
		return nil
	}
	var got []string
	for _, f := range r.Errors[0].Extensions.Fields {
		got = append(got, f.Field+":"+f.Reason)
	}
	return got
}

// field decodes one top-level field of data into v.
func (r gqlResponse) field(t testing.TB, name string, v any) {
	t.Helper()
	if err := r.decode(name, v); err != nil {
		t.Fatal(err)
	}
}

// decode is field for goroutines.
func (r gqlResponse) decode(name string, v any) error {
	raw, ok := r.Data[name]
	if !ok {
		return fmt.Errorf("no %q in data: %.500s", name, r.Raw)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("decode %s: %v in %.500s", name, err, r.Raw)
	}
	return nil
}

// pageInfoAnswer is a connection's pageInfo.
type pageInfoAnswer struct {
	HasNextPage, HasPreviousPage bool
	StartCursor, EndCursor       *string
}

const registerMutation = `mutation($u: String!, $p: String!, $e: String!) {
  registerUser(input: {username: $u, password: $p, email: $e}) { user { id username email enabled createdAt role } } }`

const tokenMutation = `mutation($u: String!, $p: String!) { token(input: {username: $u, password: $p}) { token tokenType expiresAt } }`

const predictMutation = `mutation($in: PredictInput!) { predict(input: $in) {
  id requestId yhatProb yhat margin modelVersion createdAt contributions { feature field value } bias } }`

const tokenStatusQuery = `query($t: String!) { tokenStatus(token: $t) { valid expiresAt } }`

// userPassword is every test user's, unless a test says otherwise.
const userPassword = "correct horse battery"

// seedInput is the seed document's example, as GraphQL variables.
func seedInput() map[string]any {
	return map[string]any{
		"age": 25, "creatininePhosphokinase": 1000, "ejectionFraction": 35, "platelets": 500000,
		"serumCreatinine": 8, "serumSodium": 135, "sex": true, "highBloodPressure": false,
	}
}

// vars sets every variable of m, for tables that hold them as a map.
func vars(m map[string]any) client.Option {
	return func(r *client.Request) {
		for name, value := range m {
			client.Var(name, value)(r)
		}
	}
}

// predictionAnswer is predictMutation's answer.
type predictionAnswer struct {
	ID            string
	RequestID     string
	YhatProb      json.Number
	Yhat          int
	Margin        float64
	ModelVersion  string
	CreatedAt     string
	Contributions []struct {
		Feature, Field string
		Value          float64
	}
	Bias float64
}

// predict runs predictMutation on the seed's example and returns the
// prediction.
func (e endpoint) predict(t testing.TB, token string) predictionAnswer {
	t.Helper()
	resp := e.post(t, token, predictMutation, client.Var("in", seedInput()))
	if len(resp.Errors) > 0 {
		t.Fatalf("predict: %s", resp.Raw)
	}
	var p predictionAnswer
	resp.field(t, "predict", &p)
	return p
}

// register creates a user and returns its id.
func (e endpoint) register(t testing.TB, username, password string) string {
	t.Helper()
	resp := e.post(t, "", registerMutation, client.Var("u", username), client.Var("p", password), client.Var("e", username+"@example.com"))
	if len(resp.Errors) > 0 {
		t.Fatalf("registerUser %s: %s", username, resp.Raw)
	}
	var payload struct{ User struct{ ID string } }
	resp.field(t, "registerUser", &payload)
	return payload.User.ID
}

// token logs in and returns the token.
func (e endpoint) token(t testing.TB, username, password string) string {
	t.Helper()
	resp := e.post(t, "", tokenMutation, client.Var("u", username), client.Var("p", password))
	if len(resp.Errors) > 0 {
		t.Fatalf("token %s: %s", username, resp.Raw)
	}
	var payload struct{ Token string }
	resp.field(t, "token", &payload)
	return payload.Token
}

// user registers a user with userPassword and returns its id and a token.
func (e endpoint) user(t testing.TB, username string) (id, token string) {
	t.Helper()
	id = e.register(t, username, userPassword)
	return id, e.token(t, username, userPassword)
}

// tokenValid asks tokenStatus whether token is valid.
func (e endpoint) tokenValid(t testing.TB, token string) bool {
	t.Helper()
	resp := e.post(t, "", tokenStatusQuery, client.Var("t", token))
	var status struct{ Valid bool }
	resp.field(t, "tokenStatus", &status)
	return status.Valid
}

// historyCount is the totalCount of the caller's history.
func (e endpoint) historyCount(t testing.TB, token string) int {
	t.Helper()
	resp := e.post(t, token, `{ me { requests { totalCount } } }`)
	var me struct{ Requests struct{ TotalCount int } }
	resp.field(t, "me", &me)
	return me.Requests.TotalCount
}

// testAPI is the real HTTP handler, wired as the binary wires it, behind a
// loopback listener, on a database of its own.
type testAPI struct {
	endpoint
	server *httptest.Server
	db     *store.DB
	url    string  // the database's URL
	secret string  // its JWT_SECRET
	tables *sql.DB // the database on connections of its own, as an operator inspects it
	logs   *syncBuffer
	live   *live.Broker // the subscriptions, for tests to wait on
	// metrics serves /metrics, as METRICS_ADDR would.
	metrics http.Handler
}

// newTestAPI starts the API on a fresh database of dialect, its
// configuration the defaults as adjusted.
func newTestAPI(t *testing.T, dialect string, adjust ...func(*config.Config)) *testAPI {
	t.Helper()
	return newTestAPIWith(t, dialect, nil, adjust...)
}

// newTestAPIWith is newTestAPI, assembled with newApp's options.
func newTestAPIWith(t *testing.T, dialect string, options []appOption, adjust ...func(*config.Config)) *testAPI {
	t.Helper()
	databaseURL := storetest.URL(t, dialect)
	cfg := defaultConfig(t)
	cfg.DatabaseURL = databaseURL
	cfg.JWTSecret = randomSecret(t)
	for _, f := range adjust {
		f(&cfg)
	}
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, nil))
	a, err := newApp(context.Background(), cfg, logger, options...)
	if err != nil {
		t.Fatalf("newApp: %v", err)
	}
	server := httptest.NewServer(a.handler)
	tables := openTables(t, databaseURL)
	t.Cleanup(func() {
		a.live.Close() // ends the streams server.Close would wait for
		server.Close()
		tables.Close()
		a.db.Close()
	})
	return &testAPI{
		endpoint: endpoint{base: server.URL, client: server.Client()},
		server:   server, db: a.db, url: databaseURL, secret: cfg.JWTSecret, tables: tables, logs: logs, live: a.live, metrics: a.metrics,
	}
}

// env is the server's environment, for the commands an operator runs
// beside it: its database and its secret.
func (a *testAPI) env(key string) string {
	switch key {
	case "DATABASE_URL":
		return a.url
	case "JWT_SECRET":
		return a.secret
	}
	return ""
}

// defaultConfig is the configuration of an empty environment.
func defaultConfig(t testing.TB) config.Config {
	t.Helper()
	cfg, err := config.Parse(nil, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// startWith assembles the app for cfg on a database of its own, and returns
// its handler or why it could not start.
func startWith(t *testing.T, cfg config.Config) (http.Handler, error) {
	t.Helper()
	cfg.DatabaseURL = storetest.URL(t, store.SQLite)
	if cfg.JWTSecret == "" {
		cfg.JWTSecret = randomSecret(t)
	}
	a, err := newApp(t.Context(), cfg, slog.New(slog.DiscardHandler))
	if a != nil {
		t.Cleanup(func() { a.close() })
		return a.handler, err
	}
	return nil, err
}

func randomSecret(t testing.TB) string {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
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
func (a *testAPI) queryInt(t testing.TB, query string) int {
	t.Helper()
	var n int
	if err := a.tables.QueryRow(query).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func (a *testAPI) count(t testing.TB, table string) int {
	t.Helper()
	return a.queryInt(t, "SELECT count(*) FROM "+table)
}

// lastLogged returns the newest request row's input and its response's
// output and status, as an operator reads them.
func (a *testAPI) lastLogged(t testing.TB) (input, output, status string) {
	t.Helper()
	err := a.tables.QueryRow(`SELECT r.input, s.output, s.status FROM requests r JOIN responses s ON s.request_id = r.id
		ORDER BY r.id DESC LIMIT 1`).Scan(&input, &output, &status)
	if err != nil {
		t.Fatal(err)
	}
	return input, output, status
}

// createAdmin makes an administrator on the command line, as an operator
// does, and returns their id (the bare integer the command prints, which the
// API accepts as a User id) and a token.
func (a *testAPI) createAdmin(t testing.TB, username, password string) (id, token string) {
	t.Helper()
	return createAdmin(t, a.env, a.endpoint, username, password)
}

// createAdmin makes an administrator on the command line, run in env (the
// server's DATABASE_URL and JWT_SECRET), and returns their id and a token
// from e.
func createAdmin(t testing.TB, env func(string) string, e endpoint, username, password string) (id, token string) {
	t.Helper()
	var out strings.Builder
	err := run(context.Background(), []string{"user", "create", "--admin", "--username", username, "--email", username + "@example.com"},
		env, strings.NewReader(password+"\n"), &out, io.Discard)
	if err != nil {
		t.Fatalf("user create --admin %s: %v", username, err)
	}
	_, after, found := strings.Cut(out.String(), "(id ")
	id, _, closed := strings.Cut(after, ")")
	if !found || !closed || id == "" {
		t.Fatalf("user create printed %q, want the new id", out.String())
	}
	return id, e.token(t, username, password)
}

// logEntry is one line of the API's JSON log; requests are those with Msg
// "request", one per HTTP request.
type logEntry struct {
	Level      string
	Msg        string
	Method     string
	Path       string
	Status     int
	LatencyMS  *float64 `json:"latency_ms"`
	Client     string
	ErrorCodes []string `json:"error_codes"`
}

// logLines decodes the API's log so far.
func (a *testAPI) logLines(t testing.TB) []logEntry {
	t.Helper()
	var entries []logEntry
	for line := range strings.Lines(a.logs.String()) {
		var entry logEntry
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Fatalf("log line is not JSON: %q (%v)", line, err)
		}
		entries = append(entries, entry)
	}
	return entries
}

// syncBuffer collects a server's log while it writes it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// The built binary, for the tests that run it as an operator would.
var (
	binaryOnce sync.Once
	binaryPath string
	binaryErr  error
)

// binary builds the binary once per test run; -short skips the tests that
// need it.
func binary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	binaryOnce.Do(func() {
		dir, err := os.MkdirTemp("", "mlapi-e2e-")
		if err != nil {
			binaryErr = err
			return
		}
		binaryPath = filepath.Join(dir, "mlapi")
		out, err := exec.Command("go", "build", "-o", binaryPath, ".").CombinedOutput()
		if err != nil {
			binaryErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binaryErr != nil {
		t.Fatal(binaryErr)
	}
	return binaryPath
}

// process is the binary, running.
type process struct {
	endpoint
	cmd    *exec.Cmd
	logs   *syncBuffer
	exited chan error
}

// servingAddr finds the address the server logged it listens on.
var servingAddr = regexp.MustCompile(`msg=serving addr=(127\.0\.0\.1:\d+)`)

// start runs the binary in dir with env and waits until it is ready.
func start(t *testing.T, dir string, env ...string) *process {
	t.Helper()
	p := launch(t, dir, env...)
	p.waitReady(t)
	return p
}

// launch runs the binary in dir with env, without waiting for it.
func launch(t *testing.T, dir string, env ...string) *process {
	t.Helper()
	cmd := exec.Command(binary(t))
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "ADDR=127.0.0.1:0", "LOG_FORMAT=text"}, env...)
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{endpoint: endpoint{client: http.DefaultClient}, cmd: cmd, logs: logs, exited: make(chan error, 1)}
	go func() { p.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("server logs:\n%s", logs.String())
		}
	})
	return p
}

// waitReady waits until the server answers /readyz. The server picks its
// own port and the test reads it from the log: a port found free
// beforehand could be taken by the time the server binds it.
func (p *process) waitReady(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-p.exited:
			t.Fatalf("server exited during start-up: %v\n%s", err, p.logs.String())
		default:
		}
		if p.base == "" {
			if m := servingAddr.FindStringSubmatch(p.logs.String()); m != nil {
				p.base = "http://" + m[1]
			} else {
				time.Sleep(50 * time.Millisecond)
				continue
			}
		}
		resp, err := http.Get(p.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("server not ready after 30s:\n%s", p.logs.String())
}

// stop sends SIGTERM and returns the exit error (nil for exit status 0).
func (p *process) stop(t *testing.T) error {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.exited:
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("server did not exit within 30s of SIGTERM")
		return nil
	}
}
