package store_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/mlapi/mlapi/internal/store"
	"github.com/mlapi/mlapi/internal/store/storetest"
)

// historyRow is one request of the randomized history as the test wrote
// it, the brute force's copy of the database.
type historyRow struct {
	id, userID   int64
	created      time.Time
	status       store.Status
	prob         *float64
	yhat         *int
	modelVersion string
	outcome      *bool
}

// matches is the brute force's reading of RequestFilter: what its
// documentation says, with no SQL.
func (r historyRow) matches(f store.RequestFilter) bool {
	switch {
	case f.From != nil && r.created.Before(*f.From),
		f.Until != nil && !r.created.Before(*f.Until),
		f.Status != nil && r.status != *f.Status,
		f.Yhat != nil && (r.yhat == nil || *r.yhat != *f.Yhat),
		f.ModelVersion != nil && r.modelVersion != *f.ModelVersion,
		f.MinProbability != nil && (r.prob == nil || *r.prob < *f.MinProbability),
		f.MaxProbability != nil && (r.prob == nil || *r.prob > *f.MaxProbability),
		f.HasOutcome != nil && *f.HasOutcome != (r.outcome != nil),
		f.Outcome != nil && (r.outcome == nil || *r.outcome != *f.Outcome):
		return false
	}
	return true
}

// expectedPage computes by brute force the page ListRequests must return
// for q over rows, with its total and its two ends.
func expectedPage(rows []historyRow, userID int64, q store.PageQuery) (ids []int64, total int, hasNext, hasPrev bool) {
	newestFirst := q.Order != store.OldestFirst
	// precedes says whether a comes before b in the listing's order.
	precedes := func(a, b int64) bool { return a != b && (a > b) == newestFirst }
	var matching []int64
	for _, r := range rows {
		if r.userID == userID && r.matches(q.Filter) {
			matching = append(matching, r.id)
		}
	}
	slices.SortFunc(matching, func(a, b int64) int {
		if precedes(a, b) {
			return -1
		}
		return 1
	})
	var window []int64
	for _, id := range matching {
		if (q.AfterID == 0 || precedes(q.AfterID, id)) && (q.BeforeID == 0 || precedes(id, q.BeforeID)) {
			window = append(window, id)
		}
	}
	size := min(max(q.Size, 1), store.MaxPageSize)
	if q.Backward {
		ids = window[max(len(window)-size, 0):]
		hasPrev = len(window) > size
		hasNext = q.BeforeID > 0 && slices.ContainsFunc(matching, func(id int64) bool { return !precedes(id, q.BeforeID) })
	} else {
		ids = window[:min(size, len(window))]
		hasNext = len(window) > size
		hasPrev = q.AfterID > 0 && slices.ContainsFunc(matching, func(id int64) bool { return !precedes(q.AfterID, id) })
	}
	return ids, len(matching), hasNext, hasPrev
}

// seedHistory writes n requests spread over users, with random times,
// statuses, probabilities, model versions and outcomes, in bulk, and
// returns them as written.
func seedHistory(t *testing.T, db *store.DB, rng *rand.Rand, users []int64, n int) []historyRow {
	t.Helper()
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	versions := []string{"xgb-1", "xgb-2", "xgb-3"}
	rows := make([]historyRow, n)
	requests := make([]store.Request, n)
	for i := range rows {
		r := historyRow{
			userID: users[rng.IntN(len(users))],
			// Microseconds, as the databases keep them, over 30 days,
			// in no relation to id order.
			created:      base.Add(time.Duration(rng.Int64N(30*24*3600*1e6)) * time.Microsecond),
			status:       store.StatusOK,
			modelVersion: versions[rng.IntN(len(versions))],
		}
		if rng.IntN(5) == 0 {
			r.status = store.StatusInvalidInput
		} else {
			// A coarse grid, so that filter bounds land on values.
			prob := float64(rng.IntN(101)) / 100
			yhat := 0
			if prob >= 0.5 {
				yhat = 1
			}
			r.prob, r.yhat = &prob, &yhat
		}
		if rng.IntN(3) == 0 {
			outcome := rng.IntN(2) == 0
			r.outcome = &outcome
		}
		rows[i] = r
		requests[i] = store.Request{UserID: r.userID, Input: json.RawMessage(fmt.Sprintf(`{"n": %d}`, i)), CreatedAt: r.created, UpdatedAt: r.created}
	}
	type outcomeRow struct {
		bun.BaseModel `bun:"table:outcomes"`
		RequestID     int64     `bun:"request_id"`
		UserID        int64     `bun:"user_id"`
		Outcome       bool      `bun:"outcome"`
		Observed      time.Time `bun:"observed_datetime"`
		Created       time.Time `bun:"created_datetime"`
		Updated       time.Time `bun:"updated_datetime"`
	}
	w := store.Writer(db)
	const batch = 500
	for start := 0; start < n; start += batch {
		end := min(start+batch, n)
		chunk := requests[start:end]
		if _, err := w.NewInsert().Model(&chunk).Exec(t.Context()); err != nil {
			t.Fatal(err)
		}
		var responses []store.Response
		var outcomes []outcomeRow
		for i := start; i < end; i++ {
			r := &rows[i]
			r.id = chunk[i-start].ID
			resp := store.Response{
				RequestID: r.id, UserID: r.userID, YhatProb: r.prob, Yhat: r.yhat, ModelVersion: r.modelVersion,
				Status: r.status, Output: json.RawMessage(`{}`), CreatedAt: r.created, UpdatedAt: r.created,
			}
			if r.status == store.StatusInvalidInput {
				code := "BAD_USER_INPUT"
				resp.ErrorCode = &code
			}
			responses = append(responses, resp)
			if r.outcome != nil {
				outcomes = append(outcomes, outcomeRow{RequestID: r.id, UserID: r.userID, Outcome: *r.outcome, Observed: r.created, Created: r.created, Updated: r.created})
			}
		}
		if _, err := w.NewInsert().Model(&responses).Exec(t.Context()); err != nil {
			t.Fatal(err)
		}
		if len(outcomes) > 0 {
			if _, err := w.NewInsert().Model(&outcomes).Exec(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
	}
	return rows
}

// randomFilter sets each field of a filter with some chance, to values
// that land on, between and beyond the seeded ones.
func randomFilter(rng *rand.Rand) store.RequestFilter {
	var f store.RequestFilter
	chance := func() bool { return rng.IntN(4) == 0 }
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	if chance() {
		// Nanoseconds too: the store must round them as "at or after" says.
		from := base.Add(time.Duration(rng.Int64N(20 * 24 * 3600 * 1e9)))
		f.From = &from
	}
	if chance() {
		until := base.Add(10*24*time.Hour + time.Duration(rng.Int64N(25*24*3600*1e9)))
		if f.From == nil || f.From.Before(until) {
			f.Until = &until
		}
	}
	if chance() {
		status := []store.Status{store.StatusOK, store.StatusInvalidInput}[rng.IntN(2)]
		f.Status = &status
	}
	if chance() {
		yhat := rng.IntN(2)
		f.Yhat = &yhat
	}
	if chance() {
		version := []string{"xgb-1", "xgb-2", "xgb-3", "none"}[rng.IntN(4)]
		f.ModelVersion = &version
	}
	if chance() {
		lo := float64(rng.IntN(21)) / 20
		f.MinProbability = &lo
	}
	if chance() {
		hi := float64(rng.IntN(21)) / 20
		if f.MinProbability == nil || *f.MinProbability <= hi {
			f.MaxProbability = &hi
		}
	}
	if chance() {
		has := rng.IntN(2) == 0
		f.HasOutcome = &has
	}
	if chance() {
		outcome := rng.IntN(2) == 0
		f.Outcome = &outcome
	}
	return f
}

// TestListRequestsRandomized pages random filters of a random history
// forward and backward, in both orders, and from random cursors, and
// compares every page, its total and its ends with a brute force.
func TestListRequestsRandomized(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		seed := uint64(time.Now().UnixNano())
		t.Logf("seed %d", seed)
		rng := rand.New(rand.NewPCG(seed, 9))
		users := []int64{createUser(t, db, "ada").ID, createUser(t, db, "grace").ID, createUser(t, db, "alan").ID}
		rows := seedHistory(t, db, rng, users, 3000)
		byID := make(map[int64]historyRow, len(rows))
		for _, r := range rows {
			byID[r.id] = r
		}

		check := func(t *testing.T, userID int64, q store.PageQuery) store.RequestPage {
			t.Helper()
			page, err := db.ListRequests(t.Context(), userID, q)
			if err != nil {
				t.Fatal(err)
			}
			wantIDs, wantTotal, wantNext, wantPrev := expectedPage(rows, userID, q)
			var got []int64
			for _, r := range page.Requests {
				if r.UserID != userID || r.Response == nil || r.Response.RequestID != r.ID || r.Response.UserID != userID || string(r.Response.RequestInput()) != string(r.Input) {
					t.Fatalf("request %+v with response %+v", r, r.Response)
				}
				want := byID[r.ID]
				if r.Outcome == nil || r.Outcome.Recorded() != (want.outcome != nil) || (want.outcome != nil && r.Outcome.Outcome != *want.outcome) {
					t.Fatalf("request %d: outcome %+v, want %v", r.ID, r.Outcome, want.outcome)
				}
				got = append(got, r.ID)
			}
			if !slices.Equal(got, wantIDs) || page.TotalCount != wantTotal || page.HasNextPage != wantNext || page.HasPreviousPage != wantPrev {
				t.Fatalf("%+v (filter %s):\n got %v total %d next %v prev %v\nwant %v total %d next %v prev %v",
					q, describeFilter(q.Filter), got, page.TotalCount, page.HasNextPage, page.HasPreviousPage, wantIDs, wantTotal, wantNext, wantPrev)
			}
			return page
		}

		for i := range 16 {
			filter := store.RequestFilter{}
			if i > 0 {
				filter = randomFilter(rng)
			}
			order := []store.Order{store.NewestFirst, store.OldestFirst, ""}[rng.IntN(3)]
			userID := users[rng.IntN(len(users))]
			size := 5 + rng.IntN(60)
			t.Run(fmt.Sprintf("%d %s %s size %d", i, order, describeFilter(filter), size), func(t *testing.T) {
				var forward []int64
				q := store.PageQuery{Filter: filter, Order: order, Size: size}
				for pages := 0; ; pages++ {
					page := check(t, userID, q)
					for _, r := range page.Requests {
						forward = append(forward, r.ID)
					}
					if !page.HasNextPage {
						break
					}
					if pages > len(rows) {
						t.Fatal("paging forward does not end")
					}
					q.AfterID = page.Requests[len(page.Requests)-1].ID
				}
				var backward []int64
				q = store.PageQuery{Filter: filter, Order: order, Size: size, Backward: true}
				for pages := 0; ; pages++ {
					page := check(t, userID, q)
					ids := make([]int64, 0, len(page.Requests)+len(backward))
					for _, r := range page.Requests {
						ids = append(ids, r.ID)
					}
					backward = append(ids, backward...)
					if !page.HasPreviousPage {
						break
					}
					if pages > len(rows) {
						t.Fatal("paging backward does not end")
					}
					q.BeforeID = page.Requests[0].ID
				}
				if !slices.Equal(forward, backward) {
					t.Fatalf("forward %v\nbackward %v", forward, backward)
				}
				_, total, _, _ := expectedPage(rows, userID, store.PageQuery{Filter: filter, Order: order})
				if len(forward) != total {
					t.Fatalf("walked %d requests, want %d", len(forward), total)
				}
				// Cursors from anywhere, another user's rows included: a
				// cursor only positions the page among the caller's.
				for range 10 {
					q := store.PageQuery{Filter: filter, Order: order, Size: size, Backward: rng.IntN(2) == 0}
					if rng.IntN(3) > 0 {
						q.AfterID = rows[rng.IntN(len(rows))].id
					}
					if rng.IntN(3) > 0 {
						q.BeforeID = rows[rng.IntN(len(rows))].id
					}
					check(t, userID, q)
				}
			})
		}
		t.Run("skip count", func(t *testing.T) {
			page, err := db.ListRequests(t.Context(), users[0], store.PageQuery{Size: 3, SkipCount: true})
			if err != nil || page.TotalCount != 0 || len(page.Requests) != 3 {
				t.Fatalf("%+v, %v", page, err)
			}
		})
	})
}

// describeFilter prints the fields a filter sets, for failure messages.
func describeFilter(f store.RequestFilter) string {
	out := ""
	add := func(name string, v any) { out += fmt.Sprintf("%s=%v ", name, v) }
	if f.From != nil {
		add("from", f.From.Format(time.RFC3339Nano))
	}
	if f.Until != nil {
		add("until", f.Until.Format(time.RFC3339Nano))
	}
	if f.Status != nil {
		add("status", *f.Status)
	}
	if f.Yhat != nil {
		add("yhat", *f.Yhat)
	}
	if f.ModelVersion != nil {
		add("modelVersion", *f.ModelVersion)
	}
	if f.MinProbability != nil {
		add("min", *f.MinProbability)
	}
	if f.MaxProbability != nil {
		add("max", *f.MaxProbability)
	}
	if f.HasOutcome != nil {
		add("hasOutcome", *f.HasOutcome)
	}
	if f.Outcome != nil {
		add("outcome", *f.Outcome)
	}
	if out == "" {
		return "all"
	}
	return out[:len(out)-1]
}
