package prediction

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/mlapi/mlapi/internal/model"
)

// Bounds on what one request writes to its request row. The body limit
// already bounds an input to 64 KiB, but an input the model refuses can be
// mostly unknown fields or one huge value, and the audit log keeps every
// request: a row holds what identifies the input, not a copy of anything
// a client cares to send.
const (
	// MaxStoredInput bounds the JSON a request row keeps: the model's
	// features always, then unknown fields while they fit, then a marker.
	MaxStoredInput = 4 << 10
	// MaxStoredValue bounds one value: a string, a number's text, or a
	// nested array or object's JSON (then kept as a string).
	MaxStoredValue = 256
	// truncatedKey names the marker an input cut short ends with.
	truncatedKey = "(truncated)"
)

// encodeReceived encodes an input as the client sent it, keyed by the
// model's feature names, unknown fields under the names they came with. It
// never fails, and its result is at most about MaxStoredInput bytes.
//
// Every number's text is kept as it was written: a json.Number is copied,
// not parsed. What JSON cannot hold (a non-finite float) is kept as a
// string. Each value is cut to MaxStoredValue bytes and each name to
// model.MaxFieldName. The features are written first, and the unknown
// fields that do not fit are counted in a final "(truncated)" entry.
//
// features must be sorted.
func encodeReceived(received map[string]any, features []string) json.RawMessage {
	if out, ok := encodeFeaturesOnly(received, features); ok {
		return out
	}
	return encodeAnyFields(received, features)
}

// encodeFeaturesOnly is encodeReceived for the usual input, whose names are
// all features: with every name known and short, nothing is cut or left
// out, and the entries go out in the order of the sorted features, in one
// buffer. ok is false for any other input.
func encodeFeaturesOnly(received map[string]any, sortedFeatures []string) (out json.RawMessage, ok bool) {
	present := 0
	for _, name := range sortedFeatures {
		if _, ok := received[name]; ok {
			present++
		}
		if len(name) > model.MaxFieldName {
			return nil, false
		}
	}
	if present != len(received) {
		return nil, false
	}
	out = make([]byte, 0, 256)
	out = append(out, '{')
	for _, name := range sortedFeatures {
		v, ok := received[name]
		if !ok {
			continue
		}
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = appendString(out, name)
		out = append(out, ':')
		out = appendBounded(out, v)
	}
	return append(out, '}'), true
}

// encodeAnyFields is encodeReceived for any input, unknown or long names
// included.
func encodeAnyFields(received map[string]any, features []string) json.RawMessage {
	isFeature := make(map[string]bool, len(features))
	for _, f := range features {
		isFeature[f] = true
	}
	names := make([]string, 0, len(received))
	for name := range received {
		names = append(names, name)
	}
	// The features first, then the unknown fields, each group sorted, so
	// that the features are always kept.
	slices.SortFunc(names, func(a, b string) int {
		return cmp.Or(cmp.Compare(boolRank(!isFeature[a]), boolRank(!isFeature[b])), strings.Compare(a, b))
	})
	entries := make([][]byte, 0, len(names))
	keys := make([]string, 0, len(names))
	size, omitted := 2, 0
	written := make(map[string]bool, len(names))
	for _, name := range names {
		key := model.Truncate(name, model.MaxFieldName)
		entry := appendString(nil, key)
		entry = append(entry, ':')
		entry = appendBounded(entry, received[name])
		// Two long names may cut to one key: the second is not stored.
		if written[key] || !isFeature[name] && size+len(entry)+1 > MaxStoredInput-128 {
			omitted++
			continue
		}
		written[key] = true
		size += len(entry) + 1
		entries = append(entries, entry)
		keys = append(keys, key)
	}
	if omitted == 0 {
		// Sorted by name across both groups, as encoding/json sorts them.
		order := make([]int, len(keys))
		for i := range order {
			order[i] = i
		}
		slices.SortFunc(order, func(a, b int) int { return strings.Compare(keys[a], keys[b]) })
		sorted := make([][]byte, len(order))
		for i, j := range order {
			sorted[i] = entries[j]
		}
		entries = sorted
	} else {
		marker := appendString(nil, truncatedKey)
		marker = append(marker, ':')
		marker = appendString(marker, fmt.Sprintf("%d more fields not stored", omitted))
		entries = append(entries, marker)
	}
	out := []byte{'{'}
	for i, entry := range entries {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, entry...)
	}
	return append(out, '}')
}

// appendBounded appends v's JSON, cut to MaxStoredValue: a long string or
// number keeps its start and says how long it was; a long array or object
// is kept the same way, as a string holding the start of its JSON.
func appendBounded(b []byte, v any) []byte {
	switch v := v.(type) {
	case string:
		return appendString(b, model.Truncate(v, MaxStoredValue))
	case json.Number:
		if len(v) > MaxStoredValue || !isJSONNumber(string(v)) {
			return appendString(b, model.Truncate(string(v), MaxStoredValue))
		}
		return append(b, v...)
	}
	encoded := appendJSON(nil, v)
	if len(encoded) > MaxStoredValue {
		return appendString(b, model.Truncate(string(encoded), MaxStoredValue))
	}
	return append(b, encoded...)
}

// appendJSON appends v's JSON without escaping HTML characters (the log is
// not a web page); a value JSON cannot hold is written as a string.
func appendJSON(b []byte, v any) []byte {
	switch v := v.(type) {
	case bool:
		return strconv.AppendBool(b, v)
	case string:
		if plainText(v) {
			// Nothing to escape: what the encoder would write.
			b = append(b, '"')
			b = append(b, v...)
			return append(b, '"')
		}
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return appendString(b, strconv.FormatFloat(v, 'g', -1, 64))
		}
	case float32:
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return appendString(b, strconv.FormatFloat(float64(v), 'g', -1, 32))
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return appendString(b, fmt.Sprint(v))
	}
	return append(b, bytes.TrimSuffix(buf.Bytes(), []byte{'\n'})...)
}

func appendString(b []byte, s string) []byte {
	return appendJSON(b, s)
}

// plainText reports whether s is printable ASCII that JSON writes as it is:
// no quote, backslash or control character. Feature names and most values
// are, and are written without an encoder.
func plainText(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// isJSONNumber reports whether s is a number as JSON writes one, which a
// json.Number from anywhere but a JSON decoder need not be.
func isJSONNumber(s string) bool {
	return s != "" && json.Valid([]byte(s)) && (s[0] == '-' || s[0] >= '0' && s[0] <= '9')
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}
