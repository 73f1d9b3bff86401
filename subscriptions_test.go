package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"
	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/mlapi/mlapi/internal/auth"
	"github.com/mlapi/mlapi/internal/config"
	"github.com/mlapi/mlapi/internal/store"
	"github.com/mlapi/mlapi/internal/store/storetest"
)

// The tests of the requestLogged subscription: a real graphql-transport-ws
// client (coder/websocket, speaking the protocol's messages) and
// server-sent events over net/http, against the real handler.

const requestLoggedSubscription = `subscription { requestLogged { id input response { yhatProb status modelVersion } } }`

// loggedEvent is requestLogged's payload.
type loggedEvent struct {
	ID       string
	Input    map[string]any
	Response struct {
		YhatProb     *json.Number
		Status       string
		ModelVersion string
	}
}

// wsMessage is one graphql-transport-ws message.
type wsMessage struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// wsClient is one graphql-transport-ws connection. Its reader answers
// pings and hands every other message to messages; err holds why the
// connection ended, once messages is closed.
type wsClient struct {
	conn     *websocket.Conn
	messages chan wsMessage
	err      error
}

// dialWS opens a graphql-transport-ws connection to e, with an Origin
// header unless origin is "".
func dialWS(t *testing.T, e endpoint, origin string) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	header := http.Header{}
	if origin != "" {
		header.Set("Origin", origin)
	}
	return websocket.Dial(t.Context(), "ws"+strings.TrimPrefix(e.base, "http")+"/query", &websocket.DialOptions{
		Subprotocols: []string{"graphql-transport-ws"},
		HTTPHeader:   header,
	})
}

// connectWS opens a connection and sends connection_init with payload; it
// does not wait for the answer.
func connectWS(t *testing.T, e endpoint, payload any) *wsClient {
	t.Helper()
	conn, _, err := dialWS(t, e, "")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	c := &wsClient{conn: conn, messages: make(chan wsMessage, 16)}
	go func() {
		defer close(c.messages)
		for {
			var m wsMessage
			if err := wsjson.Read(context.Background(), conn, &m); err != nil {
				c.err = err
				return
			}
			if m.Type == "ping" {
				_ = wsjson.Write(context.Background(), conn, wsMessage{Type: "pong"})
				continue
			}
			c.messages <- m
		}
	}()
	init := map[string]any{"type": "connection_init"}
	if payload != nil {
		init["payload"] = payload
	}
	if err := wsjson.Write(t.Context(), conn, init); err != nil {
		t.Fatalf("connection_init: %v", err)
	}
	return c
}

// authenticatedWS opens a connection with token and waits for its ack.
func authenticatedWS(t *testing.T, e endpoint, token string) *wsClient {
	t.Helper()
	c := connectWS(t, e, map[string]string{"Authorization": "Bearer " + token})
	if m := c.next(t); m.Type != "connection_ack" {
		t.Fatalf("after connection_init: %+v; want connection_ack", m)
	}
	return c
}

// next returns the next message; the test's deadline bounds the wait.
func (c *wsClient) next(t *testing.T) wsMessage {
	t.Helper()
	select {
	case m, ok := <-c.messages:
		if !ok {
			t.Fatalf("connection ended: %v", c.err)
		}
		return m
	case <-t.Context().Done():
		t.Fatal("no message")
	}
	return wsMessage{}
}

// closed waits for the connection to end and returns its close status.
func (c *wsClient) closed(t *testing.T) websocket.StatusCode {
	t.Helper()
	for {
		select {
		case m, ok := <-c.messages:
			if !ok {
				return websocket.CloseStatus(c.err)
			}
			t.Logf("before the close: %+v", m)
		case <-t.Context().Done():
			t.Fatal("the connection stays open")
		}
	}
}

// subscribe starts requestLogged as operation id.
func (c *wsClient) subscribe(t *testing.T, id string) {
	t.Helper()
	payload, _ := json.Marshal(map[string]string{"query": requestLoggedSubscription})
	if err := wsjson.Write(t.Context(), c.conn, wsMessage{ID: id, Type: "subscribe", Payload: payload}); err != nil {
		t.Fatal(err)
	}
}

// event waits for the next message of operation id, which must be a next
// carrying requestLogged.
func (c *wsClient) event(t *testing.T, id string) loggedEvent {
	t.Helper()
	return loggedEventOf(t, c.next(t), id)
}

// loggedEventOf is m's requestLogged; m must be a next of operation id.
func loggedEventOf(t *testing.T, m wsMessage, id string) loggedEvent {
	t.Helper()
	if m.Type != "next" || m.ID != id {
		t.Fatalf("got %+v (%s); want next of %s", m, m.Payload, id)
	}
	var payload struct {
		Data   struct{ RequestLogged loggedEvent }
		Errors []gqlError
	}
	if err := json.Unmarshal(m.Payload, &payload); err != nil || len(payload.Errors) > 0 {
		t.Fatalf("next: %s (%v)", m.Payload, err)
	}
	return payload.Data.RequestLogged
}

// endedWith waits for operation id's error and returns its code: an error
// message (the subscription ended after it started), or a next whose
// result holds errors (it could not start), as graphql-transport-ws allows.
func (c *wsClient) endedWith(t *testing.T, id string) string {
	t.Helper()
	return errorCodeOf(t, c.next(t), id)
}

// errorCodeOf is the code of m's first error; m must end operation id
// with errors.
func errorCodeOf(t *testing.T, m wsMessage, id string) string {
	t.Helper()
	var errs []gqlError
	switch m.Type {
	case "error":
		_ = json.Unmarshal(m.Payload, &errs)
	case "next":
		var result struct{ Errors []gqlError }
		_ = json.Unmarshal(m.Payload, &result)
		errs = result.Errors
	}
	if m.ID != id || len(errs) == 0 {
		t.Fatalf("got %+v (%s); want an error of %s", m, m.Payload, id)
	}
	return errs[0].Extensions.Code
}

// waitSubscribed waits until userID holds n subscriptions on a: from then
// on, every request committed for userID reaches them.
func waitSubscribed(t *testing.T, a *testAPI, userID int64, n int) {
	t.Helper()
	for {
		if open, _ := a.live.Open(userID); open == n {
			return
		}
		select {
		case <-t.Context().Done():
			open, _ := a.live.Open(userID)
			t.Fatalf("user %d holds %d subscriptions; want %d", userID, open, n)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// userRow returns the id and token generation of username's row.
func userRow(t *testing.T, a *testAPI, username string) (id, generation int64) {
	t.Helper()
	row := a.tables.QueryRowContext(t.Context(), "SELECT id, token_generation FROM users WHERE username = '"+username+"'")
	if err := row.Scan(&id, &generation); err != nil {
		t.Fatal(err)
	}
	return id, generation
}

// TestRequestLoggedOverWebsocket, on every database: a subscriber gets its
// own predictions (a refused input too) as they are committed, with their
// responses, and never another user's; complete ends the subscription and
// frees its place.
func TestRequestLoggedOverWebsocket(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		a := newTestAPI(t, dialect)
		_, alice := a.user(t, "alice")
		_, bob := a.user(t, "bob")
		aliceID, _ := userRow(t, a, "alice")

		c := authenticatedWS(t, a.endpoint, alice)
		c.subscribe(t, "1")
		waitSubscribed(t, a, aliceID, 1)

		// Bob's prediction, committed first, would arrive first if it
		// arrived at all: one subscription's events keep their order.
		a.predict(t, bob)
		p := a.predict(t, alice)
		e := c.event(t, "1")
		if e.ID != p.RequestID || e.Response.Status != "OK" || e.Response.YhatProb == nil || e.Response.YhatProb.String() != p.YhatProb.String() || e.Response.ModelVersion != p.ModelVersion {
			t.Errorf("event %+v; want request %s, OK, yhatProb %s, version %s", e, p.RequestID, p.YhatProb, p.ModelVersion)
		}
		if e.Input["age"] == nil {
			t.Errorf("event input %v; want the input sent", e.Input)
		}

		bad := seedInput()
		bad["age"] = -1
		resp := a.post(t, alice, predictMutation, client.Var("in", bad))
		if resp.code() != "BAD_USER_INPUT" {
			t.Fatalf("predict with age -1: %s", resp.Raw)
		}
		if e := c.event(t, "1"); e.Response.Status != "INVALID_INPUT" || e.Response.YhatProb != nil {
			t.Errorf("refusal event %+v; want INVALID_INPUT without a probability", e)
		}

		if err := wsjson.Write(t.Context(), c.conn, wsMessage{ID: "1", Type: "complete"}); err != nil {
			t.Fatal(err)
		}
		waitSubscribed(t, a, aliceID, 0)
	})
}

// TestRequestLoggedOverSSE: server-sent events carry the same events, with
// the token in the Authorization header; the stream ends, with complete,
// when an admin disables the user (an event announces it at once).
func TestRequestLoggedOverSSE(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t, store.SQLite)
	_, alice := a.user(t, "alice")
	aliceID, _ := userRow(t, a, "alice")
	_, admin := a.createAdmin(t, "root", userPassword)

	body, _ := json.Marshal(map[string]string{"query": requestLoggedSubscription})
	req := a.newRequest(t, http.MethodPost, "/query", alice, strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	resp, err := a.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	events := make(chan string, 16)
	go func() {
		defer close(events)
		scanner := bufio.NewScanner(resp.Body)
		var event strings.Builder
		for scanner.Scan() {
			line := scanner.Text()
			if line != "" {
				event.WriteString(line + "\n")
				continue
			}
			if s := event.String(); s != "" && !strings.HasPrefix(s, ":") {
				events <- s
			}
			event.Reset()
		}
	}()
	nextEvent := func() string {
		t.Helper()
		select {
		case e, ok := <-events:
			if !ok {
				t.Fatal("the stream ended")
			}
			return e
		case <-t.Context().Done():
			t.Fatal("no event")
		}
		return ""
	}
	waitSubscribed(t, a, aliceID, 1)

	p := a.predict(t, alice)
	e := nextEvent()
	data, found := strings.CutPrefix(e, "event: next\ndata: ")
	var payload struct {
		Data struct{ RequestLogged loggedEvent }
	}
	if !found || json.Unmarshal([]byte(data), &payload) != nil || payload.Data.RequestLogged.ID != p.RequestID {
		t.Fatalf("event %q; want next with request %s", e, p.RequestID)
	}

	aliceNode := strconv.FormatInt(aliceID, 10)
	if r := a.post(t, admin, `mutation($id: ID!) { setUserEnabled(userId: $id, enabled: false) { id } }`, client.Var("id", aliceNode)); len(r.Errors) > 0 {
		t.Fatalf("disable: %s", r.Raw)
	}
	if e := nextEvent(); e != "event: complete\n" {
		t.Errorf("after the user was disabled: %q; want complete", e)
	}
	waitSubscribed(t, a, aliceID, 0)
}

// TestRequestLoggedRefusals: connection_init without a token, with a
// malformed or a bad one closes the socket with 4403; a page of an origin
// the CORS list does not name cannot open one, a listed origin can; a user
// holds at most five subscriptions; a subscription without a token over
// SSE is refused UNAUTHENTICATED.
func TestRequestLoggedRefusals(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t, store.SQLite, func(c *config.Config) { c.CORSOrigins = []string{"https://app.example.com"} })
	_, alice := a.user(t, "alice")
	aliceID, _ := userRow(t, a, "alice")

	for name, payload := range map[string]any{
		"no payload":  nil,
		"no token":    map[string]string{},
		"malformed":   map[string]string{"Authorization": "Basic abc"},
		"bad token":   map[string]string{"Authorization": "Bearer not-a-token"},
		"wrong token": map[string]string{"Authorization": "Bearer " + alice + "x"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if status := connectWS(t, a.endpoint, payload).closed(t); status != 4403 {
				t.Errorf("closed with %d; want 4403", status)
			}
		})
	}

	t.Run("origins", func(t *testing.T) {
		t.Parallel()
		for origin, want := range map[string]int{
			"https://evil.example.com": http.StatusForbidden,
			"https://app.example.com":  http.StatusSwitchingProtocols,
			a.base:                     http.StatusSwitchingProtocols, // the API's own
		} {
			conn, resp, err := dialWS(t, a.endpoint, origin)
			if conn != nil {
				conn.CloseNow()
			}
			if resp == nil || resp.StatusCode != want {
				t.Errorf("origin %s: %v, %v; want %d", origin, resp, err, want)
			}
		}
	})

	t.Run("per user", func(t *testing.T) {
		t.Parallel()
		c := authenticatedWS(t, a.endpoint, alice)
		for i := range 5 {
			c.subscribe(t, strconv.Itoa(i))
		}
		waitSubscribed(t, a, aliceID, 5)
		c.subscribe(t, "6")
		if code := c.endedWith(t, "6"); code != "TOO_MANY_REQUESTS" {
			t.Errorf("sixth subscription: %s; want TOO_MANY_REQUESTS", code)
		}
	})

	t.Run("urql's Accept gets JSON", func(t *testing.T) {
		t.Parallel()
		req := a.newRequest(t, http.MethodPost, "/query", alice, strings.NewReader(`{"query":"{ __typename }"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/graphql-response+json, application/graphql+json, application/json, text/event-stream, multipart/mixed")
		resp, err := a.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if typ := resp.Header.Get("Content-Type"); !strings.HasPrefix(typ, "application/graphql-response+json") {
			t.Errorf("Content-Type %s; want application/graphql-response+json", typ)
		}
	})

	t.Run("SSE without a token", func(t *testing.T) {
		t.Parallel()
		body, _ := json.Marshal(map[string]string{"query": requestLoggedSubscription})
		req := a.newRequest(t, http.MethodPost, "/query", "", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "text/event-stream")
		resp, err := a.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out strings.Builder
		scanner := bufio.NewScanner(resp.Body)
		for scanner.Scan() {
			out.WriteString(scanner.Text() + "\n")
		}
		if !strings.Contains(out.String(), `"UNAUTHENTICATED"`) || !strings.Contains(out.String(), "event: complete") {
			t.Errorf("stream %q; want an UNAUTHENTICATED error, then complete", out.String())
		}
	})
}

// TestRequestLoggedEndsWithTheSession: a subscription ends with an
// UNAUTHENTICATED error when its token expires (a token issued with a
// two-second lifetime, signed with the API's secret), and when an admin
// disables its user; the user's places are freed.
func TestRequestLoggedEndsWithTheSession(t *testing.T) {
	t.Parallel()
	secret := randomSecret(t)
	a := newTestAPI(t, store.SQLite, func(c *config.Config) { c.JWTSecret = secret })
	a.user(t, "alice")
	aliceID, generation := userRow(t, a, "alice")
	_, admin := a.createAdmin(t, "root", userPassword)

	t.Run("token expires", func(t *testing.T) {
		tokens, err := auth.NewTokens(auth.TokenConfig{Secret: []byte(secret), TTL: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		short, expires, err := tokens.Issue(aliceID, generation)
		if err != nil {
			t.Fatal(err)
		}
		c := authenticatedWS(t, a.endpoint, short)
		c.subscribe(t, "1")
		if code := c.endedWith(t, "1"); code != "UNAUTHENTICATED" {
			t.Errorf("at expiry: %s; want UNAUTHENTICATED", code)
		}
		if time.Now().Before(expires) {
			t.Errorf("ended before the token's expiry %v", expires)
		}
		waitSubscribed(t, a, aliceID, 0)
	})

	t.Run("user disabled", func(t *testing.T) {
		token := a.token(t, "alice", userPassword)
		c := authenticatedWS(t, a.endpoint, token)
		c.subscribe(t, "1")
		waitSubscribed(t, a, aliceID, 1)
		if r := a.post(t, admin, `mutation($id: ID!) { setUserEnabled(userId: $id, enabled: false) { id } }`, client.Var("id", fmt.Sprint(aliceID))); len(r.Errors) > 0 {
			t.Fatalf("disable: %s", r.Raw)
		}
		if code := c.endedWith(t, "1"); code != "UNAUTHENTICATED" {
			t.Errorf("after the user was disabled: %s; want UNAUTHENTICATED", code)
		}
		waitSubscribed(t, a, aliceID, 0)
	})
}

// TestRequestLoggedAcrossProcesses: two APIs on one PostgreSQL database,
// as two mlapi processes behind a load balancer; a prediction made
// through one reaches a subscriber on the other (LISTEN/NOTIFY).
func TestRequestLoggedAcrossProcesses(t *testing.T) {
	t.Parallel()
	// newTestAPI skips without PostgreSQL (storetest.URL).
	secret := randomSecret(t)
	one := newTestAPI(t, store.Postgres, func(c *config.Config) { c.JWTSecret = secret })
	other := newTestAPI(t, store.Postgres, func(c *config.Config) { c.JWTSecret = secret; c.DatabaseURL = one.url })
	_, alice := one.user(t, "alice")
	aliceID, _ := userRow(t, one, "alice")

	c := authenticatedWS(t, one.endpoint, alice)
	c.subscribe(t, "1")
	waitSubscribed(t, one, aliceID, 1)
	p := other.predict(t, alice)
	if e := c.event(t, "1"); e.ID != p.RequestID || e.Response.Status != "OK" {
		t.Errorf("event %+v; want request %s", e, p.RequestID)
	}
}
