package webapp

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, target string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	return rec
}

var (
	pageRef   = regexp.MustCompile(`\b(?:src|href)="([^"]*)"`)
	importRef = regexp.MustCompile(`(?m)^import\b[^'"]*['"]([^'"]+)['"];`)
)

func TestPage(t *testing.T) {
	t.Parallel()
	h := Handler("/query")
	for _, path := range []string{"/app/", "/app/anything"} {
		rec := get(t, h, path)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: status %d", path, rec.Code)
		}
		if got := rec.Header().Get("Content-Security-Policy"); got != ContentSecurityPolicy {
			t.Errorf("%s: CSP %q", path, got)
		}
		if !strings.Contains(rec.Body.String(), `data-endpoint="/query"`) {
			t.Errorf("%s: the page does not name the endpoint", path)
		}
	}
	if strings.Contains(ContentSecurityPolicy, "unsafe") {
		t.Errorf("the policy allows something unsafe: %s", ContentSecurityPolicy)
	}
}

// The page loads only files the binary serves, under hashed names, and no
// inline script or style.
func TestPageLoadsOnlyEmbeddedFiles(t *testing.T) {
	t.Parallel()
	h := Handler("/query")
	body := get(t, h, "/app/").Body.String()
	if regexp.MustCompile(`<script(?:\s+[^>]*)?>\s*[^<\s]`).MatchString(body) || strings.Contains(body, "<style") || strings.Contains(body, " style=") {
		t.Error("the page has an inline script or style")
	}
	hashed := regexp.MustCompile(`^/app/assets/[a-z.]+\.[0-9a-f]{12}\.(js|css)$`)
	n := 0
	for _, m := range pageRef.FindAllStringSubmatch(body, -1) {
		ref := m[1]
		if strings.HasPrefix(ref, "#") || ref == "data:," {
			continue
		}
		n++
		if !hashed.MatchString(ref) {
			t.Errorf("%s is not a hashed asset", ref)
		}
		if rec := get(t, h, ref); rec.Code != http.StatusOK || rec.Header().Get("Cache-Control") != "public, max-age=31536000, immutable" {
			t.Errorf("%s: status %d, Cache-Control %q", ref, rec.Code, rec.Header().Get("Cache-Control"))
		}
	}
	if n != 3 {
		t.Errorf("the page loads %d files, want the style, Chart.js and main.js", n)
	}
}

// Every module the app imports is served, so that no import fails in a
// browser.
func TestModulesResolve(t *testing.T) {
	t.Parallel()
	h := Handler("/query")
	err := fs.WalkDir(files, "ui", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".js") {
			return err
		}
		src, err := fs.ReadFile(files, p)
		if err != nil {
			return err
		}
		for _, m := range importRef.FindAllStringSubmatch(string(src), -1) {
			spec := m[1]
			name, ok := strings.CutPrefix(spec, "./")
			if !ok || strings.Contains(name, "/") {
				t.Errorf("%s imports %s: only the app's own flat modules are served", p, spec)
				continue
			}
			rec := get(t, h, AssetPrefix+name)
			if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "text/javascript; charset=utf-8" {
				t.Errorf("%s imports %s: status %d, %s", p, spec, rec.Code, rec.Header().Get("Content-Type"))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The vendored Chart.js is the file vendor/README.md names, byte for byte,
// and its licence is served beside it.
func TestVendoredChartJS(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("vendor/README.md")
	if err != nil {
		t.Fatal(err)
	}
	h := Handler("/query")
	for _, name := range []string{"chart.umd.min.js", "LICENSE.chartjs"} {
		m := regexp.MustCompile("\\| `" + regexp.QuoteMeta(name) + "` \\| chart\\.js@4\\.[0-9.]+ \\| [^|]+ \\| `([0-9a-f]{64})` \\|").FindSubmatch(readme)
		if m == nil {
			t.Errorf("vendor/README.md does not list %s with its sha256", name)
			continue
		}
		rec := get(t, h, AssetPrefix+name)
		sum := sha256.Sum256(rec.Body.Bytes())
		if rec.Code != http.StatusOK || hex.EncodeToString(sum[:]) != string(m[1]) {
			t.Errorf("%s: status %d, sha256 %x, want %s", name, rec.Code, sum, m[1])
		}
	}
	if body := get(t, h, AssetPrefix+"LICENSE.chartjs").Body.String(); !strings.Contains(body, "MIT License") {
		t.Error("the licence served is not Chart.js's MIT licence")
	}
	if rec := get(t, h, AssetPrefix+"README.md"); rec.Code != http.StatusNotFound {
		t.Errorf("vendor/README.md is served: status %d", rec.Code)
	}
}

func TestHandlerRefusesForeignEndpoints(t *testing.T) {
	t.Parallel()
	for _, endpoint := range []string{"", "query", "//evil.example/query"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Handler(%q) did not panic", endpoint)
				}
			}()
			Handler(endpoint)
		}()
	}
}
