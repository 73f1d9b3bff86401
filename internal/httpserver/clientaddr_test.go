package httpserver

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/mlapi/mlapi/internal/auth"
)

func TestClientAddr(t *testing.T) {
	t.Parallel()
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8:ffff::/48")}
	tests := []struct {
		name    string
		trusted []netip.Prefix
		remote  string
		xff     []string // X-Forwarded-For values, one header line each
		want    string   // "" for none
	}{
		{name: "no proxy configured: the peer", remote: "192.0.2.1:4711", want: "192.0.2.1"},
		{name: "no proxy configured: X-Forwarded-For ignored", remote: "192.0.2.1:4711", xff: []string{"198.51.100.9"}, want: "192.0.2.1"},
		{name: "IPv6 peer", remote: "[2001:db8::1]:4711", want: "2001:db8::1"},
		{name: "IPv4-mapped peer", remote: "[::ffff:192.0.2.1]:4711", want: "192.0.2.1"},
		{name: "untrusted peer: its header is ignored", trusted: proxies, remote: "192.0.2.1:4711", xff: []string{"198.51.100.9"}, want: "192.0.2.1"},
		{name: "trusted peer: the address it reports", trusted: proxies, remote: "10.0.0.2:4711", xff: []string{"198.51.100.9"}, want: "198.51.100.9"},
		{name: "trusted peer without a header: the peer", trusted: proxies, remote: "10.0.0.2:4711", want: "10.0.0.2"},
		{
			name: "a spoofed left-most entry is not reached", trusted: proxies, remote: "10.0.0.2:4711",
			xff: []string{"203.0.113.66, 198.51.100.9"}, want: "198.51.100.9",
		},
		{
			name: "a chain of trusted proxies is skipped", trusted: proxies, remote: "10.0.0.2:4711",
			xff: []string{"203.0.113.66, 198.51.100.9, 10.1.1.1", "2001:db8:ffff::7"}, want: "198.51.100.9",
		},
		{name: "every hop trusted: the left-most", trusted: proxies, remote: "10.0.0.2:4711", xff: []string{"10.3.3.3, 10.1.1.1"}, want: "10.3.3.3"},
		{name: "entries with ports", trusted: proxies, remote: "10.0.0.2:4711", xff: []string{"[2001:db8::5]:1234, 10.1.1.1:80"}, want: "2001:db8::5"},
		{name: "garbage stops the walk at the last address read", trusted: proxies, remote: "10.0.0.2:4711", xff: []string{"198.51.100.9, unknown, 10.1.1.1"}, want: "10.1.1.1"},
		{name: "garbage right at the proxy", trusted: proxies, remote: "10.0.0.2:4711", xff: []string{"<script>"}, want: "10.0.0.2"},
		{
			name: "an overlong header is read only so far", trusted: proxies, remote: "10.0.0.2:4711",
			xff: []string{"198.51.100.9, " + strings.Repeat("10.1.1.1, ", 100)}, want: "10.1.1.1",
		},
		{name: "an unparsable peer: no address", remote: "pipe", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got string
			h := ClientAddr(tt.trusted)(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				if addr, ok := auth.ClientAddrFrom(r.Context()); ok {
					got = addr.String()
				}
			}))
			req := httptest.NewRequest(http.MethodPost, "/query", nil)
			req.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				req.Header.Add("X-Forwarded-For", v)
			}
			h.ServeHTTP(httptest.NewRecorder(), req)
			if got != tt.want {
				t.Errorf("client %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAccessLogNamesTheClient(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	h := Chain(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }),
		ClientAddr([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}), AccessLog(logger))
	req := httptest.NewRequest(http.MethodGet, "/healthz", nil)
	req.RemoteAddr = "127.0.0.1:5555"
	req.Header.Set("X-Forwarded-For", "198.51.100.9")
	h.ServeHTTP(httptest.NewRecorder(), req)
	for _, want := range []string{`"client":"198.51.100.9"`, `"remote":"127.0.0.1:5555"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log line lacks %s: %s", want, logs.String())
		}
	}
}
