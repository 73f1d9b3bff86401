package auth

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"
)

func TestValidateSecret(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		secret string
		want   string // part of the error; "" for none
	}{
		{"openssl rand -hex 32", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", ""},
		{"openssl rand -base64 32", "q3Jd8bW0mZ+9sVt2yLcXo1eHr4nKf6uPiAgTzQ5wCx8=", ""},
		{"32 random letters", "t9Kq2vXw8LmZ4rBn6YcJ1hGs5DpF7aEu", ""},

		{"empty", "", "0 bytes"},
		{"31 bytes", "t9Kq2vXw8LmZ4rBn6YcJ1hGs5DpF7aE", "31 bytes"},
		{"one repeated character", strings.Repeat("a", 64), "repeats one character"},
		{"repeated zero byte", strings.Repeat("\x00", 32), "repeats one character"},
		{"repeated pair", strings.Repeat("ab", 20), "repeats a 2-character pattern"},
		{"changeme repeated", strings.Repeat("changeme", 4), "repeats a 8-character pattern"},
		{"repeated pattern cut short", strings.Repeat("x7Kp2", 7), "repeats a 5-character pattern"},
		{"digits in a row", "01234567890123456789012345678901234", "pattern"},
		{"hex digits twice", "0123456789abcdef0123456789abcdef", "pattern"},
		{"the alphabet", "abcdefghijklmnopqrstuvwxyz0123456789", "sequence"},
		{"the alphabet backwards", "zyxwvutsrqponmlkjihgfedcba9876543210", "sequence"},
		{"few distinct characters", "aaaabbbbaaaacccbbbbaaaaddddbbbbaaaacc", "fewer than 8 distinct"},
		{"jwt.io's example", "your-256-bit-secret-1234567890-xyz", `"your-256-bit-secret"`},
		{"secret in upper case", "MY-JWT-SECRET-FOR-PRODUCTION-2026!", `"secret"`},
		{"changeme padded", "changeme-please-7f3a9b2c1d4e5f60", `"changeme"`},
		{"an unexpanded command", "$(openssl rand -hex 32) $(openssl rand -hex 32)", `"$(openssl rand"`},
		{"password", "Password-for-jwt-signing-k3y-2026", `"password"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := ValidateSecret([]byte(tt.secret))
			if tt.want == "" {
				if err != nil {
					t.Fatalf("ValidateSecret: %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ValidateSecret = %v, want an error containing %s", err, tt.want)
			}
			if len(tt.secret) >= 8 && strings.Contains(err.Error(), tt.secret) {
				t.Errorf("error %q repeats the secret", err)
			}
		})
	}
}

// Secrets drawn as the README says to draw them always pass. A fixed count,
// not a time budget.
func TestValidateSecretAcceptsRandomSecrets(t *testing.T) {
	t.Parallel()
	for i := range 2000 {
		raw := make([]byte, 32)
		if _, err := rand.Read(raw); err != nil {
			t.Fatal(err)
		}
		for _, secret := range [][]byte{[]byte(hex.EncodeToString(raw)), raw} {
			if err := ValidateSecret(secret); err != nil {
				t.Fatalf("draw %d: random secret %x refused: %v", i, secret, err)
			}
		}
	}
}

func TestPeriod(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want int
	}{
		{"aaaa", 1}, {"abab", 2}, {"ababa", 2}, {"abcab", 3}, {"abcd", 4}, {"a", 1},
	}
	for _, tt := range tests {
		if got := period([]byte(tt.in)); got != tt.want {
			t.Errorf("period(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
	if got := period(bytes.Repeat([]byte{0}, 3)); got != 1 {
		t.Errorf("period of zero bytes = %d", got)
	}
}
