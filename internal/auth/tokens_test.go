package auth

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/mlapi/mlapi/internal/apperr"
)

const testUnix = 1_700_000_000

func testNow() time.Time { return time.Unix(testUnix, 0) }

// testSecret is 32 bytes that ValidateSecret accepts, fresh on each call.
func testSecret() []byte { return []byte("t9Kq2vXw8LmZ4rBn6YcJ1hGs5DpF7aEu") }

func newTestTokens(t testing.TB) *Tokens {
	t.Helper()
	tok, err := NewTokens(TokenConfig{Secret: testSecret(), Now: testNow})
	if err != nil {
		t.Fatalf("NewTokens: %v", err)
	}
	return tok
}

// validClaims are the claims Issue writes, as a map a test can spoil.
func validClaims() jwt.MapClaims {
	return jwt.MapClaims{
		"iss": "mlapi", "aud": "mlapi", "sub": "42", "jti": "test", "gen": 3,
		"exp": testUnix + 3600, "iat": testUnix, "nbf": testUnix,
	}
}

func sign(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatalf("sign %s: %v", method.Alg(), err)
	}
	return s
}

func TestVerifyToken(t *testing.T) {
	t.Parallel()
	with := func(edit func(jwt.MapClaims)) jwt.MapClaims {
		c := validClaims()
		edit(c)
		return c
	}
	hs256 := func(c jwt.MapClaims) func(*testing.T) string {
		return func(t *testing.T) string { return sign(t, jwt.SigningMethodHS256, testSecret(), c) }
	}
	literal := func(s string) func(*testing.T) string { return func(*testing.T) string { return s } }

	tests := []struct {
		name  string
		token func(*testing.T) string
		ok    bool
	}{
		{"valid", hs256(validClaims()), true},
		{"expired within leeway", hs256(with(func(c jwt.MapClaims) { c["exp"] = testUnix - 3 })), true},
		{"nbf within leeway", hs256(with(func(c jwt.MapClaims) { c["nbf"] = testUnix + 3 })), true},

		{"alg none", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, validClaims())
		}, false},
		{"same key as HS512", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS512, testSecret(), validClaims())
		}, false},
		{"same key as HS384", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS384, testSecret(), validClaims())
		}, false},
		{"other key", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, bytes.Repeat([]byte("o"), MinSecretLen), validClaims())
		}, false},
		{"tampered payload", func(t *testing.T) string {
			parts := strings.Split(sign(t, jwt.SigningMethodHS256, testSecret(), validClaims()), ".")
			payload, err := json.Marshal(with(func(c jwt.MapClaims) { c["sub"] = "1" }))
			if err != nil {
				t.Fatal(err)
			}
			parts[1] = base64.RawURLEncoding.EncodeToString(payload)
			return strings.Join(parts, ".")
		}, false},
		{"signature stripped", func(t *testing.T) string {
			s := sign(t, jwt.SigningMethodHS256, testSecret(), validClaims())
			return s[:strings.LastIndexByte(s, '.')+1]
		}, false},
		{"garbage a.b.c", literal("a.b.c"), false},
		{"two segments", literal("a.b"), false},
		{"empty", literal(""), false},
		{"oversized but validly signed", hs256(with(func(c jwt.MapClaims) { c["pad"] = strings.Repeat("x", maxTokenLen) })), false},

		{"no exp", hs256(with(func(c jwt.MapClaims) { delete(c, "exp") })), false},
		{"expired", hs256(with(func(c jwt.MapClaims) { c["exp"] = testUnix - 60 })), false},
		{"exp not a number", hs256(with(func(c jwt.MapClaims) { c["exp"] = "later" })), false},
		{"nbf in the future", hs256(with(func(c jwt.MapClaims) { c["nbf"] = testUnix + 60 })), false},
		{"no nbf", hs256(with(func(c jwt.MapClaims) { delete(c, "nbf") })), false},
		{"iat in the future", hs256(with(func(c jwt.MapClaims) { c["iat"] = testUnix + 60 })), false},
		{"no iat", hs256(with(func(c jwt.MapClaims) { delete(c, "iat") })), false},
		{"wrong aud", hs256(with(func(c jwt.MapClaims) { c["aud"] = "other" })), false},
		{"wrong aud list", hs256(with(func(c jwt.MapClaims) { c["aud"] = []string{"a", "b"} })), false},
		{"no aud", hs256(with(func(c jwt.MapClaims) { delete(c, "aud") })), false},
		{"wrong iss", hs256(with(func(c jwt.MapClaims) { c["iss"] = "other" })), false},
		{"no iss", hs256(with(func(c jwt.MapClaims) { delete(c, "iss") })), false},
		{"no sub", hs256(with(func(c jwt.MapClaims) { delete(c, "sub") })), false},
		{"sub not numeric", hs256(with(func(c jwt.MapClaims) { c["sub"] = "admin" })), false},
		{"sub a JSON number", hs256(with(func(c jwt.MapClaims) { c["sub"] = 42 })), false},
		{"sub zero", hs256(with(func(c jwt.MapClaims) { c["sub"] = "0" })), false},
		{"sub negative", hs256(with(func(c jwt.MapClaims) { c["sub"] = "-42" })), false},
		{"sub with plus sign", hs256(with(func(c jwt.MapClaims) { c["sub"] = "+42" })), false},
		{"sub with leading zero", hs256(with(func(c jwt.MapClaims) { c["sub"] = "042" })), false},
		{"sub overflows int64", hs256(with(func(c jwt.MapClaims) { c["sub"] = "9223372036854775808" })), false},

		{"no jti", hs256(with(func(c jwt.MapClaims) { delete(c, "jti") })), false},
		{"empty jti", hs256(with(func(c jwt.MapClaims) { c["jti"] = "" })), false},
		{"oversized jti", hs256(with(func(c jwt.MapClaims) { c["jti"] = strings.Repeat("j", maxTokenIDLen+1) })), false},
		{"no gen", hs256(with(func(c jwt.MapClaims) { delete(c, "gen") })), false},
		{"negative gen", hs256(with(func(c jwt.MapClaims) { c["gen"] = -1 })), false},
		{"gen a string", hs256(with(func(c jwt.MapClaims) { c["gen"] = "3" })), false},
		{"gen a fraction", hs256(with(func(c jwt.MapClaims) { c["gen"] = 1.5 })), false},
	}
	tok := newTestTokens(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			token := tt.token(t)
			claims, err := tok.Verify(token)
			if tt.ok {
				if err != nil || claims.UserID != 42 || claims.ID != "test" || claims.Generation != 3 ||
					!claims.IssuedAt.Equal(testNow()) || claims.ExpiresAt.IsZero() {
					t.Fatalf("Verify = %+v, %v; want user 42, jti test, gen 3, issued at %v, nil", claims, err, testNow())
				}
				return
			}
			assertInvalidToken(t, claims, err)
		})
	}
}

func assertInvalidToken(t *testing.T, claims Claims, err error) {
	t.Helper()
	var ae *apperr.Error
	if !errors.As(err, &ae) || ae.Code != apperr.Unauthenticated || ae.Message != "invalid or expired token" {
		t.Fatalf("Verify error = %v, want UNAUTHENTICATED \"invalid or expired token\"", err)
	}
	if ae.Err == nil {
		t.Errorf("the cause of %v is not kept for the log", err)
	}
	if claims != (Claims{}) {
		t.Errorf("rejected token still yields claims %+v", claims)
	}
}

func TestIssueVerifyRoundTrip(t *testing.T) {
	t.Parallel()
	clock := testNow()
	tok, err := NewTokens(TokenConfig{Secret: testSecret(), Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	token, exp, err := tok.Issue(7, 5)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	if want := testNow().Add(60 * time.Minute); !exp.Equal(want) {
		t.Errorf("expiresAt = %v, want the default 60 minutes later, %v", exp, want)
	}
	claims, err := tok.Verify(token)
	if err != nil {
		t.Fatalf("Verify(issued token): %v", err)
	}
	if want := (Claims{UserID: 7, Generation: 5, ExpiresAt: exp, IssuedAt: testNow()}); !claims.ExpiresAt.Equal(want.ExpiresAt) ||
		!claims.IssuedAt.Equal(want.IssuedAt) || claims.UserID != want.UserID || claims.Generation != want.Generation || claims.ID == "" {
		t.Errorf("claims = %+v, want %+v and a jti", claims, want)
	}

	// What is on the wire, read without trusting it.
	var raw jwt.MapClaims
	parsed, _, err := jwt.NewParser().ParseUnverified(token, &raw)
	if err != nil {
		t.Fatal(err)
	}
	if parsed.Method.Alg() != "HS256" {
		t.Errorf("alg = %s, want HS256", parsed.Method.Alg())
	}
	for _, name := range []string{"exp", "iat", "nbf", "iss", "aud", "sub", "jti", "gen"} {
		if _, ok := raw[name]; !ok {
			t.Errorf("issued token lacks claim %q: %v", name, raw)
		}
	}
	if raw["sub"] != "7" {
		t.Errorf("sub = %v, want \"7\"", raw["sub"])
	}

	other, _, err := tok.Issue(7, 5)
	if err != nil {
		t.Fatal(err)
	}
	if other == token {
		t.Error("two tokens issued in the same second are identical: jti is not random")
	}
	if otherClaims, err := tok.Verify(other); err != nil || otherClaims.ID == claims.ID {
		t.Errorf("second token: %+v, %v; want another jti than %q", otherClaims, err, claims.ID)
	}
	// A revocation record may go once the token it revokes cannot pass
	// Verify any more, leeway included.
	if got, want := tok.RevocationHorizon(), testNow().Add(-tokenLeeway); !got.Equal(want) {
		t.Errorf("RevocationHorizon = %v, want %v", got, want)
	}

	clock = exp.Add(tokenLeeway + time.Second)
	_, err = tok.Verify(token)
	assertInvalidToken(t, Claims{}, err)
}

func TestTokensConfig(t *testing.T) {
	t.Parallel()
	secret := testSecret()
	tok, err := NewTokens(TokenConfig{Secret: secret, Now: testNow, TTL: time.Minute, Issuer: "me", Audience: "you"})
	if err != nil {
		t.Fatal(err)
	}
	secret[0] ^= 0xff // the caller reusing its buffer must not change the key
	token, exp, err := tok.Issue(1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !exp.Equal(testNow().Add(time.Minute)) {
		t.Errorf("expiresAt = %v, want TTL of one minute", exp)
	}
	if _, err := tok.Verify(token); err != nil {
		t.Errorf("Verify with custom issuer and audience: %v", err)
	}
	// The default-configured issuer expects iss and aud "mlapi".
	_, err = newTestTokens(t).Verify(token)
	assertInvalidToken(t, Claims{}, err)
	// Signed with the original key, outside tok: verifies only if tok kept
	// its own copy of the secret.
	c := validClaims()
	c["iss"], c["aud"] = "me", "you"
	if _, err := tok.Verify(sign(t, jwt.SigningMethodHS256, testSecret(), c)); err != nil {
		t.Errorf("Verify after the caller changed its secret buffer: %v", err)
	}
}

func TestNewTokensRefusesBadConfig(t *testing.T) {
	t.Parallel()
	tests := map[string]TokenConfig{
		"nil secret":   {},
		"empty secret": {Secret: []byte{}},
		"31 bytes":     {Secret: testSecret()[:MinSecretLen-1]},
		"repeated":     {Secret: bytes.Repeat([]byte("k"), MinSecretLen)},
		"placeholder":  {Secret: []byte("your-256-bit-secret-for-the-mlapi")},
		"negative TTL": {Secret: testSecret(), TTL: -time.Minute},
	}
	for name, cfg := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if tok, err := NewTokens(cfg); err == nil || tok != nil {
				t.Errorf("NewTokens = %v, %v; want an error", tok, err)
			}
		})
	}
	if _, err := NewTokens(TokenConfig{Secret: testSecret()}); err != nil {
		t.Errorf("NewTokens with a %d-byte secret: %v", MinSecretLen, err)
	}
}

func TestIssueRefusesNonPositiveUser(t *testing.T) {
	t.Parallel()
	tok := newTestTokens(t)
	for _, id := range []int64{0, -1} {
		if _, _, err := tok.Issue(id, 0); err == nil {
			t.Errorf("Issue(%d) succeeded", id)
		}
	}
	if _, _, err := tok.Issue(1, -1); err == nil {
		t.Error("Issue with a negative generation succeeded")
	}
}

func TestBearerToken(t *testing.T) {
	t.Parallel()
	const jwtLike = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiJ9.c2ln-_"
	tests := []struct {
		header string
		want   string
		ok     bool
	}{
		{"Bearer " + jwtLike, jwtLike, true},
		{"bearer " + jwtLike, jwtLike, true},
		{"BEARER   " + jwtLike, jwtLike, true},
		{" Bearer " + jwtLike + " ", jwtLike, true},
		{jwtLike, jwtLike, true}, // bare, as the old clients send it
		{"", "", false},
		{"   ", "", false},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"Basic dXNlcjpwYXNz", "", false},
		{"Bearer a b", "", false},
		{"Bearer a\tb", "", false},
		{"Bearer " + jwtLike + "\x00", "", false},
		{"Bearer tökén", "", false},
		{"Bearer " + strings.Repeat("a", maxTokenLen+1), "", false},
		{strings.Repeat("a", 100_000), "", false},
	}
	for _, tt := range tests {
		got, ok := BearerToken(tt.header)
		if got != tt.want || ok != tt.ok {
			short := tt.header
			if len(short) > 40 {
				short = short[:40] + "..."
			}
			t.Errorf("BearerToken(%q) = %q, %v; want %q, %v", short, got, ok, tt.want, tt.ok)
		}
	}
}

func BenchmarkVerifyToken(b *testing.B) {
	tok := newTestTokens(b)
	token, _, err := tok.Issue(42, 0)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := tok.Verify(token); err != nil {
			b.Fatal(err)
		}
	}
}

// TestVerifyRemembersOnlyWhatItChecked verifies a token once, so that it is
// kept, then at moments around its validity window: the kept token must
// pass and fail exactly when a full check (a Tokens that has never seen it)
// does, and a token differing by one character must never pass.
func TestVerifyRemembersOnlyWhatItChecked(t *testing.T) {
	t.Parallel()
	issued := testNow()
	clock := issued
	now := func() time.Time { return clock }
	tok, err := NewTokens(TokenConfig{Secret: testSecret(), Now: now, TTL: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	token, exp, err := tok.Issue(7, 5)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tok.Verify(token); err != nil {
		t.Fatalf("Verify at issue: %v", err)
	}
	// A character inside the signature, whose every bit counts.
	i := len(token) - 10
	tampered := token[:i] + string("AB"[boolIndex(token[i] == 'A')]) + token[i+1:]
	tests := []struct {
		name string
		at   time.Time
		want bool
	}{
		{"halfway", issued.Add(5 * time.Minute), true},
		{"at expiry, within the leeway", exp.Add(tokenLeeway - time.Second), true},
		{"past expiry and leeway", exp.Add(tokenLeeway + time.Second), false},
		{"before issue, within the leeway", issued.Add(-tokenLeeway + time.Second), true},
		{"before issue, past the leeway", issued.Add(-tokenLeeway - time.Second), false},
	}
	for _, tt := range tests {
		clock = tt.at
		fresh, err := NewTokens(TokenConfig{Secret: testSecret(), Now: now, TTL: 10 * time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		_, full := fresh.Verify(token)
		claims, kept := tok.Verify(token)
		if (kept == nil) != tt.want || (full == nil) != tt.want {
			t.Errorf("%s: kept token err %v, full check err %v; want passing %v", tt.name, kept, full, tt.want)
		}
		if kept == nil && (claims.UserID != 7 || claims.Generation != 5 || !claims.ExpiresAt.Equal(exp)) {
			t.Errorf("%s: kept claims %+v", tt.name, claims)
		}
		if _, err := tok.Verify(tampered); err == nil {
			t.Errorf("%s: a token with its last character changed passed", tt.name)
		}
	}
}

func boolIndex(b bool) int {
	if b {
		return 1
	}
	return 0
}
