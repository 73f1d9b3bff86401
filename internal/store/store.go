// Package store persists users and the prediction log through bun, on
// PostgreSQL or an embedded SQLite.
//
// Every method takes the caller's context and bounds its work by it. Errors a
// caller decides on are apperr values: Conflict, NotFound (the Err*NotFound
// sentinels), Invalid, and Unavailable for anything that says the database
// cannot be reached right now (see classify); everything else is internal.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	// The pure-Go SQLite driver, registered as "sqlite".
	_ "modernc.org/sqlite"

	"github.com/mlapi/mlapi/internal/audit"
)

// DefaultSQLitePath is where Open puts the database when given no URL.
const DefaultSQLitePath = "./data/mlapi.db"

// Dialect names, as DB.Dialect reports them.
const (
	Postgres = "postgres"
	SQLite   = "sqlite"
)

const (
	defaultPostgresConns = 16
	defaultSQLiteReaders = 8

	// idleTimeout lets a quiet server hand connections back to PostgreSQL.
	idleTimeout = 5 * time.Minute
)

// Options tunes the connection pool.
type Options struct {
	// MaxOpenConns bounds the pool; zero means 16 on PostgreSQL. On SQLite it
	// bounds the read-only connections (zero means 8): writes always go
	// through one connection of their own. A request that finds the pool
	// exhausted waits for a connection within its context's deadline.
	MaxOpenConns int
	// AuditKey keys the audit log's chains and checkpoints (package
	// audit). The zero Key is the empty one, which everybody holds: such
	// chains show accidents, not forgeries. The server always sets one.
	AuditKey audit.Key
	// LogWrites, when set, is told of every write of the prediction log.
	LogWrites LogWriteObserver

	// ReadURL, when set, names a PostgreSQL streaming replica of the
	// database that takes the history, stats and performance reads (see
	// replica.go); PostgreSQL only.
	ReadURL string
	// MaxReplicaLag is how far behind the replica may be before every
	// read goes to the primary; zero means DefaultMaxReplicaLag.
	MaxReplicaLag time.Duration
	// Reads, when set and with a ReadURL, hears where each routed read
	// went.
	Reads ReadObserver
	// Traces, when set, traces the prediction log's writes: a span for each
	// prediction logged, in its caller's trace. Nil: no spans, and nothing
	// spent on them.
	Traces trace.TracerProvider
}

// LogWriteObserver is told of every write of the prediction log (one
// statement or transaction, one commit): how many predictions it carried,
// how long it took, and its error, nil when it was written. It runs on the
// writing goroutine, with predictions waiting, so it must be quick.
type LogWriteObserver interface {
	ObserveLogWrite(predictions int, took time.Duration, err error)
}

// DB is mlapi's database. It is safe for concurrent use.
type DB struct {
	// rw takes every write. On SQLite it is a single connection, so writers
	// queue in the pool instead of failing with SQLITE_BUSY on the file lock.
	rw *bun.DB
	// ro takes reads: on PostgreSQL the same pool as rw, on SQLite a pool of
	// query-only connections that WAL lets read while the writer writes.
	ro      *bun.DB
	dialect string
	// logs writes the prediction log, concurrent predictions together.
	logs *logWriter
	// tracer traces the log's writes, nil when tracing is off;
	// traceSystem names the database in its spans.
	tracer      trace.Tracer
	traceSystem attribute.KeyValue
	// sqliteLog holds the SQLite log's prepared statements.
	sqliteLog sqliteStatements
	// pgConfig opens connections outside the pool, for PostgreSQL only.
	pgConfig *pgx.ConnConfig
	// attemptsPruneDue is when this process next prunes the attempt
	// counters, in Unix nanoseconds (attempts.go).
	attemptsPruneDue atomic.Int64
	// audit is the audit chain the log is appended to.
	audit *auditChain
	// replica takes the routed reads when Options.ReadURL is set; nil
	// otherwise.
	replica *replica
}

// Open connects to databaseURL and pings it. An empty URL means SQLite at
// DefaultSQLitePath; postgres:// and postgresql:// URLs mean PostgreSQL
// (through pgx); sqlite://PATH and file:PATH mean SQLite at PATH. Parent
// directories of a SQLite file are created, readable by the owner only
// (0700), and so is a new database file (0600) with its -wal and -shm files.
func Open(ctx context.Context, databaseURL string, opts Options) (*DB, error) {
	if path, ok := sqlitePath(databaseURL); ok {
		return openSQLite(ctx, path, opts)
	}
	switch {
	case strings.HasPrefix(databaseURL, "postgres://"), strings.HasPrefix(databaseURL, "postgresql://"):
		return openPostgres(ctx, databaseURL, opts)
	default:
		return nil, fmt.Errorf("unsupported database URL scheme %q: want postgres, postgresql, sqlite or file", scheme(databaseURL))
	}
}

// sqlitePath returns the file of the SQLite database databaseURL names, as
// Open reads it; ok is false for a URL of another database.
func sqlitePath(databaseURL string) (path string, ok bool) {
	switch {
	case databaseURL == "":
		return DefaultSQLitePath, true
	case strings.HasPrefix(databaseURL, "sqlite://"):
		return strings.TrimPrefix(databaseURL, "sqlite://"), true
	case strings.HasPrefix(databaseURL, "file:"):
		return strings.TrimPrefix(databaseURL, "file:"), true
	}
	return "", false
}

// SQLiteDir returns the directory of the SQLite database file databaseURL
// names, where state that belongs with the database (such as a generated
// token secret) can be kept, even before the database is opened; ok is
// false for PostgreSQL.
func SQLiteDir(databaseURL string) (dir string, ok bool) {
	path, ok := sqlitePath(databaseURL)
	if !ok || path == "" {
		return "", false
	}
	return filepath.Dir(path), true
}

// scheme returns the part of a URL before its first colon when that part is
// shaped like a scheme, and never anything else: the rest may hold a password.
func scheme(rawURL string) string {
	s, _, found := strings.Cut(rawURL, ":")
	if !found || s == "" {
		return ""
	}
	for i, r := range s {
		letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if !letter && (i == 0 || !(r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.')) {
			return ""
		}
	}
	return s
}

// Redact returns databaseURL fit for a log: a password, whether in the user
// information or in a password query parameter, becomes "xxxxx". What does
// not parse as a URL is withheld whole.
func Redact(databaseURL string) string {
	u, err := url.Parse(databaseURL)
	if err != nil || u.Scheme == "" {
		return "(unparsable database URL)"
	}
	if u.RawQuery != "" {
		q := u.Query()
		changed := false
		for key := range q {
			if strings.Contains(strings.ToLower(key), "password") {
				q.Set(key, "xxxxx")
				changed = true
			}
		}
		if changed {
			u.RawQuery = q.Encode()
		}
	}
	return u.Redacted()
}

func openPostgres(ctx context.Context, databaseURL string, opts Options) (*DB, error) {
	bdb, config, err := openPostgresPool(databaseURL, opts.MaxOpenConns)
	if err != nil {
		return nil, err
	}
	db := &DB{rw: bdb, ro: bdb, dialect: Postgres, pgConfig: config, audit: newAuditChain(auditKey(opts))}
	db.logs = newLogWriter(db.chained(db.writeLogsPostgres), opts.LogWrites)
	db.traceWith(opts.Traces, semconv.DBSystemNamePostgreSQL)
	if opts.ReadURL != "" {
		if db.replica, err = openReplica(db, opts); err != nil {
			return nil, errors.Join(err, db.Close())
		}
	}
	if err := db.Ping(ctx); err != nil {
		return nil, errors.Join(err, db.Close())
	}
	return db, nil
}

// openPostgresPool returns a pool of at most conns connections (zero: 16)
// to the PostgreSQL server at databaseURL, without connecting yet, and the
// configuration its connections are made with.
func openPostgresPool(databaseURL string, conns int) (*bun.DB, *pgx.ConnConfig, error) {
	config, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		// pgconn redacts the password from its own message.
		return nil, nil, fmt.Errorf("parse PostgreSQL URL: %w", err)
	}
	// bun sends every query with its arguments already quoted in. Under pgx's
	// default mode each distinct text would be prepared first, costing a
	// second round trip and churning the statement cache; the simple protocol
	// sends it in one message.
	config.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	// Every statement here reads or writes a few rows by an index, where
	// the planner's estimates can still pass jit_above_cost (the rollups'
	// LATERAL reads did), and compiling a plan takes longer than running it.
	// A URL that sets jit itself is obeyed.
	if _, set := config.RuntimeParams["jit"]; !set {
		config.RuntimeParams["jit"] = "off"
	}
	sqldb := stdlib.OpenDB(*config)
	if conns <= 0 {
		conns = defaultPostgresConns
	}
	sqldb.SetMaxOpenConns(conns)
	// Without this database/sql keeps two idle connections and reconnects
	// for every burst above that.
	sqldb.SetMaxIdleConns(conns)
	sqldb.SetConnMaxIdleTime(idleTimeout)
	return bun.NewDB(sqldb, pgdialect.New()), config, nil
}

func openSQLite(ctx context.Context, path string, opts Options) (*DB, error) {
	if opts.ReadURL != "" {
		return nil, errReplicaNeedsPostgres
	}
	if path == "" {
		return nil, errors.New("SQLite URL has no file path")
	}
	if strings.ContainsAny(path, "?#") {
		// The driver would read what follows as connection parameters.
		return nil, errors.New("SQLite file path must not contain '?' or '#'")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create the SQLite directory: %w", err)
	}
	if err := createPrivate(path); err != nil {
		return nil, err
	}
	// Pragmas in the DSN run on every new connection, which is the only way
	// foreign_keys (and so ON DELETE CASCADE) holds on all of them.
	dsn := path + "?_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)"

	// BEGIN IMMEDIATE takes the write lock up front, so a transaction never
	// fails to upgrade a read lock when another process writes too.
	writer, err := openSQLitePool(dsn+"&_txlock=immediate", 1)
	if err != nil {
		return nil, err
	}
	readers := opts.MaxOpenConns
	if readers <= 0 {
		readers = defaultSQLiteReaders
	}
	// query_only turns a write sent to the wrong pool into an error instead
	// of a lock fight with the writer.
	reader, err := openSQLitePool(dsn+"&_pragma=query_only(1)", readers)
	if err != nil {
		return nil, errors.Join(err, writer.Close())
	}
	db := &DB{rw: writer, ro: reader, dialect: SQLite, audit: newAuditChain(auditKey(opts))}
	db.logs = newLogWriter(db.chained(db.writeLogsSQLite), opts.LogWrites)
	db.traceWith(opts.Traces, semconv.DBSystemNameSQLite)
	if err := db.Ping(ctx); err != nil {
		return nil, errors.Join(err, db.Close())
	}
	return db, nil
}

// traceWith traces the log's writes with tp, if set, naming the database
// system in their spans.
func (db *DB) traceWith(tp trace.TracerProvider, system attribute.KeyValue) {
	if tp != nil {
		db.tracer, db.traceSystem = tp.Tracer("github.com/mlapi/mlapi/internal/store"), system
	}
}

// auditKey is opts's audit key, the empty one when none is set.
func auditKey(opts Options) audit.Key {
	if opts.AuditKey.ID() == "" {
		return audit.NewKey(nil)
	}
	return opts.AuditKey
}

// createPrivate creates the database file, empty and readable by the owner
// only (0600), when it does not exist yet: SQLite would create it 0644
// (less the umask), and it gives the -wal and -shm files it creates beside
// it the main file's mode. An existing file keeps the mode it has.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create the SQLite database file: %w", err)
	}
	return f.Close()
}

func openSQLitePool(dsn string, conns int) (*bun.DB, error) {
	sqldb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open SQLite: %w", err)
	}
	sqldb.SetMaxOpenConns(conns)
	sqldb.SetMaxIdleConns(conns)
	// A SQLite connection is a file handle and a page cache: keeping it
	// costs nothing and saves re-running the pragmas.
	sqldb.SetConnMaxIdleTime(0)
	return bun.NewDB(sqldb, sqlitedialect.New()), nil
}

// Dialect reports which database this is: Postgres or SQLite.
func (db *DB) Dialect() string { return db.dialect }

// Pool names, as PoolStats reports them.
const (
	// ReadWritePool takes every write, and on PostgreSQL every read too.
	ReadWritePool = "read_write"
	// ReadOnlyPool takes the reads, on SQLite only.
	ReadOnlyPool = "read_only"
	// ReplicaPool takes the routed reads, on a PostgreSQL replica.
	ReplicaPool = "replica"
)

// PoolStats is one connection pool's figures, under its name.
type PoolStats struct {
	Pool string
	sql.DBStats
}

// PoolStats returns the figures of every connection pool, for the metrics:
// one pool on PostgreSQL (two with a replica), the writer's and the readers' on SQLite.
func (db *DB) PoolStats() []PoolStats {
	pools := []PoolStats{{Pool: ReadWritePool, DBStats: db.rw.Stats()}}
	if db.ro != db.rw {
		pools = append(pools, PoolStats{Pool: ReadOnlyPool, DBStats: db.ro.Stats()})
	}
	if db.replica != nil {
		pools = append(pools, PoolStats{Pool: ReplicaPool, DBStats: db.replica.pool.Stats()})
	}
	return pools
}

// Ping checks that the database answers, for readiness probes.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.rw.PingContext(ctx); err != nil {
		return classify(fmt.Errorf("ping the database: %w", err))
	}
	if db.ro != db.rw {
		if err := db.ro.PingContext(ctx); err != nil {
			return classify(fmt.Errorf("ping the database's readers: %w", err))
		}
	}
	return nil
}

// Close closes every connection. Calls made after it fail as Unavailable.
// Predictions already queued for the log are written first, and answered,
// before the connections close.
func (db *DB) Close() error {
	db.logs.close()
	err := db.sqliteLog.close()
	if db.ro != db.rw {
		err = db.ro.Close()
	}
	if db.replica != nil {
		err = errors.Join(err, db.replica.pool.Close())
	}
	return errors.Join(err, db.rw.Close())
}
