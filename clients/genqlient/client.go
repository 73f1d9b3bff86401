package genqlient

import (
	"net/http"
	"net/url"

	"github.com/Khan/genqlient/graphql"
)

// NewClient returns a client for the GraphQL endpoint (the server's /query
// URL) that sends token as "Authorization: Bearer <token>"; with an empty
// token it sends none, as Token needs. httpClient may be nil for
// http.DefaultClient. The caller's http.Client is copied, not changed, so it
// stays usable for requests that must not carry the token.
func NewClient(endpoint, token string, httpClient *http.Client) graphql.Client {
	if httpClient == nil {
		httpClient = http.DefaultClient
	}
	if token == "" {
		return graphql.NewClient(endpoint, httpClient)
	}
	// An endpoint that does not parse gets no host, hence no token; the
	// request fails in genqlient anyway.
	var host string
	if u, err := url.Parse(endpoint); err == nil {
		host = u.Host
	}
	withToken := *httpClient
	withToken.Transport = bearer{token: token, host: host, next: httpClient.Transport}
	return graphql.NewClient(endpoint, &withToken)
}

// bearer adds the token in the transport because genqlient's graphql.Client
// has no hook for request headers.
type bearer struct {
	token string
	// host is the endpoint's: a redirect elsewhere must not carry the
	// token, as net/http ensures for headers set on the request itself.
	host string
	next http.RoundTripper // nil means http.DefaultTransport
}

func (b bearer) RoundTrip(req *http.Request) (*http.Response, error) {
	next := b.next
	if next == nil {
		next = http.DefaultTransport
	}
	if req.URL.Host != b.host {
		return next.RoundTrip(req)
	}
	// A RoundTripper must not modify the request it is given.
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", "Bearer "+b.token)
	return next.RoundTrip(req)
}
