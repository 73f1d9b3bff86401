package model

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/mlapi/mlapi/internal/bounded"
)

// Reason says what is wrong with an input field.
type Reason string

const (
	ReasonUnknown    Reason = "unknown_field" // not a feature of the model
	ReasonMissing    Reason = "missing"       // absent, or null
	ReasonType       Reason = "wrong_type"    // not a number (numeric) or not true, false, 0 or 1 (boolean)
	ReasonNonFinite  Reason = "non_finite"    // NaN or ±Inf
	ReasonOutOfRange Reason = "out_of_range"  // outside the schema's [min, max]
)

// FieldError is what is wrong with one input field. Message is written for
// the client and names the offending value.
type FieldError struct {
	Field   string `json:"field"`
	Reason  Reason `json:"reason"`
	Message string `json:"message"`
}

func (e *FieldError) Error() string {
	return e.Field + ": " + e.Message
}

// ValidationError lists every offending field of an input, sorted by field
// name, so that a client can fix them all at once.
type ValidationError struct {
	Fields []FieldError
	// Omitted counts the offending fields left out of Fields by Bounded.
	Omitted int
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i := range e.Fields {
		parts[i] = e.Fields[i].Error()
	}
	text := "invalid input: " + strings.Join(parts, "; ")
	if e.Omitted > 0 {
		text += fmt.Sprintf("; and %d more", e.Omitted)
	}
	return text
}

// Limits on what a ValidationError holds once Bounded: an input may name
// thousands of unknown fields with long names, and every field error is
// returned to the client and written to the audit log.
const (
	MaxFieldErrors    = 20  // field errors kept, the model's features' first
	MaxFieldName      = 128 // bytes of a field's name
	MaxFieldMessage   = 256 // bytes of a field error's message
	maxValueInMessage = 64  // bytes of an input value quoted in a message
)

// Bounded returns the error with at most maxFields field errors, the other
// ones counted in Omitted, and every field name and message cut to
// MaxFieldName and MaxFieldMessage bytes (with a marker saying so). Problems
// with the model's features are kept before unknown fields, which an
// abusive input can name by the thousand; the kept ones are sorted by field
// (stably, so fields sorted by field and reason stay so).
func (e *ValidationError) Bounded(maxFields int) *ValidationError {
	fields := slices.Clone(e.Fields)
	if len(fields) > maxFields {
		// A stable partition: the features' problems, then the unknown fields.
		slices.SortStableFunc(fields, func(a, b FieldError) int {
			return cmp.Compare(boolRank(a.Reason == ReasonUnknown), boolRank(b.Reason == ReasonUnknown))
		})
		fields = fields[:maxFields]
	}
	slices.SortStableFunc(fields, func(a, b FieldError) int { return strings.Compare(a.Field, b.Field) })
	out := &ValidationError{Fields: fields, Omitted: e.Omitted + len(e.Fields) - len(fields)}
	for i := range out.Fields {
		out.Fields[i].Field = Truncate(out.Fields[i].Field, MaxFieldName)
		out.Fields[i].Message = Truncate(out.Fields[i].Message, MaxFieldMessage)
	}
	return out
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Truncate returns s when it takes at most max bytes once escaped in JSON
// and otherwise its longest start that does, followed by
// "…(truncated, N bytes)", N being s's length, so that a bounded text still
// says it was cut and by how much.
func Truncate(s string, max int) string { return bounded.Text(s, max) }

// Validate checks an input keyed by feature name and returns its feature
// vector in the schema's order. Every feature is required: the API has no
// notion of a deliberately missing value, so an absent or null field is an
// error like the others. Numbers may be float64, float32, int, int64 or
// json.Number; a boolean feature takes true, false, 0 or 1. All offending
// fields are reported together in a *ValidationError.
func (m *Model) Validate(input map[string]any) ([]float64, error) {
	var problems []FieldError
	for name := range input {
		if _, ok := m.featureIdx[name]; !ok {
			problems = append(problems, FieldError{Field: name, Reason: ReasonUnknown, Message: "not a feature of the model"})
		}
	}
	x := make([]float64, len(m.features))
	for i, f := range m.features {
		v, err := f.convert(input[f.Name])
		if err != nil {
			problems = append(problems, *err)
			continue
		}
		x[i] = v
	}
	if len(problems) > 0 {
		sort.Slice(problems, func(a, b int) bool { return problems[a].Field < problems[b].Field })
		return nil, &ValidationError{Fields: problems}
	}
	return x, nil
}

// convert turns one JSON-ish value into the feature's number.
func (f Feature) convert(value any) (float64, *FieldError) {
	var v float64
	switch value := value.(type) {
	case nil:
		return 0, f.fail(ReasonMissing, "a value is required")
	case bool:
		if f.Type != Boolean {
			return 0, f.fail(ReasonType, "want a number, got %t", value)
		}
		if value {
			return 1, nil
		}
		return 0, nil
	case float64:
		v = value
	case float32:
		v = float64(value)
	case int:
		v = float64(value)
	case int64:
		v = float64(value)
	case json.Number:
		parsed, err := strconv.ParseFloat(string(value), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return 0, f.fail(ReasonType, "%q is not a number", Truncate(string(value), maxValueInMessage))
		}
		// ±Inf when out of float64's range: caught below. The message
		// quotes the number as it was written, not as it was parsed.
		return f.checkText(parsed, string(value))
	default:
		return 0, f.fail(ReasonType, "want %s, got %s", f.expected(), DescribeJSON(value))
	}
	return f.check(v)
}

// DescribeJSON names a decoded JSON value's type for a client, without
// echoing the value.
func DescribeJSON(value any) string {
	switch value.(type) {
	case json.Number, float64, float32, int, int64:
		return "a number"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	default:
		return fmt.Sprintf("a %T", value)
	}
}

// ParseText reads a feature's value from text, as a CSV cell holds it: an
// empty (or blank) cell is a missing value, returned as NaN; a boolean
// feature takes true, false (in any case), 0 or 1. The value is checked as
// Validate checks it; an error is a *FieldError.
func (f Feature) ParseText(text string) (float64, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return math.NaN(), nil
	}
	if f.Type == Boolean {
		switch {
		case strings.EqualFold(text, "true"):
			return 1, nil
		case strings.EqualFold(text, "false"):
			return 0, nil
		}
	}
	v, err := strconv.ParseFloat(text, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, f.fail(ReasonType, "want %s, got %q", f.expected(), Truncate(text, maxValueInMessage))
	}
	v, fieldErr := f.checkText(v, text)
	if fieldErr != nil {
		return 0, fieldErr
	}
	return v, nil
}

// check applies the schema to a number.
func (f Feature) check(v float64) (float64, *FieldError) {
	return f.checkText(v, "")
}

// checkText applies the schema to a number parsed from text, which the
// messages quote (bounded) when it is not empty.
func (f Feature) checkText(v float64, text string) (float64, *FieldError) {
	shown := strconv.FormatFloat(v, 'g', -1, 64)
	if text != "" {
		shown = Truncate(text, maxValueInMessage)
	}
	if isNonFinite(v) {
		return 0, f.fail(ReasonNonFinite, "want a finite number, got %s", shown)
	}
	if f.Type == Boolean {
		if v != 0 && v != 1 {
			return 0, f.fail(ReasonType, "want %s, got %s", f.expected(), shown)
		}
		return v, nil
	}
	// The model computes in float32, as XGBoost does: a number beyond
	// float32's range would reach it as an infinity.
	if math.Abs(v) > math.MaxFloat32 {
		return 0, f.fail(ReasonOutOfRange, "%s is beyond the range of float32 (±%v), the precision the model computes in",
			shown, float32(math.MaxFloat32))
	}
	if (f.Min != nil && v < *f.Min) || (f.Max != nil && v > *f.Max) {
		return 0, f.fail(ReasonOutOfRange, "%s is outside the accepted range %s", shown, f.rangeText())
	}
	return v, nil
}

// expected says what the feature's values look like.
func (f Feature) expected() string {
	if f.Type == Boolean {
		return "true, false, 0 or 1"
	}
	return "a number"
}

func (f Feature) rangeText() string {
	switch {
	case f.Min != nil && f.Max != nil:
		return fmt.Sprintf("[%v, %v]", *f.Min, *f.Max)
	case f.Min != nil:
		return fmt.Sprintf("[%v, +Inf)", *f.Min)
	default:
		return fmt.Sprintf("(-Inf, %v]", *f.Max)
	}
}

func (f Feature) fail(reason Reason, format string, args ...any) *FieldError {
	return &FieldError{Field: f.Name, Reason: reason, Message: fmt.Sprintf(format, args...)}
}
