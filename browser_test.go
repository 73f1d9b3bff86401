package main

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/mlapi/mlapi/internal/config"
	"github.com/mlapi/mlapi/internal/store"
)

// browserTimeout bounds each browser test, Chromium's start included, and
// waitTimeout each wait for the page, leaving time to take a screenshot of a
// page that did not get there. Both only catch a hung browser: under -race,
// with the package's other tests sharing two cores, a page can take seconds.
const (
	browserTimeout = 5 * time.Minute
	waitTimeout    = time.Minute
)

// chromium returns the path of Debian's Chromium. Without it the browser
// tests skip, except under CI=true, where they must run.
func chromium(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("drives a real browser")
	}
	if path, err := exec.LookPath("chromium"); err == nil {
		return path
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed, and CI=true runs the browser tests: apt-get install chromium")
	}
	t.Skip("chromium is not installed (apt-get install chromium)")
	return ""
}

// startBrowser starts a headless Chromium that lives as long as t, and
// returns its context, bounded by browserTimeout.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	path := chromium(t)
	// Not t.Context(): it ends before the clean-ups run, and Chromium would be
	// killed instead of closed.
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	t.Cleanup(cancel)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(path),
		chromedp.Headless,
		// Tests run as root, where Chromium's sandbox cannot start.
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-breakpad", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("no-pings", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("use-mock-keychain", true),
		// The Fetch interception below sees the tabs' requests only; no name
		// resolves, so the browser's own requests cannot leave either.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
		chromedp.WindowSize(1280, 900),
		// No UserDataDir: chromedp then makes a fresh temporary profile, and
		// removes it once Chromium and its helpers have exited.
	)
	t.Cleanup(cancelAlloc)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(browserCtx); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	return browserCtx
}

// tab is one browser tab that may reach the test's own servers and nothing
// else: Fetch interception fails every other request, and records it.
type tab struct {
	ctx context.Context

	mu      sync.Mutex
	refused []string // URLs of requests that would have left the test's servers
	console []string
}

func openTab(t *testing.T, browser context.Context, servers ...string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	tb := &tab{ctx: ctx}
	allowed := map[string]bool{}
	for _, s := range servers {
		u, err := url.Parse(s)
		if err != nil || u.Hostname() != "127.0.0.1" {
			t.Fatalf("server %s is not on 127.0.0.1", s)
		}
		allowed[u.Host] = true
	}

	paused := chromedp.Events(ctx, fetch.RequestPaused)
	go func() {
		for ev, err := range paused {
			if err != nil {
				return
			}
			u, err := url.Parse(ev.Request.URL)
			if err == nil && u.Scheme == "http" && allowed[u.Host] {
				_, _ = chromedp.Call(ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
				continue
			}
			tb.mu.Lock()
			tb.refused = append(tb.refused, ev.Request.URL)
			tb.mu.Unlock()
			_, _ = chromedp.Call(ctx, fetch.FailRequest, fetch.FailRequestParams{
				RequestID: ev.RequestID, ErrorReason: network.ErrorReasonBlockedByClient,
			})
		}
	}()
	console := chromedp.Console(ctx)
	go func() {
		for m, err := range console {
			if err != nil {
				return
			}
			tb.mu.Lock()
			tb.console = append(tb.console, fmt.Sprintf("%s %s:%d %s", m.Type, m.URL, m.Line+1, m.Text))
			tb.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		if t.Failed() {
			tb.mu.Lock()
			defer tb.mu.Unlock()
			t.Logf("browser console:\n%s", strings.Join(tb.console, "\n"))
		}
	})

	// The page's Content-Security-Policy violations, collected from the
	// first script on: the page must need nothing its policy forbids.
	_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `window.cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) =>
  window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));`,
	})
	if err != nil {
		t.Fatal(err)
	}
	// No pattern: every request of the tab is paused until the loop above
	// lets it through or fails it.
	if _, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	return tb
}

// do runs steps, for at most waitTimeout.
func (tb *tab) do(t *testing.T, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, waitTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		tb.screenshot(t, "failed.png")
		t.Fatal(err)
	}
}

// eval evaluates expression in the page and decodes its value into T.
func eval[T any](t *testing.T, tb *tab, expression string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, waitTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expression, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.screenshot(t, "failed.png")
		t.Fatalf("%s: %v", expression, err)
	}
	return v
}

// waitFor evaluates expression until it is truthy, for at most waitTimeout,
// and returns it as a string. chromedp.Poll would compile the expression with
// new Function, which a page whose CSP forbids eval refuses; Runtime.evaluate
// is exempt.
func (tb *tab) waitFor(t *testing.T, what, expression string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, waitTimeout)
	defer cancel()
	probe := `(() => { try { return String((` + expression + `) || ''); } catch (e) { return ''; } })()`
	for {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](probe))
		if err == nil && v != "" {
			return v
		}
		select {
		case <-ctx.Done():
			// tb.ctx outlives ctx, so the screenshot shows what was there.
			tb.screenshot(t, "failed.png")
			t.Fatalf("waiting for %s: %v (last evaluation: %v)", what, ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// screenshot saves the page as name in the test's artifact directory, which
// go test -artifacts -outputdir DIR keeps, and in the folder
// MLAPI_SCREENSHOTS names, when set, for a person to look at (the README's
// pictures come from there).
func (tb *tab) screenshot(t *testing.T, name string) {
	t.Helper()
	png, err := chromedp.Run(tb.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("screenshot: %v", err)
		return
	}
	dirs := []string{t.ArtifactDir()}
	if dir := os.Getenv("MLAPI_SCREENSHOTS"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Logf("screenshot: %v", err)
		}
		dirs = append(dirs, dir)
	}
	for _, dir := range dirs {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Logf("screenshot: %v", err)
			continue
		}
		t.Logf("screenshot: %s", path)
	}
}

// checkStayedLocal fails the test when the page asked for anything outside
// the test's servers, or broke its Content-Security-Policy.
func (tb *tab) checkStayedLocal(t *testing.T) {
	t.Helper()
	tb.mu.Lock()
	refused := append([]string(nil), tb.refused...)
	tb.mu.Unlock()
	if len(refused) > 0 {
		t.Errorf("the page requested %d URLs outside the test's servers: %q", len(refused), refused)
	}
	if v := eval[[]string](t, tb, `window.cspViolations || []`); len(v) > 0 {
		t.Errorf("Content-Security-Policy violations: %q", v)
	}
}

func TestBrowserGraphiQL(t *testing.T) {
	t.Parallel()
	browser := startBrowser(t)
	api := newTestAPI(t, store.SQLite)
	_, token := api.user(t, "grace")

	tb := openTab(t, browser, api.server.URL)
	tb.do(t, chromedp.Navigate(api.server.URL+"/"))
	if title := eval[string](t, tb, `document.title`); title != "mlapi GraphiQL" {
		t.Errorf("title %q, want mlapi GraphiQL", title)
	}
	// GraphiQL has rendered once its editors are there ("Loading…" is gone).
	tb.waitFor(t, "GraphiQL's query editor", `document.querySelector('.graphiql-query-editor .CodeMirror')`)
	if loading := eval[bool](t, tb, `document.body.innerText.includes('Loading…')`); loading {
		t.Error(`the page still says "Loading…"`)
	}
	// The schema loads through the page's own fetcher.
	tb.do(t, chromedp.Click(chromedp.CSS(`.graphiql-sidebar button[aria-label="Show Documentation Explorer"]`)))
	tb.waitFor(t, "the schema in the documentation explorer",
		`[...document.querySelectorAll('.graphiql-doc-explorer a')].some((a) => a.textContent === 'Mutation')`)

	// The default document shows the whole flow, and runs against this API.
	defaultQuery := eval[string](t, tb, `document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.getValue()`)
	for _, op := range []string{"mutation Register", "mutation Token", "mutation Predict", "query Me"} {
		if !strings.Contains(defaultQuery, op) {
			t.Errorf("the default document lacks %q:\n%s", op, defaultQuery)
		}
	}
	checkDefaultDocument(t, api, defaultQuery)

	// The header editor is the visible one of the editor tools, once its tab
	// is chosen; it starts with the token's placeholder.
	const headerEditor = `document.querySelector('.graphiql-editor-tool[aria-label="Headers"] .graphiql-editor:not(.hidden) .CodeMirror')`
	tb.do(t, chromedp.Click(chromedp.Search(`//div[contains(@class, "graphiql-editor-tools")]//button[text()="Headers"]`)))
	headers := tb.waitFor(t, "the header editor", headerEditor+` && `+headerEditor+`.CodeMirror.getValue()`)
	if !strings.Contains(headers, "Bearer <token") {
		t.Errorf("the header editor holds %q, want the token's placeholder", headers)
	}

	// Fill both editors through their CodeMirror instances, which GraphiQL
	// listens to, as if the user had typed.
	headerJSON, _ := json.Marshal(map[string]string{"Authorization": "Bearer " + token})
	eval[chromedp.Void](t, tb, fmt.Sprintf(`(() => {
  %s.CodeMirror.setValue(%q);
  document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue('{ me { username } }');
})()`, headerEditor, headerJSON))
	// GraphiQL takes the edit in asynchronously: until it has, the button
	// still offers a menu of the default document's four operations.
	tb.waitFor(t, "GraphiQL to take the new query", `!document.querySelector('.graphiql-execute-button').hasAttribute('aria-haspopup')`)
	tb.do(t, chromedp.Click(chromedp.CSS(".graphiql-execute-button")))

	answer := tb.waitFor(t, "the result", `(() => {
  const v = document.querySelector('.graphiql-response .CodeMirror').CodeMirror.getValue();
  return v.includes('"me"') || v.includes('errors') ? v : '';
})()`)
	var result struct {
		Data struct {
			Me struct{ Username string }
		}
	}
	if err := json.Unmarshal([]byte(answer), &result); err != nil || result.Data.Me.Username != "grace" {
		t.Errorf("the result pane shows %s, want grace's username", answer)
	}
	tb.screenshot(t, "graphiql.png")
	tb.checkStayedLocal(t)
}

// checkDefaultDocument runs the default document's operations, as a user of
// the page would, so that the document cannot drift from the schema.
func checkDefaultDocument(t *testing.T, api *testAPI, document string) {
	t.Helper()
	var token string
	for _, op := range []string{"Register", "Token", "Predict", "Me"} {
		resp := api.post(t, token, document, client.Operation(op))
		if resp.Status != http.StatusOK || len(resp.Errors) > 0 {
			t.Fatalf("the default document's %s: %d %s", op, resp.Status, resp.Raw)
		}
		if op == "Token" {
			var payload struct{ Token string }
			resp.field(t, "token", &payload)
			token = payload.Token
		}
	}
}

// crossOriginPage is another site's page calling the API from its script.
var crossOriginPage = template.Must(template.New("page").Parse(`<!doctype html>
<meta charset="utf-8">
<title>another site</title>
<pre id="outcome"></pre>
<script>
const outcome = document.getElementById('outcome');
fetch({{.API}} + '/query', {
  method: 'POST',
  headers: {'Content-Type': 'application/json', 'Authorization': 'Bearer ' + {{.Token}}},
  body: JSON.stringify({query: '{ model { version } }'}),
})
  .then((response) => response.json())
  .then((body) => { outcome.textContent = 'version ' + body.data.model.version; })
  .catch((err) => { outcome.textContent = 'error ' + err.name; })
  .finally(() => { outcome.className = 'done'; });
</script>
`))

func TestBrowserCrossOrigin(t *testing.T) {
	t.Parallel()
	browser := startBrowser(t)
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = crossOriginPage.Execute(w, map[string]string{"API": r.URL.Query().Get("api"), "Token": r.URL.Query().Get("token")})
	}))
	t.Cleanup(site.Close)
	origin := site.URL // http://127.0.0.1:PORT, as the browser sends it
	port := strings.TrimPrefix(origin, "http://127.0.0.1:")

	tests := []struct {
		name    string
		origins []string
		allowed bool
	}{
		{"the page's origin is allowed", []string{"https://app.example.com", origin}, true},
		{"no origin is allowed", nil, false},
		{"another host name", []string{"http://localhost:" + port}, false},
		{"another scheme", []string{"https://127.0.0.1:" + port}, false},
		{"another port", []string{"http://127.0.0.1:1"}, false},
	}
	// One case after another: the browser is shared, and its deadline runs
	// while parallel subtests would wait for a slot.
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newTestAPI(t, store.SQLite, func(c *config.Config) { c.CORSOrigins = tt.origins })
			_, token := api.user(t, "lin")
			var model struct{ Version string }
			api.post(t, "", `{ model { version } }`).field(t, "model", &model)
			posts := countPosts(t, api)

			tb := openTab(t, browser, site.URL, api.server.URL)
			tb.do(t, chromedp.Navigate(site.URL+"/?"+url.Values{"api": {api.server.URL}, "token": {token}}.Encode()))
			got := tb.waitFor(t, "the fetch's outcome", `document.querySelector('#outcome.done') && document.querySelector('#outcome').textContent`)

			if tt.allowed {
				if got != "version "+model.Version {
					t.Errorf("the page shows %q, want %q", got, "version "+model.Version)
				}
			} else {
				if got != "error TypeError" {
					t.Errorf("the page shows %q, want the fetch to fail with a TypeError", got)
				}
				// The preflight was refused, so the POST never reached the API.
				if n := countPosts(t, api); n != posts {
					t.Errorf("%d POST /query from a refused origin reached the API", n-posts)
				}
			}
			tb.checkStayedLocal(t)
		})
	}
}

// countPosts counts the API's access-log lines for POST /query.
func countPosts(t *testing.T, api *testAPI) int {
	t.Helper()
	n := 0
	for _, entry := range api.logLines(t) {
		if entry.Msg == "request" && entry.Method == http.MethodPost && entry.Path == "/query" {
			n++
		}
	}
	return n
}
