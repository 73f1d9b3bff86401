package store_test

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/mlapi/mlapi/internal/stats"
	"github.com/mlapi/mlapi/internal/store"
	"github.com/mlapi/mlapi/internal/store/storetest"
)

// statsRow is one logged request as the brute force sees it.
type statsRow struct {
	userID    int64
	created   time.Time
	status    store.Status
	prob      float64 // when ok
	yhat      int     // when ok
	version   string
	outcome   *bool
	requestID int64
}

// insertStatsRows writes rows straight into the tables, with the creation
// times the test chose (LogPrediction stamps the present).
func insertStatsRows(t *testing.T, db *store.DB, rows []statsRow) {
	t.Helper()
	w := store.Writer(db)
	const chunk = 200
	for lo := 0; lo < len(rows); lo += chunk {
		part := rows[lo:min(lo+chunk, len(rows))]
		reqs := make([]store.Request, len(part))
		for i, r := range part {
			reqs[i] = store.Request{UserID: r.userID, Input: json.RawMessage(`{"age": 60}`), CreatedAt: r.created, UpdatedAt: r.created}
		}
		if _, err := w.NewInsert().Model(&reqs).Returning("id").Exec(t.Context()); err != nil {
			t.Fatalf("insert requests: %v", err)
		}
		resps := make([]store.Response, len(part))
		for i, r := range part {
			part[i].requestID = reqs[i].ID
			resp := store.Response{RequestID: reqs[i].ID, UserID: r.userID, ModelVersion: r.version, Status: r.status, CreatedAt: r.created, UpdatedAt: r.created}
			if r.status == store.StatusOK {
				prob, yhat := r.prob, r.yhat
				resp.YhatProb, resp.Yhat = &prob, &yhat
				resp.Output = json.RawMessage(`{"yhat_prob": "` + strconv.FormatFloat(prob, 'g', -1, 64) + `", "yhat": "` + strconv.Itoa(yhat) + `"}`)
			} else {
				code := "invalid_input"
				resp.ErrorCode = &code
				resp.Output = json.RawMessage(`{"error": "refused"}`)
			}
			resps[i] = resp
		}
		if _, err := w.NewInsert().Model(&resps).Exec(t.Context()); err != nil {
			t.Fatalf("insert responses: %v", err)
		}
		for _, r := range part {
			if r.outcome == nil {
				continue
			}
			if _, err := w.ExecContext(t.Context(),
				"INSERT INTO outcomes (request_id, user_id, outcome, observed_datetime, created_datetime, updated_datetime) VALUES (?, ?, ?, ?, ?, ?)",
				r.requestID, r.userID, *r.outcome, r.created, r.created, r.created); err != nil {
				t.Fatalf("insert outcome: %v", err)
			}
		}
	}
}

// keeps is the filter as the brute force applies it.
func keeps(f store.RequestFilter, userID int64, r statsRow) bool {
	ok := r.status == store.StatusOK
	switch {
	case r.userID != userID,
		f.From != nil && r.created.Before(*f.From),
		f.Until != nil && !r.created.Before(*f.Until),
		f.Status != nil && r.status != *f.Status,
		f.Yhat != nil && (!ok || r.yhat != *f.Yhat),
		f.ModelVersion != nil && r.version != *f.ModelVersion,
		f.MinProbability != nil && (!ok || r.prob < *f.MinProbability),
		f.MaxProbability != nil && (!ok || r.prob > *f.MaxProbability),
		f.HasOutcome != nil && (r.outcome != nil) != *f.HasOutcome,
		f.Outcome != nil && (r.outcome == nil || *r.outcome != *f.Outcome):
		return false
	}
	return true
}

// bruteFigures adds up rows one by one.
type bruteFigures struct {
	requests, ok, refused, positives int
	sum, min, max                    float64
}

func (b *bruteFigures) add(r statsRow) {
	b.requests++
	if r.status != store.StatusOK {
		b.refused++
		return
	}
	if b.ok == 0 || r.prob < b.min {
		b.min = r.prob
	}
	if b.ok == 0 || r.prob > b.max {
		b.max = r.prob
	}
	b.ok++
	b.positives += r.yhat
	b.sum += r.prob
}

func checkFigures(t *testing.T, what string, got store.Figures, want bruteFigures) {
	t.Helper()
	if got.Requests != want.requests || got.OK != want.ok || got.Refused != want.refused || got.Positives != want.positives {
		t.Fatalf("%s: counts %d/%d/%d/%d, want %d/%d/%d/%d", what,
			got.Requests, got.OK, got.Refused, got.Positives, want.requests, want.ok, want.refused, want.positives)
	}
	if want.ok == 0 {
		if got.MeanProbability() != nil || got.MinProbability != nil || got.MaxProbability != nil {
			t.Fatalf("%s: probability figures without predictions: %+v", what, got)
		}
		return
	}
	if *got.MinProbability != want.min || *got.MaxProbability != want.max {
		t.Fatalf("%s: min/max %v/%v, want %v/%v", what, *got.MinProbability, *got.MaxProbability, want.min, want.max)
	}
	if mean, wantMean := *got.MeanProbability(), want.sum/float64(want.ok); math.Abs(mean-wantMean) > 1e-12 {
		t.Fatalf("%s: mean %v, want %v", what, mean, wantMean)
	}
}

// TestStatsAgainstBruteForce charts a few thousand random requests spread
// over both DST changes of Europe/Paris and America/New_York, with random
// filters, and checks every figure against a computation over the same rows
// in Go.
func TestStatsAgainstBruteForce(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		rng := rand.New(rand.NewPCG(9, 2))
		alice, bob := createUser(t, db, "alice"), createUser(t, db, "bob")
		start := time.Date(2026, 2, 20, 0, 0, 0, 0, time.UTC)
		span := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC).Sub(start)
		// Probabilities on and next to the bin edges, and random ones as
		// the model gives them (float32).
		edges := []float64{0, 1, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.30000000000000004, math.Nextafter(0.7, 0)}
		rows := make([]statsRow, 3000)
		for i := range rows {
			r := statsRow{userID: alice.ID, version: []string{"v1", "v2"}[rng.IntN(2)], status: store.StatusOK}
			if rng.IntN(10) == 0 {
				r.userID = bob.ID
			}
			// Clustered around the DST changes so hour buckets see them.
			if rng.IntN(3) == 0 {
				change := []time.Time{
					time.Date(2026, 3, 8, 7, 0, 0, 0, time.UTC), time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC),
					time.Date(2026, 10, 25, 1, 0, 0, 0, time.UTC), time.Date(2026, 11, 1, 6, 0, 0, 0, time.UTC),
				}[rng.IntN(4)]
				r.created = change.Add(time.Duration(rng.Int64N(int64(6*time.Hour))) - 3*time.Hour).Truncate(time.Microsecond)
			} else {
				r.created = start.Add(time.Duration(rng.Int64N(int64(span)))).Truncate(time.Microsecond)
			}
			if rng.IntN(8) == 0 {
				r.status = store.StatusInvalidInput
			} else {
				if rng.IntN(5) == 0 {
					r.prob = edges[rng.IntN(len(edges))]
				} else {
					r.prob = float64(rng.Float32())
				}
				if r.prob > 0.5 {
					r.yhat = 1
				}
			}
			if rng.IntN(3) == 0 {
				o := rng.IntN(2) == 0
				r.outcome = &o
			}
			rows[i] = r
		}
		insertStatsRows(t, db, rows)
		// As autovacuum would have by now on a live database: without
		// statistics, the planner may scan every request for every bucket.
		if _, err := store.Writer(db).ExecContext(t.Context(), "ANALYZE"); err != nil {
			t.Fatal(err)
		}

		tm := func(s string) *time.Time { v, _ := time.Parse(time.RFC3339Nano, s); return &v }
		f64 := func(v float64) *float64 { return &v }
		ok, refused := store.StatusOK, store.StatusInvalidInput
		one, v2, yes, no := 1, "v2", true, false
		filters := []store.RequestFilter{
			{},
			{From: tm("2026-03-28T12:00:00Z"), Until: tm("2026-04-02T00:00:00.000001Z")},
			{Status: &ok, MinProbability: f64(0.3), MaxProbability: f64(0.7)},
			{Status: &refused},
			{Yhat: &one, ModelVersion: &v2},
			{HasOutcome: &yes},
			{HasOutcome: &no, From: tm("2026-10-20T00:00:00Z")},
			{Outcome: &no, Until: tm("2026-06-01T00:00:00Z")},
			{MinProbability: f64(0.9)},
		}
		zones := []string{"UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata"}
		svc := stats.NewService(db)
		for i, f := range filters {
			for _, b := range []stats.Bucket{stats.Hour, stats.Day, stats.Week} {
				zone := zones[(i+len(b))%len(zones)]
				t.Run(fmt.Sprintf("filter%d/%s/%s", i, b, zone), func(t *testing.T) {
					got, err := svc.Stats(t.Context(), alice.ID, stats.Query{Filter: f, Bucket: b, TimeZone: zone})
					if err != nil {
						t.Fatal(err)
					}
					var kept []statsRow
					var totals bruteFigures
					var hist [store.HistogramBins]int
					for _, r := range rows {
						if keeps(f, alice.ID, r) {
							kept = append(kept, r)
							totals.add(r)
							if r.status == store.StatusOK {
								hist[min(int(math.Floor(r.prob*10)), 9)]++
							}
						}
					}
					checkFigures(t, "totals", got.Totals, totals)
					if got.Histogram != hist {
						t.Fatalf("histogram %v, want %v", got.Histogram, hist)
					}
					// Each kept row goes to the bucket whose local wall-clock
					// period holds it.
					loc, _ := time.LoadLocation(zone)
					byStart := map[time.Time]*bruteFigures{}
					starts := map[string]time.Time{}
					for _, r := range kept {
						s := bruteStart(b, r.created, loc, starts)
						if byStart[s] == nil {
							byStart[s] = &bruteFigures{}
						}
						byStart[s].add(r)
					}
					if len(got.Buckets) != len(byStart) {
						t.Fatalf("%d buckets, want %d", len(got.Buckets), len(byStart))
					}
					for j, bk := range got.Buckets {
						if j > 0 && !got.Buckets[j-1].Start.Before(bk.Start) {
							t.Fatalf("buckets out of order at %d", j)
						}
						want := byStart[bk.Start]
						if want == nil {
							t.Fatalf("bucket %v holds no kept row", bk.Start)
						}
						if wantEnd := bruteEnd(b, bk.Start, loc); !bk.End.Equal(wantEnd) {
							t.Fatalf("bucket %v ends %v, want %v", bk.Start, bk.End, wantEnd)
						}
						checkFigures(t, "bucket "+bk.Start.In(loc).String(), bk.Figures, *want)
					}
				})
			}
		}
	})
}

// periodKey names the wall-clock period of t in loc: the hour (with the
// offset, so that a repeated hour is two periods), the date, or the date of
// the week's Monday.
func periodKey(b stats.Bucket, t time.Time, loc *time.Location) string {
	local := t.In(loc)
	switch b {
	case stats.Hour:
		return local.Format("2006-01-02T15 -0700")
	case stats.Day:
		return local.Format("2006-01-02")
	}
	y, m, d := local.Date()
	back := (int(local.Weekday()) + 6) % 7
	return time.Date(y, m, d-back, 12, 0, 0, 0, time.UTC).Format("2006-01-02")
}

// bruteStart finds the first instant of t's period by walking back, an
// hour then a minute at a time (a period is one interval of time, and every
// offset change falls on a whole minute), once per period.
func bruteStart(b stats.Bucket, t time.Time, loc *time.Location, memo map[string]time.Time) time.Time {
	key := periodKey(b, t, loc)
	if s, ok := memo[key]; ok {
		return s
	}
	s := t.Truncate(time.Minute)
	for _, step := range []time.Duration{time.Hour, time.Minute} {
		for periodKey(b, s.Add(-step), loc) == key {
			s = s.Add(-step)
		}
	}
	memo[key] = s
	return s
}

// bruteEnd finds the first instant after the period starting at start by
// walking forward likewise.
func bruteEnd(b stats.Bucket, start time.Time, loc *time.Location) time.Time {
	key := periodKey(b, start, loc)
	last := start
	for _, step := range []time.Duration{time.Hour, time.Minute} {
		for periodKey(b, last.Add(step), loc) == key {
			last = last.Add(step)
		}
	}
	return last.Add(time.Minute)
}
