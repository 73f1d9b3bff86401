package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/mlapi/mlapi/internal/apperr"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Errors a caller decides on. ErrUserNotFound covers a user who does not
// exist and one a query does not accept: disabled, or whose token a
// TokenCheck refused. Storage does not decide what that means for the
// caller's session; the account service does.
var (
	ErrUserNotFound     = apperr.New(apperr.NotFound, "user not found")
	ErrRequestNotFound  = apperr.New(apperr.NotFound, "request not found")
	ErrResponseNotFound = apperr.New(apperr.NotFound, "response not found")
)

// unavailableMessage is what a client is told when the database cannot serve
// it right now; the cause stays in the error for the log.
const unavailableMessage = "the database is unavailable, try again later"

// classify wraps err as apperr Unavailable when it says the database cannot
// be reached or did not answer in time, and returns it unchanged otherwise:
// application errors keep their code, and anything else ends up INTERNAL.
// Every method passes its errors through here, so the rule lives in one
// place.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var appErr *apperr.Error
	if errors.As(err, &appErr) {
		return err
	}
	if unavailable(err) {
		return apperr.Wrap(apperr.Unavailable, unavailableMessage, err)
	}
	return err
}

func unavailable(err error) bool {
	switch {
	// A slow database or an exhausted pool: the caller's deadline ran out
	// (network timeouts surface as os.ErrDeadlineExceeded instead), or the
	// caller gave up.
	case errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, os.ErrDeadlineExceeded),
		errors.Is(err, context.Canceled),
		pgconn.Timeout(err):
		return true
	// The connection broke or was never made.
	case errors.Is(err, driver.ErrBadConn),
		errors.Is(err, sql.ErrConnDone),
		errors.Is(err, pgconn.ErrConnClosed),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE):
		return true
	// database/sql does not export the error of a closed *sql.DB; its text
	// has not changed since Go 1.0.
	case strings.Contains(err.Error(), "sql: database is closed"):
		return true
	}

	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		return true
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return unavailablePgCode(pgErr.Code)
	}
	var sqliteErr *sqlite.Error
	if errors.As(err, &sqliteErr) {
		switch sqliteErr.Code() & 0xff { // the primary code of an extended one
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_CANTOPEN,
			sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL:
			return true
		}
	}
	return false
}

// unavailablePgCode reports the SQLSTATEs that mean "not now" rather than
// "wrong query": connection exceptions, insufficient resources (too many
// connections, disk full, out of memory), a statement timeout, and the
// server shutting down or starting up.
func unavailablePgCode(code string) bool {
	switch {
	case strings.HasPrefix(code, "08"), strings.HasPrefix(code, "53"):
		return true
	}
	switch code {
	case "57014", // query_canceled: statement_timeout fired
		"57P01", // admin_shutdown
		"57P02", // crash_shutdown
		"57P03": // cannot_connect_now
		return true
	}
	return false
}

// uniqueViolation reports whether err is a UNIQUE constraint firing.
func uniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505"
	}
	var sqliteErr *sqlite.Error
	if errors.As(err, &sqliteErr) {
		code := sqliteErr.Code()
		return code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}
