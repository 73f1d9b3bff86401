// Package bounded cuts text that clients chose (names, values, messages) to
// a size measured as it is written out: JSON and log escaping can make one
// control character six bytes, so a bound on raw bytes would not hold in a
// stored row or a log line.
package bounded

import (
	"strconv"
	"unicode/utf8"
)

// Size is the bytes s takes at most once escaped in JSON or a quoted log
// value.
func Size(s string) int {
	n := 0
	for i := 0; i < len(s); {
		r, width := utf8.DecodeRuneInString(s[i:])
		n += runeSize(r, width)
		i += width
	}
	return n
}

func runeSize(r rune, width int) int {
	switch {
	case r == utf8.RuneError && width == 1: // invalid UTF-8: \ufffd
		return 6
	case r < 0x20 || r == 0x7f || r == '\u2028' || r == '\u2029' || r == '<' || r == '>' || r == '&':
		return 6 // \u00XX at worst (encoding/json escapes HTML characters too)
	case r == '"' || r == '\\':
		return 2
	}
	return width
}

// Text returns s when its escaped size is at most max, and otherwise its
// longest start that fits, cut on a character boundary, followed by a
// marker saying how long s was.
func Text(s string, max int) string {
	if len(s) <= max/6 || Size(s) <= max {
		return s
	}
	n := 0
	for i := 0; i < len(s); {
		r, width := utf8.DecodeRuneInString(s[i:])
		if n += runeSize(r, width); n > max {
			return s[:i] + "…(truncated, " + strconv.Itoa(len(s)) + " bytes)"
		}
		i += width
	}
	return s
}
