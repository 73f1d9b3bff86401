package gqlhttp

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	coderws "github.com/coder/websocket"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/mlapi/mlapi/internal/auth"
	"github.com/mlapi/mlapi/internal/httpserver"
)

// Defaults of LiveOptions.
const (
	DefaultKeepAlive   = 25 * time.Second
	DefaultInitTimeout = 10 * time.Second
	// DefaultMaxMessageBytes is the HTTP body limit's default.
	DefaultMaxMessageBytes = 64 << 10
)

// CloseForbidden is the close code of a websocket whose connection_init
// was refused, as graphql-transport-ws asks (4403 Forbidden).
const CloseForbidden = 4403

// CodeForbiddenOrigin refuses a websocket opened by a page of an origin
// the CORS allow-list does not name.
const CodeForbiddenOrigin = "FORBIDDEN"

// LiveOptions configure the transports of long-lived operations
// (subscriptions): graphql-ws over a websocket, and server-sent events.
type LiveOptions struct {
	// Origins is the CORS allow-list ("*": any origin). A websocket opened
	// by a page of another origin is refused with 403: browsers do not
	// apply CORS to websockets, so the server must. A page of the API's
	// own origin, and a client sending no Origin (not a browser), pass.
	Origins []string
	// Authenticate verifies the token ctx carries, which the websocket
	// takes from connection_init's payload ({"Authorization": "Bearer
	// <token>"}). A refused init closes the socket with CloseForbidden.
	// Nil accepts any init.
	Authenticate func(ctx context.Context) error
	// KeepAlive is how often the server pings a websocket (and drops it
	// when no pong comes back within two periods) and comments an event
	// stream. Zero means DefaultKeepAlive.
	KeepAlive time.Duration
	// InitTimeout bounds the wait for connection_init. Zero means
	// DefaultInitTimeout.
	InitTimeout time.Duration
	// MaxMessageBytes bounds one message a client sends over a websocket,
	// as the body limit bounds a request. Zero means
	// DefaultMaxMessageBytes.
	MaxMessageBytes int64
}

// LiveTransports returns the websocket and server-sent events transports.
// Add them to the server before Transport, which claims every request:
// gqlgen hands a request to the first transport that supports it, and these
// support only a websocket upgrade and a POST that accepts
// text/event-stream.
func LiveTransports(opts LiveOptions) []graphql.Transport {
	keepAlive := opts.KeepAlive
	if keepAlive <= 0 {
		keepAlive = DefaultKeepAlive
	}
	initTimeout := opts.InitTimeout
	if initTimeout <= 0 {
		initTimeout = DefaultInitTimeout
	}
	maxMessage := opts.MaxMessageBytes
	if maxMessage <= 0 {
		maxMessage = DefaultMaxMessageBytes
	}
	ws := websocket{
		origins: opts.Origins,
		Websocket: transport.Websocket{
			// The origin is checked before the upgrade, against the
			// CORS allow-list (allowedOrigin), not coder/websocket's host
			// patterns.
			Implementation:        transport.CoderWebsocketImplementation{AcceptOptions: coderws.AcceptOptions{InsecureSkipVerify: true}},
			InitFunc:              initFunc(opts.Authenticate),
			InitTimeout:           initTimeout,
			KeepAlivePingInterval: keepAlive, // graphql-ws (legacy) keep-alive messages
			PingPongInterval:      keepAlive, // graphql-transport-ws ping, pong awaited
			PayloadReadLimit:      &maxMessage,
		},
	}
	return []graphql.Transport{ws, sse{transport.SSE{KeepAlivePingInterval: keepAlive}}}
}

// sse is gqlgen's server-sent events transport, claiming only the POSTs
// that prefer text/event-stream to JSON (httpserver.IsStream, which also
// exempts them from the request deadline). gqlgen's would claim any that
// names it, and urql names it among others for every query.
type sse struct {
	transport.SSE
}

func (t sse) Supports(r *http.Request) bool {
	return httpserver.IsStream(r) && !IsWebsocket(r) && t.SSE.Supports(r)
}

// websocket is gqlgen's websocket transport behind an origin check.
type websocket struct {
	transport.Websocket
	origins []string
}

// Supports claims websocket upgrades only.
func (websocket) Supports(r *http.Request) bool {
	return IsWebsocket(r)
}

// IsWebsocket reports whether r asks to be upgraded to a websocket.
func IsWebsocket(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

func (t websocket) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	if !allowedOrigin(r, t.origins) {
		media := negotiate(r.Header.Get("Accept"))
		media.maxBytes = DefaultMaxResponseBytes
		refuse(w, r, media, &requestError{
			status: http.StatusForbidden, code: CodeForbiddenOrigin,
			message: "websockets from this origin are not allowed",
		})
		return
	}
	t.Websocket.Do(w, r, exec)
}

// allowedOrigin reports whether r's Origin may open a websocket: none (not
// a browser), the API's own, or one of origins.
func allowedOrigin(r *http.Request, origins []string) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || slices.Contains(origins, "*") || slices.Contains(origins, strings.ToLower(origin)) {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host)
}

type websocketKey struct{}

var errNoInitToken = errors.New(`connection_init needs a token: send {"Authorization": "Bearer <token>"} as its payload`)

// initFunc puts connection_init's token into the connection's context, as
// httpserver.BearerToken does for a request's header, and verifies it.
func initFunc(authenticate func(context.Context) error) transport.WebsocketInitFunc {
	return func(ctx context.Context, payload transport.InitPayload) (context.Context, *transport.InitPayload, error) {
		ctx = context.WithValue(ctx, websocketKey{}, true)
		refused := transport.WithWebsocketCloseCode(ctx, CloseForbidden)
		header := payload.Authorization()
		if header == "" {
			return refused, nil, errNoInitToken
		}
		token, ok := auth.BearerToken(header)
		if !ok {
			return refused, nil, errors.New("the Authorization entry must be 'Bearer <token>'")
		}
		ctx = auth.WithToken(ctx, token)
		if authenticate != nil {
			if err := authenticate(ctx); err != nil {
				return transport.AppendCloseReason(refused, "forbidden"), nil, err
			}
		}
		return ctx, nil, nil
	}
}

// EndSubscription reports why a subscription ended, before its channel
// closes: over a websocket, an error message instead of complete. An event
// stream has no such message; it ends with complete.
func EndSubscription(ctx context.Context, err *gqlerror.Error) {
	if over, _ := ctx.Value(websocketKey{}).(bool); over {
		transport.AddSubscriptionError(ctx, err)
	}
}
