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

// EncodeCursor returns the opaque cursor that pages after the request id.
func EncodeCursor(requestID int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + strconv.FormatInt(requestID, 10)))
}

var errBadCursor = apperr.New(apperr.Invalid, "after is not a cursor this API issued")

// DecodeCursor reads a cursor made by EncodeCursor.
func DecodeCursor(cursor string) (int64, error) {
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
