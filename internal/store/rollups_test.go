package store_test

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/mlapi/mlapi/internal/store"
	"github.com/mlapi/mlapi/internal/store/storetest"
)

// The maintained figures (rollups.go) answer exactly what reading the rows
// answers: whole histories, ranges on quarter-hours, time buckets, after
// rows are written in bulk, one by one, moved in time, and deleted with
// their user. Each question is asked twice, once as the rollups answer it
// and once, with a From a microsecond before everything (off the
// quarter-hour grain), as the rows do.
func TestRollupsAgreeWithTheRows(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		rng := rand.New(rand.NewPCG(7, 11))
		var users []int64
		for _, name := range []string{"ada", "bob", "cy"} {
			users = append(users, createUser(t, db, name).ID)
		}
		rows := seedHistory(t, db, rng, users, 1500)
		for i := range 20 { // through LogPrediction and its trigger path too
			logPrediction(t, db, okLog(users[i%2], i))
		}
		check := func(t *testing.T) {
			t.Helper()
			for _, u := range users {
				compareRollups(t, db, u)
			}
		}
		t.Run("written", check)

		// Requests moved in time, by hand: their quarter-hours and their
		// users' first and last times follow.
		w := store.Writer(db)
		for i := range 30 {
			r := rows[rng.IntN(len(rows))]
			moved := r.created.Add(time.Duration(rng.Int64N(48*3600)-24*3600) * time.Second)
			if i == 0 {
				moved = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC) // a new first time
			}
			if _, err := w.ExecContext(t.Context(), "UPDATE requests SET created_datetime = ? WHERE id = ?", moved, r.id); err != nil {
				t.Fatal(err)
			}
		}
		t.Run("moved", check)

		if err := db.DeleteUser(t.Context(), users[2]); err != nil {
			t.Fatal(err)
		}
		wantCount(t, db, 0, "SELECT count(*) FROM history_rollups WHERE user_id = ?", users[2])
		wantCount(t, db, 0, "SELECT count(*) FROM user_history_totals WHERE user_id = ?", users[2])
	})
}

func compareRollups(t *testing.T, db *store.DB, userID int64) {
	t.Helper()
	ctx := t.Context()
	everything := time.Date(2000, 1, 1, 0, 0, 0, 1000, time.UTC) // off the grain: read the rows
	day := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	nextWeek := day.Add(7 * 24 * time.Hour)
	for _, tc := range []struct {
		name       string
		fast, slow store.RequestFilter
	}{
		{"whole history", store.RequestFilter{}, store.RequestFilter{From: &everything}},
		{"a week on the grain", store.RequestFilter{From: &day, Until: &nextWeek}, store.RequestFilter{From: &day, Until: ptr(nextWeek.Add(time.Microsecond)), Status: nil}},
	} {
		// The slow filter of "a week" ends a microsecond later: still off
		// the grain, and no row lies in that microsecond but by chance, so
		// the counts are compared only when none does.
		if tc.fast.Until != nil {
			edge, err := db.StatsTotals(ctx, userID, store.RequestFilter{From: tc.fast.Until, Until: tc.slow.Until})
			if err != nil {
				t.Fatal(err)
			}
			if edge.Requests > 0 {
				continue
			}
		}
		fastTotals, err := db.StatsTotals(ctx, userID, tc.fast)
		if err != nil {
			t.Fatal(err)
		}
		slowTotals, err := db.StatsTotals(ctx, userID, tc.slow)
		if err != nil {
			t.Fatal(err)
		}
		if !sameFigures(fastTotals.Figures, slowTotals.Figures) || !fastTotals.First.Equal(slowTotals.First) || !fastTotals.Last.Equal(slowTotals.Last) {
			t.Errorf("user %d, %s: totals from rollups %+v, from the rows %+v", userID, tc.name, fastTotals, slowTotals)
		}
		page, err := db.ListRequests(ctx, userID, store.PageQuery{Filter: tc.fast, Size: 1})
		if err != nil {
			t.Fatal(err)
		}
		if page.TotalCount != slowTotals.Requests {
			t.Errorf("user %d, %s: totalCount %d, the rows count %d", userID, tc.name, page.TotalCount, slowTotals.Requests)
		}
		if fastTotals.Requests == 0 {
			continue
		}
		// Hours and days in UTC, and days at +05:30 and +05:45, whose
		// bounds fall inside UTC hours.
		for _, bucket := range []struct {
			step   time.Duration
			offset time.Duration
		}{{time.Hour, 0}, {24 * time.Hour, 0}, {24 * time.Hour, 5*time.Hour + 30*time.Minute}, {24 * time.Hour, 5*time.Hour + 45*time.Minute}} {
			step := bucket.step
			if fastTotals.Last.Sub(fastTotals.First) > 2000*step {
				continue // years of hours: the daily buckets say as much
			}
			var bounds []time.Time
			start := fastTotals.First.Add(bucket.offset).Truncate(step).Add(-bucket.offset)
			for b := start; !b.After(fastTotals.Last); b = b.Add(step) {
				bounds = append(bounds, b)
			}
			bounds = append(bounds, bounds[len(bounds)-1].Add(step))
			fast, err := db.StatsBuckets(ctx, userID, tc.fast, bounds)
			if err != nil {
				t.Fatal(err)
			}
			slow, err := db.StatsBuckets(ctx, userID, tc.slow, bounds)
			if err != nil {
				t.Fatal(err)
			}
			if len(fast) != len(slow) {
				t.Fatalf("user %d, %s, %v buckets at +%v: %d from rollups, %d from the rows", userID, tc.name, step, bucket.offset, len(fast), len(slow))
			}
			for i := range fast {
				if !fast[i].Start.Equal(slow[i].Start) || !sameFigures(fast[i].Figures, slow[i].Figures) {
					t.Errorf("user %d, %s, %v buckets at +%v, bucket %d: rollups %+v, rows %+v", userID, tc.name, step, bucket.offset, i, fast[i], slow[i])
				}
			}
		}
	}
	fast, err := db.StatsHistogram(ctx, userID, store.RequestFilter{})
	if err != nil {
		t.Fatal(err)
	}
	slow, err := db.StatsHistogram(ctx, userID, store.RequestFilter{From: &everything})
	if err != nil {
		t.Fatal(err)
	}
	if fast != slow {
		t.Errorf("user %d: histogram from the totals %v, from the rows %v", userID, fast, slow)
	}
}

// sameFigures compares figures exactly but for the sum of probabilities,
// which the databases add in another order than the rollups do.
func sameFigures(a, b store.Figures) bool {
	sumsAgree := math.Abs(a.SumProbability-b.SumProbability) <= 1e-9*max(1, math.Abs(b.SumProbability))
	eq := func(x, y *float64) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	return a.Requests == b.Requests && a.OK == b.OK && a.Refused == b.Refused && a.Positives == b.Positives &&
		sumsAgree && eq(a.MinProbability, b.MinProbability) && eq(a.MaxProbability, b.MaxProbability)
}

func ptr[T any](v T) *T { return &v }
