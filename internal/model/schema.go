package model

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// schemaFile is input_schema.json.
type schemaFile struct {
	InputSchema *struct {
		Columns []schemaColumn `json:"columns"`
	} `json:"input_schema"`
}

// schemaColumn is one column of input_schema.json; Min and Max are
// pointers because an absent bound is no bound. It aliases an unnamed
// struct type, as jsonLearner does, to keep encoding/json's errors as they
// are.
type schemaColumn = struct {
	Name string   `json:"name"`
	Type string   `json:"type"`
	Min  *float64 `json:"min"`
	Max  *float64 `json:"max"`
}

// parseSchema reads the input schema's columns as Features, reporting
// every faulty column at once so that one edit can fix them all.
func parseSchema(raw []byte, path string) ([]Feature, error) {
	columns, err := decodeSchema(raw, path)
	if err != nil {
		return nil, err
	}
	features := make([]Feature, 0, len(columns))
	seen := make(map[string]bool, len(columns))
	var problems []error
	for i, c := range columns {
		fail := func(format string, args ...any) {
			problems = append(problems, fmt.Errorf("input schema %s: input_schema.columns[%d] %q: %s", path, i, c.Name, fmt.Sprintf(format, args...)))
		}
		switch {
		case c.Name == "":
			fail("the name is empty")
		case seen[c.Name]:
			fail("the name appears twice")
		}
		seen[c.Name] = true
		kind := FeatureType(c.Type)
		switch kind {
		case Numeric:
			if c.Min != nil && c.Max != nil && *c.Min > *c.Max {
				fail("min %v is greater than max %v", *c.Min, *c.Max)
			}
		case Boolean:
			if c.Min != nil || c.Max != nil {
				fail("min and max apply to numeric columns; a boolean is 0 or 1")
			}
		default:
			fail("type %q: want %q or %q", c.Type, Numeric, Boolean)
		}
		features = append(features, Feature{Name: c.Name, Type: kind, Min: c.Min, Max: c.Max})
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	return features, nil
}

// decodeSchema decodes the schema strictly, unknown keys and trailing data
// refused: a misspelt "mni" would otherwise silently drop a bound.
func decodeSchema(raw []byte, path string) ([]schemaColumn, error) {
	decoder := json.NewDecoder(bytes.NewReader(raw))
	decoder.DisallowUnknownFields()
	var file schemaFile
	if err := decoder.Decode(&file); err != nil {
		return nil, fmt.Errorf("input schema %s: %w", path, err)
	}
	if decoder.More() {
		return nil, fmt.Errorf("input schema %s: data after the JSON object", path)
	}
	if file.InputSchema == nil || len(file.InputSchema.Columns) == 0 {
		return nil, fmt.Errorf("input schema %s: input_schema.columns: missing or empty", path)
	}
	return file.InputSchema.Columns, nil
}

// bindFeatures maps each model feature index to its index in the schema,
// by name when the model has feature_names.
func (l *loader) bindFeatures(names []string, numFeature int) ([]int32, error) {
	if numFeature < 1 {
		return nil, l.errorf("learner.learner_model_param.num_feature", "%d: want at least one feature", numFeature)
	}
	if len(names) == 0 {
		return l.bindByOrder(numFeature)
	}
	return l.bindByName(names, numFeature)
}

// bindByOrder binds a model trained on a bare array, which names no
// features: the schema gives the order, and so must be as wide.
func (l *loader) bindByOrder(numFeature int) ([]int32, error) {
	if numFeature != len(l.features) {
		return nil, l.errorf("learner.learner_model_param.num_feature", "%d, but input schema %s has %d columns (the model has no feature_names to match them by)", numFeature, l.schemaPath, len(l.features))
	}
	toSchema := make([]int32, 0, len(l.features))
	for i := range l.features {
		toSchema = append(toSchema, int32(i))
	}
	return toSchema, nil
}

// bindByName binds the model's feature names to the schema's columns, which
// must be the same set: a column the model ignores would be validated and
// then have no effect on the answer.
func (l *loader) bindByName(names []string, numFeature int) ([]int32, error) {
	if len(names) != numFeature {
		return nil, l.errorf("learner.feature_names", "%d names for num_feature %d", len(names), numFeature)
	}
	schemaIndex := make(map[string]int, len(l.features))
	for i, f := range l.features {
		schemaIndex[f.Name] = i
	}
	toSchema := make([]int32, 0, len(l.features))
	inModel := make(map[string]bool, len(names))
	for i, name := range names {
		if inModel[name] {
			return nil, l.errorf(fmt.Sprintf("learner.feature_names[%d]", i), "%q appears twice", name)
		}
		inModel[name] = true
		j, ok := schemaIndex[name]
		if !ok {
			return nil, l.errorf(fmt.Sprintf("learner.feature_names[%d]", i), "feature %q has no column in input schema %s", name, l.schemaPath)
		}
		toSchema = append(toSchema, int32(j))
	}
	for _, f := range l.features {
		if !inModel[f.Name] {
			return nil, fmt.Errorf("input schema %s: column %q is not a feature of model %s (learner.feature_names)", l.schemaPath, f.Name, l.path)
		}
	}
	return toSchema, nil
}
