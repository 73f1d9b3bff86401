package prediction

import "github.com/mlapi/mlapi/internal/paging"

// requestCursors is the history's cursor format: a request's id, in a list
// ordered by id alone.
var requestCursors = paging.Cursors{Prefix: "req1:"}

// EncodeCursor returns the opaque cursor of a request: its id, versioned.
// It carries neither the user nor the filter: every history read is of the
// caller's own rows, so a cursor only positions a page among them, and one
// from another user, filter or order positions it by id just the same.
func EncodeCursor(requestID int64) string {
	return requestCursors.Encode(requestID, "")
}

// decodeCursor reads a cursor made by EncodeCursor, naming the argument
// that carried it when it refuses it.
func decodeCursor(cursor, argument string) (int64, error) {
	id, _, err := requestCursors.Decode(cursor, argument)
	return id, err
}
