package httpserver

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
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

// A record within the bounds goes to the next handler as it is; it must come
// out exactly as bounding it would write it, and any record that bounding
// would change must be bounded.
func TestBoundedHandlerPassesWhatFits(t *testing.T) {
	t.Parallel()
	const maxValue, maxLine = 64, 512
	at := time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		msg    string
		attrs  []slog.Attr
		within bool
	}{
		{"an access log line", "request", []slog.Attr{slog.String("method", "POST"), slog.String("path", "/query"),
			slog.Int("status", 200), slog.Duration("elapsed", 1234567), slog.Bool("ok", true), slog.Time("at", at)}, true},
		{"a value at the bound", "m", []slog.Attr{slog.String("v", strings.Repeat("v", maxValue))}, true},
		{"a value past the bound", "m", []slog.Attr{slog.String("v", strings.Repeat("v", maxValue+1))}, false},
		{"escapes count", "m", []slog.Attr{slog.String("v", strings.Repeat("\x00", maxValue/6+1))}, false},
		{"a long message", strings.Repeat("m", maxValue+1), nil, false},
		{"a long key", "m", []slog.Attr{slog.Int(strings.Repeat("k", 129), 1)}, false},
		{"a line past the bound", "m", lineOf(9, 60), false},
		{"a line at the bound", "m", lineOf(8, 63), true},
		{"an error", "m", []slog.Attr{slog.Any("err", errors.New("short"))}, false},
		{"a group", "m", []slog.Attr{slog.Group("g", slog.String("k", "v"))}, false},
		{"a list", "m", []slog.Attr{slog.Any("codes", []string{"A", "B"})}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var passed, bounded bytes.Buffer
			h := boundedHandler{next: slog.NewJSONHandler(&passed, nil), maxValue: maxValue, maxLine: maxLine}
			slow := boundedHandler{next: slog.NewJSONHandler(&bounded, nil), maxValue: maxValue, maxLine: maxLine}
			r := slog.NewRecord(at, slog.LevelInfo, tt.msg, 0)
			r.AddAttrs(tt.attrs...)
			if got := h.within(r); got != tt.within {
				t.Errorf("within: %v, want %v", got, tt.within)
			}
			if err := h.Handle(context.Background(), r); err != nil {
				t.Fatal(err)
			}
			if err := slow.handleBounded(context.Background(), r); err != nil {
				t.Fatal(err)
			}
			if passed.String() != bounded.String() {
				t.Errorf("wrote  %s\nbounded %s", passed.String(), bounded.String())
			}
		})
	}
}

// lineOf is n string attributes of size bytes each, keys included.
func lineOf(n, size int) []slog.Attr {
	attrs := make([]slog.Attr, n)
	for i := range attrs {
		attrs[i] = slog.String(string(rune('a'+i)), strings.Repeat("v", size-1))
	}
	return attrs
}
