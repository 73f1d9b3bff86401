package auth

import "context"

type tokenKey struct{}

type malformedKey struct{}

// WithToken returns a context carrying the access token a request presented.
// The token is verified only when an operation needs the caller, so public
// operations never pay for it and a bad token fails only where it matters.
func WithToken(ctx context.Context, token string) context.Context {
	return context.WithValue(ctx, tokenKey{}, token)
}

// TokenFrom returns the access token carried by ctx, if any.
func TokenFrom(ctx context.Context) (string, bool) {
	token, ok := ctx.Value(tokenKey{}).(string)
	return token, ok && token != ""
}

// WithMalformedCredentials returns a context recording that the request's
// Authorization header could not be read, and why. Like a bad token, it
// fails only the operations that need a caller: a client with a stale or
// empty header can still log in, register or read the model.
func WithMalformedCredentials(ctx context.Context, reason string) context.Context {
	return context.WithValue(ctx, malformedKey{}, reason)
}

// MalformedCredentials reports why the request's Authorization header could
// not be read, if it could not.
func MalformedCredentials(ctx context.Context) (string, bool) {
	reason, ok := ctx.Value(malformedKey{}).(string)
	return reason, ok
}
