package httpserver

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// No request writes an unbounded log line, however it is shaped.
func TestAccessLogIsBounded(t *testing.T) {
	t.Parallel()
	manyCodes := make([]string, 5000)
	for i := range manyCodes {
		manyCodes[i] = "GRAPHQL_VALIDATION_FAILED"
	}
	tests := []struct {
		name     string
		path     string
		notes    []slog.Attr
		wantPart []string
	}{
		{name: "a small line is unchanged", path: "/query", notes: []slog.Attr{slog.String("op", "Predict"), slog.Any("error_codes", []string{"BAD_USER_INPUT"})},
			wantPart: []string{`"op":"Predict"`, `"error_codes":["BAD_USER_INPUT"]`}},
		{name: "thousands of error codes", path: "/query", notes: []slog.Attr{slog.Any("error_codes", manyCodes)},
			wantPart: []string{`"GRAPHQL_VALIDATION_FAILED","…(`, ` more)"]`}},
		{name: "a huge operation name", path: "/query", notes: []slog.Attr{slog.String("op", strings.Repeat("o", 60_000))},
			wantPart: []string{`…(truncated, 60000 bytes)"`}},
		{name: "a long path", path: "/" + strings.Repeat("p", 10_000), wantPart: []string{`"path":"/ppp`, `…(truncated, 10001 bytes)"`}},
		{name: "many attributes", path: "/query", notes: func() []slog.Attr {
			var notes []slog.Attr
			for range 100 {
				notes = append(notes, slog.String("op", strings.Repeat("a", 1000)))
			}
			return notes
		}(), wantPart: []string{`"attrs_dropped":`, `"status":200`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			h := AccessLog(slog.New(slog.NewJSONHandler(&logs, nil)))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				Annotate(r.Context(), tt.notes...)
			}))
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, tt.path, nil))
			line := logs.String()
			if len(line) > MaxLogLine+1024 {
				t.Errorf("line of %d bytes", len(line))
			}
			for _, part := range tt.wantPart {
				if !strings.Contains(line, part) {
					t.Errorf("line lacks %s: %.400s", part, line)
				}
			}
		})
	}
}

func TestBoundedHandler(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	logger := slog.New(BoundedHandler(slog.NewJSONHandler(&logs, nil), MaxLogValue, MaxLogLine))
	logger.With("big", strings.Repeat("w", 10_000)).Error(strings.Repeat("m", 10_000),
		"err", errors.New(strings.Repeat("e", 100_000)), "panic", strings.Repeat("p", 100_000), "code", "INTERNAL")
	line := logs.String()
	if len(line) > MaxLogLine+MaxLogValue+1024 {
		t.Errorf("line of %d bytes", len(line))
	}
	for _, part := range []string{`…(truncated, 10000 bytes)`, `…(truncated, 100000 bytes)`, `"code":"INTERNAL"`} {
		if !strings.Contains(line, part) {
			t.Errorf("line lacks %s: %.300s", part, line)
		}
	}
}

// TestBoundsHoldEscaped: a value of control characters is bounded as the
// JSON handler writes it, escapes included.
func TestBoundsHoldEscaped(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	logger := slog.New(BoundedHandler(slog.NewJSONHandler(&buf, nil), MaxLogValue, MaxLogLine))
	logger.Info("request", "path", strings.Repeat("\x00", 20000), "other", strings.Repeat("<", 20000))
	if n := buf.Len(); n > MaxLogLine+1024 {
		t.Errorf("a line of %d bytes, over %d", n, MaxLogLine)
	}
}
