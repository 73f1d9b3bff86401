package graph

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/mlapi/mlapi/internal/model"
)

// PredictInput and the model's features are one list under two spellings:
// the model reads serum_creatinine where GraphQL has serumCreatinine. This
// file is every crossing between the two, so that a model whose features
// drift from the schema fails in one place: at BindModel.

// predictInputType is the input type whose fields are the model's features.
const predictInputType = "PredictInput"

// featureField is one model feature with the PredictInput field carrying it.
type featureField struct {
	name, field string
	boolean     bool
}

// bindFeatures pairs each of the model's features, in the model's order (the
// order of its explanations), with its PredictInput field, once it checked
// that the two lists match.
func bindFeatures(schema *ast.Schema, info model.Info) ([]featureField, error) {
	if err := checkModelFeatures(schema.Types[predictInputType], info); err != nil {
		return nil, err
	}
	features := make([]featureField, len(info.Features))
	for i, f := range info.Features {
		features[i] = featureField{name: f.Name, field: fieldName(f.Name), boolean: f.Type == model.Boolean}
	}
	return features, nil
}

// fieldName is the GraphQL input field of a model feature:
// serum_creatinine is serumCreatinine.
func fieldName(feature string) string {
	parts := strings.Split(feature, "_")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "")
}

// checkModelFeatures compares the model's features with PredictInput's
// fields, by name and by type.
func checkModelFeatures(input *ast.Definition, info model.Info) error {
	fields := make(map[string]string, len(input.Fields))
	for _, f := range input.Fields {
		fields[f.Name] = f.Type.NamedType
	}
	for _, f := range info.Features {
		name := fieldName(f.Name)
		graphType, ok := fields[name]
		if !ok {
			return fmt.Errorf("model feature %q has no PredictInput field %q", f.Name, name)
		}
		want := "Float"
		if f.Type == model.Boolean {
			want = "Boolean"
		}
		if graphType != want {
			return fmt.Errorf("model feature %q is %s but PredictInput.%s is %s", f.Name, f.Type, name, graphType)
		}
		delete(fields, name)
	}
	for name := range fields {
		return fmt.Errorf("PredictInput field %q is not a feature of the model", name)
	}
	return nil
}

// modelInput renames PredictInput's fields to the model's feature names.
func (b *BoundModel) modelInput(input map[string]any) map[string]any {
	out := make(map[string]any, len(input))
	for _, f := range b.features {
		if v, ok := input[f.field]; ok {
			out[f.name] = v
		}
	}
	return out
}

// featureByName finds a model feature by its name.
func (b *BoundModel) featureByName(name string) (featureField, bool) {
	for _, f := range b.features {
		if f.name == name {
			return f, true
		}
	}
	return featureField{}, false
}

// typePredictInput renames raw's fields to the model's feature names and
// reports what GraphQL's types refuse but the model's validation would let
// through: a field PredictInput does not have, and a Boolean given anything
// but true or false (the model also reads 0 and 1, as CSV files hold them).
//
// It returns the input for the model and the input as received, to be
// logged. They differ in one way: a Float given as a string that GraphQL's
// coercion reads as a number ("35", "NaN", "1e39") reaches the model as that
// number's text, so the model names it as it names a number ("NaN" is
// non_finite, "1e39" out_of_range), while the log keeps the string. Unknown
// fields are kept under the name they came with, unless that name is a
// feature's, so the logged input shows what was sent.
func (b *BoundModel) typePredictInput(raw map[string]any) (input, received map[string]any, problems []model.FieldError) {
	input = make(map[string]any, len(raw))
	received = make(map[string]any, len(raw))
	known := make(map[string]bool, len(b.features))
	for _, f := range b.features {
		known[f.field] = true
		value, ok := raw[f.field]
		if !ok {
			continue
		}
		input[f.name], received[f.name] = value, value
		if text, isString := value.(string); !f.boolean && isString && isFloatText(text) {
			input[f.name] = json.Number(text)
		}
		if _, isBool := value.(bool); f.boolean && value != nil && !isBool {
			problems = append(problems, model.FieldError{
				Field: f.name, Reason: model.ReasonType, Message: "want true or false, got " + model.DescribeJSON(value),
			})
		}
	}
	for field, value := range raw {
		if known[field] {
			continue
		}
		problems = append(problems, model.FieldError{Field: field, Reason: model.ReasonUnknown, Message: "not a field of " + predictInputType})
		if _, isFeature := b.featureByName(field); !isFeature {
			input[field], received[field] = value, value
		}
	}
	return input, received, problems
}

// isFloatText reports whether GraphQL's coercion of a variable reads text
// as a Float, as gqlparser's variable validation does.
func isFloatText(text string) bool {
	_, err := strconv.ParseFloat(text, 64)
	return err == nil || errors.Is(err, strconv.ErrRange)
}

// validPredictLiteral is a PredictInput literal GraphQL accepts: every
// feature, numbers as 1 and booleans as true.
func (b *BoundModel) validPredictLiteral() *ast.Value {
	literal := &ast.Value{Kind: ast.ObjectValue}
	for _, f := range b.features {
		value := &ast.Value{Kind: ast.IntValue, Raw: "1"}
		if f.boolean {
			value = &ast.Value{Kind: ast.BooleanValue, Raw: "true"}
		}
		literal.Children = append(literal.Children, &ast.ChildValue{Name: f.field, Value: value})
	}
	return literal
}

// presentFields names every offending field by its GraphQL input field; an
// unknown field is named as the client sent it, being no feature's.
func presentFields(verr *model.ValidationError) []map[string]string {
	fields := make([]map[string]string, len(verr.Fields))
	for i, f := range verr.Fields {
		name := fieldName(f.Field)
		if f.Reason == model.ReasonUnknown {
			name = f.Field
		}
		fields[i] = map[string]string{
			"field":   name,
			"reason":  string(f.Reason),
			"message": f.Message,
		}
	}
	return fields
}
