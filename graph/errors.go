package graph

import (
	"context"
	"errors"
	"log/slog"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/mlapi/mlapi/internal/apperr"
	"github.com/mlapi/mlapi/internal/gqlhttp"
	"github.com/mlapi/mlapi/internal/httpserver"
	"github.com/mlapi/mlapi/internal/model"
)

// Codes gqlgen's executor produces itself.
const (
	codeValidation      = errcode.ValidationFailed
	codeParse           = errcode.ParseFailed
	codeComplexityLimit = "COMPLEXITY_LIMIT_EXCEEDED"
)

// requestCodes are the codes of documents refused before they ran: the
// client's to mend, shown as they are and not logged as server errors.
var requestCodes = map[string]bool{
	codeValidation:                         true,
	codeParse:                              true,
	codeComplexityLimit:                    true,
	codeIntrospectionDisabled:              true,
	gqlhttp.CodeBadRequest:                 true,
	gqlhttp.CodePersistedQueryNotFound:     true,
	gqlhttp.CodePersistedQueryNotSupported: true,
	gqlhttp.CodeTrustedDocumentRequired:    true,
}

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
			var ferr *apperr.FieldsError
			switch {
			case errors.As(err, &verr):
				presented.Extensions["fields"] = presentFields(verr)
			case errors.As(err, &ferr):
				presented.Extensions["fields"] = presentProblems(ferr)
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
		case requestCodes[code]:
			return gqlErr
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

// recoverPanic logs a resolver's panic with its stack and answers INTERNAL.
// gqlgen needs its own recoverer: it resolves fields on goroutines of its
// own, where the HTTP middleware's cannot reach.
func recoverPanic(logger *slog.Logger) graphql.RecoverFunc {
	return func(ctx context.Context, p any) error {
		httpserver.LogPanic(ctx, logger, "resolver", p)
		return apperr.New(apperr.Internal, "internal error")
	}
}

// presentProblems names every offending field of another input, in the same
// shape as presentFields, so that clients read both alike.
func presentProblems(ferr *apperr.FieldsError) []map[string]string {
	fields := make([]map[string]string, len(ferr.Problems))
	for i, p := range ferr.Problems {
		fields[i] = map[string]string{"field": p.Field, "message": p.Message}
	}
	return fields
}
