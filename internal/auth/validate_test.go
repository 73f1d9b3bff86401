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
			continue
		}
		if apperr.CodeOf(err) != apperr.Invalid || got != "" {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want code %s", tt.in, got, err, apperr.Invalid)
		}
	}
}

func TestValidateNewPassword(t *testing.T) {
	t.Parallel()
	tests := []struct {
		password string
		want     string // part of the error message; "" for none
	}{
		{"correct horse battery", ""},
		{"hopper-1906", ""},
		{"short", "between 8 and 128"},
		{"password", "most commonly used"},
		{"PASSWORD", "most commonly used"},
		{"PassWord", "most commonly used"},
		{"12345678", "most commonly used"},
		{"iloveyou", "most commonly used"},
		{"Qwertyuiop", "most commonly used"},
		{"trustno1", "most commonly used"},
		{"password!", ""}, // not on the list: the match is exact, not a substring
	}
	for _, tt := range tests {
		err := ValidateNewPassword(tt.password)
		if tt.want == "" {
			if err != nil {
				t.Errorf("ValidateNewPassword(%q) = %v, want nil", tt.password, err)
			}
			continue
		}
		if apperr.CodeOf(err) != apperr.Invalid || !strings.Contains(apperr.MessageOf(err), tt.want) {
			t.Errorf("ValidateNewPassword(%q) = %v, want BAD_USER_INPUT saying %q", tt.password, err, tt.want)
		}
	}
	// Logging in checks the length only: an account made before the list
	// can still log in, and change its password.
	if err := ValidatePassword("password"); err != nil {
		t.Errorf("ValidatePassword(password) = %v, want nil", err)
	}
}

// The embedded list is what commonpasswords/README.md says it is.
func TestCommonPasswordList(t *testing.T) {
	t.Parallel()
	lines := strings.Split(strings.TrimSuffix(commonPasswordList, "\n"), "\n")
	if len(lines) != 10_000 || len(commonPasswords()) != 10_000 {
		t.Fatalf("%d lines, %d distinct passwords; want 10,000 of each", len(lines), len(commonPasswords()))
	}
	for i, p := range lines {
		if p != strings.ToLower(p) || ValidatePassword(p) != nil || strings.TrimSpace(p) != p {
			t.Fatalf("line %d %q: want a lower-case password the length rule accepts", i+1, p)
		}
	}
	if lines[0] != "password" {
		t.Errorf("first entry %q, want the most common, password", lines[0])
	}
	for _, p := range []string{"", "x", "correct horse battery staple"} {
		if IsCommonPassword(p) {
			t.Errorf("IsCommonPassword(%q) = true", p)
		}
	}
}
