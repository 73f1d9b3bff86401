package config

import (
	"bytes"
	"errors"
	"flag"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	t.Parallel()
	env := func(vars map[string]string) func(string) string {
		return func(k string) string { return vars[k] }
	}
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		check   func(t *testing.T, c Config)
		wantErr string
	}{
		{
			name: "defaults",
			check: func(t *testing.T, c Config) {
				if c.Addr != ":8080" || c.DatabaseURL != "" || c.TokenTTL != time.Hour || !c.GraphiQL || !c.App || !c.Introspection ||
					c.CORSOrigins != nil || !c.PersistedQueries || c.TrustedDocuments != "" || !c.CompiledPredicts || c.DebugAddr != "" || c.MetricsAddr != "" ||
					!c.SeedCompat || c.SeedCompatRoot {
					t.Errorf("defaults: %+v", c)
				}
			},
		},
		{
			name: "environment",
			env:  map[string]string{"ADDR": ":9000", "DATABASE_URL": "postgres://x", "TOKEN_TTL": "15m", "GRAPHIQL": "false", "APP": "false", "JWT_SECRET": "s", "LOG_LEVEL": "debug"},
			check: func(t *testing.T, c Config) {
				if c.Addr != ":9000" || c.DatabaseURL != "postgres://x" || c.TokenTTL != 15*time.Minute || c.GraphiQL || c.App || c.JWTSecret != "s" || c.LogLevel.String() != "DEBUG" {
					t.Errorf("from the environment: %+v", c)
				}
			},
		},
		{
			name: "a flag wins over its variable",
			args: []string{"--addr", "127.0.0.1:1", "--introspection=false"},
			env:  map[string]string{"ADDR": ":9000"},
			check: func(t *testing.T, c Config) {
				if c.Addr != "127.0.0.1:1" || c.Introspection {
					t.Errorf("flags: %+v", c)
				}
			},
		},
		{
			name: "CORS origins, trimmed and lower-cased",
			env:  map[string]string{"CORS_ORIGINS": " https://App.example.com, http://127.0.0.1:5173 ,"},
			check: func(t *testing.T, c Config) {
				if want := []string{"https://app.example.com", "http://127.0.0.1:5173"}; !slices.Equal(c.CORSOrigins, want) {
					t.Errorf("CORS origins %q, want %q", c.CORSOrigins, want)
				}
			},
		},
		{
			name: "any origin, persisted queries off, trusted documents",
			args: []string{"--cors-origins", "*", "--persisted-queries=false", "--trusted-documents", "docs.json"},
			check: func(t *testing.T, c Config) {
				if !slices.Equal(c.CORSOrigins, []string{"*"}) || c.PersistedQueries || c.TrustedDocuments != "docs.json" {
					t.Errorf("flags: %+v", c)
				}
			},
		},
		{
			name: "debug address on loopback",
			env:  map[string]string{"DEBUG_ADDR": "127.0.0.1:6060"},
			check: func(t *testing.T, c Config) {
				if c.DebugAddr != "127.0.0.1:6060" {
					t.Errorf("debug address %q", c.DebugAddr)
				}
			},
		},
		{name: "debug address on IPv6 loopback", args: []string{"--debug-addr", "[::1]:0"}, check: func(t *testing.T, c Config) {
			if c.DebugAddr != "[::1]:0" {
				t.Errorf("debug address %q", c.DebugAddr)
			}
		}},
		{name: "metrics on any address apart from the API's", env: map[string]string{"METRICS_ADDR": ":9090"}, check: func(t *testing.T, c Config) {
			if c.MetricsAddr != ":9090" {
				t.Errorf("metrics address %q", c.MetricsAddr)
			}
		}},
		{name: "metrics on the API's port of another host", args: []string{"--addr", "127.0.0.1:8080", "--metrics-addr", "10.0.0.1:8080"},
			check: func(t *testing.T, c Config) {
				if c.MetricsAddr != "10.0.0.1:8080" {
					t.Errorf("metrics address %q", c.MetricsAddr)
				}
			}},
		{name: "metrics and API on free ports", args: []string{"--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0"},
			check: func(t *testing.T, c Config) {
				if c.MetricsAddr != "127.0.0.1:0" {
					t.Errorf("metrics address %q", c.MetricsAddr)
				}
			}},
		{name: "retention off by default", check: func(t *testing.T, c Config) {
			if c.Retention != 0 {
				t.Errorf("retention %v", c.Retention)
			}
		}},
		{name: "retention in days", env: map[string]string{"RETENTION": "365d"}, check: func(t *testing.T, c Config) {
			if c.Retention != 365*24*time.Hour {
				t.Errorf("retention %v", c.Retention)
			}
		}},
		{name: "retention as a duration, the flag winning", args: []string{"--retention", "36h"}, env: map[string]string{"RETENTION": "365d"},
			check: func(t *testing.T, c Config) {
				if c.Retention != 36*time.Hour {
					t.Errorf("retention %v", c.Retention)
				}
			}},
		{name: "retention off", env: map[string]string{"RETENTION": "off"}, check: func(t *testing.T, c Config) {
			if c.Retention != 0 {
				t.Errorf("retention %v", c.Retention)
			}
		}},
		{name: "retention under an hour", env: map[string]string{"RETENTION": "59m"}, wantErr: "at least an hour"},
		{name: "retention of no days", args: []string{"--retention", "0d"}, wantErr: "at least an hour"},
		{name: "retention in weeks", env: map[string]string{"RETENTION": "52w"}, wantErr: "retention"},
		{name: "retention of fractional days", env: map[string]string{"RETENTION": "1.5d"}, wantErr: "retention"},
		{name: "retention of negative days", env: map[string]string{"RETENTION": "-3d"}, wantErr: "retention"},
		{name: "retention of too many days", env: map[string]string{"RETENTION": "106752d"}, wantErr: "retention"},
		{name: "debug address on every interface", env: map[string]string{"DEBUG_ADDR": ":6060"}, wantErr: "loopback"},
		{name: "debug address on a public host", args: []string{"--debug-addr", "10.0.0.1:6060"}, wantErr: "loopback"},
		{name: "debug address without a port", args: []string{"--debug-addr", "127.0.0.1"}, wantErr: "debug address"},
		{name: "metrics on the API's address", env: map[string]string{"METRICS_ADDR": ":8080"}, wantErr: "metrics address"},
		{name: "metrics on the API's port, the API everywhere", args: []string{"--metrics-addr", "127.0.0.1:8080"}, wantErr: "metrics address"},
		{name: "metrics everywhere, on the API's port", args: []string{"--addr", "127.0.0.1:9000", "--metrics-addr", "0.0.0.0:9000"}, wantErr: "metrics address"},
		{name: "metrics on localhost, the API on loopback", args: []string{"--addr", "[::1]:9000", "--metrics-addr", "localhost:9000"}, wantErr: "metrics address"},
		{name: "metrics address without a port", env: map[string]string{"METRICS_ADDR": "127.0.0.1"}, wantErr: "metrics address"},
		{name: "origin with a path", env: map[string]string{"CORS_ORIGINS": "https://app.example.com/"}, wantErr: "CORS origin"},
		{name: "origin without a scheme", env: map[string]string{"CORS_ORIGINS": "app.example.com"}, wantErr: "CORS origin"},
		{name: "bad duration", env: map[string]string{"TOKEN_TTL": "soon"}, wantErr: "TOKEN_TTL"},
		{name: "TTL out of range", args: []string{"--token-ttl", "48h"}, wantErr: "token TTL"},
		{name: "bad level", args: []string{"--log-level", "loud"}, wantErr: "log level"},
		{name: "stray argument", args: []string{"extra"}, wantErr: "unexpected arguments"},
		{name: "seed root paths without the seed endpoints", env: map[string]string{"SEED_COMPAT": "false", "SEED_COMPAT_ROOT": "true"}, wantErr: "seed-compat-root needs seed-compat"},
		{name: "seed endpoints neither true nor false", env: map[string]string{"SEED_COMPAT": "maybe"}, wantErr: "SEED_COMPAT"},
		{
			name: "seed endpoints off",
			env:  map[string]string{"SEED_COMPAT": "false"},
			check: func(t *testing.T, c Config) {
				if c.SeedCompat || c.SeedCompatRoot {
					t.Errorf("SEED_COMPAT=false: %+v", c)
				}
			},
		},
		{
			name: "seed endpoints at the root too, by flag",
			args: []string{"--seed-compat-root"},
			check: func(t *testing.T, c Config) {
				if !c.SeedCompat || !c.SeedCompatRoot {
					t.Errorf("--seed-compat-root: %+v", c)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := Parse(tt.args, env(tt.env), &bytes.Buffer{})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

func TestHelpListsEverySetting(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	_, err := Parse([]string{"--help"}, func(string) string { return "" }, &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("err %v, want flag.ErrHelp", err)
	}
	for _, v := range []string{"ADDR", "DATABASE_URL", "MODEL_DIR", "JWT_SECRET", "TOKEN_TTL", "LOG_LEVEL", "GRAPHIQL", "INTROSPECTION", "CORS_ORIGINS", "PERSISTED_QUERIES", "TRUSTED_DOCUMENTS", "RETENTION", "METRICS_ADDR"} {
		if !strings.Contains(out.String(), "$"+v) {
			t.Errorf("--help does not mention $%s", v)
		}
	}
}
