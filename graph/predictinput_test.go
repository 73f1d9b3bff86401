package graph

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"

	"github.com/mlapi/mlapi/internal/model"
)

// servedModel is the model the server serves, loaded once per test.
func servedModel(t *testing.T) model.Info {
	t.Helper()
	m, err := model.LoadDir("../model")
	if err != nil {
		t.Fatal(err)
	}
	return m.Info()
}

// featureBinding is the served model bound to the API without services:
// enough for what only renames and types inputs.
func featureBinding(t *testing.T) *BoundModel {
	t.Helper()
	b, err := BindModel(servedModel(t), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestFieldName(t *testing.T) {
	t.Parallel()
	for feature, want := range map[string]string{
		"age":                      "age",
		"serum_creatinine":         "serumCreatinine",
		"creatinine_phosphokinase": "creatininePhosphokinase",
		"high_blood_pressure":      "highBloodPressure",
	} {
		if got := fieldName(feature); got != want {
			t.Errorf("fieldName(%q) = %q, want %q", feature, got, want)
		}
	}
}

func TestCheckModelFeatures(t *testing.T) {
	t.Parallel()
	served := servedModel(t)
	input := NewExecutableSchema(Config{}).Schema().Types[predictInputType]
	tests := []struct {
		name    string
		change  func([]model.Feature) []model.Feature
		wantErr string
	}{
		{name: "the served model", change: func(f []model.Feature) []model.Feature { return f }},
		{name: "in another order", change: func(f []model.Feature) []model.Feature { slices.Reverse(f); return f }},
		{
			name: "a feature PredictInput lacks",
			change: func(f []model.Feature) []model.Feature {
				return append(f, model.Feature{Name: "smoking", Type: model.Boolean})
			},
			wantErr: `model feature "smoking" has no PredictInput field "smoking"`,
		},
		{
			name:    "a field the model lacks",
			change:  func(f []model.Feature) []model.Feature { return f[1:] },
			wantErr: `PredictInput field "age" is not a feature of the model`,
		},
		{
			name: "a numeric feature made boolean",
			change: func(f []model.Feature) []model.Feature {
				f[0].Type = model.Boolean
				return f
			},
			wantErr: `model feature "age" is boolean but PredictInput.age is Float`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			info := served
			info.Features = tt.change(slices.Clone(served.Features))
			err := checkModelFeatures(input, info)
			if got := errorText(err); got != tt.wantErr {
				t.Errorf("checkModelFeatures = %q, want %q", got, tt.wantErr)
			}
			if _, err := BindModel(info, nil, nil); (err == nil) != (tt.wantErr == "") {
				t.Errorf("BindModel = %v, want an error: %v", err, tt.wantErr != "")
			}
		})
	}
}

func errorText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestModelInput(t *testing.T) {
	t.Parallel()
	b := featureBinding(t)
	got := b.modelInput(map[string]any{"age": 60.0, "serumCreatinine": 1.5, "highBloodPressure": true})
	want := map[string]any{"age": 60.0, "serum_creatinine": 1.5, "high_blood_pressure": true}
	if !maps.Equal(got, want) {
		t.Errorf("modelInput = %v, want %v", got, want)
	}
}

func TestTypePredictInput(t *testing.T) {
	t.Parallel()
	b := featureBinding(t)
	tests := []struct {
		name         string
		raw          map[string]any
		wantInput    map[string]any
		wantReceived map[string]any
		wantProblems []string // field:reason
	}{
		{
			name:         "renamed, nothing to say",
			raw:          map[string]any{"age": json.Number("60"), "serumCreatinine": json.Number("1.5"), "sex": true},
			wantInput:    map[string]any{"age": json.Number("60"), "serum_creatinine": json.Number("1.5"), "sex": true},
			wantReceived: map[string]any{"age": json.Number("60"), "serum_creatinine": json.Number("1.5"), "sex": true},
		},
		{
			name:         "a Float as text GraphQL reads as a number reaches the model as one",
			raw:          map[string]any{"age": "35", "platelets": "1e39"},
			wantInput:    map[string]any{"age": json.Number("35"), "platelets": json.Number("1e39")},
			wantReceived: map[string]any{"age": "35", "platelets": "1e39"},
		},
		{
			name:         "a Float as other text stays text",
			raw:          map[string]any{"age": "old"},
			wantInput:    map[string]any{"age": "old"},
			wantReceived: map[string]any{"age": "old"},
		},
		{
			name:         "a Boolean as a number",
			raw:          map[string]any{"sex": json.Number("1"), "highBloodPressure": "true"},
			wantInput:    map[string]any{"sex": json.Number("1"), "high_blood_pressure": "true"},
			wantReceived: map[string]any{"sex": json.Number("1"), "high_blood_pressure": "true"},
			wantProblems: []string{"high_blood_pressure:wrong_type", "sex:wrong_type"},
		},
		{
			name:         "a null Boolean is the model's to call missing",
			raw:          map[string]any{"sex": nil},
			wantInput:    map[string]any{"sex": nil},
			wantReceived: map[string]any{"sex": nil},
		},
		{
			name:         "an unknown field is kept under its name",
			raw:          map[string]any{"smoking": true},
			wantInput:    map[string]any{"smoking": true},
			wantReceived: map[string]any{"smoking": true},
			wantProblems: []string{"smoking:unknown_field"},
		},
		{
			name:         "a feature's name is no field, and not passed on as the feature",
			raw:          map[string]any{"serum_creatinine": json.Number("9")},
			wantInput:    map[string]any{},
			wantReceived: map[string]any{},
			wantProblems: []string{"serum_creatinine:unknown_field"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			input, received, problems := b.typePredictInput(tt.raw)
			if !reflect.DeepEqual(input, tt.wantInput) {
				t.Errorf("input %#v, want %#v", input, tt.wantInput)
			}
			if !reflect.DeepEqual(received, tt.wantReceived) {
				t.Errorf("received %#v, want %#v", received, tt.wantReceived)
			}
			var got []string
			for _, p := range problems {
				got = append(got, p.Field+":"+string(p.Reason))
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.wantProblems) {
				t.Errorf("problems %v, want %v", got, tt.wantProblems)
			}
		})
	}
}

func TestIsFloatText(t *testing.T) {
	t.Parallel()
	for text, want := range map[string]bool{
		"35": true, "-2.5": true, "1e39": true, "1e400": true, "NaN": true, "Inf": true,
		"": false, "old": false, "0x": false, "35 ": false,
	} {
		if got := isFloatText(text); got != want {
			t.Errorf("isFloatText(%q) = %v, want %v", text, got, want)
		}
	}
}

// The literal refusals put in place of the refused one must pass
// validation, or no literal would ever be found the document's only fault.
func TestValidPredictLiteral(t *testing.T) {
	t.Parallel()
	b := featureBinding(t)
	literal := b.validPredictLiteral()
	if len(literal.Children) != len(b.features) {
		t.Fatalf("the literal has %d fields, want one per feature (%d)", len(literal.Children), len(b.features))
	}
	doc, err := parser.ParseQuery(&ast.Source{Input: `mutation { predict(input: {}) { yhat } }`})
	if err != nil {
		t.Fatal(err)
	}
	doc.Operations[0].SelectionSet[0].(*ast.Field).Arguments.ForName("input").Value = literal
	if errs := validator.ValidateWithRules(parsedSchema, doc, validationRules()); len(errs) > 0 {
		t.Errorf("the valid literal is refused: %v", errs)
	}
}

func TestPresentFields(t *testing.T) {
	t.Parallel()
	verr := &model.ValidationError{Fields: []model.FieldError{
		{Field: "serum_creatinine", Reason: model.ReasonOutOfRange, Message: "too high"},
		{Field: "smoking_status", Reason: model.ReasonUnknown, Message: "not a field"},
	}}
	got := presentFields(verr)
	var names []string
	for _, f := range got {
		names = append(names, f["field"]+":"+f["reason"])
	}
	if want := "serumCreatinine:out_of_range smoking_status:unknown_field"; strings.Join(names, " ") != want {
		t.Errorf("presentFields named %v, want %s", names, want)
	}
}
