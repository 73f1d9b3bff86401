package auth

import (
	"context"
	"net/netip"
)

type clientAddrKey struct{}

// WithClientAddr returns a context carrying the address of the client a
// request came from: the peer's, or the one a trusted proxy reported.
func WithClientAddr(ctx context.Context, addr netip.Addr) context.Context {
	return context.WithValue(ctx, clientAddrKey{}, addr)
}

// ClientAddrFrom returns the client address carried by ctx, if any. Calls
// made outside an HTTP request (the command line, tests of a service) have
// none.
func ClientAddrFrom(ctx context.Context) (netip.Addr, bool) {
	addr, ok := ctx.Value(clientAddrKey{}).(netip.Addr)
	return addr, ok && addr.IsValid()
}

// ClientKey is the key under which a client address is limited: the address
// itself for IPv4, its /64 for IPv6, as one host is commonly given a whole
// /64 and would otherwise have 2^64 keys to spread its attempts over.
func ClientKey(addr netip.Addr) string {
	addr = addr.Unmap()
	if addr.Is6() {
		return netip.PrefixFrom(addr.WithZone(""), 64).Masked().String()
	}
	return addr.String()
}
