package bounded

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		max  int
		want string
	}{
		{name: "fits", in: "hello", max: 5, want: "hello"},
		{name: "cut on bytes", in: "hello world", max: 5, want: "hello…(truncated, 11 bytes)"},
		{name: "cut on a character boundary", in: "héllo", max: 2, want: "h…(truncated, 6 bytes)"},
		{name: "control characters count escaped", in: strings.Repeat("\x01", 10), max: 12, want: "\x01\x01…(truncated, 10 bytes)"},
		{name: "quotes count escaped", in: `""""`, max: 4, want: `""…(truncated, 4 bytes)`},
		{name: "invalid UTF-8 counts escaped", in: "\xff\xff\xff", max: 6, want: "\xff…(truncated, 3 bytes)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Text(tt.in, tt.max); got != tt.want {
				t.Errorf("Text(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
			}
		})
	}
}

// TestSizeBoundsJSON: what Size says is never less than JSON's escaping.
func TestSizeBoundsJSON(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"plain", strings.Repeat("\x00\x1f\"\\", 50), "\u2028\u2029", "\xff\xfe", "<>&", "é"} {
		encoded, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(encoded) - 2; got > Size(s) {
			t.Errorf("%q escapes to %d bytes, Size says %d", s, got, Size(s))
		}
	}
}
