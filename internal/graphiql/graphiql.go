// Package graphiql serves GraphiQL, the in-browser GraphQL IDE, entirely
// from files built into the binary: the page works without internet access
// and under a Content-Security-Policy that allows the server's own scripts
// only.
package graphiql

import (
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"sync"

	"github.com/mlapi/mlapi/internal/static"
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

// assets are the files under Prefix, and the page's references to those it
// loads.
type assets struct {
	set  *static.Set
	urls pageAssets
}

type pageAssets struct {
	CSS, PageCSS, React, ReactDOM, GraphiQL, Boot string
}

var loadAssets = sync.OnceValue(func() *assets {
	set, err := static.New(Prefix, files)
	if err != nil {
		panic(fmt.Sprintf("graphiql: %v", err))
	}
	return &assets{set: set, urls: pageAssets{
		CSS:      set.URL("graphiql.min.css"),
		PageCSS:  set.URL("page.css"),
		React:    set.URL("react.production.min.js"),
		ReactDOM: set.URL("react-dom.production.min.js"),
		GraphiQL: set.URL("graphiql.min.js"),
		Boot:     set.URL("boot.js"),
	}}
})

// Handler serves GraphiQL's page, talking to the GraphQL endpoint at
// endpoint, on every path outside Prefix, and the page's scripts and styles
// under Prefix. endpoint must be a path on the same origin: the page's
// connect-src 'self' lets it talk to no other.
func Handler(endpoint string) http.Handler {
	if !static.LocalPath(endpoint) {
		panic(fmt.Sprintf("graphiql: endpoint %q is not an absolute path on this server", endpoint))
	}
	set := loadAssets()
	p, err := static.RenderPage(page, struct {
		Endpoint string
		Assets   pageAssets
	}{endpoint, set.urls}, ContentSecurityPolicy)
	if err != nil {
		panic(fmt.Sprintf("graphiql: %v", err))
	}
	return static.Site(set.set, p)
}
