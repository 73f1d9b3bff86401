package auth

import "context"

type tokenKey struct{}

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
