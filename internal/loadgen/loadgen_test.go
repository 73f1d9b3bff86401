package loadgen

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestCheckAnswer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		body   string
		want   string // the yhatProb wanted, "" for any probability
		kind   string
		logged logged
	}{
		{name: "the seed's answer", status: 200, body: `{"data":{"predict":{"id":"1","yhatProb":0.5124506,"yhat":1}}}`, want: DefaultYhatProb},
		{name: "any probability", status: 200, body: `{"data":{"predict":{"yhatProb":0.25}}}`},
		{name: "another probability", status: 200, body: `{"data":{"predict":{"yhatProb":0.51245}}}`, want: DefaultYhatProb, kind: "wrong_yhatProb", logged: wasLogged},
		{name: "the same number written otherwise", status: 200, body: `{"data":{"predict":{"yhatProb":5.124506e-1}}}`, want: DefaultYhatProb, kind: "wrong_yhatProb", logged: wasLogged},
		{name: "not a probability", status: 200, body: `{"data":{"predict":{"yhatProb":1.5}}}`, kind: "not_probability", logged: wasLogged},
		{name: "a string", status: 200, body: `{"data":{"predict":{"yhatProb":"0.5"}}}`, kind: "not_probability", logged: wasLogged},
		{name: "no yhatProb", status: 200, body: `{"data":{"predict":{"id":"1"}}}`, kind: "no_yhatProb", logged: wasLogged},
		{name: "no prediction", status: 200, body: `{"data":null}`, kind: "no_prediction", logged: maybeLogged},
		{name: "refused input", status: 200, body: `{"errors":[{"message":"bad","extensions":{"code":"BAD_USER_INPUT"}}],"data":null}`, kind: "graphql_BAD_USER_INPUT", logged: wasLogged},
		{name: "refused token", status: 200, body: `{"errors":[{"message":"no","extensions":{"code":"UNAUTHENTICATED"}}],"data":null}`, kind: "graphql_UNAUTHENTICATED", logged: notLogged},
		{name: "error without a code", status: 200, body: `{"errors":[{"message":"boom"}],"data":null}`, kind: "graphql", logged: maybeLogged},
		{name: "HTTP error", status: 503, body: `{"errors":[{"message":"busy"}]}`, kind: "http_503", logged: maybeLogged},
		{name: "not JSON", status: 200, body: `<html>`, kind: "not_json", logged: maybeLogged},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := checkAnswer(tt.status, []byte(tt.body), tt.want)
			if o.kind != tt.kind || o.logged != tt.logged {
				t.Errorf("kind %q logged %d (%s), want %q logged %d", o.kind, o.logged, o.detail, tt.kind, tt.logged)
			}
		})
	}
}

// TestResultErr: a run is clean only without errors, with the log matching
// the answers.
func TestResultErr(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		res  Result
		want string // in the error; "" for none
	}{
		{name: "clean", res: Result{Requests: 10, Answered: 12, Logged: 12}},
		{name: "a row missing", res: Result{Requests: 10, Answered: 12, Logged: 11}, want: "logged 11, answered 12: 1 answered predictions are missing"},
		{name: "a row too many", res: Result{Requests: 10, Answered: 12, Logged: 13}, want: "logged 13, answered 12: 1 rows more"},
		{name: "a timeout that was logged", res: Result{Requests: 10, Answered: 12, Logged: 13, Errors: 1, MaybeLoggedErrors: 1,
			ErrorKinds: map[string]int64{"timeout": 1}}, want: "1 requests failed (timeout 1"},
		{name: "a wrong answer not logged", res: Result{Requests: 10, Answered: 12, Logged: 12, Errors: 1, LoggedErrors: 1,
			ErrorKinds: map[string]int64{"wrong_yhatProb": 1}}, want: "1 error answers that carried a prediction"},
		{name: "count unread", res: Result{Requests: 10, Answered: 12, Logged: -1, LoggedError: "down"}, want: "could not be counted: down"},
		{name: "nothing measured", res: Result{}, want: "no request finished"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.res.Err()
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("Err() = %v, want %q", err, tt.want)
			}
			var text strings.Builder
			if err := tt.res.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(text.String(), "answered") {
				t.Errorf("text without the log check: %s", text.String())
			}
		})
	}
}

// TestRunRefusesBadConfigs before sending anything.
func TestRunRefusesBadConfigs(t *testing.T) {
	t.Parallel()
	good := Config{URL: "http://127.0.0.1:1/query", Connections: 1, Duration: time.Second, Timeout: time.Second}
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"no connections", func(c *Config) { c.Connections = 0 }, "connections 0"},
		{"no duration", func(c *Config) { c.Duration = 0 }, "duration"},
		{"negative warm-up", func(c *Config) { c.Warmup = -time.Second }, "warm-up"},
		{"a username alone", func(c *Config) { c.Username = "ada" }, "both a username and a password"},
		{"input not an object", func(c *Config) { c.Input = json.RawMessage(`[1]`) }, "want a JSON object"},
		{"input not JSON", func(c *Config) { c.Input = json.RawMessage(`{age: 3}`) }, "want a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := good
			tt.change(&cfg)
			_, err := Run(context.Background(), cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err %v, want %q", err, tt.want)
			}
		})
	}
}
