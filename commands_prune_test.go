package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"

	"github.com/mlapi/mlapi/internal/store/storetest"
)

// TestPruneCommand: mlapi prune --dry-run counts the requests older than
// --older-than, with their responses and outcomes, and deletes nothing;
// without it, it deletes them, in batches, and each user's history counts
// what is left.
func TestPruneCommand(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		api := newTestAPI(t, dialect)
		_, ada := api.user(t, "ada")
		_, bob := api.user(t, "bob")
		var adas []predictionAnswer
		for range 6 {
			adas = append(adas, api.predict(t, ada))
		}
		api.predict(t, bob)
		api.predict(t, bob)
		for _, p := range adas[:3] {
			if resp := api.post(t, ada, recordOutcomeMutation, client.Var("id", p.RequestID), client.Var("o", true)); len(resp.Errors) > 0 {
				t.Fatal(resp.Raw)
			}
		}
		// Two years old: ada's first four requests (two with an outcome
		// that stays), and bob's first.
		api.ageRequests(t, "ada", 4)
		api.ageRequests(t, "bob", 1)

		getenv := api.env
		steps := []struct {
			args []string
			want string
			// the rows left in requests, responses and outcomes, and in
			// ada's and bob's histories
			requests, outcomes, adaHistory, bobHistory int
		}{
			{[]string{"--dry-run"}, "would delete 5 requests, 5 responses and 3 outcomes created before ", 8, 3, 6, 2},
			{[]string{"--batch", "2"}, "deleted 5 requests, 5 responses and 3 outcomes created before ", 3, 0, 2, 1},
			{nil, "deleted 0 requests, 0 responses and 0 outcomes", 3, 0, 2, 1},
		}
		for _, step := range steps {
			var out bytes.Buffer
			args := append([]string{"prune", "--older-than", "365d"}, step.args...)
			if err := run(context.Background(), args, getenv, nil, &out, io.Discard); err != nil {
				t.Fatalf("%v: %v", args, err)
			}
			if !strings.Contains(out.String(), step.want) {
				t.Errorf("%v printed %q, want %q", args, out.String(), step.want)
			}
			if n := api.count(t, "requests"); n != step.requests {
				t.Errorf("after %v: %d requests, want %d", args, n, step.requests)
			}
			if n := api.count(t, "responses"); n != step.requests {
				t.Errorf("after %v: %d responses, want %d", args, n, step.requests)
			}
			if n := api.count(t, "outcomes"); n != step.outcomes {
				t.Errorf("after %v: %d outcomes, want %d", args, n, step.outcomes)
			}
			if n := api.historyCount(t, ada); n != step.adaHistory {
				t.Errorf("after %v: ada's totalCount %d, want %d", args, n, step.adaHistory)
			}
			if n := api.historyCount(t, bob); n != step.bobHistory {
				t.Errorf("after %v: bob's totalCount %d, want %d", args, n, step.bobHistory)
			}
		}
	})
}

// TestPruneCommandRefuses: what mlapi prune refuses, before it opens the
// database.
func TestPruneCommandRefuses(t *testing.T) {
	t.Parallel()
	wantRefusals(t, "prune", []refusal{
		{args: []string{"-h"}, wantHelp: true, want: "usage: mlapi prune --older-than AGE"},
		{args: nil, want: "usage: mlapi prune --older-than AGE"},
		{args: []string{"--older-than", "off"}, want: "usage: mlapi prune --older-than AGE"},
		{args: []string{"--older-than", "30m"}, want: "at least an hour"},
		{args: []string{"--older-than", "a year"}, want: "want a number of days"},
		{args: []string{"--older-than", "365d", "--batch", "0"}, want: "--batch 0"},
		{args: []string{"--older-than", "365d", "--batch", "10001"}, want: "--batch 10001"},
		{args: []string{"--older-than", "365d", "now"}, want: "unexpected arguments: now"},
	})
}

// refusal is arguments a command refuses: with flag.ErrHelp or another
// error, saying want in its stderr or its error.
type refusal struct {
	args     []string
	wantHelp bool
	want     string
}

// wantRefusals runs command with each refusal's arguments, in an empty
// environment, and fails t unless it refuses them as said.
func wantRefusals(t *testing.T, command string, refusals []refusal) {
	t.Helper()
	for _, tt := range refusals {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			var stderr bytes.Buffer
			err := run(context.Background(), append([]string{command}, tt.args...), func(string) string { return "" }, nil, io.Discard, &stderr)
			if err == nil || tt.wantHelp != errors.Is(err, flag.ErrHelp) {
				t.Fatalf("err %v, want ErrHelp: %v", err, tt.wantHelp)
			}
			if got := stderr.String() + err.Error(); !strings.Contains(got, tt.want) {
				t.Errorf("stderr and error %q, want %q", got, tt.want)
			}
		})
	}
}

// ageRequests makes the user's first n requests two years old, by hand.
func (a *testAPI) ageRequests(t *testing.T, username string, n int) {
	t.Helper()
	// The layout both databases read, and SQLite compares as text.
	old := time.Now().AddDate(-2, 0, 0).UTC().Format("2006-01-02 15:04:05-07:00")
	_, err := a.tables.Exec(fmt.Sprintf(`UPDATE requests SET created_datetime = '%s'
		WHERE id IN (SELECT r.id FROM requests r JOIN users u ON u.id = r.user_id WHERE u.username = '%s' ORDER BY r.id LIMIT %d)`,
		old, username, n))
	if err != nil {
		t.Fatal(err)
	}
}
