// Package paging holds what the API's paged lists share, so that every list
// refuses a page size and a cursor alike: the sizes a client may ask for,
// and the opaque cursors that position a page.
package paging

import (
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/mlapi/mlapi/internal/apperr"
	"github.com/mlapi/mlapi/internal/store"
)

// Page sizes. The store clamps every page to its MaxPageSize, so that is the
// one source of the maximum; Size refuses a larger page rather than answer
// a shorter one than asked.
const (
	// MaxSize bounds how many items one page returns.
	MaxSize = store.MaxPageSize
	// DefaultSize is the page a client that names no size gets. The
	// schema's descriptions state it, and a graph test keeps them equal.
	DefaultSize = 20
)

// Size returns the page size that n, the argument named argument (first or
// last), asks for: DefaultSize when n is nil, and a BAD_USER_INPUT error
// when it is outside 1 to MaxSize.
func Size(n *int, argument string) (int, error) {
	if n == nil {
		return DefaultSize, nil
	}
	if *n < 1 || *n > MaxSize {
		return 0, apperr.New(apperr.Invalid, argument+" must be between 1 and "+strconv.Itoa(MaxSize))
	}
	return *n, nil
}

// maxCursor bounds a cursor before it is decoded, so that garbage is
// refused without work. The longest cursor issued, a user's with a 64-byte
// username, is about 120 characters.
const maxCursor = 512

// Cursors is the cursor format of one list. A cursor names an item by its
// id and, in a list ordered by something else first, that sort key too.
// It is base64url text, so that clients treat it as opaque, and starts with
// the list's Prefix, which versions the format: a format can change, and
// one list's cursor be refused by another's, without being misread.
type Cursors struct {
	// Prefix names the list and the format's version, "req1:" say.
	Prefix string
	// Keyed is for a list in the order of a sort key, then id: its
	// cursors carry the key after the id.
	Keyed bool
}

// Encode returns the cursor of the item with id and, for a Keyed list, the
// sort key key (ignored otherwise).
func (c Cursors) Encode(id int64, key string) string {
	text := c.Prefix + strconv.FormatInt(id, 10)
	if c.Keyed {
		text += ":" + key
	}
	return base64.RawURLEncoding.EncodeToString([]byte(text))
}

// Decode reads a cursor made by Encode, returning the id and the sort key
// (empty for a list that is not Keyed). A cursor it did not make is a
// BAD_USER_INPUT error naming argument, the argument that carried it.
func (c Cursors) Decode(cursor, argument string) (id int64, key string, err error) {
	errBadCursor := apperr.New(apperr.Invalid, argument+" is not a cursor this API issued")
	if len(cursor) > maxCursor {
		return 0, "", errBadCursor
	}
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return 0, "", errBadCursor
	}
	text, ok := strings.CutPrefix(string(raw), c.Prefix)
	if !ok {
		return 0, "", errBadCursor
	}
	// The id comes first since it cannot hold the separator; the key,
	// whatever it holds, is the rest.
	digits, key, keyed := strings.Cut(text, ":")
	if keyed != c.Keyed {
		return 0, "", errBadCursor
	}
	id, err = strconv.ParseInt(digits, 10, 64)
	if err != nil || id <= 0 {
		return 0, "", errBadCursor
	}
	return id, key, nil
}
