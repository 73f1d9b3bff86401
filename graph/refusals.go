package graph

import (
	"cmp"
	"context"
	"encoding/json"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"

	"github.com/mlapi/mlapi/internal/account"
	"github.com/mlapi/mlapi/internal/model"
)

// A predict whose input GraphQL itself refuses never reaches its resolver:
// gqlgen answers with GraphQL's error for the first bad field only, and the
// caller's history keeps no trace of the attempt. The two extensions here
// give such a predict what a predict the model refused gets: one
// BAD_USER_INPUT error naming every bad field, and a logged request and
// response.
//
// receivedParams keeps the request as the client sent it. variableRefusals
// looks at every answer that carries no data: when the only fault GraphQL
// found is the input of a predict, given as a variable or written in the
// document, it has the prediction service check that input as a whole, log
// it, and answers with that refusal instead.
//
// What the order of the extensions in newServer may change, and what not
// (refusals_test.go pins both):
//
//   - receivedParams must be added before documents. A document that fails
//     validation stops the parameter mutators at documents; a receivedParams
//     added after it never sees the request, and literal refusals stop.
//   - variableRefusals must be added after annotateLog, which then logs the
//     refusal's code rather than the error the refusal replaced.
//   - receivedParams may come before or after the persisted documents: it
//     keeps the parameters themselves and reads the query once they are
//     final. variableRefusals may come before or after capErrors: it lays
//     out the errors documents joined itself.

// variableRefusals answers a predict whose input GraphQL refused as the
// prediction service refuses it, and logs it. gqlgen checks variables
// before any resolver runs and stops at the first bad field, and refuses an
// invalid literal before anything runs at all.
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
	return receivedFor(op).Variables
}

const receivedParamsKey = "mlapi.receivedParams"

// receivedParams keeps the request's parameters in the operation context,
// for receivedFor. They hold the variables as the client sent them, where
// the operation context only ever holds the coerced ones, and the document
// even when validation refused it, when the operation context holds none.
// It keeps the parameters themselves, not a copy: a persisted document
// added after it fills in the query, and what is read at the answer is the
// query that ran.
type receivedParams struct{}

var (
	_ graphql.HandlerExtension          = receivedParams{}
	_ graphql.OperationParameterMutator = receivedParams{}
)

func (receivedParams) ExtensionName() string                   { return "ReceivedParams" }
func (receivedParams) Validate(graphql.ExecutableSchema) error { return nil }

func (receivedParams) MutateOperationParameters(ctx context.Context, params *graphql.RawParams) *gqlerror.Error {
	graphql.GetOperationContext(ctx).Stats.SetExtension(receivedParamsKey, params)
	return nil
}

// receivedFor returns the parameters receivedParams kept for op, or empty
// ones when it did not see the request.
func receivedFor(op *graphql.OperationContext) *graphql.RawParams {
	if params, ok := op.Stats.GetExtension(receivedParamsKey).(*graphql.RawParams); ok {
		return params
	}
	return &graphql.RawParams{}
}

// InterceptResponse replaces GraphQL's refusal of a predict's input, given
// as a variable or as a literal, with the prediction service's refusal.
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
	served := r.served()
	input, received, problems := served.typePredictInput(raw)
	return account.CallerError(served.predictions.RefuseReceived(ctx, userID, input, received, problems))
}

// receivedPredictInput returns the input argument of the predict field
// being resolved, as the client sent it, keyed by PredictInput's fields. It
// reports false when the argument cannot be found, as outside a gqlgen
// request. An inline object is read from the document's literals, each
// number as a json.Number with the literal's text. A variable is read from
// the variables as the transport decoded them, where numbers are
// json.Number too. The input may mix both.
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

// literalRefusal answers a predict whose input literal, written in the
// document, failed GraphQL's validation as any refused predict is answered,
// and logs it as one, so that every authenticated predict call leaves a
// request and a response. It applies only when every error of the answer
// lies in that literal: a document with other faults keeps GraphQL's own
// errors and runs nothing.
func (v variableRefusals) literalRefusal(ctx context.Context, op *graphql.OperationContext, resp *graphql.Response) *graphql.Response {
	// gqlgen sets op.OperationName only for a document that validated.
	received := receivedFor(op)
	doc, opDef, predict, ok := refusedLiteral(received.Query, cmp.Or(op.OperationName, received.OperationName), resp.Errors)
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
	served := v.resolver.served()
	arg.Value = served.validPredictLiteral()
	if errs := validator.ValidateWithRules(v.resolver.schema, doc, validationRules()); len(errs) > 0 {
		return resp
	}
	err := v.resolver.refusePredictLiteral(ctx, served, raw)
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
	errs = layOut(errs, func(err *gqlerror.Error) *gqlerror.Error { return err })
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

// before reports whether a location comes before a position.
func before(at gqlerror.Location, p *ast.Position) bool {
	return at.Line < p.Line || (at.Line == p.Line && at.Column < p.Column)
}

// refusePredictLiteral is refusePredictInput for an input literal. In a
// literal a string is not a Float, as GraphQL's typing of literals says,
// whereas a variable's "35" is read as 35.
func (r *Resolver) refusePredictLiteral(ctx context.Context, served *BoundModel, raw map[string]any) error {
	ctx, userID, err := r.accounts.CallerID(ctx)
	if err != nil {
		return err
	}
	input, received, problems := served.typePredictInput(raw)
	for _, f := range served.features {
		if text, isString := raw[f.field].(string); isString && !f.boolean {
			input[f.name] = text
			problems = append(problems, model.FieldError{
				Field: f.name, Reason: model.ReasonType, Message: "want a number, got a string",
			})
		}
	}
	return account.CallerError(served.predictions.RefuseReceived(ctx, userID, input, received, problems))
}
