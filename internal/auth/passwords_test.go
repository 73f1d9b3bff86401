package auth

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/mlapi/mlapi/internal/apperr"
)

// cheapParams keeps tests fast, above all under the race detector; the
// default params are exercised by one round trip and the benchmark.
func cheapParams() PasswordParams {
	return PasswordParams{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}
}

func mustHash(t testing.TB, p *Passwords, password string) string {
	t.Helper()
	h, err := p.Hash(context.Background(), password)
	if err != nil {
		t.Fatalf("Hash(%q): %v", password, err)
	}
	return h
}

func TestHashVerifyRoundTrip(t *testing.T) {
	t.Parallel()
	const password = "correct horse battery staple"
	p := newPasswords(t, PasswordConfig{Params: DefaultPasswordParams(), MaxConcurrent: 2})
	encoded := mustHash(t, p, password)

	fields := strings.Split(encoded, "$")
	if len(fields) != 6 || !strings.HasPrefix(encoded, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q is not a PHC argon2id string with the default params", encoded)
	}
	salt, err := base64.RawStdEncoding.DecodeString(fields[4])
	if err != nil || len(salt) != 16 {
		t.Errorf("salt %q: %d bytes, err %v; want 16 bytes of unpadded base64", fields[4], len(salt), err)
	}
	key, err := base64.RawStdEncoding.DecodeString(fields[5])
	if err != nil || len(key) != 32 {
		t.Errorf("key %q: %d bytes, err %v; want 32 bytes of unpadded base64", fields[5], len(key), err)
	}

	tests := []struct {
		name     string
		password string
		want     bool
	}{
		{"same password", password, true},
		{"wrong password", "correct horse battery stapler", false},
		{"other case", strings.ToUpper(password), false},
		{"prefix", password[:10], false},
		{"empty", "", false},
		{"oversized", strings.Repeat("a", maxPasswordBytes+1), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := p.Verify(context.Background(), encoded, tt.password)
			if err != nil || got != tt.want {
				t.Errorf("Verify = %v, %v; want %v, nil", got, err, tt.want)
			}
		})
	}
}

func TestHashSaltsDiffer(t *testing.T) {
	t.Parallel()
	p := newPasswords(t, PasswordConfig{Params: cheapParams(), MaxConcurrent: 1})
	a, b := mustHash(t, p, "same password"), mustHash(t, p, "same password")
	saltOf := func(h string) string { return strings.Split(h, "$")[4] }
	if a == b || saltOf(a) == saltOf(b) {
		t.Errorf("two hashes of one password share a salt:\n%s\n%s", a, b)
	}
}

func TestHashRejectsInvalidPassword(t *testing.T) {
	t.Parallel()
	p := newPasswords(t, PasswordConfig{Params: cheapParams(), MaxConcurrent: 1})
	for _, pw := range []string{"", "short", strings.Repeat("x", 129)} {
		if _, err := p.Hash(context.Background(), pw); apperr.CodeOf(err) != apperr.Invalid {
			t.Errorf("Hash(%d chars) error = %v, want code %s", len(pw), err, apperr.Invalid)
		}
	}
}

func TestVerifyHonoursEncodedParams(t *testing.T) {
	t.Parallel()
	const password = "another password"
	other := PasswordParams{MemoryKiB: 256, Iterations: 3, Parallelism: 2, SaltLen: 8, KeyLen: 16}
	byOther := mustHash(t, newPasswords(t, PasswordConfig{Params: other, MaxConcurrent: 1}), password)
	if !strings.HasPrefix(byOther, "$argon2id$v=19$m=256,t=3,p=2$") {
		t.Fatalf("hash %q does not carry its params", byOther)
	}
	// A hash written elsewhere, by the reference implementation directly.
	salt := []byte("0123456789abcdef")
	byHand := fmt.Sprintf("$argon2id$v=19$m=128,t=2,p=4$%s$%s",
		base64.RawStdEncoding.EncodeToString(salt),
		base64.RawStdEncoding.EncodeToString(argon2.IDKey([]byte(password), salt, 2, 128, 4, 24)))

	p := newPasswords(t, PasswordConfig{Params: cheapParams(), MaxConcurrent: 1}) // configured differently from both
	for _, encoded := range []string{byOther, byHand} {
		if ok, err := p.Verify(context.Background(), encoded, password); !ok || err != nil {
			t.Errorf("Verify(%s, right password) = %v, %v; want true, nil", encoded, ok, err)
		}
		if ok, err := p.Verify(context.Background(), encoded, "wrong password"); ok || err != nil {
			t.Errorf("Verify(%s, wrong password) = %v, %v; want false, nil", encoded, ok, err)
		}
	}
}

func TestVerifyRejectsMalformedHash(t *testing.T) {
	t.Parallel()
	const password = "the password"
	enc := base64.RawStdEncoding
	salt := []byte("sixteen byte slt")
	key := argon2.IDKey([]byte(password), salt, 1, 64, 1, 32)
	s, k := enc.EncodeToString(salt), enc.EncodeToString(key)
	build := func(head, params, salt, key string) string {
		return head + "$" + params + "$" + salt + "$" + key
	}
	const head, params = "$argon2id$v=19", "m=64,t=1,p=1"

	tests := []struct {
		name    string
		encoded string
		wantErr bool
	}{
		{"well formed control", build(head, params, s, k), false},
		{"empty", "", true},
		{"garbage", "not a hash", true},
		{"argon2i", build("$argon2i$v=19", params, s, k), true},
		{"old version", build("$argon2id$v=16", params, s, k), true},
		{"no version", "$argon2id$" + params + "$" + s + "$" + k, true},
		{"missing key", head + "$" + params + "$" + s, true},
		{"extra field", build(head, params, s, k) + "$x", true},
		{"trailing dollar", build(head, params, s, k) + "$", true},
		{"memory above 1 GiB", build(head, "m=1048577,t=1,p=1", s, k), true},
		{"memory overflows uint32", build(head, "m=4294967296,t=1,p=1", s, k), true},
		{"memory below 8 per lane", build(head, "m=15,t=1,p=2", s, k), true},
		{"zero iterations", build(head, "m=64,t=0,p=1", s, k), true},
		{"absurd iterations", build(head, "m=64,t=100000,p=1", s, k), true},
		{"zero lanes", build(head, "m=64,t=1,p=0", s, k), true},
		{"lanes above 255", build(head, "m=2048,t=1,p=256", s, k), true},
		{"params reordered", build(head, "t=1,m=64,p=1", s, k), true},
		{"param missing", build(head, "m=64,t=1", s, k), true},
		{"param extra", build(head, "m=64,t=1,p=1,x=2", s, k), true},
		{"param signed", build(head, "m=+64,t=1,p=1", s, k), true},
		{"param negative", build(head, "m=-64,t=1,p=1", s, k), true},
		{"param spaced", build(head, "m=64, t=1,p=1", s, k), true},
		{"param empty", build(head, "m=,t=1,p=1", s, k), true},
		{"salt not base64", build(head, params, "!!!!", k), true},
		{"salt padded", build(head, params, base64.StdEncoding.EncodeToString(salt), k), true},
		{"salt too short", build(head, params, enc.EncodeToString(salt[:4]), k), true},
		{"salt too long", build(head, params, enc.EncodeToString(make([]byte, 65)), k), true},
		{"key empty", build(head, params, s, ""), true},
		{"key too short", build(head, params, s, enc.EncodeToString(key[:8])), true},
		{"key too long", build(head, params, s, enc.EncodeToString(make([]byte, 65))), true},
		{"oversized", build(head, params, s, k) + strings.Repeat("A", maxEncodedHash), true},
	}
	p := newPasswords(t, PasswordConfig{Params: cheapParams(), MaxConcurrent: 1})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ok, err := p.Verify(context.Background(), tt.encoded, password)
			if tt.wantErr {
				if ok || err == nil || apperr.CodeOf(err) != apperr.Internal {
					t.Errorf("Verify(%q) = %v, %v; want false and an internal error", tt.encoded, ok, err)
				}
				return
			}
			if !ok || err != nil {
				t.Errorf("Verify(%q) = %v, %v; want true, nil", tt.encoded, ok, err)
			}
		})
	}
}

func TestConcurrencyBound(t *testing.T) {
	t.Parallel()
	const password = "a fine password"
	encoded := mustHash(t, newPasswords(t, PasswordConfig{Params: cheapParams(), MaxConcurrent: 1}), password)
	calls := []struct {
		name string
		call func(context.Context, *Passwords) error
	}{
		{"Hash", func(ctx context.Context, p *Passwords) error { _, err := p.Hash(ctx, password); return err }},
		{"Verify", func(ctx context.Context, p *Passwords) error { _, err := p.Verify(ctx, encoded, password); return err }},
		{"VerifyUnknownUser", func(ctx context.Context, p *Passwords) error { return p.VerifyUnknownUser(ctx, password) }},
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	waits := []struct {
		name    string
		ctx     func(t *testing.T) context.Context
		maxWait time.Duration
		cause   error // nil: the MaxWait timer fired
	}{
		{"cancelled context", func(*testing.T) context.Context { return cancelled }, time.Hour, context.Canceled},
		{"context deadline before MaxWait", func(t *testing.T) context.Context {
			ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
			t.Cleanup(cancel)
			return ctx
		}, time.Hour, context.DeadlineExceeded},
		{"MaxWait before context", func(*testing.T) context.Context { return context.Background() }, time.Millisecond, nil},
	}
	for _, c := range calls {
		for _, w := range waits {
			t.Run(c.name+"/"+w.name, func(t *testing.T) {
				t.Parallel()
				p := newPasswords(t, PasswordConfig{Params: cheapParams(), MaxConcurrent: 1, MaxWait: w.maxWait})
				p.slots <- struct{}{} // another login holds the only slot

				err := c.call(w.ctx(t), p)
				var ae *apperr.Error
				if !errors.As(err, &ae) || ae.Code != apperr.TooManyRequests ||
					ae.Message != "too many login attempts in progress, try again later" {
					t.Fatalf("error = %v, want TOO_MANY_REQUESTS asking to try again later", err)
				}
				if w.cause != nil && !errors.Is(err, w.cause) {
					t.Errorf("error = %v, want cause %v kept for the log", err, w.cause)
				}

				<-p.slots // the other login finishes
				if err := c.call(context.Background(), p); err != nil {
					t.Fatalf("with the slot free: %v", err)
				}
				if n := len(p.slots); n != 0 {
					t.Errorf("%d slots still held after the call returned", n)
				}
			})
		}
	}
}

func TestWaiterGetsReleasedSlot(t *testing.T) {
	t.Parallel()
	p := newPasswords(t, PasswordConfig{Params: cheapParams(), MaxConcurrent: 1, MaxWait: time.Hour})
	p.slots <- struct{}{}
	done := make(chan error, 1)
	go func() {
		_, err := p.Hash(context.Background(), "waiting password")
		done <- err
	}()
	<-p.slots
	if err := <-done; err != nil {
		t.Fatalf("waiting Hash: %v", err)
	}
}

func TestVerifyUnknownUser(t *testing.T) {
	t.Parallel()
	params := PasswordParams{MemoryKiB: 128, Iterations: 2, Parallelism: 1, SaltLen: 16, KeyLen: 32}
	p := newPasswords(t, PasswordConfig{Params: params, MaxConcurrent: 1})
	if p.dummy.params != params {
		t.Errorf("dummy hash params = %+v, want the configured %+v", p.dummy.params, params)
	}
	if _, err := parseHash(p.dummy.String()); err != nil {
		t.Errorf("dummy hash %q does not parse: %v", p.dummy.String(), err)
	}
	for _, pw := range []string{"", "some password", strings.Repeat("x", 200)} {
		if err := p.VerifyUnknownUser(context.Background(), pw); err != nil {
			t.Errorf("VerifyUnknownUser(%q) = %v, want nil", pw, err)
		}
	}
}

func TestNewPasswordsRefusesBadConfig(t *testing.T) {
	t.Parallel()
	cheap := cheapParams()
	bad := map[string]PasswordConfig{
		"no parallelism":    {Params: PasswordParams{MemoryKiB: 64, Iterations: 1, SaltLen: 16, KeyLen: 32}},
		"memory 2GiB":       {Params: PasswordParams{MemoryKiB: 2 << 20, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}},
		"short salt":        {Params: PasswordParams{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLen: 4, KeyLen: 32}},
		"short key":         {Params: PasswordParams{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 4}},
		"negative slots":    {Params: cheap, MaxConcurrent: -1},
		"negative max wait": {Params: cheap, MaxWait: -time.Second},
	}
	for name, cfg := range bad {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if _, err := NewPasswords(cfg); err == nil {
				t.Errorf("NewPasswords(%+v) accepted it", cfg)
			}
		})
	}
}

func TestNewPasswordsDefaults(t *testing.T) {
	t.Parallel()
	p, err := NewPasswords(PasswordConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if p.params != DefaultPasswordParams() || p.maxWait != defaultHashWait || cap(p.slots) != runtime.GOMAXPROCS(0) {
		t.Errorf("zero config gave params %+v, wait %v, %d slots", p.params, p.maxWait, cap(p.slots))
	}
}

func BenchmarkHash(b *testing.B) {
	p := newPasswords(b, PasswordConfig{Params: DefaultPasswordParams(), MaxConcurrent: 1})
	ctx := context.Background()
	for b.Loop() {
		if _, err := p.Hash(ctx, "benchmark password"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1e3/float64(b.N), "ms/op")
}

func newPasswords(t testing.TB, cfg PasswordConfig) *Passwords {
	t.Helper()
	p, err := NewPasswords(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
