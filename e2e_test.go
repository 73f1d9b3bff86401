package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mlapi/mlapi/internal/store"
	"github.com/mlapi/mlapi/internal/store/storetest"
)

// These tests build the binary and talk to it over loopback, as a client
// would: the seed's whole flow, restarts, SIGTERM under load, and a database
// outage in the middle of a run.

var (
	binaryOnce sync.Once
	binaryPath string
	binaryErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binaryPath != "" {
		os.RemoveAll(filepath.Dir(binaryPath))
	}
	os.Exit(code)
}

func binary(t *testing.T) string {
	t.Helper()
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

type process struct {
	t      *testing.T
	cmd    *exec.Cmd
	base   string
	logs   *syncBuffer
	exited chan error
}

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

// servingAddr finds the address the server logged it listens on.
var servingAddr = regexp.MustCompile(`msg=serving addr=(127\.0\.0\.1:\d+)`)

// start runs the binary in dir with env and waits until it is ready. The
// server picks its own port and the test reads it from the log: a port
// found free beforehand could be taken by the time the server binds it.
func start(t *testing.T, dir string, env ...string) *process {
	t.Helper()
	cmd := exec.Command(binary(t))
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "ADDR=127.0.0.1:0", "LOG_FORMAT=text"}, env...)
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{t: t, cmd: cmd, logs: logs, exited: make(chan error, 1)}
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
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-p.exited:
			t.Fatalf("server exited during start-up: %v\n%s", err, logs.String())
		default:
		}
		if p.base == "" {
			if m := servingAddr.FindStringSubmatch(logs.String()); m != nil {
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
				return p
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("server not ready after 30s:\n%s", logs.String())
	return nil
}

func (p *process) post(token, query string, variables map[string]any) gqlResponse {
	p.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": variables})
	req, _ := http.NewRequest(http.MethodPost, p.base+"/query", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return doGraphQL(p.t, http.DefaultClient, req)
}

// stop sends SIGTERM and returns the exit error (nil for exit status 0).
func (p *process) stop() error {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.t.Fatal(err)
	}
	select {
	case err := <-p.exited:
		return err
	case <-time.After(30 * time.Second):
		p.t.Fatal("server did not exit within 30s of SIGTERM")
		return nil
	}
}

func (p *process) registerAndLogin(username, password string) string {
	p.t.Helper()
	if resp := p.post("", registerMutation, map[string]any{"u": username, "p": password, "e": username + "@example.com"}); len(resp.Errors) > 0 {
		p.t.Fatalf("register: %s", resp.Raw)
	}
	return p.login(username, password)
}

func (p *process) login(username, password string) string {
	p.t.Helper()
	resp := p.post("", tokenMutation, map[string]any{"u": username, "p": password})
	var payload struct{ Token string }
	resp.field(p.t, "token", &payload)
	return payload.Token
}

// TestBinaryEmbeddedDefault runs the binary with nothing configured, as
// `go run .` on a fresh machine: SQLite in ./data, the built-in model, a
// generated secret that survives a restart.
func TestBinaryEmbeddedDefault(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	server := start(t, dir)
	token := server.registerAndLogin("ada", "lovelace-1815")
	resp := server.post(token, predictMutation, map[string]any{"in": seedInput()})
	var p predictionAnswer
	resp.field(t, "predict", &p)
	if p.YhatProb.String() != "0.5124506" || p.Yhat != 1 {
		t.Fatalf("seed example over HTTP: %s", resp.Raw)
	}
	status := server.post("", `query($t: String!) { tokenStatus(token: $t) { valid expiresAt } }`, map[string]any{"t": token})
	if !strings.Contains(status.Raw, `"valid":true`) {
		t.Errorf("token status: %s", status.Raw)
	}
	if err := server.stop(); err != nil {
		t.Fatalf("SIGTERM: exit %v, want status 0", err)
	}
	for _, name := range []string{"mlapi.db", "jwt_secret"} {
		if _, err := os.Stat(filepath.Join(dir, "data", name)); err != nil {
			t.Errorf("./data/%s: %v", name, err)
		}
	}
	if info, err := os.Stat(filepath.Join(dir, "data", "jwt_secret")); err == nil && info.Mode().Perm() != 0o600 {
		t.Errorf("jwt_secret mode %v, want 0600", info.Mode().Perm())
	}

	// The token and the history survive a restart.
	again := start(t, dir)
	history := again.post(token, `{ me { requests { totalCount } } }`, nil)
	if !strings.Contains(history.Raw, `"totalCount":1`) {
		t.Errorf("after restart: %s", history.Raw)
	}
	// A header larger than the server's limit is refused before any handler.
	req, _ := http.NewRequest(http.MethodPost, again.base+"/query", strings.NewReader(`{"query":"{ model { version } }"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+strings.Repeat("a", 100000))
	if r, err := http.DefaultClient.Do(req); err == nil {
		r.Body.Close()
		if r.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("100 000-byte header: status %d, want 431", r.StatusCode)
		}
	}
	if err := again.stop(); err != nil {
		t.Errorf("SIGTERM: %v", err)
	}
}

// TestBinarySIGTERMDrains stops the server while clients are predicting: no
// request in flight may fail, and the process exits 0.
func TestBinarySIGTERMDrains(t *testing.T) {
	t.Parallel()
	server := start(t, t.TempDir())
	token := server.registerAndLogin("drain", "drain-password")

	const clients, each = 8, 40
	var wg sync.WaitGroup
	var mu sync.Mutex
	var answered, refused int
	var bad []string
	started := make(chan struct{})
	var startOnce sync.Once
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 20 * time.Second}
			for range each {
				body, _ := json.Marshal(map[string]any{"query": predictMutation, "variables": map[string]any{"in": seedInput()}})
				req, _ := http.NewRequest(http.MethodPost, server.base+"/query", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := client.Do(req)
				startOnce.Do(func() { close(started) })
				if err != nil {
					// After the listener closes, new connections are refused:
					// that is the client's cue, not a failed request.
					mu.Lock()
					refused++
					mu.Unlock()
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				mu.Lock()
				if resp.StatusCode != http.StatusOK || !bytes.Contains(b, []byte(`"yhatProb":0.5124506`)) {
					bad = append(bad, fmt.Sprintf("%d %s", resp.StatusCode, b))
				} else {
					answered++
				}
				mu.Unlock()
			}
		}()
	}
	<-started
	time.Sleep(100 * time.Millisecond)
	if err := server.stop(); err != nil {
		t.Errorf("exit after SIGTERM: %v, want status 0", err)
	}
	wg.Wait()
	if len(bad) > 0 {
		t.Errorf("%d requests failed during shutdown, first: %s", len(bad), bad[0])
	}
	if answered == 0 {
		t.Error("no request was answered before shutdown")
	}
	t.Logf("answered %d, refused after close %d", answered, refused)
}

// proxy forwards loopback TCP to PostgreSQL and can be cut and restored,
// standing in for a database that goes away and comes back.
type proxy struct {
	t      *testing.T
	addr   string
	target string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]struct{}
}

func newProxy(t *testing.T, target string) *proxy {
	p := &proxy{t: t, addr: "127.0.0.1:0", target: target, conns: map[net.Conn]struct{}{}}
	p.up()
	t.Cleanup(p.down)
	return p
}

func (p *proxy) up() {
	p.t.Helper()
	var ln net.Listener
	var err error
	for range 50 { // the port may linger briefly after down
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		p.t.Fatalf("proxy listen: %v", err)
	}
	p.mu.Lock()
	p.ln = ln
	p.addr = ln.Addr().String() // up again after down listens on the same port
	p.mu.Unlock()
	go func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", p.target)
			if err != nil {
				client.Close()
				continue
			}
			p.mu.Lock()
			if p.ln != ln {
				// down ran while this pair was being dialled: it must not
				// outlive the outage.
				p.mu.Unlock()
				client.Close()
				server.Close()
				continue
			}
			p.conns[client], p.conns[server] = struct{}{}, struct{}{}
			p.mu.Unlock()
			go func() { io.Copy(server, client); server.Close() }()
			go func() { io.Copy(client, server); client.Close() }()
		}
	}()
}

// down refuses new connections and breaks the open ones.
func (p *proxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

// TestBinaryDatabaseOutage cuts PostgreSQL in the middle of a run: the API
// answers SERVICE_UNAVAILABLE without a prediction, never hands out one it
// did not log, reports not ready, and recovers by itself.
func TestBinaryDatabaseOutage(t *testing.T) {
	t.Parallel()
	if !slices.Contains(storetest.Dialects(t), store.Postgres) {
		t.Skip("needs PostgreSQL: set TEST_DATABASE_URL")
	}
	dbURL, err := url.Parse(storetest.OpenPostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	pg := newProxy(t, dbURL.Host)
	dbURL.Host = pg.addr
	server := start(t, t.TempDir(), "DATABASE_URL="+dbURL.String(), "JWT_SECRET="+randomSecret(t))
	token := server.registerAndLogin("outage", "outage-password")

	predicted := 0
	predict := func() gqlResponse {
		resp := server.post(token, predictMutation, map[string]any{"in": seedInput()})
		if len(resp.Errors) == 0 {
			predicted++
		}
		return resp
	}
	if resp := predict(); len(resp.Errors) > 0 {
		t.Fatalf("before the outage: %s", resp.Raw)
	}

	pg.down()
	resp := predict()
	if resp.code() != "SERVICE_UNAVAILABLE" || string(resp.Data["predict"]) != "" && string(resp.Data["predict"]) != "null" {
		t.Errorf("during the outage: %s", resp.Raw)
	}
	if strings.Contains(resp.Raw, "127.0.0.1") || strings.Contains(resp.Raw, "dial") {
		t.Errorf("the answer leaks connection details: %s", resp.Raw)
	}
	if r, err := http.Get(server.base + "/readyz"); err == nil {
		r.Body.Close()
		if r.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("/readyz during the outage: %d, want 503", r.StatusCode)
		}
	}

	pg.up()
	recovered := false
	for range 100 {
		if len(predict().Errors) == 0 {
			recovered = true
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !recovered {
		t.Fatal("the API did not recover after the database came back")
	}
	// Every prediction a client received was logged, and nothing else.
	history := server.post(token, `{ me { requests { totalCount } } }`, nil)
	if !strings.Contains(history.Raw, fmt.Sprintf(`"totalCount":%d`, predicted)) {
		t.Errorf("history after the outage %s, want %d requests", history.Raw, predicted)
	}
	if err := server.stop(); err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("SIGTERM: %v", err)
	}
}
