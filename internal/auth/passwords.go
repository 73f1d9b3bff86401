package auth

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/mlapi/mlapi/internal/apperr"
)

// PasswordParams are the argon2id cost parameters. They are written into every
// hash, so changing them affects new hashes only; old ones keep verifying.
type PasswordParams struct {
	MemoryKiB   uint32
	Iterations  uint32
	Parallelism uint8
	SaltLen     uint32
	KeyLen      uint32
}

// DefaultPasswordParams returns OWASP's minimum argon2id configuration
// (19 MiB, 2 passes, 1 lane) with a 16-byte salt and a 32-byte key.
func DefaultPasswordParams() PasswordParams {
	return PasswordParams{MemoryKiB: 19456, Iterations: 2, Parallelism: 1, SaltLen: 16, KeyLen: 32}
}

// Bounds on parameters, whether configured or read back from a stored hash.
// The upper bounds exist so that a tampered row cannot make one login
// allocate gigabytes or spin for minutes.
const (
	maxMemoryKiB    = 1 << 20 // 1 GiB
	maxIterations   = 32
	minSaltLen      = 8
	maxSaltLen      = 64
	minKeyLen       = 16
	maxKeyLen       = 64
	maxEncodedHash  = 512
	defaultHashWait = 2 * time.Second
	phcPrefix       = "$argon2id$v=19$"
)

func (p PasswordParams) check() error {
	switch {
	case p.Parallelism < 1:
		return errors.New("parallelism must be at least 1")
	case p.MemoryKiB < 8*uint32(p.Parallelism) || p.MemoryKiB > maxMemoryKiB:
		return fmt.Errorf("memory %d KiB outside [%d, %d]", p.MemoryKiB, 8*uint32(p.Parallelism), maxMemoryKiB)
	case p.Iterations < 1 || p.Iterations > maxIterations:
		return fmt.Errorf("iterations %d outside [1, %d]", p.Iterations, maxIterations)
	case p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen:
		return fmt.Errorf("salt length %d outside [%d, %d]", p.SaltLen, minSaltLen, maxSaltLen)
	case p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen:
		return fmt.Errorf("key length %d outside [%d, %d]", p.KeyLen, minKeyLen, maxKeyLen)
	}
	return nil
}

// PasswordConfig configures Passwords. Zero values take the defaults noted.
type PasswordConfig struct {
	// Params are the cost of new hashes; DefaultPasswordParams when zero.
	Params PasswordParams
	// MaxConcurrent bounds the argon2id computations running at once;
	// GOMAXPROCS when zero: more than one per CPU only adds memory, not
	// speed.
	MaxConcurrent int
	// MaxWait bounds how long a call waits for a hashing slot, on top of
	// its context's own deadline; 2 s when zero.
	MaxWait time.Duration
}

// Passwords hashes and verifies passwords with argon2id. It is safe for
// concurrent use. A call that cannot get a hashing slot in time fails with
// apperr.TooManyRequests instead of queueing without end. The slots bound
// how many argon2id calls run at once, because each holds MemoryKiB of
// memory.
type Passwords struct {
	params  PasswordParams
	maxWait time.Duration
	slots   chan struct{}
	dummy   parsedHash // a hash of a random password, for unknown users
}

// NewPasswords checks cfg and returns a hasher. It refuses parameters out of
// bounds and negative limits.
func NewPasswords(cfg PasswordConfig) (*Passwords, error) {
	params := cfg.Params
	if params == (PasswordParams{}) {
		params = DefaultPasswordParams()
	}
	if err := params.check(); err != nil {
		return nil, fmt.Errorf("auth: invalid password params: %w", err)
	}
	if cfg.MaxConcurrent < 0 || cfg.MaxWait < 0 {
		return nil, fmt.Errorf("auth: negative password hashing limits (%d slots, %v wait)", cfg.MaxConcurrent, cfg.MaxWait)
	}
	p := &Passwords{
		params:  params,
		maxWait: cmp.Or(cfg.MaxWait, defaultHashWait),
		slots:   make(chan struct{}, cmp.Or(cfg.MaxConcurrent, runtime.GOMAXPROCS(0))),
	}
	// The dummy is computed directly, not through the slots: construction
	// happens once at start-up, before any load.
	p.dummy = derive(params, randomBytes(params.SaltLen), rand.Text())
	return p, nil
}

// Hash returns the PHC-format argon2id hash of password, e.g.
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>. The password must satisfy
// ValidateNewPassword: only new passwords are hashed.
func (p *Passwords) Hash(ctx context.Context, password string) (string, error) {
	if err := ValidateNewPassword(password); err != nil {
		return "", err
	}
	release, err := p.acquire(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	return derive(p.params, randomBytes(p.params.SaltLen), password).String(), nil
}

// Verify reports whether password matches the encoded hash, using the
// parameters stored in the hash. A malformed or out-of-bounds hash is an
// internal error (the stored row is bad), never a panic. Like Hash, it fails
// with apperr.TooManyRequests when no hashing slot frees up in time.
func (p *Passwords) Verify(ctx context.Context, encoded, password string) (bool, error) {
	h, err := parseHash(encoded)
	if err != nil {
		return false, fmt.Errorf("auth: verify password: %w", err)
	}
	return p.verify(ctx, h, password)
}

// VerifyUnknownUser does the same work as a failed Verify, against a dummy
// hash made with this hasher's params. Call it when the username does not
// exist, so that the answer and its timing match a wrong password.
func (p *Passwords) VerifyUnknownUser(ctx context.Context, password string) error {
	_, err := p.verify(ctx, p.dummy, password)
	return err
}

func (p *Passwords) verify(ctx context.Context, h parsedHash, password string) (bool, error) {
	// Hash never stores a longer password, so no work is needed to say no;
	// skipping it also bounds the input argon2 has to digest.
	if len(password) > maxPasswordBytes {
		return false, nil
	}
	release, err := p.acquire(ctx)
	if err != nil {
		return false, err
	}
	defer release()
	got := derive(h.params, h.salt, password)
	return subtle.ConstantTimeCompare(got.key, h.key) == 1, nil
}

// acquire takes a hashing slot, waiting at most maxWait and only while ctx
// is live. The returned func gives the slot back.
func (p *Passwords) acquire(ctx context.Context) (func(), error) {
	release := func() { <-p.slots }
	select {
	case p.slots <- struct{}{}:
		return release, nil
	default:
	}
	wait := p.maxWait
	timer := time.NewTimer(wait)
	defer timer.Stop()
	var cause error
	select {
	case p.slots <- struct{}{}:
		return release, nil
	case <-ctx.Done():
		cause = ctx.Err()
	case <-timer.C:
		cause = fmt.Errorf("no hashing slot free after %v", wait)
	}
	return nil, apperr.Wrap(apperr.TooManyRequests, "too many login attempts in progress, try again later", cause)
}

type parsedHash struct {
	params    PasswordParams
	salt, key []byte
}

// derive runs argon2id: the one costly step behind both Hash and Verify.
func derive(params PasswordParams, salt []byte, password string) parsedHash {
	key := argon2.IDKey([]byte(password), salt, params.Iterations, params.MemoryKiB, params.Parallelism, params.KeyLen)
	return parsedHash{params: params, salt: salt, key: key}
}

// String encodes h in the PHC format that parseHash reads.
func (h parsedHash) String() string {
	enc := phcBase64()
	return fmt.Sprintf("%sm=%d,t=%d,p=%d$%s$%s", phcPrefix,
		h.params.MemoryKiB, h.params.Iterations, h.params.Parallelism,
		enc.EncodeToString(h.salt), enc.EncodeToString(h.key))
}

// phcBase64 is the PHC string format's base64: standard alphabet, no
// padding, and strict so that each salt and key has one spelling only.
func phcBase64() *base64.Encoding { return base64.RawStdEncoding.Strict() }

// parseHash reads a PHC argon2id string strictly: version 19 only, the
// parameters m, t, p in that order, unpadded standard base64, and every
// value within the bounds of PasswordParams.check.
func parseHash(encoded string) (parsedHash, error) {
	var h parsedHash
	if len(encoded) > maxEncodedHash {
		return h, fmt.Errorf("hash longer than %d bytes", maxEncodedHash)
	}
	rest, ok := strings.CutPrefix(encoded, phcPrefix)
	if !ok {
		return h, errors.New("not an argon2id v=19 hash")
	}
	fields := strings.Split(rest, "$")
	if len(fields) != 3 {
		return h, errors.New("want $params$salt$key after the version")
	}
	var err error
	if h.params, err = parseParams(fields[0]); err != nil {
		return h, err
	}
	enc := phcBase64()
	if h.salt, err = enc.DecodeString(fields[1]); err != nil {
		return h, fmt.Errorf("salt: %w", err)
	}
	if h.key, err = enc.DecodeString(fields[2]); err != nil {
		return h, fmt.Errorf("key: %w", err)
	}
	h.params.SaltLen, h.params.KeyLen = uint32(len(h.salt)), uint32(len(h.key))
	if err := h.params.check(); err != nil {
		return h, err
	}
	return h, nil
}

func parseParams(s string) (PasswordParams, error) {
	var p PasswordParams
	parts := strings.Split(s, ",")
	names := []string{"m", "t", "p"}
	if len(parts) != len(names) {
		return p, fmt.Errorf("want parameters m,t,p, got %q", s)
	}
	var vals [3]uint64
	for i, part := range parts {
		v, ok := strings.CutPrefix(part, names[i]+"=")
		if !ok {
			return p, fmt.Errorf("want parameter %s, got %q", names[i], part)
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return p, fmt.Errorf("parameter %s: %w", names[i], err)
		}
		vals[i] = n
	}
	if vals[2] > 255 {
		return p, fmt.Errorf("parallelism %d above 255", vals[2])
	}
	p.MemoryKiB, p.Iterations, p.Parallelism = uint32(vals[0]), uint32(vals[1]), uint8(vals[2])
	return p, nil
}

// randomBytes returns n bytes from crypto/rand, which never fails on the
// platforms Go supports (it crashes the program rather than return short).
func randomBytes(n uint32) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}
