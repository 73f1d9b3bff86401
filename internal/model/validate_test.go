package model

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"testing"
)

// validInput is a valid input for the deep model, whose schema bounds its
// numeric features (age to [0, 130], serum_sodium to [80, 200], ...).
func validInput() map[string]any {
	return map[string]any{
		"age": 62.5, "anaemia": false, "creatinine_phosphokinase": 582, "diabetes": 1,
		"ejection_fraction": int64(38), "high_blood_pressure": true, "platelets": json.Number("263358.03"),
		"serum_creatinine": float32(1.5), "serum_sodium": 136, "sex": 0.0, "smoking": json.Number("1"), "time": 130,
	}
}

func TestValidateAccepts(t *testing.T) {
	t.Parallel()
	m := loadTestModel(t, deepModel)
	x, err := m.Validate(validInput())
	if err != nil {
		t.Fatal(err)
	}
	// The schema's order: the data set's.
	want := []float64{62.5, 0, 582, 1, 38, 1, 263358.03, float64(float32(1.5)), 136, 0, 1, 130}
	if !reflect.DeepEqual(x, want) {
		t.Errorf("got %v, want %v", x, want)
	}
	bounds := validInput()
	bounds["age"], bounds["serum_sodium"] = 0, 200 // min and max are inclusive
	if _, err := m.Validate(bounds); err != nil {
		t.Errorf("values on the bounds: %v", err)
	}
}

func TestValidateRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change map[string]any // nil deletes the key; use explicitNull for null
		want   []FieldError   // Message is checked to be non-empty only
	}{
		{"unknown field", map[string]any{"weight": 80}, []FieldError{{Field: "weight", Reason: ReasonUnknown}}},
		{"absent field", map[string]any{"age": nil}, []FieldError{{Field: "age", Reason: ReasonMissing}}},
		{"null field", map[string]any{"time": explicitNull{}}, []FieldError{{Field: "time", Reason: ReasonMissing}}},
		{"string for a number", map[string]any{"age": "62"}, []FieldError{{Field: "age", Reason: ReasonType}}},
		{"boolean for a number", map[string]any{"age": true}, []FieldError{{Field: "age", Reason: ReasonType}}},
		{"object for a number", map[string]any{"age": map[string]any{}}, []FieldError{{Field: "age", Reason: ReasonType}}},
		{"unparsable json.Number", map[string]any{"age": json.Number("6x")}, []FieldError{{Field: "age", Reason: ReasonType}}},
		{"2 for a boolean", map[string]any{"sex": 2}, []FieldError{{Field: "sex", Reason: ReasonType}}},
		{"0.5 for a boolean", map[string]any{"smoking": 0.5}, []FieldError{{Field: "smoking", Reason: ReasonType}}},
		{"string for a boolean", map[string]any{"smoking": "true"}, []FieldError{{Field: "smoking", Reason: ReasonType}}},
		{"NaN", map[string]any{"age": math.NaN()}, []FieldError{{Field: "age", Reason: ReasonNonFinite}}},
		{"+Inf", map[string]any{"platelets": math.Inf(1)}, []FieldError{{Field: "platelets", Reason: ReasonNonFinite}}},
		{"-Inf as float32", map[string]any{"platelets": float32(math.Inf(-1))}, []FieldError{{Field: "platelets", Reason: ReasonNonFinite}}},
		{"json.Number beyond float64", map[string]any{"time": json.Number("1e400")}, []FieldError{{Field: "time", Reason: ReasonNonFinite}}},
		{"NaN for a boolean", map[string]any{"sex": math.NaN()}, []FieldError{{Field: "sex", Reason: ReasonNonFinite}}},
		{"below min", map[string]any{"age": -1}, []FieldError{{Field: "age", Reason: ReasonOutOfRange}}},
		{"above max", map[string]any{"serum_sodium": 200.5}, []FieldError{{Field: "serum_sodium", Reason: ReasonOutOfRange}}},
		{"everything at once, sorted by field", map[string]any{
			"zeta": 1, "time": nil, "sex": 3, "age": 131, "platelets": math.NaN(), "alpha": "x",
		}, []FieldError{
			{Field: "age", Reason: ReasonOutOfRange},
			{Field: "alpha", Reason: ReasonUnknown},
			{Field: "platelets", Reason: ReasonNonFinite},
			{Field: "sex", Reason: ReasonType},
			{Field: "time", Reason: ReasonMissing},
			{Field: "zeta", Reason: ReasonUnknown},
		}},
	}
	m := loadTestModel(t, deepModel)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			input := validInput()
			for k, v := range tt.change {
				switch v.(type) {
				case nil:
					delete(input, k)
				case explicitNull:
					input[k] = nil
				default:
					input[k] = v
				}
			}
			x, err := m.Validate(input)
			if x != nil {
				t.Errorf("got a vector %v with an error", x)
			}
			var verr *ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("got %v, want a *ValidationError", err)
			}
			if len(verr.Fields) != len(tt.want) {
				t.Fatalf("got %+v, want %+v", verr.Fields, tt.want)
			}
			for i, got := range verr.Fields {
				if got.Field != tt.want[i].Field || got.Reason != tt.want[i].Reason || got.Message == "" {
					t.Errorf("field %d: got %+v, want %+v with a message", i, got, tt.want[i])
				}
			}
		})
	}
}

// explicitNull stands for a key present with a null value in the tests'
// change maps, where nil means the key is absent.
type explicitNull struct{}

func TestValidationErrorText(t *testing.T) {
	t.Parallel()
	m := loadTestModel(t, deepModel)
	input := validInput()
	input["age"], input["sex"] = 131, "yes"
	_, err := m.Validate(input)
	want := `invalid input: age: 131 is outside the accepted range [0, 130]; sex: want true, false, 0 or 1, got a string`
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
	var fieldErr *FieldError
	if errors.As(err, &fieldErr) {
		t.Errorf("a ValidationError is not a single FieldError")
	}
}

func TestParseText(t *testing.T) {
	t.Parallel()
	m := loadTestModel(t, deepModel)
	// Takes the calling (sub)test: failing the parent from a subtest would
	// hide the real failure.
	feature := func(t *testing.T, name string) Feature {
		t.Helper()
		i, ok := m.FeatureIndex(name)
		if !ok {
			t.Fatalf("no feature %q", name)
		}
		return m.Features()[i]
	}
	tests := []struct {
		feature string
		text    string
		want    float64 // NaN: missing
		reason  Reason  // "" when accepted
	}{
		{"age", "62.5", 62.5, ""},
		{"age", " 70 ", 70, ""},
		{"age", "", math.NaN(), ""},
		{"age", "   ", math.NaN(), ""},
		{"age", "1e1", 10, ""},
		{"age", "130", 130, ""},
		{"age", "130.01", 0, ReasonOutOfRange},
		{"age", "-0.5", 0, ReasonOutOfRange},
		{"age", "sixty", 0, ReasonType},
		{"age", "true", 0, ReasonType},
		{"age", "NaN", 0, ReasonNonFinite},
		{"age", "-Inf", 0, ReasonNonFinite},
		{"age", "1e400", 0, ReasonNonFinite},
		{"sex", "1", 1, ""},
		{"sex", "0", 0, ""},
		{"sex", "1.0", 1, ""},
		{"sex", "true", 1, ""},
		{"sex", "FALSE", 0, ""},
		{"sex", "", math.NaN(), ""},
		{"sex", "2", 0, ReasonType},
		{"sex", "yes", 0, ReasonType},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s=%q", tt.feature, tt.text), func(t *testing.T) {
			t.Parallel()
			got, err := feature(t, tt.feature).ParseText(tt.text)
			if tt.reason != "" {
				var fieldErr *FieldError
				if !errors.As(err, &fieldErr) || fieldErr.Reason != tt.reason || fieldErr.Field != tt.feature {
					t.Errorf("got %v, %v; want a %s error", got, err, tt.reason)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want && !(math.IsNaN(got) && math.IsNaN(tt.want)) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
