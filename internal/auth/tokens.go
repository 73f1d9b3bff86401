package auth

import (
	"cmp"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/mlapi/mlapi/internal/apperr"
	"github.com/mlapi/mlapi/internal/lru"
)

const (
	// MinSecretLen is the shortest HMAC secret NewTokens accepts: HS256
	// wants at least as many random bytes as its output.
	MinSecretLen = 32

	defaultTokenTTL = 60 * time.Minute
	// defaultTokenParty is both issuer and audience: mlapi signs tokens for
	// itself.
	defaultTokenParty = "mlapi"
	// tokenLeeway absorbs clock skew between machines, not stale tokens.
	tokenLeeway = 5 * time.Second
	// maxTokenLen is far above what Issue produces (about 300 bytes), and
	// lets Verify drop a junk header before decoding anything.
	maxTokenLen = 4096
	// maxTokenIDLen bounds the jti a token may carry: Issue writes 26
	// characters, and the id is a database key when the token is revoked.
	maxTokenIDLen = 64
	// invalidToken is the one message every rejection gets, so a client
	// cannot probe which check failed.
	invalidToken = "invalid or expired token"
)

// TokenConfig configures Tokens. Zero values take the defaults noted.
type TokenConfig struct {
	Secret   []byte           // HMAC key, at least MinSecretLen random bytes
	TTL      time.Duration    // token lifetime; 60 minutes when zero
	Issuer   string           // iss claim; "mlapi" when empty
	Audience string           // aud claim; "mlapi" when empty
	Now      func() time.Time // clock; time.Now when nil
}

// Claims is what a verified token says.
type Claims struct {
	UserID int64
	// ID is the token's own identifier (jti), random: logging out revokes
	// this one token by it.
	ID string
	// Generation is the user's token generation when it was issued (the gen
	// claim). Bumping the user's generation revokes every older token.
	Generation int64
	ExpiresAt  time.Time
	IssuedAt   time.Time
	notBefore  time.Time
}

// tokenClaims is the token's payload: the registered claims and gen.
type tokenClaims struct {
	jwt.RegisteredClaims
	Generation *int64 `json:"gen,omitempty"`
}

// Tokens issues and verifies HS256 access tokens. Safe for concurrent use.
type Tokens struct {
	secret   []byte
	ttl      time.Duration
	issuer   string
	audience string
	now      func() time.Time
	parser   *jwt.Parser
	// verified keeps the tokens that passed verify, by their exact text,
	// with the window in which they pass again: a client sends the same
	// token with every call, and checking its signature and decoding its
	// claims each time costs more than the prediction it asks for.
	verified *lru.Cache[verifiedToken]
}

// verifiedToken is a token that passed verify, and when it passes.
type verifiedToken struct {
	claims Claims
	// from and until bound the moments it passes, leeway included: from
	// its nbf and iat, until its exp.
	from, until time.Time
}

// Bounds of the verified tokens kept: thousands of clients' tokens, each a
// few hundred bytes.
const (
	verifiedCacheBytes = 4 << 20
	verifiedEntryBytes = maxTokenLen + 256
)

// NewTokens checks cfg and returns a token issuer. A secret that
// ValidateSecret refuses (shorter than MinSecretLen, a repeated character, a
// placeholder) is refused: golang-jwt would sign with any key, even an empty
// one, and the server must not start like that.
func NewTokens(cfg TokenConfig) (*Tokens, error) {
	if err := ValidateSecret(cfg.Secret); err != nil {
		return nil, err
	}
	if cfg.TTL < 0 {
		return nil, fmt.Errorf("auth: token TTL %v is negative", cfg.TTL)
	}
	t := &Tokens{
		secret:   append([]byte(nil), cfg.Secret...), // the caller may reuse its slice
		ttl:      cmp.Or(cfg.TTL, defaultTokenTTL),
		issuer:   cmp.Or(cfg.Issuer, defaultTokenParty),
		audience: cmp.Or(cfg.Audience, defaultTokenParty),
		now:      cfg.Now,
		verified: lru.New[verifiedToken](verifiedCacheBytes, verifiedEntryBytes),
	}
	if t.now == nil {
		t.now = time.Now
	}
	// golang-jwt accepts a missing aud, iss or nbf unless told otherwise, and
	// any algorithm the token names: pin everything.
	t.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithNotBeforeRequired(),
		jwt.WithIssuedAt(),
		jwt.WithIssuer(t.issuer),
		jwt.WithAudience(t.audience),
		jwt.WithLeeway(tokenLeeway),
		jwt.WithTimeFunc(t.now),
		jwt.WithStrictDecoding(),
	)
	return t, nil
}

// Issue returns a signed token for userID at the user's current token
// generation, and the moment it expires. Every token gets a random id (jti).
func (t *Tokens) Issue(userID, generation int64) (string, time.Time, error) {
	if userID <= 0 {
		return "", time.Time{}, fmt.Errorf("auth: issue token: user id %d is not positive", userID)
	}
	if generation < 0 {
		return "", time.Time{}, fmt.Errorf("auth: issue token: generation %d is negative", generation)
	}
	now := t.now()
	claims := tokenClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    t.issuer,
			Subject:   strconv.FormatInt(userID, 10),
			Audience:  jwt.ClaimStrings{t.audience},
			ExpiresAt: jwt.NewNumericDate(now.Add(t.ttl)),
			NotBefore: jwt.NewNumericDate(now),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        rand.Text(),
		},
		Generation: &generation,
	}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(t.secret)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("auth: sign token: %w", err)
	}
	return signed, claims.ExpiresAt.Time, nil
}

// Verify checks token's signature and claims. Any failure is an
// apperr.Unauthenticated error with the same message; the cause is wrapped
// for the log.
//
// A token that passed is kept, by its exact text, and passes again without
// the work while the clock is within its nbf, iat and exp (leeway
// included); revocation is not Verify's to check (see Claims).
func (t *Tokens) Verify(token string) (Claims, error) {
	now := t.now()
	if v, ok := t.verified.Get(token); ok && !now.Before(v.from) && now.Before(v.until) {
		return v.claims, nil
	}
	c, from, err := t.verify(token)
	if err != nil {
		return Claims{}, apperr.Wrap(apperr.Unauthenticated, invalidToken, err)
	}
	t.verified.Add(token, verifiedToken{claims: c, from: from, until: c.ExpiresAt.Add(tokenLeeway)}, len(token)+256)
	return c, nil
}

// verify checks token in full, and returns its claims and the moment from
// which it passes (its nbf and iat, less the leeway).
func (t *Tokens) verify(token string) (Claims, time.Time, error) {
	c, err := t.verifyClaims(token)
	if err != nil {
		return Claims{}, time.Time{}, err
	}
	from := c.IssuedAt
	if c.notBefore.After(from) {
		from = c.notBefore
	}
	return c, from.Add(-tokenLeeway), nil
}

func (t *Tokens) verifyClaims(token string) (Claims, error) {
	if token == "" {
		return Claims{}, errors.New("empty token")
	}
	if len(token) > maxTokenLen {
		return Claims{}, fmt.Errorf("token is %d bytes, limit %d", len(token), maxTokenLen)
	}
	var tc tokenClaims
	_, err := t.parser.ParseWithClaims(token, &tc, func(tok *jwt.Token) (any, error) {
		// WithValidMethods already pins the algorithm; this keeps the key
		// from ever reaching another method should that option be lost.
		if tok.Method != jwt.SigningMethodHS256 {
			return nil, fmt.Errorf("unexpected signing method %v", tok.Header["alg"])
		}
		return t.secret, nil
	})
	if err != nil {
		return Claims{}, err
	}
	rc := tc.RegisteredClaims
	// The parser checks iat and nbf only when present; we issue both, so a
	// token without them was not made here.
	if rc.IssuedAt == nil {
		return Claims{}, errors.New("token has no iat claim")
	}
	if rc.NotBefore == nil {
		return Claims{}, errors.New("token has no nbf claim")
	}
	id, err := strconv.ParseInt(rc.Subject, 10, 64)
	// Only the canonical spelling Issue writes: no sign, no leading zeros.
	if err != nil || id <= 0 || strconv.FormatInt(id, 10) != rc.Subject {
		return Claims{}, fmt.Errorf("sub %q is not a positive user id", rc.Subject)
	}
	// Tokens issued before revocation existed carry neither jti nor gen:
	// they cannot be revoked one by one, so they are not accepted.
	if rc.ID == "" || len(rc.ID) > maxTokenIDLen {
		return Claims{}, fmt.Errorf("jti of %d bytes, want 1 to %d", len(rc.ID), maxTokenIDLen)
	}
	if tc.Generation == nil || *tc.Generation < 0 {
		return Claims{}, errors.New("token has no gen claim, or a negative one")
	}
	return Claims{
		UserID: id, ID: rc.ID, Generation: *tc.Generation,
		ExpiresAt: rc.ExpiresAt.Time, IssuedAt: rc.IssuedAt.Time, notBefore: rc.NotBefore.Time,
	}, nil
}

// RevocationHorizon is the moment before which an expiry means a token can no
// longer pass Verify, leeway included: the record of a revoked token that
// expired earlier can be dropped.
func (t *Tokens) RevocationHorizon() time.Time {
	return t.now().Add(-tokenLeeway)
}

// BearerToken extracts the token from an Authorization header value. It
// accepts "Bearer <token>" with any case of the scheme, and a bare token as
// the clients of the service this one replaces send it. It refuses an empty
// or oversized token and any character outside RFC 6750's token68 set.
func BearerToken(header string) (string, bool) {
	if len(header) > len("Bearer ")+maxTokenLen {
		return "", false
	}
	token := strings.TrimSpace(header)
	if scheme, rest, found := strings.Cut(token, " "); found && strings.EqualFold(scheme, "Bearer") {
		token = strings.TrimLeft(rest, " ")
	}
	// A lone scheme is not a bare token called "Bearer".
	if token == "" || len(token) > maxTokenLen || strings.EqualFold(token, "Bearer") {
		return "", false
	}
	for i := 0; i < len(token); i++ {
		if !isToken68Byte(token[i]) {
			return "", false
		}
	}
	return token, true
}

func isToken68Byte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte("-._~+/=", c) >= 0
}
