package store_test

import (
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mlapi/mlapi/internal/apperr"
	"github.com/mlapi/mlapi/internal/store"
	"github.com/mlapi/mlapi/internal/store/storetest"
)

func TestLogPrediction(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		u := createUser(t, db, "ada")
		// Built per database: the subtests run in parallel, so a log shared
		// between them would be a data race on UserID.
		invalid := store.PredictionLog{
			UserID:       u.ID,
			Input:        json.RawMessage(`{"age": "old"}`),
			Output:       json.RawMessage(`{"error": {"code": "BAD_USER_INPUT", "message": "the input has invalid fields"}}`),
			ModelVersion: "xgb-1",
			Status:       store.StatusInvalidInput,
			ErrorCode:    new("BAD_USER_INPUT"),
		}
		for _, p := range []store.PredictionLog{okLog(u.ID, 25), invalid} {
			t.Run(string(p.Status), func(t *testing.T) {
				before := count(t, db, "SELECT count(*) FROM requests")
				logged := logPrediction(t, db, p)
				wantCount(t, db, before+1, "SELECT count(*) FROM requests")
				wantCount(t, db, 1, "SELECT count(*) FROM responses WHERE request_id = ?", logged.RequestID)

				got, err := db.Request(t.Context(), u.ID, logged.RequestID)
				if err != nil {
					t.Fatal(err)
				}
				r := got.Response
				if got.ID != logged.RequestID || got.UserID != u.ID || string(got.Input) != string(p.Input) ||
					r == nil || r.ID != logged.ResponseID || r.RequestID != got.ID ||
					string(r.Output) != string(p.Output) || r.ModelVersion != p.ModelVersion || r.Status != p.Status ||
					!equalPtr(r.YhatProb, p.YhatProb) || !equalPtr(r.Yhat, p.Yhat) || !equalPtr(r.ErrorCode, p.ErrorCode) {
					t.Fatalf("stored %+v with response %+v, logged %+v", got, r, p)
				}
				for _, at := range []time.Time{got.CreatedAt, got.UpdatedAt, r.CreatedAt, r.UpdatedAt} {
					if !at.Equal(logged.CreatedAt) || at.Location() != time.UTC {
						t.Fatalf("row times %#v, want %v on both rows", []time.Time{got.CreatedAt, got.UpdatedAt, r.CreatedAt, r.UpdatedAt}, logged.CreatedAt)
					}
				}
			})
		}
	})
}

func equalPtr[T comparable](a, b *T) bool {
	return a == nil && b == nil || a != nil && b != nil && *a == *b
}

func TestLogPredictionRefusesGoneUser(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		disabled, deleted := createUser(t, db, "ada"), createUser(t, db, "grace")
		if _, err := db.SetUserEnabled(ctx, disabled.ID, false); err != nil {
			t.Fatal(err)
		}
		if err := db.DeleteUser(ctx, deleted.ID); err != nil {
			t.Fatal(err)
		}
		for name, id := range map[string]int64{"disabled": disabled.ID, "deleted": deleted.ID, "never existed": deleted.ID + 100} {
			t.Run(name, func(t *testing.T) {
				_, err := db.LogPrediction(ctx, okLog(id, 1))
				if !errors.Is(err, store.ErrUserNotFound) {
					t.Fatalf("LogPrediction = %v, want ErrUserNotFound", err)
				}
			})
		}
		wantCount(t, db, 0, "SELECT count(*) FROM requests")
		wantCount(t, db, 0, "SELECT count(*) FROM responses")
	})
}

func TestLogPredictionRejectsInconsistentLog(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		u := createUser(t, db, "ada")
		tests := []struct {
			name   string
			change func(*store.PredictionLog)
		}{
			{"input not JSON", func(p *store.PredictionLog) { p.Input = json.RawMessage(`{"age":`) }},
			{"output missing", func(p *store.PredictionLog) { p.Output = nil }},
			{"no model version", func(p *store.PredictionLog) { p.ModelVersion = "" }},
			{"unknown status", func(p *store.PredictionLog) { p.Status = "maybe" }},
			{"ok without yhat", func(p *store.PredictionLog) { p.Yhat = nil }},
			{"ok with an error code", func(p *store.PredictionLog) { p.ErrorCode = new("X") }},
			{"probability above 1", func(p *store.PredictionLog) { p.YhatProb = new(1.5) }},
			{"yhat of 2", func(p *store.PredictionLog) { p.Yhat = new(2) }},
			{"invalid_input without error code", func(p *store.PredictionLog) {
				p.Status, p.YhatProb, p.Yhat = store.StatusInvalidInput, nil, nil
			}},
			{"invalid_input with a prediction", func(p *store.PredictionLog) {
				p.Status, p.ErrorCode = store.StatusInvalidInput, new("BAD_USER_INPUT")
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				p := okLog(u.ID, 1)
				tt.change(&p)
				_, err := db.LogPrediction(t.Context(), p)
				wantCode(t, err, apperr.Internal)
			})
		}
		wantCount(t, db, 0, "SELECT count(*) FROM requests")
	})
}

func TestLogPredictionConcurrently(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		const workers, each = 20, 50
		u := createUser(t, db, "ada")
		errs := make(chan error, workers*each)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := range each {
					if _, err := db.LogPrediction(t.Context(), okLog(u.ID, w*each+i)); err != nil {
						errs <- err
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}

		for _, query := range []string{
			"SELECT count(*) FROM requests",
			"SELECT count(*) FROM responses",
			"SELECT count(DISTINCT request_id) FROM responses",
			// Each response points at a request of this user written in the
			// same call: the two rows share their timestamp.
			`SELECT count(*) FROM responses r JOIN requests q ON q.id = r.request_id
				WHERE q.user_id = ? AND q.created_datetime = r.created_datetime`,
		} {
			if n := count(t, db, query, u.ID); n != workers*each {
				t.Errorf("%s = %d, want %d", query, n, workers*each)
			}
		}
		page, err := db.ListRequests(t.Context(), u.ID, store.PageQuery{Size: 1})
		if err != nil || page.TotalCount != workers*each {
			t.Fatalf("ListRequests: %+v, %v", page, err)
		}
	})
}

// logMany logs n predictions for userID and returns their request ids,
// oldest first.
func logMany(t *testing.T, db *store.DB, userID int64, n int) []int64 {
	t.Helper()
	ids := make([]int64, n)
	for i := range n {
		ids[i] = logPrediction(t, db, okLog(userID, i)).RequestID
	}
	return ids
}

func TestListRequestsWalksAllPages(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ada, grace := createUser(t, db, "ada"), createUser(t, db, "grace")
		// Interleaved, so a leak between users would show up mid-page.
		var adaIDs, graceIDs []int64
		for i := range 25 {
			adaIDs = append(adaIDs, logPrediction(t, db, okLog(ada.ID, i)).RequestID)
			if i%8 == 0 {
				graceIDs = append(graceIDs, logPrediction(t, db, okLog(grace.ID, i)).RequestID)
			}
		}
		slices.Reverse(adaIDs)
		slices.Reverse(graceIDs)

		tests := []struct {
			name      string
			user      store.User
			first     int
			want      []int64
			pageSizes []int
		}{
			{"pages of 7", ada, 7, adaIDs, []int{7, 7, 7, 4}},
			{"one page exactly", ada, 25, adaIDs, []int{25}},
			{"pages of 5 end exactly", ada, 5, adaIDs, []int{5, 5, 5, 5, 5}},
			{"other user", grace, 2, graceIDs, []int{2, 2}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var got []int64
				var sizes []int
				var after int64
				for {
					page, err := db.ListRequests(t.Context(), tt.user.ID, store.PageQuery{Size: tt.first, AfterID: after})
					if err != nil {
						t.Fatal(err)
					}
					if page.TotalCount != len(tt.want) {
						t.Fatalf("TotalCount %d, want %d", page.TotalCount, len(tt.want))
					}
					for _, r := range page.Requests {
						if r.UserID != tt.user.ID || r.Response == nil || r.Response.RequestID != r.ID {
							t.Fatalf("request %+v with response %+v", r, r.Response)
						}
						got = append(got, r.ID)
					}
					sizes = append(sizes, len(page.Requests))
					if !page.HasNextPage {
						break
					}
					if len(sizes) > len(tt.want) {
						t.Fatalf("more pages than requests: %v", sizes)
					}
					after = page.Requests[len(page.Requests)-1].ID
				}
				if !slices.Equal(got, tt.want) {
					t.Fatalf("walked %v, want %v (newest first, no gaps or repeats)", got, tt.want)
				}
				if !slices.Equal(sizes, tt.pageSizes) {
					t.Fatalf("page sizes %v, want %v", sizes, tt.pageSizes)
				}
			})
		}
	})
}

func TestListRequestsSince(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		u := createUser(t, db, "ada")
		ids := logMany(t, db, u.ID, 10)
		// Spread the rows an hour apart so the cut-off is exact.
		base := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
		for i, id := range ids {
			if _, err := store.Writer(db).ExecContext(t.Context(),
				"UPDATE requests SET created_datetime = ? WHERE id = ?", base.Add(time.Duration(i)*time.Hour), id); err != nil {
				t.Fatal(err)
			}
		}

		tests := []struct {
			name  string
			since time.Time
			first int
			want  []int64 // newest first
		}{
			{"before all", base.Add(-time.Hour), 100, reversed(ids)},
			{"at a row keeps it", base.Add(6 * time.Hour), 100, reversed(ids[6:])},
			{"a nanosecond after a row drops it", base.Add(6*time.Hour + time.Nanosecond), 100, reversed(ids[7:])},
			{"in another zone", base.Add(6 * time.Hour).In(time.FixedZone("UTC+5", 5*3600)), 100, reversed(ids[6:])},
			{"after all", base.Add(10 * time.Hour), 100, nil},
			{"first page of a filtered list", base.Add(2 * time.Hour), 3, reversed(ids[7:])},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				page, err := db.ListRequests(t.Context(), u.ID, store.PageQuery{Size: tt.first, Filter: store.RequestFilter{From: &tt.since}})
				if err != nil {
					t.Fatal(err)
				}
				var got []int64
				for _, r := range page.Requests {
					got = append(got, r.ID)
				}
				if !slices.Equal(got, tt.want) {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
				wantTotal := 0
				for i := range ids {
					if !base.Add(time.Duration(i) * time.Hour).Before(tt.since) {
						wantTotal++
					}
				}
				if page.TotalCount != wantTotal || page.HasNextPage != (wantTotal > len(got)) {
					t.Fatalf("TotalCount %d HasNextPage %v; want %d and %v", page.TotalCount, page.HasNextPage, wantTotal, wantTotal > len(got))
				}
			})
		}
	})
}

func TestListRequestsClampsPageSize(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		u := createUser(t, db, "ada")
		logMany(t, db, u.ID, store.MaxPageSize+1)
		tests := []struct {
			first, want int
		}{
			{-5, 1}, {0, 1}, {1, 1}, {store.MaxPageSize, store.MaxPageSize}, {1 << 30, store.MaxPageSize},
		}
		for _, tt := range tests {
			page, err := db.ListRequests(t.Context(), u.ID, store.PageQuery{Size: tt.first})
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Requests) != tt.want || !page.HasNextPage {
				t.Fatalf("First %d: %d requests (HasNextPage %v), want %d and a next page",
					tt.first, len(page.Requests), page.HasNextPage, tt.want)
			}
		}
	})
}

func TestListRequestsEmpty(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		u := createUser(t, db, "ada")
		page, err := db.ListRequests(t.Context(), u.ID, store.PageQuery{Size: 10})
		if err != nil {
			t.Fatal(err)
		}
		if page.Requests == nil || len(page.Requests) != 0 || page.TotalCount != 0 || page.HasNextPage {
			t.Fatalf("page %+v, want an empty list", page)
		}
	})
}

func TestRequestIsScopedToItsUser(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ada, grace := createUser(t, db, "ada"), createUser(t, db, "grace")
		mine := logPrediction(t, db, okLog(ada.ID, 1))
		tests := []struct {
			name      string
			user      int64
			request   int64
			wantFound bool
		}{
			{"own request", ada.ID, mine.RequestID, true},
			{"another user's request", grace.ID, mine.RequestID, false},
			{"missing request", ada.ID, mine.RequestID + 1, false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r, err := db.Request(t.Context(), tt.user, tt.request)
				if tt.wantFound {
					if err != nil || r.ID != tt.request {
						t.Fatalf("Request = %+v, %v", r, err)
					}
					return
				}
				wantError(t, err, apperr.NotFound, "request not found")
			})
		}
	})
}
