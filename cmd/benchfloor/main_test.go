package main

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mlapi/mlapi/internal/store"
)

// recordingLog keeps what it is asked to log, and fails when told to.
type recordingLog struct {
	logged []store.PredictionLog
	err    error
}

func (l *recordingLog) LogPrediction(_ context.Context, p store.PredictionLog) (store.LoggedPrediction, error) {
	if l.err != nil {
		return store.LoggedPrediction{}, l.err
	}
	l.logged = append(l.logged, p)
	return store.LoggedPrediction{RequestID: int64(len(l.logged))}, nil
}

func TestHandler(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		logErr     error
		wantStatus int
		wantBody   string
		wantLogged int
	}{
		{name: "a post is logged and answered", method: http.MethodPost, path: "/query", body: `{"query":"..."}`,
			wantStatus: http.StatusOK, wantBody: string(floorAnswer), wantLogged: 1},
		{name: "any path", method: http.MethodPost, path: "/", wantStatus: http.StatusOK, wantBody: string(floorAnswer), wantLogged: 1},
		{name: "a failed write is no answer", method: http.MethodPost, path: "/query", logErr: errors.New("database down"),
			wantStatus: http.StatusServiceUnavailable, wantBody: "database down"},
		{name: "a body over 64 KiB", method: http.MethodPost, path: "/query", body: strings.Repeat("x", 64<<10+1),
			wantStatus: http.StatusBadRequest},
		{name: "readiness", method: http.MethodGet, path: "/readyz", wantStatus: http.StatusOK},
		{name: "other methods", method: http.MethodGet, path: "/query", wantStatus: http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			log := &recordingLog{err: tt.logErr}
			rec := httptest.NewRecorder()
			handler(log, 42).ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body)))
			if rec.Code != tt.wantStatus {
				t.Errorf("status %d, want %d", rec.Code, tt.wantStatus)
			}
			if !strings.Contains(rec.Body.String(), tt.wantBody) {
				t.Errorf("body %q, want it to hold %q", rec.Body.String(), tt.wantBody)
			}
			if len(log.logged) != tt.wantLogged {
				t.Fatalf("logged %d predictions, want %d", len(log.logged), tt.wantLogged)
			}
			for _, p := range log.logged {
				if p.UserID != 42 || p.Status != store.StatusOK || string(p.Input) != string(floorInput) {
					t.Errorf("logged %+v, want the floor's prediction for user 42", p)
				}
			}
		})
	}
}
