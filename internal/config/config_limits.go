package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Rate is at most N calls per Per; the zero Rate is no limit.
type Rate struct {
	N   int
	Per time.Duration
}

// The default per-address limits: enough for an office behind one NAT
// address, far too few to script account creation or password guessing.
var (
	DefaultLoginRate    = Rate{N: 60, Per: time.Minute}
	DefaultRegisterRate = Rate{N: 20, Per: time.Hour}
)

// Off reports whether r sets no limit.
func (r Rate) Off() bool { return r.N == 0 }

// String writes r as ParseRate reads it: "60/1m0s", or "off".
func (r Rate) String() string {
	if r.Off() {
		return "off"
	}
	return strconv.Itoa(r.N) + "/" + r.Per.String()
}

// maxRatePeriod bounds a rate's period: counters are kept for a period, so
// a longer one only costs memory.
const maxRatePeriod = 24 * time.Hour

// ParseRate reads "N/duration": a positive count and a Go duration of 1s to
// 24h ("60/1m", "20/1h"); a bare unit means one of it ("60/m", "20/h"). "off"
// (or "0") is no limit.
func ParseRate(s string) (Rate, error) {
	s = strings.TrimSpace(s)
	if s == "off" || s == "0" {
		return Rate{}, nil
	}
	count, period, ok := strings.Cut(s, "/")
	if !ok {
		return Rate{}, fmt.Errorf("%q: want N/duration, like 60/1m, or off", s)
	}
	n, err := strconv.Atoi(strings.TrimSpace(count))
	if err != nil || n < 1 {
		return Rate{}, fmt.Errorf("%q: the count must be a positive integer", s)
	}
	period = strings.TrimSpace(period)
	if period == "s" || period == "m" || period == "h" {
		period = "1" + period
	}
	per, err := time.ParseDuration(period)
	if err != nil {
		return Rate{}, fmt.Errorf("%q: %w", s, err)
	}
	if per < time.Second || per > maxRatePeriod {
		return Rate{}, fmt.Errorf("%q: the period must be between 1s and 24h", s)
	}
	return Rate{N: n, Per: per}, nil
}

// ParsePrefixes reads a comma-separated list of CIDRs ("10.0.0.0/8") or
// single addresses ("192.0.2.1", taken as /32 or /128). Prefixes are
// masked, and IPv4-mapped IPv6 addresses are read as IPv4.
func ParsePrefixes(list string) ([]netip.Prefix, error) {
	var prefixes []netip.Prefix
	var errs []error
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if strings.Contains(item, "/") {
			p, err := netip.ParsePrefix(item)
			if err != nil {
				errs = append(errs, fmt.Errorf("%q: want an address or a CIDR like 10.0.0.0/8", item))
				continue
			}
			if p.Addr().Is4In6() && p.Bits() >= 96 {
				p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
			}
			prefixes = append(prefixes, p.Masked())
			continue
		}
		addr, err := netip.ParseAddr(item)
		if err != nil || addr.Zone() != "" {
			errs = append(errs, fmt.Errorf("%q: want an address or a CIDR like 10.0.0.0/8", item))
			continue
		}
		addr = addr.Unmap()
		prefixes = append(prefixes, netip.PrefixFrom(addr, addr.BitLen()))
	}
	return prefixes, errors.Join(errs...)
}

// checkLoopback refuses an address to listen on whose host is not a
// loopback address ("127.0.0.1:6060", "[::1]:0", "localhost:6060"): an
// address like ":6060" would publish the profiles on every interface.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("address %q: %w", addr, err)
	}
	if strings.EqualFold(host, "localhost") {
		return nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.IsLoopback() {
		return fmt.Errorf("address %q: want a loopback host (127.0.0.1, [::1] or localhost), not one other machines can reach", addr)
	}
	return nil
}

// checkApart refuses an address to listen on that would be the API's,
// api: the same port on the same host, or on every interface for either.
// The metrics are served on an address of their own so that they are
// never public by accident where the API is. Port 0 takes a free port,
// which two listeners never share.
func checkApart(addr, api string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("address %q: %w", addr, err)
	}
	apiHost, apiPort, err := net.SplitHostPort(api)
	if err != nil || port != apiPort || port == "0" {
		// An API address that does not parse fails to listen, saying so.
		return nil
	}
	if sameHost(host, apiHost) {
		return fmt.Errorf("address %q: the API listens there (ADDR %q): give the metrics a port of their own", addr, api)
	}
	return nil
}

// sameHost reports whether two listeners on hosts a and b would take the
// same interface: either listens on every interface, both name one
// address, or one is localhost and the other a loopback address.
func sameHost(a, b string) bool {
	everywhere := func(h string) bool {
		ip, err := netip.ParseAddr(h)
		return h == "" || err == nil && ip.IsUnspecified()
	}
	if everywhere(a) || everywhere(b) || strings.EqualFold(a, b) {
		return true
	}
	ipA, errA := netip.ParseAddr(a)
	ipB, errB := netip.ParseAddr(b)
	switch {
	case errA == nil && errB == nil:
		return ipA.Unmap() == ipB.Unmap()
	case errA == nil:
		return ipA.IsLoopback() && strings.EqualFold(b, "localhost")
	case errB == nil:
		return ipB.IsLoopback() && strings.EqualFold(a, "localhost")
	}
	return false
}
