package gqlhttp

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestLiveTransportsClaim: the websocket transport claims upgrades only,
// the event-stream transport only POSTs of JSON that prefer
// text/event-stream; everything else is left to Transport.
func TestLiveTransportsClaim(t *testing.T) {
	t.Parallel()
	transports := LiveTransports(LiveOptions{})
	tests := []struct {
		name   string
		method string
		header map[string]string
		want   string // "websocket", "sse" or "" (neither)
	}{
		{name: "websocket", method: http.MethodGet, header: map[string]string{"Upgrade": "websocket", "Connection": "Upgrade"}, want: "websocket"},
		{name: "h2c upgrade", method: http.MethodGet, header: map[string]string{"Upgrade": "h2c"}},
		{name: "event stream", method: http.MethodPost, header: map[string]string{"Accept": "text/event-stream", "Content-Type": "application/json"}, want: "sse"},
		{name: "event stream, not JSON", method: http.MethodPost, header: map[string]string{"Accept": "text/event-stream", "Content-Type": "text/plain"}},
		{name: "event stream over GET", method: http.MethodGet, header: map[string]string{"Accept": "text/event-stream"}},
		{name: "urql's Accept", method: http.MethodPost, header: map[string]string{"Accept": "application/graphql-response+json, application/graphql+json, application/json, text/event-stream, multipart/mixed", "Content-Type": "application/json"}},
		{name: "JSON", method: http.MethodPost, header: map[string]string{"Accept": "application/json", "Content-Type": "application/json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(tt.method, "/query", strings.NewReader("{}"))
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			got := ""
			for i, name := range []string{"websocket", "sse"} {
				if transports[i].Supports(r) {
					if got != "" {
						t.Fatalf("claimed by %s and %s", got, name)
					}
					got = name
				}
			}
			if got != tt.want {
				t.Errorf("claimed by %q; want %q", got, tt.want)
			}
		})
	}
}

// TestAllowedOrigin: no Origin (not a browser), the API's own, a listed
// one (in any case) or any under "*" may open a websocket; others not.
func TestAllowedOrigin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		origin  string
		origins []string
		want    bool
	}{
		{origin: "", want: true},
		{origin: "http://api.example.com", want: true}, // the request's Host
		{origin: "https://app.example.com", origins: []string{"https://app.example.com"}, want: true},
		{origin: "https://APP.example.com", origins: []string{"https://app.example.com"}, want: true},
		{origin: "https://evil.example.com", origins: []string{"https://app.example.com"}},
		{origin: "https://evil.example.com", origins: []string{"*"}, want: true},
		{origin: "null"},
		{origin: "http://api.example.com.evil.test"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodGet, "http://api.example.com/query", nil)
		if tt.origin != "" {
			r.Header.Set("Origin", tt.origin)
		}
		if got := allowedOrigin(r, tt.origins); got != tt.want {
			t.Errorf("origin %q, allowed %v: %v; want %v", tt.origin, tt.origins, got, tt.want)
		}
	}
}
