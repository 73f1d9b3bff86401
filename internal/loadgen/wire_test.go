package loadgen

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const seedAnswer = `{"data":{"predict":{"id":"1","yhatProb":0.5124506,"yhat":1}}}`

// A predictConn sends the request net/http would (its method, path, token,
// type and body) and reads every shape of answer a server may give, on as
// few connections as the server allows.
func TestPredictConn(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// answer writes the answer to the nth request (from 0).
		answer func(w http.ResponseWriter, n int64)
		// kinds are the outcomes' kinds, request by request; conns how
		// many connections they took.
		kinds []string
		conns int64
	}{
		{"answers with a length", func(w http.ResponseWriter, _ int64) { io.WriteString(w, seedAnswer) },
			[]string{"", "", ""}, 1},
		{"chunked answers", func(w http.ResponseWriter, _ int64) {
			io.WriteString(w, seedAnswer[:10])
			w.(http.Flusher).Flush()
			io.WriteString(w, seedAnswer[10:])
		}, []string{"", "", ""}, 1},
		{"the server closes after each answer", func(w http.ResponseWriter, _ int64) {
			w.Header().Set("Connection", "close")
			io.WriteString(w, seedAnswer)
		}, []string{"", "", ""}, 3},
		{"an answer over the bound, then a good one", func(w http.ResponseWriter, n int64) {
			if n == 0 {
				io.WriteString(w, strings.Repeat(" ", maxAnswer+10))
			}
			io.WriteString(w, seedAnswer)
		}, []string{"not_json", ""}, 1},
		{"an HTTP error", func(w http.ResponseWriter, n int64) {
			if n == 0 {
				http.Error(w, "busy", http.StatusServiceUnavailable)
				return
			}
			io.WriteString(w, seedAnswer)
		}, []string{"http_503", ""}, 1},
		{"the connection dropped mid-answer", func(w http.ResponseWriter, n int64) {
			if n == 0 {
				conn, _, _ := w.(http.Hijacker).Hijack()
				io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"da")
				conn.Close()
				return
			}
			io.WriteString(w, seedAnswer)
		}, []string{"transport", ""}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var requests, conns atomic.Int64
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				if r.Method != http.MethodPost || r.URL.Path != "/query" || r.Header.Get("Authorization") != "Bearer tok" ||
					r.Header.Get("Content-Type") != "application/json" || string(body) != `{"q":1}` {
					t.Errorf("got %s %s %q %q %s", r.Method, r.URL, r.Header.Get("Authorization"), r.Header.Get("Content-Type"), body)
				}
				tt.answer(w, requests.Add(1)-1)
			}))
			srv.Config.ConnState = func(_ net.Conn, state http.ConnState) {
				if state == http.StateNew {
					conns.Add(1)
				}
			}
			srv.Start()
			defer srv.Close()
			c, err := newPredictConn(srv.URL+"/query", "tok", []byte(`{"q":1}`), 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.close()
			var buf bytes.Buffer
			for i, want := range tt.kinds {
				if o := c.predict(t.Context(), DefaultYhatProb, &buf); o.kind != want {
					t.Errorf("request %d: kind %q (%s), want %q", i, o.kind, o.detail, want)
				}
			}
			if got := conns.Load(); got != tt.conns {
				t.Errorf("%d connections, want %d", got, tt.conns)
			}
		})
	}
}

// The end of the run interrupts a request waiting for its answer.
func TestPredictConnStopsWithTheRun(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	c, err := newPredictConn(srv.URL, "", nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(50*time.Millisecond, cancel)
	if o := c.predict(ctx, "", &bytes.Buffer{}); o.kind != "timeout" || o.logged != maybeLogged {
		t.Errorf("kind %q logged %d (%s), want a timeout that may have been logged", o.kind, o.logged, o.detail)
	}
}

func TestNewPredictConnRefusesOtherURLs(t *testing.T) {
	t.Parallel()
	for _, endpoint := range []string{"ftp://host/query", "127.0.0.1:8080/query", "http://", "::"} {
		if _, err := newPredictConn(endpoint, "", nil, time.Second); err == nil {
			t.Errorf("%q: accepted", endpoint)
		}
	}
}
