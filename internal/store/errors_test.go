package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/mlapi/mlapi/internal/apperr"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want apperr.Code
	}{
		{"deadline", context.DeadlineExceeded, apperr.Unavailable},
		{"network deadline", &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}, apperr.Unavailable},
		{"cancelled", context.Canceled, apperr.Unavailable},
		{"connection refused", &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, apperr.Unavailable},
		{"broken pipe", os.NewSyscallError("write", syscall.EPIPE), apperr.Unavailable},
		{"bad connection", driver.ErrBadConn, apperr.Unavailable},
		{"pgx connection closed", pgconn.ErrConnClosed, apperr.Unavailable},
		{"connection failure", &pgconn.PgError{Code: "08006"}, apperr.Unavailable},
		{"admin shutdown", &pgconn.PgError{Code: "57P01"}, apperr.Unavailable},
		{"crash shutdown", &pgconn.PgError{Code: "57P02"}, apperr.Unavailable},
		{"starting up", &pgconn.PgError{Code: "57P03"}, apperr.Unavailable},
		{"too many connections", &pgconn.PgError{Code: "53300"}, apperr.Unavailable},
		{"statement timeout", &pgconn.PgError{Code: "57014"}, apperr.Unavailable},
		{"unique violation", &pgconn.PgError{Code: "23505"}, apperr.Internal},
		{"syntax error", &pgconn.PgError{Code: "42601"}, apperr.Internal},
		{"anything else", errors.New("boom"), apperr.Internal},
		{"application error", apperr.New(apperr.NotFound, "user not found"), apperr.NotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := classify(fmt.Errorf("select user: %w", tt.err))
			if got := apperr.CodeOf(err); got != tt.want {
				t.Fatalf("classify(%v) has code %q, want %q", tt.err, got, tt.want)
			}
			if !errors.Is(err, tt.err) {
				t.Fatalf("classify lost the cause %v", tt.err)
			}
		})
	}
	if classify(nil) != nil {
		t.Fatal("classify(nil) != nil")
	}
}
