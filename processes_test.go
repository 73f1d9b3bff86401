package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"

	"github.com/mlapi/mlapi/internal/store"
	"github.com/mlapi/mlapi/internal/store/storetest"
	"github.com/mlapi/mlapi/migrations"
)

// Several processes of the binary on one PostgreSQL database, which must
// behave as one service.

// wholeHistoryQuery reads all of the caller's history and its figures, as
// every process must answer it alike.
const wholeHistoryQuery = `{ me { requests(first: 100) {
	totalCount edges { node { id createdAt input response { yhatProb yhat status modelVersion } } } }
	stats { totals { requests ok refused positives meanProbability } } } }`

// TestSeveralProcessesOnOneDatabase starts three processes at the same
// moment on one empty PostgreSQL database and drives them round-robin:
// migrations, answers, limits, revocations and subscriptions must be those
// of one process.
func TestSeveralProcessesOnOneDatabase(t *testing.T) {
	t.Parallel()
	binary(t)                                       // -short skips here, before a database is made
	databaseURL := storetest.URL(t, store.Postgres) // skips without PostgreSQL
	env := []string{
		"DATABASE_URL=" + databaseURL, "JWT_SECRET=" + randomSecret(t),
		// Windows of an hour: the test never depends on how fast it runs.
		"REGISTER_RATE=4/1h", "LOGIN_RATE=100/1h",
	}
	var procs [3]*process
	for i := range procs {
		procs[i] = launch(t, t.TempDir(), env...)
	}
	for _, p := range procs {
		p.waitReady(t)
	}
	tables := openTables(t, databaseURL)
	t.Cleanup(func() { tables.Close() })

	// Each migrated as it started: the migrations were applied once, by one
	// of them, and none logged an error.
	all, err := migrations.New()
	if err != nil {
		t.Fatal(err)
	}
	var applied, groups int
	if err := tables.QueryRow("SELECT count(*), count(DISTINCT group_id) FROM bun_migrations").Scan(&applied, &groups); err != nil {
		t.Fatal(err)
	}
	if applied != len(all.Sorted()) || groups != 1 {
		t.Errorf("bun_migrations holds %d migrations in %d groups; want %d in one", applied, groups, len(all.Sorted()))
	}
	for i, p := range procs {
		if strings.Contains(p.logs.String(), "level=ERROR") {
			t.Errorf("process %d logged an error:\n%s", i, p.logs.String())
		}
	}

	// Registrations round-robin: REGISTER_RATE (4 an hour from one address)
	// counts them all, so the fifth is refused by every process.
	ids := map[string]string{}
	for i, name := range []string{"alice", "bob", "carol", "dave"} {
		ids[name] = procs[i%3].register(t, name, userPassword)
	}
	for i, p := range procs {
		resp := p.post(t, "", registerMutation, client.Var("u", "erin"), client.Var("p", userPassword), client.Var("e", "erin@example.com"))
		if resp.code() != "TOO_MANY_REQUESTS" || !strings.Contains(resp.Errors[0].Message, "from your address") {
			t.Errorf("fifth registration on process %d: %s; want TOO_MANY_REQUESTS for the address", i, resp.Raw)
		}
	}

	// A token from one process, predictions through each, and the same
	// history from each.
	alice := procs[1].token(t, "alice", userPassword)
	var made []string
	for _, p := range []*process{procs[2], procs[0], procs[1]} {
		made = append(made, p.predict(t, alice).RequestID)
	}
	slices.Reverse(made) // newest first, as the history lists them
	history := procs[0].post(t, alice, wholeHistoryQuery)
	var me struct {
		Requests struct {
			TotalCount int
			Edges      []struct{ Node struct{ ID string } }
		}
	}
	history.field(t, "me", &me)
	var listed []string
	for _, e := range me.Requests.Edges {
		listed = append(listed, e.Node.ID)
	}
	if me.Requests.TotalCount != 3 || !slices.Equal(listed, made) {
		t.Errorf("history %s; want the 3 requests %v", history.Raw, made)
	}
	for i, p := range procs[1:] {
		if got := p.post(t, alice, wholeHistoryQuery); string(got.Data["me"]) != string(history.Data["me"]) {
			t.Errorf("process %d answers\n%s\nwhere process 0 answers\n%s", i+1, got.Raw, history.Raw)
		}
	}

	// Ten failed logins for bob spread over the three are what the limit
	// of 10 a minute per username allows; the next is refused by each,
	// even with the right password, as one process would refuse it.
	for i := range 10 {
		resp := procs[i%3].post(t, "", tokenMutation, client.Var("u", "bob"), client.Var("p", "not bob's password"))
		if resp.code() != "UNAUTHENTICATED" {
			t.Fatalf("failed login %d, on process %d: %s; want UNAUTHENTICATED", i+1, i%3, resp.Raw)
		}
	}
	for i, p := range procs {
		resp := p.post(t, "", tokenMutation, client.Var("u", "bob"), client.Var("p", userPassword))
		if resp.code() != "TOO_MANY_REQUESTS" || !strings.Contains(resp.Errors[0].Message, "for this user") {
			t.Errorf("bob's eleventh login, on process %d: %s; want TOO_MANY_REQUESTS for the user", i, resp.Raw)
		}
	}
	carol := procs[2].token(t, "carol", userPassword)

	// Every process has verified alice's token (and keeps it as verified):
	// a logout through one ends it on each at once, and only it.
	aliceAgain := procs[2].token(t, "alice", userPassword)
	if resp := procs[0].post(t, alice, `mutation { logout }`); len(resp.Errors) > 0 {
		t.Fatalf("logout: %s", resp.Raw)
	}
	// An administrator disables carol through another process.
	_, admin := createAdmin(t, environment(env), procs[0].endpoint, "root", userPassword)
	disable := procs[1].post(t, admin, `mutation($id: ID!) { setUserEnabled(userId: $id, enabled: false) { id } }`, client.Var("id", ids["carol"]))
	if len(disable.Errors) > 0 {
		t.Fatalf("disable carol: %s", disable.Raw)
	}
	for i, p := range procs {
		for name, token := range map[string]string{"alice's logged-out token": alice, "disabled carol's token": carol} {
			// Fatal: the subscription below would wait for an end that
			// does not come.
			if p.tokenValid(t, token) {
				t.Fatalf("process %d: %s is valid", i, name)
			}
			if code := p.post(t, token, predictMutation, client.Var("in", seedInput())).code(); code != "UNAUTHENTICATED" {
				t.Fatalf("process %d: predict with %s: %q; want UNAUTHENTICATED", i, name, code)
			}
		}
		if p.historyCount(t, aliceAgain) != 3 {
			t.Errorf("process %d: alice's other token lost her history", i)
		}
	}

	// A subscription on one process receives the predictions made through
	// the others, and ends when its token is revoked through another.
	c := authenticatedWS(t, procs[0].endpoint, aliceAgain)
	c.subscribe(t, "1")
	earlier := awaitSubscribed(t, c, "1", procs[1], aliceAgain)
	p := procs[2].predict(t, aliceAgain)
	if e := loggedEventOf(t, c.nextAfter(t, earlier), "1"); e.ID != p.RequestID || e.Response.Status != "OK" {
		t.Errorf("event %+v; want request %s, made through process 2", e, p.RequestID)
	}
	if resp := procs[1].post(t, aliceAgain, `mutation { logout }`); len(resp.Errors) > 0 {
		t.Fatalf("logout: %s", resp.Raw)
	}
	if code := errorCodeOf(t, c.nextAfter(t, earlier), "1"); code != "UNAUTHENTICATED" {
		t.Errorf("the subscription ended with %q; want UNAUTHENTICATED", code)
	}

	for i, p := range procs {
		if err := p.stop(t); err != nil {
			t.Errorf("process %d: %v", i, err)
		}
	}
}

// awaitSubscribed predicts through p until subscription id of c has an
// event: a server reads a subscribe message without acknowledging it, so
// the first event says the subscription has started. It returns the
// requests predicted, whose events may still come.
func awaitSubscribed(t *testing.T, c *wsClient, id string, p *process, token string) map[string]bool {
	t.Helper()
	made := map[string]bool{}
	for {
		made[p.predict(t, token).RequestID] = true
		select {
		case m, ok := <-c.messages:
			if !ok {
				t.Fatalf("connection ended: %v", c.err)
			}
			if e := loggedEventOf(t, m, id); !made[e.ID] {
				t.Fatalf("event %+v; want one of %v", e, made)
			}
			return made
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// nextAfter is next, passing over the events of the requests in earlier.
func (c *wsClient) nextAfter(t *testing.T, earlier map[string]bool) wsMessage {
	t.Helper()
	for {
		m := c.next(t)
		var payload struct {
			Data *struct{ RequestLogged loggedEvent }
		}
		if m.Type == "next" && json.Unmarshal(m.Payload, &payload) == nil && payload.Data != nil &&
			earlier[payload.Data.RequestLogged.ID] {
			continue
		}
		return m
	}
}

// environment looks names up in a list of NAME=VALUE, as a process's
// environment.
func environment(list []string) func(string) string {
	return func(name string) string {
		for _, kv := range list {
			if k, v, ok := strings.Cut(kv, "="); ok && k == name {
				return v
			}
		}
		return ""
	}
}
