package httpserver

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestCORS(t *testing.T) {
	t.Parallel()
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	tests := []struct {
		name        string
		origins     []string
		method      string
		origin      string
		preflight   bool
		wantStatus  int
		wantAllowed string // Access-Control-Allow-Origin
		wantVary    bool
	}{
		{name: "listed origin", origins: []string{"https://app.example.com"}, method: "POST", origin: "https://app.example.com", wantStatus: 418, wantAllowed: "https://app.example.com", wantVary: true},
		{name: "listed origin, other case", origins: []string{"https://app.example.com"}, method: "GET", origin: "https://APP.example.com", wantStatus: 418, wantAllowed: "https://APP.example.com", wantVary: true},
		{name: "unlisted origin", origins: []string{"https://app.example.com"}, method: "POST", origin: "https://evil.example.com", wantStatus: 418, wantVary: true},
		{name: "same-origin or non-browser request", origins: []string{"https://app.example.com"}, method: "POST", wantStatus: 418, wantVary: true},
		{name: "nothing configured", method: "POST", origin: "https://app.example.com", wantStatus: 418, wantVary: true},
		{name: "any origin", origins: []string{"*"}, method: "POST", origin: "http://localhost:3000", wantStatus: 418, wantAllowed: "*"},
		{name: "preflight, listed", origins: []string{"https://app.example.com"}, method: "OPTIONS", origin: "https://app.example.com", preflight: true, wantStatus: 204, wantAllowed: "https://app.example.com", wantVary: true},
		{name: "preflight, unlisted", origins: []string{"https://app.example.com"}, method: "OPTIONS", origin: "https://evil.example.com", preflight: true, wantStatus: 204, wantVary: true},
		{name: "OPTIONS that is no preflight goes on", origins: []string{"*"}, method: "OPTIONS", origin: "https://app.example.com", wantStatus: 418, wantAllowed: "*"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(tt.method, "/query", nil)
			if tt.origin != "" {
				req.Header.Set("Origin", tt.origin)
			}
			if tt.preflight {
				req.Header.Set("Access-Control-Request-Method", "POST")
				req.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
			}
			rec := httptest.NewRecorder()
			CORS(tt.origins)(api).ServeHTTP(rec, req)
			h := rec.Result().Header
			if rec.Code != tt.wantStatus {
				t.Errorf("status %d, want %d", rec.Code, tt.wantStatus)
			}
			if got := h.Get("Access-Control-Allow-Origin"); got != tt.wantAllowed {
				t.Errorf("Access-Control-Allow-Origin %q, want %q", got, tt.wantAllowed)
			}
			if got := h.Get("Vary") == "Origin"; got != tt.wantVary {
				t.Errorf("Vary %q, want Origin: %v", h.Get("Vary"), tt.wantVary)
			}
			if h.Get("Access-Control-Allow-Credentials") != "" {
				t.Error("credentials must never be allowed: no cookie is used")
			}
			grantsPreflight := tt.preflight && tt.wantAllowed != ""
			if got := h.Get("Access-Control-Allow-Headers"); grantsPreflight != (got != "") {
				t.Errorf("Access-Control-Allow-Headers %q on this request", got)
			}
			if grantsPreflight {
				if h.Get("Access-Control-Allow-Methods") != "GET, POST, OPTIONS" || h.Get("Access-Control-Max-Age") != "7200" {
					t.Errorf("preflight answer: %v", h)
				}
			}
		})
	}
}
