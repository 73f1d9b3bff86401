// Package graphiql serves GraphiQL, the in-browser GraphQL IDE, entirely
// from files built into the binary: the page works without internet access
// and under a Content-Security-Policy that allows the server's own scripts
// only.
package graphiql

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Prefix is the path under which Handler serves GraphiQL's scripts and
// styles; mount Handler on it as well as on the page's path.
const Prefix = "/graphiql/"

// ContentSecurityPolicy is sent with the page. GraphiQL needs, beyond the
// server's own scripts and styles:
//   - style-src 'unsafe-inline': React and CodeMirror set style attributes and
//     insert <style> elements;
//   - img-src and font-src data:: graphiql.min.css carries its icons and its
//     fonts (Roboto, Fira Code) as data: URLs.
//
// The page and GraphiQL submit no forms and need no <base>, hence 'none'.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// The vendored files are listed one by one so that nothing else in assets/
// (README.md) ends up in the binary.
//
//go:embed assets/graphiql.min.js assets/graphiql.min.css
//go:embed assets/react.production.min.js assets/react-dom.production.min.js
//go:embed assets/LICENSE.graphiql assets/LICENSE.react assets/LICENSE.react-dom
//go:embed boot.js page.css
var files embed.FS

//go:embed page.html
var pageTemplate string

var page = template.Must(template.New("page").Parse(pageTemplate))

// asset is one file served under Prefix.
type asset struct {
	name        string // its path under Prefix
	hashedName  string // name with a content hash, safe to cache for good
	contentType string
	body        []byte
	etag        string
	gzipped     func() gzipped
}

// gzipped is an asset's body compressed once, on first demand, so that
// neither start-up nor the binary's other commands pay for it.
type gzipped struct {
	body []byte // nil when compression does not pay
	etag string
}

// assets are the files under Prefix, by name and by hashed name.
type assets struct {
	byName map[string]*asset
	// hashed tells which names carry a content hash.
	hashed map[string]bool
	// urls are the page's references to the assets it loads.
	urls pageAssets
}

type pageAssets struct {
	CSS, PageCSS, React, ReactDOM, GraphiQL, Boot string
}

var loadAssets = sync.OnceValue(func() *assets {
	set := &assets{byName: map[string]*asset{}, hashed: map[string]bool{}}
	err := fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		a := newAsset(path.Base(p), body)
		set.byName[a.name] = a
		if a.hashedName != a.name {
			set.byName[a.hashedName] = a
			set.hashed[a.hashedName] = true
		}
		return nil
	})
	if err != nil {
		panic(fmt.Sprintf("graphiql: reading the embedded files: %v", err))
	}
	url := func(name string) string {
		a, ok := set.byName[name]
		if !ok {
			panic("graphiql: no embedded " + name)
		}
		return Prefix + a.hashedName
	}
	set.urls = pageAssets{
		CSS:      url("graphiql.min.css"),
		PageCSS:  url("page.css"),
		React:    url("react.production.min.js"),
		ReactDOM: url("react-dom.production.min.js"),
		GraphiQL: url("graphiql.min.js"),
		Boot:     url("boot.js"),
	}
	return set
})

func newAsset(name string, body []byte) *asset {
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	a := &asset{name: name, hashedName: name, body: body, etag: `"` + hash[:32] + `"`}
	switch ext := path.Ext(name); ext {
	case ".js":
		a.contentType = "text/javascript; charset=utf-8"
	case ".css":
		a.contentType = "text/css; charset=utf-8"
	default:
		a.contentType = "text/plain; charset=utf-8"
	}
	if ext := path.Ext(name); ext == ".js" || ext == ".css" {
		a.hashedName = strings.TrimSuffix(name, ext) + "." + hash[:12] + ext
	}
	a.gzipped = sync.OnceValue(func() gzipped { return compress(body) })
	return a
}

func compress(body []byte) gzipped {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if _, err := zw.Write(body); err != nil {
		return gzipped{}
	}
	if err := zw.Close(); err != nil || buf.Len() >= len(body) {
		return gzipped{}
	}
	sum := sha256.Sum256(buf.Bytes())
	return gzipped{body: buf.Bytes(), etag: `"` + hex.EncodeToString(sum[:16]) + `"`}
}

type handler struct {
	assets *assets
	page   []byte
	etag   string
}

// Handler serves GraphiQL's page, talking to the GraphQL endpoint at
// endpoint, on every path outside Prefix, and the page's scripts and styles
// under Prefix. endpoint must be a path on the same origin: the page's
// connect-src 'self' lets it talk to no other.
func Handler(endpoint string) http.Handler {
	if !strings.HasPrefix(endpoint, "/") || strings.HasPrefix(endpoint, "//") {
		panic(fmt.Sprintf("graphiql: endpoint %q is not an absolute path on this server", endpoint))
	}
	set := loadAssets()
	var buf bytes.Buffer
	if err := page.Execute(&buf, struct {
		Endpoint string
		Assets   pageAssets
	}{endpoint, set.urls}); err != nil {
		panic(fmt.Sprintf("graphiql: rendering the page: %v", err))
	}
	sum := sha256.Sum256(buf.Bytes())
	return &handler{assets: set, page: buf.Bytes(), etag: `"` + hex.EncodeToString(sum[:16]) + `"`}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if name, ok := strings.CutPrefix(r.URL.Path, Prefix); ok {
		h.serveAsset(w, r, name)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	hdr.Set("Content-Security-Policy", ContentSecurityPolicy)
	hdr.Set("X-Content-Type-Options", "nosniff")
	// The page names the assets by content hash: revalidating it is what
	// makes a new binary's assets reach browsers.
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("ETag", h.etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(h.page))
}

func (h *handler) serveAsset(w http.ResponseWriter, r *http.Request, name string) {
	a, ok := h.assets.byName[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", a.contentType)
	hdr.Set("X-Content-Type-Options", "nosniff")
	// Add, not Set: middleware may vary the answer on more (CORS on Origin).
	hdr.Add("Vary", "Accept-Encoding")
	if h.assets.hashed[name] {
		hdr.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		hdr.Set("Cache-Control", "no-cache")
	}
	body, etag := a.body, a.etag
	if acceptsGzip(r.Header.Values("Accept-Encoding")) {
		if gz := a.gzipped(); gz.body != nil {
			body, etag = gz.body, gz.etag
			hdr.Set("Content-Encoding", "gzip")
			// ServeContent leaves Content-Length out once an encoding is
			// set, as on-the-fly compression cannot know it; this body's
			// length is known. Ranges of a compressed script serve no one,
			// so the whole body is sent, as HTTP allows.
			hdr.Set("Content-Length", strconv.Itoa(len(body)))
			r = r.Clone(r.Context())
			r.Header.Del("Range")
		}
	}
	hdr.Set("ETag", etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// acceptsGzip reports whether Accept-Encoding lists gzip with a non-zero
// weight.
func acceptsGzip(values []string) bool {
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			coding, params, _ := strings.Cut(part, ";")
			if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
				continue
			}
			q, found := strings.CutPrefix(strings.TrimSpace(params), "q=")
			if !found {
				return true
			}
			weight, err := strconv.ParseFloat(strings.TrimSpace(q), 64)
			return err == nil && weight > 0
		}
	}
	return false
}
