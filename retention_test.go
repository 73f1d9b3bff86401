package main

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/mlapi/mlapi/internal/store/storetest"
)

// TestServeWithRetention: with RETENTION set, the server prunes as it
// starts, logs the pass, and stops the pruner when it shuts down.
func TestServeWithRetention(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		api := newTestAPI(t, dialect)
		_, ada := api.user(t, "ada")
		for range 3 {
			api.predict(t, ada)
		}
		api.ageRequests(t, "ada", 2)

		env := map[string]string{
			"DATABASE_URL": api.url, "JWT_SECRET": randomSecret(t), "ADDR": "127.0.0.1:0", "RETENTION": "365d",
		}
		logs := newLogWatch()
		ctx, cancel := context.WithCancel(t.Context())
		served := make(chan error, 1)
		go func() {
			served <- run(ctx, []string{"serve"}, func(k string) string { return env[k] }, nil, io.Discard, logs)
		}()
		var pass struct {
			Requests, Responses, Outcomes, Batches int
		}
		if err := json.Unmarshal([]byte(logs.wait(t, `"msg":"retention pass"`)), &pass); err != nil {
			t.Fatal(err)
		}
		cancel()
		if err := <-served; err != nil {
			t.Fatalf("serve: %v", err)
		}
		if pass.Requests != 2 || pass.Responses != 2 || pass.Outcomes != 0 || pass.Batches != 1 {
			t.Errorf("logged %+v", pass)
		}
		if n := api.historyCount(t, ada); n != 1 {
			t.Errorf("ada's totalCount %d, want 1", n)
		}
	})
}

// logWatch is a server's log, which a test waits on for a line.
type logWatch struct {
	mu      sync.Mutex
	text    strings.Builder
	written chan struct{}
}

func newLogWatch() *logWatch { return &logWatch{written: make(chan struct{}, 1)} }

func (w *logWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.text.Write(p)
	select {
	case w.written <- struct{}{}:
	default:
	}
	return len(p), nil
}

// wait returns the first line holding want, once written.
func (w *logWatch) wait(t *testing.T, want string) string {
	t.Helper()
	for {
		w.mu.Lock()
		text := w.text.String()
		w.mu.Unlock()
		for line := range strings.Lines(text) {
			if strings.Contains(line, want) {
				return line
			}
		}
		select {
		case <-w.written:
		case <-t.Context().Done():
			t.Fatalf("no line with %s in the log:\n%s", want, text)
		}
	}
}
