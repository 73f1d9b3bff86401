package apperr

import (
	"errors"
	"fmt"
	"testing"
)

func TestCodeAndMessage(t *testing.T) {
	t.Parallel()
	cause := errors.New("dial tcp 10.0.0.1:5432: connection refused")
	tests := []struct {
		name        string
		err         error
		wantCode    Code
		wantMessage string
	}{
		{"application error", New(Conflict, "username is already taken"), Conflict, "username is already taken"},
		{"wrapped twice", fmt.Errorf("register: %w", Wrap(Unavailable, "the database is unavailable", cause)), Unavailable, "the database is unavailable"},
		{"anything else is internal, with a generic message", cause, Internal, "internal error"},
	}
	for _, tt := range tests {
		if got := CodeOf(tt.err); got != tt.wantCode {
			t.Errorf("%s: CodeOf = %s, want %s", tt.name, got, tt.wantCode)
		}
		if got := MessageOf(tt.err); got != tt.wantMessage {
			t.Errorf("%s: MessageOf = %q, want %q", tt.name, got, tt.wantMessage)
		}
	}
	if CodeOf(nil) != "" {
		t.Error("CodeOf(nil) is not empty")
	}
	if !errors.Is(Wrap(Internal, "x", cause), cause) {
		t.Error("Wrap loses its cause")
	}
}
