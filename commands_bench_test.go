package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mlapi/mlapi/internal/loadgen"
	"github.com/mlapi/mlapi/internal/store/storetest"
)

// runBench runs mlapi bench with args and --json, and decodes what it
// printed.
func runBench(t *testing.T, args ...string) (loadgen.Result, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(context.Background(), append(append([]string{"bench"}, args...), "--json"),
		func(string) string { return "" }, nil, &out, io.Discard)
	var res loadgen.Result
	if jsonErr := json.Unmarshal(out.Bytes(), &res); jsonErr != nil {
		t.Fatalf("bench printed no JSON (%v; the run said %v): %q", jsonErr, err, out.String())
	}
	return res, err
}

// TestBenchCommand: mlapi bench against the real handler answers every
// request, and the log grows by exactly the predictions answered.
func TestBenchCommand(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		tests := []struct {
			name string
			// user returns the flags naming an existing user, after giving
			// it some history; nil registers a fresh user.
			user func(api *testAPI) []string
		}{
			{name: "a fresh user"},
			{name: "a user with history", user: func(api *testAPI) []string {
				_, token := api.user(t, "ada")
				api.predict(t, token)
				api.predict(t, token)
				return []string{"--username", "ada", "--password", userPassword}
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				api := newTestAPI(t, dialect)
				before := api.count(t, "requests")
				args := []string{"--url", api.base + "/query", "--connections", "4", "--duration", "1s", "--warmup", "200ms"}
				if tt.user != nil {
					args = append(args, tt.user(api)...)
					before = api.count(t, "requests")
				}
				res, err := runBench(t, args...)
				if err != nil {
					t.Fatalf("bench: %v", err)
				}
				if res.Requests <= 0 || res.Errors != 0 || res.Throughput <= 0 {
					t.Errorf("requests %d, errors %d (%v), throughput %v", res.Requests, res.Errors, res.ErrorKinds, res.Throughput)
				}
				total := res.WarmupRequests + res.Requests + res.LateRequests
				if res.Logged != res.Answered || res.Answered != total {
					t.Errorf("logged %d, answered %d, requests sent %d", res.Logged, res.Answered, total)
				}
				if got := api.count(t, "requests") - before; int64(got) != res.Answered {
					t.Errorf("the requests table gained %d rows, bench answered %d", got, res.Answered)
				}
				l := res.Latency
				if !(0 < l.P50 && l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.Max) {
					t.Errorf("latencies out of order: %+v", l)
				}
			})
		}
	})
}

// fakeServer answers the bench's setup as mlapi does, and its predict
// requests with predict, given how many predictions it has logged so far.
func fakeServer(t *testing.T, predict func(w http.ResponseWriter, logged *atomic.Int64)) string {
	t.Helper()
	var logged atomic.Int64
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Query string }
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.Contains(req.Query, "registerUser"):
			fmt.Fprint(w, `{"data":{"registerUser":{"user":{"id":"1"}}}}`)
		case strings.Contains(req.Query, "token("):
			fmt.Fprint(w, `{"data":{"token":{"token":"t"}}}`)
		case strings.Contains(req.Query, "me {"):
			fmt.Fprintf(w, `{"data":{"me":{"requests":{"totalCount":%d}}}}`, logged.Load())
		case strings.Contains(req.Query, "predict("):
			predict(w, &logged)
		default:
			http.Error(w, "unexpected query "+req.Query, http.StatusBadRequest)
		}
	}))
	t.Cleanup(server.Close)
	return server.URL + "/query"
}

// TestBenchCommandFindsWrongAnswers: a server answering wrong, or not
// logging what it answers, makes the bench fail and say why.
func TestBenchCommandFindsWrongAnswers(t *testing.T) {
	t.Parallel()
	answer := func(body string, logs bool) func(http.ResponseWriter, *atomic.Int64) {
		return func(w http.ResponseWriter, logged *atomic.Int64) {
			if logs {
				logged.Add(1)
			}
			fmt.Fprint(w, body)
		}
	}
	tests := []struct {
		name    string
		predict func(http.ResponseWriter, *atomic.Int64)
		kind    string // the error kind counted; "" for none
		wantErr string
	}{
		{
			name:    "another probability",
			predict: answer(`{"data":{"predict":{"id":"1","yhatProb":0.9,"yhat":1}}}`, true),
			kind:    "wrong_yhatProb", wantErr: "yhatProb 0.9, want 0.5124506",
		},
		{
			name:    "a GraphQL error",
			predict: answer(`{"errors":[{"message":"the database is unavailable","extensions":{"code":"SERVICE_UNAVAILABLE"}}],"data":null}`, false),
			kind:    "graphql_SERVICE_UNAVAILABLE", wantErr: "the database is unavailable",
		},
		{
			name: "HTTP 500",
			predict: func(w http.ResponseWriter, _ *atomic.Int64) {
				http.Error(w, "boom", http.StatusInternalServerError)
			},
			kind: "http_500", wantErr: "http_500",
		},
		{
			name:    "right answers, not logged",
			predict: answer(`{"data":{"predict":{"id":"1","yhatProb":0.5124506,"yhat":1}}}`, false),
			wantErr: "answered predictions are missing from the log",
		},
		{
			name:    "a wrong answer not logged",
			predict: answer(`{"data":{"predict":{"id":"1","yhatProb":1.5,"yhat":1}}}`, false),
			kind:    "not_probability", wantErr: "missing from the log",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			url := fakeServer(t, tt.predict)
			res, err := runBench(t, "--url", url, "--connections", "2", "--duration", "200ms", "--warmup", "0s")
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("bench: %v, want an error saying %q", err, tt.wantErr)
			}
			if tt.kind == "" {
				if res.Errors != 0 || res.Logged == res.Answered {
					t.Errorf("errors %d, logged %d, answered %d", res.Errors, res.Logged, res.Answered)
				}
				return
			}
			if res.Errors == 0 || res.ErrorKinds[tt.kind] != res.Errors || res.Answered != 0 {
				t.Errorf("errors %d by kind %v, answered %d; want them all %s", res.Errors, res.ErrorKinds, res.Answered, tt.kind)
			}
		})
	}
}
