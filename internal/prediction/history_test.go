package prediction

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mlapi/mlapi/internal/apperr"
	"github.com/mlapi/mlapi/internal/store"
	"github.com/mlapi/mlapi/internal/store/storetest"
)

func TestValidateFilter(t *testing.T) {
	t.Parallel()
	p := func(v float64) *float64 { return &v }
	i := func(v int) *int { return &v }
	at := func(s string) *time.Time { v, _ := time.Parse(time.RFC3339, s); return &v }
	status := store.Status("fine")
	long := strings.Repeat("v", MaxModelVersion+1)
	fits := strings.Repeat("v", MaxModelVersion)
	tests := []struct {
		name  string
		f     store.RequestFilter
		field string // "" when valid
	}{
		{"empty", store.RequestFilter{}, ""},
		{"probabilities at the ends", store.RequestFilter{MinProbability: p(0), MaxProbability: p(1)}, ""},
		{"min equals max", store.RequestFilter{MinProbability: p(0.5), MaxProbability: p(0.5)}, ""},
		{"min below 0", store.RequestFilter{MinProbability: p(-0.1)}, "filter.minProbability"},
		{"max above 1", store.RequestFilter{MaxProbability: p(1.1)}, "filter.maxProbability"},
		{"NaN", store.RequestFilter{MinProbability: p(math.NaN())}, "filter.minProbability"},
		{"min above max", store.RequestFilter{MinProbability: p(0.6), MaxProbability: p(0.4)}, "filter.minProbability"},
		{"yhat 2", store.RequestFilter{Yhat: i(2)}, "filter.yhat"},
		{"yhat 1", store.RequestFilter{Yhat: i(1)}, ""},
		{"until before from", store.RequestFilter{From: at("2026-01-02T00:00:00Z"), Until: at("2026-01-01T00:00:00Z")}, "filter.until"},
		{"until at from", store.RequestFilter{From: at("2026-01-02T00:00:00Z"), Until: at("2026-01-02T00:00:00Z")}, "filter.until"},
		{"unknown status", store.RequestFilter{Status: &status}, "filter.status"},
		{"long model version", store.RequestFilter{ModelVersion: &long}, "filter.modelVersion"},
		{"model version at the bound", store.RequestFilter{ModelVersion: &fits}, ""},
	}
	for _, tt := range tests {
		err := ValidateFilter(tt.f)
		switch {
		case tt.field == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.field != "" && (apperr.CodeOf(err) != apperr.Invalid || !strings.HasPrefix(apperr.MessageOf(err), tt.field+" ")):
			t.Errorf("%s: %v, want BAD_USER_INPUT naming %s", tt.name, err, tt.field)
		}
	}
}

func TestHistoryQuery(t *testing.T) {
	t.Parallel()
	n := func(v int) *int { return &v }
	early, late := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		q       HistoryQuery
		want    store.PageQuery
		refusal string
	}{
		{"neither first nor last", HistoryQuery{}, store.PageQuery{Size: DefaultPageSize}, ""},
		{"last", HistoryQuery{Last: n(5), Before: EncodeCursor(9)}, store.PageQuery{Size: 5, Backward: true, BeforeID: 9}, ""},
		{"first with both cursors", HistoryQuery{First: n(5), After: EncodeCursor(3), Before: EncodeCursor(9), Order: store.OldestFirst},
			store.PageQuery{Size: 5, AfterID: 3, BeforeID: 9, Order: store.OldestFirst}, ""},
		{"since alone", HistoryQuery{Since: &late}, store.PageQuery{Size: DefaultPageSize, Filter: store.RequestFilter{From: &late}}, ""},
		{"since later than from wins", HistoryQuery{Since: &late, Filter: store.RequestFilter{From: &early}},
			store.PageQuery{Size: DefaultPageSize, Filter: store.RequestFilter{From: &late}}, ""},
		{"from later than since wins", HistoryQuery{Since: &early, Filter: store.RequestFilter{From: &late}},
			store.PageQuery{Size: DefaultPageSize, Filter: store.RequestFilter{From: &late}}, ""},
		{"first and last", HistoryQuery{First: n(1), Last: n(1)}, store.PageQuery{}, "first and last"},
		{"last 0", HistoryQuery{Last: n(0)}, store.PageQuery{}, "last must be"},
		{"last 101", HistoryQuery{Last: n(MaxPageSize + 1)}, store.PageQuery{}, "last must be"},
		{"bad before", HistoryQuery{Last: n(1), Before: "x"}, store.PageQuery{}, "before is not"},
		{"bad order", HistoryQuery{Order: "sideways"}, store.PageQuery{}, "orderBy"},
		{"bad filter", HistoryQuery{Filter: store.RequestFilter{Yhat: n(7)}}, store.PageQuery{}, "filter.yhat"},
	}
	for _, tt := range tests {
		got, err := pageQuery(tt.q)
		if tt.refusal != "" {
			if apperr.CodeOf(err) != apperr.Invalid || !strings.Contains(apperr.MessageOf(err), tt.refusal) {
				t.Errorf("%s: %v, want BAD_USER_INPUT saying %q", tt.name, err, tt.refusal)
			}
			continue
		}
		sameFrom := (got.Filter.From == nil) == (tt.want.Filter.From == nil) && (got.Filter.From == nil || got.Filter.From.Equal(*tt.want.Filter.From))
		got.Filter.From, tt.want.Filter.From = nil, nil
		if err != nil || got != tt.want || !sameFrom {
			t.Errorf("%s: %+v, %v; want %+v", tt.name, got, err, tt.want)
		}
	}
}

// TestExportPagesThroughEverything exports more requests than a page holds
// and compares them with the history paged by hand.
func TestExportPagesThroughEverything(t *testing.T) {
	t.Parallel()
	m := loadServedModel(t)
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := NewService(m, db)
		userID, other := newUser(t, db, "exporter"), newUser(t, db, "other")
		for i := range 2*MaxPageSize + 7 {
			in := seedInput()
			in["age"] = 40 + i%50
			if i%4 == 3 {
				in["age"] = -1 // refused and logged
			}
			s.Predict(ctx, userID, in)
			if i%10 == 0 {
				s.Predict(ctx, other, seedInput())
			}
		}
		ok := store.StatusOK
		for _, f := range []store.RequestFilter{{}, {Status: &ok}} {
			for _, order := range []store.Order{store.NewestFirst, store.OldestFirst} {
				var want []int64
				q := HistoryQuery{First: new(int), Filter: f, Order: order}
				*q.First = MaxPageSize
				for {
					page, err := s.History(ctx, userID, q)
					if err != nil {
						t.Fatal(err)
					}
					for _, r := range page.Requests {
						want = append(want, r.ID)
					}
					if !page.HasNextPage {
						break
					}
					q.After = page.Cursors[len(page.Cursors)-1]
				}
				var got []int64
				err := s.Export(ctx, userID, f, order, func(r store.Request) error {
					if r.UserID != userID || r.Response == nil || r.Outcome == nil {
						t.Fatalf("exported %+v", r)
					}
					got = append(got, r.ID)
					return nil
				})
				if err != nil || len(want) <= MaxPageSize || !slices.Equal(got, want) {
					t.Fatalf("%v %s: exported %d requests (%v), want %d", f.Status, order, len(got), err, len(want))
				}
			}
		}
		// An error from each stops the export and comes back.
		stop := errors.New("stop")
		calls := 0
		if err := s.Export(ctx, userID, store.RequestFilter{}, "", func(store.Request) error { calls++; return stop }); !errors.Is(err, stop) || calls != 1 {
			t.Fatalf("Export after an error: %v, %d calls", err, calls)
		}
	})
}
