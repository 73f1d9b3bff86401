// Package seedcompat serves the REST endpoints of the Python app mlapi
// replaces, with its request and response shapes and status codes, so that
// its clients can move by changing their base URL. Every endpoint is a
// translation into a call of the services the GraphQL API uses: no rule
// (validation, limits, logging, who may do what) is written here.
package seedcompat

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/mlapi/mlapi/internal/account"
	"github.com/mlapi/mlapi/internal/httpserver"
	"github.com/mlapi/mlapi/internal/prediction"
	"github.com/mlapi/mlapi/internal/store"
)

// Prefix is where the endpoints are served; with SEED_COMPAT_ROOT, also at
// the root, as the Python app served them.
const Prefix = "/v1"

// Accounts are the account operations the endpoints call: those of
// account.Service.
type Accounts interface {
	Register(ctx context.Context, r account.Registration) (store.User, error)
	IssueToken(ctx context.Context, username, password string) (account.Token, error)
	TokenStatus(ctx context.Context, token string) (valid bool, expiresAt time.Time, err error)
	CallerID(ctx context.Context) (context.Context, int64, error)
	SetUserEnabled(ctx context.Context, userID int64, enabled bool) (store.User, error)
	DeleteUser(ctx context.Context, userID int64) error
}

// Predictor answers a prediction and logs it: prediction.Service.
type Predictor interface {
	PredictReceived(ctx context.Context, userID int64, input, received map[string]any) (*prediction.Result, error)
}

// Handler serves the endpoints. It relies on the server's middleware for
// what the GraphQL endpoint gets from it too: the body limit, the request
// deadline, the client address and the bearer token in the context.
type Handler struct {
	accounts Accounts
	// predictions returns the prediction service of the model served now,
	// read once per request.
	predictions func() Predictor
	logger      *slog.Logger
}

// NewHandler returns the endpoints' handler over accounts and the served
// model's predictions.
func NewHandler(accounts Accounts, predictions func() Predictor, logger *slog.Logger) *Handler {
	return &Handler{accounts: accounts, predictions: predictions, logger: logger}
}

// endpoint is one of the Python app's routes.
type endpoint struct {
	method string
	// pattern is the path as the app declared it, wildcards in braces.
	pattern string
	serve   func(h *Handler, w http.ResponseWriter, r *http.Request, at string)
}

// endpoints are the Python app's routes, each answered as the app did
// (the README's "Moving from the Python app" maps them to GraphQL).
var endpoints = []endpoint{
	{http.MethodPost, "/register-user", (*Handler).registerUser},
	{http.MethodPost, "/token", (*Handler).token},
	{http.MethodGet, "/token_status/{token}", (*Handler).tokenStatus},
	{http.MethodPost, "/predict", (*Handler).predict},
	{http.MethodPut, "/toggle-user-permission/{user_id}/{permission}", (*Handler).togglePermission},
	{http.MethodDelete, "/remove-user/{user_id}", (*Handler).removeUser},
}

// Mount serves the endpoints on mux under prefix ("" for the root paths).
// Another method answers FastAPI's 405 and, under a non-empty prefix, any
// other path its 404.
func (h *Handler) Mount(mux *http.ServeMux, prefix string) {
	for _, e := range endpoints {
		at := prefix + e.pattern
		mux.HandleFunc(e.method+" "+at, func(w http.ResponseWriter, r *http.Request) { e.serve(h, w, r, at) })
		// Without this, another method would fall through to the 404 below.
		mux.HandleFunc(at, func(w http.ResponseWriter, r *http.Request) {
			httpserver.LogPath(r.Context(), at) // the path may hold a token
			w.Header().Set("Allow", e.method)
			writeJSON(w, http.StatusMethodNotAllowed, field{"detail", "Method Not Allowed"})
		})
	}
	if prefix != "" {
		mux.HandleFunc(prefix+"/", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusNotFound, field{"detail", "Not Found"})
		})
	}
}

// Routes are the path classes of the endpoints under prefix, for the
// request metrics (telemetry.Metrics.Requests): a path with a wildcard is
// counted as its subtree, so that no user id or token becomes a label.
func Routes(prefix string) []string {
	routes := make([]string, len(endpoints))
	for i, e := range endpoints {
		path, _, _ := strings.Cut(e.pattern, "{")
		routes[i] = prefix + path
	}
	return routes
}
