package graph

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"

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
	_ graphql.HandlerExtension    = variableRefusals{}
	_ graphql.ResponseInterceptor = variableRefusals{}
)

func (variableRefusals) ExtensionName() string                   { return "VariableRefusals" }
func (variableRefusals) Validate(graphql.ExecutableSchema) error { return nil }
func (variableRefusals) rawVariables(op *graphql.OperationContext) map[string]any {
	raw, _ := op.Stats.GetExtension(rawVariablesKey).(map[string]any)
	return raw
}

const (
	rawVariablesKey = "mlapi.rawVariables"
	rawQueryKey     = "mlapi.rawQuery"
)

// receivedParams keeps the variables as the client sent them (the operation
// context only ever holds the coerced ones) and the document, which the
// operation context does not hold when validation refused it. It must run
// before any extension that parses or validates the document.
type receivedParams struct{}

var (
	_ graphql.HandlerExtension          = receivedParams{}
	_ graphql.OperationParameterMutator = receivedParams{}
)

func (receivedParams) ExtensionName() string                   { return "ReceivedParams" }
func (receivedParams) Validate(graphql.ExecutableSchema) error { return nil }

func (receivedParams) MutateOperationParameters(ctx context.Context, params *graphql.RawParams) *gqlerror.Error {
	stats := &graphql.GetOperationContext(ctx).Stats
	stats.SetExtension(rawVariablesKey, params.Variables)
	stats.SetExtension(rawQueryKey, params.Query)
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
		return v.literalRefusal(ctx, op, resp)
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
	ctx, userID, err := r.accounts.CallerID(ctx)
	if err != nil {
		return err
	}
	input, received, problems := r.typePredictInput(raw)
	return r.predictions.RefuseReceived(ctx, userID, input, received, problems)
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
func (r *Resolver) typePredictInput(raw map[string]any) (input, received map[string]any, problems []model.FieldError) {
	input = make(map[string]any, len(raw))
	received = make(map[string]any, len(raw))
	known := make(map[string]bool, len(r.features))
	for _, f := range r.features {
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
		if _, isFeature := r.featureByName(field); !isFeature {
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

// receivedPredictInput returns the input argument of the predict field
// being resolved as the client sent it, keyed by PredictInput's fields: an
// inline object from the document's literals (each number as json.Number
// with the literal's text), a variable from the variables as the transport
// decoded them (numbers are json.Number there too), or a mix of both. It
// reports false when the argument cannot be found, outside a gqlgen request.
func (r *Resolver) receivedPredictInput(ctx context.Context) (map[string]any, bool) {
	if !graphql.HasOperationContext(ctx) {
		return nil, false
	}
	fc := graphql.GetFieldContext(ctx)
	if fc == nil || fc.Field.Field == nil {
		return nil, false
	}
	arg := fc.Field.Arguments.ForName("input")
	if arg == nil || arg.Value == nil {
		return nil, false
	}
	op := graphql.GetOperationContext(ctx)
	var defs ast.VariableDefinitionList
	if op.Operation != nil {
		defs = op.Operation.VariableDefinitions
	}
	raw, ok := receivedValue(arg.Value, variableRefusals{}.rawVariables(op), defs).(map[string]any)
	return raw, ok
}

// receivedValue is a document value as the client wrote it, with its
// variables as the client sent them.
func receivedValue(v *ast.Value, vars map[string]any, defs ast.VariableDefinitionList) any {
	switch v.Kind {
	case ast.Variable:
		if value, ok := vars[v.Raw]; ok {
			return value
		}
		if def := defs.ForName(v.Raw); def != nil && def.DefaultValue != nil {
			return receivedValue(def.DefaultValue, nil, nil)
		}
		return nil
	case ast.IntValue, ast.FloatValue:
		return json.Number(v.Raw)
	case ast.StringValue, ast.BlockValue, ast.EnumValue:
		return v.Raw
	case ast.BooleanValue:
		return v.Raw == "true"
	case ast.ListValue:
		list := make([]any, len(v.Children))
		for i, child := range v.Children {
			list[i] = receivedValue(child.Value, vars, defs)
		}
		return list
	case ast.ObjectValue:
		object := make(map[string]any, len(v.Children))
		for _, child := range v.Children {
			object[child.Name] = receivedValue(child.Value, vars, defs)
		}
		return object
	default: // ast.NullValue
		return nil
	}
}

// literalRefusal gives a predict whose input literal, written in the
// document, failed GraphQL's validation the answer and the log line of any
// refused predict: every authenticated predict call leaves a request and a
// response. It applies only when every error of the answer lies in that
// literal, so a document with other faults keeps GraphQL's own errors and
// runs nothing.
func (v variableRefusals) literalRefusal(ctx context.Context, op *graphql.OperationContext, resp *graphql.Response) *graphql.Response {
	query, _ := op.Stats.GetExtension(rawQueryKey).(string)
	doc, opDef, predict, ok := refusedLiteral(query, op.OperationName, resp.Errors)
	if !ok {
		return resp
	}
	arg := predict.Arguments.ForName("input")
	literal := arg.Value
	raw, ok := receivedValue(literal, v.rawVariables(op), opDef.VariableDefinitions).(map[string]any)
	if !ok {
		return resp
	}
	// Validation may stop at its first failing rule: the literal must be
	// the document's only fault, which a valid literal in its place shows.
	arg.Value = v.resolver.validPredictLiteral()
	if errs := validator.ValidateWithRules(v.resolver.schema, doc, validationRules()); len(errs) > 0 {
		return resp
	}
	err := v.resolver.refusePredictLiteral(ctx, raw)
	if err == nil {
		return resp
	}
	refusal := v.present(ctx, err)
	refusal.Path = ast.Path{ast.PathName(predict.Alias)}
	refusal.Locations = []gqlerror.Location{{Line: literal.Position.Line, Column: literal.Position.Column}}
	return &graphql.Response{Errors: gqlerror.List{refusal}, Extensions: resp.Extensions}
}

// refusedLiteral finds, in a document that validation refused, the one
// predict field of the mutation to run, when its input is an object literal
// and every error is a value error located inside that field. It returns the
// document parsed anew, for the caller to change.
func refusedLiteral(query, operationName string, errs gqlerror.List) (*ast.QueryDocument, *ast.OperationDefinition, *ast.Field, bool) {
	if query == "" || len(errs) == 0 {
		return nil, nil, nil, false
	}
	for _, e := range errs { // before parsing anything again
		if !strings.HasPrefix(e.Rule, "ValuesOfCorrectType") || len(e.Locations) == 0 {
			return nil, nil, nil, false
		}
	}
	doc, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: query}, maxLiteralTokens)
	if err != nil {
		return nil, nil, nil, false
	}
	op := doc.Operations.ForName(operationName)
	if op == nil || op.Operation != ast.Mutation {
		return nil, nil, nil, false
	}
	var predict *ast.Field
	var next *ast.Position // where the field after predict starts
	for i, sel := range op.SelectionSet {
		field, ok := sel.(*ast.Field)
		if !ok || field.Name != "predict" {
			continue
		}
		if predict != nil {
			return nil, nil, nil, false // two predicts: which one erred is not ours to guess
		}
		predict = field
		if i+1 < len(op.SelectionSet) {
			next = op.SelectionSet[i+1].GetPosition()
		}
	}
	if predict == nil {
		return nil, nil, nil, false
	}
	arg := predict.Arguments.ForName("input")
	if arg == nil || arg.Value == nil || arg.Value.Kind != ast.ObjectValue {
		return nil, nil, nil, false
	}
	for _, e := range errs {
		for _, at := range e.Locations {
			if before(at, predict.Position) || (next != nil && !before(at, next)) {
				return nil, nil, nil, false
			}
		}
	}
	return doc, op, predict, true
}

// maxLiteralTokens bounds the parse of a refused document: the executor's
// own parse of it already passed this limit.
const maxLiteralTokens = 5000

// validPredictLiteral is a PredictInput literal GraphQL accepts: every
// feature, numbers as 1 and booleans as true.
func (r *Resolver) validPredictLiteral() *ast.Value {
	literal := &ast.Value{Kind: ast.ObjectValue}
	for _, f := range r.features {
		value := &ast.Value{Kind: ast.IntValue, Raw: "1"}
		if f.boolean {
			value = &ast.Value{Kind: ast.BooleanValue, Raw: "true"}
		}
		literal.Children = append(literal.Children, &ast.ChildValue{Name: f.field, Value: value})
	}
	return literal
}

// before reports whether a location comes before a position.
func before(at gqlerror.Location, p *ast.Position) bool {
	return at.Line < p.Line || (at.Line == p.Line && at.Column < p.Column)
}

// refusePredictLiteral is refusePredictInput for an input literal: there a
// string is no Float, as GraphQL's typing of literals says, where a
// variable's "35" is read as 35.
func (r *Resolver) refusePredictLiteral(ctx context.Context, raw map[string]any) error {
	ctx, userID, err := r.accounts.CallerID(ctx)
	if err != nil {
		return err
	}
	input, received, problems := r.typePredictInput(raw)
	for _, f := range r.features {
		if text, isString := raw[f.field].(string); isString && !f.boolean {
			input[f.name] = text
			problems = append(problems, model.FieldError{
				Field: f.name, Reason: model.ReasonType, Message: "want a number, got a string",
			})
		}
	}
	return r.predictions.RefuseReceived(ctx, userID, input, received, problems)
}
