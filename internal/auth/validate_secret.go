package auth

import (
	"bytes"
	"fmt"
)

// placeholderSecrets are values seen standing in for a real secret: in
// documentation (jwt.io's "your-256-bit-secret"), in sample configuration,
// and in this project's README (an unexpanded $(openssl rand -hex 32) in an
// env file). A secret containing one, in any letter case, was typed by a
// person, not drawn at random.
var placeholderSecrets = []string{
	"your-256-bit-secret",
	"your_256_bit_secret",
	"$(openssl rand",
	"openssl rand -hex",
	"changeme",
	"change-me",
	"change_me",
	"change-this",
	"change_this",
	"changethis",
	"replaceme",
	"replace-me",
	"replace_me",
	"secret",
	"password",
	"passw0rd",
	"example",
	"placeholder",
	"default",
	"insecure",
	"qwerty",
	"letmein",
}

// ValidateSecret refuses a JWT secret that is too short or obviously not
// random: a repeated character or pattern ("aaaa...", "abcabc..."), a run of
// consecutive characters ("0123456789...", "abcdef..."), too few distinct
// bytes, or a known placeholder such as "changeme", "secret" or
// "your-256-bit-secret". The error describes the problem without repeating
// the secret.
//
// A secret from `openssl rand -hex 32` passes: every placeholder has a
// letter hex lacks, and the other rules refuse a random hex secret with
// odds far below one in a billion. One from `openssl rand -base64 32`
// contains a placeholder by chance about once in a million.
func ValidateSecret(secret []byte) error {
	if len(secret) < MinSecretLen {
		return fmt.Errorf("auth: JWT secret is %d bytes, want at least %d random bytes (e.g. openssl rand -hex 32)", len(secret), MinSecretLen)
	}
	const notRandom = "auth: JWT secret is not random: it %s; use e.g. openssl rand -hex 32"
	if p := period(secret); p <= len(secret)/2 {
		if p == 1 {
			return fmt.Errorf(notRandom, "repeats one character")
		}
		return fmt.Errorf(notRandom, fmt.Sprintf("repeats a %d-character pattern", p))
	}
	if distinct(secret) < 8 {
		return fmt.Errorf(notRandom, "has fewer than 8 distinct characters")
	}
	if steps := sequentialSteps(secret); 2*steps >= len(secret)-1 {
		return fmt.Errorf(notRandom, "is mostly a sequence of consecutive characters")
	}
	lower := bytes.ToLower(secret)
	for _, p := range placeholderSecrets {
		if bytes.Contains(lower, []byte(p)) {
			return fmt.Errorf(notRandom, fmt.Sprintf("contains the placeholder %q", p))
		}
	}
	return nil
}

// period returns the length of the shortest pattern whose repetition makes
// up b (the last repetition may be cut short); len(b) when there is none.
func period(b []byte) int {
	for p := 1; p < len(b); p++ {
		if bytes.Equal(b[p:], b[:len(b)-p]) {
			return p
		}
	}
	return len(b)
}

// distinct counts the different bytes in b.
func distinct(b []byte) int {
	var seen [256]bool
	n := 0
	for _, c := range b {
		if !seen[c] {
			seen[c] = true
			n++
		}
	}
	return n
}

// sequentialSteps counts the neighbours in b that are consecutive characters,
// up or down ("01", "ba"), and the hex and decimal wrap-arounds ("90", "f0").
func sequentialSteps(b []byte) int {
	n := 0
	for i := 1; i < len(b); i++ {
		d := int(b[i]) - int(b[i-1])
		wrap := (b[i-1] == '9' && b[i] == '0') || (b[i-1] == 'f' && b[i] == '0') || (b[i-1] == 'F' && b[i] == '0')
		if d == 1 || d == -1 || wrap {
			n++
		}
	}
	return n
}
