package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/mlapi/mlapi/internal/model"
)

// predictInputType is the input type whose refusals are logged.
const predictInputType = "PredictInput"

// variableRefusals gives a predict whose input variable GraphQL refused the
// answer a predict refused by the model gets: the same BAD_USER_INPUT error
// naming every offending field, and a logged request and response.
//
// gqlgen coerces variables before any resolver runs and stops at the first
// bad field, so without this a client sending {"input": {...}} would learn of
// one problem per attempt and the refusal would never reach the audit log.
// The extension keeps the raw variables when the operation starts and, when
// the answer is a coercion error on a PredictInput variable, hands that
// variable to the prediction service to be checked as a whole and logged.
type variableRefusals struct {
	resolver *Resolver
	present  graphql.ErrorPresenterFunc
}

var (
	_ graphql.HandlerExtension          = variableRefusals{}
	_ graphql.OperationParameterMutator = variableRefusals{}
	_ graphql.ResponseInterceptor       = variableRefusals{}
)

func (variableRefusals) ExtensionName() string                   { return "VariableRefusals" }
func (variableRefusals) Validate(graphql.ExecutableSchema) error { return nil }
func (variableRefusals) statsKey() string                        { return "mlapi.rawVariables" }
func (v variableRefusals) rawVariables(op *graphql.OperationContext) map[string]any {
	raw, _ := op.Stats.GetExtension(v.statsKey()).(map[string]any)
	return raw
}

// MutateOperationParameters keeps the variables as the client sent them:
// the operation context only ever holds the coerced ones.
func (v variableRefusals) MutateOperationParameters(ctx context.Context, params *graphql.RawParams) *gqlerror.Error {
	graphql.GetOperationContext(ctx).Stats.SetExtension(v.statsKey(), params.Variables)
	return nil
}

// InterceptResponse replaces a coercion error on a PredictInput variable
// with the prediction service's refusal.
func (v variableRefusals) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	if resp == nil || resp.Data != nil || !graphql.HasOperationContext(ctx) {
		return resp
	}
	op := graphql.GetOperationContext(ctx)
	name, ok := refusedVariable(op, resp.Errors)
	if !ok {
		return resp
	}
	input, ok := v.rawVariables(op)[name].(map[string]any)
	if !ok {
		// Not an object at all: there are no fields to name.
		return resp
	}
	err := v.resolver.refusePredictInput(ctx, input)
	if err == nil {
		return resp
	}
	refusal := v.present(ctx, err)
	refusal.Path = ast.Path{ast.PathName("variable"), ast.PathName(name)}
	return &graphql.Response{Errors: gqlerror.List{refusal}, Extensions: resp.Extensions}
}

// refusedVariable names the PredictInput variable that variable coercion
// refused, if that is what errs report.
func refusedVariable(op *graphql.OperationContext, errs gqlerror.List) (string, bool) {
	if op.Operation == nil || op.Operation.Operation != ast.Mutation || op.Variables != nil {
		return "", false
	}
	for _, err := range errs {
		if !isVariableError(err) || len(err.Path) < 2 {
			continue
		}
		name, ok := err.Path[1].(ast.PathName)
		if !ok {
			continue
		}
		def := op.Operation.VariableDefinitions.ForName(string(name))
		if def != nil && def.Type.NamedType == predictInputType && def.Type.Elem == nil {
			return string(name), true
		}
	}
	return "", false
}

// refusePredictInput checks a PredictInput variable as GraphQL types it and
// as the model validates it, logs the refusal for the caller, and returns
// the error naming every offending field. It returns nil when it finds
// nothing wrong, leaving GraphQL's own error to stand.
func (r *Resolver) refusePredictInput(ctx context.Context, raw map[string]any) error {
	userID, err := r.accounts.CallerID(ctx)
	if err != nil {
		return err
	}
	input, problems := r.typePredictInput(raw)
	return r.predictions.Refuse(ctx, userID, input, problems)
}

// typePredictInput renames raw's fields to the model's feature names and
// reports what GraphQL's types refuse but the model's validation would let
// through: a field PredictInput does not have, and a Boolean given anything
// but true or false (the model also reads 0 and 1, as CSV files hold them).
// Unknown fields are kept under the name they came with, unless that name is
// a feature's, so the logged input shows what was sent.
func (r *Resolver) typePredictInput(raw map[string]any) (map[string]any, []model.FieldError) {
	input := make(map[string]any, len(raw))
	var problems []model.FieldError
	known := make(map[string]bool, len(r.features))
	for _, f := range r.features {
		known[f.field] = true
		value, ok := raw[f.field]
		if !ok {
			continue
		}
		input[f.name] = value
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
		if _, isFeature := r.featureByName(field); !isFeature {
			input[field] = value
		}
	}
	return input, problems
}
