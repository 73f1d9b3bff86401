package paging

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/mlapi/mlapi/internal/apperr"
)

func TestSize(t *testing.T) {
	t.Parallel()
	n := func(v int) *int { return &v }
	tests := []struct {
		name string
		n    *int
		want int
		code apperr.Code
	}{
		{"none", nil, DefaultSize, ""},
		{"one", n(1), 1, ""},
		{"the maximum", n(MaxSize), MaxSize, ""},
		{"zero", n(0), 0, apperr.Invalid},
		{"negative", n(-1), 0, apperr.Invalid},
		{"over the maximum", n(MaxSize + 1), 0, apperr.Invalid},
	}
	for _, tt := range tests {
		got, err := Size(tt.n, "first")
		if got != tt.want || apperr.CodeOf(err) != tt.code {
			t.Errorf("%s: %d, %v; want %d, code %q", tt.name, got, err, tt.want, tt.code)
		}
		if err != nil && apperr.MessageOf(err) != "first must be between 1 and 100" {
			t.Errorf("%s: message %q", tt.name, apperr.MessageOf(err))
		}
	}
}

func TestCursors(t *testing.T) {
	t.Parallel()
	ids := Cursors{Prefix: "req1:"}
	keyed := Cursors{Prefix: "usr1:", Keyed: true}
	raw := func(text string) string { return base64.RawURLEncoding.EncodeToString([]byte(text)) }
	tests := []struct {
		name    string
		cursors Cursors
		cursor  string
		id      int64
		key     string
		bad     bool
	}{
		{name: "an id", cursors: ids, cursor: ids.Encode(42, ""), id: 42},
		{name: "a large id", cursors: ids, cursor: ids.Encode(1<<40, ""), id: 1 << 40},
		{name: "the request format as it was", cursors: ids, cursor: raw("req1:7"), id: 7},
		{name: "a key", cursors: keyed, cursor: keyed.Encode(3, "ada"), id: 3, key: "ada"},
		{name: "a key holding the separator", cursors: keyed, cursor: keyed.Encode(3, "a:b"), id: 3, key: "a:b"},
		{name: "an empty key", cursors: keyed, cursor: keyed.Encode(3, ""), id: 3},
		{name: "a key where none belongs", cursors: ids, cursor: raw("req1:7:ada"), bad: true},
		{name: "no key where one belongs", cursors: keyed, cursor: raw("usr1:7"), bad: true},
		{name: "another list's", cursors: keyed, cursor: ids.Encode(7, ""), bad: true},
		{name: "not base64", cursors: ids, cursor: "not a cursor!", bad: true},
		{name: "JSON", cursors: ids, cursor: "eyJpZCI6MX0", bad: true},
		{name: "id zero", cursors: ids, cursor: raw("req1:0"), bad: true},
		{name: "negative id", cursors: keyed, cursor: raw("usr1:-1:ada"), bad: true},
		{name: "too long", cursors: keyed, cursor: keyed.Encode(1, strings.Repeat("a", maxCursor)), bad: true},
	}
	for _, tt := range tests {
		id, key, err := tt.cursors.Decode(tt.cursor, "after")
		if tt.bad {
			if apperr.CodeOf(err) != apperr.Invalid || apperr.MessageOf(err) != "after is not a cursor this API issued" {
				t.Errorf("%s: %d %q %v, want BAD_USER_INPUT naming after", tt.name, id, key, err)
			}
			continue
		}
		if err != nil || id != tt.id || key != tt.key {
			t.Errorf("%s: %d %q %v, want %d %q", tt.name, id, key, err, tt.id, tt.key)
		}
	}
}
