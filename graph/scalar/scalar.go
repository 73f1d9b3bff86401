// Package scalar holds the GraphQL scalar marshalers that gqlgen's built-ins
// lack: int64 IDs, float32 numbers printed at float32 precision, and raw JSON.
package scalar

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/99designs/gqlgen/graphql"

	"github.com/mlapi/mlapi/internal/apperr"
)

// MarshalInt64ID writes a database id as a GraphQL ID (a JSON string).
func MarshalInt64ID(id int64) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		_, _ = io.WriteString(w, strconv.Quote(strconv.FormatInt(id, 10)))
	})
}

var errBadID = apperr.New(apperr.Invalid, "an ID must hold a positive integer")

// UnmarshalInt64ID reads a GraphQL ID that must hold a positive integer.
func UnmarshalInt64ID(v any) (int64, error) {
	var s string
	switch v := v.(type) {
	case string:
		s = v
	case json.Number:
		s = v.String()
	case int:
		s = strconv.Itoa(v)
	case int64:
		s = strconv.FormatInt(v, 10)
	default:
		return 0, errBadID
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, errBadID
	}
	return id, nil
}

// MarshalFloat32 writes a float32 with the shortest decimal that reads back
// as the same float32, so XGBoost's 0.5124506 is not shown as
// 0.5124505758285522.
func MarshalFloat32(f float32) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
			_, _ = io.WriteString(w, "null")
			return
		}
		// Plain decimals where JavaScript would print them (5000000, not
		// 5e+06); exponents only for the very large and very small.
		format := byte('f')
		if abs := math.Abs(float64(f)); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
			format = 'g'
		}
		_, _ = io.WriteString(w, strconv.FormatFloat(float64(f), format, -1, 32))
	})
}

// UnmarshalFloat32 reads a GraphQL Float into a float32.
func UnmarshalFloat32(v any) (float32, error) {
	f, err := graphql.UnmarshalFloat(v)
	return float32(f), err
}

// MarshalJSON writes already-encoded JSON as it is.
func MarshalJSON(raw json.RawMessage) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		if len(raw) == 0 {
			_, _ = io.WriteString(w, "null")
			return
		}
		_, _ = w.Write(raw)
	})
}

// UnmarshalJSON encodes any GraphQL input value as JSON.
func UnmarshalJSON(v any) (json.RawMessage, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("JSON scalar: %w", err)
	}
	return b, nil
}
