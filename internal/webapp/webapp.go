// Package webapp serves mlapi's web app at /app/: sign in, predict with an
// explanation chart, browse, chart and follow the history live, record
// outcomes, see the model's performance and, for administrators, manage
// users and watch drift. It is plain JavaScript modules and one vendored
// chart library, all built into the binary, talking only to the public
// GraphQL API (and GET /export) on the same origin: the binary and a browser
// are all anyone needs.
package webapp

import (
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"sync"

	"github.com/mlapi/mlapi/internal/static"
)

// Prefix is where the app lives; its scripts and styles are under
// AssetPrefix.
const (
	Prefix      = "/app/"
	AssetPrefix = Prefix + "assets/"
)

// ContentSecurityPolicy is sent with the page: the app's own scripts and
// styles, nothing inline, nothing from elsewhere. Chart.js draws on canvases
// and sets their sizes through the CSSOM, which style-src does not govern;
// img-src blob: and data: let a chart be saved as an image. The app submits
// no form to a server (its forms are handled by script), hence
// form-action 'none'.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data: blob:; connect-src 'self'; manifest-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// The sources are listed by folder: ui/ holds the app, vendor/ the chart
// library and its licence (vendor/README.md stays out of the binary).
//
//go:embed ui
//go:embed vendor/chart.umd.min.js vendor/LICENSE.chartjs
var files embed.FS

//go:embed page.html
var pageTemplate string

var page = template.Must(template.New("page").Parse(pageTemplate))

// pageAssets are the page's references to what it loads first; the modules
// that main.js imports are fetched by their plain names.
type pageAssets struct {
	CSS, Chart, Main string
}

var loadAssets = sync.OnceValue(func() *static.Set {
	set, err := static.New(AssetPrefix, files)
	if err != nil {
		panic(fmt.Sprintf("webapp: %v", err))
	}
	return set
})

// Handler serves the app's page on every path under Prefix outside
// AssetPrefix (the app routes by the URL's fragment), and its files under
// AssetPrefix. endpoint is the GraphQL endpoint's path on this origin.
func Handler(endpoint string) http.Handler {
	if !static.LocalPath(endpoint) {
		panic(fmt.Sprintf("webapp: endpoint %q is not an absolute path on this server", endpoint))
	}
	set := loadAssets()
	p, err := static.RenderPage(page, struct {
		Endpoint string
		Assets   pageAssets
	}{endpoint, pageAssets{
		CSS:   set.URL("app.css"),
		Chart: set.URL("chart.umd.min.js"),
		Main:  set.URL("main.js"),
	}}, ContentSecurityPolicy)
	if err != nil {
		panic(fmt.Sprintf("webapp: %v", err))
	}
	return static.Site(set, p)
}
