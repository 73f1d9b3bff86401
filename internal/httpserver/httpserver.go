// Package httpserver is mlapi's HTTP plumbing: the server's timeouts, the
// middleware every request passes through (recovery, body and header limits,
// the bearer token, one structured log line), and the health probes.
package httpserver

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mlapi/mlapi/internal/auth"
)

// Config sizes the server's limits.
type Config struct {
	Addr              string
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	MaxHeaderBytes    int
	MaxBodyBytes      int64
	// RequestTimeout bounds the work one request may cause, database waits
	// included; it is shorter than WriteTimeout so the client still gets an
	// answer.
	RequestTimeout time.Duration
}

// DefaultConfig returns limits that refuse slow clients and oversized
// requests long before they cost anything.
func DefaultConfig(addr string) Config {
	return Config{
		Addr:              addr,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
		MaxBodyBytes:      64 << 10,
		RequestTimeout:    10 * time.Second,
	}
}

// New returns an http.Server serving h with cfg's timeouts.
func New(cfg Config, h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Addr:              cfg.Addr,
		Handler:           h,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    cfg.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// Middleware wraps a handler.
type Middleware func(http.Handler) http.Handler

// Chain applies middleware so that the first listed runs first.
func Chain(h http.Handler, mw ...Middleware) http.Handler {
	for i := len(mw) - 1; i >= 0; i-- {
		h = mw[i](h)
	}
	return h
}

type annotationsKey struct{}

type annotations struct {
	mu    sync.Mutex
	attrs []slog.Attr
	// path, when set, is logged and observed in place of the request's.
	path string
}

// Annotate adds attributes to the log line of the request ctx belongs to.
// Handlers deeper in the stack use it to say what the request was and how it
// ended without logging a second line.
func Annotate(ctx context.Context, attrs ...slog.Attr) {
	a, ok := ctx.Value(annotationsKey{}).(*annotations)
	if !ok {
		return
	}
	a.mu.Lock()
	a.attrs = append(a.attrs, attrs...)
	a.mu.Unlock()
}

// LogPath has the access log record path in place of the path of the
// request ctx belongs to, for a path that carries a secret (a token, as
// the Python app's GET /token_status/{token} does): the log and the
// metrics then see path, typically the route's pattern, and never the
// secret. path should keep the request path's route prefix, so that the
// metrics count it under the same route.
func LogPath(ctx context.Context, path string) {
	a, ok := ctx.Value(annotationsKey{}).(*annotations)
	if !ok {
		return
	}
	a.mu.Lock()
	a.path = path
	a.mu.Unlock()
}

// The annotations the access log reads as well as writes: which GraphQL
// operation a request ran and how it ended, for its RequestObservers.
const (
	// OperationTypeKey holds the operation's type: query, mutation or
	// subscription.
	OperationTypeKey = "op_type"
	// RootFieldKey holds the name of the operation's first root field.
	RootFieldKey = "op_field"
	// ErrorCodesKey holds the codes of the answer's errors, a []string.
	ErrorCodesKey = "error_codes"
)

// traceIDKey is the access log's attribute holding the id of the request's
// trace, when it is traced and sampled (Trace).
const traceIDKey = "trace_id"

// RequestSummary is what the access log records of a request, for the
// observers it tells.
type RequestSummary struct {
	Method string
	Path   string
	Status int
	// Elapsed runs from the request's arrival to its handler's end; for a
	// stream that is its lifetime.
	Elapsed time.Duration
	// Stream says the request opened a subscription's websocket or event
	// stream (IsStream).
	Stream bool
	// OperationType and RootField are annotated by the GraphQL handler, ""
	// when none ran.
	OperationType, RootField string
	// ErrorCode is the first error code annotated, "" with none.
	ErrorCode string
}

// annotated fills s's GraphQL fields from the request's annotations. The
// first of each key wins: a stream annotates every event it answers.
func (s *RequestSummary) annotated(attrs []slog.Attr) {
	for _, a := range attrs {
		switch a.Key {
		case OperationTypeKey:
			if s.OperationType == "" {
				s.OperationType = a.Value.String()
			}
		case RootFieldKey:
			if s.RootField == "" {
				s.RootField = a.Value.String()
			}
		case ErrorCodesKey:
			if codes, ok := a.Value.Any().([]string); ok && len(codes) > 0 && s.ErrorCode == "" {
				s.ErrorCode = codes[0]
			}
		}
	}
}

// RequestObserver is told of every request the access log records. It
// runs on the request's goroutine once the request is answered, so it must
// be quick.
type RequestObserver interface {
	ObserveRequest(RequestSummary)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *statusRecorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Flush passes on a flush, so an answer streamed in parts (@defer) reaches
// the client part by part through the access log's wrapper.
func (r *statusRecorder) Flush() {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	_ = http.NewResponseController(r.ResponseWriter).Flush()
}

// AccessLog writes one line per request with its outcome and latency, and
// tells observers (the metrics) of the request too. It never logs headers
// or bodies, which carry tokens and passwords, and no line is longer than
// about MaxLogLine bytes, each value at most MaxLogValue.
func AccessLog(logger *slog.Logger, observers ...RequestObserver) Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			notes := &annotations{}
			rec := &statusRecorder{ResponseWriter: w}
			next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), annotationsKey{}, notes)))
			elapsed := time.Since(start)
			if rec.status == 0 {
				rec.status = http.StatusOK
			}
			notes.mu.Lock()
			path := cmp.Or(notes.path, r.URL.Path)
			notes.mu.Unlock()
			attrs := []slog.Attr{
				slog.String("method", r.Method),
				slog.String("path", path),
				slog.Int("status", rec.status),
				slog.Int64("bytes", rec.bytes),
				slog.Float64("latency_ms", float64(elapsed.Microseconds())/1000),
				slog.String("remote", r.RemoteAddr),
			}
			if client, ok := auth.ClientAddrFrom(r.Context()); ok {
				// Put there by ClientAddr, which runs first.
				attrs = append(attrs, slog.String("client", client.String()))
			}
			if traceID, ok := sampledTraceID(r); ok {
				// Put there by Trace, which runs before: the line leads to
				// the request's trace.
				attrs = append(attrs, slog.String(traceIDKey, traceID))
			}
			annotated := len(attrs)
			notes.mu.Lock()
			attrs = append(attrs, notes.attrs...)
			notes.mu.Unlock()
			level := slog.LevelInfo
			if rec.status >= 500 {
				level = slog.LevelError
			}
			logRequest(r.Context(), logger, level, attrs)
			if len(observers) == 0 {
				return
			}
			summary := RequestSummary{Method: r.Method, Path: path, Status: rec.status, Elapsed: elapsed, Stream: IsStream(r)}
			summary.annotated(attrs[annotated:])
			for _, o := range observers {
				o.ObserveRequest(summary)
			}
		})
	}
}

// logRequest writes a request's access line. The record is built here, not
// by Logger.LogAttrs, which walks the stack for the caller's program
// counter on every line: a source the handlers are never asked to print,
// at a cost every request paid.
func logRequest(ctx context.Context, logger *slog.Logger, level slog.Level, attrs []slog.Attr) {
	if !logger.Enabled(ctx, level) {
		return
	}
	record := slog.NewRecord(time.Now(), level, "request", 0)
	// Bounded: a request shapes much of its own line (its operation's
	// name, one error code per error).
	record.AddAttrs(BoundAttrs(attrs, MaxLogValue, MaxLogLine)...)
	// As Logger.LogAttrs does, a handler's error is not the request's.
	_ = logger.Handler().Handle(ctx, record)
}

// Recover turns a handler's panic into a bare 500 and a logged stack, so one
// bad request cannot take the process down.
func Recover(logger *slog.Logger) Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				if p := recover(); p != nil {
					if p == http.ErrAbortHandler {
						panic(p)
					}
					LogPanic(r.Context(), logger, "handler", p)
					http.Error(w, "internal error", http.StatusInternalServerError)
				}
			}()
			next.ServeHTTP(w, r)
		})
	}
}

// LogPanic logs a recovered panic with the stack of the goroutine that
// recovered it, which still holds the panicking frames. Every recover in
// the server logs through it, so a panic reads the same wherever it was
// caught; where names the catcher ("handler", "resolver").
func LogPanic(ctx context.Context, logger *slog.Logger, where string, p any) {
	logger.ErrorContext(ctx, where+" panic", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
}

// LimitBody refuses bodies over max bytes: at once with 413 when
// Content-Length says so, and by failing the read otherwise, so that a large
// body is never read whole.
func LimitBody(max int64) Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > max {
				writeJSONError(w, http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE", "the request body is too large")
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, max)
			next.ServeHTTP(w, r)
		})
	}
}

// Timeout gives every request a deadline, so that a slow database or an
// exhausted connection pool makes a request fail cleanly instead of holding
// its connection until the write timeout cuts it. A stream (IsStream: a
// subscription's websocket or event stream) is exempt, explicitly: it
// lives as long as its subscription, whose operations bound their own work.
func Timeout(d time.Duration) Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if IsStream(r) {
				keepOpen(w)
				next.ServeHTTP(w, r)
				return
			}
			ctx, cancel := context.WithTimeout(r.Context(), d)
			defer cancel()
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// maxAuthorizationBytes bounds the Authorization header: an access token is a
// few hundred bytes, so anything far larger is refused before it is parsed.
const maxAuthorizationBytes = 4 << 10

// BearerToken puts the request's access token, if any, in its context, or
// records a malformed Authorization header for the operations that need a
// caller to refuse. It refuses only a header far larger than any token,
// with 401, before parsing it. The token is verified by the operations
// that need a caller, not here, so that a stale token does not stop a
// client from logging in again.
func BearerToken(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		header := r.Header.Get("Authorization")
		if header == "" {
			next.ServeHTTP(w, r)
			return
		}
		if len(header) > maxAuthorizationBytes {
			writeJSONError(w, http.StatusUnauthorized, "UNAUTHENTICATED", "the Authorization header is too large")
			return
		}
		token, ok := auth.BearerToken(header)
		if !ok {
			next.ServeHTTP(w, r.WithContext(auth.WithMalformedCredentials(r.Context(), "the Authorization header must be 'Bearer <token>'")))
			return
		}
		next.ServeHTTP(w, r.WithContext(auth.WithToken(r.Context(), token)))
	})
}

// SecurityHeaders sets headers that keep browsers from sniffing or framing
// the API's answers.
func SecurityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

// writeJSONError answers in GraphQL's error shape, so clients parse one format.
func writeJSONError(w http.ResponseWriter, status int, code, message string) {
	type gqlError struct {
		Message    string            `json:"message"`
		Extensions map[string]string `json:"extensions"`
	}
	body, _ := json.Marshal(map[string][]gqlError{
		"errors": {{Message: message, Extensions: map[string]string{"code": code}}},
	})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// Checker reports whether a dependency is ready to serve.
type Checker interface {
	Ready(ctx context.Context) error
}

// CheckerFunc adapts a function to Checker.
type CheckerFunc func(ctx context.Context) error

// Ready calls f.
func (f CheckerFunc) Ready(ctx context.Context) error { return f(ctx) }

// Health answers /healthz: the process is up and serving.
func Health(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"status":"ok"}`))
}

// Degraded wraps a checker of a dependency the server can do without
// (a read replica, whose reads the primary takes): its failure makes
// /readyz answer 200 with status "degraded", not 503.
func Degraded(c Checker) Checker {
	return CheckerFunc(func(ctx context.Context) error {
		if err := c.Ready(ctx); err != nil {
			return degraded{err}
		}
		return nil
	})
}

type degraded struct{ error }

func (d degraded) Unwrap() error { return d.error }

// Ready answers /readyz: 200 when every checker passes within timeout, 503
// otherwise. The reason goes to the log, not to the (unauthenticated) caller.
// A failing Degraded checker leaves it 200, its status "degraded" and the
// checks that failed named.
func Ready(logger *slog.Logger, timeout time.Duration, checkers map[string]Checker) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		w.Header().Set("Content-Type", "application/json")
		var degradedChecks []string
		for name, c := range checkers {
			if err := c.Ready(ctx); err != nil {
				if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
					return
				}
				if errors.As(err, new(degraded)) {
					logger.WarnContext(ctx, "degraded", "check", name, "err", err)
					degradedChecks = append(degradedChecks, name)
					continue
				}
				logger.WarnContext(ctx, "not ready", "check", name, "err", err)
				w.WriteHeader(http.StatusServiceUnavailable)
				_ = json.NewEncoder(w).Encode(map[string]string{"status": "unavailable", "check": name})
				return
			}
		}
		if len(degradedChecks) > 0 {
			slices.Sort(degradedChecks)
			_ = json.NewEncoder(w).Encode(map[string]any{"status": "degraded", "degraded": degradedChecks})
			return
		}
		_, _ = w.Write([]byte(`{"status":"ready"}`))
	})
}

// JSONBody reports whether r declares its body as JSON in UTF-8:
// Content-Type application/json with no charset or charset=utf-8. The API's
// endpoints read no other body, since a form or text/plain, which a page
// of any origin may post without asking, must not reach them.
func JSONBody(r *http.Request) bool {
	mediaType, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	charset := strings.ToLower(params["charset"])
	return err == nil && mediaType == "application/json" && (charset == "" || charset == "utf-8")
}
