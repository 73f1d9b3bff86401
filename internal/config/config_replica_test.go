package config

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestParseReadReplica(t *testing.T) {
	t.Parallel()
	const primary, replica = "postgres://u:secret@db1/mlapi", "postgresql://u:secret@db2:5433/mlapi"
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		wantURL string
		wantLag time.Duration
		wantErr string
	}{
		{name: "none", wantLag: DefaultReadMaxLag},
		{name: "a replica of PostgreSQL", env: map[string]string{"DATABASE_URL": primary, "DATABASE_READ_URL": replica},
			wantURL: replica, wantLag: DefaultReadMaxLag},
		{name: "flags", args: []string{"--database-url", primary, "--database-read-url", replica, "--database-read-max-lag", "5s"},
			wantURL: replica, wantLag: 5 * time.Second},
		{name: "beside the default SQLite", env: map[string]string{"DATABASE_READ_URL": replica}, wantErr: "SQLite has no read replicas"},
		{name: "beside a SQLite file", env: map[string]string{"DATABASE_URL": "sqlite:///tmp/x.db", "DATABASE_READ_URL": replica}, wantErr: "SQLite has no read replicas"},
		{name: "not PostgreSQL", env: map[string]string{"DATABASE_URL": primary, "DATABASE_READ_URL": "mysql://u:secret@db2/mlapi"}, wantErr: "want a postgres://"},
		{name: "a lag under a second", env: map[string]string{"DATABASE_READ_MAX_LAG": "500ms"}, wantErr: "at least 1s"},
		{name: "a lag that is no duration", env: map[string]string{"DATABASE_READ_MAX_LAG": "soon"}, wantErr: "DATABASE_READ_MAX_LAG"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := Parse(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want one mentioning %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Fatalf("err %v shows a password", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.DatabaseReadURL != tt.wantURL || c.DatabaseReadMaxLag != tt.wantLag {
				t.Fatalf("read URL %q, max lag %s; want %q, %s", c.DatabaseReadURL, c.DatabaseReadMaxLag, tt.wantURL, tt.wantLag)
			}
		})
	}
}
