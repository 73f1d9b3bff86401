package httpserver

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// corsAllowedHeaders are the request headers a page may send: the bearer
// token, content negotiation, and what Apollo's and urql's clients and W3C
// trace propagation add on their own.
var corsAllowedHeaders = strings.Join([]string{
	"Authorization",
	"Content-Type",
	"Accept",
	"Apollo-Require-Preflight",
	"Apollographql-Client-Name",
	"Apollographql-Client-Version",
	"X-Apollo-Operation-Name",
	"Traceparent",
	"Tracestate",
}, ", ")

// corsMaxAge is how long a browser may reuse a preflight's answer: two
// hours, the most Chromium honours.
const corsMaxAge = 2 * 60 * 60

// CORS lets pages served from the allowed origins call the API from a
// browser; "*" allows any origin. No cookie is ever read, so credentials
// are never allowed and "*" is safe: a page elsewhere still needs a token.
// A request from any other origin gets no CORS header and the browser keeps
// the answer from the page. Preflights are answered here, before any limit
// that needs a body or a token.
func CORS(origins []string) Middleware {
	anyOrigin := slices.Contains(origins, "*")
	allowed := func(origin string) bool {
		return origin != "" && (anyOrigin || slices.Contains(origins, strings.ToLower(origin)))
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			origin := r.Header.Get("Origin")
			h := w.Header()
			if !anyOrigin {
				// The answer depends on who asks: shared caches must not
				// hand one origin's answer to another.
				h.Add("Vary", "Origin")
			}
			ok := allowed(origin)
			if ok {
				if anyOrigin {
					h.Set("Access-Control-Allow-Origin", "*")
				} else {
					h.Set("Access-Control-Allow-Origin", origin)
				}
			}
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				if ok {
					h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
					h.Set("Access-Control-Allow-Headers", corsAllowedHeaders)
					h.Set("Access-Control-Max-Age", strconv.Itoa(corsMaxAge))
				}
				w.WriteHeader(http.StatusNoContent)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
