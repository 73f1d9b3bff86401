package main

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"

	"github.com/99designs/gqlgen/client"

	"github.com/mlapi/mlapi/internal/config"
	"github.com/mlapi/mlapi/internal/store/storetest"
)

// Concurrency: many clients at once, on every database, and what the tables
// hold after.

func TestConcurrentPredictionsAreAllLogged(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		api := newTestAPI(t, dialect)
		_, token := api.user(t, "load")
		const clients, each = 20, 50
		var wg sync.WaitGroup
		failures := make(chan string, clients*each)
		for range clients {
			wg.Go(func() {
				for range each {
					resp, err := api.do(token, predictMutation, client.Var("in", seedInput()))
					if err != nil {
						failures <- err.Error()
						continue
					}
					var p predictionAnswer
					if err := resp.decode("predict", &p); err != nil || len(resp.Errors) > 0 || p.YhatProb.String() != "0.5124506" {
						failures <- resp.Raw
					}
				}
			})
		}
		wg.Wait()
		close(failures)
		for f := range failures {
			t.Errorf("prediction failed: %s", f)
		}
		requests, responses := api.count(t, "requests"), api.count(t, "responses")
		matched := api.queryInt(t, "SELECT count(DISTINCT r.id) FROM requests r JOIN responses s ON s.request_id = r.id")
		if requests != clients*each || responses != clients*each || matched != clients*each {
			t.Errorf("%d requests, %d responses, %d matched; want %d each", requests, responses, matched, clients*each)
		}
	})
}

func TestConcurrentRegistrationsOfOneName(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		// Four clients, each from an address of its own behind a trusted
		// proxy: one address's calls are queued behind each other, which
		// is not the race under test.
		api := newTestAPI(t, dialect, func(c *config.Config) {
			c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
		})
		const racers = 4
		codes := make(chan string, racers)
		var wg sync.WaitGroup
		for i := range racers {
			wg.Go(func() {
				name := []string{"twin", "TWIN", "Twin", "twiN"}[i]
				resp, err := api.do("", registerMutation,
					client.Var("u", name), client.Var("p", "same password"), client.Var("e", "t@example.com"),
					client.AddHeader("X-Forwarded-For", fmt.Sprintf("192.0.2.%d", i+1)))
				if err != nil {
					codes <- err.Error()
					return
				}
				codes <- resp.code()
			})
		}
		wg.Wait()
		close(codes)
		got := map[string]int{}
		for c := range codes {
			got[c]++
		}
		if got[""] != 1 || got["CONFLICT"] != racers-1 {
			t.Errorf("outcomes %v, want one success and %d CONFLICT", got, racers-1)
		}
		if n := api.count(t, "users"); n != 1 {
			t.Errorf("%d users, want 1", n)
		}
	})
}
