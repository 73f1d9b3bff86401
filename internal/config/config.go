// Package config reads mlapi's settings from flags and the environment; a
// flag wins over its environment variable, which wins over the default.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Config is everything the server needs to start.
type Config struct {
	Addr        string
	DatabaseURL string
	ModelDir    string
	JWTSecret   string
	// AuditKey keys the audit log's hash chains; empty: a key derived
	// from the JWT secret.
	AuditKey  string
	TokenTTL  time.Duration
	LogLevel  slog.Level
	LogFormat string
	GraphiQL  bool
	// App serves the web app at /app/.
	App             bool
	Introspection   bool
	DBMaxConns      int
	MaxHashes       int
	ShutdownTimeout time.Duration
	// CORSOrigins are the origins whose browser pages may call the API; "*"
	// allows any. Empty: no cross-origin access.
	CORSOrigins []string
	// PersistedQueries turns on Apollo's automatic persisted queries.
	PersistedQueries bool
	// TrustedDocuments is the path of a manifest of the only operations the
	// server runs (hash to document); empty: any operation.
	TrustedDocuments string
	// LoginRate and RegisterRate bound the token and registerUser calls of
	// one client address (an IPv6 /64); the zero Rate sets no bound.
	LoginRate, RegisterRate Rate
	// TrustedProxies are the networks of the reverse proxies whose
	// X-Forwarded-For header is believed; empty: the peer is the client.
	TrustedProxies []netip.Prefix
	// HashWait bounds how long a login or registration waits for a free
	// password-hashing slot before it is refused.
	HashWait time.Duration
	// DebugAddr is a loopback address serving Go's profiles; empty: none.
	DebugAddr string
	// MetricsAddr is the address serving Prometheus' /metrics, any but the
	// API's; empty: none.
	MetricsAddr string
	// Retention is how long logged requests, responses and outcomes are
	// kept; zero keeps them for good.
	Retention time.Duration
	// CompiledPredicts answers repeated predict documents without gqlgen's
	// executor (graph.Options.CompiledPredicts).
	CompiledPredicts bool
	// SeedCompat serves the Python app's REST endpoints under /v1/;
	// SeedCompatRoot also at the root paths the app used.
	SeedCompat, SeedCompatRoot bool

	// DatabaseReadURL names a PostgreSQL streaming replica for the
	// history, stats and performance reads; empty: the primary takes them.
	DatabaseReadURL string
	// DatabaseReadMaxLag is how far behind the replica may be before the
	// primary takes every read.
	DatabaseReadMaxLag time.Duration
}

// setting is one flag with the environment variable that sets its default.
type setting struct {
	flag, env, usage string
}

// Parse reads the serve command's flags from args and its environment from
// getenv. -h prints every setting with its variable to output and returns
// flag.ErrHelp.
func Parse(args []string, getenv func(string) string, output io.Writer) (Config, error) {
	fs := flag.NewFlagSet("mlapi", flag.ContinueOnError)
	fs.SetOutput(output)
	var cfg Config
	var errs []error
	env := func(s setting, fallback string) string {
		if v := getenv(s.env); v != "" {
			return v
		}
		return fallback
	}
	str := func(p *string, s setting, fallback string) {
		fs.StringVar(p, s.flag, env(s, fallback), s.usage+" ($"+s.env+")")
	}
	boolean := func(p *bool, s setting, fallback bool) {
		v, err := strconv.ParseBool(env(s, strconv.FormatBool(fallback)))
		if err != nil {
			errs = append(errs, fmt.Errorf("$%s: %w", s.env, err))
		}
		fs.BoolVar(p, s.flag, v, s.usage+" ($"+s.env+")")
	}
	integer := func(p *int, s setting, fallback int) {
		v, err := strconv.Atoi(env(s, strconv.Itoa(fallback)))
		if err != nil {
			errs = append(errs, fmt.Errorf("$%s: %w", s.env, err))
		}
		fs.IntVar(p, s.flag, v, s.usage+" ($"+s.env+")")
	}
	duration := func(p *time.Duration, s setting, fallback time.Duration) {
		v, err := time.ParseDuration(env(s, fallback.String()))
		if err != nil {
			errs = append(errs, fmt.Errorf("$%s: %w", s.env, err))
		}
		fs.DurationVar(p, s.flag, v, s.usage+" ($"+s.env+")")
	}
	var level, corsOrigins, loginRate, registerRate, trustedProxies, retention string
	str(&cfg.Addr, setting{"addr", "ADDR", "address to listen on"}, ":8080")
	str(&cfg.DatabaseURL, databaseURL, "")
	str(&cfg.ModelDir, setting{"model-dir", "MODEL_DIR", "directory with model.json and input_schema.json; empty: the model built into the binary"}, "")
	duration(&cfg.TokenTTL, setting{"token-ttl", "TOKEN_TTL", "lifetime of access tokens"}, 60*time.Minute)
	str(&level, setting{"log-level", "LOG_LEVEL", "debug, info, warn or error"}, "info")
	str(&cfg.LogFormat, setting{"log-format", "LOG_FORMAT", "json or text"}, "json")
	boolean(&cfg.GraphiQL, setting{"graphiql", "GRAPHIQL", "serve GraphiQL at /"}, true)
	boolean(&cfg.App, setting{"app", "APP", "serve the web app at /app/"}, true)
	boolean(&cfg.Introspection, setting{"introspection", "INTROSPECTION", "answer GraphQL introspection"}, true)
	integer(&cfg.DBMaxConns, setting{"db-max-conns", "DB_MAX_CONNS", "database connection pool size"}, 16)
	integer(&cfg.MaxHashes, setting{"max-concurrent-hashes", "MAX_CONCURRENT_HASHES", "password hashes computed at once (each holds 19 MiB)"}, 4)
	duration(&cfg.ShutdownTimeout, setting{"shutdown-timeout", "SHUTDOWN_TIMEOUT", "how long SIGTERM waits for in-flight requests"}, 20*time.Second)
	str(&corsOrigins, setting{"cors-origins", "CORS_ORIGINS", "comma-separated origins whose pages may call the API (https://app.example.com), or *; empty: none"}, "")
	boolean(&cfg.PersistedQueries, setting{"persisted-queries", "PERSISTED_QUERIES", "accept Apollo's automatic persisted queries"}, true)
	str(&cfg.TrustedDocuments, setting{"trusted-documents", "TRUSTED_DOCUMENTS", "JSON manifest (hash to document) of the only operations to run; empty: any"}, "")
	str(&loginRate, setting{"login-rate", "LOGIN_RATE", "token calls per client address (IPv6: per /64), as N/duration, or off"}, DefaultLoginRate.String())
	str(&registerRate, setting{"register-rate", "REGISTER_RATE", "registerUser calls per client address (IPv6: per /64), as N/duration, or off"}, DefaultRegisterRate.String())
	str(&trustedProxies, setting{"trusted-proxies", "TRUSTED_PROXIES", "comma-separated addresses or CIDRs of reverse proxies whose X-Forwarded-For is believed; empty: none"}, "")
	duration(&cfg.HashWait, setting{"hash-wait", "HASH_WAIT", "how long a login waits for a password-hashing slot before TOO_MANY_REQUESTS"}, 500*time.Millisecond)
	boolean(&cfg.CompiledPredicts, setting{"compiled-predicts", "COMPILED_PREDICTS", "answer a predict document the executor has answered before without it, with the same checks and answers"}, true)
	boolean(&cfg.SeedCompat, setting{"seed-compat", "SEED_COMPAT", "serve the Python app's REST endpoints under /v1/"}, true)
	boolean(&cfg.SeedCompatRoot, setting{"seed-compat-root", "SEED_COMPAT_ROOT", "also serve them at the root paths the Python app used (/predict, /token, ...)"}, false)
	str(&cfg.DebugAddr, setting{"debug-addr", "DEBUG_ADDR", "loopback address (127.0.0.1:6060) serving Go's profiles at /debug/pprof/; empty: none"}, "")
	str(&cfg.MetricsAddr, setting{"metrics-addr", "METRICS_ADDR", "address (:9090) serving Prometheus metrics at /metrics, apart from the API's; empty: none"}, "")
	str(&retention, setting{"retention", "RETENTION", "delete logged requests, responses and outcomes older than this, in days (365d) or as a duration (720h), at least 1h; off: keep them"}, "off")
	str(&cfg.DatabaseReadURL, setting{"database-read-url", "DATABASE_READ_URL", "postgres://... of a streaming replica of DATABASE_URL taking history, stats and performance reads; empty: none"}, "")
	duration(&cfg.DatabaseReadMaxLag, setting{"database-read-max-lag", "DATABASE_READ_MAX_LAG", "how far behind the read replica may be before the primary takes every read"}, DefaultReadMaxLag)
	fs.Usage = func() {
		fmt.Fprintf(output, "Usage: mlapi [serve] [flags]\n       mlapi score|migrate|user ... (-h for each)\n\nServes the GraphQL API. Flags, each with the environment variable that sets its default:\n")
		fs.PrintDefaults()
		fmt.Fprintf(output, "  $JWT_SECRET\n    \tHS256 signing secret, at least 32 bytes; required with PostgreSQL (SQLite: generated once and kept beside the database)\n")
		fmt.Fprintf(output, "  $AUDIT_KEY\n    \tkey of the audit log's hash chains, at least 32 bytes; default: derived from the JWT secret\n")
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	cfg.JWTSecret = getenv("JWT_SECRET")
	cfg.AuditKey = getenv("AUDIT_KEY")
	if err := cfg.LogLevel.UnmarshalText([]byte(level)); err != nil {
		errs = append(errs, fmt.Errorf("log level %q: %w", level, err))
	}
	if cfg.LogFormat != "json" && cfg.LogFormat != "text" {
		errs = append(errs, fmt.Errorf("log format %q: want json or text", cfg.LogFormat))
	}
	if cfg.TokenTTL < time.Minute || cfg.TokenTTL > 24*time.Hour {
		errs = append(errs, fmt.Errorf("token TTL %s: want between 1m and 24h", cfg.TokenTTL))
	}
	if cfg.DBMaxConns < 1 || cfg.MaxHashes < 1 {
		errs = append(errs, errors.New("db-max-conns and max-concurrent-hashes must be at least 1"))
	}
	origins, err := parseOrigins(corsOrigins)
	if err != nil {
		errs = append(errs, err)
	}
	cfg.CORSOrigins = origins
	if cfg.LoginRate, err = ParseRate(loginRate); err != nil {
		errs = append(errs, fmt.Errorf("login rate: %w", err))
	}
	if cfg.RegisterRate, err = ParseRate(registerRate); err != nil {
		errs = append(errs, fmt.Errorf("register rate: %w", err))
	}
	if cfg.TrustedProxies, err = ParsePrefixes(trustedProxies); err != nil {
		errs = append(errs, fmt.Errorf("trusted proxies: %w", err))
	}
	if cfg.HashWait < time.Millisecond || cfg.HashWait > 10*time.Second {
		errs = append(errs, fmt.Errorf("hash wait %s: want between 1ms and 10s", cfg.HashWait))
	}
	if cfg.DebugAddr != "" {
		if err := checkLoopback(cfg.DebugAddr); err != nil {
			errs = append(errs, fmt.Errorf("debug address: %w", err))
		}
	}
	if cfg.MetricsAddr != "" {
		if err := checkApart(cfg.MetricsAddr, cfg.Addr); err != nil {
			errs = append(errs, fmt.Errorf("metrics address: %w", err))
		}
	}
	if cfg.Retention, err = ParseRetention(retention); err != nil {
		errs = append(errs, fmt.Errorf("retention: %w", err))
	}
	if cfg.SeedCompatRoot && !cfg.SeedCompat {
		// Asked for and removed at once: say so rather than pick one.
		errs = append(errs, errors.New("seed-compat-root needs seed-compat: the root paths are the same endpoints as /v1/"))
	}
	if err := checkReadReplica(cfg); err != nil {
		errs = append(errs, err)
	}
	return cfg, errors.Join(errs...)
}

// MinRetention is the shortest retention accepted: a shorter one would
// delete the history its users are still reading.
const MinRetention = time.Hour

// ParseRetention reads a retention period: a whole number of days ("365d")
// or a Go duration ("720h"), at least MinRetention; "off" or nothing is
// zero, keep everything.
func ParseRetention(s string) (time.Duration, error) {
	if s == "" || s == "off" {
		return 0, nil
	}
	bad := fmt.Errorf("%q: want a number of days (365d), a duration (720h) or off", s)
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseInt(days, 10, 64)
		if err != nil || n < 0 || n > int64(math.MaxInt64/(24*time.Hour)) {
			return 0, bad
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, bad
		}
	}
	if d < MinRetention {
		return 0, fmt.Errorf("%q: want at least an hour", s)
	}
	return d, nil
}

// databaseURL is the one database setting, shared by the server and the
// sub-commands that open the database.
var databaseURL = setting{"database-url", "DATABASE_URL", "postgres://..., sqlite://PATH or file:PATH; empty: SQLite in ./data/mlapi.db"}

// DatabaseURLFlag defines --database-url on fs, defaulting to $DATABASE_URL,
// exactly as the server reads it, for the sub-commands that open the
// database.
func DatabaseURLFlag(fs *flag.FlagSet, getenv func(string) string) *string {
	return fs.String(databaseURL.flag, getenv(databaseURL.env), databaseURL.usage+" ($"+databaseURL.env+")")
}

// parseOrigins reads a comma-separated list of web origins. Each must be
// exactly what a browser sends in its Origin header (scheme, host and an
// optional port, no path), or "*"; a typo must fail at start-up rather than
// silently lock a front-end out.
func parseOrigins(list string) ([]string, error) {
	var origins []string
	for _, item := range strings.Split(list, ",") {
		origin := strings.TrimSpace(item)
		if origin == "" {
			continue
		}
		if origin != "*" {
			u, err := url.Parse(origin)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
				u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
				return nil, fmt.Errorf("CORS origin %q: want scheme://host[:port], like https://app.example.com", origin)
			}
			origin = strings.ToLower(origin)
		}
		origins = append(origins, origin)
	}
	return origins, nil
}
