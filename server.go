// Command mlapi serves an XGBoost model behind an authenticated, audited
// GraphQL API. This file wires the pieces together; the work is done in
// internal/ and graph/.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/mlapi/mlapi/graph"
	"github.com/mlapi/mlapi/internal/account"
	"github.com/mlapi/mlapi/internal/audit"
	"github.com/mlapi/mlapi/internal/auth"
	"github.com/mlapi/mlapi/internal/config"
	"github.com/mlapi/mlapi/internal/drift"
	"github.com/mlapi/mlapi/internal/export"
	"github.com/mlapi/mlapi/internal/gqlhttp"
	"github.com/mlapi/mlapi/internal/graphiql"
	"github.com/mlapi/mlapi/internal/httpserver"
	"github.com/mlapi/mlapi/internal/live"
	"github.com/mlapi/mlapi/internal/model"
	"github.com/mlapi/mlapi/internal/prediction"
	"github.com/mlapi/mlapi/internal/retention"
	"github.com/mlapi/mlapi/internal/seedcompat"
	"github.com/mlapi/mlapi/internal/serving"
	"github.com/mlapi/mlapi/internal/stats"
	"github.com/mlapi/mlapi/internal/store"
	"github.com/mlapi/mlapi/internal/telemetry"
	"github.com/mlapi/mlapi/internal/tracing"
	"github.com/mlapi/mlapi/internal/webapp"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// After the first signal, a second one ends the process at once,
	// should draining hang.
	go func() { <-ctx.Done(); stop() }()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "mlapi:", err)
		os.Exit(1)
	}
}

// run dispatches to a sub-command; serving is the default.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "serve":
			return serve(ctx, args[1:], getenv, stderr)
		case "score":
			return scoreCommand(ctx, args[1:], stdin, stdout, stderr)
		case "reference":
			return referenceCommand(args[1:], stdout, stderr)
		case "migrate":
			return migrateCommand(ctx, args[1:], getenv, stdout, stderr)
		case "user":
			return userCommand(ctx, args[1:], getenv, stdin, stdout, stderr)
		case "bench":
			return benchCommand(ctx, args[1:], stdout, stderr)
		case "prune":
			return pruneCommand(ctx, args[1:], getenv, stdout, stderr)
		case "audit":
			return auditCommand(ctx, args[1:], getenv, stdout, stderr)
		}
	}
	return serve(ctx, args, getenv, stderr)
}

// newLogger writes cfg's format, with every line bounded: no request can
// make the log grow by more than a few kilobytes. Lines logged while one is
// being written go out together in the next write.
func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	w = httpserver.NewLogWriter(w)
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	var h slog.Handler = slog.NewJSONHandler(w, opts)
	if cfg.LogFormat == "text" {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(httpserver.BoundedHandler(h, httpserver.MaxLogValue, httpserver.MaxLogLine))
}

// app is the assembled service: its HTTP handler, the limits its server
// enforces, its metrics, and what must be closed.
type app struct {
	handler http.Handler
	limits  httpserver.Config
	// metrics serves /metrics, on METRICS_ADDR when it is set.
	metrics http.Handler
	db      *store.DB
	// live holds the subscriptions; close it before the server drains, so
	// that streams end, and before db.
	live *live.Broker
	// models holds the served model, which SIGHUP reloads.
	models *serving.Holder[*graph.BoundModel]
	logger *slog.Logger
}

// close ends the subscriptions, then closes the database, and logs the
// head of the audit chain it wrote, for a later verification to check
// against (mlapi audit verify --expect).
func (a *app) close() error {
	a.live.Close()
	err := a.db.Close()
	if head := a.db.AuditHead(); head.Chain != 0 {
		a.logger.Info("audit chain head", "expect", head.String())
	}
	return err
}

// appOption adds to what newApp assembles.
type appOption func(*appOptions)

type appOptions struct {
	// traces traces requests; nil: tracing is off, and costs nothing.
	traces trace.TracerProvider
}

// withTraces traces the app's requests with tp (tracing.New's, or a test's).
func withTraces(tp trace.TracerProvider) appOption {
	return func(o *appOptions) { o.traces = tp }
}

// newApp loads the model, opens and migrates the database, and assembles the
// services behind the HTTP handler, each reporting to the metrics. The
// metrics are kept whether or not METRICS_ADDR serves them: they cost a
// request about a tenth of a microsecond.
func newApp(ctx context.Context, cfg config.Config, logger *slog.Logger, options ...appOption) (*app, error) {
	var opts appOptions
	for _, o := range options {
		o(&opts)
	}
	// Before the database: a model that cannot be read stops the server
	// before it connects anywhere.
	m, err := loadModel(cfg.ModelDir)
	if err != nil {
		return nil, err
	}
	key, err := auditKey(cfg)
	if err != nil {
		return nil, err
	}
	metrics := telemetry.New()
	dbOpts := store.Options{AuditKey: key, LogWrites: metrics.LogWrites(), Traces: opts.traces}
	if cfg.DatabaseReadURL != "" {
		dbOpts.Reads = metrics.ReplicaReads()
	}
	db, err := openDatabase(ctx, cfg, dbOpts)
	if err != nil {
		return nil, err
	}
	metrics.CollectPools(db)
	logger.Info("database ready", "database", store.Redact(cfg.DatabaseURL), "dialect", db.Dialect(), "audit_key_id", key.ID())
	if cfg.DatabaseReadURL != "" {
		logger.Info("read replica", "database", store.Redact(cfg.DatabaseReadURL), "max_lag", cfg.DatabaseReadMaxLag)
	}
	limits := httpserver.DefaultConfig(cfg.Addr)
	liveOpts := live.Options{Logger: logger}
	if cfg.DatabaseReadURL != "" {
		// Every process's logged requests reach db, so that its replica's
		// reads wait for them (store.DB.Written). Without a replica, a
		// process with no subscriber leaves the announcements unread.
		liveOpts.Logged = db.Written
	}
	broker, err := live.Open(ctx, db.Dialect(), cfg.DatabaseURL, liveOpts)
	if err != nil {
		db.Close()
		return nil, err
	}
	metrics.CollectSubscriptions(func() int {
		_, total := broker.Open(0)
		return total
	})
	models, err := serveModel(ctx, cfg, logger, m, db, broker, metrics, opts.traces)
	if err != nil {
		broker.Close()
		db.Close()
		return nil, err
	}
	metrics.CollectModel(func() string { return models.Current().Info.Version })
	handler, err := newHandler(cfg, limits, logger, models, db, broker, metrics, audit.NewService(db, key), opts.traces)
	if err != nil {
		broker.Close()
		db.Close()
		return nil, err
	}
	return &app{handler: handler, limits: limits, metrics: metrics.Handler(logger), db: db, live: broker, models: models, logger: logger}, nil
}

// serveModel serves m, read from cfg.ModelDir, and then each model a reload
// reads there, each bound to the API with the services that answer with it.
// Predictions go to the database through broker's decorator, which
// announces them to the subscriptions once committed, and through the
// metrics', which counts them under the model's version. traces, if set,
// traces each evaluation.
func serveModel(ctx context.Context, cfg config.Config, logger *slog.Logger, m *model.Model, db *store.DB, broker *live.Broker, metrics *telemetry.Metrics, traces trace.TracerProvider) (*serving.Holder[*graph.BoundModel], error) {
	var predictionOpts []prediction.Option
	if traces != nil {
		predictionOpts = append(predictionOpts, prediction.WithTracing(traces))
	}
	return serving.New(ctx, m, serving.Options[*graph.BoundModel]{
		Dir:  cfg.ModelDir,
		Load: loadModel,
		Bind: func(m *model.Model) (*graph.BoundModel, error) {
			info := m.Info()
			log := metrics.PredictionLog(broker.PredictionLog(db), info.Version)
			return graph.BindModel(info, prediction.NewService(m, log, predictionOpts...), drift.NewService(db, info.Reference))
		},
		Log:    db,
		Logger: logger,
	})
}

// newHandler assembles the handler. Account changes go to the database
// through broker's decorator, which announces them to the subscriptions
// once committed. traces, if set, traces each request and operation.
func newHandler(cfg config.Config, limits httpserver.Config, logger *slog.Logger, models *serving.Holder[*graph.BoundModel], db *store.DB, broker *live.Broker, metrics *telemetry.Metrics, audits *audit.Service, traces trace.TracerProvider) (http.Handler, error) {
	accounts, err := newAccounts(cfg, db, broker.Users(db), metrics.Accounts())
	if err != nil {
		return nil, err
	}
	resolver := graph.NewResolver(accounts, models,
		graph.WithLive(broker, graph.DefaultRecheck, logger), graph.WithStats(stats.NewService(db)), graph.WithAudit(audits))

	persisted, err := persistedOptions(cfg)
	if err != nil {
		return nil, err
	}
	api, err := graph.NewHandler(resolver, graph.Options{
		Introspection: cfg.Introspection,
		Limits:        graph.DefaultLimits(),
		Persisted:     persisted,
		Logger:        logger,
		// The compiled path's own checks are the executor's: off, it only
		// costs CPU (kept as a switch should it ever need ruling out).
		CompiledPredicts: cfg.CompiledPredicts,
		Traces:           traces,
		Live: gqlhttp.LiveOptions{
			Origins:         cfg.CORSOrigins,
			MaxMessageBytes: limits.MaxBodyBytes,
			Authenticate: func(ctx context.Context) error {
				_, err := accounts.Authenticate(ctx)
				return err
			},
		},
	})
	if err != nil {
		return nil, err
	}

	mux := http.NewServeMux()
	// /graphql is where most clients and tools look first.
	mux.Handle("/query", api)
	mux.Handle("/graphql", api)
	mux.Handle("GET /export", export.NewHandler(accounts, func() *prediction.Service { return models.Current().View.Predictions() }, logger))
	mux.HandleFunc("GET /healthz", httpserver.Health)
	ready := map[string]httpserver.Checker{"database": httpserver.CheckerFunc(db.Ping)}
	if cfg.DatabaseReadURL != "" {
		// The primary takes the replica's reads while it is down.
		ready["replica"] = httpserver.Degraded(httpserver.CheckerFunc(db.PingReplica))
	}
	mux.Handle("GET /readyz", httpserver.Ready(logger, 2*time.Second, ready))
	if cfg.GraphiQL {
		page := graphiql.Handler("/query")
		mux.Handle("GET /{$}", page)
		mux.Handle("GET /graphiql/", page)
	}
	if cfg.App {
		// The mux answers /app with a redirect to /app/.
		mux.Handle("GET "+webapp.Prefix, webapp.Handler("/query"))
	}
	if cfg.SeedCompat {
		// The Python app's REST endpoints, over the same services.
		seed := seedcompat.NewHandler(accounts, func() seedcompat.Predictor { return models.Current().View.Predictions() }, logger)
		seed.Mount(mux, seedcompat.Prefix)
		if cfg.SeedCompatRoot {
			seed.Mount(mux, "")
		}
	}
	middleware := []httpserver.Middleware{
		httpserver.ClientAddr(cfg.TrustedProxies),
		httpserver.AccessLog(logger, metrics.Requests(routes(), graph.Operations())),
		httpserver.Recover(logger),
		httpserver.SecurityHeaders,
		httpserver.CORS(cfg.CORSOrigins),
		httpserver.Timeout(limits.RequestTimeout),
		httpserver.LimitBody(limits.MaxBodyBytes),
		httpserver.BearerToken,
	}
	if traces != nil {
		// Before the access log, whose line names the trace. Off, it is
		// not there at all.
		route := func(r *http.Request) string { _, pattern := mux.Handler(r); return pattern }
		middleware = slices.Insert(middleware, 1, httpserver.Trace(traces, route))
	}
	return httpserver.Chain(mux, middleware...), nil
}

// routes are the paths newHandler serves, whether or not cfg turns them
// on: the metrics' path classes ("/app/" stands for /app and everything
// under it). Any other path counts as "other".
func routes() []string {
	paths := []string{"/query", "/graphql", "/export", "/healthz", "/readyz", "/", "/graphiql/", webapp.Prefix}
	paths = append(paths, seedcompat.Routes(seedcompat.Prefix)...)
	return append(paths, seedcompat.Routes("")...)
}

// newAccounts assembles the account service: tokens signed with the
// configured secret, password hashing bounded by cfg, and the per-username
// and per-address limits; observer hears how logins and registrations end.
func newAccounts(cfg config.Config, db *store.DB, users account.Users, observer account.Observer) (*account.Service, error) {
	secret, source, err := jwtSecret(cfg)
	if err != nil {
		return nil, err
	}
	tokens, err := auth.NewTokens(auth.TokenConfig{Secret: secret, TTL: cfg.TokenTTL})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	passwords, err := auth.NewPasswords(auth.PasswordConfig{MaxConcurrent: cfg.MaxHashes, MaxWait: cfg.HashWait})
	if err != nil {
		return nil, err
	}
	// The limiter's defaults: 10 attempts a minute.
	perUsername, err := newLimiter(db, "login-username", config.Rate{}, false)
	if err != nil {
		return nil, err
	}
	perAddress, err := clientLimits(cfg, db)
	if err != nil {
		return nil, err
	}
	return account.NewService(users, passwords, tokens, perUsername, account.WithClientLimits(perAddress), account.WithObserver(observer)), nil
}

// newLimiter returns the limit named name, of r (the limiter's defaults
// where r is zero). On PostgreSQL it counts in the database, so that every
// process on it counts together and a client gains nothing from reaching
// another one; on SQLite, whose database one process owns, it counts in
// memory, where admitWhenFull says what a full table does with a new key
// (auth.AttemptLimiterConfig).
func newLimiter(db *store.DB, name string, r config.Rate, admitWhenFull bool) (account.Limiter, error) {
	if db.Dialect() == store.Postgres {
		l, err := auth.NewSharedLimiter(db, auth.SharedLimiterConfig{Name: name, Max: r.N, Window: r.Per})
		if err != nil {
			return nil, err
		}
		return l, nil
	}
	l, err := auth.NewAttemptLimiter(auth.AttemptLimiterConfig{Max: r.N, Window: r.Per, AdmitWhenFull: admitWhenFull})
	if err != nil {
		return nil, err
	}
	return l, nil
}

// clientLimits are the per-address limits cfg sets. One address may hold at
// most half the hashing slots at once, so that the other half stays free for
// everyone else whatever one address sends; its other calls queue behind
// its own, never behind another address's. When every hashing slot is taken,
// the next goes to the address served least recently: a user who has not
// logged in for a while passes ahead of a flood's addresses. A refusal is
// answered after a second (tarpitTime), so that a flood's connections send
// one call a second each instead of keeping the CPUs busy with refusals. The
// counters admit a new address uncounted rather than refuse it when they are
// full of busy addresses (the per-username limit and the hashing slots still
// apply). The rates are counted as newLimiter says, shared by every process
// on PostgreSQL; the places in flight and the hashing slots bound this
// process's CPUs, and stay its own.
func clientLimits(cfg config.Config, db *store.DB) (account.ClientLimits, error) {
	limiter := func(name string, r config.Rate) (account.Limiter, error) {
		if r.Off() {
			return nil, nil
		}
		return newLimiter(db, name, r, true)
	}
	login, err := limiter("login-address", cfg.LoginRate)
	if err != nil {
		return account.ClientLimits{}, fmt.Errorf("login rate: %w", err)
	}
	register, err := limiter("register-address", cfg.RegisterRate)
	if err != nil {
		return account.ClientLimits{}, fmt.Errorf("register rate: %w", err)
	}
	return account.ClientLimits{
		Login:       login,
		Register:    register,
		MaxInFlight: max(1, cfg.MaxHashes/2),
		MaxHashing:  cfg.MaxHashes,
		QueueWait:   cfg.HashWait,
		Tarpit:      tarpitTime,
	}, nil
}

// tarpitTime is how long a refused login or registration waits before its
// answer.
const tarpitTime = time.Second

// persistedDocumentCacheBytes bounds the documents kept for automatic
// persisted queries: thousands of typical operations.
const persistedDocumentCacheBytes = 4 << 20

// persistedOptions reads the trusted documents manifest, if one is set.
func persistedOptions(cfg config.Config) (gqlhttp.PersistedOptions, error) {
	opts := gqlhttp.PersistedOptions{Automatic: cfg.PersistedQueries, CacheBytes: persistedDocumentCacheBytes}
	if cfg.TrustedDocuments != "" {
		docs, err := gqlhttp.LoadManifest(cfg.TrustedDocuments)
		if err != nil {
			return opts, err
		}
		opts.Trusted = docs
	}
	return opts, nil
}

// serve runs the API until ctx is cancelled (SIGINT or SIGTERM), then drains
// in-flight requests and returns nil, so the process exits 0. SIGHUP
// reloads the model.
func serve(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	// From the start: a SIGHUP while starting must not end the process.
	hangups := make(chan os.Signal, 1)
	signal.Notify(hangups, syscall.SIGHUP)
	defer signal.Stop(hangups)
	cfg, err := config.Parse(args, getenv, stderr)
	if err != nil {
		return err
	}
	logger := newLogger(cfg, stderr)
	traces, err := tracing.New(ctx, getenv, logger)
	if err != nil {
		return err
	}
	var options []appOption
	if traces != nil {
		// After the server has drained: the spans of its last requests
		// go out too.
		defer flushTraces(traces, cfg.ShutdownTimeout, logger)
		options = append(options, withTraces(traces))
	}
	a, err := newApp(ctx, cfg, logger, options...)
	if err != nil {
		return err
	}
	defer a.close()
	if cfg.Retention > 0 {
		// It stops with ctx, before the database closes.
		pruner := retention.Start(ctx, a.db, retention.Options{MaxAge: cfg.Retention, Logger: logger})
		defer pruner.Stop()
	}
	srv := httpserver.New(a.limits, a.handler, logger)
	// Shutdown waits for in-flight requests, event streams included, and
	// does not see websockets at all: end every subscription as it starts.
	srv.RegisterOnShutdown(a.live.Close)

	listener, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	logger.Info("serving", "addr", listener.Addr().String(), "graphiql", cfg.GraphiQL, "introspection", cfg.Introspection,
		"cors_origins", cfg.CORSOrigins, "persisted_queries", cfg.PersistedQueries, "trusted_documents", cfg.TrustedDocuments,
		"login_rate", cfg.LoginRate.String(), "register_rate", cfg.RegisterRate.String(), "trusted_proxies", cfg.TrustedProxies)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(listener) }()
	hangupsCtx, stopReloads := context.WithCancel(ctx)
	defer stopReloads()
	go reloadOnHangup(hangupsCtx, hangups, a.models)
	// Served until the process exits, draining included.
	for _, apart := range []struct {
		addr, what, path string
		handler          http.Handler
	}{
		{cfg.DebugAddr, "profiles", "/debug/pprof/", httpserver.DebugHandler()},
		{cfg.MetricsAddr, "metrics", "/metrics", metricsMux(a.metrics)},
	} {
		if apart.addr == "" {
			continue
		}
		other, err := serveApart(apart.addr, apart.what, apart.path, apart.handler, logger)
		if err != nil {
			srv.Close()
			return err
		}
		defer other.Close()
	}

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down: draining in-flight requests", "timeout", cfg.ShutdownTimeout)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	logger.Info("stopped")
	return nil
}

// flushTraces sends the spans not yet exported, within timeout, and stops
// the provider.
func flushTraces(traces *sdktrace.TracerProvider, timeout time.Duration, logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := traces.Shutdown(ctx); err != nil {
		logger.Warn("tracing: the last spans were not all sent", "err", err)
	}
}

// reloadTimeout bounds a reload SIGHUP asks for: reading the model and
// recording its load.
const reloadTimeout = time.Minute

// reloadOnHangup reloads the model at each SIGHUP until ctx ends; the
// holder logs what each reload did, or why it refused the model.
func reloadOnHangup(ctx context.Context, hangups <-chan os.Signal, models *serving.Holder[*graph.BoundModel]) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hangups:
			reloadCtx, cancel := context.WithTimeout(ctx, reloadTimeout)
			_, _ = models.Reload(reloadCtx)
			cancel()
		}
	}
}

// serveApart serves h on addr, a listener apart from the API's, until the
// returned server is closed: Go's profiles (on loopback only, which config
// checks) and the metrics. what and path name it in the log. Neither sets
// a write timeout: a CPU profile takes as long as it was asked to.
func serveApart(addr, what, path string, h http.Handler, logger *slog.Logger) (*http.Server, error) {
	listener, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on the %s address %s: %w", what, addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 2 * time.Minute}
	logger.Info("serving "+what, "addr", listener.Addr().String(), "path", path)
	go func() {
		if err := srv.Serve(listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error(what+" listener stopped", "err", err)
		}
	}()
	return srv, nil
}

// metricsMux serves the metrics at /metrics, and nothing else.
func metricsMux(metrics http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics)
	return mux
}

// openDatabase opens and migrates the configured database, with its read
// replica if cfg names one; opts brings the audit key, the observers and
// the tracer of the log's writes.
func openDatabase(ctx context.Context, cfg config.Config, opts store.Options) (*store.DB, error) {
	opts.MaxOpenConns, opts.ReadURL, opts.MaxReplicaLag = cfg.DBMaxConns, cfg.DatabaseReadURL, cfg.DatabaseReadMaxLag
	db, err := store.Open(ctx, cfg.DatabaseURL, opts)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// jwtSecret returns $JWT_SECRET, or on the embedded SQLite default a secret
// generated once and kept beside the database so tokens survive restarts,
// with where it came from for errors. PostgreSQL means production: there the
// secret must be given. auth.NewTokens judges the secret, wherever it comes
// from.
func jwtSecret(cfg config.Config) (secret []byte, source string, err error) {
	if cfg.JWTSecret != "" {
		return []byte(cfg.JWTSecret), "JWT_SECRET", nil
	}
	dir, ok := store.SQLiteDir(cfg.DatabaseURL)
	if !ok {
		return nil, "", fmt.Errorf("JWT_SECRET (at least %d random bytes) is required with PostgreSQL", auth.MinSecretLen)
	}
	secret, err = auth.LoadOrCreateSecret(dir)
	return secret, filepath.Join(dir, auth.SecretFileName), err
}

// auditKey returns the key of the audit log's chains: $AUDIT_KEY, or one
// derived from the token signing secret, so that a server needs no other
// secret. A key of its own outlives a rotation of JWT_SECRET, after which
// the chains written before verify only with the old secret.
func auditKey(cfg config.Config) (audit.Key, error) {
	if cfg.AuditKey != "" {
		if err := auth.ValidateSecret([]byte(cfg.AuditKey)); err != nil {
			return audit.Key{}, fmt.Errorf("AUDIT_KEY: %w", err)
		}
		return audit.NewKey([]byte(cfg.AuditKey)), nil
	}
	secret, source, err := jwtSecret(cfg)
	if err != nil {
		return audit.Key{}, fmt.Errorf("the audit log's key (AUDIT_KEY, or derived from the JWT secret): %w", err)
	}
	if err := auth.ValidateSecret(secret); err != nil {
		return audit.Key{}, fmt.Errorf("%s: %w", source, err)
	}
	return audit.DeriveKey(secret), nil
}
