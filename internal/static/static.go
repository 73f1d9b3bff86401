// Package static serves files built into the binary: pages under a
// Content-Security-Policy, and the scripts and styles they load, each under
// a name carrying its content hash that browsers may cache for good, gzipped
// once where that pays, and revalidated by ETag otherwise. Nothing a page
// needs comes from anywhere else.
package static

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
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

// Set is a set of files served under one path prefix, by name and, for
// scripts and styles, by a name with a content hash.
type Set struct {
	prefix string
	byName map[string]*file
	// hashed tells which names carry a content hash.
	hashed map[string]bool
}

// file is one file of a Set.
type file struct {
	name        string // its path under the prefix
	hashedName  string // name with a content hash, safe to cache for good
	contentType string
	body        []byte
	etag        string
	gzipped     func() gzipped
}

// gzipped is a file's body compressed once, on first demand, so that
// neither start-up nor the binary's other commands pay for it.
type gzipped struct {
	body []byte // nil when compression does not pay
	etag string
}

// New serves every file of fsys under prefix, by its base name: the folders
// in fsys only sort the sources. Two files with one base name are an error.
func New(prefix string, fsys fs.FS) (*Set, error) {
	if !strings.HasPrefix(prefix, "/") || !strings.HasSuffix(prefix, "/") {
		return nil, fmt.Errorf("static: prefix %q must start and end with /", prefix)
	}
	set := &Set{prefix: prefix, byName: map[string]*file{}, hashed: map[string]bool{}}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		f := newFile(path.Base(p), body)
		if _, dup := set.byName[f.name]; dup {
			return fmt.Errorf("two files named %s", f.name)
		}
		set.byName[f.name] = f
		if f.hashedName != f.name {
			set.byName[f.hashedName] = f
			set.hashed[f.hashedName] = true
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("static: reading the files for %s: %w", prefix, err)
	}
	return set, nil
}

// URL is the path that serves name for good: under its hashed name when it
// has one. Names are the embedded files', fixed when the binary is built,
// so a missing one is a programming error and panics.
func (s *Set) URL(name string) string {
	f, ok := s.byName[name]
	if !ok || s.hashed[name] {
		panic("static: no file " + name + " under " + s.prefix)
	}
	return s.prefix + f.hashedName
}

func newFile(name string, body []byte) *file {
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	f := &file{name: name, hashedName: name, body: body, etag: `"` + hash[:32] + `"`}
	ext := path.Ext(name)
	switch ext {
	case ".js":
		f.contentType = "text/javascript; charset=utf-8"
	case ".css":
		f.contentType = "text/css; charset=utf-8"
	case ".svg":
		f.contentType = "image/svg+xml"
	case ".png":
		f.contentType = "image/png"
	default:
		f.contentType = "text/plain; charset=utf-8"
	}
	if ext == ".js" || ext == ".css" {
		f.hashedName = strings.TrimSuffix(name, ext) + "." + hash[:12] + ext
	}
	f.gzipped = sync.OnceValue(func() gzipped { return compress(body) })
	return f
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

// ServeHTTP serves the file the path names under the prefix; any other path
// is not found.
func (s *Set) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !allowMethod(w, r) {
		return
	}
	name, ok := strings.CutPrefix(r.URL.Path, s.prefix)
	f := s.byName[name]
	if !ok || f == nil {
		http.NotFound(w, r)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", f.contentType)
	hdr.Set("X-Content-Type-Options", "nosniff")
	// Add, not Set: middleware may vary the answer on more (CORS on Origin).
	hdr.Add("Vary", "Accept-Encoding")
	if s.hashed[name] {
		hdr.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		hdr.Set("Cache-Control", "no-cache")
	}
	body, etag := f.body, f.etag
	if acceptsGzip(r.Header.Values("Accept-Encoding")) {
		if gz := f.gzipped(); gz.body != nil {
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

// Page is an HTML page served under a Content-Security-Policy.
type Page struct {
	body []byte
	etag string
	csp  string
}

// NewPage serves body, an HTML document, under the policy csp.
func NewPage(body []byte, csp string) *Page {
	sum := sha256.Sum256(body)
	return &Page{body: body, etag: `"` + hex.EncodeToString(sum[:16]) + `"`, csp: csp}
}

func (p *Page) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !allowMethod(w, r) {
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	hdr.Set("Content-Security-Policy", p.csp)
	hdr.Set("X-Content-Type-Options", "nosniff")
	// The page names its assets by content hash: revalidating it is what
	// makes a new binary's assets reach browsers.
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("ETag", p.etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(p.body))
}

func allowMethod(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	return false
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

// RenderPage executes tmpl with data once, and serves the result under the
// policy csp.
func RenderPage(tmpl *template.Template, data any, csp string) (*Page, error) {
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, data); err != nil {
		return nil, fmt.Errorf("static: rendering %s: %w", tmpl.Name(), err)
	}
	return NewPage(buf.Bytes(), csp), nil
}

// LocalPath reports whether endpoint is an absolute path on this server,
// the only kind a page whose policy says connect-src 'self' may call.
func LocalPath(endpoint string) bool {
	return strings.HasPrefix(endpoint, "/") && !strings.HasPrefix(endpoint, "//")
}

// Site serves page on every path outside set's prefix, and set's files
// under it: a page that routes by itself, with its assets.
func Site(set *Set, page *Page) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, set.prefix) {
			set.ServeHTTP(w, r)
			return
		}
		page.ServeHTTP(w, r)
	})
}
