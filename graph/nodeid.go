package graph

import (
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/mlapi/mlapi/internal/apperr"
)

// nodeType names the kind of object a global id points at. The names are
// the GraphQL types', so an id says what node(id:) will return.
type nodeType string

const (
	nodeUser       nodeType = "User"
	nodeViewer     nodeType = "Viewer"
	nodeRequest    nodeType = "PredictionRequest"
	nodeResponse   nodeType = "PredictionResponse"
	nodeModelInfo  nodeType = "ModelInfo"
	maxNodeIDBytes          = 256
)

// Global ids are "Type:key" in unpadded URL-safe base64, as Relay expects:
// unique across types (a client cache keyed by id alone never mixes a user
// with a request of the same row number) and safe in a GET query string.

func encodeNodeID(t nodeType, key string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(string(t) + ":" + key))
}

func encodeRowID(t nodeType, id int64) string {
	return encodeNodeID(t, strconv.FormatInt(id, 10))
}

var errBadID = apperr.New(apperr.Invalid, "not an id this API issued")

// decodeNodeID splits a global id into its type and key.
func decodeNodeID(id string) (nodeType, string, error) {
	if len(id) > maxNodeIDBytes {
		return "", "", errBadID
	}
	raw, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil {
		return "", "", errBadID
	}
	t, key, ok := strings.Cut(string(raw), ":")
	if !ok || key == "" {
		return "", "", errBadID
	}
	return nodeType(t), key, nil
}

// decodeRowID reads the database id of an object of type want: its global id
// or, for clients of versions whose ids were bare row numbers, that number.
func decodeRowID(want nodeType, id string) (int64, error) {
	if n, err := strconv.ParseInt(id, 10, 64); err == nil {
		if n <= 0 {
			return 0, errBadID
		}
		return n, nil
	}
	t, key, err := decodeNodeID(id)
	if err != nil {
		return 0, err
	}
	if t != want {
		return 0, apperr.New(apperr.Invalid, "want the id of a "+string(want)+", got a "+string(t)+"'s")
	}
	n, err := strconv.ParseInt(key, 10, 64)
	if err != nil || n <= 0 {
		return 0, errBadID
	}
	return n, nil
}
