package prediction

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/mlapi/mlapi/internal/model"
	"github.com/mlapi/mlapi/internal/store"
	"github.com/mlapi/mlapi/internal/store/storetest"
)

var servedFeatures = []string{"age", "creatinine_phosphokinase", "ejection_fraction", "high_blood_pressure",
	"platelets", "serum_creatinine", "serum_sodium", "sex"}

func TestEncodeReceived(t *testing.T) {
	t.Parallel()
	manyUnknown := map[string]any{"age": json.Number("25")}
	for i := range 500 {
		manyUnknown[fmt.Sprintf("u%03d_%s", i, strings.Repeat("x", 100))] = i
	}
	tests := []struct {
		name     string
		received map[string]any
		want     string // the whole encoding; empty to check wantPart only
		wantPart []string
	}{
		{
			name:     "numbers keep their text, keys sorted",
			received: map[string]any{"sex": true, "age": json.Number("130.00001"), "platelets": json.Number("5e5"), "bmi": json.Number("22.50")},
			want:     `{"age":130.00001,"bmi":22.50,"platelets":5e5,"sex":true}`,
		},
		{
			name:     "what JSON cannot hold is kept as a string",
			received: map[string]any{"age": float32(math.Inf(1)), "platelets": math.NaN(), "serum_sodium": float32(130.00002), "x": json.Number("NaN")},
			want:     `{"age":"+Inf","platelets":"NaN","serum_sodium":130.00002,"x":"NaN"}`,
		},
		{
			name:     "strings, nulls and nested values as sent, HTML unescaped",
			received: map[string]any{"age": "<old>", "sex": nil, "n": map[string]any{"b": []any{json.Number("1.0"), "x"}}},
			want:     `{"age":"<old>","n":{"b":[1.0,"x"]},"sex":null}`,
		},
		{
			name:     "long values are cut with a marker",
			received: map[string]any{"age": strings.Repeat("9", 10_000), "platelets": json.Number(strings.Repeat("1", 10_000)), "n": []any{strings.Repeat("y", 10_000)}},
			wantPart: []string{`…(truncated, 10000 bytes)"`, `"platelets":"1111`, `…(truncated, 10004 bytes)"`},
		},
		{
			name:     "unknown fields that do not fit are counted",
			received: manyUnknown,
			wantPart: []string{`{"age":25,"u000_`, `"(truncated)":"`, ` more fields not stored"}`},
		},
		{
			name:     "long names cut to one key are stored once",
			received: map[string]any{strings.Repeat("k", 500) + "1": 1, strings.Repeat("k", 500) + "2": 2},
			want:     `{"` + strings.Repeat("k", 128) + `…(truncated, 501 bytes)":1,"(truncated)":"1 more fields not stored"}`,
		},
		{
			name:     "a long name is cut",
			received: map[string]any{strings.Repeat("k", 10_000): 1},
			wantPart: []string{`…(truncated, 10000 bytes)":1}`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := string(encodeReceived(tt.received, servedFeatures))
			if !json.Valid([]byte(got)) {
				t.Fatalf("not JSON: %s", got)
			}
			if len(got) > MaxStoredInput {
				t.Errorf("%d bytes, over %d", len(got), MaxStoredInput)
			}
			if tt.want != "" && got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			for _, part := range tt.wantPart {
				if !strings.Contains(got, part) {
					t.Errorf("%.400s lacks %s", got, part)
				}
			}
		})
	}
}

// A refusal of thousands of fields answers and logs twenty, and counts the
// rest; the request row keeps the input as received.
func TestRefusalIsBounded(t *testing.T) {
	t.Parallel()
	m := loadServedModel(t)
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := NewService(m, db)
		userID := newUser(t, db, "bo")
		input := seedInput()
		input["age"] = json.Number("130.00001")
		for i := range 3000 {
			input[fmt.Sprintf("unknown_%d", i)] = i
		}
		_, err := s.PredictReceived(ctx, userID, input, input)
		var verr *model.ValidationError
		if !asValidationError(err, &verr) || len(verr.Fields) != model.MaxFieldErrors || verr.Omitted != 3001-model.MaxFieldErrors {
			t.Fatalf("got %v", err)
		}
		if !strings.Contains(err.Error(), "the first 20 are listed, 2981 more are not") || verr.Fields[0].Field != "age" ||
			!strings.Contains(verr.Fields[0].Message, "130.00001 is outside") {
			t.Errorf("error %.300s", err)
		}
		page, err := s.History(ctx, userID, forward(1, ""))
		if err != nil || len(page.Requests) != 1 {
			t.Fatal(err)
		}
		logged := page.Requests[0]
		var output refusalOutput
		if err := json.Unmarshal(logged.Response.Output, &output); err != nil {
			t.Fatal(err)
		}
		if len(output.Error.Fields) != 20 || output.Error.OmittedFields != 2981 || len(logged.Response.Output) > 4<<10 {
			t.Errorf("output of %d bytes: %.300s", len(logged.Response.Output), logged.Response.Output)
		}
		if len(logged.Input) > MaxStoredInput || !strings.Contains(string(logged.Input), `"age":130.00001`) {
			t.Errorf("input of %d bytes: %.300s", len(logged.Input), logged.Input)
		}
	})
}

func asValidationError(err error, target **model.ValidationError) bool {
	return err != nil && errors.As(err, target)
}

// TestEncodeReceivedBoundsEscapedText: values of control characters take six
// bytes each once escaped; the stored input is bounded as written, not as
// received.
func TestEncodeReceivedBoundsEscapedText(t *testing.T) {
	t.Parallel()
	features := []string{"age", "creatinine_phosphokinase", "ejection_fraction", "platelets", "serum_creatinine", "serum_sodium", "sex", "high_blood_pressure"}
	received := map[string]any{}
	for _, f := range features {
		received[f] = strings.Repeat("\x01", 300)
	}
	for i := range 50 {
		received[fmt.Sprintf("%s%d", strings.Repeat("<", 100), i)] = strings.Repeat("&", 300)
	}
	out := encodeReceived(received, features)
	if len(out) > MaxStoredInput {
		t.Errorf("stored input of %d bytes, over %d", len(out), MaxStoredInput)
	}
	if !json.Valid(out) {
		t.Errorf("stored input is not JSON: %s", out)
	}
}

// TestAppendJSONWritesWhatTheEncoderWrites: the values written without an
// encoder come out exactly as encoding/json (without HTML escaping) writes
// them.
func TestAppendJSONWritesWhatTheEncoderWrites(t *testing.T) {
	t.Parallel()
	for _, v := range []any{
		true, false, "", "age", "serum_creatinine", "a b~!#$%&'()*+,-./:;<=>?@[]^_`{|}", `say "hi"`, `back\slash`,
		"tab\there", "line\nbreak", "\x7f", "é", "\u2028", "<script>", string([]byte{0xff}),
	} {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
		if got, want := string(appendJSON(nil, v)), strings.TrimSuffix(buf.String(), "\n"); got != want {
			t.Errorf("appendJSON(%q) = %s, want %s", v, got, want)
		}
	}
}

// The usual input, every name a feature, takes a shorter path; it must
// write exactly what the general one writes, and leave any other input to it.
func TestEncodeFeaturesOnlyAsTheGeneralPath(t *testing.T) {
	t.Parallel()
	seed := map[string]any{"age": json.Number("75"), "creatinine_phosphokinase": json.Number("582"),
		"ejection_fraction": json.Number("20"), "high_blood_pressure": true, "platelets": json.Number("265000"),
		"serum_creatinine": json.Number("1.9"), "serum_sodium": json.Number("130"), "sex": false}
	tests := []struct {
		name     string
		received map[string]any
		fast     bool
	}{
		{"the seed example", seed, true},
		{"some features only", map[string]any{"sex": true, "age": json.Number("1e2")}, true},
		{"no field", map[string]any{}, true},
		{"values of every kind", map[string]any{"age": float32(math.Inf(-1)), "platelets": math.NaN(), "sex": nil,
			"serum_sodium": "<x>\"\n", "ejection_fraction": []any{json.Number("1.0"), map[string]any{"k": "v"}},
			"serum_creatinine": strings.Repeat("9", 10_000), "high_blood_pressure": json.Number(strings.Repeat("1", 1_000))}, true},
		{"an unknown field", map[string]any{"age": json.Number("75"), "bmi": json.Number("22")}, false},
		{"an unknown field only", map[string]any{"bmi": json.Number("22")}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			want := string(encodeAnyFields(tt.received, servedFeatures))
			got, ok := encodeFeaturesOnly(tt.received, servedFeatures)
			if ok != tt.fast {
				t.Fatalf("took the short path: %v, want %v", ok, tt.fast)
			}
			if ok && string(got) != want {
				t.Errorf("short path %s\ngeneral    %s", got, want)
			}
			if all := string(encodeReceived(tt.received, servedFeatures)); all != want {
				t.Errorf("encodeReceived %s\nwant           %s", all, want)
			}
		})
	}
}
