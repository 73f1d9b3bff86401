package auth

import (
	_ "embed"
	"strings"
	"sync"
)

// commonPasswordList is the 10,000 most common passwords of 8 characters or
// more, lower-case, one a line; its source and licence are in
// commonpasswords/README.md.
//
//go:embed commonpasswords/passwords.txt
var commonPasswordList string

// commonPasswords is the list as a set, built on first use.
var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	set := make(map[string]struct{}, 10_000)
	for line := range strings.Lines(commonPasswordList) {
		if p := strings.TrimRight(line, "\r\n"); p != "" {
			set[p] = struct{}{}
		}
	}
	return set
})

// IsCommonPassword reports whether password is one of the most common
// passwords, in any letter case.
func IsCommonPassword(password string) bool {
	_, found := commonPasswords()[strings.ToLower(password)]
	return found
}
