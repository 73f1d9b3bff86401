package httpserver

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mlapi/mlapi/internal/auth"
)

func TestMiddleware(t *testing.T) {
	t.Parallel()
	// echo reports what the handler saw: the token in its context and the
	// body it could read.
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, _ := auth.TokenFrom(r.Context())
		if reason, malformed := auth.MalformedCredentials(r.Context()); malformed {
			token = "malformed: " + reason
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "read: "+err.Error(), http.StatusBadRequest)
			return
		}
		_, _ = io.WriteString(w, token+"|"+string(body))
	})
	h := Chain(echo, LimitBody(16), BearerToken)
	tests := []struct {
		name       string
		header     string
		body       io.Reader
		wantStatus int
		wantBody   string
	}{
		{name: "bearer token", header: "Bearer abc.def.ghi", body: strings.NewReader("hi"), wantStatus: 200, wantBody: "abc.def.ghi|hi"},
		{name: "bare token, as the seed's clients send it", header: "abc.def.ghi", body: strings.NewReader("hi"), wantStatus: 200, wantBody: "abc.def.ghi|hi"},
		{name: "no token", body: strings.NewReader("hi"), wantStatus: 200, wantBody: "|hi"},
		// A malformed header fails only the operations that need a caller.
		{name: "malformed header", header: "Basic a b", body: strings.NewReader("hi"), wantStatus: 200, wantBody: "malformed: the Authorization header must be 'Bearer <token>'|hi"},
		{name: "empty bearer", header: "Bearer ", body: strings.NewReader("hi"), wantStatus: 200, wantBody: "malformed: the Authorization header must be 'Bearer <token>'|hi"},
		{name: "oversized header", header: "Bearer " + strings.Repeat("a", 5000), wantStatus: 401},
		{name: "declared body too large", body: strings.NewReader(strings.Repeat("x", 17)), wantStatus: 413},
		// No Content-Length: the read itself must fail.
		{name: "streamed body too large", body: io.MultiReader(strings.NewReader(strings.Repeat("x", 17))), wantStatus: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(http.MethodPost, "/", tt.body)
			if _, sized := tt.body.(interface{ Len() int }); !sized && tt.body != nil {
				req.ContentLength = -1
			}
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.wantStatus, rec.Body)
			}
			if tt.wantBody != "" && rec.Body.String() != tt.wantBody {
				t.Errorf("handler saw %q, want %q", rec.Body, tt.wantBody)
			}
		})
	}
}

func TestAccessLogOneLineWithoutSecrets(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	h := Chain(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		Annotate(r.Context(), slog.String("op", "Predict"))
		w.WriteHeader(http.StatusTeapot)
	}), AccessLog(logger), Recover(logger))
	req := httptest.NewRequest(http.MethodPost, "/query", strings.NewReader(`{"password":"hunter2"}`))
	req.Header.Set("Authorization", "Bearer secret-token")
	h.ServeHTTP(httptest.NewRecorder(), req)

	line := logs.String()
	if strings.Count(line, "\n") != 1 {
		t.Fatalf("want one log line, got %q", line)
	}
	for _, want := range []string{`"status":418`, `"op":"Predict"`, `"latency_ms"`, `"path":"/query"`} {
		if !strings.Contains(line, want) {
			t.Errorf("log line lacks %s: %s", want, line)
		}
	}
	for _, secret := range []string{"hunter2", "secret-token"} {
		if strings.Contains(line, secret) {
			t.Errorf("log line contains %q: %s", secret, line)
		}
	}
}

func TestAccessLogFollowsTheLevel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		level  slog.Level
		status int
		want   string // the line's level, "" for no line
	}{
		{"info logs a success", slog.LevelInfo, http.StatusOK, "INFO"},
		{"info logs a refusal", slog.LevelInfo, http.StatusBadRequest, "INFO"},
		{"warn drops a success", slog.LevelWarn, http.StatusOK, ""},
		{"warn keeps a server error", slog.LevelWarn, http.StatusInternalServerError, "ERROR"},
		{"above error drops everything", slog.LevelError + 1, http.StatusInternalServerError, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: tt.level}))
			h := Chain(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
			}), AccessLog(logger))
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/healthz", nil))
			if tt.want == "" {
				if logs.Len() != 0 {
					t.Fatalf("want no line, got %q", logs.String())
				}
				return
			}
			if got := logs.String(); !strings.Contains(got, `"level":"`+tt.want+`"`) || !strings.Contains(got, `"msg":"request"`) {
				t.Fatalf("want a %s request line, got %q", tt.want, got)
			}
		})
	}
}

// BenchmarkAccessLog is the access log's own cost for a request: the line
// built, bounded, encoded as JSON and written (to nothing).
func BenchmarkAccessLog(b *testing.B) {
	logger := slog.New(BoundedHandler(slog.NewJSONHandler(io.Discard, nil), MaxLogValue, MaxLogLine))
	h := Chain(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		Annotate(r.Context(), slog.String(OperationTypeKey, "mutation"), slog.String(RootFieldKey, "predict"))
		w.WriteHeader(http.StatusOK)
	}), AccessLog(logger))
	req := httptest.NewRequest(http.MethodPost, "/query", nil)
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
}

func TestRecoverAnswers500(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	h := Recover(slog.New(slog.NewTextHandler(&logs, nil)))(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("boom")
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "boom") || !strings.Contains(logs.String(), "boom") {
		t.Errorf("status %d body %q log %q", rec.Code, rec.Body, logs.String())
	}
	// The stack names the panicking function, not only the recoverer.
	if !strings.Contains(logs.String(), "TestRecoverAnswers500.func1") {
		t.Errorf("log has no stack through the panicking handler: %q", logs.String())
	}
}

func TestReady(t *testing.T) {
	t.Parallel()
	logger := slog.New(slog.DiscardHandler)
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"database answers", nil, 200},
		{"database down", errors.New("dial tcp 127.0.0.1:5432: connection refused"), 503},
	}
	for _, tt := range tests {
		h := Ready(logger, time.Second, map[string]Checker{"database": CheckerFunc(func(context.Context) error { return tt.err })})
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		if rec.Code != tt.want || strings.Contains(rec.Body.String(), "5432") {
			t.Errorf("%s: %d %s", tt.name, rec.Code, rec.Body)
		}
	}
}

// A dependency the server can do without leaves it ready, and says so;
// the others still decide.
func TestReadyDegraded(t *testing.T) {
	t.Parallel()
	logger := slog.New(slog.DiscardHandler)
	down := CheckerFunc(func(context.Context) error { return errors.New("dial tcp 127.0.0.1:5433: connection refused") })
	up := CheckerFunc(func(context.Context) error { return nil })
	tests := []struct {
		name     string
		checkers map[string]Checker
		want     int
		body     string
	}{
		{"replica answers", map[string]Checker{"database": up, "replica": Degraded(up)}, 200, `{"status":"ready"}`},
		{"replica down", map[string]Checker{"database": up, "replica": Degraded(down)}, 200, `{"degraded":["replica"],"status":"degraded"}` + "\n"},
		{"database down too", map[string]Checker{"database": down, "replica": Degraded(down)}, 503, `{"check":"database","status":"unavailable"}` + "\n"},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		Ready(logger, time.Second, tt.checkers).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		if rec.Code != tt.want || rec.Body.String() != tt.body {
			t.Errorf("%s: %d %q, want %d %q", tt.name, rec.Code, rec.Body, tt.want, tt.body)
		}
	}
}

func TestTimeoutSetsADeadline(t *testing.T) {
	t.Parallel()
	var deadline time.Time
	var ok bool
	h := Timeout(time.Minute)(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		deadline, ok = r.Context().Deadline()
	}))
	before := time.Now()
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	if !ok || deadline.Before(before.Add(59*time.Second)) || deadline.After(time.Now().Add(time.Minute)) {
		t.Errorf("deadline %v (set: %v), want about a minute from now", deadline, ok)
	}
}

type summaryRecorder struct{ got []RequestSummary }

func (r *summaryRecorder) ObserveRequest(s RequestSummary) { r.got = append(r.got, s) }

// The access log tells its observers what its line says of the request:
// the GraphQL operation and the first error code from the annotations,
// the first of each when a stream annotates many.
func TestAccessLogTellsObservers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		header map[string]string
		notes  [][]slog.Attr
		status int
		want   RequestSummary
	}{
		{name: "no GraphQL", status: http.StatusNotFound,
			want: RequestSummary{Method: http.MethodPost, Path: "/query", Status: http.StatusNotFound}},
		{name: "an operation and its errors", notes: [][]slog.Attr{{
			slog.String(OperationTypeKey, "mutation"), slog.String(RootFieldKey, "predict"), slog.String("op", "Predict"),
			slog.Any(ErrorCodesKey, []string{"BAD_USER_INPUT", "INTERNAL"}),
		}}, want: RequestSummary{Method: http.MethodPost, Path: "/query", Status: http.StatusOK,
			OperationType: "mutation", RootField: "predict", ErrorCode: "BAD_USER_INPUT"}},
		{name: "a refusal before GraphQL ran", status: http.StatusBadRequest,
			notes: [][]slog.Attr{{slog.Any(ErrorCodesKey, []string{"BAD_REQUEST"})}},
			want:  RequestSummary{Method: http.MethodPost, Path: "/query", Status: http.StatusBadRequest, ErrorCode: "BAD_REQUEST"}},
		{name: "a stream's events", header: map[string]string{"Accept": "text/event-stream"}, notes: [][]slog.Attr{
			{slog.String(OperationTypeKey, "subscription"), slog.String(RootFieldKey, "requestLogged")},
			{slog.String(OperationTypeKey, "query"), slog.String(RootFieldKey, "me"), slog.Any(ErrorCodesKey, []string{"UNAUTHENTICATED"})},
		}, want: RequestSummary{Method: http.MethodPost, Path: "/query", Status: http.StatusOK, Stream: true,
			OperationType: "subscription", RootField: "requestLogged", ErrorCode: "UNAUTHENTICATED"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			recorder := &summaryRecorder{}
			h := AccessLog(slog.New(slog.DiscardHandler), recorder)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for _, notes := range tt.notes {
					Annotate(r.Context(), notes...)
				}
				if tt.status != 0 {
					w.WriteHeader(tt.status)
				}
			}))
			req := httptest.NewRequest(http.MethodPost, "/query", nil)
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			h.ServeHTTP(httptest.NewRecorder(), req)
			if len(recorder.got) != 1 {
				t.Fatalf("observed %d requests, want 1", len(recorder.got))
			}
			got := recorder.got[0]
			if got.Elapsed <= 0 {
				t.Errorf("elapsed %v", got.Elapsed)
			}
			got.Elapsed = 0
			if got != tt.want {
				t.Errorf("observed %+v, want %+v", got, tt.want)
			}
		})
	}
}

// A path that carries a secret is logged and observed as its handler
// names it, and never as the request sent it.
func TestLogPathHidesASecretInThePath(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	recorder := &summaryRecorder{}
	h := AccessLog(slog.New(slog.NewJSONHandler(&logs, nil)), recorder)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		LogPath(r.Context(), "/v1/token_status/{token}")
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/v1/token_status/secret-token", nil))
	if line := logs.String(); strings.Contains(line, "secret-token") || !strings.Contains(line, `"path":"/v1/token_status/{token}"`) {
		t.Errorf("log line: %s", line)
	}
	if len(recorder.got) != 1 || recorder.got[0].Path != "/v1/token_status/{token}" {
		t.Errorf("observed %+v", recorder.got)
	}
}

func TestJSONBody(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		contentType string
		want        bool
	}{
		{"application/json", true},
		{"application/json; charset=utf-8", true},
		{"Application/JSON; charset=UTF-8", true},
		{"application/json; charset=latin1", false},
		{"text/plain", false},
		{"application/x-www-form-urlencoded", false},
		{"multipart/form-data; boundary=x", false},
		{"", false},
		{"application/json; charset", false},
	} {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		if tt.contentType != "" {
			r.Header.Set("Content-Type", tt.contentType)
		}
		if got := JSONBody(r); got != tt.want {
			t.Errorf("Content-Type %q: JSONBody %v, want %v", tt.contentType, got, tt.want)
		}
	}
}
