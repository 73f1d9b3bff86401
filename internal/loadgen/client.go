package loadgen

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strconv"
	"time"
)

// The documents the load generator sends.
const (
	registerMutation = `mutation($u: String!, $p: String!, $e: String!) {
  registerUser(input: {username: $u, password: $p, email: $e}) { user { id } } }`
	tokenMutation   = `mutation($u: String!, $p: String!) { token(input: {username: $u, password: $p}) { token } }`
	historyQuery    = `query { me { requests { totalCount } } }`
	predictMutation = `mutation($in: PredictInput!) { predict(input: $in) { id yhatProb yhat } }`
)

// maxAnswer bounds the answer read from the server; a predict answer is
// about a hundred bytes.
const maxAnswer = 1 << 20

// client speaks GraphQL over HTTP to one endpoint, through net/http.
type client struct {
	http *http.Client
	url  string
}

// newClient speaks to the endpoint for the run's set-up and its final
// count; the predictions go on connections of their own (predictConn).
func newClient(url string, timeout time.Duration) *client {
	transport := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 1,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
		Protocols:           new(http.Protocols),
	}
	transport.Protocols.SetHTTP1(true)
	return &client{http: &http.Client{Transport: transport, Timeout: timeout}, url: url}
}

func (c *client) close() { c.http.CloseIdleConnections() }

// newRequest makes a POST of a GraphQL request's JSON body.
func (c *client) newRequest(ctx context.Context, token string, body []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req, nil
}

// graphqlError is one entry of an answer's errors.
type graphqlError struct {
	Message    string `json:"message"`
	Extensions struct {
		Code string `json:"code"`
	} `json:"extensions"`
}

// call sends one of the setup's operations and decodes its data into out.
// A GraphQL error is returned as an error naming field, its code and
// message.
func (c *client) call(ctx context.Context, token, field, query string, variables map[string]any, out any) error {
	body, err := json.Marshal(map[string]any{"query": query, "variables": variables})
	if err != nil {
		return err
	}
	req, err := c.newRequest(ctx, token, body)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", field, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return fmt.Errorf("%s: read the answer: %w", field, err)
	}
	var answer struct {
		Data   map[string]json.RawMessage `json:"data"`
		Errors []graphqlError             `json:"errors"`
	}
	if err := json.Unmarshal(raw, &answer); err != nil {
		return fmt.Errorf("%s: HTTP %d, not a GraphQL answer: %.300s", field, resp.StatusCode, raw)
	}
	if len(answer.Errors) > 0 {
		e := answer.Errors[0]
		err := fmt.Errorf("%s: %s: %s", field, e.Extensions.Code, e.Message)
		if e.Extensions.Code == "TOO_MANY_REQUESTS" {
			err = fmt.Errorf("%w (the server limits registrations and logins per address: "+
				"wait, or give the --username and --password of an existing user)", err)
		}
		return err
	}
	data, ok := answer.Data[field]
	if !ok || string(data) == "null" {
		return fmt.Errorf("%s: no data in the answer (HTTP %d): %.300s", field, resp.StatusCode, raw)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s: %w in %.300s", field, err, raw)
	}
	return nil
}

// register creates a user named bench-<random> with a random password.
func (c *client) register(ctx context.Context) (username, password string, err error) {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		return "", "", err
	}
	username, password = "bench-"+hex.EncodeToString(b), rand.Text()
	var payload struct{}
	vars := map[string]any{"u": username, "p": password, "e": username + "@example.com"}
	if err := c.call(ctx, "", "registerUser", registerMutation, vars, &payload); err != nil {
		return "", "", err
	}
	return username, password, nil
}

// login exchanges the password for a token.
func (c *client) login(ctx context.Context, username, password string) (string, error) {
	var payload struct{ Token string }
	vars := map[string]any{"u": username, "p": password}
	if err := c.call(ctx, "", "token", tokenMutation, vars, &payload); err != nil {
		return "", err
	}
	return payload.Token, nil
}

// historyCount is the number of requests logged for the token's user.
func (c *client) historyCount(ctx context.Context, token string) (int64, error) {
	var me *struct {
		Requests struct{ TotalCount int64 }
	}
	if err := c.call(ctx, token, "me", historyQuery, nil, &me); err != nil {
		return 0, err
	}
	return me.Requests.TotalCount, nil
}

// predictBody is the body of every predict request: input as the
// PredictInput variable.
func predictBody(input json.RawMessage) ([]byte, error) {
	return json.Marshal(map[string]any{"query": predictMutation, "variables": map[string]json.RawMessage{"in": input}})
}

// logged says whether a failed request left a row in the log.
type logged int

const (
	notLogged   logged = iota // the server refused it before logging
	maybeLogged               // it may have: the answer is lost, or says nothing
	wasLogged                 // it was: the answer carries a prediction, or a refused input
)

// outcome is what became of one predict request: kind is "" for a good
// answer, else the kind of error, with what went wrong in detail.
type outcome struct {
	kind, detail string
	logged       logged
}

// transportOutcome classifies a request that got no answer. Only a
// connection that was never opened is sure not to have reached the server.
func transportOutcome(err error) outcome {
	var opErr *net.OpError
	switch {
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return outcome{kind: "connect", detail: err.Error(), logged: notLogged}
	case isTimeout(err):
		return outcome{kind: "timeout", detail: err.Error(), logged: maybeLogged}
	}
	return outcome{kind: "transport", detail: err.Error(), logged: maybeLogged}
}

func isTimeout(err error) bool {
	var netErr net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr) && netErr.Timeout()
}

// checkAnswer checks a predict answer: HTTP 200, no errors, and a yhatProb
// that is a probability, written exactly as want unless want is empty.
func checkAnswer(status int, body []byte, want string) outcome {
	if status != http.StatusOK {
		return outcome{kind: "http_" + strconv.Itoa(status), detail: fmt.Sprintf("%.200s", body), logged: maybeLogged}
	}
	var answer struct {
		Data *struct {
			Predict *struct {
				YhatProb json.RawMessage `json:"yhatProb"`
			} `json:"predict"`
		} `json:"data"`
		Errors []graphqlError `json:"errors"`
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		return outcome{kind: "not_json", detail: fmt.Sprintf("%v: %.200s", err, body), logged: maybeLogged}
	}
	if len(answer.Errors) > 0 {
		e := answer.Errors[0]
		kind := "graphql"
		if e.Extensions.Code != "" {
			kind += "_" + e.Extensions.Code
		}
		o := outcome{kind: kind, detail: e.Message, logged: maybeLogged}
		switch e.Extensions.Code {
		case "BAD_USER_INPUT":
			// A refused input is logged with its refusal.
			o.logged = wasLogged
		case "UNAUTHENTICATED", "GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED":
			o.logged = notLogged
		}
		return o
	}
	if answer.Data == nil || answer.Data.Predict == nil {
		return outcome{kind: "no_prediction", detail: fmt.Sprintf("%.200s", body), logged: maybeLogged}
	}
	// A prediction is only answered once logged.
	raw := string(answer.Data.Predict.YhatProb)
	if raw == "" || raw == "null" {
		return outcome{kind: "no_yhatProb", detail: fmt.Sprintf("%.200s", body), logged: wasLogged}
	}
	p, err := strconv.ParseFloat(raw, 64)
	if err != nil || math.IsNaN(p) || p < 0 || p > 1 {
		return outcome{kind: "not_probability", detail: "yhatProb " + raw, logged: wasLogged}
	}
	if want != "" && raw != want {
		return outcome{kind: "wrong_yhatProb", detail: "yhatProb " + raw + ", want " + want, logged: wasLogged}
	}
	return outcome{}
}
