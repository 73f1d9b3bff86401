package genqlient_test

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/mlapi/mlapi/clients/genqlient"
)

// authRecorder answers every GraphQL request with an empty model and
// remembers the Authorization headers it was sent.
type authRecorder struct {
	mu   sync.Mutex
	seen []string
}

func (a *authRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	a.seen = append(a.seen, r.Header.Get("Authorization"))
	a.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"data":{"model":{"id":"m","version":"v","features":[]}}}`))
}

func (a *authRecorder) headers() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.seen
}

func TestNewClientAuthorization(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		token string
		want  string
	}{
		{"with a token", "tok", "Bearer tok"},
		{"without a token", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api := &authRecorder{}
			server := httptest.NewServer(api)
			t.Cleanup(server.Close)
			httpClient := server.Client()
			transport := httpClient.Transport

			client := genqlient.NewClient(server.URL+"/query", tt.token, httpClient)
			if _, err := genqlient.Model(t.Context(), client); err != nil {
				t.Fatalf("Model: %v", err)
			}
			if got := api.headers(); len(got) != 1 || got[0] != tt.want {
				t.Errorf("Authorization headers %q, want [%q]", got, tt.want)
			}
			if httpClient.Transport != transport {
				t.Error("NewClient changed the caller's http.Client")
			}
		})
	}
}

// A redirect to another host must not take the token with it, as net/http
// ensures for a header set on the request.
func TestNewClientKeepsTheTokenOnItsHost(t *testing.T) {
	t.Parallel()
	elsewhere := &authRecorder{}
	other := httptest.NewServer(elsewhere)
	t.Cleanup(other.Close)
	var redirected []string
	var mu sync.Mutex
	endpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		redirected = append(redirected, r.Header.Get("Authorization"))
		mu.Unlock()
		http.Redirect(w, r, other.URL+"/query", http.StatusTemporaryRedirect)
	}))
	t.Cleanup(endpoint.Close)

	client := genqlient.NewClient(endpoint.URL+"/query", "tok", http.DefaultClient)
	if _, err := genqlient.Model(t.Context(), client); err != nil {
		t.Fatalf("Model: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(redirected) != 1 || redirected[0] != "Bearer tok" {
		t.Errorf("the endpoint got Authorization %q, want [\"Bearer tok\"]", redirected)
	}
	if got := elsewhere.headers(); len(got) != 1 || got[0] != "" {
		t.Errorf("the other host got Authorization %q, want none", got)
	}
}
