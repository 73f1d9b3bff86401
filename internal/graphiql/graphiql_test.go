package graphiql

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, method, target string, header map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

var (
	scriptTag = regexp.MustCompile(`<script\b[^>]*>`)
	linkTag   = regexp.MustCompile(`<link\b[^>]*rel="stylesheet"[^>]*>`)
	srcAttr   = regexp.MustCompile(`\b(?:src|href)="([^"]*)"`)
)

func TestPage(t *testing.T) {
	t.Parallel()
	h := Handler("/query")
	tests := []struct {
		name, method, target string
	}{
		{"root", http.MethodGet, "/"},
		{"head", http.MethodHead, "/"},
		// The mux decides which paths reach the page; the handler itself
		// answers every path outside Prefix with it.
		{"other path", http.MethodGet, "/anything?x=1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := get(t, h, tt.method, tt.target, nil)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d, want 200", rec.Code)
			}
			want := map[string]string{
				"Content-Type":            "text/html; charset=utf-8",
				"Content-Security-Policy": ContentSecurityPolicy,
				"Cache-Control":           "no-cache",
				"X-Content-Type-Options":  "nosniff",
			}
			for k, v := range want {
				if got := rec.Header().Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			if rec.Header().Get("ETag") == "" {
				t.Error("no ETag")
			}
			if tt.method == http.MethodHead {
				if rec.Body.Len() != 0 {
					t.Errorf("HEAD answered with a body of %d bytes", rec.Body.Len())
				}
				return
			}
			body := rec.Body.String()
			for _, s := range []string{"<title>mlapi GraphiQL</title>", `data-endpoint="/query"`} {
				if !strings.Contains(body, s) {
					t.Errorf("the page lacks %s:\n%s", s, body)
				}
			}
		})
	}
}

// TestPageLoadsOnlyEmbeddedAssets checks what the CSP relies on: no inline
// script, and every script and style is one of Handler's own, by hashed URL.
func TestPageLoadsOnlyEmbeddedAssets(t *testing.T) {
	t.Parallel()
	h := Handler("/query")
	body := get(t, h, http.MethodGet, "/", nil).Body.String()

	tags := append(scriptTag.FindAllString(body, -1), linkTag.FindAllString(body, -1)...)
	var urls []string
	for _, tag := range tags {
		m := srcAttr.FindStringSubmatch(tag)
		if m == nil {
			t.Errorf("%s loads nothing: an inline script or style", tag)
			continue
		}
		urls = append(urls, m[1])
	}
	if n := strings.Count(body, "</script>"); n != len(scriptTag.FindAllString(body, -1)) {
		t.Errorf("%d </script> for fewer <script src> tags", n)
	}
	want := map[string]bool{
		"graphiql.min.js": true, "graphiql.min.css": true, "react.production.min.js": true,
		"react-dom.production.min.js": true, "boot.js": true, "page.css": true,
	}
	hashed := regexp.MustCompile(`^/graphiql/([a-z.-]+)\.[0-9a-f]{12}(\.js|\.css)$`)
	for _, u := range urls {
		m := hashed.FindStringSubmatch(u)
		if m == nil {
			t.Errorf("%s is not a hashed asset URL under %s", u, Prefix)
			continue
		}
		delete(want, m[1]+m[2])
		rec := get(t, h, http.MethodGet, u, nil)
		if rec.Code != http.StatusOK || rec.Body.Len() == 0 {
			t.Errorf("%s: status %d, %d bytes", u, rec.Code, rec.Body.Len())
		}
	}
	for name := range want {
		t.Errorf("the page does not load %s", name)
	}
}

func TestEndpointReachesThePage(t *testing.T) {
	t.Parallel()
	tests := []struct{ endpoint, want string }{
		{"/query", `data-endpoint="/query"`},
		{"/api/graphql?x=1&y=2", `data-endpoint="/api/graphql?x=1&amp;y=2"`},
		{`/q"><script>`, `data-endpoint="/q&#34;&gt;&lt;script&gt;"`},
	}
	for _, tt := range tests {
		t.Run(tt.endpoint, func(t *testing.T) {
			t.Parallel()
			body := get(t, Handler(tt.endpoint), http.MethodGet, "/", nil).Body.String()
			if !strings.Contains(body, tt.want) {
				t.Errorf("the page lacks %s:\n%s", tt.want, body)
			}
		})
	}
}

func TestHandlerRefusesForeignEndpoints(t *testing.T) {
	t.Parallel()
	for _, endpoint := range []string{"", "query", "//evil.example/query", "https://evil.example/query"} {
		t.Run(endpoint, func(t *testing.T) {
			t.Parallel()
			defer func() {
				if recover() == nil {
					t.Errorf("Handler(%q) did not panic", endpoint)
				}
			}()
			Handler(endpoint)
		})
	}
}

func TestAssets(t *testing.T) {
	t.Parallel()
	h := Handler("/query")
	urls := loadAssets().urls
	tests := []struct {
		path, contentType, contains string
	}{
		{urls.GraphiQL, "text/javascript; charset=utf-8", "GraphiQL"},
		{urls.React, "text/javascript; charset=utf-8", "react.production.min.js"},
		{urls.ReactDOM, "text/javascript; charset=utf-8", "react-dom.production.min.js"},
		{urls.Boot, "text/javascript; charset=utf-8", "data-endpoint"},
		{urls.CSS, "text/css; charset=utf-8", ".graphiql-container"},
		{urls.PageCSS, "text/css; charset=utf-8", "#graphiql"},
		{"/graphiql/graphiql.min.js", "text/javascript; charset=utf-8", "GraphiQL"},
		{"/graphiql/boot.js", "text/javascript; charset=utf-8", "data-endpoint"},
		{"/graphiql/LICENSE.graphiql", "text/plain; charset=utf-8", "MIT License"},
		{"/graphiql/LICENSE.react", "text/plain; charset=utf-8", "MIT License"},
		{"/graphiql/LICENSE.react-dom", "text/plain; charset=utf-8", "MIT License"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()
			plain := get(t, h, http.MethodGet, tt.path, nil)
			if plain.Code != http.StatusOK {
				t.Fatalf("status %d, want 200", plain.Code)
			}
			if got := plain.Header().Get("Content-Type"); got != tt.contentType {
				t.Errorf("Content-Type %q, want %q", got, tt.contentType)
			}
			if got := plain.Header().Get("Content-Encoding"); got != "" {
				t.Errorf("Content-Encoding %q without Accept-Encoding", got)
			}
			if !strings.Contains(plain.Body.String(), tt.contains) {
				t.Errorf("%d bytes without %q", plain.Body.Len(), tt.contains)
			}

			// gzip, where it pays, decodes to the same bytes.
			zipped := get(t, h, http.MethodGet, tt.path, map[string]string{"Accept-Encoding": "br, gzip;q=0.8"})
			if zipped.Header().Get("Vary") != "Accept-Encoding" {
				t.Errorf("Vary %q, want Accept-Encoding", zipped.Header().Get("Vary"))
			}
			if zipped.Header().Get("Content-Encoding") != "gzip" {
				if plain.Body.Len() > 1000 {
					t.Errorf("%d bytes sent uncompressed to a gzip client", plain.Body.Len())
				}
				return
			}
			zr, err := gzip.NewReader(zipped.Body)
			if err != nil {
				t.Fatal(err)
			}
			decoded, err := io.ReadAll(zr)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(decoded, plain.Body.Bytes()) {
				t.Error("the gzip body does not decode to the asset")
			}
			if zipped.Header().Get("ETag") == plain.Header().Get("ETag") {
				t.Error("gzip and identity bodies share an ETag")
			}
		})
	}
}

func TestUnknownAssets(t *testing.T) {
	t.Parallel()
	h := Handler("/query")
	for _, p := range []string{
		"/graphiql/",
		"/graphiql/nope.js",
		"/graphiql/README.md",
		"/graphiql/page.html",
		"/graphiql/assets/graphiql.min.js",
		"/graphiql/graphiql.min.js.map",
		"/graphiql/index.umd.js.map",
		// A stale hash must not be answered with today's file as immutable.
		"/graphiql/graphiql.min.000000000000.js",
	} {
		t.Run(p, func(t *testing.T) {
			t.Parallel()
			if rec := get(t, h, http.MethodGet, p, nil); rec.Code != http.StatusNotFound {
				t.Errorf("status %d, want 404", rec.Code)
			}
		})
	}
}

func TestCaching(t *testing.T) {
	t.Parallel()
	h := Handler("/query")
	tests := []struct {
		name, path, acceptEncoding, cacheControl string
	}{
		{"hashed asset", loadAssets().urls.GraphiQL, "", "public, max-age=31536000, immutable"},
		{"hashed asset, gzip", loadAssets().urls.GraphiQL, "gzip", "public, max-age=31536000, immutable"},
		{"unhashed asset", "/graphiql/graphiql.min.js", "", "no-cache"},
		{"license", "/graphiql/LICENSE.react", "", "no-cache"},
		{"page", "/", "gzip", "no-cache"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			header := map[string]string{"Accept-Encoding": tt.acceptEncoding}
			first := get(t, h, http.MethodGet, tt.path, header)
			if got := first.Header().Get("Cache-Control"); got != tt.cacheControl {
				t.Errorf("Cache-Control %q, want %q", got, tt.cacheControl)
			}
			etag := first.Header().Get("ETag")
			if !regexp.MustCompile(`^"[0-9a-f]{32}"$`).MatchString(etag) {
				t.Fatalf("ETag %q", etag)
			}
			header["If-None-Match"] = etag
			again := get(t, h, http.MethodGet, tt.path, header)
			if again.Code != http.StatusNotModified || again.Body.Len() != 0 {
				t.Errorf("If-None-Match %s: status %d with %d bytes, want 304 and none", etag, again.Code, again.Body.Len())
			}
			header["If-None-Match"] = `"0123"`
			if changed := get(t, h, http.MethodGet, tt.path, header); changed.Code != http.StatusOK {
				t.Errorf("another ETag: status %d, want 200", changed.Code)
			}
		})
	}
}

func TestMethods(t *testing.T) {
	t.Parallel()
	h := Handler("/query")
	for _, tt := range []struct{ method, path string }{
		{http.MethodPost, "/"},
		{http.MethodPut, "/graphiql/graphiql.min.js"},
		{http.MethodDelete, "/"},
	} {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			t.Parallel()
			rec := get(t, h, tt.method, tt.path, nil)
			if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
				t.Errorf("status %d, Allow %q; want 405 and GET, HEAD", rec.Code, rec.Header().Get("Allow"))
			}
		})
	}
}

func TestAssetHeadersBesideMiddleware(t *testing.T) {
	t.Parallel()
	inner := Handler("/query")
	// As the API's CORS middleware does before any handler runs.
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Origin")
		inner.ServeHTTP(w, r)
	})
	tests := []struct {
		name, acceptEncoding, rangeHeader string
		status                            int
		encoding                          string
	}{
		{"identity", "", "", http.StatusOK, ""},
		{"gzip", "gzip", "", http.StatusOK, "gzip"},
		{"a range of the identity body", "", "bytes=0-9", http.StatusPartialContent, ""},
		// A range of compressed bytes serves no one: the whole body comes.
		{"a range of the gzip body", "gzip", "bytes=0-9", http.StatusOK, "gzip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := get(t, h, http.MethodGet, loadAssets().urls.GraphiQL,
				map[string]string{"Accept-Encoding": tt.acceptEncoding, "Range": tt.rangeHeader})
			if rec.Code != tt.status || rec.Header().Get("Content-Encoding") != tt.encoding {
				t.Fatalf("status %d, Content-Encoding %q; want %d, %q",
					rec.Code, rec.Header().Get("Content-Encoding"), tt.status, tt.encoding)
			}
			if got := rec.Header().Values("Vary"); len(got) != 2 || got[0] != "Origin" || got[1] != "Accept-Encoding" {
				t.Errorf("Vary %q, want Origin kept and Accept-Encoding added", got)
			}
			if got, want := rec.Header().Get("Content-Length"), strconv.Itoa(rec.Body.Len()); got != want {
				t.Errorf("Content-Length %q for %s bytes", got, want)
			}
		})
	}
}
