// Package graph is the GraphQL adapter: gqlgen's generated executor, thin
// resolvers that delegate to the services in internal/, and the protections
// every operation passes through (limits and the error presenter).
package graph

//go:generate sh -c "cd .. && go tool gqlgen generate --config gqlgen.yml"

import (
	"fmt"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/mlapi/mlapi/graph/gqlmodel"
	"github.com/mlapi/mlapi/internal/account"
	"github.com/mlapi/mlapi/internal/model"
	"github.com/mlapi/mlapi/internal/prediction"
)

// Resolver holds the services the resolvers delegate to.
type Resolver struct {
	accounts    *account.Service
	predictions *prediction.Service
	modelInfo   *gqlmodel.ModelInfo
	// schema is the API's schema, for checking documents outside gqlgen's
	// executor.
	schema *ast.Schema
	// features lists the model's feature names in the order of its
	// explanations, with the PredictInput field carrying each.
	features []featureField
}

type featureField struct {
	name, field string
	boolean     bool
}

// NewResolver returns the root resolver. It refuses a model whose features
// are not exactly PredictInput's fields, so a model swapped in at run time
// cannot silently receive the wrong inputs.
func NewResolver(accounts *account.Service, predictions *prediction.Service, info model.Info) (*Resolver, error) {
	if err := checkModelFeatures(info); err != nil {
		return nil, err
	}
	features := make([]featureField, len(info.Features))
	for i, f := range info.Features {
		features[i] = featureField{name: f.Name, field: fieldName(f.Name), boolean: f.Type == model.Boolean}
	}
	return &Resolver{
		accounts:    accounts,
		predictions: predictions,
		modelInfo:   toModelInfo(info),
		schema:      NewExecutableSchema(Config{}).Schema(),
		features:    features,
	}, nil
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

// checkModelFeatures compares the model's features with PredictInput.
func checkModelFeatures(info model.Info) error {
	input := NewExecutableSchema(Config{}).Schema().Types["PredictInput"]
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

func toModelInfo(info model.Info) *gqlmodel.ModelInfo {
	out := &gqlmodel.ModelInfo{
		ID:             encodeNodeID(nodeModelInfo, info.Version),
		Version:        info.Version,
		Objective:      info.Objective,
		Booster:        info.Booster,
		NumTrees:       info.NumTrees,
		MaxDepth:       info.MaxDepth,
		BaseScore:      float32(info.BaseScore),
		XgboostVersion: info.XGBoostVersion,
		BestIteration:  info.BestIteration,
	}
	for _, f := range info.Features {
		featureType := gqlmodel.FeatureTypeNumeric
		if f.Type == model.Boolean {
			featureType = gqlmodel.FeatureTypeBoolean
		}
		out.Features = append(out.Features, gqlmodel.ModelFeature{
			Name:  f.Name,
			Field: fieldName(f.Name),
			Type:  featureType,
			Min:   toFloat32(f.Min),
			Max:   toFloat32(f.Max),
		})
	}
	return out
}

// modelInput renames PredictInput's fields to the model's feature names.
func (r *Resolver) modelInput(input map[string]any) map[string]any {
	out := make(map[string]any, len(input))
	for _, f := range r.features {
		if v, ok := input[f.field]; ok {
			out[f.name] = v
		}
	}
	return out
}

// featureByName finds a model feature by its name.
func (r *Resolver) featureByName(name string) (featureField, bool) {
	for _, f := range r.features {
		if f.name == name {
			return f, true
		}
	}
	return featureField{}, false
}

func toFloat32(p *float64) *float32 {
	if p == nil {
		return nil
	}
	f := float32(*p)
	return &f
}
