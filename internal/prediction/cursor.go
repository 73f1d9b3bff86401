package prediction

import (
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/mlapi/mlapi/internal/apperr"
)

// cursorPrefix versions the cursor format so that it can change without old
// cursors being misread.
const cursorPrefix = "req1:"

// EncodeCursor returns the opaque cursor of a request: its id, versioned.
// It carries neither the user nor the filter: every history read is of the
// caller's own rows, so a cursor only positions a page among them, and one
// from another user, filter or order positions it by id just the same.
func EncodeCursor(requestID int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + strconv.FormatInt(requestID, 10)))
}

// decodeCursor reads a cursor made by EncodeCursor, naming the argument
// that carried it when it refuses it.
func decodeCursor(cursor, argument string) (int64, error) {
	errBadCursor := apperr.New(apperr.Invalid, argument+" is not a cursor this API issued")
	if len(cursor) > 64 {
		return 0, errBadCursor
	}
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return 0, errBadCursor
	}
	digits, ok := strings.CutPrefix(string(raw), cursorPrefix)
	if !ok {
		return 0, errBadCursor
	}
	id, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || id <= 0 {
		return 0, errBadCursor
	}
	return id, nil
}
