package config

import (
	"bytes"
	"errors"
	"flag"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseLimits(t *testing.T) {
	t.Parallel()
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
				if c.LoginRate != (Rate{60, time.Minute}) || c.RegisterRate != (Rate{20, time.Hour}) ||
					c.TrustedProxies != nil || c.HashWait != 500*time.Millisecond {
					t.Errorf("defaults: login %v register %v proxies %v hash wait %v", c.LoginRate, c.RegisterRate, c.TrustedProxies, c.HashWait)
				}
			},
		},
		{
			name: "environment",
			env: map[string]string{"LOGIN_RATE": "10/30s", "REGISTER_RATE": "5/h", "HASH_WAIT": "250ms",
				"TRUSTED_PROXIES": " 10.0.0.0/8, 192.0.2.7 ,2001:db8::/32,::ffff:198.51.100.0/120,"},
			check: func(t *testing.T, c Config) {
				if c.LoginRate != (Rate{10, 30 * time.Second}) || c.RegisterRate != (Rate{5, time.Hour}) || c.HashWait != 250*time.Millisecond {
					t.Errorf("login %v register %v hash wait %v", c.LoginRate, c.RegisterRate, c.HashWait)
				}
				want := []netip.Prefix{
					netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32"),
					netip.MustParsePrefix("2001:db8::/32"), netip.MustParsePrefix("198.51.100.0/24"),
				}
				if !slices.Equal(c.TrustedProxies, want) {
					t.Errorf("trusted proxies %v, want %v", c.TrustedProxies, want)
				}
			},
		},
		{
			name: "flags win, off turns a limit off, CIDRs are masked",
			args: []string{"--login-rate", "off", "--register-rate", "100/24h", "--trusted-proxies", "10.1.2.3/16"},
			env:  map[string]string{"LOGIN_RATE": "1/m"},
			check: func(t *testing.T, c Config) {
				if !c.LoginRate.Off() || c.RegisterRate != (Rate{100, 24 * time.Hour}) ||
					!slices.Equal(c.TrustedProxies, []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}) {
					t.Errorf("login %v register %v proxies %v", c.LoginRate, c.RegisterRate, c.TrustedProxies)
				}
			},
		},
		{name: "rate without a period", env: map[string]string{"LOGIN_RATE": "60"}, wantErr: "login rate"},
		{name: "negative count", env: map[string]string{"REGISTER_RATE": "-1/h"}, wantErr: "register rate"},
		{name: "period too short", env: map[string]string{"LOGIN_RATE": "60/1ms"}, wantErr: "between 1s and 24h"},
		{name: "period too long", env: map[string]string{"REGISTER_RATE": "60/48h"}, wantErr: "between 1s and 24h"},
		{name: "bad unit", env: map[string]string{"LOGIN_RATE": "60/fortnight"}, wantErr: "login rate"},
		{name: "host name as proxy", env: map[string]string{"TRUSTED_PROXIES": "proxy.internal"}, wantErr: "trusted proxies"},
		{name: "bad CIDR", env: map[string]string{"TRUSTED_PROXIES": "10.0.0.0/33"}, wantErr: "trusted proxies"},
		{name: "hash wait too long", args: []string{"--hash-wait", "1m"}, wantErr: "hash wait"},
		{name: "hash wait zero", env: map[string]string{"HASH_WAIT": "0s"}, wantErr: "hash wait"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := Parse(tt.args, func(k string) string { return tt.env[k] }, &bytes.Buffer{})
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

func TestRateRoundTrips(t *testing.T) {
	t.Parallel()
	for _, r := range []Rate{DefaultLoginRate, DefaultRegisterRate, {N: 3, Per: 90 * time.Second}, {}} {
		got, err := ParseRate(r.String())
		if err != nil || got != r {
			t.Errorf("ParseRate(%q) = %v, %v; want %v", r.String(), got, err, r)
		}
	}
}

func TestHelpListsLimitSettings(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if _, err := Parse([]string{"--help"}, func(string) string { return "" }, &out); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("err %v, want flag.ErrHelp", err)
	}
	for _, v := range []string{"LOGIN_RATE", "REGISTER_RATE", "TRUSTED_PROXIES", "HASH_WAIT"} {
		if !strings.Contains(out.String(), "$"+v) {
			t.Errorf("--help does not mention $%s", v)
		}
	}
}
