package model

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
)

// The model computes in float32: a number beyond its range is out of range
// even for a feature the schema leaves unbounded, and messages quote a
// json.Number as it was written, cut when long.
func TestValidateFloat32Range(t *testing.T) {
	t.Parallel()
	unbounded := Feature{Name: "x", Type: Numeric}
	tests := []struct {
		name        string
		value       any
		want        Reason // empty: accepted
		wantMessage string // a part of the message
	}{
		{"float32's largest", json.Number("3.4028234e38"), "", ""},
		{"beyond float32", json.Number("1e39"), ReasonOutOfRange, "1e39 is beyond the range of float32"},
		{"beyond float32, negative", -1e39, ReasonOutOfRange, "-1e+39 is beyond"},
		{"beyond float32, near float64's largest", json.Number("1e308"), ReasonOutOfRange, "1e308"},
		{"beyond float64", json.Number("1e400"), ReasonNonFinite, "got 1e400"},
		{"NaN as text", json.Number("NaN"), ReasonNonFinite, "got NaN"},
		{"Infinity as text", json.Number("-Infinity"), ReasonNonFinite, "got -Infinity"},
		{"a long number is quoted cut", json.Number("1" + strings.Repeat("0", 400)), ReasonNonFinite, "…(truncated, 401 bytes)"},
		{"a long non-number is quoted cut", json.Number(strings.Repeat("x", 400)), ReasonType, "…(truncated, 400 bytes)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := unbounded.convert(tt.value)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want == "":
				return
			case err == nil:
				t.Fatalf("accepted, want %s", tt.want)
			}
			if err.Reason != tt.want || !strings.Contains(err.Message, tt.wantMessage) || len(err.Message) > 200 {
				t.Errorf("%s %q, want %s with %q", err.Reason, err.Message, tt.want, tt.wantMessage)
			}
		})
	}
	// The CSV scorer's path too.
	if _, err := unbounded.ParseText("1e39"); err == nil || err.(*FieldError).Reason != ReasonOutOfRange {
		t.Errorf("ParseText(1e39): %v, want out_of_range", err)
	}
	if _, err := unbounded.ParseText(fmt.Sprint(math.MaxFloat32)); err != nil {
		t.Errorf("ParseText(MaxFloat32): %v", err)
	}
}

func TestBounded(t *testing.T) {
	t.Parallel()
	var fields []FieldError
	for i := range 50 {
		fields = append(fields, FieldError{Field: fmt.Sprintf("a%02d_%s", i, strings.Repeat("n", 300)), Reason: ReasonUnknown, Message: "not a feature"})
	}
	fields = append(fields,
		FieldError{Field: "zeta", Reason: ReasonMissing, Message: "a value is required"},
		FieldError{Field: "age", Reason: ReasonOutOfRange, Message: strings.Repeat("m", 1000)},
	)
	tests := []struct {
		name        string
		max         int
		wantLen     int
		wantOmitted int
	}{
		{"over the cap", 20, 20, 32},
		{"under the cap", 100, 52, 0},
		{"only the features' problems fit", 2, 2, 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := (&ValidationError{Fields: fields}).Bounded(tt.max)
			if len(got.Fields) != tt.wantLen || got.Omitted != tt.wantOmitted {
				t.Fatalf("%d fields, %d omitted; want %d, %d", len(got.Fields), got.Omitted, tt.wantLen, tt.wantOmitted)
			}
			var sawAge, sawZeta bool
			for i, f := range got.Fields {
				if len(f.Field) > MaxFieldName+40 || len(f.Message) > MaxFieldMessage+40 {
					t.Errorf("field %d not bounded: %d, %d bytes", i, len(f.Field), len(f.Message))
				}
				if i > 0 && got.Fields[i-1].Field > f.Field {
					t.Errorf("not sorted at %d", i)
				}
				sawAge = sawAge || f.Field == "age"
				sawZeta = sawZeta || f.Field == "zeta"
			}
			if !sawAge || !sawZeta {
				t.Errorf("the features' problems were not kept first")
			}
			if tt.wantOmitted > 0 && !strings.Contains(got.Error(), fmt.Sprintf("and %d more", tt.wantOmitted)) {
				t.Errorf("Error() does not count the omitted: %.200s", got.Error())
			}
		})
	}
	if len(fields[0].Field) < 300 {
		t.Error("Bounded changed its receiver's fields")
	}
}

func TestTruncate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"abcdefghijkl", 4, "abcd…(truncated, 12 bytes)"},
		{"ééé", 3, "é…(truncated, 6 bytes)"}, // not cut inside a rune
	}
	for _, tt := range tests {
		if got := Truncate(tt.in, tt.max); got != tt.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}
