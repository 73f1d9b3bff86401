package config

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// DefaultReadMaxLag is DATABASE_READ_MAX_LAG's default.
const DefaultReadMaxLag = 30 * time.Second

// checkReadReplica refuses a read replica the server could not use: one
// that is not a PostgreSQL URL, or beside a SQLite database (which has no
// replicas: a URL there is a mistake, not a wish to be ignored).
func checkReadReplica(cfg Config) error {
	if cfg.DatabaseReadMaxLag < time.Second {
		return fmt.Errorf("read replica's max lag %s: want at least 1s", cfg.DatabaseReadMaxLag)
	}
	if cfg.DatabaseReadURL == "" {
		return nil
	}
	if !isPostgres(cfg.DatabaseReadURL) {
		// Never the URL itself: it may hold a password.
		return errors.New("DATABASE_READ_URL: want a postgres:// or postgresql:// URL")
	}
	if !isPostgres(cfg.DatabaseURL) {
		return errors.New("DATABASE_READ_URL needs PostgreSQL as DATABASE_URL: SQLite has no read replicas")
	}
	return nil
}

func isPostgres(databaseURL string) bool {
	return strings.HasPrefix(databaseURL, "postgres://") || strings.HasPrefix(databaseURL, "postgresql://")
}
