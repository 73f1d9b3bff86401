package httpserver

import (
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// IsStream reports whether r opens a long-lived stream: a websocket
// upgrade (graphql-ws) or a request for server-sent events. Such a request
// lasts as long as its subscription, so Timeout gives it no deadline and
// lifts the server's read and write timeouts from its connection; the
// stream ends when the client leaves, its token expires or its session
// ends, or the server shuts down (the subscriptions' broker closes every
// stream then). Its access-log line is written when it ends, its latency
// the stream's lifetime.
func IsStream(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket") ||
		(r.Method == http.MethodPost && PrefersEventStream(r.Header.Get("Accept")))
}

// PrefersEventStream reports whether an Accept header prefers
// text/event-stream to the JSON answers (application/json and
// application/graphql-response+json): it must name it with a quality
// higher than theirs. A client listing every type it can read at one
// quality, as urql does, gets JSON: a query is answered once, within the
// request deadline.
func PrefersEventStream(accept string) bool {
	// Every request asks (Timeout, the access log): most never name event
	// streams, and parsing their Accept header costs allocations.
	if !containsFold(accept, "text/event-stream") {
		return false
	}
	q := AcceptQualities(accept)
	stream, ok := q["text/event-stream"]
	return ok && stream > max(quality(q, "application/json"), quality(q, "application/graphql-response+json"))
}

// AcceptQualities reads an Accept header into the highest quality it gives
// each media type it names; types it refuses (q=0) and items that do not
// parse are left out. Wildcards are kept as written.
func AcceptQualities(accept string) map[string]float64 {
	qualities := make(map[string]float64)
	for _, item := range strings.Split(accept, ",") {
		typ, params, err := mime.ParseMediaType(strings.TrimSpace(item))
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		if q > 0 {
			qualities[typ] = max(q, quality(qualities, typ))
		}
	}
	return qualities
}

// quality is q's quality for typ, -1 when it names none.
func quality(q map[string]float64, typ string) float64 {
	if v, ok := q[typ]; ok {
		return v
	}
	return -1
}

// keepOpen lifts the server's read and write deadlines from the connection
// of w, which would otherwise cut a stream after ReadTimeout or
// WriteTimeout (a hijacked websocket loses them anyway; an event stream
// does not). The body of a stream's request is bounded by LimitBody still.
func keepOpen(w http.ResponseWriter) {
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
}

// containsFold reports whether s contains sub, ignoring ASCII case as
// media types do, without allocating.
func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}
