package graph

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/mlapi/mlapi/internal/apperr"
	"github.com/mlapi/mlapi/internal/model"
)

func TestErrorPresenter(t *testing.T) {
	t.Parallel()
	validation := &model.ValidationError{Fields: []model.FieldError{
		{Field: "serum_creatinine", Reason: model.ReasonOutOfRange, Message: "serum_creatinine must be at most 100"},
	}}
	tests := []struct {
		name        string
		err         error
		wantCode    string
		wantMessage string
		wantLogged  bool
	}{
		{name: "internal detail is hidden", err: errors.New("dial tcp 127.0.0.1:5432: connection refused"), wantCode: "INTERNAL", wantMessage: "internal error", wantLogged: true},
		{name: "wrapped internal error", err: fmt.Errorf("insert request: %w", errors.New("pq: syntax error")), wantCode: "INTERNAL", wantMessage: "internal error", wantLogged: true},
		{name: "unavailable keeps its safe message", err: apperr.Wrap(apperr.Unavailable, "the database is unavailable, try again later", errors.New("dial tcp 127.0.0.1:5432")), wantCode: "SERVICE_UNAVAILABLE", wantMessage: "the database is unavailable, try again later", wantLogged: true},
		{name: "application error", err: apperr.New(apperr.Conflict, "username is already taken"), wantCode: "CONFLICT", wantMessage: "username is already taken"},
		{name: "validation names fields", err: apperr.Wrap(apperr.Invalid, "the input has invalid fields", validation), wantCode: "BAD_USER_INPUT", wantMessage: "the input has invalid fields"},
		{name: "a persisted query miss is the client's", err: &gqlerror.Error{Message: "PersistedQueryNotFound", Extensions: map[string]any{"code": "PERSISTED_QUERY_NOT_FOUND"}}, wantCode: "PERSISTED_QUERY_NOT_FOUND", wantMessage: "PersistedQueryNotFound"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			present := errorPresenter(slog.New(slog.NewTextHandler(&logs, nil)))
			got := present(context.Background(), tt.err)
			if got.Extensions["code"] != tt.wantCode || got.Message != tt.wantMessage {
				t.Errorf("presented %q %v, want %q %q", got.Message, got.Extensions["code"], tt.wantMessage, tt.wantCode)
			}
			if logged := logs.Len() > 0; logged != tt.wantLogged {
				t.Errorf("logged=%v, want %v: %s", logged, tt.wantLogged, logs.String())
			}
			if strings.Contains(got.Message, "127.0.0.1") || strings.Contains(got.Message, "hunter2") {
				t.Errorf("leaked detail: %q", got.Message)
			}
		})
	}

	present := errorPresenter(slog.New(slog.DiscardHandler))
	got := present(context.Background(), apperr.Wrap(apperr.Invalid, "the input has invalid fields", validation))
	fields, _ := got.Extensions["fields"].([]map[string]string)
	if len(fields) != 1 || fields[0]["field"] != "serumCreatinine" || fields[0]["reason"] != string(model.ReasonOutOfRange) {
		t.Errorf("fields extension %v, want serumCreatinine out of range", got.Extensions["fields"])
	}
}
