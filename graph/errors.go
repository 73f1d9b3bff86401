package graph

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/mlapi/mlapi/internal/apperr"
	"github.com/mlapi/mlapi/internal/model"
)

// Codes gqlgen's transport and executor produce themselves.
const (
	codeBadRequest      = "BAD_REQUEST"
	codeValidation      = errcode.ValidationFailed
	codeParse           = errcode.ParseFailed
	codeComplexityLimit = "COMPLEXITY_LIMIT_EXCEEDED"
)

// errorPresenter turns every error into what a client may see: the
// application error's code and message, or a generic INTERNAL error whose
// detail goes to the log only. Nothing from the request body or the database
// driver reaches the answer.
func errorPresenter(logger *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		gqlErr := graphql.DefaultErrorPresenter(ctx, err)

		var appErr *apperr.Error
		if errors.As(err, &appErr) {
			presented := &gqlerror.Error{
				Message:    appErr.Message,
				Path:       gqlErr.Path,
				Locations:  gqlErr.Locations,
				Extensions: map[string]any{"code": string(appErr.Code)},
			}
			var verr *model.ValidationError
			if errors.As(err, &verr) {
				presented.Extensions["fields"] = presentFields(verr)
			}
			if appErr.Code == apperr.Internal || appErr.Code == apperr.Unavailable {
				logger.ErrorContext(ctx, "operation failed", "code", appErr.Code, "path", gqlErr.Path.String(), "err", err)
			}
			return presented
		}

		code, _ := gqlErr.Extensions["code"].(string)
		switch {
		case code == codeValidation && isVariableError(gqlErr):
			// A variable that does not fit its declared type is the caller's
			// input at fault, as an inline value would be.
			gqlErr.Extensions["code"] = string(apperr.Invalid)
			return gqlErr
		case code == codeValidation || code == codeParse || code == codeComplexityLimit:
			return gqlErr
		case strings.HasPrefix(gqlErr.Message, "json request body could not be decoded"):
			// gqlgen's transport echoes the whole body here; answer generically.
			return &gqlerror.Error{Message: "the request body is not valid GraphQL-over-HTTP JSON", Extensions: map[string]any{"code": codeBadRequest}}
		case strings.HasPrefix(gqlErr.Message, "could not read request body"):
			return &gqlerror.Error{Message: "the request body could not be read (it may be too large)", Extensions: map[string]any{"code": codeBadRequest}}
		}

		logger.ErrorContext(ctx, "operation failed", "code", apperr.Internal, "path", gqlErr.Path.String(), "err", err)
		return &gqlerror.Error{
			Message:    "internal error",
			Path:       gqlErr.Path,
			Locations:  gqlErr.Locations,
			Extensions: map[string]any{"code": string(apperr.Internal)},
		}
	}
}

func isVariableError(err *gqlerror.Error) bool {
	if len(err.Path) == 0 {
		return false
	}
	first, ok := err.Path[0].(ast.PathName)
	return ok && first == "variable"
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

// recoverPanic logs a resolver's panic with its stack and answers INTERNAL.
func recoverPanic(logger *slog.Logger) graphql.RecoverFunc {
	return func(ctx context.Context, p any) error {
		logger.ErrorContext(ctx, "resolver panic", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		return apperr.New(apperr.Internal, "internal error")
	}
}
