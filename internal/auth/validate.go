package auth

import (
	"net/mail"
	"strings"
	"unicode/utf8"

	"github.com/mlapi/mlapi/internal/apperr"
)

// Input limits. Passwords are counted in characters for people; the byte cap
// (128 four-byte characters) turns away a huge input before it is scanned,
// and bounds what argon2 digests.
const (
	minPasswordChars = 8
	maxPasswordChars = 128
	maxPasswordBytes = 512
	minUsernameLen   = 3
	maxUsernameLen   = 64
	maxEmailBytes    = 254
)

// ValidatePassword checks a new password's length: 8 to 128 characters, and
// at most 512 bytes of valid UTF-8.
func ValidatePassword(password string) error {
	const msg = "password must be between 8 and 128 characters long"
	if len(password) > maxPasswordBytes {
		return apperr.New(apperr.Invalid, msg)
	}
	if !utf8.ValidString(password) {
		return apperr.New(apperr.Invalid, "password must be valid UTF-8 text")
	}
	if n := utf8.RuneCountInString(password); n < minPasswordChars || n > maxPasswordChars {
		return apperr.New(apperr.Invalid, msg)
	}
	return nil
}

// ValidateNewPassword checks a password someone is choosing: the length rule
// of ValidatePassword, and not one of the 10,000 most common passwords in any
// letter case (see commonpasswords/README.md). Logging in checks only the
// length, so an account made before this rule can still log in and change
// its password.
func ValidateNewPassword(password string) error {
	if err := ValidatePassword(password); err != nil {
		return err
	}
	if IsCommonPassword(password) {
		return apperr.New(apperr.Invalid, "password is one of the most commonly used passwords: choose another")
	}
	return nil
}

// ValidateUsername checks a username: 3 to 64 ASCII letters, digits, '.', '_'
// or '-'. ASCII only, so that two names cannot look alike on screen.
func ValidateUsername(username string) error {
	const msg = "username must be 3 to 64 characters: letters, digits, '.', '_' or '-'"
	if len(username) < minUsernameLen || len(username) > maxUsernameLen {
		return apperr.New(apperr.Invalid, msg)
	}
	for i := 0; i < len(username); i++ {
		if !isUsernameByte(username[i]) {
			return apperr.New(apperr.Invalid, msg)
		}
	}
	return nil
}

func isUsernameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '.' || c == '_' || c == '-'
}

// NormalizeEmail validates a bare email address (no display name, no
// comments, no quoted local part) and returns it trimmed and lower-cased, the
// form to store and compare so that case variants are one address.
func NormalizeEmail(email string) (string, error) {
	const msg = "email must be a plain address like name@example.com, at most 254 characters"
	// Lower-case first: that can change the length of non-ASCII text, and
	// the limits apply to what is stored.
	email = strings.ToLower(strings.TrimSpace(email))
	if email == "" || len(email) > maxEmailBytes || strings.Count(email, "@") != 1 {
		return "", apperr.New(apperr.Invalid, msg)
	}
	local, domain, _ := strings.Cut(email, "@")
	if local == "" || domain == "" {
		return "", apperr.New(apperr.Invalid, msg)
	}
	addr, err := mail.ParseAddress(email)
	if err != nil {
		return "", apperr.Wrap(apperr.Invalid, msg, err)
	}
	// ParseAddress also accepts "Name <a@b>" and comments; a stored address
	// must be exactly what was parsed.
	if addr.Name != "" || addr.Address != email {
		return "", apperr.New(apperr.Invalid, msg)
	}
	return email, nil
}
