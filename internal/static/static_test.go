package static

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
	"testing/fstest"
)

func TestNew(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		prefix string
		fsys   fstest.MapFS
		ok     bool
	}{
		{"files in folders, by base name", "/app/", fstest.MapFS{"a/x.js": {Data: []byte("x")}, "b/y.css": {Data: []byte("y")}}, true},
		{"two files with one name", "/app/", fstest.MapFS{"a/x.js": {Data: []byte("1")}, "b/x.js": {Data: []byte("2")}}, false},
		{"prefix without its final slash", "/app", fstest.MapFS{"x.js": {Data: []byte("x")}}, false},
		{"relative prefix", "app/", fstest.MapFS{"x.js": {Data: []byte("x")}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := New(tt.prefix, tt.fsys)
			if (err == nil) != tt.ok {
				t.Errorf("New: error %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestServe(t *testing.T) {
	t.Parallel()
	set, err := New("/app/assets/", fstest.MapFS{
		"js/main.js":   {Data: []byte("console.log('main');")},
		"css/app.css":  {Data: []byte("body { margin: 0 }")},
		"LICENSE.x":    {Data: []byte("MIT")},
		"img/logo.svg": {Data: []byte("<svg/>")},
	})
	if err != nil {
		t.Fatal(err)
	}
	mainURL := set.URL("main.js")
	if !regexp.MustCompile(`^/app/assets/main\.[0-9a-f]{12}\.js$`).MatchString(mainURL) {
		t.Fatalf("URL(main.js) = %s, want a hashed name under the prefix", mainURL)
	}
	if got := set.URL("LICENSE.x"); got != "/app/assets/LICENSE.x" {
		t.Errorf("URL(LICENSE.x) = %s: only scripts and styles are hashed", got)
	}
	tests := []struct {
		method, path              string
		status                    int
		contentType, cacheControl string
	}{
		{"GET", mainURL, 200, "text/javascript; charset=utf-8", "public, max-age=31536000, immutable"},
		{"HEAD", mainURL, 200, "text/javascript; charset=utf-8", "public, max-age=31536000, immutable"},
		{"GET", "/app/assets/main.js", 200, "text/javascript; charset=utf-8", "no-cache"},
		{"GET", set.URL("app.css"), 200, "text/css; charset=utf-8", "public, max-age=31536000, immutable"},
		{"GET", "/app/assets/logo.svg", 200, "image/svg+xml", "no-cache"},
		{"GET", "/app/assets/LICENSE.x", 200, "text/plain; charset=utf-8", "no-cache"},
		{"GET", "/app/assets/js/main.js", 404, "", ""},
		// A stale hash must not be answered with today's file as immutable.
		{"GET", "/app/assets/main.000000000000.js", 404, "", ""},
		{"GET", "/app/assets/", 404, "", ""},
		{"GET", "/elsewhere/main.js", 404, "", ""},
		{"POST", mainURL, 405, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			set.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d", rec.Code, tt.status)
			}
			if tt.status != http.StatusOK {
				return
			}
			if got := rec.Header().Get("Content-Type"); got != tt.contentType {
				t.Errorf("Content-Type %q, want %q", got, tt.contentType)
			}
			if got := rec.Header().Get("Cache-Control"); got != tt.cacheControl {
				t.Errorf("Cache-Control %q, want %q", got, tt.cacheControl)
			}
			if rec.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Error("no X-Content-Type-Options: nosniff")
			}
		})
	}
}

func TestURLPanicsOnUnknownNames(t *testing.T) {
	t.Parallel()
	set, err := New("/a/", fstest.MapFS{"x.js": {Data: []byte("x")}})
	if err != nil {
		t.Fatal(err)
	}
	hashed := set.URL("x.js")[len("/a/"):]
	for _, name := range []string{"y.js", hashed} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("URL(%q) did not panic", name)
				}
			}()
			set.URL(name)
		})
	}
}

func TestPage(t *testing.T) {
	t.Parallel()
	p := NewPage([]byte("<!doctype html><title>x</title>"), "default-src 'self'")
	for _, tt := range []struct {
		method string
		status int
	}{{"GET", 200}, {"HEAD", 200}, {"POST", 405}, {"DELETE", 405}} {
		t.Run(tt.method, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			p.ServeHTTP(rec, httptest.NewRequest(tt.method, "/app/", nil))
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d", rec.Code, tt.status)
			}
			if tt.status != 200 {
				if rec.Header().Get("Allow") != "GET, HEAD" {
					t.Errorf("Allow %q", rec.Header().Get("Allow"))
				}
				return
			}
			for k, v := range map[string]string{
				"Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": "default-src 'self'",
				"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff",
			} {
				if got := rec.Header().Get(k); got != v {
					t.Errorf("%s %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestAcceptsGzip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		header string
		want   bool
	}{
		{"", false},
		{"gzip", true},
		{"GZIP", true},
		{"gzip, deflate, br, zstd", true},
		{"br;q=1.0, gzip;q=0.5", true},
		{"gzip; q=0", false},
		{"gzip;q=0.000", false},
		{"identity", false},
		{"x-gzip-not, deflate", false},
		{"gzip;q=nonsense", false},
	}
	for _, tt := range tests {
		t.Run(tt.header, func(t *testing.T) {
			t.Parallel()
			if got := acceptsGzip([]string{tt.header}); got != tt.want {
				t.Errorf("acceptsGzip(%q) = %v, want %v", tt.header, got, tt.want)
			}
		})
	}
}
