package auth

import (
	"strings"
	"testing"

	"github.com/mlapi/mlapi/internal/apperr"
)

// checkValidation runs validate over inputs and wants nil for the valid
// ones and an apperr.Invalid for the others.
func checkValidation(t *testing.T, name string, validate func(string) error, inputs map[string]bool) {
	t.Helper()
	for in, valid := range inputs {
		err := validate(in)
		switch {
		case valid && err != nil:
			t.Errorf("%s(%q) = %v, want nil", name, in, err)
		case !valid && apperr.CodeOf(err) != apperr.Invalid:
			t.Errorf("%s(%q) = %v, want code %s", name, in, err, apperr.Invalid)
		}
	}
}

func TestValidatePassword(t *testing.T) {
	t.Parallel()
	checkValidation(t, "ValidatePassword", ValidatePassword, map[string]bool{
		"":                           false,
		"1234567":                    false,
		"12345678":                   true,
		"pässwörd":                   true, // 8 characters, 10 bytes
		"密码密码密码密码":                   true,
		"密码密码密码密":                    false,
		strings.Repeat("a", 128):     true,
		strings.Repeat("a", 129):     false,
		strings.Repeat("é", 128):     true, // 256 bytes
		strings.Repeat("😀", 128):     true, // 512 bytes, the cap
		strings.Repeat("😀", 129):     false,
		strings.Repeat("a", 100_000): false,
		"bad utf8 \xff\xfe":          false,
	})
	err := ValidatePassword("short")
	if msg := apperr.MessageOf(err); !strings.Contains(msg, "8") || !strings.Contains(msg, "128") {
		t.Errorf("message %q does not name the limits", msg)
	}
}

func TestValidateUsername(t *testing.T) {
	t.Parallel()
	checkValidation(t, "ValidateUsername", ValidateUsername, map[string]bool{
		"abc":                   true,
		"John.Doe_99-x":         true,
		strings.Repeat("a", 64): true,
		"ab":                    false,
		strings.Repeat("a", 65): false,
		"":                      false,
		"with space":            false,
		"ünïcode":               false,
		"a@b.c":                 false,
		"tab\tname":             false,
		"nul\x00name":           false,
	})
}

func TestNormalizeEmail(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"bob@example.com", "bob@example.com", true},
		{"  Bob.Smith+tag@Example.COM ", "bob.smith+tag@example.com", true},
		{"a@localhost", "a@localhost", true},
		{"", "", false},
		{"bob", "", false},
		{"@example.com", "", false},
		{"bob@", "", false},
		{"bob@@example.com", "", false},
		{"a@b@c", "", false},
		{"Bob <bob@example.com>", "", false},
		{"<bob@example.com>", "", false},
		{"bob@example.com (Bob)", "", false},
		{`"bob smith"@example.com`, "", false},
		{"bob@exa mple.com", "", false},
		{"bob@example.com\r\nBcc: eve@example.com", "", false},
		{strings.Repeat("a", 64) + "@" + strings.Repeat("b", 185) + ".com", strings.Repeat("a", 64) + "@" + strings.Repeat("b", 185) + ".com", true}, // 254 bytes
		{strings.Repeat("a", 64) + "@" + strings.Repeat("b", 186) + ".com", "", false},
	}
	for _, tt := range tests {
		got, err := NormalizeEmail(tt.in)
		if tt.ok {
			if err != nil || got != tt.want {
				t.Errorf("NormalizeEmail(%q) = %q, %v; want %q, nil", tt.in, got, err, tt.want)
			}
			if err := ValidateEmail(tt.in); err != nil {
				t.Errorf("ValidateEmail(%q) = %v, want nil", tt.in, err)
			}
			continue
		}
		if apperr.CodeOf(err) != apperr.Invalid || got != "" {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want code %s", tt.in, got, err, apperr.Invalid)
		}
		if apperr.CodeOf(ValidateEmail(tt.in)) != apperr.Invalid {
			t.Errorf("ValidateEmail(%q) accepted it", tt.in)
		}
	}
}
