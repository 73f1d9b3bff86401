package main

import (
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"

	"github.com/mlapi/mlapi/internal/store/storetest"
)

const statsQuery = `query($f: RequestFilter, $b: TimeBucket, $tz: String) { me { stats(filter: $f, bucket: $b, timeZone: $tz) {
	totals { requests ok refused positives meanProbability minProbability maxProbability }
	buckets { start end figures { requests ok } }
	histogram { lower upper count } } } }`

type statsAnswer struct {
	Stats struct {
		Totals struct {
			Requests, Ok, Refused, Positives                int
			MeanProbability, MinProbability, MaxProbability *float64
		}
		Buckets []struct {
			Start, End time.Time
			Figures    struct{ Requests, Ok int }
		}
		Histogram []struct {
			Lower, Upper float64
			Count        int
		}
	}
}

// TestStats charts the caller's own predictions through the API, in the
// caller's time zone, and refuses bad input naming the field. The figures
// themselves are checked against a brute force in internal/store.
func TestStats(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		api := newTestAPI(t, dialect)
		_, token := api.user(t, "ada")
		_, other := api.user(t, "bob")
		for range 3 {
			api.predict(t, token)
		}
		api.predict(t, other) // not ada's: not counted

		resp := api.post(t, token, statsQuery, client.Var("b", "DAY"), client.Var("tz", "Asia/Kolkata"))
		if len(resp.Errors) > 0 {
			t.Fatalf("stats: %s", resp.Raw)
		}
		var me statsAnswer
		resp.field(t, "me", &me)
		s := me.Stats
		if s.Totals.Requests != 3 || s.Totals.Ok != 3 || s.Totals.Refused != 0 || s.Totals.Positives != 3 ||
			s.Totals.MeanProbability == nil || *s.Totals.MeanProbability != 0.5124506 || *s.Totals.MinProbability != 0.5124506 {
			t.Fatalf("totals: %s", resp.Raw)
		}
		if len(s.Buckets) < 1 || len(s.Buckets) > 2 {
			t.Fatalf("three predictions now in %d day buckets: %s", len(s.Buckets), resp.Raw)
		}
		kolkata, _ := time.LoadLocation("Asia/Kolkata")
		for _, b := range s.Buckets {
			local := b.Start.In(kolkata)
			if local.Hour() != 0 || local.Minute() != 0 || b.End.Sub(b.Start) != 24*time.Hour {
				t.Fatalf("day bucket %v to %v is not a day of Asia/Kolkata", b.Start, b.End)
			}
		}
		if len(s.Histogram) != 10 || s.Histogram[5].Count != 3 || s.Histogram[5].Lower != 0.5 || s.Histogram[9].Upper != 1 {
			t.Fatalf("histogram: %+v", s.Histogram)
		}

		// A filter that keeps nothing: zero counts, null probabilities.
		resp = api.post(t, token, statsQuery, client.Var("f", map[string]any{"yhat": 0}))
		me = statsAnswer{}
		resp.field(t, "me", &me)
		if me.Stats.Totals.Requests != 0 || me.Stats.Totals.MeanProbability != nil || len(me.Stats.Buckets) != 0 {
			t.Fatalf("empty stats: %s", resp.Raw)
		}

		for _, c := range []struct {
			name    string
			options []client.Option
			message string
		}{
			{"time zone", []client.Option{client.Var("tz", "Mars/Olympus")}, "timeZone must be an IANA time zone name such as Europe/Paris"},
			{"probability", []client.Option{client.Var("f", map[string]any{"minProbability": 1.5})}, "filter.minProbability must be between 0 and 1"},
			{"yhat", []client.Option{client.Var("f", map[string]any{"yhat": 2})}, "filter.yhat must be 0 or 1"},
		} {
			resp := api.post(t, token, statsQuery, c.options...)
			if resp.code() != "BAD_USER_INPUT" || resp.Errors[0].Message != c.message {
				t.Errorf("%s: %s", c.name, resp.Raw)
			}
		}

		// A request from years ago: hourly buckets up to now are too many.
		if _, err := api.tables.Exec(`UPDATE requests SET created_datetime = '2020-01-01 00:00:00+00:00' WHERE id = (SELECT min(id) FROM requests)`); err != nil {
			t.Fatal(err)
		}
		resp = api.post(t, token, statsQuery, client.Var("b", "HOUR"))
		if resp.code() != "BAD_USER_INPUT" {
			t.Fatalf("hourly buckets over years: %s", resp.Raw)
		}
		resp = api.post(t, token, statsQuery, client.Var("b", "WEEK"))
		if len(resp.Errors) > 0 {
			t.Fatalf("weekly buckets over years: %s", resp.Raw)
		}
	})
}
