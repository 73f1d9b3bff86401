package httpserver

import (
	"net/http"
	"net/netip"
	"strings"

	"github.com/mlapi/mlapi/internal/auth"
)

// maxForwardedHops bounds how much of X-Forwarded-For is read: a chain of
// proxies is a handful of hops, and the header is read from the right.
const maxForwardedHops = 32

// ClientAddr puts the address of the client a request came from into its
// context (auth.ClientAddrFrom), for the per-address limits and the access
// log. A request whose RemoteAddr is not an address gets none.
//
// The client is the peer, unless the peer is one of the trusted proxies.
// Then X-Forwarded-For is read from the right, each trusted proxy's hop is
// skipped, and the first address not in trusted is the client. Only the
// trusted proxies' own entries are believed: whatever a client wrote at the
// left of the header is never reached while an untrusted address stands to
// its right. When every address in the header is trusted, the left-most one
// is the client. When an entry is not an address, the last address read
// before it is.
func ClientAddr(trusted []netip.Prefix) Middleware {
	isTrusted := func(addr netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(addr) {
				return true
			}
		}
		return false
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			addr, ok := peerAddr(r.RemoteAddr)
			if !ok {
				next.ServeHTTP(w, r)
				return
			}
			if len(trusted) > 0 && isTrusted(addr) {
				addr = forwardedClient(r.Header.Values("X-Forwarded-For"), addr, isTrusted)
			}
			next.ServeHTTP(w, r.WithContext(auth.WithClientAddr(r.Context(), addr)))
		})
	}
}

// peerAddr reads the address of http.Request.RemoteAddr ("ip:port").
func peerAddr(remote string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	if addr, err := netip.ParseAddr(remote); err == nil {
		return addr.Unmap().WithZone(""), true
	}
	return netip.Addr{}, false
}

// forwardedClient walks the X-Forwarded-For values from the right, starting
// from the trusted peer, and returns the first untrusted address.
func forwardedClient(values []string, peer netip.Addr, isTrusted func(netip.Addr) bool) netip.Addr {
	client := peer
	hops := 0
	for i := len(values) - 1; i >= 0; i-- {
		entries := strings.Split(values[i], ",")
		for j := len(entries) - 1; j >= 0; j-- {
			entry := strings.TrimSpace(entries[j])
			if entry == "" {
				continue
			}
			if hops++; hops > maxForwardedHops {
				return client
			}
			addr, ok := forwardedAddr(entry)
			if !ok {
				return client
			}
			client = addr
			if !isTrusted(addr) {
				return client
			}
		}
	}
	return client
}

// forwardedAddr reads one X-Forwarded-For entry: an address, possibly with
// a port ("192.0.2.1:4711", "[2001:db8::1]:4711") as some proxies write.
func forwardedAddr(entry string) (netip.Addr, bool) {
	if addr, err := netip.ParseAddr(entry); err == nil && addr.Zone() == "" {
		return addr.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(entry); err == nil && ap.Addr().Zone() == "" {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}
