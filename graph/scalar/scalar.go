// Package scalar holds the GraphQL scalar marshalers that gqlgen's built-ins
// lack: float32 numbers printed at float32 precision, times whose errors are
// the caller's, and raw JSON.
package scalar

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/mlapi/mlapi/internal/apperr"
)

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

// MarshalTime writes a time in RFC 3339, as gqlgen's Time does.
func MarshalTime(t time.Time) graphql.Marshaler { return graphql.MarshalTime(t) }

var errBadTime = apperr.New(apperr.Invalid, "want an RFC 3339 time, like 2026-01-02T15:04:05Z")

// UnmarshalTime reads an RFC 3339 time. gqlgen's own Time reports a bad one
// as an internal error; it is the caller's input at fault.
func UnmarshalTime(v any) (time.Time, error) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, errBadTime
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, errBadTime
	}
	return t, nil
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

// UnmarshalJSON encodes any GraphQL input value as JSON. No input takes a
// JSON today, but gqlgen binds a scalar only with both directions.
func UnmarshalJSON(v any) (json.RawMessage, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("JSON scalar: %w", err)
	}
	return b, nil
}
