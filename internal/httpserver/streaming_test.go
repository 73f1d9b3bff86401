package httpserver

import (
	"cmp"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestTimeoutExemptsStreams: a websocket upgrade or a request for
// server-sent events runs without the request deadline, every other
// request with it.
func TestTimeoutExemptsStreams(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		method       string
		header       map[string]string
		wantDeadline bool
	}{
		{name: "query", header: map[string]string{"Accept": "application/json"}, wantDeadline: true},
		{name: "upgrade to something else", header: map[string]string{"Upgrade": "h2c"}, wantDeadline: true},
		{name: "websocket", header: map[string]string{"Upgrade": "websocket", "Connection": "Upgrade"}},
		{name: "websocket, any case", header: map[string]string{"Upgrade": "WebSocket"}},
		{name: "event stream", method: http.MethodPost, header: map[string]string{"Accept": "text/event-stream"}},
		{name: "event stream, any case", method: http.MethodPost, header: map[string]string{"Accept": "Text/Event-Stream"}},
		{name: "event stream preferred", method: http.MethodPost, header: map[string]string{"Accept": "application/json;q=0.5, text/event-stream"}},
		{name: "event stream over GET", header: map[string]string{"Accept": "text/event-stream"}, wantDeadline: true},
		{name: "urql's Accept", method: http.MethodPost, header: map[string]string{"Accept": "application/graphql-response+json, application/graphql+json, application/json, text/event-stream, multipart/mixed"}, wantDeadline: true},
		{name: "event stream refused", method: http.MethodPost, header: map[string]string{"Accept": "text/event-stream;q=0, application/json;q=0.1"}, wantDeadline: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var hasDeadline bool
			h := Timeout(time.Minute)(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				_, hasDeadline = r.Context().Deadline()
			}))
			req := httptest.NewRequest(cmp.Or(tt.method, http.MethodGet), "/query", nil)
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			h.ServeHTTP(httptest.NewRecorder(), req)
			if hasDeadline != tt.wantDeadline {
				t.Errorf("deadline %v; want %v", hasDeadline, tt.wantDeadline)
			}
		})
	}
}
